"""A snapshot made of one synthetic page, ingested into a fresh store: what the crawl tests start from."""

from __future__ import annotations

from pathlib import Path

from crawler.corpus.synthetic import response_record, write_warc
from crawler.ingest import ingest

PAGE_URL = "https://page.example.org/"


def ingest_page(folder: Path, page: bytes, snapshot: str = "S") -> Path:
    """Write `page` (HTML served at PAGE_URL) as a one-record WARC, ingest it as `snapshot`; the store's path."""
    corpus = folder / "c.warc.gz"
    write_warc(corpus, [response_record(PAGE_URL, page)], gzipped=True)
    db = folder / "db.duckdb"
    ingest(db, snapshot, [corpus], workers=1, show_progress=False)
    return db
