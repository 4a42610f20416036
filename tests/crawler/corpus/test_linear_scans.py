"""Every scan over page content is linear: hostile inputs that made a regex or a loop quadratic.

Each input is large enough that the quadratic version would run for many minutes; the linear one takes well
under a second. The scan runs in a forked child with a generous deadline that only catches a hang, so a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

import pytest

from crawler.corpus.archive import ArchiveRecord, split_http_response
from crawler.corpus.documents import http_header_links
from crawler.corpus.html_links import css_urls, html_links, refresh_url, srcset_candidates, text_urls
from crawler.corpus.payload import dechunk, decode_html
from crawler.corpus.sniff import UnknownFormat, sniff

HANG_GUARD_SECONDS = 30  # each check takes well under a second when linear


def _run(check: Callable[[], None]) -> None:  # pragma: no cover - runs in the child
    check()


def finishes(check: Callable[[], None]) -> None:
    """Run `check` in a forked child; fail if it raises, or has not finished by the hang guard."""
    child = multiprocessing.get_context("fork").Process(target=_run, args=(check,))
    child.start()
    child.join(HANG_GUARD_SECONDS)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"still running after {HANG_GUARD_SECONDS} s: the scan is not linear")
    assert child.exitcode == 0, "the check failed in the child (see its output above)"


MB = 1 << 20


def test_css_url_without_closing_parenthesis_is_linear():
    # `url(` repeated with no `)`: every start used to scan to the end of the run (160 KB took 32 s)
    def check() -> None:
        css = "a{b:" + "url(" * (2 * MB // 4) + " } c{d:url(/after.png)}"
        assert css_urls(css) == ["/after.png"]

    finishes(check)


def test_css_url_in_a_style_block_of_a_page_is_linear():
    def check() -> None:
        page = "<style>" + "url(" * (2 * MB // 4) + "</style><a href='https://after.test/'>x</a>"
        assert [raw for _, raw, _ in html_links(page, "https://p.test/")] == ["https://after.test/"]

    finishes(check)


def test_css_import_without_closing_quote_is_linear():
    def check() -> None:
        css = '@import "x' + "@import '" * (MB // 9)
        assert css_urls(css + "'") != []

    finishes(check)


@pytest.mark.parametrize("tail", [".", ")", "?!", ")."])
def test_text_url_with_a_long_run_of_trailing_punctuation_is_linear(tail):
    def check() -> None:
        text = "see http://a.test/x" + tail * (4 * MB // len(tail)) + " and http://b.test/y."
        urls = list(text_urls(text))
        assert urls[-1] == "http://b.test/y"
        assert urls[0].startswith("http://a.test/x")

    finishes(check)


def test_text_url_trailing_punctuation_is_trimmed_as_before():
    assert list(text_urls("(see http://a.test/wiki/X_(y)).")) == ["http://a.test/wiki/X_(y)"]
    assert list(text_urls("http://a.test/p?q=1!?.")) == ["http://a.test/p?q=1"]
    assert list(text_urls("http://a.test/a)b))")) == ["http://a.test/a)b"]
    assert list(text_urls("http://a.test/(a))")) == ["http://a.test/(a)"]


def test_link_header_of_unclosed_angle_brackets_is_linear():
    def check() -> None:
        record = ArchiveRecord("response", None, "https://p.test/", 0, 0, None, None)
        record.http_headers = [("Link", "<" * MB + "<https://l.test/next>; rel=next")]
        assert [raw for _, raw, _ in http_header_links(record, "https://p.test/")] == ["https://l.test/next"]

    finishes(check)


def test_many_folded_http_header_lines_are_linear():
    def check() -> None:
        block = b"HTTP/1.1 200 OK\r\nX-Long: a\r\n" + b" x\r\n" * (4 * MB // 4) + b"Location: /l\r\n\r\nbody"
        status, headers, entity = split_http_response(block)
        assert status == 200 and entity == b"body"
        assert headers[0][0] == "X-Long" and len(headers[0][1]) == 1 + 2 * MB
        assert headers[1] == ("Location", "/l")

    finishes(check)


def test_sniffing_a_head_that_almost_looks_like_an_arc_header_is_linear(tmp_path):
    # the ARC header pattern backtracked over a long run of digits with no line end (64 KB took ~50 s)
    path = tmp_path / "digits"
    path.write_bytes(b"a b 12345678901234 " + b"1" * 70_000)

    def check() -> None:
        with pytest.raises(UnknownFormat):
            sniff(path)

    finishes(check)


def test_other_scans_over_page_content_are_linear():
    def check() -> None:
        assert refresh_url(" " * MB + "0" * MB + ";" + " " * MB + "url=" * MB) is not None
        assert srcset_candidates("a " + "(" * MB + ", b") == ["a"]
        assert srcset_candidates(("x " * MB) + ",") != []
        assert dechunk(b"1\r\n" * MB) != b""
        assert decode_html(b"<meta " * MB, None)
        assert decode_html(b"<meta charset=" * MB, None)

    finishes(check)


def test_a_deep_page_lexbor_must_parse_is_not_given_to_lexbor(monkeypatch):
    # lexbor's tree builder walks the stack of open elements for every start tag: 48,000 nested <div> (240 KB,
    # under the size lexbor is trusted with) took it 17 s, and a file of such records hours
    import crawler.corpus.html_links as module

    page = "\x00<a href=/first>f</a>" + "<div>" * 48_000 + "<a href=/deep>d</a>"
    assert len(page) <= module.LEXBOR_MAX_CHARS
    monkeypatch.setattr(module, "_lexbor_links", lambda *args: pytest.fail("lexbor parsed a page nested too deep"))
    notes: list[str] = []
    links = module.html_links(page, "https://p.test/", notes)
    assert [raw for _, raw, _ in links] == ["/first", "/deep"]
    assert len(notes) == 1 and "nests 48,0" in notes[0] and "lenient scan" in notes[0], notes


def test_a_shallow_small_page_lexbor_must_parse_still_goes_to_lexbor(monkeypatch):
    import crawler.corpus.html_links as module

    page = "\x00<a href=/first>f</a>" + "<div>" * 200 + "<a href=/deep>d</a>"
    called = []
    real = module._lexbor_links
    monkeypatch.setattr(module, "_lexbor_links", lambda *args: called.append(1) or real(*args))
    notes: list[str] = []
    assert [raw for _, raw, _ in module.html_links(page, "https://p.test/", notes)] == ["/first", "/deep"]
    assert called == [1] and notes == []


def test_long_charset_labels_are_not_kept_in_the_label_cache():
    # a Content-Type's charset can be megabytes long: the cache of labels kept up to 1,024 of them
    from crawler.corpus import payload

    payload._codec_of_label.cache_clear()
    for n in range(50):
        assert payload.codec_for_label(f"{n}" + "x" * MB) is None
    assert payload._codec_of_label.cache_info().currsize == 0
    assert payload.codec_for_label("UTF-8") == "utf-8"


def test_a_jsonl_line_longer_than_the_cap_is_a_bad_row_and_reading_goes_on(tmp_path):
    from crawler.corpus import tables
    from crawler.corpus.source_reader import SourceTask, read_source

    path = tmp_path / "long.jsonl"
    long_line = '{"url": "https://long.test/' + "a" * (tables.MAX_LINE_BYTES + 10) + '"}'
    path.write_text('{"url": "https://a.test/"}\n' + long_line + '\n{"url": "https://b.test/"}\n')
    result = read_source(SourceTask(1, "S", str(path), str(tmp_path / "staging")))
    assert (result.records, result.documents, result.bad_records) == (3, 2, 1)
    assert "line 2" in result.bad_record_errors[0] and "longer than" in result.bad_record_errors[0]
