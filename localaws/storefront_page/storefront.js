"use strict";
// The storefront demo (docs/storefront.md): a product's rating summary and reviews, and a form to
// post a review, from the Product Reviews API on another origin. Every answer is shown with its
// status line, in its section and under "Every answer"; a call the browser refuses to hand to the
// page (CORS) or cannot make is shown there too. Nothing fails silently.

const API_URL = document.querySelector('meta[name="reviews-api-url"]').content;
const API_KEY = document.querySelector('meta[name="reviews-api-key"]').content;
const KEPT_ANSWERS = 50;
const $ = (id) => document.getElementById(id);

// One call: {status, statusLine, text, json}. Status 0: no answer reached the page.
async function call(method, path, { body, headers } = {}) {
  let answer;
  try {
    const response = await fetch(API_URL + path, { method, headers, body: body && JSON.stringify(body) });
    answer = { status: response.status, statusLine: `${response.status} ${response.statusText}`,
               text: await response.text() };
  } catch (error) {
    answer = { status: 0, statusLine: "No answer",
               text: `${error.message}: blocked by the browser (CORS) or the API is unreachable; ` +
                     "the browser console says which." };
  }
  try {
    answer.json = JSON.parse(answer.text);
  } catch {
    answer.json = null;
  }
  record(method, path, answer);
  return answer;
}

const succeeded = (answer) => answer.status >= 200 && answer.status < 300;

// Shows an answer's status line in a section; its body too when it failed, or when asked.
function show(section, answer, withBody = !succeeded(answer)) {
  const status = section.querySelector(".status");
  status.textContent = answer.statusLine;
  status.className = succeeded(answer) ? "status ok" : "status failed";
  const body = section.querySelector(".body");
  body.textContent = answer.text;
  body.hidden = !withBody;
}

function record(method, path, answer) {
  const item = element("li", "", element("span", succeeded(answer) ? "status ok" : "status failed", answer.statusLine),
                       element("code", "", `${method} ${path}`), element("pre", "body", answer.text));
  const answers = $("answers");
  answers.prepend(item);
  while (answers.children.length > KEPT_ANSWERS) answers.lastElementChild.remove();
}

function element(tag, className, ...children) {
  const made = document.createElement(tag);
  made.className = className;
  made.append(...children);  // strings become text: nothing from an answer is parsed as HTML
  return made;
}

const stars = (rating) => "★".repeat(rating) + "☆".repeat(5 - rating);

async function loadProduct() {
  const product = encodeURIComponent($("product-id").value);
  await Promise.all([loadRating(product), loadReviews(product)]);
}

async function loadRating(product) {
  const answer = await call("GET", `/products/${product}/rating`);
  show($("rating-section"), answer);
  if (!succeeded(answer)) return;
  const { review_count: count, average_rating: average, ratings } = answer.json;
  $("rating-average").textContent = count === 0 ? "No reviews yet" :
    `${stars(Math.round(average))} ${average.toFixed(1)} out of 5 · ${count} review${count === 1 ? "" : "s"}`;
  $("rating-histogram").replaceChildren(...[5, 4, 3, 2, 1].map((rating) => {
    const bar = element("meter");
    Object.assign(bar, { min: 0, max: Math.max(count, 1), value: ratings[rating] });
    return element("tr", "", element("th", "", `${rating} ★`), element("td", "", bar),
                   element("td", "", String(ratings[rating])));
  }));
}

async function loadReviews(product) {
  const answer = await call("GET", `/reviews?product_id=${product}&limit=20`);
  show($("reviews-section"), answer);
  if (!succeeded(answer)) return;
  $("reviews").replaceChildren(...answer.json.reviews.map((review) => element("li", "review",
    element("p", "stars", stars(review.rating)),
    element("h3", "", review.title ?? "(no title)"),
    ...(review.comment ? [element("p", "", review.comment)] : []),
    element("p", "meta", `by ${review.reviewer_id} · ${review.created_at}`))));
}

async function postReview(event) {
  event.preventDefault();
  const review = { product_id: $("product-id").value, reviewer_id: $("reviewer-id").value,
                   rating: Number($("rating-input").value) };
  if ($("title").value.trim()) review.title = $("title").value;
  if ($("comment").value.trim()) review.comment = $("comment").value;
  // JSON and the API key are not "simple": the browser asks the API first (a CORS preflight).
  const headers = { "Content-Type": "application/json" };
  if ($("send-key").checked) headers["x-api-key"] = API_KEY;
  const answer = await call("POST", "/reviews", { body: review, headers });
  show($("post-section"), answer, true);
  if (succeeded(answer)) await loadProduct();
}

function start() {
  $("page-origin").textContent = location.origin;
  $("api-url").textContent = API_URL;
  $("product-id").value = new URLSearchParams(location.search).get("product") || "demo-product";
  $("product-form").addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `?product=${encodeURIComponent($("product-id").value)}`);
    loadProduct();
  });
  $("review-form").addEventListener("submit", postReview);
  loadProduct();
}

start();
