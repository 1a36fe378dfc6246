"use strict";
// The storefront demo (docs/storefront.md): a product's rating summary and reviews from the
// Product Reviews API on another origin; a reviewer signs in to the user pool (Cognito's own API,
// as browser apps call it) and posts, edits and deletes their own reviews with their ID token.
// Every answer is shown with its status line, in its section and under "Every answer"; a call the
// browser refuses to hand to the page (CORS) or cannot make is shown there too. Nothing fails
// silently. Tokens live in this page's memory only (a reload signs out) and are never shown.

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const API_URL = meta("reviews-api-url");
const API_KEY = meta("reviews-api-key");
const API_KEY_HEADER = meta("reviews-api-key-header");
const AUTHORIZATION_HEADER = meta("reviews-authorization-header");
const REVIEWER_CLAIM = meta("reviews-reviewer-claim");
const DISPLAY_NAME_CLAIM = meta("reviews-display-name-claim");
const COGNITO = { endpoint: meta("reviews-cognito-endpoint"), userPoolId: meta("reviews-user-pool-id"),
                  clientId: meta("reviews-user-pool-client-id") };
const COGNITO_TARGET = "AWSCognitoIdentityProviderService.";
const REFRESH_SECONDS_BEFORE_EXPIRY = 60;
const KEPT_ANSWERS = 50;
const $ = (id) => document.getElementById(id);

let session = null;  // {idToken, accessToken, refreshToken, claims} of the signed-in reviewer
let editing = null;  // the review the form edits, or null when it writes a new one
let shownReviews = [];  // the listing last loaded, shown again when someone signs in or out

// One call: {status, statusLine, text, json}. Status 0: no answer reached the page.
async function send(url, method, headers, body) {
  let answer;
  try {
    const response = await fetch(url, { method, headers, body });
    answer = { status: response.status, statusLine: `${response.status} ${response.statusText}`,
               text: await response.text() };
  } catch (error) {
    answer = { status: 0, statusLine: "No answer",
               text: `${error.message}: blocked by the browser (CORS) or unreachable; the browser console says which.` };
  }
  try {
    answer.json = JSON.parse(answer.text);
  } catch {
    answer.json = null;
  }
  return answer;
}

// A call of the API, recorded under "Every answer" as method and path.
async function call(method, path, { body, headers } = {}) {
  const answer = await send(API_URL + path, method, headers, body && JSON.stringify(body));
  record(method, path, answer);
  return answer;
}

