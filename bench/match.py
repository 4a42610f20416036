"""Benchmark of `linksweep match` against a datatrove-URLFilter-style baseline, in one run.

Generates once (cached under bench/match-data/) a store holding a synthetic snapshot: 10M links over more than
1M hosts (reserved names only: .test, .example, .invalid and example.org/.com/.net subdomains) with a skewed
popularity like outlinks in Common Crawl, and three lists: 1M domains, 100k URL entries, 100k SHA-256 hashed
expressions (about a fifth of each present in the corpus). Then, each in a fresh process:

- linksweep: load the lists, then `match_snapshot` on ONE DuckDB thread (every parent domain, URL prefixes at
  segment boundaries, hashed expressions), timed end to end from the store;
- baseline: what datatrove's URLFilter does per URL: tldextract, then exact registered-domain / FQDN / URL
  set lookups, over the same 10M link URLs held in a Python list (reading them is not timed).

Prints links/s of both, their ratio, peak RSS, and how many URLs each flags (the baseline's flagged URLs must
be a subset of linksweep's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "match-data"
GENERATOR_VERSION = 4  # 4: documents, links, urls and hosts as parts (schema 9)
SEED = 20261125
SNAPSHOT = "BENCH-MATCH"
TLDS = ("test", "example", "invalid", "example.org", "example.com", "example.net")
LINKS_PER_DOCUMENT = 50
SOURCES = 20


def _shape(args: argparse.Namespace) -> dict:
    return {
        "version": GENERATOR_VERSION,
        "links": args.links,
        "hosts": args.hosts,
        "domains": args.domains,
        "url_entries": args.url_entries,
        "hashes": args.hashes,
    }


# ---------------------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------------------

# host number k -> name; every fourth host has a www. subdomain in front of its registered name
_HOST_SQL = """('w' || ({k}) || '.' || list_extract({tlds}, (({k}) % {n_tlds})::INTEGER + 1))"""
_HOST_FULL_SQL = """(CASE WHEN ({k}) % 4 = 0 THEN 'www.' ELSE '' END || {bare})"""


def _host_sql(k: str) -> str:
    bare = _HOST_SQL.format(k=k, tlds="['" + "','".join(TLDS) + "']", n_tlds=len(TLDS))
    return _HOST_FULL_SQL.format(k=k, bare=bare)


def generate(folder: Path, shape: dict) -> None:
    import duckdb

    from pipelines.store import open_store, parts_root, publish_rows, publish_url_rows

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    db = folder / "corpus.duckdb"
    started = time.perf_counter()
    con = open_store(db)
    links, hosts = shape["links"], shape["hosts"]
    documents = links // LINKS_PER_DOCUMENT
    per_source = -(-documents // SOURCES)
    # a link's host: half uniform over all hosts (so most hosts appear), half skewed to popular ones;
    # its path: one of 12 per host, skewed to the first few (navigation links repeat across pages)
    con.execute(
        f"""
        CREATE TEMP TABLE gen AS
        SELECT i,
               CASE WHEN hash(i, 'pick') % 2 = 0 THEN hash(i, 'uniform') % {hosts}
                    ELSE (floor(pow((hash(i, 'skew') % 1000003) / 1000003.0, 3) * {hosts}))::UBIGINT END AS k,
               (floor(pow((hash(i, 'path') % 1000003) / 1000003.0, 3) * 12))::INTEGER AS j,
               hash(i, 'query') % 20 = 0 AS with_query
        FROM range({links}) AS r(i)
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE gen_links AS
        SELECT ((i // {LINKS_PER_DOCUMENT} // {per_source} + 1)::BIGINT << 32)
                   | ((i // {LINKS_PER_DOCUMENT}) % {per_source}) AS doc_id,
               'a' AS kind, url AS raw_url, url
        FROM (
            SELECT i, 'https://' || {_host_sql("k")} || '/' || chr(97 + j % 5) || '/page' || j || '.html'
                      || CASE WHEN with_query THEN '?id=' || (i % 7) ELSE '' END AS url
            FROM gen
        )
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE gen_documents AS
        SELECT ((d // {per_source} + 1)::BIGINT << 32) | (d % {per_source}) AS doc_id,
               (d // {per_source} + 1)::INTEGER AS source_id, '{SNAPSHOT}' AS snapshot,
               (d % {per_source})::INTEGER AS record_no, '<urn:uuid:bench-' || d || '>' AS record_id,
               'response' AS record_type, url AS target_uri, url, d * 20000 AS record_offset,
               20000 AS record_length, 200 AS http_status, 'text/html' AS content_type,
               {LINKS_PER_DOCUMENT} AS link_count
        FROM (SELECT d, 'https://' || {_host_sql(f"hash(d, {chr(39)}doc{chr(39)}) % {hosts}")} || '/doc' || d AS url
              FROM range({documents}) AS r(d))
        """
    )
    for source_id in range(1, SOURCES + 1):  # the views' parts: one folder per source
        low, high = source_id << 32, ((source_id + 1) << 32) - 1
        publish_rows(
            con,
            source_id,
            {
                "documents": f"SELECT * FROM gen_documents WHERE source_id = {source_id}",
                "links": f"SELECT * FROM gen_links WHERE doc_id BETWEEN {low} AND {high}",
            },
        )
    con.execute(f"INSERT INTO snapshots (name) VALUES ('{SNAPSHOT}')")
    con.execute(
        f"""
        INSERT INTO sources (source_id, snapshot, path, size, sha256, status, records, documents, links)
        SELECT s, '{SNAPSHOT}', 'bench-' || s || '.warc.gz', 0, 'bench' || s, 'done', 0, 0, 0
        FROM range(1, {SOURCES + 1}) AS r(s)
        """
    )
    publish_url_rows(
        con,
        parts_root(db),
        r"""
        SELECT url, regexp_extract(url, '^https://([^/]*)', 1) AS host, NULL AS registered_domain,
               NULL AS registered_domain_private, min(source) AS first_source
        FROM (SELECT url, (doc_id >> 32)::INTEGER AS source FROM gen_links
              UNION ALL SELECT url, source_id FROM gen_documents)
        GROUP BY url
        """,
    )
    con.execute("CHECKPOINT")
    counts = con.execute(
        "SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM urls), (SELECT count(*) FROM hosts)"
    ).fetchone()
    print(f"  corpus: {counts[0]:,} links, {counts[1]:,} unique URLs, {counts[2]:,} hosts", flush=True)

    rng = random.Random(SEED)
    present_hosts = [row[0] for row in con.execute("SELECT host FROM hosts USING SAMPLE 300000 ROWS").fetchall()]
    sample_urls = [row[0] for row in con.execute("SELECT url FROM urls USING SAMPLE 100000 ROWS").fetchall()]
    con.close()
    del duckdb

    # 1M domains: a fifth present (the host without www., so subdomains are covered), the rest absent
    present = [host.removeprefix("www.") for host in present_hosts[: shape["domains"] // 5]]
    absent = [f"absent{n}.{TLDS[n % len(TLDS)]}" for n in range(shape["domains"] - len(present))]
    domains = present + absent
    rng.shuffle(domains)
    (folder / "domains.txt").write_text("\n".join(domains) + "\n")
    # 100k URL entries without scheme: a fifth present (whole URLs or their section prefix), the rest absent
    url_entries = []
    for n, url in enumerate(sample_urls[: shape["url_entries"] // 5]):
        bare = url.split("://", 1)[1]
        url_entries.append(bare if n % 2 else bare.rsplit("/", 1)[0] + "/")
    url_entries += [f"w{n}.example.org/gone/{n}" for n in range(shape["url_entries"] - len(url_entries))]
    rng.shuffle(url_entries)
    (folder / "urls.txt").write_text("\n".join(url_entries) + "\n")
    # 100k hashed expressions: a fifth of an expression of a corpus URL, the rest of absent ones
    from pipelines.urls.canonical import canonicalize, url_expressions

    expressions = []
    for url in sample_urls[shape["url_entries"] // 5 : shape["url_entries"] // 5 + shape["hashes"] // 5]:
        canonical = canonicalize(url)  # an expression naming this URL's own host (a path prefix or the URL)
        expressions.append(rng.choice([e for e in url_expressions(canonical) if e.startswith(f"{canonical.host}/")]))
    expressions += [f"gone{n}.example.net/x/{n}" for n in range(shape["hashes"] - len(expressions))]
    (folder / "hashes.sha256").write_text("\n".join(hashlib.sha256(e.encode()).hexdigest() for e in expressions) + "\n")
    (folder / "shape.json").write_text(json.dumps(shape))
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)


def ensure_data(shape: dict, regenerate: bool) -> Path:
    folder = DATA_DIR
    marker = folder / "shape.json"
    if regenerate or not marker.exists() or json.loads(marker.read_text()) != shape:
        print(f"generating the benchmark store in {folder} ...", flush=True)
        generate(folder, shape)
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Measurements (each in a fresh process)
# ---------------------------------------------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_linksweep(folder: Path) -> dict:
    from pipelines.lists.entries import normalize_list
    from pipelines.lists.formats import parse_list_file
    from pipelines.lists.versions import ListSettings, add_list_version
    from pipelines.matching.driver import match_snapshot
    from pipelines.store import open_store

    work = folder / "work.duckdb"
    for leftover in folder.glob("work.duckdb*"):
        leftover.unlink()
    shutil.copy(folder / "corpus.duckdb", work)
    # the parts of documents and links go with the database (matching only reads them)
    (folder / "work.duckdb.parts").symlink_to(folder / "corpus.duckdb.parts", target_is_directory=True)
    con = open_store(work)
    con.execute("SET threads = 1")
    started = time.perf_counter()
    for name, path, list_format in (
        ("domains", folder / "domains.txt", "domains"),
        ("urls", folder / "urls.txt", "urls"),
        ("hashes", folder / "hashes.sha256", "sha256"),
    ):
        parsed = normalize_list(parse_list_file(path, list_format))
        add_list_version(con, name, parsed, ListSettings(list_format=list_format))
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    summary = match_snapshot(con, SNAPSHOT)
    seconds = time.perf_counter() - started
    links = con.execute("SELECT count(*) FROM links").fetchone()[0]
    flagged = con.execute("SELECT count(DISTINCT url) FROM url_matches WHERE effect = 'block'").fetchone()[0]
    by_kind = dict(con.execute("SELECT entry_kind, count(DISTINCT url) FROM url_matches GROUP BY 1").fetchall())
    flagged_urls_file = folder / "linksweep-flagged.txt"
    con.execute(
        f"COPY (SELECT DISTINCT url FROM url_matches WHERE effect = 'block') TO '{flagged_urls_file}' (HEADER false)"
    )
    con.close()
    for leftover in folder.glob("work.duckdb*"):
        leftover.unlink()
    return {
        "links": links,
        "seconds": seconds,
        "load_seconds": load_seconds,
        "flagged_urls": flagged,
        "by_kind": by_kind,
        "line": summary.line(),
        "rss_mb": _rss_mb(),
    }


def measure_baseline(folder: Path) -> dict:
    import duckdb
    import tldextract

    con = duckdb.connect(str(folder / "corpus.duckdb"), read_only=True)
    links = [row[0] for row in con.execute("SELECT url FROM links").fetchall()]
    con.close()
    domains = {line for line in (folder / "domains.txt").read_text().split("\n") if line}
    # datatrove compares the whole URL string: give it the URL entries as URLs
    blocked_urls = {f"https://{line}" for line in (folder / "urls.txt").read_text().split("\n") if line}
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    flagged: set[str] = set()
    started = time.perf_counter()
    for url in links:
        info = extract(url)
        if info.top_domain_under_public_suffix in domains or info.fqdn in domains or url in blocked_urls:
            flagged.add(url)
    seconds = time.perf_counter() - started
    ours = (
        set((folder / "linksweep-flagged.txt").read_text().split())
        if (folder / "linksweep-flagged.txt").exists()
        else None
    )
    return {
        "links": len(links),
        "seconds": seconds,
        "flagged_urls": len(flagged),
        "missed_by_linksweep": None if ours is None else len(flagged - ours),
        "rss_mb": _rss_mb(),
    }


def run_measurement(kind: str, folder: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", kind, "--folder", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=10_000_000)
    parser.add_argument("--hosts", type=int, default=1_300_000)
    parser.add_argument("--domains", type=int, default=1_000_000)
    parser.add_argument("--url-entries", type=int, default=100_000)
    parser.add_argument("--hashes", type=int, default=100_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        folder = Path(args.folder)
        result = measure_linksweep(folder) if args.measure == "linksweep" else measure_baseline(folder)
        print(json.dumps(result))
        return

    folder = ensure_data(_shape(args), args.regenerate)
    print("measuring linksweep match (1 DuckDB thread) ...", flush=True)
    ours = run_measurement("linksweep", folder)
    print(f"  {ours['line']}")
    base = None
    if not args.skip_baseline:
        print("measuring the datatrove-style baseline (tldextract per URL, set lookups) ...", flush=True)
        base = run_measurement("baseline", folder)
    print()
    print(f"{'':<34} {'links':>12} {'seconds':>9} {'links/s':>12} {'flagged URLs':>13} {'peak RSS MB':>12}")
    for label, r in (("linksweep match, 1 thread", ours), ("baseline (datatrove URLFilter)", base)):
        if r is None:
            continue
        print(
            f"{label:<34} {r['links']:>12,} {r['seconds']:>9.2f} {r['links'] / r['seconds']:>12,.0f} "
            f"{r['flagged_urls']:>13,} {r['rss_mb']:>12,.0f}"
        )
    print(f"list loading (parse, canonicalize, store): {ours['load_seconds']:.1f} s (not in the match time)")
    print(f"linksweep flagged URLs by entry kind: {ours['by_kind']}")
    if base is not None:
        ratio = base["seconds"] / ours["seconds"]
        print(f"throughput ratio linksweep / baseline: {ratio:.2f}  (goal >= 3)  {'MET' if ratio >= 3 else 'NOT MET'}")
        print(
            f"baseline-flagged URLs that linksweep missed: {base['missed_by_linksweep']}  (goal 0: linksweep matches "
            "strictly more)"
        )
    print(f"peak RSS of the linksweep process: {ours['rss_mb']:,.0f} MB (goal < 4096)")


if __name__ == "__main__":
    main()
