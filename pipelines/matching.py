"""Static matching: every unique URL against the current version of every list, once, and incrementally.

One model for every list (see pipelines/canonical.py): a URL stands for its lookup expressions (each host
suffix, i.e. the host and every parent domain, times each path prefix) and an entry for the expressions it
names, so a match is an equality of expressions, or of their hashes for hashed lists, or an IPv4 range test
for CIDR entries. Everything runs as set operations in DuckDB over distinct hosts and URLs.

Incremental: `match_state` remembers the version of each list the stored matches reflect, and
`matched_sources` which files' URLs were matched against it. A run matches only the URLs of files not yet
matched, and when a list has a new version, only the entries it added (over every URL); matches of
entries it dropped are deleted and the rest are relabelled with the new version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipelines.canonical import canonicalize
from pipelines.lists import CURRENT_VERSIONS_SQL
from pipelines.removals import removal_query

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
    SELECT DISTINCT host, regexp_replace(trim(host, '.'), '\.{2,}', '.', 'g') AS match_host
    FROM match_urls WHERE host IS NOT NULL
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


def _build_path_expressions(con: duckdb.DuckDBPyConnection, suffix_filter: str) -> None:
    """match_url_expressions(url, url_expression): host suffix x path prefix expressions of the URLs on
    hosts with a suffix passing `suffix_filter` (a WHERE clause over match_suffixes)."""
    con.execute(
        rf"""
        CREATE OR REPLACE TEMP TABLE match_candidate_suffixes AS
        SELECT host, suffix FROM match_suffixes WHERE {suffix_filter};

        CREATE OR REPLACE TEMP TABLE match_candidates AS
        SELECT url, host,
               coalesce(nullif(regexp_extract(url, '^[a-zA-Z][a-zA-Z0-9+.\-]*://[^/?#]*([^#]*)', 1), ''), '/') AS pq
        FROM match_urls WHERE host IN (SELECT host FROM match_candidate_suffixes);
        """
    )
    # the WHATWG path is already Safe Browsing's unless it holds escapes or empty segments: those few go
    # through the Python canonicalizer
    odd = con.execute(f"SELECT url FROM match_candidates WHERE {_NEEDS_PYTHON_PATH}").fetchall()
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
        CREATE OR REPLACE TEMP TABLE match_paths AS
        WITH canonical AS (
            SELECT url, host, pq FROM match_candidates WHERE NOT ({_NEEDS_PYTHON_PATH})
            UNION ALL
            SELECT c.url, c.host, p.pq FROM match_candidates AS c JOIN python_paths AS p USING (url)
        ),
        split AS (
            SELECT url, host, split_part(pq, '?', 1) AS path,
                   CASE WHEN contains(pq, '?') THEN pq[strpos(pq, '?') + 1:] ELSE '' END AS query
            FROM canonical WHERE pq IS NOT NULL
        )
        SELECT DISTINCT url, host, path_expression FROM (
            SELECT url, host, path || '?' || query AS path_expression FROM split WHERE query <> ''
            UNION ALL
            SELECT url, host, path FROM split
            UNION ALL
            SELECT url, host,
                   unnest([array_to_string(segments[:position], '/') || '/' FOR position IN range(1, len(segments))])
            FROM (SELECT url, host, string_split(path, '/') AS segments FROM split)
        );

        CREATE OR REPLACE TEMP TABLE match_url_expressions AS
        SELECT DISTINCT p.url, s.suffix || p.path_expression AS url_expression
        FROM match_paths AS p JOIN match_candidate_suffixes AS s USING (host);
        """
    )
    con.unregister("python_paths")


