"""The HTML report of a snapshot: one self-contained page (inline CSS and SVG, no script, nothing fetched), written
atomically. Every number a person reads carries `data-metric` and `data-value`, so a test can hold it against
the store; in redacted mode hosts and URLs appear only as SHA-256 hashes (as in redacted exports)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import duckdb

from pipelines.export import host_sha256, tool_version, url_sha256
from pipelines.reports.errors import ReportNotWritable
from pipelines.reports.html.data import ReportData, read_report_data
from pipelines.reports.html.svg import PALETTE, bar_chart, line_chart
from pipelines.verdicts import CHANGES, EXPORTED_STATES, STATES

URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:16px 24px;color:#222}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px;word-break:break-all}
.note{color:#666}svg text{font:12px system-ui,sans-serif;fill:#222}nav a{margin-right:12px}
"""


class _Page:
    """What the sections share: the data, and whether hosts and URLs are shown as hashes."""

    def __init__(self, data: ReportData, redact: bool) -> None:
        self.data = data
        self.redact = redact

    def url(self, url: str) -> str:
        return f"<code>{escape(url_sha256(url) or '-') if self.redact else escape(url)}</code>"

    def host(self, host: str, some_url: str | None = None) -> str:
        if not self.redact:
            return f"<code>{escape(host)}</code>"
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"<code>{escape(host_sha256(some_url or f'http://{bracketed}/') or '-')}</code>"

    def text(self, text: str | None) -> str:
        """Free text (paths, errors): in redacted mode every URL in it is replaced by its hash."""
        if text is None:
            return ""
        if self.redact:
            text = URL_IN_TEXT.sub(lambda found: f"sha256:{url_sha256(found.group()) or '-'}", text)
        return escape(text)

    def entry(self, entry_kind: str, entry: str) -> str:
        if not self.redact or entry_kind in ("hash", "content"):
            return f"<code>{escape(entry)}</code>"
        if entry_kind in ("domain", "ip"):
            return self.host(entry)
        return self.url(entry if "://" in entry else f"http://{entry}")


def _num(metric: str, value: int, tag: str = "td") -> str:
    css = ' class="num"' if tag == "td" else ""
    return f'<{tag}{css} data-metric="{escape(metric)}" data-value="{value}">{value:,}</{tag}>'


