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

import os
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.lists import CURRENT_MATCHES_SQL, CURRENT_VERSIONS_SQL
from pipelines.matching import compiled as compiled_matcher
from pipelines.store import memory_limit, transaction
from pipelines.urls import canonicalize

HASH_FUNCTIONS = {"sha256": "sha256", "sha1": "sha1", "md5": "md5"}
FULL_HASH_HEX = {"sha256": 64, "sha1": 40, "md5": 32}

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

    def line(self) -> str:
        updated = f"; re-matched the changes of {', '.join(self.lists_updated)}" if self.lists_updated else ""
        return (
            f"matched snapshot {self.snapshot}: {self.urls_checked:,} unique URLs checked in "
            f"{self.sources_matched:,} new files{updated}; {self.urls_matched:,} URLs listed "
            f"({self.urls_allowed:,} more overridden by allowlists); {self.documents_flagged:,} documents to drop, "
            f"{self.links_flagged:,} links to strip"
        )


class UnknownSnapshot(LookupError):
    pass


def require_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> None:
    if con.execute("SELECT count(*) FROM snapshots WHERE name = ?", [snapshot]).fetchone()[0] == 0:
        known = [row[0] for row in con.execute("SELECT name FROM snapshots ORDER BY name").fetchall()]
        raise UnknownSnapshot(f"no snapshot {snapshot!r} (known: {', '.join(known) or 'none'})")


# --- the kernel: entries (temp table match_entries) x URLs (temp table match_urls) -> url_matches ---------


def _sb_path_query(url: str) -> str | None:
    """Safe Browsing path and query of a stored URL whose path needs more than SQL string work."""
    canonical = canonicalize(url)
    if canonical is None:
        return None
    return canonical.path + (f"?{canonical.query}" if canonical.query else "")


_HOSTS_SQL = r"""
CREATE OR REPLACE TEMP TABLE match_hosts AS
SELECT host, match_host,
       regexp_full_match(match_host, '\d+\.\d+\.\d+\.\d+') AS is_ipv4,
       starts_with(match_host, '[') AS is_ipv6
FROM (
    -- Safe Browsing host cleanup on top of the WHATWG host: no leading/trailing dots, no empty labels
    SELECT host, CASE WHEN contains(host, '..') OR starts_with(host, '.') OR ends_with(host, '.')
                      THEN regexp_replace(trim(host, '.'), '\.{2,}', '.', 'g') ELSE host END AS match_host
    FROM (SELECT DISTINCT host FROM match_urls WHERE host IS NOT NULL)
)
WHERE match_host <> '';

-- every host with each of its parent domains: a.b.test -> a.b.test, b.test, test; an IP only itself
CREATE OR REPLACE TEMP TABLE match_suffixes AS
SELECT host, match_host AS suffix, true AS whole_host FROM match_hosts
UNION ALL
SELECT host, unnest([array_to_string(labels[position + 1:], '.') FOR position IN range(1, len(labels))]), false
FROM (SELECT host, string_split(match_host, '.') AS labels FROM match_hosts WHERE NOT is_ipv4 AND NOT is_ipv6);
"""

_INSERT_MATCHES = """
INSERT INTO url_matches (url, version_id, list_name, category, matched_rule, expression, detected_via, effect,
                         entry_kind, line_no, rule_expression)
SELECT DISTINCT url, version_id, list_name, category, entry, url_expression, 'static', effect, entry_kind,
       line_no, expression
FROM ({hits})
"""

_HOST_HITS = """
SELECT match_urls.url, e.*, s.suffix || '/' AS url_expression
FROM match_suffixes AS s
JOIN match_entries AS e ON e.expression = s.suffix || '/'
JOIN match_urls ON match_urls.host = s.host
WHERE e.entry_kind IN ('domain', 'ip') AND (e.subdomains OR s.whole_host)
"""

_CIDR_HITS = """
SELECT match_urls.url, e.*, h.match_host AS url_expression
FROM (
    SELECT host, match_host, (p[1]::UBIGINT << 24) + (p[2]::UBIGINT << 16) + (p[3]::UBIGINT << 8) + p[4]::UBIGINT AS ip
    FROM (SELECT host, match_host, string_split(match_host, '.') AS p FROM match_hosts WHERE is_ipv4)
) AS h
JOIN match_entries AS e ON e.entry_kind = 'cidr' AND h.ip BETWEEN e.ip_low AND e.ip_high
JOIN match_urls ON match_urls.host = h.host
"""


_NEEDS_PYTHON_PATH = "contains(pq, '%') OR contains(pq, '//') OR NOT starts_with(pq, '/')"


