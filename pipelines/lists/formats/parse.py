"""Reading a list file (or a UT1 category folder) in a format of the registry, or in the one auto-detection picks,
with every line accounted for; and the sha256 a version of a list is recorded with."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from pipelines.lists.formats import ut1
from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, ListFormatError
from pipelines.lists.formats.hashes import (
    HASH_LIST_PREFIX,
    DuplicateHash,
    HashLineParser,
    HashListEntry,
    HashListError,
    HashListReport,
    RejectedLine,
)
from pipelines.lists.formats.reader import feed, file_sha256, line_batches
from pipelines.lists.formats.registry import FORMATS, SNIFF_HINTS, family_of
from pipelines.lists.formats.sample import Sample


def sniff_format(path: Path) -> tuple[str, str]:
    """(format name, one sentence saying why) for a list file or a UT1 category folder."""
    path = Path(path)
    if path.is_dir():
        return "ut1", ut1.FOLDER_REASON
    batches = line_batches(path)
    try:
        sample = Sample(path.name, (line for batch in batches for line in batch))
        return next(filter(None, (hint(sample) for hint in SNIFF_HINTS)))  # the last hint always answers
    finally:
        batches.close()


def parse_list_file(
    path: Path,
    list_format: str = "auto",
    *,
    subdomains: bool = False,
    column: str | None = None,
    on_batch: Callable[[FormatReport], None] | None = None,
    line_parser: LineParser | None = None,
) -> FormatReport:
    """Read a list file (or a UT1 category folder) in a format of FORMATS, or a content-hash list in a format
    `hashes-<algo>` (hashes.py), accounting for every line.

    `subdomains` widens hosts-file entries to their subdomains; `column` names the CSV column to read. The file
    is read BATCH_LINES lines at a time; `on_batch`, when given, is called after each batch and takes its
    entries, rejected and unsupported lines out of the report (the counts of comment, blank and all lines stay),
    so that reading a list of any length holds one batch in memory. `line_parser` reads the lines instead of
    the format's own parser (one that keeps more detail, for `parse_hash_list`).
    """
    path = Path(path)
    family = family_of(list_format)
    if family is None and list_format != "auto":
        raise ListFormatError(f"{path}: unknown list format {list_format!r}; formats: {', '.join(FORMATS)}")
    if path.is_dir():
        if list_format not in ("auto", "ut1"):
            raise ListFormatError(f"{path}: a folder can only be read as a UT1 category folder, not {list_format}")
        report = FormatReport(path=str(path), format="ut1", sha256="")
        if list_format == "auto":
            report.decided_by = ut1.FOLDER_REASON
        ut1.parse_folder(path, report, on_batch)
        return report
    decided_by = None
    if list_format == "auto":
        list_format, decided_by = sniff_format(path)
        family = family_of(list_format)
    report = FormatReport(path=str(path), format=list_format, sha256="")
    report.decided_by = decided_by
    if line_parser is None:
        assert family is not None
        line_parser = family.line_parser(ListFile(path, list_format, subdomains=subdomains, column=column))
    digest = hashlib.sha256()
    feed(line_parser, line_batches(path, digest), report, on_batch)
    report.sha256 = digest.hexdigest()
    return report


def parse_hash_list(path: str | Path, algo: str) -> HashListReport:
    """Parse a list of ``algo`` hashes (md5, sha1, sha256 or pdq) into a report naming every line, through the
    same batched reader as a load into the store (`HashLineParser`). Raises HashListError (a ValueError naming
    the file) when the file cannot be read or holds no usable hash."""
    report = HashListReport(path=str(path), algo=algo)
    parser = HashLineParser(path, algo, report)
    seen: dict[str, int] = {}

    def collect(batch: FormatReport) -> None:
        for raw in batch.entries:
            first = seen.get(raw.value)
            if first is not None:
                report.duplicates.append(DuplicateHash(raw.line_no, raw.value, first))
            else:
                seen[raw.value] = raw.line_no
                report.entries.append(HashListEntry(raw.line_no, raw.value, raw.label))
        report.rejected.extend(RejectedLine(*row) for row in batch.rejected)
        batch.entries.clear()
        batch.rejected.clear()

    try:
        read = parse_list_file(Path(path), HASH_LIST_PREFIX + algo, line_parser=parser, on_batch=collect)
    except HashListError:
        raise
    except ListFormatError as error:
        raise HashListError(str(error)) from None
    report.lines_total = read.lines
    return report


def content_sha256(path: Path) -> str:
    """The sha256 a version of the list at `path` (a file or a UT1 folder) is recorded with."""
    path = Path(path)
    if path.is_dir():
        return ut1.folder_sha256(path)
    return file_sha256(path)
