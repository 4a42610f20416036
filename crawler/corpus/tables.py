"""URL tables (Parquet, JSONL, CSV; image-text datasets in the LAION/img2dataset style): one document per row."""

from __future__ import annotations

import contextlib
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

# Column names tried, in order, when the user gives no --url-column (LAION uses "URL", img2dataset "url").
URL_COLUMN_CANDIDATES = ("url", "URL", "Url", "link", "href", "uri", "image_url", "img_url")
ROWS_PER_BATCH = 65_536
# A JSON line, or a CSV header line, longer than this is not read into memory: the line is a bad row (the
# header: no URL column). No URL row comes near it.
MAX_LINE_BYTES = 16 * 1024 * 1024


class TableError(ValueError):
    """The table cannot be read as a URL table (no URL column, unreadable format)."""


class TableCutOff(ValueError):
    """Part of the table cannot be read (gzip data cut off or corrupt, a Parquet row group damaged): the rows
    that could be were read."""


class _WholeLines(io.RawIOBase):
    """The bytes of a gzipped table up to its last whole line, ending cleanly where the gzip data ends early or
    is corrupt, so that a table reader keeps every row before the damage (pyarrow's CSV reader dropped the whole
    block, often the whole file). The line cut by the damage is left out; `error` then says what happened.
    Inflated here, member after member, so that every byte before the damage is handed out."""

    COMPRESSED_BYTES = 1 << 16  # read from the file at a time
    OUTPUT_BYTES = 1 << 20  # inflated at a time at most: a member of zeros inflates a thousandfold

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed with this stream
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b""  # compressed bytes not yet given to the inflater
        self._member_started = False  # the current member has taken bytes (an empty tail is no member)
        self._held: list[bytes] = []  # inflated after the last line end: handed out once a line end or the end follows
        self._out, self._out_at = b"", 0  # whole lines, handed out from `_out_at` on
        self._ended = False
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def _inflate(self) -> bytes:
        """The next inflated bytes; b"" at the end of the data or at the damage (then `error` is set)."""
        while True:
            if self._inflater.unconsumed_tail:
                data = self._inflater.decompress(self._inflater.unconsumed_tail, self.OUTPUT_BYTES)
            else:
                if not self._input:
                    self._input = self._file.read(self.COMPRESSED_BYTES)
                    if not self._input:
                        if self._member_started and not self._inflater.eof:
                            self.error = "gzip data is cut off"
                        return b""
                chunk, self._input = self._input, b""
                self._member_started = True
                try:
                    data = self._inflater.decompress(chunk, self.OUTPUT_BYTES)
                except zlib.error as error:
                    self.error = f"gzip data is corrupt ({error})"
                    return b""
            if self._inflater.eof:  # next member, if any
                self._input = self._inflater.unused_data
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._member_started = False
            if data:
                return data

    def readinto(self, buffer) -> int:
        while self._out_at >= len(self._out) and not self._ended:
            data = self._inflate()
            if not data:
                self._ended = True
                self._out = b"".join(self._held) if self.error is None else b""
                self._out_at, self._held = 0, []
                break
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # a line longer than the chunk: joined once, when it ends
                self._held.append(data)
                continue
            self._out = b"".join([*self._held, data[:cut]]) if self._held else data[:cut]
            self._out_at, self._held = 0, [data[cut:]]
        taken = self._out[self._out_at : self._out_at + len(buffer)]
        self._out_at += len(taken)
        buffer[: len(taken)] = taken
        return len(taken)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


@contextlib.contextmanager
def _open_table(path: Path, gzipped: bool, peek: bool = False) -> Iterator[BinaryIO]:
    """The table's bytes; for a gzipped table, up to the damage, raising TableCutOff once they are read (unless
    only its first line was peeked at)."""
    if not gzipped:
        with open(path, "rb") as stream:
            yield stream
        return
    whole_lines = _WholeLines(path)
    with io.BufferedReader(whole_lines, 1 << 20) as stream:
        yield stream
    if whole_lines.error and not peek:
        raise TableCutOff(whole_lines.error)


