"""Query latency on the parts (views `documents` and `links` over Parquet) against the same rows in DuckDB
tables (the store before schema version 8), side by side.

A store is ingested from the bench corpus; a copy of it gets `documents` and `links` as tables holding the
same rows. Each analyst query then runs on both in interleaved rounds (A B, A B, ...) on read-only
connections; a query's figure is the median of its rounds, and the ratio views/tables is per query.

    python bench/views.py [--size-mb 200] [--files 4] [--rounds 9]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest_corpus import corpus_dir, corpus_paths, ensure_corpus  # noqa: E402

DATA = Path(__file__).resolve().parent / "views-data"
QUERIES = {
    "count links": "SELECT count(*) FROM links",
    "links of one document": "SELECT count(*) FROM links WHERE doc_id = (SELECT max(doc_id) FROM documents)",
    "top hosts linked": "SELECT u.host, count(*) AS n FROM links l JOIN urls u USING (url) GROUP BY 1 ORDER BY 2 DESC "
    "LIMIT 10",
    "documents linking a host": "SELECT count(DISTINCT d.doc_id) FROM links l JOIN documents d USING (doc_id) "
    "WHERE l.url LIKE 'https://www.%' AND d.http_status = 200",
    "link kinds per source": "SELECT d.source_id, l.kind, count(*) FROM links l JOIN documents d USING (doc_id) "
    "GROUP BY ALL ORDER BY ALL",
    "documents by content type": "SELECT content_type, count(*) FROM documents GROUP BY 1 ORDER BY 2 DESC",
}


def build(size_mb: int, files: int) -> tuple[Path, Path]:
    from crawler.ingest import ingest
    from pipelines.store import open_store

    ensure_corpus(size_mb, files, regenerate=False)
    paths = corpus_paths(corpus_dir(size_mb, files), files)
    if DATA.exists():
        shutil.rmtree(DATA)
    views = DATA / "views" / "store.duckdb"
    ingest(views, "S", paths, show_progress=False)
    tables = DATA / "tables" / "store.duckdb"
    tables.parent.mkdir(parents=True)
    con = open_store(views)
    con.execute(f"ATTACH '{tables}' AS t")
    for table in ("documents", "links"):
        con.execute(f"CREATE TABLE t.{table} AS SELECT * FROM {table}")
    for table in ("urls", "sources"):
        con.execute(f"CREATE TABLE t.{table} AS SELECT * FROM {table}")
    con.execute("DETACH t")
    con.close()
    return views, tables


def timed(db: Path, query: str) -> float:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        started = time.perf_counter()
        con.execute(query).fetchall()
        return time.perf_counter() - started
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    views, tables = build(args.size_mb, args.files)
    import duckdb

    con = duckdb.connect(str(views), read_only=True)
    links, documents = con.execute("SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM documents)").fetchone()
    con.close()
    print(f"{links:,} links, {documents:,} documents; medians of {args.rounds} interleaved rounds (ms)")
    print(f"  {'query':28} {'views':>8} {'tables':>8} {'ratio':>7}")
    for name, query in QUERIES.items():
        on_views, on_tables = [], []
        timed(views, query), timed(tables, query)  # warm-up: the OS page cache holds both
        for _ in range(args.rounds):
            on_views.append(timed(views, query))
            on_tables.append(timed(tables, query))
        v, t = statistics.median(on_views), statistics.median(on_tables)
        print(f"  {name:28} {v * 1000:8.1f} {t * 1000:8.1f} {v / t:7.2f}")


if __name__ == "__main__":
    main()
