"""Content codings are decoded in bounded pieces, stopping at the cap; a record cut at a cap says so."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli
import pytest

from crawler.corpus import payload
from crawler.corpus.payload import MAX_DECODED_BYTES, decode_content, decode_http_body
from crawler.corpus.source_reader import SourceTask, read_source
from crawler.corpus.synthetic import chunked, response_record, warcinfo_record, write_warc
from pipelines.store import read_staged

MiB = 1 << 20
LINK = b"<html><body><a href='https://first.test/'>first</a>"


def brotli_of_spaces(size: int, head: bytes = b"") -> bytes:
    compressor = brotli.Compressor(quality=1)
    parts = [compressor.process(head)]
    spaces = b" " * (16 * MiB)  # spaces: NUL would send the page to lexbor, with a note of its own
    for _ in range(size // len(spaces)):
        parts.append(compressor.process(spaces))
    return b"".join([*parts, compressor.finish()])


def gzip_of_spaces(size: int, head: bytes = b"") -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(head)]
    spaces = b" " * (16 * MiB)  # spaces: NUL would send the page to lexbor, with a note of its own
    for _ in range(size // len(spaces)):
        parts.append(compressor.compress(spaces))
    return b"".join([*parts, compressor.flush()])


def peak_of(function, *args) -> tuple[object, int]:
    tracemalloc.start()
    try:
        value = function(*args)
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [
        ("br", lambda: brotli_of_spaces(256 * MiB, LINK)),
        ("gzip", lambda: gzip_of_spaces(256 * MiB, LINK)),
        ("br, gzip", lambda: gzip.compress(brotli_of_spaces(256 * MiB, LINK), 1)),
        ("gzip, br", lambda: brotli.compress(gzip_of_spaces(256 * MiB, LINK), quality=1)),
    ],
)
def test_a_bomb_is_decoded_up_to_the_cap_in_bounded_memory_with_a_note(encoding, bomb):
    body = bomb()
    notes: list[str] = []
    decoded, peak = peak_of(decode_content, body, encoding, notes)
    assert decoded.startswith(LINK)
    assert len(decoded) == MAX_DECODED_BYTES
    # the body decoded by the outer coding, the pieces of the inner one and their join: never the whole bomb
    assert peak < 3 * MAX_DECODED_BYTES + 4 * payload.DECODE_CHUNK_BYTES
    assert notes == [f"decoded body cut at the cap of {MAX_DECODED_BYTES:,} bytes: what follows is not read"]


def test_a_body_within_the_cap_is_decoded_whole_without_a_note():
    body = b"<p>" + bytes(MAX_DECODED_BYTES - 10) + b"</p>"
    for encoding, encoded in [
        ("br", brotli.compress(body, quality=1)),
        ("gzip", gzip.compress(body, 1)),
        ("deflate", zlib.compress(body, 1)),
    ]:
        notes: list[str] = []
        assert decode_content(encoded, encoding, notes) == body
        assert notes == []


def test_a_truncated_brotli_body_gives_what_decodes():
    body = b"".join(b"<a href='https://a%d.test/'>a</a>" % i for i in range(5000))
    encoded = brotli.compress(body)
    decoded = decode_http_body(encoded[: len(encoded) // 2], None, "br")
    assert body.startswith(decoded) and len(decoded) > 0


def test_a_chunked_brotli_body_still_decodes():
    body = b"<a href='https://a.test/'>a</a>" * 100
    assert decode_http_body(chunked(brotli.compress(body), 50), "chunked", "br") == body


def read(path):
    result = read_source(SourceTask(1, "S", str(path), str(path.parent / "staging")))
    tables = {name: read_staged(file).to_pylist() for name, file in result.staged.items()}
    return result, tables


def test_a_record_whose_decoded_body_passes_the_cap_keeps_its_links_and_a_counted_warning(tmp_path):
    bomb = brotli_of_spaces(64 * MiB, LINK)
    path = tmp_path / "bomb.warc.gz"
    write_warc(
        path,
        [
            warcinfo_record("bomb"),
            response_record("https://bomb.test/", bomb, headers=[("Content-Encoding", "br")]),
            response_record("https://after.test/", b"<a href='https://second.test/'>s</a>"),
        ],
        gzipped=True,
    )
    result, tables = read(path)
    assert result.status == "done"
    assert result.bad_records == 0
    assert result.warnings == 1
    [warning] = result.bad_record_errors
    assert warning.startswith("warning: record 1 at offset ")
    assert f"cut at the cap of {MAX_DECODED_BYTES:,} bytes" in warning
    assert sorted(link["raw_url"] for link in tables["links"]) == ["https://first.test/", "https://second.test/"]


def test_a_link_past_the_cap_is_not_lost_without_a_trace(tmp_path):
    page = LINK + b" " * MAX_DECODED_BYTES + b"<a href='https://hidden.test/'>h</a>"
    path = tmp_path / "padded.warc"
    write_warc(
        path,
        [response_record("https://pad.test/", gzip.compress(page, 1), headers=[("Content-Encoding", "gzip")])],
        gzipped=False,
    )
    result, tables = read(path)
    assert [link["raw_url"] for link in tables["links"]] == ["https://first.test/"]
    assert result.warnings == 1 and "cut at the cap" in result.bad_record_errors[0]


def test_a_block_past_the_read_cap_leaves_a_counted_warning(tmp_path):
    from crawler.corpus.archive import MAX_PAYLOAD_BYTES

    page = LINK + b" " * MAX_PAYLOAD_BYTES
    path = tmp_path / "big.warc"
    write_warc(path, [response_record("https://big.test/", page)], gzipped=False)
    result, tables = read(path)
    assert [link["raw_url"] for link in tables["links"]] == ["https://first.test/"]
    assert result.warnings == 1
    assert f"cap of {MAX_PAYLOAD_BYTES:,} bytes" in result.bad_record_errors[0]
    assert result.bad_record_errors[0].startswith("warning: record 0")


def test_a_large_page_of_nul_is_scanned_without_growing_threefold():
    # NUL became U+FFFD for the lenient scan: a page of 8M NUL became 16 MB of text and 24 MB of UTF-8 (a
    # brotli bomb of zeros peaked at 483 MB); NUL is now dropped, as the tree builder drops it in text
    from crawler.corpus.html_links import html_links

    page = "<a href='https://first.test/'>f</a>" + "\x00" * (8 * MiB) + "<a href='https://last.test/'>l</a>"
    notes: list[str] = []
    links, peak = peak_of(html_links, page, "https://p.test/", notes)
    assert [raw for _, raw, _ in links] == ["https://first.test/", "https://last.test/"]
    assert peak < len(page)
    assert len(notes) == 1 and "NUL" in notes[0]


def test_a_page_of_more_links_than_the_cap_keeps_the_first_ones_and_says_so():
    # 235 bytes of brotli made 3,050,402 links in one record, and an ingest of it peaked at 1.3 GB
    from crawler.corpus import html_links as module

    page = "<a href=/a>" * (module.MAX_LINKS_PER_PAGE + 10) + "<div style='background:url(/css.png)'>x</div>"
    for html in (page, "\x00" + page):  # the compiled scanner's strict pass, and its lenient one
        notes: list[str] = []
        links = module.html_links(html, "https://p.test/", notes)
        assert len(links) == module.MAX_LINKS_PER_PAGE
        assert notes[-1] == f"11 links past the cap of {module.MAX_LINKS_PER_PAGE:,} links a page are not kept"


def test_a_record_of_more_links_than_the_cap_leaves_a_counted_warning(tmp_path):
    from crawler.corpus.html_links import MAX_LINKS_PER_PAGE

    body = brotli.compress(b"<a href=/a>" * (MAX_LINKS_PER_PAGE + 1), quality=5)
    path = tmp_path / "links.warc.gz"
    write_warc(path, [response_record("https://l.test/", body, headers=[("Content-Encoding", "br")])], gzipped=True)
    result, _tables = read(path)
    assert (result.links, result.warnings, result.bad_records) == (MAX_LINKS_PER_PAGE, 1, 0)
    assert result.bad_record_errors[0].startswith("warning: record 0 at offset 0: 1 links past the cap")


def test_a_wat_record_of_more_links_than_the_cap_keeps_the_first_ones_and_counts_the_rest(tmp_path):
    from crawler.corpus.html_links import MAX_LINKS_PER_PAGE
    from crawler.corpus.synthetic import wat_record

    links = [{"path": "A@/href", "url": f"/a{i}"} for i in range(MAX_LINKS_PER_PAGE + 5)]
    links.insert(10, {"path": "A@/href", "url": "javascript:void(0)"})  # no link, not counted
    path = tmp_path / "links.warc.wat.gz"
    write_warc(path, [wat_record("https://w.test/", "<urn:uuid:1>", links)], gzipped=True)
    result, tables = read(path)
    assert (result.links, result.warnings) == (MAX_LINKS_PER_PAGE, 1)
    assert result.bad_record_errors[0].endswith(
        f"5 links past the cap of {MAX_LINKS_PER_PAGE:,} links a page are not kept"
    )
    assert tables["links"][-1]["raw_url"] == f"/a{MAX_LINKS_PER_PAGE - 1}"
