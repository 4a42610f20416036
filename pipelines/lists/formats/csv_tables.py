"""The CSV formats: `urlhaus-csv` (the URLhaus dump, its `url` column) and `csv` (any CSV with a header row, the
URL or domain of one column, or host + path), each record on one line."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, ListFormatError, RawEntry

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample

CSV_AUTO_COLUMNS = ("url", "uri", "link", "domain", "host", "hostname")
URLHAUS_MARKER_COLUMNS = frozenset({"dateadded", "url_status", "threat"})


def _csv_header_fields(text: str, delimiter: str = ",") -> list[str]:
    try:
        row = next(csv.reader([text], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return []
    return [name.strip() for name in row]


class _RecordSpansLines(Exception):
    """Raised into the csv reader when a record would continue on the next line."""


class _OneLineFeed:
    """Hands the data lines of a batch to a csv reader so that no record runs over several lines.

    Blank lines and `#` lines are counted on the way; `line_no` is the line of the current record, `index` its
    index in the batch.
    """

    def __init__(self, lines: list[str], report: FormatReport, start: int) -> None:
        self.lines, self.report, self.next = lines, report, start
        self.index = 0
        self.line_no = 0
        self.taken = False  # a line was already handed out for the current record

    def __iter__(self) -> _OneLineFeed:
        return self

    def __next__(self) -> str:
        if self.taken:
            raise _RecordSpansLines
        lines, report = self.lines, self.report
        while self.next < len(lines):
            line = lines[self.next]
            self.next += 1
            stripped = line.strip()
            if not stripped:
                report.blank += 1
            elif stripped[0] == "#":
                report.comments += 1
            elif "\ufffd" in line:
                report.rejected.append((report.file_lines + self.next, line, "undecodable bytes (not UTF-8)"))
            else:
                self.taken = True
                self.index, self.line_no = self.next - 1, report.file_lines + self.next
                return line
        raise StopIteration


def _csv_rows(
    lines: list[str], report: FormatReport, start: int, delimiter: str
) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, line, fields) of the data rows of a batch from index `start`; `#` lines are comments.

    Each record must fit on its line: a quoted field left open is rejected with its line, and reading goes on.
    """
    feed = _OneLineFeed(lines, report, start)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        feed.taken = False
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RecordSpansLines:
            report.rejected.append((feed.line_no, lines[feed.index], "quoted CSV field left open"))
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            continue
        except csv.Error as error:
            report.rejected.append((feed.line_no, lines[feed.index], f"malformed CSV ({error})"))
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            continue
        yield feed.line_no, lines[feed.index], row


