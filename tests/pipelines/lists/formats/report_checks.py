"""What the format tests check on every report: its rows, its reasons, every line accounted for once."""

from __future__ import annotations

import gzip
from pathlib import Path

from pipelines.lists.formats import FormatReport

MULTI_ENTRY_FORMATS = {"hosts", "dnsmasq"}  # one line may name several hosts


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows(report: FormatReport) -> list[tuple]:
    """Entries as (line, kind, value), with exception / subdomains / file only when not the default."""
    out = []
    for entry in report.entries:
        row: tuple = (entry.line_no, entry.kind, entry.value)
        if entry.exception:
            row += ("exception",)
        if not entry.subdomains:
            row += ("exact",)
        if entry.file is not None:
            row += (entry.file,)
        out.append(row)
    return out


def reasons(items: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    return [(line_no, reason) for line_no, _, reason in items]


def physical_lines(path: Path) -> int:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def check_invariants(report: FormatReport, lines: int | None = None) -> None:
    """Every line accounted for once; line numbers in range and never in two categories."""
    if lines is not None:
        assert report.lines == lines
    assert report.accounted_lines() == report.lines
    files = {entry.file for entry in report.entries}
    if len(files) > 1:  # a UT1 folder: line numbers are per file, checked per file by the caller
        return
    entry_lines = [entry.line_no for entry in report.entries]
    rejected = [line_no for line_no, _, _ in report.rejected]
    unsupported = [line_no for line_no, _, _ in report.unsupported]
    if report.format not in MULTI_ENTRY_FORMATS:
        assert len(entry_lines) == len(set(entry_lines))
    assert len(rejected) == len(set(rejected)) and len(unsupported) == len(set(unsupported))
    assert not (set(entry_lines) & set(rejected)) and not (set(entry_lines) & set(unsupported))
    assert not (set(rejected) & set(unsupported))
    assert all(1 <= line_no <= report.lines for line_no in [*entry_lines, *rejected, *unsupported])
