"""Readers that stop before the end of a file, with or without raising: the fallback runs, the better reading
wins, and the file is recorded as what happened (done by the fallback, or partial)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb

from crawler.corpus.source_reader import SourceTask, read_source
from crawler.corpus.synthetic import gzip_member, response_record, warcinfo_record, write_warc
from crawler.ingest import ingest
from pipelines.store import read_staged

# The reproduction of issue 15, item 1: a WARC written with bare LF line endings
LF_WARC = (
    b"WARC/1.0\nWARC-Type: warcinfo\nContent-Length: 3\n\nabc\n\n"
    b"WARC/1.0\nWARC-Type: response\nWARC-Target-URI: http://a.test/\n"
    b"Content-Type: application/http; msgtype=response\nContent-Length: 73\n\n"
    b'HTTP/1.1 200 OK\nContent-Type: text/html\n\n<a href="http://b.test/x">x</a>\n\n\n'
)


def read(path: Path):
    result = read_source(SourceTask(1, "S", str(path), str(path.parent / "staging")))
    tables = {name: read_staged(file).to_pylist() for name, file in result.staged.items()}
    return result, tables


def test_a_warc_with_bare_lf_line_endings_is_read_whole_by_the_fallback(tmp_path):
    path = tmp_path / "lf.warc"
    path.write_bytes(LF_WARC)
    result, tables = read(path)
    assert (result.records, result.documents, result.status, result.reader) == (2, 1, "done", "warcio")
    assert [link["raw_url"] for link in tables["links"]] == ["http://b.test/x"]
    # the fast reader's early stop is said, not hidden
    assert any(message.startswith("warning: fastwarc stopped") for message in result.bad_record_errors)


def test_a_gzipped_warc_with_bare_lf_line_endings_is_read_whole(tmp_path):
    path = tmp_path / "lf.warc.gz"
    first, second = LF_WARC.split(b"\n\nWARC/1.0", 1)
    path.write_bytes(gzip_member(first + b"\n\n") + gzip_member(b"WARC/1.0" + second))
    result, _tables = read(path)
    assert (result.records, result.documents, result.status) == (2, 1, "done")


def test_the_reproduction_ingests_two_records_and_one_document(tmp_path, db_path):
    path = tmp_path / "lf.warc"
    path.write_bytes(LF_WARC)
    summary = ingest(db_path, "r", [path], workers=1, show_progress=False)
    assert (summary.records, summary.documents, summary.links) == (2, 1, 1)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert con.execute("SELECT status, reader, records, documents FROM sources").fetchall() == [
            ("done", "warcio", 2, 1)
        ]
    finally:
        con.close()


def test_a_good_warc_is_read_once_by_the_fast_reader(tmp_path):
    path = tmp_path / "good.warc.gz"
    write_warc(path, [warcinfo_record("good"), response_record("https://a.test/", b"<a href=/x>x</a>")], gzipped=True)
    result, _tables = read(path)
    assert (result.reader, result.status, result.records, result.bad_record_errors) == ("fastwarc", "done", 2, [])


def _truncated_gzip(data: bytes) -> bytes:
    whole = gzip.compress(data, mtime=0)
    return whole[: len(whole) * 2 // 3]


def test_a_truncated_csv_gz_keeps_its_readable_rows_and_is_partial(tmp_path):
    rows = [f"https://h{i}.test/page/{i:06d},caption {i}" for i in range(20_000)]
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(_truncated_gzip(("url,caption\n" + "\n".join(rows) + "\n").encode()))
    result, tables = read(path)
    assert result.status == "partial"
    assert "cut off" in result.error
    kept = [row["target_uri"] for row in tables["documents"]]
    assert len(kept) > 5_000
    assert kept == [row.split(",")[0] for row in rows[: len(kept)]]  # no half row at the cut


def test_a_truncated_jsonl_gz_keeps_its_readable_rows_and_is_partial(tmp_path):
    rows = [json.dumps({"url": f"https://h{i}.test/page/{i:06d}", "n": i}) for i in range(20_000)]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(_truncated_gzip(("\n".join(rows) + "\n").encode()))
    result, tables = read(path)
    assert result.status == "partial"
    assert result.bad_records == 0  # the cut line is not a bad row: the cut is the file's error
    kept = [row["target_uri"] for row in tables["documents"]]
    assert len(kept) > 5_000
    assert kept == [json.loads(row)["url"] for row in rows[: len(kept)]]


def test_a_record_with_no_content_length_is_read_with_a_warning(tmp_path):
    path = tmp_path / "nolength.warc"
    record = response_record("https://a.test/", b"<a href='https://b.test/'>b</a>")
    path.write_bytes(record.replace(b"\r\nContent-Length: ", b"\r\nX-Length: ", 1))
    result, _tables = read(path)
    assert result.records == 1 and result.warnings >= 1
    assert any("no Content-Length" in message for message in result.bad_record_errors)


def test_a_parquet_file_with_a_damaged_row_group_keeps_the_other_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "damaged.parquet"
    urls = [f"https://h{i}.test/p/{i:06d}" for i in range(200_000)]
    pq.write_table(pa.table({"url": urls}), path, row_group_size=50_000, compression="none")
    metadata = pq.ParquetFile(path).metadata
    third = metadata.row_group(2).column(0)
    start = third.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + 64] = bytes(64)  # the third row group's first page header
    path.write_bytes(bytes(data))
    result, tables = read(path)
    assert result.status == "partial"
    assert "row group 2" in result.error
    kept = [row["target_uri"] for row in tables["documents"]]
    assert kept == urls[:100_000] + urls[150_000:]
    assert [row["record_id"] for row in tables["documents"]][-1] == "199999"  # row numbers stay the file's


def _fastwarc_stopping_after_one_record(monkeypatch):
    """FastWARC as if it stopped quietly after the first record: no error, the rest of the file unread."""
    import itertools

    import fastwarc.warc

    real = fastwarc.warc.ArchiveIterator
    monkeypatch.setattr(fastwarc.warc, "ArchiveIterator", lambda *args, **kw: itertools.islice(real(*args, **kw), 1))


def test_a_fast_reader_that_stops_quietly_before_the_end_of_a_gzipped_file_falls_back(tmp_path, monkeypatch):
    _fastwarc_stopping_after_one_record(monkeypatch)
    path = tmp_path / "quiet.warc.gz"
    body = b"<a href=/x>x</a>" + b" " * 200_000  # more than a record's header could be
    write_warc(path, [warcinfo_record("q"), response_record("https://a.test/", body)], gzipped=True)
    result, _tables = read(path)
    assert (result.reader, result.records, result.documents, result.status) == ("warcio", 2, 1, "done")
    assert "before the end of the file" in result.bad_record_errors[0]


def test_a_fast_reader_that_stops_quietly_before_the_end_of_a_plain_file_falls_back(tmp_path, monkeypatch):
    _fastwarc_stopping_after_one_record(monkeypatch)
    path = tmp_path / "quiet.warc"
    body = b"<a href=/x>x</a>" + b" " * 200_000
    write_warc(path, [warcinfo_record("q"), response_record("https://a.test/", body)], gzipped=False)
    result, _tables = read(path)
    assert (result.reader, result.records, result.documents, result.status) == ("warcio", 2, 1, "done")
