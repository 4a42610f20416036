"""Static matching: a snapshot's URLs against the latest version of every blocklist, host and parent domains."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.lists import CURRENT_VERSIONS_SQL
from pipelines.removals import removal_query


@dataclass(frozen=True)
class MatchSummary:
    snapshot: str
    urls_checked: int
    urls_matched: int
    documents_flagged: int
    links_flagged: int

    def line(self) -> str:
        return (
            f"matched snapshot {self.snapshot}: {self.urls_checked:,} unique URLs checked, "
            f"{self.urls_matched:,} listed; {self.documents_flagged:,} documents to drop, "
            f"{self.links_flagged:,} links to strip"
        )


class UnknownSnapshot(LookupError):
    pass


def require_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> None:
    if con.execute("SELECT count(*) FROM snapshots WHERE name = ?", [snapshot]).fetchone()[0] == 0:
        known = [row[0] for row in con.execute("SELECT name FROM snapshots ORDER BY name").fetchall()]
        raise UnknownSnapshot(f"no snapshot {snapshot!r} (known: {', '.join(known) or 'none'})")


def match_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> MatchSummary:
    """Recompute the static matches of every URL of `snapshot` (documents and links) against the lists.

    A domain entry matches its host and every subdomain (all parent domains are checked, not only the
    last few labels); an IP entry matches that address only.
    """
    require_snapshot(con, snapshot)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE snapshot_urls AS
            SELECT url FROM documents WHERE snapshot = $snapshot AND url IS NOT NULL
            UNION
            SELECT links.url FROM links JOIN documents USING (doc_id)
            WHERE documents.snapshot = $snapshot AND links.url IS NOT NULL
            """,
            {"snapshot": snapshot},
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE snapshot_hosts AS
            SELECT host, match_host, regexp_full_match(match_host, '[0-9.]+|\\[.*\\]') AS is_ip
            FROM (
                -- a trailing dot names the same host (bad.test. is bad.test)
                SELECT DISTINCT urls.host, rtrim(urls.host, '.') AS match_host
                FROM urls JOIN snapshot_urls USING (url) WHERE urls.host IS NOT NULL
            );

            -- every host with each of its parent domains: a.b.test -> a.b.test, b.test, test
            CREATE OR REPLACE TEMP TABLE host_suffixes AS
            SELECT host, match_host AS suffix, true AS whole_host FROM snapshot_hosts
            UNION ALL
            SELECT host, array_to_string(list_slice(labels, position + 1, len(labels)), '.') AS suffix,
                   false AS whole_host
            FROM (SELECT host, string_split(match_host, '.') AS labels FROM snapshot_hosts WHERE NOT is_ip),
                 range(1, 127) AS positions(position)
            WHERE position < len(labels);

            CREATE OR REPLACE TEMP TABLE current_entries AS
            SELECT list_entries.*, lists.name AS list_name, lists.category
            FROM list_entries
            JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
            JOIN lists ON lists.name = current.list_name
            WHERE lists.list_type = 'block';
            """
        )
        con.execute(
            """
            DELETE FROM url_matches
            WHERE detected_via = 'static' AND url IN (SELECT url FROM snapshot_urls)
            """
        )
        con.execute(
            """
            INSERT INTO url_matches (url, version_id, list_name, category, matched_rule, expression, detected_via)
            SELECT DISTINCT urls.url, entries.version_id, entries.list_name, entries.category,
                   entries.entry, host_suffixes.suffix, 'static'
            FROM host_suffixes
            JOIN current_entries AS entries ON entries.entry = host_suffixes.suffix
            JOIN urls ON urls.host = host_suffixes.host
            JOIN snapshot_urls ON snapshot_urls.url = urls.url
            WHERE entries.entry_kind = 'domain' OR host_suffixes.whole_host
            """
        )
        urls_checked = con.execute("SELECT count(*) FROM snapshot_urls").fetchone()[0]
        urls_matched = con.execute(
            "SELECT count(DISTINCT url) FROM url_matches WHERE url IN (SELECT url FROM snapshot_urls)"
        ).fetchone()[0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    counts = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE action = 'drop_document'), count(*) FILTER (WHERE action = 'strip_link')
        FROM ({removal_query()}) AS removals
        """,
        {"snapshot": snapshot},
    ).fetchone()
    return MatchSummary(snapshot, urls_checked, urls_matched, counts[0], counts[1])