def _table(headings: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _chart_or_note(chart: str | None, note: str) -> str:
    return chart if chart is not None else f'<p class="note">{escape(note)}</p>'


def _list_label(list_name: str, category: str | None) -> str:
    return f"{list_name} ({category})" if category else list_name


def _overview(page: _Page) -> str:
    data = page.data
    files = data.files
    rows = [f"<tr><th>{escape(name)}</th>{_num(f'files.{name}', files.get(name, 0))}</tr>" for name in files]
    rows.append(f"<tr><th>flagged URLs</th>{_num('verdicts.flagged_urls', data.flagged_urls)}</tr>")
    rows.append(f"<tr><th>flagged hosts</th>{_num('hosts.flagged', data.flagged_hosts)}</tr>")
    return '<section id="overview"><h2>Overview</h2>' + _table(["what", "count"], rows) + "</section>"


def _verdicts(page: _Page) -> str:
    data = page.data
    states = data.verdict_states
    by_state = [(state, states[state]) for state in STATES]
    state_rows = [f"<tr><td>{escape(state)}</td>{_num(f'verdicts.state.{state}', n)}</tr>" for state, n in by_state]
    list_rows, list_bars = [], []
    for listed in data.lists:
        label = _list_label(listed.list_name, listed.category)
        key = f"verdicts.list.{listed.list_name}.{listed.category or ''}"
        cells = "".join(_num(f"{key}.{state}", listed.by_state.get(state, 0)) for state in STATES)
        list_rows.append(f"<tr><td>{escape(label)}</td>{cells}</tr>")
        list_bars.append((label, sum(listed.by_state.get(state, 0) for state in EXPORTED_STATES)))
    exported = " and ".join(EXPORTED_STATES)
    return (
        '<section id="verdicts"><h2>Verdicts</h2><h3>By state</h3>'
        + _chart_or_note(
            bar_chart("verdicts by state", by_state) if any(n for _, n in by_state) else None,
            "No verdict in this snapshot.",
        )
        + _table(["state", "verdicts"], state_rows)
        + f"<h3>By list and category</h3><p>Bars: verdicts in the exported states ({escape(exported)}).</p>"
        + _chart_or_note(
            bar_chart("flagged verdicts by list", list_bars, color=PALETTE[1])
            if any(n for _, n in list_bars)
            else None,
            "No list flagged anything in this snapshot.",
        )
        + _table(["list (category)", *STATES], list_rows)
        + "</section>"
    )


def _trend(page: _Page) -> str:
    trend = page.data.trend
    labels = [point.snapshot for point in trend]
    series = [("flagged", [point.flagged for point in trend]), ("needs_review", [p.needs_review for p in trend])]
    rows = [
        f"<tr><td>{escape(p.snapshot)}</td>{_num(f'trend.{p.snapshot}.flagged', p.flagged)}"
        f"{_num(f'trend.{p.snapshot}.needs_review', p.needs_review)}</tr>"
        for p in trend
    ]
    return (
        '<section id="trend"><h2>Trend across snapshots</h2><p>Verdicts per snapshot, in order of creation: flagged'
        " (exported states) and waiting for review.</p>"
        + line_chart("verdicts per snapshot", labels, series)
        + _table(["snapshot", "flagged", "needs_review"], rows)
        + "</section>"
    )


def _diff(page: _Page) -> str:
    data = page.data
    head = '<section id="diff"><h2>Changes since the previous snapshot</h2>'
    if data.diff is None:
        return head + '<p class="note">No snapshot was created before this one: nothing to compare.</p></section>'
    diff, totals = data.diff, data.diff.totals
    fields = [f"{change}_{kind}" for kind in ("urls", "hosts") for change in CHANGES]
    bars = [(field.replace("_", " "), getattr(totals, field)) for field in fields]
    total_row = "<tr><td>all lists</td>" + "".join(_num(f"diff.total.{f}", getattr(totals, f)) for f in fields)
    rows = [total_row + "</tr>"]
    for changed in diff.lists:
        key = f"diff.list.{changed.list_name}.{changed.category or ''}"
        cells = "".join(_num(f"{key}.{f}", getattr(changed.counts, f)) for f in fields)
        rows.append(f"<tr><td>{escape(_list_label(changed.list_name, changed.category))}</td>{cells}</tr>")
    samples = []
    for change in CHANGES:
        shown = diff.urls[change]
        if shown:
            items = "".join(f"<li>{page.url(url)}</li>" for url in shown)
            samples.append(f"<h3>{escape(change)} URLs (first {len(shown):,})</h3><ul>{items}</ul>")
    return (
        head + f"<p>From <b>{escape(diff.from_snapshot)}</b> to <b>{escape(diff.to_snapshot)}</b>: flagged URLs and"
        " hosts new, persisting and gone.</p>"
        + _chart_or_note(
            bar_chart("flagged URLs and hosts: new, persisting, gone", bars, color=PALETTE[2])
            if any(n for _, n in bars)
            else None,
            "Nothing flagged in either snapshot.",
        )
        + _table(["list (category)", *(f.replace("_", " ") for f in fields)], rows)
        + "".join(samples)
        + "</section>"
    )


def _hosts(page: _Page) -> str:
    hosts = page.data.hosts
    head = f'<section id="hosts"><h2>Flagged hosts (top {len(hosts)})</h2>'
    if not hosts:
        return head + '<p class="note">No flagged host.</p></section>'
    label_of = (lambda h: f"host #{h}") if page.redact else (lambda h: hosts[h - 1].host)
    bars = [(label_of(rank), flagged.urls) for rank, flagged in enumerate(hosts, 1)]
    rows = [
        f"<tr><td>{rank}</td><td>{page.host(flagged.host, flagged.some_url)}</td>"
        f"{_num(f'hosts.rank.{rank}', flagged.urls)}<td>{escape(', '.join(flagged.lists))}</td></tr>"
        for rank, flagged in enumerate(hosts, 1)
    ]
    hashed = "<p>Hosts are shown as SHA-256 hashes of their host expression.</p>" if page.redact else ""
    return (
        head
        + hashed
        + bar_chart("flagged URLs per host", bars, color=PALETTE[3])
        + _table(["#", "host", "flagged URLs", "lists"], rows)
        + "</section>"
    )


def _crawl(page: _Page) -> str:
    data = page.data
    head = '<section id="crawl"><h2>Crawl outcomes and error classes</h2><p>Over every crawl of the store.</p>'
    if not data.crawl_outcomes:
        return head + '<p class="note">No crawl has run on this store.</p></section>'
    outcome_rows = [f"<tr><td>{escape(o)}</td>{_num(f'crawl.outcome.{o}', n)}</tr>" for o, n in data.crawl_outcomes]
    error_rows = [f"<tr><td>{escape(c)}</td>{_num(f'crawl.error.{c}', n)}</tr>" for c, n in data.error_classes]
    errors = (
        bar_chart("crawl error classes", data.error_classes, color=PALETTE[1])
        + _table(["error class", "links"], error_rows)
        if data.error_classes
        else '<p class="note">No crawl error.</p>'
    )
    return (
        head
        + bar_chart("crawl outcomes", data.crawl_outcomes, color=PALETTE[5])
        + _table(["outcome", "links"], outcome_rows)
        + errors
        + "</section>"
    )


def _review(page: _Page) -> str:
    data = page.data
    waiting = data.verdict_states.get("needs_review", 0)
    head = (
        '<section id="review"><h2>Review queue</h2><p>'
        + _num("review.needs_review", waiting, "b")
        + " verdicts wait for review.</p>"
    )
    if not data.waiting:
        return head + "</section>"
    bars = [(f"{w.list_name}: #{rank}" if page.redact else f"{w.list_name}: {w.entry}", w.verdicts)
            for rank, w in enumerate(data.waiting, 1)]  # fmt: skip
    rows = [
        f"<tr><td>{rank}</td><td>{escape(w.list_name)}</td><td>{escape(w.entry_kind)}</td>"
        f"<td>{page.entry(w.entry_kind, w.entry)}</td>{_num(f'review.waiting.{rank}', w.verdicts)}</tr>"
        for rank, w in enumerate(data.waiting, 1)
    ]
    return (
        head
        + bar_chart("verdicts waiting, by list entry", bars, color=PALETTE[4])
        + _table(["#", "list", "kind", "entry", "verdicts"], rows)
        + "</section>"
    )


def _failed_files(page: _Page) -> str:
    failed = page.data.failed_files
    head = f'<section id="files"><h2>Failed files</h2><p>{_num("files.failed_or_partial", len(failed), "b")} files'
    head += " failed or stopped early.</p>"
    rows = [
        f"<tr><td>{page.text(s.path)}</td><td>{escape(s.status)}</td><td>{page.text(s.error)}</td></tr>" for s in failed
    ]
    return head + (_table(["file", "status", "error"], rows) if rows else "") + "</section>"


def _run(page: _Page) -> str:
    run = page.data.run
    head = '<section id="run"><h2>Run timings</h2>'
    if run is None:
        return head + '<p class="note">No run of linksweep run is recorded for this snapshot.</p></section>'
    timed = [(stage.stage, stage.seconds or 0.0) for stage in run.stages]
    rows = [
        f"<tr><td>{escape(s.stage)}</td><td>{escape(s.status)}</td>"
        f'<td class="num">{"-" if s.seconds is None else f"{s.seconds:,.2f}"}</td></tr>'
        for s in run.stages
    ]
    exit_code = "-" if run.exit_code is None else str(run.exit_code)
    summary = f"<p>Run {run.run_id}, started {escape(run.started_at)}: {escape(run.status)}, exit {exit_code}.</p>"
    chart = bar_chart("seconds per stage", timed, color=PALETTE[6]) if any(s for _, s in timed) else None
    return (
        head
        + summary
        + _chart_or_note(chart, "No stage has a timing yet.")
        + _table(["stage", "status", "seconds"], rows)
        + "</section>"
    )


SECTIONS = (_overview, _verdicts, _trend, _diff, _hosts, _crawl, _review, _failed_files, _run)


def render_html(data: ReportData, *, redact: bool = False, generated_at: datetime | None = None) -> str:
    """The page, as text: sections in order, each a heading, its plots and its numbers."""
    page = _Page(data, redact)
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    title = f"linksweep report: {data.snapshot}"
    nav = "".join(
        f'<a href="#{anchor}">{escape(name)}</a>'
        for anchor, name in (("overview", "overview"), ("verdicts", "verdicts"), ("trend", "trend"),
                             ("diff", "diff"), ("hosts", "hosts"), ("crawl", "crawl"), ("review", "review"),
                             ("files", "failed files"), ("run", "run"))
    )  # fmt: skip
    redacted = " Redacted: hosts and URLs appear only as SHA-256 hashes." if redact else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src 'none'\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="note">Written {escape(when)} by linksweep {escape(tool_version())}.'
        f" The page holds no fetched content and loads nothing.{redacted}</p><nav>{nav}</nav>"
        + "".join(section(page) for section in SECTIONS)
        + "</body></html>\n"
    )


def write_html_report(
    con: duckdb.DuckDBPyConnection, snapshot: str, out: Path, *, redact: bool = False, previous: str | None = None
) -> Path:
    """Write the report of `snapshot` to `out` (one file, written beside and renamed into place) and return its
    path. `previous`: the snapshot to diff against (default: the one created before). Raises UnknownSnapshot for
    an unknown snapshot and ReportNotWritable when `out` cannot be written."""
    html_text = render_html(read_report_data(con, snapshot, previous), redact=redact)
    out = Path(out)
    temporary = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out.parent, prefix=f".{out.name}.",
                                         suffix=".tmp", delete=False) as stream:  # fmt: skip
            temporary = Path(stream.name)
            stream.write(html_text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, out)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise ReportNotWritable(f"cannot write the HTML report {out}: {error.strerror or error}") from error
    return out
