"""Payload decoding: chunked transfer coding, content encodings, and the charset of HTML."""

from __future__ import annotations

import gzip
import zlib

import brotli

from crawler.corpus.payload import codec_for_label, dechunk, decode_content, decode_html, decode_http_body
from crawler.corpus.synthetic import chunked

BODY = b"<html><body><a href='http://example.org/'>x</a></body></html>" * 20


def test_dechunk_undoes_chunked_coding():
    assert dechunk(chunked(BODY, 37)) == BODY


def test_dechunk_accepts_chunk_extensions():
    assert dechunk(b"5;name=value\r\nhello\r\n0\r\n\r\n") == b"hello"


def test_body_that_is_not_chunked_is_left_alone():
    assert dechunk(BODY) == BODY


def test_truncated_chunk_keeps_what_is_there():
    assert dechunk(b"a\r\nhello") == b"hello"


def test_gzip_deflate_and_brotli_are_decoded():
    assert decode_content(gzip.compress(BODY), "gzip") == BODY
    assert decode_content(zlib.compress(BODY), "deflate") == BODY
    raw_deflate = zlib.compressobj(wbits=-15)
    assert decode_content(raw_deflate.compress(BODY) + raw_deflate.flush(), "deflate") == BODY
    assert decode_content(brotli.compress(BODY), "br") == BODY


def test_stacked_encodings_are_undone_in_reverse_order():
    assert decode_content(brotli.compress(gzip.compress(BODY)), "gzip, br") == BODY


def test_body_labelled_gzip_but_plain_stays_plain():
    # Common Crawl stores decoded bodies under their original Content-Encoding header
    assert decode_content(BODY, "gzip") == BODY


def test_chunked_then_gzip_body():
    assert decode_http_body(chunked(gzip.compress(BODY), 50), "chunked", "gzip") == BODY


def test_http_charset_wins_over_meta():
    body = "<meta charset='utf-8'><p>caf\u00e9</p>".encode("cp1252")
    assert "caf\u00e9" in decode_html(body, "windows-1252")


def test_meta_charset_is_used_without_http_charset():
    body = "<html><head><meta http-equiv='Content-Type' content='text/html; charset=koi8-r'></head>\u0436".encode(
        "koi8-r"
    )
    assert decode_html(body, None).endswith("\u0436")


def test_byte_order_mark_wins():
    assert decode_html("\ufeffcaf\u00e9".encode("utf-8"), "iso-8859-1") == "caf\u00e9"
    assert decode_html("caf\u00e9".encode("utf-16"), None) == "caf\u00e9"


def test_unlabelled_utf8_is_recognized():
    assert decode_html("<p>\u65e5\u672c\u8a9e</p>".encode(), None) == "<p>\u65e5\u672c\u8a9e</p>"


def test_unlabelled_legacy_bytes_are_decoded_not_rejected():
    text = decode_html("<p>Gr\u00fc\u00dfe aus K\u00f6ln, sch\u00f6ne Gr\u00fc\u00dfe</p>".encode("cp1252"), None)
    assert text.startswith("<p>Gr") and "\ufffd" not in text


def test_whatwg_labels_map_to_the_browser_codec():
    assert codec_for_label("ISO-8859-1") == "cp1252"
    assert codec_for_label("us-ascii") == "cp1252"
    assert codec_for_label("gb2312") == "gb18030"
    assert codec_for_label("Shift_JIS") == "cp932"
    assert codec_for_label('"utf-8"') == "utf-8"
    assert codec_for_label("utf-16le") == "utf-8"  # a byte-oriented declaration of UTF-16 means UTF-8


def test_vendor_label_falls_back_to_its_base_encoding():
    assert codec_for_label("Big5_Solaris") == "big5hkscs"


def test_unknown_label_is_none():
    assert codec_for_label("x-no-such-charset") is None
    assert codec_for_label(None) is None