def _build_host_paths(con: duckdb.DuckDBPyConnection, host_filter: str) -> None:
    """match_url_paths(url, host, path_expression) for the URLs on hosts passing `host_filter` (a WHERE
    clause over match_urls), and host_paths(host, path_expression): its distinct (host, path) pairs.

    A URL's path expressions are its path with its query, its path, and every prefix ending in '/'.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE match_pq AS
        SELECT url, host, CASE WHEN slash = 0 THEN '/' ELSE rest[slash:] END AS pq
        FROM (
            SELECT url, host, rest, strpos(rest, '/') AS slash
            FROM (SELECT url, host, url[strpos(url, '://') + 3:] AS rest FROM match_urls WHERE {host_filter})
        )
        """
    )
    # the WHATWG path is already Safe Browsing's unless it holds escapes or empty segments: those few go
    # through the Python canonicalizer
    odd = con.execute(f"SELECT url FROM match_pq WHERE {_NEEDS_PYTHON_PATH}").fetchall()
    if odd:
        con.register(
            "python_paths",
            pa.table(
                {
                    "url": pa.array([row[0] for row in odd], pa.string()),
                    "pq": pa.array([_sb_path_query(row[0]) for row in odd], pa.string()),
                }
            ),
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE match_pq AS
            SELECT url, host, pq FROM match_pq WHERE NOT ({_NEEDS_PYTHON_PATH})
            UNION ALL
            SELECT m.url, m.host, p.pq FROM match_pq AS m JOIN python_paths AS p USING (url) WHERE p.pq IS NOT NULL
            """
        )
        con.unregister("python_paths")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE match_split AS
        SELECT url, host, split_part(pq, '?', 1) AS path,
               CASE WHEN contains(pq, '?') THEN pq[strpos(pq, '?') + 1:] ELSE '' END AS query
        FROM match_pq;

        -- each URL names its path with its query, its path, and every prefix of it ending in '/'; the prefixes
        -- are those of its directory, which many URLs share: expand each distinct directory once
        CREATE OR REPLACE TEMP TABLE host_paths AS
        WITH directories AS (
            SELECT DISTINCT host, path[:strpos(path, '/') + length(path) - strpos(reverse(path), '/')] AS directory
            FROM match_split
        )
        SELECT host, path || '?' || query AS path_expression FROM match_split WHERE query <> ''
        UNION
        SELECT host, path FROM match_split
        UNION
        SELECT host, unnest([array_to_string(segments[:position], '/') || '/' FOR position IN range(1, len(segments))])
        FROM (SELECT host, string_split(directory, '/') AS segments FROM directories);
        """
    )


