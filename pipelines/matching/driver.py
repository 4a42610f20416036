"""Static matching: every unique URL against the current version of every list, once, and incrementally.

One model for every list (see pipelines/urls/canonical.py): a URL stands for its lookup expressions (each host
suffix, i.e. the host and every parent domain, times each path prefix) and an entry for the expressions it
names, so a match is an equality of expressions, or of their hashes for hashed lists, or an IPv4 range test
for CIDR entries. Everything runs as set operations in DuckDB over distinct hosts and URLs.

Incremental: `match_state` remembers the version of each list the stored matches reflect, and
`matched_sources` which files' URLs were matched against it. A run matches only the URLs of files not yet
matched, and when a list has a new version, only the entries it added (over every URL); matches of
entries it dropped are deleted and the rest are relabelled with the new version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb

from pipelines.lists import CURRENT_MATCHES_SQL, CURRENT_VERSIONS_SQL
from pipelines.matching.kernels import entry_kinds, kernel_for, run_kernel
from pipelines.store import memory_limit, require_snapshot, transaction
from pipelines.verdicts import FloodPolicy, VerdictSummary, refresh_verdicts

# The columns that identify an entry across versions of a list (its line number may move).
ENTRY_IDENTITY = ("entry_kind", "expression", "exception", "subdomains", "hash_algorithm")


@dataclass(frozen=True)
class MatchSummary:
    snapshot: str
    urls_checked: int
    urls_matched: int
    urls_allowed: int
    documents_flagged: int
    links_flagged: int
    lists_updated: tuple[str, ...] = ()
    sources_matched: int = 0
    verdicts: VerdictSummary | None = None  # the snapshot's verdicts after the match

    def line(self) -> str:
        updated = f"; re-matched the changes of {', '.join(self.lists_updated)}" if self.lists_updated else ""
        return (
            f"matched snapshot {self.snapshot}: {self.urls_checked:,} unique URLs checked in "
            f"{self.sources_matched:,} new files{updated}; {self.urls_matched:,} URLs listed "
            f"({self.urls_allowed:,} more overridden by allowlists); {self.documents_flagged:,} documents to drop, "
            f"{self.links_flagged:,} links to strip"
        )


# --- the kernel: entries (temp table match_entries) x URLs (temp table match_urls) -> url_matches ---------


def _load_entries(con: duckdb.DuckDBPyConnection, where: str, parameters: dict | None = None) -> None:
    """match_entries: the entries of the current list versions selected by `where` (over `e` and `lists`)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE match_entries AS
        SELECT row_number() OVER () AS entry_id, e.version_id, current.list_name, lists.category, e.entry,
               e.entry_kind, e.expression, e.subdomains, e.hash_algorithm, e.ip_low, e.ip_high, e.line_no,
               CASE WHEN lists.list_type = 'allow' OR e.exception THEN 'allow' ELSE 'block' END AS effect
        FROM list_entries AS e
        JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
        JOIN lists ON lists.name = current.list_name
        WHERE lists.list_type IN ('block', 'allow') AND e.entry_kind <> 'content' AND ({where})
        """,
        parameters or {},
    )


# --- incremental bookkeeping -------------------------------------------------------------------------------


def _apply_new_version(con: duckdb.DuckDBPyConnection, list_name: str, old: int, new: int, engine: Any = None) -> None:
    """Bring the matches of `list_name` from version `old` to `new`: drop those of removed entries, relabel
    the rest, and match the added entries over every stored URL."""
    identity = " AND ".join(f"n.{column} IS NOT DISTINCT FROM o.{column}" for column in ENTRY_IDENTITY)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE removed_entries AS
        SELECT o.entry_kind, o.expression FROM list_entries AS o
        WHERE o.version_id = $old
          AND NOT EXISTS (SELECT 1 FROM list_entries AS n WHERE n.version_id = $new AND {identity})
        """,
        {"old": old, "new": new},
    )
    con.execute(
        """
        DELETE FROM url_matches
        WHERE list_name = $list AND detected_via = 'static'
          AND (entry_kind, rule_expression) IN (SELECT (entry_kind, expression) FROM removed_entries)
        """,
        {"list": list_name},
    )
    con.execute(
        """
        UPDATE url_matches SET version_id = n.version_id, line_no = n.line_no, matched_rule = n.entry
        FROM list_entries AS n
        WHERE url_matches.list_name = $list AND url_matches.detected_via = 'static'
          AND n.version_id = $new AND n.entry_kind = url_matches.entry_kind
          AND n.expression = url_matches.rule_expression
        """,
        {"list": list_name, "new": new},
    )
    _load_entries(
        con,
        f"current.list_name = $list AND NOT EXISTS (SELECT 1 FROM list_entries AS o WHERE o.version_id = $old"
        f" AND {identity.replace('n.', 'e.')})",
        {"list": list_name, "old": old},
    )
    con.execute("CREATE OR REPLACE TEMP TABLE match_urls AS SELECT url, host FROM urls")
    run_kernel(con, engine=engine)


