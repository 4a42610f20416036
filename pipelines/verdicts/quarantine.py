"""Flood quarantine: a list entry that suddenly flags many more URLs than it used to (a corrupted entry, a
public suffix slipped into a list) sends its new verdicts to review instead of into exports."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

DEFAULT_FLOOD_URLS = 1_000
DEFAULT_FLOOD_FACTOR = 10


@dataclass(frozen=True)
class FloodPolicy:
    """An entry floods when it flags more distinct URLs than `urls`, or, when it has a history, than the
    larger of `urls` and `factor` times the count it had when last counted."""

    urls: int = DEFAULT_FLOOD_URLS
    factor: float = DEFAULT_FLOOD_FACTOR

    def __post_init__(self) -> None:
        if self.urls < 1 or self.factor < 1:
            raise ValueError(f"flood threshold must be at least 1 URL and a factor of at least 1, not {self}")

    def threshold_sql(self, previous: str) -> str:
        return (
            f"CASE WHEN {previous} IS NULL THEN {self.urls} ELSE greatest({self.urls}, {self.factor} * {previous}) END"
        )


@dataclass(frozen=True)
class Flood:
    list_name: str
    entry_kind: str
    entry: str
    urls: int  # distinct URLs the entry flags now
    previous: int | None  # when last counted
    threshold: float
    held: int  # new verdicts held for review

    def line(self) -> str:
        history = f"it flagged {self.previous:,} before" if self.previous is not None else "a new entry"
        return (
            f"{self.list_name} entry {self.entry!r} flags {self.urls:,} URLs ({history}; threshold"
            f" {self.threshold:,.0f}): its {self.held:,} new verdicts wait for review"
        )


def count_entries(con: duckdb.DuckDBPyConnection, policy: FloodPolicy) -> list[Flood]:
    """For the entries of the new verdicts (temp table new_verdicts, over the store's current block matches in
    temp table blocked): record how many URLs each flags now (entry_counts) and return those that flood
    (also left in temp table flooding_entries)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE entry_now AS
        WITH new_entries AS (
            SELECT list_name, entry_kind, entry, count(*) AS held FROM new_verdicts
            GROUP BY list_name, entry_kind, entry
        ),
        now_counts AS (
            SELECT b.list_name, b.entry_kind, b.entry, count(DISTINCT b.url) AS urls
            FROM blocked AS b SEMI JOIN new_entries AS n
                ON n.list_name = b.list_name AND n.entry_kind = b.entry_kind AND n.entry = b.entry
            GROUP BY ALL
        ),
        previous AS (
            SELECT list_name, entry_kind, entry, arg_max(urls, counted_at) AS urls FROM entry_counts
            SEMI JOIN new_entries USING (list_name, entry_kind, entry)
            GROUP BY ALL
        )
        SELECT c.list_name, c.entry_kind, c.entry, c.urls, p.urls AS previous,
               {policy.threshold_sql("p.urls")} AS threshold, n.held
        FROM now_counts AS c JOIN new_entries AS n USING (list_name, entry_kind, entry)
        LEFT JOIN previous AS p USING (list_name, entry_kind, entry)
        """
    )
    con.execute(
        "INSERT INTO entry_counts"
        " SELECT list_name, entry_kind, entry, urls, current_timestamp::TIMESTAMP FROM entry_now"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE flooding_entries AS SELECT * FROM entry_now WHERE urls > threshold")
    con.execute("DROP TABLE entry_now")
    rows = con.execute("SELECT * FROM flooding_entries ORDER BY list_name, entry").fetchall()
    return [Flood(*row) for row in rows]
