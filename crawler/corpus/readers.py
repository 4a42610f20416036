"""Which reader reads a file, by the container sniff() found in its first bytes: one entry per container.

A new corpus format is a module here that reads it (an archive's records, or a table's URL of every row), what
tells it apart in sniff.py, and its entry in READERS; read_source and the ingest ask only this registry.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crawler.corpus import gzip_members
from crawler.corpus.archive import ArchiveReader, read_fastwarc, read_warcio
from crawler.corpus.gzip_members import GzipMembers
from crawler.corpus.sniff import FileFormat, UnknownFormat
from crawler.corpus.tables import csv_names_url_column, csv_urls, jsonl_urls, parquet_urls

# An opener is given the path (or the stream of a remote file, which it then owns) and the format sniff() found in
# the file's first bytes.
Opener = Callable[[str | BinaryIO, FileFormat], contextlib.AbstractContextManager]
# (row index, the URL cell or the Exception that made the row unreadable) of every row of a table: path,
# the URL column the user named (None: the first of URL_COLUMN_CANDIDATES found), whether the file is gzipped
TableRows = Callable[[Path, str | None, bool], Iterator[tuple[int, object]]]


def _open_raw(path: str | BinaryIO, file_format: FileFormat) -> BinaryIO:
    return open(path, "rb") if isinstance(path, str) else path


def _fastwarc_input(
    path: str | BinaryIO, file_format: FileFormat
) -> contextlib.AbstractContextManager[str | BinaryIO | GzipMembers]:
    # a gzipped file is inflated by ISA-L member by member (faster than FastWARC's own inflate); anything else
    # FastWARC opens itself, faster than through a Python file object
    if file_format.gzipped and gzip_members.available():
        return GzipMembers(path)
    return contextlib.nullcontext(path) if isinstance(path, str) else path


def _open_gunzipped(path: str | BinaryIO, file_format: FileFormat) -> BinaryIO:
    # for files gzipped as one member instead of one member per record, which record readers refuse
    return gzip.open(path, "rb")


@dataclass(frozen=True)
class RecordReader:
    """One library's way through an archive's records."""

    name: str  # recorded as the source's reader; SourceTask.readers names these
    read_records: ArchiveReader
    open: Opener


FASTWARC = RecordReader("fastwarc", read_fastwarc, _fastwarc_input)
WARCIO = RecordReader("warcio", read_warcio, _open_raw)
WARCIO_GUNZIP = RecordReader("warcio+gunzip", read_warcio, _open_gunzipped)
RECORD_READERS = {reader.name: reader for reader in (FASTWARC, WARCIO, WARCIO_GUNZIP)}


@dataclass(frozen=True)
class ArchiveFormat:
    """A file of records (WARC, ARC): the first reader of its chain that gets through the file ends the chain
    (see read_source for the choice among them)."""

    readers: tuple[RecordReader, ...]
    # where the records have no ids of their own (ARC: warcio invents random ones), each is given
    # "<{offset_ids}:{its offset}>"
    offset_ids: str | None = None

    def chain(self, file_format: FileFormat) -> tuple[RecordReader, ...]:
        return (*self.readers, WARCIO_GUNZIP) if file_format.gzipped else self.readers

    def lacks_url_column(self, path: Path, file_format: FileFormat) -> bool:
        return False


@dataclass(frozen=True)
class TableFormat:
    """A URL table (Parquet, CSV, JSONL): one document per row."""

    reader: str  # recorded as the source's reader
    rows: TableRows
    # whether the first line of a plain file names a URL column, where a line can tell (CSV)
    names_url_column: Callable[[Path], bool] | None = None

    def lacks_url_column(self, path: Path, file_format: FileFormat) -> bool:
        """Whether the file's header shows it holds no URLs (read only where cheap: a plain file with a header
        line); False where it cannot tell."""
        if file_format.gzipped or self.names_url_column is None:
            return False
        return not self.names_url_column(path)


CorpusFormat = ArchiveFormat | TableFormat

READERS: dict[str, CorpusFormat] = {
    "warc": ArchiveFormat((FASTWARC, WARCIO)),
    "arc": ArchiveFormat((WARCIO,), offset_ids="arc"),
    "parquet": TableFormat("pyarrow", parquet_urls),
    "csv": TableFormat("pyarrow", csv_urls, names_url_column=csv_names_url_column),
    "jsonl": TableFormat("json", jsonl_urls),
}


def reader_for(file_format: FileFormat) -> CorpusFormat:
    """The entry that reads files of `file_format`."""
    try:
        return READERS[file_format.container]
    except KeyError:
        raise UnknownFormat(f"no reader for {file_format.name} files") from None