// A call of Cognito's API (an X-Amz-Target operation). Its answers hold tokens: the page records
// only their status, and the body of a failure (Cognito's error type and message).
async function cognito(operation, request) {
  const headers = { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": COGNITO_TARGET + operation };
  const answer = await send(COGNITO.endpoint.replace(/\/?$/, "/"), "POST", headers, JSON.stringify(request));
  record("POST", `Cognito ${operation}`, succeeded(answer) ? { ...answer, text: "(tokens kept in this page only)" } : answer);
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

function button(label, onClick) {
  const made = element("button", "", label);
  made.type = "button";
  made.addEventListener("click", onClick);
  return made;
}

const stars = (rating) => "★".repeat(rating) + "☆".repeat(5 - rating);

// --- Signing in (Cognito user pool) ----------------------------------------------------------

// A JWT's claims, for display and for knowing one's own reviews. The API verifies the token;
// the page only reads it.
function claimsOf(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function startSession(result, refreshToken) {
  session = { idToken: result.IdToken, accessToken: result.AccessToken, refreshToken,
              claims: claimsOf(result.IdToken) };
  showIdentity();
}

async function signIn(event) {
  event.preventDefault();
  const answer = await cognito("InitiateAuth", {
    ClientId: COGNITO.clientId, AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: $("email").value, PASSWORD: $("password").value } });
  $("password").value = "";
  const result = answer.json && answer.json.AuthenticationResult;
  if (result) {
    startSession(result, result.RefreshToken);
    show($("identity-section"), answer, false);
    showReviews();
  } else if (succeeded(answer)) {
    show($("identity-section"), { ...answer, status: 0, statusLine: `Cognito asks for ${answer.json.ChallengeName}, ` +
                                  "which this page does not handle" }, false);
  } else {
    show($("identity-section"), answer);
  }
}

// The ID token for the next write, refreshed first when it is about to expire.
async function idToken() {
  if (session && session.claims.exp - Date.now() / 1000 < REFRESH_SECONDS_BEFORE_EXPIRY) {
    const answer = await cognito("InitiateAuth", { ClientId: COGNITO.clientId, AuthFlow: "REFRESH_TOKEN_AUTH",
                                                   AuthParameters: { REFRESH_TOKEN: session.refreshToken } });
    const result = answer.json && answer.json.AuthenticationResult;
    if (result) {
      startSession(result, session.refreshToken);
    } else {
      session = null;  // the refresh token was revoked or expired: sign in again
      showIdentity();
      show($("identity-section"), answer);
    }
  }
  return session && session.idToken;
}

async function signOut() {
  const answer = await cognito("GlobalSignOut", { AccessToken: session.accessToken });  // revokes the refresh token
  session = null;
  show($("identity-section"), answer, !succeeded(answer));
  showIdentity();
  stopEditing();
  showReviews();
}

function showIdentity() {
  const configured = Boolean(COGNITO.endpoint && COGNITO.clientId);
  $("no-sign-in").hidden = configured;
  $("sign-in-form").hidden = !configured || session !== null;
  $("signed-in").hidden = session === null;
  if (session) {
    $("display-name").textContent = session.claims[DISPLAY_NAME_CLAIM] || session.claims[REVIEWER_CLAIM];
  }
}

// --- Reading -----------------------------------------------------------------------------------

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
  shownReviews = answer.json.reviews;
  showReviews();
}

// The listing, with Edit and Delete on the signed-in reviewer's own review.
function showReviews() {
  $("reviews").replaceChildren(...shownReviews.map(reviewItem));
}

function reviewItem(review) {
  const item = element("li", "review",
    element("p", "stars", stars(review.rating)),
    element("h3", "", review.title ?? "(no title)"),
    ...(review.comment ? [element("p", "", review.comment)] : []),
    element("p", "meta", `by ${review.reviewer_name ?? review.reviewer_id} · ${review.created_at}` +
                         (review.updated_at ? ` · edited ${review.updated_at}` : "")));
  if (session && review.reviewer_id === session.claims[REVIEWER_CLAIM]) {
    item.classList.add("own");
    item.append(element("p", "actions", button("Edit", () => startEditing(review)),
                        button("Delete", () => deleteReview(review))));
  }
  return item;
}

// --- Writing (signed in: the ID token; the API key identifies the storefront) ----------------

async function writeHeaders() {
  const headers = { "Content-Type": "application/json" };
  const token = await idToken();
  if (token) headers[AUTHORIZATION_HEADER] = token;  // signed out: sent without, and the API answers 401
  if ($("send-key").checked) headers[API_KEY_HEADER] = API_KEY;
  return headers;
}

const reviewPath = (review) =>
  `/products/${encodeURIComponent(review.product_id)}/reviews/${encodeURIComponent(review.review_id)}`;

async function saveReview(event) {
  event.preventDefault();
  const fields = { rating: Number($("rating-input").value) };
  for (const name of ["title", "comment"]) {
    if ($(name).value.trim()) fields[name] = $(name).value;
    else if (editing) fields[name] = null;  // an edit that empties a field removes it
  }
  // JSON and the credentials are not "simple": the browser asks the API first (a CORS preflight).
  const headers = await writeHeaders();
  const answer = editing
    ? await call("PATCH", reviewPath(editing), { body: fields, headers })
    : await call("POST", "/reviews", { body: { product_id: $("product-id").value, ...fields }, headers });
  show($("post-section"), answer, true);
  if (succeeded(answer)) {
    stopEditing();
    await loadProduct();
  }
}

function startEditing(review) {
  editing = review;
  $("rating-input").value = String(review.rating);
  $("title").value = review.title ?? "";
  $("comment").value = review.comment ?? "";
  $("review-form-title").textContent = "Edit your review";
  $("save-review").textContent = "Save changes";
  $("cancel-edit").hidden = false;
}

function stopEditing() {
  editing = null;
  $("review-form").reset();
  $("review-form-title").textContent = "Write a review";
  $("save-review").textContent = "Post review";
  $("cancel-edit").hidden = true;
}

async function deleteReview(review) {
  const answer = await call("DELETE", reviewPath(review), { headers: await writeHeaders() });
  show($("post-section"), answer, true);
  if (succeeded(answer)) {
    if (editing && editing.review_id === review.review_id) stopEditing();
    await loadProduct();
  }
}

function start() {
  $("page-origin").textContent = location.origin;
  $("api-url").textContent = API_URL;
  $("user-pool").textContent = COGNITO.userPoolId || "(none)";
  $("api-key-header").textContent = API_KEY_HEADER;
  $("product-id").value = new URLSearchParams(location.search).get("product") || "demo-product";
  $("product-form").addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `?product=${encodeURIComponent($("product-id").value)}`);
    loadProduct();
  });
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("review-form").addEventListener("submit", saveReview);
  $("cancel-edit").addEventListener("click", stopEditing);
  showIdentity();
  loadProduct();
}

start();
