"""Corpus readers: format sniffing, WARC/ARC/WAT records into documents and links, URL tables, reader fallback."""

from __future__ import annotations

import gc
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.corpus.archive import read_fastwarc, read_warcio, split_http_response
from crawler.corpus.documents import record_document
from crawler.corpus.sniff import UnknownFormat, sniff
from crawler.corpus.source_reader import SourceTask, read_source
from crawler.corpus.synthetic import (
    arc_file,
    record_id,
    request_record,
    response_record,
    warc_record,
    warcinfo_record,
    wat_record,
    write_warc,
)
from pipelines.store import read_staged

PAGE = b"<html><body><a href='/next'>n</a><img src='https://img.example.org/i.png'></body></html>"


def read(path: Path, **task_options) -> tuple:
    task = SourceTask(1, "S", str(path), str(path.parent / "staging"), **task_options)
    result = read_source(task)
    tables = {name: read_staged(file).to_pylist() for name, file in result.staged.items()}
    return result, tables


def small_warc(path: Path, gzipped: bool) -> Path:
    write_warc(
        path,
        [
            warcinfo_record(path.name),
            request_record("https://www.example.org/"),
            response_record("https://www.example.org/", PAGE),
            response_record(
                "https://www.example.org/moved",
                b"",
                status=301,
                headers=[
                    ("Location", "https://new.example.org/"),
                    ("Link", "<https://cdn.example.org/s.css>; rel=preload, <x.js>; rel=preload"),
                ],
            ),
        ],
        gzipped=gzipped,
    )
    return path


@pytest.mark.parametrize("gzipped", [True, False])
def test_warc_gzipped_or_not_gives_documents_and_links(tmp_path, gzipped):
    path = small_warc(tmp_path / ("a.warc.gz" if gzipped else "a.warc"), gzipped)
    result, tables = read(path)
    assert (result.status, result.reader, result.records, result.documents) == ("done", "fastwarc", 4, 2)
    assert result.format == ("warc.gz" if gzipped else "warc")
    links = sorted((row["kind"], row["url"]) for row in tables["links"])
    assert links == [
        ("a", "https://www.example.org/next"),
        ("img", "https://img.example.org/i.png"),
        ("link-header", "https://cdn.example.org/s.css"),
        ("link-header", "https://www.example.org/x.js"),
        ("location-header", "https://new.example.org/"),
    ]
    documents = tables["documents"]
    assert [row["record_no"] for row in documents] == [2, 3]
    assert documents[1]["http_status"] == 301
    assert documents[0]["record_id"] == record_id("response:https://www.example.org/")


def test_format_is_sniffed_from_bytes_not_name(tmp_path):
    misleading = small_warc(tmp_path / "looks-plain.warc", gzipped=True)
    assert sniff(misleading).name == "warc.gz"
    result, _ = read(misleading)
    assert result.documents == 2


def test_unknown_format_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.warc.gz"
    path.write_bytes(b"\x00\x01binary junk")
    with pytest.raises(UnknownFormat, match="not a WARC, ARC, WAT, Parquet, JSONL or CSV"):
        sniff(path)
    result, _ = read(path)
    assert result.status == "failed" and "not a WARC" in result.error


def test_empty_file_is_reported(tmp_path):
    path = tmp_path / "empty.warc"
    path.write_bytes(b"")
    result, _ = read(path)
    assert (result.status, result.error) == ("failed", "file is empty")


def test_arc_file_records_have_stable_ids(tmp_path):
    path = tmp_path / "old.arc.gz"
    write_warc(
        path,
        arc_file(
            [
                (
                    "http://old.example.org/",
                    "192.0.2.1",
                    "text/html",
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<a href='/a'>a</a>",
                ),
            ]
        ),
        gzipped=True,
    )
    first, tables = read(path)
    assert (first.format, first.reader, first.documents, first.links) == ("arc.gz", "warcio", 1, 1)
    second, tables_again = read(path)
    assert tables["documents"][0]["record_id"].startswith("<arc:")
    assert tables["documents"] == tables_again["documents"]
    assert tables["links"][0]["url"] == "http://old.example.org/a"


