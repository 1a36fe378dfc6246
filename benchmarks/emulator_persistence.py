"""What saving the emulator's state costs per request: the same DynamoDB PutItem (a review's
size) through two moto servers in one process, one that saves every write as `make up`'s
emulator does (localaws.emulator_app.saving_writes into a temporary folder) and one that does
not, alternating so that both see the same machine load. A PutItem goes to the write-ahead
log (one fsynced line); a DynamoDB write that is not an item write (TagResource here) saves
the whole service, which grows with the table. Also GetItem through the saving one: reads are
not saved. Reports medians in milliseconds.

    python benchmarks/emulator_persistence.py     (make bench runs it too)
"""

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root
from localaws import emulator, moto_fixes
from localaws.emulator_app import saving_writes
from localaws.persistence import Snapshots

REGION = "us-east-2"
TABLE = "reviews-bench"
ITEMS_BEFORE = 500  # the table already holds this many reviews (a save pickles the whole service)


def serve(app) -> str:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def review(n: int) -> dict:
    text = {"S": "Sturdy, quiet, and the lid fits. " * 8}
    return {"product_id": {"S": "bench"}, "review_id": {"S": f"r-{n:06d}"}, "comment": text, "rating": {"N": "4"}}


def measure(requests: int = 200) -> dict:
    moto_fixes.apply()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    dispatcher = DomainDispatcherApplication(create_backend_app)
    with tempfile.TemporaryDirectory() as folder:
        snapshots = Snapshots(Path(folder))
        saving = saving_writes(dispatcher, snapshots)
        plain, saved = (emulator.client("dynamodb", serve(app), REGION) for app in (dispatcher, saving))
        plain.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("product_id", "review_id")],
            KeySchema=[
                {"AttributeName": "product_id", "KeyType": "HASH"},
                {"AttributeName": "review_id", "KeyType": "RANGE"},
            ],
        )
        for n in range(ITEMS_BEFORE):
            plain.put_item(TableName=TABLE, Item=review(n))
        arn = plain.describe_table(TableName=TABLE)["Table"]["TableArn"]
        timings: dict[str, list[float]] = {
            name: [] for name in ("put_without_saving", "put_saved", "get_with_saving_on", "tag_saved_whole")
        }
        for n in range(requests):
            key = {name: value for name, value in review(n).items() if name in ("product_id", "review_id")}
            calls = {
                "put_without_saving": (plain.put_item, {"TableName": TABLE, "Item": review(10**5 + 2 * n)}),
                "put_saved": (saved.put_item, {"TableName": TABLE, "Item": review(10**5 + 2 * n + 1)}),
                "get_with_saving_on": (saved.get_item, {"TableName": TABLE, "Key": key}),
                "tag_saved_whole": (
                    saved.tag_resource,
                    {"ResourceArn": arn, "Tags": [{"Key": "run", "Value": str(n)}]},
                ),
            }
            for name, (call, arguments) in calls.items():
                started = time.perf_counter()
                call(**arguments)
                timings[name].append((time.perf_counter() - started) * 1000)
        size = sum(path.stat().st_size for path in Path(folder).iterdir())
    medians = {name: round(statistics.median(values), 2) for name, values in timings.items()}
    cost = round(medians["put_saved"] - medians["put_without_saving"], 2)
    return {
        **medians,
        "save_cost_ms": cost,
        "requests": requests,
        "items": ITEMS_BEFORE + 2 * requests,
        "file_bytes": size,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
