"""The bulk kernels of static matching: the SQL one (set operations in DuckDB over distinct hosts, their
suffixes and path prefixes) and the compiled inner loop (pipelines/matching/_fastmatch.c), and the choice
between them. Both insert the matches of `match_entries` over `match_urls` into `url_matches`."""

from __future__ import annotations

import os
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.matching import compiled as compiled_matcher
from pipelines.matching.shards import run_sharded_kernel
from pipelines.urls import canonicalize

HASH_FUNCTIONS = {"sha256": "sha256", "sha1": "sha1", "md5": "md5"}
FULL_HASH_HEX = {"sha256": 64, "sha1": 40, "md5": 32}


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


def _run_compiled_kernel(con: duckdb.DuckDBPyConnection, engine: Any = None) -> None:
    if engine is not None:  # in shards, on the engine's workers
        run_sharded_kernel(con, engine, _insert_compiled_hits)
        return
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
    _insert_compiled_hits(con)
    con.unregister("compiled_hits")


def _insert_compiled_hits(con: duckdb.DuckDBPyConnection) -> None:
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


def entry_kinds(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT DISTINCT entry_kind FROM match_entries").fetchall()}


def run_kernel(con: duckdb.DuckDBPyConnection, kinds: set[str] | None = None, engine: Any = None) -> None:
    """Insert the static matches of match_entries over match_urls into url_matches (`kinds`: the entry kinds
    of match_entries, when the caller has them already). With an `engine` (pipelines/matching/shards.py), the
    compiled kernel runs in shards on its workers; the SQL kernel always runs here."""
    kinds = entry_kinds(con) if kinds is None else kinds
    if not kinds:
        return
    if kernel_for(kinds) == "compiled":
        _run_compiled_kernel(con, engine)
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
