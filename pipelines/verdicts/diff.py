"""What changed between two snapshots: the URLs and hosts flagged in each, new, persisting and gone.

A URL (or host) is flagged in a snapshot when a verdict about it is in an exported state (auto, confirmed): what
a removal list of that snapshot holds. Per list and category, a URL is new when that list flags it in `to` but
not in `from`; over all lists, when no list flagged it in `from`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import duckdb

from pipelines.store import require_snapshot
from pipelines.verdicts.states import EXPORTED_STATES

CHANGES = ("new", "persisting", "gone")


@dataclass(frozen=True)
class ChangeCounts:
    """How many flagged URLs and hosts are new, persisting and gone (over all lists, or for one list)."""

    new_urls: int = 0
    persisting_urls: int = 0
    gone_urls: int = 0
    new_hosts: int = 0
    persisting_hosts: int = 0
    gone_hosts: int = 0


@dataclass(frozen=True)
class ListChange:
    list_name: str
    category: str | None
    counts: ChangeCounts


@dataclass(frozen=True)
class SnapshotDiff:
    """`urls` and `hosts` map each change to its items, sorted (the first `limit` of them when one was given);
    the counts are always complete."""

    from_snapshot: str
    to_snapshot: str
    totals: ChangeCounts
    lists: list[ListChange]
    urls: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


# Each item flagged in either snapshot, by `keys`, and in which of the two it is flagged.
_PRESENCE = """
    SELECT {keys}, {item} AS item, bool_or(snapshot = $from) AS in_from, bool_or(snapshot = $to) AS in_to
    FROM verdicts WHERE snapshot IN ($from, $to) AND state IN ({states}) AND {item} IS NOT NULL
    GROUP BY ALL
"""
_COUNTS = """
    count(*) FILTER (WHERE in_to AND NOT in_from), count(*) FILTER (WHERE in_to AND in_from),
    count(*) FILTER (WHERE in_from AND NOT in_to)
"""
_CHANGE_OF = "CASE WHEN NOT in_from THEN 'new' WHEN in_to THEN 'persisting' ELSE 'gone' END"


def _presence(keys: str, item: str) -> str:
    states = ", ".join(f"'{state}'" for state in EXPORTED_STATES)
    return _PRESENCE.format(keys=keys, item=item, states=states)


def _list_order(entry: tuple[tuple[str, str | None], list[int]]) -> tuple[str, str]:
    (name, category), _ = entry
    return name, category or ""


def diff_snapshots(
    con: duckdb.DuckDBPyConnection, from_snapshot: str, to_snapshot: str, *, limit: int | None = None
) -> SnapshotDiff:
    """The flagged URLs and hosts new in `to_snapshot`, persisting and gone since `from_snapshot`, over all lists
    and per list and category. Raises UnknownSnapshot for a snapshot the store does not know."""
    require_snapshot(con, from_snapshot)
    require_snapshot(con, to_snapshot)
    params = {"from": from_snapshot, "to": to_snapshot}
    per_list: dict[tuple[str, str | None], list[int]] = {}
    for column in ("url", "host"):
        rows = con.execute(
            f"SELECT list_name, category, {_COUNTS} FROM ({_presence('list_name, category', column)})"
            " GROUP BY ALL ORDER BY list_name, category",
            params,
        ).fetchall()
        for list_name, category, *counts in rows:
            offset = 3 if column == "host" else 0
            per_list.setdefault((list_name, category), [0] * 6)[offset : offset + 3] = counts
    totals: list[int] = []
    items: dict[str, dict[str, list[str]]] = {}
    for column in ("url", "host"):
        presence = _presence("1 AS everything", column)
        totals += con.execute(f"SELECT {_COUNTS} FROM ({presence})", params).fetchall()[0]
        first = "" if limit is None else f"QUALIFY row_number() OVER (PARTITION BY change ORDER BY item) <= {limit:d}"
        rows = con.execute(
            f"SELECT {_CHANGE_OF} AS change, item FROM ({presence}) {first} ORDER BY change, item", params
        ).fetchall()
        items[column] = {change: [] for change in CHANGES}
        for change, item in rows:
            items[column][change].append(item)
    ordered = sorted(per_list.items(), key=_list_order)
    return SnapshotDiff(
        from_snapshot,
        to_snapshot,
        ChangeCounts(*totals),
        [ListChange(name, category, ChangeCounts(*counts)) for (name, category), counts in ordered],
        items["url"],
        items["host"],
    )


def previous_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> str | None:
    """The snapshot created just before `snapshot` (by creation time, then name), or None."""
    rows = con.execute(
        """
        SELECT s.name FROM snapshots AS s, (SELECT created_at, name FROM snapshots WHERE name = $s) AS this
        WHERE s.created_at < this.created_at OR (s.created_at = this.created_at AND s.name < this.name)
        ORDER BY s.created_at DESC, s.name DESC LIMIT 1
        """,
        {"s": snapshot},
    ).fetchall()
    return rows[0][0] if rows else None