def _hash_targets(con: duckdb.DuckDBPyConnection) -> None:
    """match_targets: the expressions of the store that a hashed entry names (full digest or prefix).

    Each distinct expression is hashed once. Like Safe Browsing, a top-level domain alone (`test/...`) is
    not hashed; every other parent domain is.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE match_expressions AS
        SELECT DISTINCT s.suffix || p.path_expression AS expression
        FROM host_paths AS p JOIN match_suffixes AS s USING (host)
        WHERE s.whole_host OR contains(s.suffix, '.')
        """
    )
    shapes = con.execute(
        "SELECT DISTINCT hash_algorithm, length(expression) FROM match_entries WHERE entry_kind = 'hash'"
    ).fetchall()
    for algorithm in sorted({algorithm for algorithm, _ in shapes}):
        # each expression hashed once per algorithm; full digests and prefixes of every length join on it
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE match_digests AS
            SELECT expression, {HASH_FUNCTIONS[algorithm]}(expression) AS digest FROM match_expressions
            """
        )
        for shape_algorithm, length in shapes:
            if shape_algorithm != algorithm:
                continue
            digest = "digest" if length == FULL_HASH_HEX[algorithm] else f"left(digest, {int(length)})"
            con.execute(
                f"""
                INSERT INTO match_targets
                SELECT e.entry_id, x.expression
                FROM (SELECT expression, {digest} AS digest FROM match_digests) AS x
                JOIN (SELECT entry_id, expression FROM match_entries
                      WHERE entry_kind = 'hash' AND hash_algorithm = '{algorithm}'
                        AND length(expression) = {int(length)}) AS e
                  ON e.expression = x.digest
                """
            )


def _path_hits() -> str:
    """Matches of the path-level targets (URL entries, hashed expressions): a target expression `suffix/path`
    hits each URL on a host under `suffix` whose path expressions include `path` (the URL's path with or
    without its query, or a directory prefix of it)."""
    return """
    SELECT u.url, e.*, t.url_expression
    FROM (
        SELECT entry_id, url_expression, split_part(url_expression, '/', 1) AS suffix,
               url_expression[strpos(url_expression, '/'):] AS path_expression
        FROM match_targets
    ) AS t
    JOIN match_entries AS e USING (entry_id)
    JOIN match_suffixes AS s ON s.suffix = t.suffix
    JOIN host_paths AS h ON h.host = s.host AND h.path_expression = t.path_expression
    JOIN match_split AS u
      ON u.host = s.host
     AND (u.path = t.path_expression OR u.path || '?' || u.query = t.path_expression
          OR (ends_with(t.path_expression, '/') AND starts_with(u.path, t.path_expression)))
    WHERE s.whole_host OR e.entry_kind <> 'hash' OR contains(s.suffix, '.')
    """


KERNEL_ENVIRONMENT_VARIABLE = "LINKSWEEP_MATCH_KERNEL"  # "sql" forces the SQL kernel (tests, comparisons)


def kernel_for(kinds: set[str]) -> str:
    """`compiled` when the C inner loop is built (and can hash, if hashed entries are matched), else `sql`."""
    if os.environ.get(KERNEL_ENVIRONMENT_VARIABLE, "").lower() == "sql":
        return "sql"
    return "compiled" if compiled_matcher.available(needs_hashes="hash" in kinds) else "sql"


def _run_compiled_kernel(con: duckdb.DuckDBPyConnection) -> None:
    matcher = compiled_matcher.CompiledMatcher(con)
    urls = con.sql("SELECT url FROM match_urls WHERE url IS NOT NULL").to_arrow_table().column("url")
    if not (pa.types.is_string(urls.type) or pa.types.is_large_string(urls.type)):
        urls = urls.cast(pa.large_string())
    # one array: `take` over many chunks costs five times more
    urls = urls.combine_chunks() if urls.nbytes < (1 << 31) else urls.cast(pa.large_string()).combine_chunks()
    hits = matcher.match(urls)
    con.register(
        "compiled_hits",
        pa.table({"url": urls.take(hits.rows), "group_id": hits.groups, "url_expression": hits.url_expressions}),
    )
    # the C loop reports each (URL, entry, expression) once: no DISTINCT needed here
    con.execute(
        _INSERT_MATCHES.replace("SELECT DISTINCT", "SELECT").format(
            hits="""
            SELECT h.url, e.*, h.url_expression
            FROM compiled_hits AS h
            JOIN match_group_entries AS g USING (group_id)
            JOIN match_entries AS e USING (entry_id)
            """
        )
    )
    con.unregister("compiled_hits")


def _entry_kinds(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT DISTINCT entry_kind FROM match_entries").fetchall()}


def _run_kernel(con: duckdb.DuckDBPyConnection, kinds: set[str] | None = None) -> None:
    """Insert the static matches of match_entries over match_urls into url_matches (`kinds`: the entry kinds
    of match_entries, when the caller has them already)."""
    kinds = _entry_kinds(con) if kinds is None else kinds
    if not kinds:
        return
    if kernel_for(kinds) == "compiled":
        _run_compiled_kernel(con)
        return
    con.execute(_HOSTS_SQL)
    selects = []
    if kinds & {"domain", "ip"}:
        selects.append(_HOST_HITS)
    if "cidr" in kinds:
        selects.append(_CIDR_HITS)
    if kinds & {"url", "hash"}:
        con.execute("CREATE OR REPLACE TEMP TABLE match_targets (entry_id BIGINT, url_expression VARCHAR)")
        if "url" in kinds:
            con.execute(
                "INSERT INTO match_targets SELECT entry_id, expression FROM match_entries WHERE entry_kind = 'url'"
            )
        if "hash" in kinds:
            _build_host_paths(con, "true")  # a hashed expression may name any host and path
            _hash_targets(con)
        else:  # only the hosts under a URL entry's host
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE match_path_hosts AS
                SELECT DISTINCT host FROM match_suffixes
                WHERE suffix IN (SELECT split_part(url_expression, '/', 1) FROM match_targets)
                """
            )
            _build_host_paths(con, "host IN (SELECT host FROM match_path_hosts)")
        selects.append(_path_hits())
    for hits in selects:
        con.execute(_INSERT_MATCHES.format(hits=hits))


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


def _apply_new_version(con: duckdb.DuckDBPyConnection, list_name: str, old: int, new: int) -> None:
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
    _run_kernel(con)


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
    not matched either (another snapshot's, not matched yet; or a file still pending because the ingest was
    killed after recording its URLs and before the file was done: see pipelines/store/database.record_new_urls) is
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


def match_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> MatchSummary:
    """Bring the static matches of `snapshot`'s URLs up to date with the current version of every list."""
    require_snapshot(con, snapshot)
    with memory_limit(con, MATCH_MEMORY_LIMIT):
        return _match_snapshot(con, snapshot)


def _match_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> MatchSummary:
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
                _apply_new_version(con, list_name, previous, current)
                updated.append(list_name)
        # files not yet matched, grouped so that lists needing the same files share one pass over their URLs
        groups: dict[tuple[int, ...], list[str]] = {}
        for list_name, _current, _previous in lists:
            pending = tuple(_pending_sources(con, snapshot, list_name))
            if pending:
                groups.setdefault(pending, []).append(list_name)
        for source_ids, names in groups.items():
            _load_entries(con, "current.list_name IN (SELECT unnest($names))", {"names": names})
            kinds = _entry_kinds(con)
            _urls_of_sources(con, source_ids, names, with_host=kernel_for(kinds) == "sql")
            con.execute(
                """
                DELETE FROM url_matches
                WHERE detected_via = 'static' AND list_name IN (SELECT unnest($names))
                  AND url IN (SELECT url FROM match_urls)
                """,
                {"names": names},
            )
            _run_kernel(con, kinds)
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