def _hash_hits(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One SELECT per (algorithm, digest length) of the hashed entries: full hashes and hash prefixes."""
    shapes = con.execute(
        "SELECT DISTINCT hash_algorithm, length(expression) FROM match_entries WHERE entry_kind = 'hash'"
    ).fetchall()
    selects = []
    for algorithm, length in shapes:
        function = HASH_FUNCTIONS[algorithm]
        digest = f"{function}(x.url_expression)"
        if length != FULL_HASH_HEX[algorithm]:
            digest = f"left({digest}, {int(length)})"
        selects.append(
            f"""
            SELECT x.url, e.*, x.url_expression
            FROM match_url_expressions AS x
            JOIN match_entries AS e
              ON e.entry_kind = 'hash' AND e.hash_algorithm = '{algorithm}' AND length(e.expression) = {int(length)}
             AND e.expression = {digest}
            """
        )
    return selects


def _run_kernel(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the static matches of match_entries over match_urls into url_matches."""
    kinds = {row[0] for row in con.execute("SELECT DISTINCT entry_kind FROM match_entries").fetchall()}
    if not kinds:
        return
    con.execute(_HOSTS_SQL)
    selects = []
    if kinds & {"domain", "ip"}:
        selects.append(_HOST_HITS)
    if "cidr" in kinds:
        selects.append(_CIDR_HITS)
    if kinds & {"url", "hash"}:
        if "hash" in kinds:
            suffix_filter = "true"  # a hashed expression may name any host suffix and path
        else:
            suffix_filter = (
                "suffix IN (SELECT DISTINCT split_part(expression, '/', 1) FROM match_entries WHERE entry_kind = 'url')"
            )
        _build_path_expressions(con, suffix_filter)
        if "url" in kinds:
            selects.append(
                """
                SELECT x.url, e.*, x.url_expression
                FROM match_url_expressions AS x
                JOIN match_entries AS e ON e.entry_kind = 'url' AND e.expression = x.url_expression
                """
            )
        if "hash" in kinds:
            selects.extend(_hash_hits(con))
    for hits in selects:
        con.execute(_INSERT_MATCHES.format(hits=hits))


def _load_entries(con: duckdb.DuckDBPyConnection, where: str, parameters: dict | None = None) -> None:
    """match_entries: the entries of the current list versions selected by `where` (over `e` and `lists`)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE match_entries AS
        SELECT e.version_id, current.list_name, lists.category, e.entry, e.entry_kind, e.expression,
               e.subdomains, e.hash_algorithm, e.ip_low, e.ip_high, e.line_no,
               CASE WHEN lists.list_type = 'allow' OR e.exception THEN 'allow' ELSE 'block' END AS effect
        FROM list_entries AS e
        JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
        JOIN lists ON lists.name = current.list_name
        WHERE {where}
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


def _urls_of_sources(con: duckdb.DuckDBPyConnection, source_ids: Iterable[int]) -> None:
    """match_urls: the distinct URLs (with host) of the documents and links of the given files."""
    ranges = " OR ".join(
        f"doc_id BETWEEN {source_id << 32} AND {((source_id + 1) << 32) - 1}" for source_id in source_ids
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE match_urls AS
        SELECT urls.url, urls.host FROM urls
        WHERE urls.url IN (
            SELECT url FROM documents WHERE ({ranges}) AND url IS NOT NULL
            UNION
            SELECT url FROM links WHERE ({ranges}) AND url IS NOT NULL
        )
        """
    )


def match_snapshot(con: duckdb.DuckDBPyConnection, snapshot: str) -> MatchSummary:
    """Bring the static matches of `snapshot`'s URLs up to date with the current version of every list."""
    require_snapshot(con, snapshot)
    lists = con.execute(
        f"""
        SELECT current.list_name, current.version_id, state.version_id
        FROM ({CURRENT_VERSIONS_SQL}) AS current
        LEFT JOIN match_state AS state USING (list_name)
        ORDER BY current.list_name
        """
    ).fetchall()
    updated: list[str] = []
    checked_urls = 0
    matched_files: set[int] = set()
    con.execute("BEGIN TRANSACTION")
    try:
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
            _urls_of_sources(con, source_ids)
            con.execute(
                """
                DELETE FROM url_matches
                WHERE detected_via = 'static' AND list_name IN (SELECT unnest($names))
                  AND url IN (SELECT url FROM match_urls)
                """,
                {"names": names},
            )
            _load_entries(con, "current.list_name IN (SELECT unnest($names))", {"names": names})
            _run_kernel(con)
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
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return _summary(con, snapshot, checked_urls, tuple(updated), len(matched_files))


def _summary(
    con: duckdb.DuckDBPyConnection, snapshot: str, checked: int, updated: tuple[str, ...], files: int
) -> MatchSummary:
    counts = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE action = 'drop_document'), count(*) FILTER (WHERE action = 'strip_link'),
               count(DISTINCT coalesce(nullif(link_url, ''), document_url))
        FROM ({removal_query()}) AS removals
        """,
        {"snapshot": snapshot},
    ).fetchone()
    allowed = con.execute(
        f"""
        SELECT count(DISTINCT url) FROM url_matches JOIN ({CURRENT_VERSIONS_SQL}) AS current USING (version_id)
        WHERE effect = 'allow' AND url IN (SELECT url FROM url_matches WHERE effect = 'block')
        """
    ).fetchone()[0]
    return MatchSummary(snapshot, checked, counts[2], allowed, counts[0], counts[1], updated, files)
