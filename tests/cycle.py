"""The deployment the cycle and recovery tests change, interrupt and destroy: `make up` in a
copy of the project (so that editing its handler or contract never touches the real tree),
run as a user runs it, and everything it printed (to search for secrets).

Each test of those files starts from the stack as `make up` leaves it (`ensure_up`), puts in
place what else it needs itself (its own reviews, its own lock) and removes what would get in
another test's way, so that it passes alone and in any order.

Imported as `tests.cycle` (conftest.py holds only fixtures: pytest loads it itself).
"""

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from io import StringIO
from pathlib import Path

from deploy import make_up
from deploy.local_target import LocalTarget
from deploy.smoke import request
from handlers.reviews import contract
from localaws import emulator
from tests.deployments import disposable_settings, stop_serving
from tests.localaws.identity import reviewer_token, writer_token
from tests.support import copy_project

# Requests start at least this far apart, under the stage's 10 requests/s (make up's default);
# only a burst test exceeds it.
REQUEST_INTERVAL_SECONDS = 0.12
LOCK_ID = "11111111-2222-3333-4444-555555555555"


class Cycle:
    """A deployment of its own, and everything it printed."""

    def __init__(self, project: Path, settings: dict[str, str]):
        self.project = project
        self.settings = settings
        self.printed: list[str] = []
        self.api_keys: set[str] = set()
        self.last_request = 0.0  # time.monotonic() when the last request was sent

    def target(self, **extra: str) -> LocalTarget:
        return LocalTarget.load({**self.settings, **extra}, project_dir=self.project)

    def up(self, **extra: str) -> str:
        output = StringIO()
        with redirect_stdout(output):
            make_up.up(self.target(**extra))
        self.printed.append(output.getvalue())
        self.api_keys.add(self.api_key())
        return output.getvalue()

    def ensure_up(self) -> None:
        """The stack as `make up` leaves it: deployed, with its gateway serving (make up again,
        unless the emulator and gateway still run, which only a test that destroys stops)."""
        target = self.target()
        if not (emulator.status(target.config.target.emulator_port) and target.gateway.state_file.exists()):
            self.up()

    def api_key(self) -> str:
        return self.target().api_key()

    def call(
        self, method: str, path: str, body: dict | None = None, key: str | None = "current", by: str | None = None
    ):
        """A request with the API key (or `key`, or none); a write also signed in (as the reviewer
        `by`, or the tests' writer)."""
        time.sleep(max(0.0, self.last_request + REQUEST_INTERVAL_SECONDS - time.monotonic()))
        self.last_request = time.monotonic()
        headers = {contract.API_KEY_HEADER: self.api_key() if key == "current" else key} if key else {}
        if method != "GET":
            token = reviewer_token(self.target(), by) if by else writer_token(self.target())
            headers[contract.AUTHORIZATION_HEADER] = token
        status, text = request(method, self.target().gateway.url + path, body, headers)
        return status, json.loads(text) if text else None

    def seed(self, product: str, count: int = 2) -> list[str]:
        """`count` reviews of `product`, posted through the API; their ids, newest first."""
        for n in range(count):  # one review per reviewer and product: a reviewer each
            review = {"product_id": product, "rating": 1 + n % 5}
            assert self.call("POST", "/reviews", review, by=f"{product}-reviewer-{n}")[0] == 201
        return self.reviews_of(product)

    def terraform(self, *args: str) -> subprocess.CompletedProcess:
        """`terraform <args>` in the stack, run as make up runs Terraform (one provider process)."""
        with self.target().workspace.terraform_session() as stack:
            return subprocess.run(
                ["terraform", f"-chdir={stack.directory}", *args, "-no-color"],
                env=stack.env(),
                capture_output=True,
                text=True,
            )

    def addresses(self, *resource_types: str) -> list[str]:
        listed = self.terraform("state", "list").stdout.split()
        return [address for address in listed if address.split(".")[0] in resource_types]

    def reviews_of(self, product: str) -> list[str]:
        status, page = self.call("GET", f"/reviews?product_id={product}&limit=100")
        assert status == 200
        return [review["review_id"] for review in page["reviews"]]

    # --- the Terraform state lock, as a run that holds it leaves it in the state bucket ---

    def put_lock(self, who: str) -> str:
        backend = self.target().config.backend
        record = {
            "ID": LOCK_ID,
            "Operation": "OperationTypeApply",
            "Who": who,
            "Version": "1.11.4",
            "Created": "2026-11-28T05:00:00Z",
        }
        self.target().client("s3").put_object(
            Bucket=backend.bucket, Key=backend.key + ".tflock", Body=json.dumps(record)
        )
        return LOCK_ID

    def lock_exists(self) -> bool:
        backend = self.target().config.backend
        listed = self.target().client("s3").list_objects_v2(Bucket=backend.bucket, Prefix=backend.key + ".tflock")
        return listed.get("KeyCount", 0) > 0

    def remove_lock(self) -> None:
        backend = self.target().config.backend
        self.target().client("s3").delete_object(Bucket=backend.bucket, Key=backend.key + ".tflock")


@contextmanager
def deployed(tmp_path_factory, environment: str) -> Iterator[Cycle]:
    """A Cycle on a copy of the project, deployed by `make up` (environment `environment`, ports
    of its own); stopped afterwards."""
    cycle = Cycle(copy_project(tmp_path_factory.mktemp("project")), disposable_settings(environment))
    try:
        cycle.up()
        yield cycle
    finally:
        stop_serving(cycle.target())