def _pending_sources(con: duckdb.DuckDBPyConnection, snapshot: str, list_name: str) -> list[int]:
    return [
        row[0]
        for row in con.execute(
            """
            SELECT source_id FROM sources
            WHERE snapshot = $snapshot AND status IN ('done', 'partial')
              AND source_id NOT IN (SELECT source_id FROM matched_sources WHERE list_name = $list)
            ORDER BY source_id
            """,
            {"snapshot": snapshot, "list": list_name},
        ).fetchall()
    ]


def _urls_of_sources(
    con: duckdb.DuckDBPyConnection, source_ids: Sequence[int], list_names: Sequence[str], with_host: bool = True
) -> None:
    """match_urls: the URLs of the given files that the lists have not matched yet (with their host for the
    SQL kernel; the compiled one reads hosts from the URLs).

    Each URL remembers the file that first recorded it (files record their URLs in order), so the URLs a
    file added are a filter on `urls`, not a scan of its links. A URL first recorded by a file the lists have
    not matched either (another snapshot's, not matched yet; or a file left pending by an older linksweep's
    ingest killed between a file's URLs and its status) is
    found through the links of these files; URLs first recorded by a file already matched carry their
    matches already (matches are per URL).
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE match_urls AS
        SELECT url{", host" if with_host else ""} FROM urls WHERE first_source IN (SELECT unnest($sources))
        """,
        {"sources": list(source_ids)},
    )
    others = [
        row[0]
        for row in con.execute(
            """
            SELECT source_id FROM sources
            WHERE (status IN ('done', 'partial')
                   OR (status = 'pending' AND EXISTS (SELECT 1 FROM urls WHERE urls.first_source = sources.source_id)))
              AND source_id NOT IN (SELECT unnest($sources))
              AND source_id NOT IN (
                  SELECT source_id FROM matched_sources WHERE list_name IN (SELECT unnest($names))
                  GROUP BY source_id HAVING count(DISTINCT list_name) = len($names)
              )
            """,
            {"sources": list(source_ids), "names": list(list_names)},
        ).fetchall()
    ]
    unattributed = con.execute("SELECT count(*) FROM urls WHERE first_source IS NULL").fetchone()[0]
    if not others and not unattributed:
        return
    ranges = " OR ".join(
        f"doc_id BETWEEN {source_id << 32} AND {((source_id + 1) << 32) - 1}" for source_id in source_ids
    )
    con.execute(
        f"""
        INSERT INTO match_urls
        SELECT urls.url{", urls.host" if with_host else ""} FROM urls
        WHERE (urls.first_source IS NULL OR urls.first_source IN (SELECT unnest($others)))
          AND urls.url IN (
              SELECT url FROM documents WHERE ({ranges}) AND url IS NOT NULL
              UNION
              SELECT url FROM links WHERE ({ranges}) AND url IS NOT NULL
          )
        """,
        {"others": others},
    )


# DuckDB memory while matching: a bound, beyond which joins and aggregations spill to disk (the default is
# 80% of the machine's memory)
MATCH_MEMORY_LIMIT = "2GB"


def match_snapshot(
    con: duckdb.DuckDBPyConnection, snapshot: str, flood: FloodPolicy | None = None, engine: Any = None
) -> MatchSummary:
    """Bring the static matches of `snapshot`'s URLs up to date with the current version of every list, then
    the snapshot's verdicts (quarantining the new ones of entries that flood, see pipelines/verdicts).

    With an `engine`, the compiled kernel matches the URLs in shards on its workers (pipelines/matching/
    shards.py); the matches are the same."""
    require_snapshot(con, snapshot)
    with memory_limit(con, MATCH_MEMORY_LIMIT):
        summary = _match_snapshot(con, snapshot, engine)
        return replace(summary, verdicts=refresh_verdicts(con, snapshot, flood))


