"""What the format tests check on every report: its rows, its reasons, every line accounted for once."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

from pipelines.lists.formats import FormatReport, parse_list_file

MULTI_ENTRY_FORMATS = {"hosts", "dnsmasq"}  # one line may name several hosts


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def parse_text(folder: Path, name: str, content: str | bytes, list_format: str = "auto", **options) -> FormatReport:
    """Write the list file NAME into FOLDER and parse it."""
    return parse_list_file(write(folder, name, content), list_format, **options)


def list_text(lines: Sequence[tuple[str, str]]) -> str:
    """The list file a table of lines stands for: the first item of each row, one a line."""
    return "".join(f"{line}\n" for line, _ in lines)


def check_lines(folder: Path, name: str, list_format: str, lines: Sequence[tuple[str, str]], **options) -> FormatReport:
    """Parse a table of (line, what it comes to) as a list file and check that each line came out as its row says.

    What a line comes to: "comment", "blank", "rejected: <reason>", "unsupported: <reason>", or its entries as
    "[flag ...] <kind>: <value>[, <value> ...]", the flags ("exception", "exact") as `rows` shows them. Checks the
    entries, the comment and blank counts, the reasons and the invariants; returns the report for the rest.
    """
    report = parse_text(folder, name, list_text(lines), list_format, **options)
    expected_rows, counts, expected_reasons = [], {"comment": 0, "blank": 0}, {"rejected": [], "unsupported": []}
    for line_no, (_, outcome) in enumerate(lines, start=1):
        head, _, detail = outcome.partition(": ")
        if head in counts:
            counts[head] += 1
        elif head in expected_reasons:
            expected_reasons[head].append((line_no, detail))
        else:
            *flags, kind = head.split()
            expected_rows += [(line_no, kind, value, *flags) for value in detail.split(", ")]
    assert rows(report) == expected_rows
    assert (report.comments, report.blank) == (counts["comment"], counts["blank"])
    assert reasons(report.rejected) == expected_reasons["rejected"]
    assert reasons(report.unsupported) == expected_reasons["unsupported"]
    check_invariants(report, len(lines))
    return report


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
