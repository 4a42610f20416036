"""Which links a crawl resolves: the snapshot's unique http(s) URLs that no list flags and that were not
resolved recently, written to a Parquet file the spider streams (bounded memory for millions of URLs)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.lists import CURRENT_MATCHES_SQL, CURRENT_VERSIONS_SQL
from pipelines.store import sql_string

DEFAULT_RECHECK_DAYS = 30

# The order of a queue file: the domains take turns (the first link of every domain, then the second, ...), each
# domain's links in URL order. The crawler reads its queue a window at a time (LINKSWEEP_MAX_SCHEDULED requests
# waiting) and crawls at most --per-host of a host at once: in URL order a window held the links of a few hosts
# only, whose requests waited for their host while counting against --concurrency (measured: 6-12 of 64 places
# transferring with 100 links a host and a window of 200).
TAKE_TURNS = "row_number() OVER (PARTITION BY domain ORDER BY url), domain, url"


class UnknownWatchList(LookupError):
    pass


def write_crawl_queue(
    con: duckdb.DuckDBPyConnection,
    snapshot: str,
    out: Path,
    *,
    recheck_after_days: float = DEFAULT_RECHECK_DAYS,
    only_hosts_in: str | None = None,
    limit: int | None = None,
) -> int:
    """Write the URLs to resolve to `out` (columns `url`, and `domain`: its registrable domain, or its host when
    it has none, e.g. an IP address; buckets.py splits the queue by it), the domains taking turns (TAKE_TURNS);
    returns how many. `limit` keeps the first URLs in URL order.

    Left out: URLs a current list flags (and no allowlist overrides), and URLs resolved less than
    `recheck_after_days` ago, unless a hash service left their content unchecked (retried every run).
    `only_hosts_in` keeps only URLs on a host (or subdomain of one) that list names, e.g. URL shorteners.
    """
    host_filter = ""
    parameters: dict = {"snapshot": snapshot, "days": float(recheck_after_days)}
    if only_hosts_in is not None:
        if con.execute("SELECT count(*) FROM lists WHERE name = ?", [only_hosts_in]).fetchone()[0] == 0:
            raise UnknownWatchList(f"no list named {only_hosts_in!r} (load it with `linksweep watchlist add`)")
        parameters["only"] = only_hosts_in
        host_filter = f"""
            AND EXISTS (
                SELECT 1 FROM list_entries AS e JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
                WHERE current.list_name = $only AND e.entry_kind IN ('domain', 'ip')
                  AND (e.expression = candidates.host || '/'
                       OR (e.subdomains AND ends_with(candidates.host || '/', '.' || e.expression)))
            )"""
    limit_sql = f"ORDER BY url LIMIT {int(limit)}" if limit is not None else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (
            WITH snapshot_urls AS (
                SELECT url FROM documents WHERE snapshot = $snapshot AND url IS NOT NULL
                UNION
                SELECT links.url FROM links
                WHERE (links.doc_id >> 32)::INTEGER IN (SELECT source_id FROM sources WHERE snapshot = $snapshot)
                  AND links.url IS NOT NULL
            ),
            current_matches AS ({CURRENT_MATCHES_SQL}),
            candidates AS (
                SELECT snapshot_urls.url, rtrim(urls.host, '.') AS host,
                       coalesce(urls.registered_domain, rtrim(urls.host, '.')) AS domain
                FROM snapshot_urls JOIN urls USING (url)
                WHERE regexp_matches(snapshot_urls.url, '^https?://')
            ),
            queued AS (
                SELECT url, domain FROM candidates
                WHERE url NOT IN (
                        SELECT url FROM current_matches WHERE effect = 'block'
                        EXCEPT SELECT url FROM current_matches WHERE effect = 'allow'
                    )
                  AND (url NOT IN (
                        SELECT url FROM crawl_results
                        WHERE fetched_at >= current_timestamp::TIMESTAMP - to_seconds($days * 86400)
                      )
                      OR url IN (SELECT url FROM hash_checks WHERE status = 'unchecked'))
                  {host_filter}
                {limit_sql}
            )
            SELECT url, domain FROM queued ORDER BY {TAKE_TURNS}
        ) TO {sql_string(out)} (FORMAT parquet, COMPRESSION zstd)
        """,
        parameters,
    )
    return con.execute(f"SELECT count(*) FROM read_parquet({sql_string(out)})").fetchone()[0]
