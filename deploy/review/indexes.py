"""DynamoDB global secondary index changes that take an index away from readers.

DynamoDB cannot change an index's keys or projection in place: the provider deletes the
index and creates it again, and DynamoDB backfills it from the table. Until the backfill
completes, queries by that index fail. Capacity settings, by contrast, change in place.
"""

from dataclasses import dataclass

# Index settings DynamoDB updates in place; a change to any other setting rebuilds the index.
CAPACITY_SETTINGS = frozenset({"read_capacity", "write_capacity", "on_demand_throughput", "warm_throughput"})


@dataclass(frozen=True)
class IndexChange:
    index: str
    action: str  # "added", "removed" or "rebuilt"
    settings: tuple[str, ...] = ()  # rebuilt: the settings whose change forces it


def index_changes(before: dict | None, after: dict | None) -> list[IndexChange]:
    """The indexes an in-place change of an aws_dynamodb_table adds, removes or rebuilds
    (capacity-only changes are not among them), by index name."""
    old, new = _indexes(before), _indexes(after)
    found = [IndexChange(name, "added") for name in new.keys() - old.keys()]
    found += [IndexChange(name, "removed") for name in old.keys() - new.keys()]
    for name in old.keys() & new.keys():
        # a setting missing on one side is not known until apply: only capacity ever is
        settings = sorted(
            key for key in (old[name].keys() & new[name].keys()) - CAPACITY_SETTINGS if old[name][key] != new[name][key]
        )
        if settings:
            found.append(IndexChange(name, "rebuilt", tuple(settings)))
    return sorted(found, key=lambda change: change.index)


def _indexes(table: dict | None) -> dict[str, dict]:
    return {index["name"]: index for index in (table or {}).get("global_secondary_index") or []}
