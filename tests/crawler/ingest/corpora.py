"""Synthetic corpora for the ingest tests, and the tables an ingest leaves, for comparing runs."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from crawler.corpus.synthetic import response_record, warcinfo_record, write_warc

TABLES_COMPARED = {
    "sources": "source_id, snapshot, path, size, sha256, format, reader, status, records, documents, links, "
    "bad_records, error",
    "documents": "*",
    "links": "*",
    "urls": "*",
    "hosts": "*",
}


def make_corpus(folder: Path, files: int, pages: int, seed: int = 7) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for file_no in range(files):
        records = [warcinfo_record(f"part-{file_no}.warc.gz")]
        for page_no in range(pages):
            links = "".join(
                f"<a href='https://h{rng.randrange(5000)}.example.org/p/{rng.randrange(10**6)}'>l</a> "
                f"<img src='/img/{rng.randrange(1000)}.png'> filler text {'lorem ipsum ' * 20}"
                for _ in range(40)
            )
            body = f"<html><body>{links}</body></html>".encode()
            records.append(response_record(f"https://site{file_no}.test/page/{page_no}", body))
        path = folder / f"part-{file_no:02d}.warc.gz"
        write_warc(path, records, gzipped=True, level=1)
        paths.append(path)
    return paths


def table_contents(db_path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            table: sorted(con.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
            for table, columns in TABLES_COMPARED.items()
        }
    finally:
        con.close()


def make_overlapping_corpus(folder: Path, files: int) -> list[Path]:
    """Files whose URLs and hosts overlap their neighbours' and everyone's."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_no in range(files):
        shared = [
            "https://everyone.example.org/all",
            f"https://pairs.example.org/even/{file_no // 2}",
            f"https://pairs.example.org/odd/{(file_no + 1) // 2}",
            f"https://host{file_no // 2}.example.org/own/{file_no}",
        ]
        own = [f"https://f{file_no}.example.org/{n}" for n in range(30)]
        body = "".join(f"<a href='{url}'>x</a>" for url in shared + own).encode()
        path = folder / f"part-{file_no:02d}.warc.gz"
        write_warc(path, [response_record(f"https://site{file_no}.test/", body)], gzipped=True)
        paths.append(path)
    return paths