def test_wat_response_envelope_yields_its_links(tmp_path):
    original = record_id("response:https://wat.example.org/p")
    path = tmp_path / "x.warc.wat.gz"
    write_warc(
        path,
        [
            warcinfo_record("x.warc.wat.gz"),
            wat_record(
                "https://wat.example.org/p",
                original,
                links=[
                    {"path": "A@/href", "url": "rel/page"},
                    {"path": "IMG@/src", "url": "//i.example.org/a"},
                    {"path": "IMG@/srcset", "url": "s.png"},
                    {"path": "A@/href", "url": "mailto:x@example.org"},
                ],
                head_links=[{"path": "LINK@/href", "url": "/style.css"}],
                base="https://base.example.org/b/",
                location="https://elsewhere.example.org/",
            ),
        ],
        gzipped=True,
    )
    result, tables = read(path)
    assert result.documents == 1
    document = tables["documents"][0]
    assert (document["record_id"], document["url"], document["http_status"]) == (
        original,
        "https://wat.example.org/p",
        200,
    )
    assert sorted((row["kind"], row["url"]) for row in tables["links"]) == [
        ("a", "https://base.example.org/b/rel/page"),
        ("img", "https://i.example.org/a"),
        ("link", "https://base.example.org/style.css"),
        ("location-header", "https://elsewhere.example.org/"),
        ("srcset", "https://base.example.org/b/s.png"),
    ]


def test_wet_conversion_text_urls(tmp_path):
    path = tmp_path / "x.warc.wet.gz"
    write_warc(
        path,
        [
            warc_record(
                "conversion",
                b"Plain text with https://wet.example.org/a in it.",
                target_uri="https://doc.example.org/",
                content_type="text/plain",
            )
        ],
        gzipped=True,
    )
    _, tables = read(path)
    assert [(row["kind"], row["url"]) for row in tables["links"]] == [("text", "https://wet.example.org/a")]


def test_http_headers_ending_in_lf_only_are_parsed():
    status, headers, entity = split_http_response(b"HTTP/1.1 200 OK\nContent-Type: text/html\nX: y\n\n<html>")
    assert (status, headers, entity) == (200, [("Content-Type", "text/html"), ("X", "y")], b"<html>")


def test_status_line_without_reason_and_folded_headers():
    status, headers, _ = split_http_response(b"HTTP/1.0 302 \r\nLocation: /a\r\n  /b\r\n\r\n")
    assert status == 302 and headers == [("Location", "/a /b")]


def test_both_readers_see_the_same_records(tmp_path):
    path = small_warc(tmp_path / "a.warc.gz", gzipped=True)
    with open(path, "rb") as stream:
        fast = [
            (r.record_type, r.record_id, r.offset, r.length, r.http_status, r.payload) for r in read_fastwarc(stream)
        ]
    with open(path, "rb") as stream:
        slow = [(r.record_type, r.record_id, r.offset, r.length, r.http_status, r.payload) for r in read_warcio(stream)]
    assert fast == slow


def test_warcio_takes_over_when_fastwarc_stops(tmp_path):
    # a record written all in lower case ("warc/1.0", "warc-type"): FastWARC stops there, warcio reads on
    good = response_record("https://a.example.org/", PAGE)
    head, _, rest = good.partition(b"\r\n\r\n")
    odd = head.lower() + b"\r\n\r\n" + rest
    path = tmp_path / "mixed.warc"
    write_warc(path, [good, odd, response_record("https://b.example.org/", PAGE)], gzipped=False)
    result, _ = read(path)
    with open(path, "rb") as stream:
        warcio_records = sum(1 for _ in read_warcio(stream))
    assert result.reader == "warcio" and result.status == "done"
    assert result.records == warcio_records == 3