def _pick_column(columns: list[str], url_column: str | None, path: Path) -> str:
    if url_column:
        if url_column not in columns:
            raise TableError(f"no column {url_column!r} (columns: {', '.join(columns[:20])})")
        return url_column
    for candidate in URL_COLUMN_CANDIDATES:
        if candidate in columns:
            return candidate
    raise TableError(f"no URL column found among {', '.join(columns[:20])}; name it with --url-column")


def parquet_urls(path: Path, url_column: str | None, gzipped: bool = False) -> Iterator[tuple[int, object]]:
    """(row_index, value of the URL column) for every row of a Parquet file, read in batches, row group by row
    group: a row group that cannot be read is passed over (its rows keep their numbers), and TableCutOff is
    raised once the others are read. Parquet compresses within the file: `gzipped` is never true (sniff())."""
    parquet = pq.ParquetFile(path)
    column = _pick_column(parquet.schema_arrow.names, url_column, path)
    row_index = 0
    damaged: list[str] = []
    for group in range(parquet.metadata.num_row_groups):
        group_start, group_rows = row_index, parquet.metadata.row_group(group).num_rows
        try:
            for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH, row_groups=[group], columns=[column]):
                for value in batch.column(0).to_pylist():
                    yield row_index, value
                    row_index += 1
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid and ArrowIOError are these
            last = group_start + group_rows - 1
            damaged.append(f"row group {group} (rows {row_index}-{last}) unreadable: {' '.join(str(error).split())}")
        row_index = group_start + group_rows
    if damaged:
        raise TableCutOff("; ".join(damaged[:3]) + (f"; and {len(damaged) - 3} more" if len(damaged) > 3 else ""))


def csv_urls(path: Path, url_column: str | None, gzipped: bool) -> Iterator[tuple[int, object]]:
    """(row_index, URL) for every row of a CSV or TSV file (delimiter sniffed from the header line)."""
    with _open_table(path, gzipped, peek=True) as stream:
        header = stream.readline(MAX_LINE_BYTES)
    delimiter = "\t" if header.count(b"\t") > header.count(b",") else ","
    with _open_table(path, gzipped) as stream:
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=1 << 22),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types={}, strings_can_be_null=True),
        )
        column = _pick_column(reader.schema.names, url_column, path)
        index = reader.schema.get_field_index(column)
        row_index = 0
        for batch in reader:
            for value in batch.column(index).to_pylist():
                yield row_index, value
                row_index += 1


def csv_names_url_column(path: Path) -> bool:
    """Whether the header line of a plain CSV or TSV file names one of URL_COLUMN_CANDIDATES."""
    with open(path, "rb") as stream:
        header = stream.readline(65536).decode("utf-8", "replace").strip().replace("\t", ",").split(",")
    return any(name.strip().strip("\"'") in URL_COLUMN_CANDIDATES for name in header)


def jsonl_urls(path: Path, url_column: str | None, gzipped: bool) -> Iterator[tuple[int, object]]:
    """(row_index, URL) for every line of a JSON-lines file; a line that is not a JSON object yields
    (row_index, ValueError) so the caller can count it as a bad record and go on."""
    column: str | None = url_column
    with _open_table(path, gzipped) as stream:
        for row_index, line in enumerate(_bounded_lines(stream)):
            if line is None:
                yield row_index, ValueError(f"line {row_index + 1}: longer than {MAX_LINE_BYTES:,} bytes, not read")
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as error:
                yield row_index, ValueError(f"line {row_index + 1}: {error}")
                continue
            if column is None:
                column = _pick_column(list(row), None, path)
            yield row_index, row.get(column)


def _bounded_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The lines of `stream`, each None where it is longer than MAX_LINE_BYTES (read past, never held whole)."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES:
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
            yield None
            continue
        yield line