def _match_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str, engine: Any) -> MatchSummary:
    lists = con.execute(
        f"""
        SELECT current.list_name, current.version_id, state.version_id
        FROM ({CURRENT_VERSIONS_SQL}) AS current
        JOIN lists ON lists.name = current.list_name AND lists.list_type IN ('block', 'allow')  -- not watch lists
        LEFT JOIN match_state AS state USING (list_name)
        ORDER BY current.list_name
        """
    ).fetchall()
    updated: list[str] = []
    checked_urls = 0
    matched_files: set[int] = set()
    with transaction(con):
        for list_name, current, previous in lists:
            if previous is not None and previous != current:
                _apply_new_version(con, list_name, previous, current, engine)
                updated.append(list_name)
        # files not yet matched, grouped so that lists needing the same files share one pass over their URLs
        groups: dict[tuple[int, ...], list[str]] = {}
        for list_name, _current, _previous in lists:
            pending = tuple(_pending_sources(con, snapshot, list_name))
            if pending:
                groups.setdefault(pending, []).append(list_name)
        for source_ids, names in groups.items():
            _load_entries(con, "current.list_name IN (SELECT unnest($names))", {"names": names})
            kinds = entry_kinds(con)
            _urls_of_sources(con, source_ids, names, with_host=kernel_for(kinds) == "sql")
            con.execute(
                """
                DELETE FROM url_matches
                WHERE detected_via = 'static' AND list_name IN (SELECT unnest($names))
                  AND url IN (SELECT url FROM match_urls)
                """,
                {"names": names},
            )
            run_kernel(con, kinds, engine)
            checked_urls = max(checked_urls, con.execute("SELECT count(*) FROM match_urls").fetchone()[0])
            matched_files.update(source_ids)
            con.execute(
                "INSERT INTO matched_sources SELECT list_name, source_id FROM unnest($names) AS l(list_name),"
                " unnest($sources) AS s(source_id)",
                {"names": names, "sources": list(source_ids)},
            )
        for list_name, current, _previous in lists:
            con.execute(
                "INSERT OR REPLACE INTO match_state (list_name, version_id, matched_at)"
                " VALUES (?, ?, current_timestamp)",
                [list_name, current],
            )
    return _summary(con, snapshot, checked_urls, tuple(updated), len(matched_files))


def _summary(
    con: duckdb.DuckDBPyConnection, snapshot: str, checked: int, updated: tuple[str, ...], files: int
) -> MatchSummary:
    """Counts of the removal list (see pipelines/export/removals.py), computed without building its rows."""
    counts = con.execute(
        f"""
        WITH current_matches AS ({CURRENT_MATCHES_SQL}),
        listed AS (
            SELECT DISTINCT url FROM current_matches
            WHERE effect = 'block' AND url NOT IN (SELECT url FROM current_matches WHERE effect = 'allow')
        ),
        snapshot_sources AS (SELECT source_id FROM sources WHERE snapshot = $snapshot),
        dropped AS (
            SELECT doc_id FROM documents
            WHERE snapshot = $snapshot AND url IN (SELECT url FROM listed)
        ),
        stripped AS (
            SELECT DISTINCT links.doc_id, links.url FROM links
            WHERE (links.doc_id >> 32)::INTEGER IN (SELECT source_id FROM snapshot_sources)
              AND links.url IN (SELECT url FROM listed)
              AND links.doc_id NOT IN (SELECT doc_id FROM dropped)
        )
        SELECT (SELECT count(*) FROM dropped), (SELECT count(*) FROM stripped),
               (SELECT count(*) FROM (SELECT url FROM stripped UNION SELECT url FROM documents
                                      WHERE doc_id IN (SELECT doc_id FROM dropped)))
        """,
        {"snapshot": snapshot},
    ).fetchone()
    allowed = con.execute(
        f"""
        SELECT count(DISTINCT url) FROM ({CURRENT_MATCHES_SQL})
        WHERE effect = 'allow' AND url IN (SELECT url FROM url_matches WHERE effect = 'block')
        """
    ).fetchone()[0]
    return MatchSummary(snapshot, checked, counts[2], allowed, counts[0], counts[1], updated, files)
