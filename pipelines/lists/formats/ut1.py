"""The `ut1` format: a category folder of the Université Toulouse 1 blacklists (its `domains`, `urls`,
`expressions` and `usage` files, also split `.N` and gzipped), or one such file read by the role its name gives."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.lists.formats.common import FormatReport, LineParser, ListFile, ListFormatError
from pipelines.lists.formats.domains import parse_domains
from pipelines.lists.formats.reader import READ_BYTES, content_lines, feed, line_batches
from pipelines.lists.formats.urls import parse_urls

if TYPE_CHECKING:
    from pipelines.lists.formats.sample import Sample

UT1_FILE_NAME = re.compile(r"(domains|urls|expressions|usage)(?:\.(\d+))?(?:\.gz)?$")
FOLDER_REASON = "it is a folder, read as a UT1 category folder"


def _parse_expressions(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """UT1 `expressions`: regular expressions, each one unsupported."""
    for line_no, line, text in content_lines(lines, report):
        if text[0] == "#":
            report.comments += 1
        else:
            report.unsupported.append((line_no, line, "UT1 regular expression: not supported, skipped"))


def _parse_usage(lines: list[str], report: FormatReport, file: str | None = None) -> None:
    """UT1 `usage`: a description of the category, counted as comment lines."""
    for _ in content_lines(lines, report):
        report.comments += 1


_UT1_PARSERS: dict[str, Callable[..., None]] = {
    "domains": parse_domains,
    "urls": parse_urls,
    "expressions": _parse_expressions,
    "usage": _parse_usage,
}


def _ut1_role(name: str) -> str | None:
    match = UT1_FILE_NAME.search(name)
    return match.group(1) if match else None


def _ut1_order(name: str) -> tuple[str, int, str]:
    match = UT1_FILE_NAME.search(name)
    number = int(match.group(2)) if match and match.group(2) else -1
    return (match.group(1) if match else "", number, name)


def _ut1_folder_sha256(files: list[Path]) -> str:
    """The sha256 of a UT1 folder: each file's name and content, with their lengths, in plain sorted order."""
    digest = hashlib.sha256()
    for file in files:
        name = file.name.encode()
        try:
            with open(file, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                digest.update(len(name).to_bytes(8, "big") + name + size.to_bytes(8, "big"))
                read = 0
                while chunk := handle.read(READ_BYTES):
                    read += len(chunk)
                    digest.update(chunk)
        except OSError as error:
            raise ListFormatError(f"{file}: cannot read the file ({error.strerror or error})") from None
        if read != size:
            raise ListFormatError(f"{file}: the file changed while it was read")
    return digest.hexdigest()


def folder_sha256(folder: Path) -> str:
    """The sha256 a version of a UT1 category folder is recorded with."""
    return _ut1_folder_sha256(_ut1_files(folder))


def _ut1_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and _ut1_role(p.name))
    if not files:
        raise ListFormatError(f"{folder}: no UT1 domains, urls or expressions file in the folder")
    return files


def parse_folder(folder: Path, report: FormatReport, on_batch: Callable[[FormatReport], None] | None = None) -> None:
    """A UT1 category folder: domains, urls (also split .N and gzipped) and expressions files, each by its role."""
    files = _ut1_files(folder)
    report.sha256 = _ut1_folder_sha256(files)
    for file in sorted(files, key=lambda p: _ut1_order(p.name)):  # domains, domains.1, domains.2, ..., urls
        parser = _UT1_PARSERS[_ut1_role(file.name) or ""]
        feed(
            lambda lines, report, parser=parser, name=file.name: parser(lines, report, file=name),
            line_batches(file),
            report,
            on_batch,
            reason_prefix=f"{file.name}: ",
        )


def _parse_ut1_file(path: Path, lines: list[str], report: FormatReport) -> None:
    """A single UT1 file, read by the role its name gives (…domains, …urls, …expressions)."""
    role = _ut1_role(path.name)
    if role is None:
        raise ListFormatError(f"{path}: not a UT1 file name (domains, urls, expressions or usage, maybe .N or .gz)")
    _UT1_PARSERS[role](lines, report, file=path.name)


def line_parser(request: ListFile) -> LineParser:
    return partial(_parse_ut1_file, request.path)


def sniff_name(sample: Sample) -> tuple[str, str] | None:
    """A file named like a UT1 `expressions` file (the only UT1 file whose lines no other format reads)."""
    base = sample.name[:-3] if sample.name.endswith(".gz") else sample.name
    if base.endswith("expressions"):
        return "ut1", f"the file name {sample.name!r} is a UT1 expressions file"
    return None
