"""The compiled link scanner against lexbor on the pages of the third-party archives and of the ingest
benchmark's synthetic corpus: see test_fast_links.py."""

from __future__ import annotations

import gzip
import importlib.util
import random
from collections import Counter
from pathlib import Path

import pytest

from crawler.corpus.archive import read_fastwarc, read_warcio
from crawler.corpus.documents import charset_of, looks_like_html, mime_type
from crawler.corpus.html_links import SCAN_SOUP, _lexbor_links, fast_path_fallback
from crawler.corpus.payload import decode_html, decode_http_body
from pipelines.urls import normalize
from tests.crawler.corpus.link_parity import element_links, same_links

_fastlinks = pytest.importorskip("crawler.corpus._fastlinks", reason="the C extension is not built")

ROOT = Path(__file__).resolve().parents[3]
REALDATA = ROOT.parent / "shared" / "realdata"


# ---------------------------------------------------------------------------------------------------------------
# real and synthetic pages


def _real_pages() -> list[tuple[str, str | None, str]]:
    """(file, document URL, decoded HTML) of every HTML response the archive readers get from the files."""
    pages, seen = [], set()
    readers = ((read_fastwarc, open), (read_warcio, open), (read_warcio, gzip.open))
    for path in sorted(p for folder in ("warc", "commoncrawl") for p in (REALDATA / folder).rglob("*") if p.is_file()):
        for read, opener in readers:
            try:
                with opener(path, "rb") as stream:
                    for record in read(stream):
                        if record.record_type not in ("response", "resource", "conversion"):
                            continue
                        if record.http_headers or record.http_status is not None:
                            content_type = record.http_header("Content-Type")
                            body = decode_http_body(
                                record.payload or b"",
                                record.http_header("Transfer-Encoding"),
                                record.http_header("Content-Encoding"),
                            )
                        else:
                            content_type, body = record.warc_content_type, record.payload or b""
                        if not body or not looks_like_html(mime_type(content_type), body):
                            continue
                        url = normalize(record.target_uri) if record.target_uri else None
                        html = decode_html(body, charset_of(content_type))
                        if (url, html) not in seen:
                            seen.add((url, html))
                            pages.append((str(path.relative_to(REALDATA)), url, html))
            except Exception:  # noqa: BLE001 - broken files on purpose: the next reader, or the next file
                continue
    return pages


def test_real_archives_page_by_page(realdata, capsys):
    pages = _real_pages()
    assert len(pages) > 100
    fallbacks = Counter()
    for name, url, html in pages:
        if same_links(html, url) is None:
            fallbacks[f"{name}: {fast_path_fallback(html)}"] += 1
        # were the page hostile, the tokenizer alone would still find every element link lexbor finds
        soup = _fastlinks.links(html, url, SCAN_SOUP)
        assert element_links(_lexbor_links(html, url)) <= element_links(soup), name
    with capsys.disabled():
        print(f"\n_fastlinks on {len(pages)} real pages: {sum(fallbacks.values())} left to lexbor {dict(fallbacks)}")
    assert sum(fallbacks.values()) <= len(pages) // 20


def _page_maker():
    spec = importlib.util.spec_from_file_location("bench_ingest_corpus", ROOT / "bench" / "ingest_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PageMaker


def test_benchmark_pages_are_all_taken_and_agree():
    maker = _page_maker()(random.Random(20260115))
    for number in range(300):
        url = f"https://www.h{number}.example.org/dir/page-{number}.html"
        body, _ = maker.html(url)
        assert same_links(decode_html(body, "utf-8"), url) is not None