class _CsvParser:
    """A CSV file read batch by batch: blank and `#` lines before the header are counted (the last `#` line
    kept), the header (counted as a comment line) decides the columns, and `row` reads each data row."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.header: list[str] | None = None
        self.delimiter = ","
        self.last_comment: str | None = None

    def __call__(self, lines: list[str], report: FormatReport) -> None:
        start = 0
        if self.header is None:
            while start < len(lines):
                stripped = lines[start].strip()
                if not stripped:
                    report.blank += 1
                elif stripped[0] == "#":
                    report.comments += 1
                    self.last_comment = stripped.lstrip("#").strip()
                else:
                    break
                start += 1
            if start == len(lines):
                return
            start = self.start(lines[start], start, report)
        for line_no, line, row in _csv_rows(lines, report, start, self.delimiter):
            self.row(line_no, line, row, report)

    def finish(self, report: FormatReport) -> None:
        if self.header is None:
            self.start(None, 0, report)

    def start(self, first_line: str | None, index: int, report: FormatReport) -> int:
        """Take the header from the first data line (None at the end of a file without one); the index of the
        first data row."""
        raise NotImplementedError

    def row(self, line_no: int, line: str, row: list[str], report: FormatReport) -> None:
        raise NotImplementedError


class _UrlhausCsv(_CsvParser):
    """The URLhaus CSV dump: header in the last `#` line or a plain first row; the `url` column of each row."""

    def start(self, first_line: str | None, index: int, report: FormatReport) -> int:
        header = _csv_header_fields(first_line) if first_line is not None else []
        if "url" in (name.lower() for name in header):
            report.comments += 1  # the header row
            index += 1
        else:
            header = _csv_header_fields(self.last_comment or "")
            if "url" not in (name.lower() for name in header):
                raise ListFormatError(f"{self.path}: no CSV header naming a 'url' column (URLhaus format)")
        self.header = header
        self.url_index = [name.lower() for name in header].index("url")
        return index

    def row(self, line_no: int, line: str, row: list[str], report: FormatReport) -> None:
        header = self.header or []
        if len(row) != len(header):
            report.rejected.append((line_no, line, f"expected {len(header)} fields, found {len(row)}"))
        elif not row[self.url_index].strip():
            report.rejected.append((line_no, line, "empty url field"))
        else:
            report.entries.append(RawEntry(line_no, "url", row[self.url_index].strip()))


class _GenericCsv(_CsvParser):
    """Generic CSV with a header row: the URL or domain of one column (or host + path) of each row."""

    def __init__(self, path: Path | str, column: str | None) -> None:
        super().__init__(path)
        self.column = column
        self.value_index = self.host_index = self.path_index = -1

    def start(self, first_line: str | None, index: int, report: FormatReport) -> int:
        if first_line is None:
            raise ListFormatError(f"{self.path}: no CSV header row")
        self.delimiter = _csv_delimiter(first_line)
        header = _csv_header_fields(first_line, self.delimiter)
        report.comments += 1  # the header row
        lowered = [name.lower() for name in header]
        if self.column is not None:
            if self.column.lower() not in lowered:
                raise ListFormatError(f"{self.path}: no CSV column {self.column!r}; columns: {', '.join(header)}")
            self.value_index = lowered.index(self.column.lower())
        elif "host" in lowered and "path" in lowered and not {"url", "uri", "link"} & set(lowered):
            self.host_index, self.path_index = lowered.index("host"), lowered.index("path")
            self.value_index = self.host_index
        else:
            found = [name for name in CSV_AUTO_COLUMNS if name in lowered]
            if not found:
                wanted = ", ".join(CSV_AUTO_COLUMNS)
                raise ListFormatError(f"{self.path}: no CSV column among {wanted}; columns: {', '.join(header)}")
            self.value_index = lowered.index(found[0])
        self.header = header
        return index + 1

    def row(self, line_no: int, line: str, row: list[str], report: FormatReport) -> None:
        header = self.header or []
        if len(row) != len(header):
            report.rejected.append((line_no, line, f"expected {len(header)} fields, found {len(row)}"))
            return
        value = row[self.value_index].strip()
        if not value:
            report.rejected.append((line_no, line, f"empty {header[self.value_index]} field"))
        elif self.path_index >= 0:
            report.entries.append(RawEntry(line_no, "url", value + row[self.path_index].strip()))
        elif "/" in value or "://" in value:
            report.entries.append(RawEntry(line_no, "url", value))
        else:
            report.entries.append(RawEntry(line_no, "domain", value))


def _csv_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header: the most frequent of comma, tab and semicolon (comma on ties)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",\t;"}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","


def line_parser(request: ListFile) -> LineParser:
    if request.format == "urlhaus-csv":
        return _UrlhausCsv(request.path)
    return _GenericCsv(request.path, request.column)


def sniff(sample: Sample) -> tuple[str, str] | None:
    """A CSV header in the first row (or, for a URLhaus dump, in the last `#` line before it)."""
    for where, text in (("first row", sample.first_content or ""), ("last '#' comment line", sample.last_comment)):
        if not any(delimiter in text for delimiter in ",\t;"):
            continue
        names = {name.lower() for name in _csv_header_fields(text, _csv_delimiter(text))}
        if "url" in names and names & URLHAUS_MARKER_COLUMNS:
            marks = ", ".join(sorted(names & URLHAUS_MARKER_COLUMNS))
            return "urlhaus-csv", f"its {where} is a CSV header with 'url' and {marks} columns (URLhaus dump)"
        known = [name for name in CSV_AUTO_COLUMNS if name in names]
        if known and where == "first row":
            return "csv", f"its first row is a CSV header with a {known[0]!r} column"
    return None