def test_truncated_file_keeps_records_before_the_damage(tmp_path):
    path = small_warc(tmp_path / "t.warc.gz", gzipped=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    result, tables = read(path)
    assert result.status == "partial"
    assert "record at offset" in result.error and "is truncated" in result.error
    assert result.documents == 2 and tables["documents"][0]["url"] == "https://www.example.org/"


def test_record_that_breaks_extraction_is_counted_and_skipped(tmp_path):
    bad_wat = warc_record(
        "metadata", b"{not json", target_uri="https://x.example.org/", content_type="application/json"
    )
    path = tmp_path / "bad.warc"
    write_warc(path, [bad_wat, response_record("https://ok.example.org/", PAGE)], gzipped=False)
    result, tables = read(path)
    assert (result.status, result.bad_records, result.documents) == ("done", 1, 1)
    assert "record 0" in result.bad_record_errors[0]


def test_single_member_gzip_arc_is_read_through_gunzip(tmp_path):
    records = arc_file(
        [
            (
                "http://old.example.org/",
                "192.0.2.1",
                "text/html",
                b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<a href='/a'>a</a>",
            )
        ]
    )
    path = tmp_path / "one-member.arc.gz"
    path.write_bytes(gzip.compress(b"".join(records), mtime=0))
    result, _ = read(path)
    assert (result.reader, result.status, result.documents, result.links) == ("warcio+gunzip", "done", 1, 1)


def test_parquet_table_rows_are_documents(tmp_path):
    path = tmp_path / "laion.parquet"
    pq.write_table(
        pa.table(
            {"URL": ["https://a.example.org/1.jpg", None, "https://b.example.org/2.jpg"], "TEXT": ["a", "b", "c"]}
        ),
        path,
    )
    result, tables = read(path)
    assert (result.records, result.documents, result.bad_records) == (3, 2, 1)
    assert [(row["record_id"], row["url"]) for row in tables["documents"]] == [
        ("0", "https://a.example.org/1.jpg"),
        ("2", "https://b.example.org/2.jpg"),
    ]


def test_csv_with_named_url_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,image,caption\n1,https://a.example.org/x.png,"a, b"\n2,https://b.example.org/y.png,c\n')
    result, tables = read(path, url_column="image")
    assert result.documents == 2 and tables["documents"][1]["url"] == "https://b.example.org/y.png"


def test_missing_url_column_is_a_clear_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,caption\n1,x\n")
    result, _ = read(path)
    assert result.status == "failed" and "no URL column found among id, caption" in result.error


def test_jsonl_bad_line_is_counted(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    lines = [json.dumps({"url": "https://a.example.org/"}), "{broken", json.dumps({"url": "https://b.example.org/"})]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    result, _ = read(path)
    assert (result.format, result.documents, result.bad_records) == ("jsonl.gz", 2, 1)
    assert result.bad_record_errors[0].startswith("line 2:")


def test_html_response_record_without_http_envelope(tmp_path):
    path = tmp_path / "r.warc"
    write_warc(
        path,
        [warc_record("resource", PAGE, target_uri="https://res.example.org/", content_type="text/html")],
        gzipped=False,
    )
    _, tables = read(path)
    assert len(tables["links"]) == 2


def test_record_document_ignores_requests():
    from crawler.corpus.archive import ArchiveRecord

    record = ArchiveRecord("request", "<id>", "https://example.org/", 0, 10, "application/http", None)
    assert record_document(record) is None


def test_warcio_remarks_are_kept_on_the_source_not_printed(tmp_path, capfd):
    # a Content-Length one byte short: FastWARC stops, warcio reads on and remarks on the record's end
    first = response_record("https://a.example.org/", PAGE)
    declared = int(first.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
    short = first.replace(b"Content-Length: %d" % declared, b"Content-Length: %d" % (declared - 1), 1)
    path = tmp_path / "short.warc"
    write_warc(
        path, [warcinfo_record("short.warc"), short, response_record("https://b.example.org/", PAGE)], gzipped=False
    )
    result, _ = read(path, readers=("warcio",))
    assert any("Content-Length is invalid" in note for note in result.bad_record_errors)
    assert result.bad_records == 0
    assert "WARNING" not in capfd.readouterr().err


SAMPLE_CORPUS = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"


@pytest.mark.parametrize("path", sorted(SAMPLE_CORPUS.iterdir()), ids=lambda p: p.name)
def test_reading_leaves_no_reference_cycles_and_restores_the_collector(path, tmp_path):
    """read_source keeps the cyclic collector off while it reads: free only if reading makes no garbage that
    only the collector can free (tests/crawler/corpus/test_realdata.py checks every third-party file too)."""
    gc.collect()
    result = read_source(SourceTask(1, "S", str(path), str(tmp_path / "staging")))
    assert result.status == "done" and result.records > 0
    assert gc.collect() == 0
    assert gc.isenabled()
    gc.disable()  # a caller's choice is left as it was
    try:
        read_source(SourceTask(2, "S", str(path), str(tmp_path / "staging2")))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_arc_records_get_the_same_record_ids_in_every_reading():
    """warcio gives converted ARC records random ids; the reader gives each the same one every time (a file's
    documents must not differ between two ingests, nor between engines), and no two records the same."""
    arc = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus" / "LEGACY-00000.arc.gz"
    readings = [[record.record_id for record in read_warcio(arc.open("rb"))] for _ in range(2)]
    ids = [record_id for record_id in readings[0] if record_id is not None]
    assert readings[0] == readings[1] and len(ids) >= 1 and len(set(ids)) == len(ids)
    assert all(record_id.startswith("<urn:uuid:") for record_id in ids)
