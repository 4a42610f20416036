"""Lists of known-bad content hashes (md5, sha1, sha256 or PDQ): strict parsing with every line accounted for,
and an in-memory matcher for the hashes of fetched content (pipelines/content_hashes.py).

Accepted files (optionally gzipped, UTF-8):
- one hash per line, optionally followed by whitespace or a comma and a label (``md5sum`` output, the PDQ
  reference hasher's ``hash,quality,filename`` lines); ``#`` starts a comment line;
- a CSV/TSV whose header names the hash column: the algorithm's name (``md5``, ``pdq``...) or a generic
  ``hash``, ``signal``, ``signal_str``, ``signal_value`` or ``indicator`` column, as ThreatExchange and HMA
  exports have. A ``label``/``name``/``description``... column becomes the label, and a ``signal_type``/``type``
  column, when present, must name the algorithm (rows of other types are rejected, so a mixed export can be
  loaded once per algorithm).

PDQ matching (Hamming distance <= threshold, default 31) uses a multi-index: the 256 bits are cut into 16 chunks
of 16 bits, each chunk value indexed. Two hashes within distance d differ in fewer than ``r + 1`` bits in at least
one chunk, r = d // 16 (if all 16 chunks differed in r + 1 bits or more, the distance would be >= 16 (r + 1) > d).
So probing every chunk's exact value and its values within r bit flips (r = 1 for d <= 31: 17 probes a chunk,
272 in all) finds every list hash within d; candidates are then checked exactly. Random 100k lists give a few
hundred candidates a query. Tiny lists and thresholds above 47 are searched by brute force (vectorised).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.content_hashes import PDQ_DEFAULT_THRESHOLD, PDQ_MIN_QUALITY, ContentHashes

HASH_ALGOS = ("md5", "sha1", "sha256", "pdq")
HASH_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
GENERIC_HASH_COLUMNS = ("hash", "signal", "signal_str", "signal_value", "signal_hash", "indicator", "value")
LABEL_COLUMNS = ("label", "name", "description", "category", "tags", "tag", "comment", "comments", "note", "notes")
TYPE_COLUMNS = ("signal_type", "hash_type", "indicator_type", "type", "algo", "algorithm")
CSV_DELIMITERS = (",", "\t", ";", "|")
MAX_ROW_LINES = 100  # a quoted CSV field may span lines, up to this many
MAX_REJECTED_TEXT = 200

PDQ_CHUNKS = 16  # 16-bit chunks of the 256-bit hash
PDQ_MAX_PROBE_RADIUS = 2  # bit flips probed per chunk: thresholds up to 16 * 3 - 1 = 47 use the index
PDQ_BRUTE_FORCE_MAX = 256  # lists with at most this many distinct PDQ hashes are scanned, not indexed

_HEX = frozenset("0123456789abcdefABCDEF")
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


class HashListError(ValueError):
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


# ---------------------------------------------------------------------------------------------------- parsing


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


def parse_hash_list(path: str | Path, algo: str) -> HashListReport:
    """Parse a list of ``algo`` hashes (md5, sha1, sha256 or pdq). Raises HashListError (a ValueError naming the
    file) when the file cannot be read or holds no usable hash."""
    if algo not in HASH_HEX_LENGTHS:
        raise HashListError(f"{path}: unknown hash algorithm {algo!r} (expected one of {', '.join(HASH_ALGOS)})")
    lines = _read_lines(Path(path))
    report = HashListReport(path=str(path), algo=algo, lines_total=len(lines))
    numbered = list(enumerate(lines, start=1))
    header_at = next((i for i, (_, text) in enumerate(numbered) if _is_content(text)), None)
    layout = _csv_layout(numbered[header_at][1], algo, report) if header_at is not None else None
    if layout is None:
        _parse_lines(numbered, algo, report)
    else:
        for line_no, text in numbered[:header_at]:
            (report.blank if not text.strip() else report.comments).append(line_no)
        report.header.append(numbered[header_at][0])
        _parse_csv_rows(numbered[header_at + 1 :], algo, layout, report)
    if not report.entries:
        detail = ""
        if report.rejected:
            first = report.rejected[0]
            detail = f"; e.g. line {first.line_no}: {first.reason}"
        notes = f" ({'; '.join(report.notes)})" if report.notes else ""
        raise HashListError(
            f"{path}: no usable {algo} hash in {len(lines)} lines "
            f"({len(report.rejected)} rejected, {len(report.comments)} comments, {len(report.blank)} blank)"
            f"{detail}{notes}"
        )
    return report


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HashListError(f"{path}: cannot read the hash list: {exc}") from exc
    if data.startswith(b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, ValueError) as exc:
            raise HashListError(f"{path}: corrupt gzip data: {exc}") from exc
    if b"\x00" in data[:65536]:
        raise HashListError(f"{path}: looks binary (NUL bytes), not a text list of hashes")
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start another
    return [line[:-1] if line.endswith("\r") else line for line in lines]


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


def _blank_or_comment(line_no: int, text: str, report: HashListReport) -> bool:
    """Count a blank or `#` comment line in the report; False for a line with content."""
    stripped = text.strip()
    if not stripped:
        report.blank.append(line_no)
        return True
    if stripped.startswith("#"):
        report.comments.append(line_no)
        return True
    return False


def _parse_lines(numbered: list[tuple[int, str]], algo: str, report: HashListReport) -> None:
    report.notes.append("one hash per line, a label may follow after whitespace or a comma")
    seen: dict[str, int] = {}
    for line_no, text in numbered:
        if _blank_or_comment(line_no, text, report):
            continue
        token, rest = _LINE.match(text.strip()).groups()
        token = token.rstrip(",")
        value, reason = check_hash(token, algo)
        if value is None:
            report.rejected.append(RejectedLine(line_no, text[:MAX_REJECTED_TEXT], reason))
            continue
        label = (rest or "").strip().lstrip("#*").strip() or None
        _add_entry(report, seen, line_no, value, label)


def _add_entry(report: HashListReport, seen: dict[str, int], line_no: int, value: str, label: str | None) -> None:
    first = seen.get(value)
    if first is not None:
        report.duplicates.append(DuplicateHash(line_no, value, first))
    else:
        seen[value] = line_no
        report.entries.append(HashListEntry(line_no, value, label))


def _type_names_algo(value: str, algo: str) -> bool:
    return not value.strip() or algo in re.split(r"[^a-z0-9]+", value.lower())


def _csv_records(numbered: list[tuple[int, str]], report: HashListReport) -> Iterator[tuple[int, str]]:
    """(first line number, record text) of each CSV record; blank and comment lines go to the report. A record
    continues over the next lines while its quotes are unbalanced (a quoted field holding a newline)."""
    rows = iter(numbered)
    for line_no, text in rows:
        if _blank_or_comment(line_no, text, report):
            continue
        parts = [text]
        continued: list[int] = []
        while sum(part.count('"') for part in parts) % 2 and len(parts) < MAX_ROW_LINES:
            following = next(rows, None)
            if following is None:
                break
            continued.append(following[0])
            parts.append(following[1])
        if sum(part.count('"') for part in parts) % 2:
            report.rejected.append(RejectedLine(line_no, text[:MAX_REJECTED_TEXT], "unbalanced quotes"))
            report.rejected.extend(
                RejectedLine(n, t[:MAX_REJECTED_TEXT], f"inside the unbalanced quotes opened on line {line_no}")
                for n, t in zip(continued, parts[1:], strict=True)
            )
            continue
        report.continuation.extend(continued)
        yield line_no, "\n".join(parts)


def _parse_csv_rows(numbered: list[tuple[int, str]], algo: str, layout: _CsvLayout, report: HashListReport) -> None:
    seen: dict[str, int] = {}
    for line_no, record in _csv_records(numbered, report):
        text = record[:MAX_REJECTED_TEXT]
        try:
            cells = next(csv.reader([record], delimiter=layout.delimiter, strict=True))
        except csv.Error as exc:
            report.rejected.append(RejectedLine(line_no, text, f"malformed CSV row: {exc}"))
            continue
        if len(cells) <= layout.hash_index:
            report.rejected.append(
                RejectedLine(line_no, text, f"row has {len(cells)} cells, the header has {layout.width}")
            )
            continue
        if layout.type_index is not None and layout.type_index < len(cells):
            kind = cells[layout.type_index]
            if not _type_names_algo(kind, algo):
                report.rejected.append(RejectedLine(line_no, text, f"signal type {kind.strip()!r} is not {algo}"))
                continue
        value, reason = check_hash(cells[layout.hash_index].strip(), algo)
        if value is None:
            report.rejected.append(RejectedLine(line_no, text, reason))
            continue
        label = None
        if layout.label_index is not None and layout.label_index < len(cells):
            label = cells[layout.label_index].strip() or None
        _add_entry(report, seen, line_no, value, label)


# ---------------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class ContentHit:
    list_name: str
    list_version: object
    algo: str
    hash: str  # the list's hash (for PDQ, not the content's own)
    label: str | None
    distance: int  # 0 for md5 / sha1 / sha256; the Hamming distance for PDQ


class ContentHashMatcher:
    """Match ContentHashes against list entries ``(list_name, version, algo, hash, label)``.

    md5 / sha1 / sha256 are exact lookups. PDQ hits are list hashes within ``threshold`` bits (default
    PDQ_DEFAULT_THRESHOLD = 31, inclusive), found through a 16-chunk multi-index (see the module docstring).
    By default a content PDQ hash whose quality is below PDQ_MIN_QUALITY (50) is not matched at all: such hashes
    come from flat or near-blank images and match unrelated content; pass ``min_quality=0`` to match them anyway.
    A hash with unknown quality (None) is matched.
    """

    def __init__(self, entries: Iterable[tuple[str, object, str, str, str | None]]):
        self._exact: dict[str, dict[str, list[int]]] = {algo: defaultdict(list) for algo in ("md5", "sha1", "sha256")}
        self._entries: list[tuple[str, object, str, str, str | None]] = []
        pdq_owner: dict[str, list[int]] = {}
        seen: set[tuple[str, object, str, str]] = set()
        for position, item in enumerate(entries):
            list_name, version, algo, value, label = item
            algo = str(algo).lower()
            if algo not in HASH_HEX_LENGTHS:
                raise ValueError(f"entry {position} ({list_name}): unknown hash algorithm {algo!r}")
            normalized, reason = check_hash(str(value).strip(), algo)
            if normalized is None:
                raise ValueError(f"entry {position} ({list_name}): {reason}: {str(value)[:80]!r}")
            key = (list_name, version, algo, normalized)
            if key in seen:
                continue
            seen.add(key)
            index = len(self._entries)
            self._entries.append((list_name, version, algo, normalized, label))
            if algo == "pdq":
                pdq_owner.setdefault(normalized, []).append(index)
            else:
                self._exact[algo][normalized].append(index)
        self._pdq_owner = pdq_owner
        self._pdq_hashes = list(pdq_owner)
        count = len(self._pdq_hashes)
        self._pdq_bytes = np.frombuffer(bytes.fromhex("".join(self._pdq_hashes)), dtype=np.uint8).reshape(count, 32)
        self._indexed = count > PDQ_BRUTE_FORCE_MAX
        if self._indexed:
            self._build_index()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def pdq_indexed(self) -> bool:
        """Whether PDQ searches go through the multi-index (lists above PDQ_BRUTE_FORCE_MAX distinct hashes)."""
        return self._indexed

    def counts(self) -> dict[str, int]:
        out = {algo: sum(len(owners) for owners in table.values()) for algo, table in self._exact.items()}
        out["pdq"] = sum(len(owners) for owners in self._pdq_owner.values())
        return out

    def _build_index(self) -> None:
        count = len(self._pdq_hashes)
        chunks = self._pdq_bytes.view(">u2").astype(np.int64)  # (count, 16) chunk values, 0..65535
        self._order = np.empty((PDQ_CHUNKS, count), dtype=np.int32)
        self._offsets = np.empty((PDQ_CHUNKS, 65537), dtype=np.int32)
        for chunk in range(PDQ_CHUNKS):
            values = chunks[:, chunk]
            self._order[chunk] = np.argsort(values, kind="stable")
            self._offsets[chunk, 0] = 0
            np.cumsum(np.bincount(values, minlength=65536), out=self._offsets[chunk, 1:])
        self._order_flat = self._order.ravel()
        self._probe_masks = [_flip_masks(radius) for radius in range(PDQ_MAX_PROBE_RADIUS + 1)]

    def pdq_search(self, pdq_hex: str, threshold: int = PDQ_DEFAULT_THRESHOLD, *, brute_force: bool = False):
        """List hashes within ``threshold`` bits of ``pdq_hex``, as (hash, distance), nearest first."""
        if not 0 <= threshold <= 256:
            raise ValueError(f"PDQ threshold must be between 0 and 256, not {threshold}")
        normalized, reason = check_hash(pdq_hex, "pdq")
        if normalized is None:
            raise ValueError(f"not a PDQ hash: {reason}")
        if not self._pdq_hashes:
            return []
        query = np.frombuffer(bytes.fromhex(normalized), dtype=np.uint8)
        radius = threshold // PDQ_CHUNKS
        if brute_force or not self._indexed or radius > PDQ_MAX_PROBE_RADIUS:
            candidates = np.arange(len(self._pdq_hashes))
        else:
            candidates = self._candidates(query, radius)
        if candidates.size == 0:
            return []
        distances = _POPCOUNT[np.bitwise_xor(self._pdq_bytes[candidates], query)].sum(axis=1)
        keep = distances <= threshold
        found = sorted(zip(distances[keep].tolist(), candidates[keep].tolist(), strict=True))
        return [(self._pdq_hashes[index], distance) for distance, index in found]

    def _candidates(self, query: np.ndarray, radius: int) -> np.ndarray:
        """Indexes of the list hashes that share, in some chunk, a value within ``radius`` flips of the query's."""
        values = query.view(">u2").astype(np.int64)  # (16,)
        probes = values[:, None] ^ self._probe_masks[radius][None, :]  # (16, probes per chunk)
        rows = np.arange(PDQ_CHUNKS)[:, None]
        starts = self._offsets[rows, probes].ravel().astype(np.int64)
        ends = self._offsets[rows, probes + 1].ravel().astype(np.int64)
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        bases = starts + np.repeat(np.arange(PDQ_CHUNKS, dtype=np.int64) * len(self._pdq_hashes), probes.shape[1])
        run_starts = np.cumsum(lengths) - lengths
        positions = np.repeat(bases - run_starts, lengths) + np.arange(total)
        return np.unique(self._order_flat[positions])

    def match(
        self,
        hashes: ContentHashes,
        *,
        threshold: int = PDQ_DEFAULT_THRESHOLD,
        min_quality: int = PDQ_MIN_QUALITY,
    ) -> list[ContentHit]:
        """Every list entry the content matches: exact digests first, then PDQ hits nearest first. The PDQ hash is
        skipped when its quality is below ``min_quality`` (see the class docstring)."""
        hits: list[ContentHit] = []
        for algo in ("md5", "sha1", "sha256"):
            value = getattr(hashes, algo, None)
            if value:
                for index in self._exact[algo].get(value.lower(), ()):
                    hits.append(self._hit(index, 0))
        quality_ok = hashes.pdq_quality is None or hashes.pdq_quality >= min_quality
        if hashes.pdq and quality_ok and self._pdq_hashes:
            for value, distance in self.pdq_search(hashes.pdq, threshold):
                hits.extend(self._hit(index, distance) for index in self._pdq_owner[value])
        return hits

    def _hit(self, index: int, distance: int) -> ContentHit:
        list_name, version, algo, value, label = self._entries[index]
        return ContentHit(list_name, version, algo, value, label, distance)


def _flip_masks(radius: int) -> np.ndarray:
    """All 16-bit masks with at most ``radius`` bits set (0 first)."""
    masks = [0]
    for bits in range(1, radius + 1):
        masks.extend(sum(1 << bit for bit in combo) for combo in itertools.combinations(range(16), bits))
    return np.array(masks, dtype=np.int64)
