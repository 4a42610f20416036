"""The content-hash list formats `hashes-<algo>` (md5, sha1, sha256 or pdq), the lists `hashlist add` loads: their
line syntax, read batch by batch like every list format, and a report naming what became of every line.

Accepted files (optionally gzipped, UTF-8):
- one hash per line, optionally followed by whitespace or a comma and a label (``md5sum`` output, the PDQ
  reference hasher's ``hash,quality,filename`` lines); ``#`` starts a comment line;
- a CSV/TSV whose header names the hash column: the algorithm's name (``md5``, ``pdq``...) or a generic
  ``hash``, ``signal``, ``signal_str``, ``signal_value`` or ``indicator`` column, as ThreatExchange and HMA
  exports have. A ``label``/``name``/``description``... column becomes the label, and a ``signal_type``/``type``
  column, when present, must name the algorithm (rows of other types are rejected, so a mixed export can be
  loaded once per algorithm).

Matching fetched content against these hashes is pipelines/hashing's (ContentHashMatcher).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, ListFormatError, RawEntry

HASH_LIST_PREFIX = "hashes-"  # formats of content-hash lists (`hashlist`): hashes-md5, hashes-sha1...
HASH_ALGOS = ("md5", "sha1", "sha256", "pdq")
HASH_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
GENERIC_HASH_COLUMNS = ("hash", "signal", "signal_str", "signal_value", "signal_hash", "indicator", "value")
LABEL_COLUMNS = ("label", "name", "description", "category", "tags", "tag", "comment", "comments", "note", "notes")
TYPE_COLUMNS = ("signal_type", "hash_type", "indicator_type", "type", "algo", "algorithm")
CSV_DELIMITERS = (",", "\t", ";", "|")
MAX_ROW_LINES = 100  # a quoted CSV field may span lines, up to this many
MAX_REJECTED_TEXT = 200

_HEX = frozenset("0123456789abcdefABCDEF")


class HashListError(ListFormatError):
    """A whole-file problem: unreadable, binary, unknown algorithm, or no usable hash."""


@dataclass(frozen=True, slots=True)
class HashListEntry:
    line_no: int
    hash: str  # lowercase hex
    label: str | None = None


@dataclass(frozen=True, slots=True)
class DuplicateHash:
    line_no: int
    hash: str
    first_line_no: int


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line_no: int
    text: str
    reason: str


@dataclass(slots=True)
class HashListReport:
    """What became of every line: ``lines_total == len(entries) + len(duplicates) + len(comments) + len(blank)
    + len(rejected) + len(header) + len(continuation)`` (``header``: the CSV header's line; ``continuation``: the
    second and later lines of CSV rows whose quoted fields span lines)."""

    path: str
    algo: str
    format: str = "lines"  # "lines" or "csv"
    delimiter: str | None = None
    hash_column: str | None = None
    label_column: str | None = None
    type_column: str | None = None
    lines_total: int = 0
    entries: list[HashListEntry] = field(default_factory=list)
    duplicates: list[DuplicateHash] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)
    rejected: list[RejectedLine] = field(default_factory=list)
    header: list[int] = field(default_factory=list)
    continuation: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was decided about the file, in words

    @property
    def lines_accounted(self) -> int:
        return (
            len(self.entries)
            + len(self.duplicates)
            + len(self.comments)
            + len(self.blank)
            + len(self.rejected)
            + len(self.header)
            + len(self.continuation)
        )

    def matcher_entries(self, list_name: str, version: object) -> list[tuple[str, object, str, str, str | None]]:
        """The entries as ContentHashMatcher takes them: (list_name, version, algo, hash, label)."""
        return [(list_name, version, self.algo, entry.hash, entry.label) for entry in self.entries]

    def summary(self) -> str:
        parts = [
            f"{len(self.entries)} {self.algo} hashes",
            f"{len(self.duplicates)} duplicates",
            f"{len(self.rejected)} rejected",
            f"{len(self.comments)} comments",
            f"{len(self.blank)} blank",
        ]
        return f"{self.path}: " + ", ".join(parts) + "; " + "; ".join(self.notes)


def check_hash(value: str, algo: str) -> tuple[str | None, str | None]:
    """(lowercase hash, None) when ``value`` is a valid ``algo`` hash, else (None, reason)."""
    expected = HASH_HEX_LENGTHS[algo]
    if not value:
        return None, "empty hash"
    if not _HEX.issuperset(value):
        return None, f"not hexadecimal: {algo} needs {expected} hex digits"
    if len(value) != expected:
        others = sorted(name for name, length in HASH_HEX_LENGTHS.items() if length == len(value))
        hint = f" (the length of {' or '.join(others)})" if others else ""
        return None, f"{len(value)} hex digits{hint}: {algo} needs {expected}"
    return value.lower(), None


def _is_content(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("#")


def _normalize_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().strip("\"'").strip().lower())


@dataclass(frozen=True, slots=True)
class _CsvLayout:
    delimiter: str
    width: int
    hash_index: int
    label_index: int | None
    type_index: int | None


def _csv_layout(first_line: str, algo: str, report: HashListReport) -> _CsvLayout | None:
    """The CSV layout when the first content line is a header naming a usable hash column, else None."""
    specific = (algo, f"{algo}_hash", f"hash_{algo}", f"{algo}hash", f"{algo}_signal")
    other_algos = {name for name in HASH_ALGOS if name != algo}
    for delimiter in CSV_DELIMITERS:
        cells = [_normalize_column(cell) for cell in next(csv.reader([first_line], delimiter=delimiter))]
        if len(cells) == 1 and delimiter != CSV_DELIMITERS[0]:
            continue
        hash_index = next((cells.index(name) for name in (*specific, *GENERIC_HASH_COLUMNS) if name in cells), None)
        if hash_index is None:
            named = sorted(other_algos.intersection(cells))
            if named:
                report.notes.append(
                    f"the first line looks like a CSV header with a {'/'.join(named)} column but no {algo} or "
                    f"generic hash column, so it was read as a plain list"
                )
                return None
            continue
        label_index = next((cells.index(name) for name in LABEL_COLUMNS if name in cells), None)
        type_index = next((cells.index(name) for name in TYPE_COLUMNS if name in cells), None)
        report.format = "csv"
        report.delimiter = delimiter
        report.hash_column = cells[hash_index]
        report.label_column = cells[label_index] if label_index is not None else None
        report.type_column = cells[type_index] if type_index is not None else None
        shown = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}[delimiter]
        note = f"CSV ({shown}-separated) with a header: hashes from column {report.hash_column!r}"
        note += f", labels from {report.label_column!r}" if report.label_column else ", no label column"
        if report.type_column:
            note += f", rows whose {report.type_column!r} does not name {algo} rejected"
        report.notes.append(note)
        return _CsvLayout(delimiter, len(cells), hash_index, label_index, type_index)
    return None


_LINE = re.compile(r"^(\S+?)(?:[\s,]+(.*))?$")


def _type_names_algo(value: str, algo: str) -> bool:
    return not value.strip() or algo in re.split(r"[^a-z0-9]+", value.lower())


class HashLineParser:
    """The line parser of the list formats ``hashes-<algo>``: reads a hash list batch
    by batch into a FormatReport, as entries of kind ``content`` (the hash, its label), rejected lines with the
    reason, and counts of comment (the CSV header included) and blank lines. Duplicates are left to the reader
    of the entries (the store drops them keeping the first).

    The first content line decides the layout: a CSV header naming a usable hash column, or one hash a line. A
    CSV record continues over the next lines while its quotes are unbalanced, across batches, up to
    MAX_ROW_LINES lines. When given, ``account`` (parse_hash_list's report) also gets the line numbers of the
    comment, blank, header and continuation lines. At the end of the file, a list without a usable hash is a
    HashListError.
    """

    def __init__(self, path: str | Path, algo: str, account: HashListReport | None = None) -> None:
        if algo not in HASH_HEX_LENGTHS:
            raise HashListError(f"{path}: unknown hash algorithm {algo!r} (expected one of {', '.join(HASH_ALGOS)})")
        self.path, self.algo = path, algo
        self.keep_lines = account is not None
        self.account = account if account is not None else HashListReport(path=str(path), algo=algo)
        self.decided = False
        self.layout: _CsvLayout | None = None
        self.record: list[tuple[int, str]] = []  # the lines of a CSV record whose quotes are still open
        self.record_quotes = 0  # parity of the quotes in `record`
        self.accepted = self.rejected = self.header_lines = 0
        self.first_rejected: tuple[int, str] | None = None

    def __call__(self, lines: list[str], report: FormatReport) -> None:
        report.hash_algorithm = self.algo
        base = report.file_lines + 1
        start = 0
        while not self.decided and start < len(lines):
            text = lines[start]
            if _is_content(text):
                self._decide(base + start, text, report)
                if self.layout is not None:
                    start += 1
                break
            self._blank_or_comment(base + start, text, report)
            start += 1
        if self.layout is None:
            self._plain_lines(lines, start, base, report)
        else:
            for index in range(start, len(lines)):
                self._csv_line(base + index, lines[index], report)

    def finish(self, report: FormatReport) -> None:
        if self.record:
            self._unbalanced(report)
        if not self.decided:
            self._decide(0, None, report)
        if self.accepted:
            return
        account = self.account
        detail = ""
        if self.first_rejected is not None:
            detail = f"; e.g. line {self.first_rejected[0]}: {self.first_rejected[1]}"
        notes = f" ({'; '.join(account.notes)})" if account.notes else ""
        raise HashListError(
            f"{self.path}: no usable {self.algo} hash in {report.lines} lines ({self.rejected} rejected, "
            f"{report.comments - self.header_lines} comments, {report.blank} blank){detail}{notes}"
        )

    def _decide(self, line_no: int, first_line: str | None, report: FormatReport) -> None:
        self.decided = True
        account = self.account
        if first_line is not None:
            self.layout = _csv_layout(first_line, self.algo, account)
        if self.layout is None:
            account.notes.append("one hash per line, a label may follow after whitespace or a comma")
        else:
            report.comments += 1
            self.header_lines += 1
            if self.keep_lines:
                account.header.append(line_no)
        report.decided_by = "; ".join(account.notes)

    def _blank_or_comment(self, line_no: int, text: str, report: FormatReport) -> bool:
        """Count a blank or `#` comment line; False for a line with content."""
        stripped = text.strip()
        if not stripped:
            report.blank += 1
            if self.keep_lines:
                self.account.blank.append(line_no)
            return True
        if stripped[0] == "#":
            report.comments += 1
            if self.keep_lines:
                self.account.comments.append(line_no)
            return True
        return False

    def _reject(self, line_no: int, text: str, reason: str, report: FormatReport) -> None:
        report.rejected.append((line_no, text[:MAX_REJECTED_TEXT], reason))
        self.rejected += 1
        if self.first_rejected is None:
            self.first_rejected = (line_no, reason)

    def _plain_lines(self, lines: list[str], start: int, base: int, report: FormatReport) -> None:
        """One hash a line, a label may follow after whitespace or a comma (md5sum output, PDQ hasher lines)."""
        algo, entries, match = self.algo, report.entries, _LINE.match
        length = HASH_HEX_LENGTHS[algo]
        accepted = 0
        for index in range(start, len(lines)):
            text = lines[index]
            stripped = text.strip()
            if len(stripped) == length and _HEX.issuperset(stripped):  # a hash alone, the common line
                entries.append(RawEntry(base + index, "content", stripped.lower()))
                accepted += 1
                continue
            if not stripped or stripped[0] == "#":
                self._blank_or_comment(base + index, text, report)
                continue
            token, rest = match(stripped).groups()
            value, reason = check_hash(token.rstrip(","), algo)
            if value is None:
                self._reject(base + index, text, reason, report)
                continue
            label = (rest or "").strip().lstrip("#*").strip() or None
            entries.append(RawEntry(base + index, "content", value, label=label))
            accepted += 1
        self.accepted += accepted

    def _csv_line(self, line_no: int, text: str, report: FormatReport) -> None:
        if not self.record:
            if self._blank_or_comment(line_no, text, report):
                return
            self.record_quotes = 0
        self.record.append((line_no, text))
        self.record_quotes = (self.record_quotes + text.count('"')) % 2
        if not self.record_quotes:
            self._csv_record(report)
        elif len(self.record) >= MAX_ROW_LINES:
            self._unbalanced(report)

    def _unbalanced(self, report: FormatReport) -> None:
        (line_no, text), *rest = self.record
        self.record = []
        self._reject(line_no, text, "unbalanced quotes", report)
        for other_no, other in rest:
            self._reject(other_no, other, f"inside the unbalanced quotes opened on line {line_no}", report)

    def _csv_record(self, report: FormatReport) -> None:
        layout, algo = self.layout, self.algo
        line_no = self.record[0][0]
        record = "\n".join(text for _, text in self.record)
        if self.keep_lines:
            self.account.continuation.extend(number for number, _ in self.record[1:])
        self.record = []
        try:
            cells = next(csv.reader([record], delimiter=layout.delimiter, strict=True))
        except csv.Error as exc:
            self._reject(line_no, record, f"malformed CSV row: {exc}", report)
            return
        if len(cells) <= layout.hash_index:
            self._reject(line_no, record, f"row has {len(cells)} cells, the header has {layout.width}", report)
            return
        if layout.type_index is not None and layout.type_index < len(cells):
            kind = cells[layout.type_index]
            if not _type_names_algo(kind, algo):
                self._reject(line_no, record, f"signal type {kind.strip()!r} is not {algo}", report)
                return
        value, reason = check_hash(cells[layout.hash_index].strip(), algo)
        if value is None:
            self._reject(line_no, record, reason, report)
            return
        label = None
        if layout.label_index is not None and layout.label_index < len(cells):
            label = cells[layout.label_index].strip() or None
        report.entries.append(RawEntry(line_no, "content", value, label=label))
        self.accepted += 1


def line_parser(request: ListFile) -> LineParser:
    return HashLineParser(request.path, request.format.removeprefix(HASH_LIST_PREFIX))
