"""URL tables (Parquet, JSONL, CSV; image-text datasets in the LAION/img2dataset style): one document per row."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

# Column names tried, in order, when the user gives no --url-column (LAION uses "URL", img2dataset "url").
URL_COLUMN_CANDIDATES = ("url", "URL", "Url", "link", "href", "uri", "image_url", "img_url")
ROWS_PER_BATCH = 65_536


class TableError(ValueError):
    """The table cannot be read as a URL table (no URL column, unreadable format)."""


def _pick_column(columns: list[str], url_column: str | None, path: Path) -> str:
    if url_column:
        if url_column not in columns:
            raise TableError(f"no column {url_column!r} (columns: {', '.join(columns[:20])})")
        return url_column
    for candidate in URL_COLUMN_CANDIDATES:
        if candidate in columns:
            return candidate
    raise TableError(f"no URL column found among {', '.join(columns[:20])}; name it with --url-column")


def parquet_urls(path: Path, url_column: str | None) -> Iterator[tuple[int, object]]:
    """(row_index, value of the URL column) for every row of a Parquet file, read in batches."""
    import pyarrow.parquet as pq  # here: a WARC-only ingest need not import it

    parquet = pq.ParquetFile(path)
    column = _pick_column(parquet.schema_arrow.names, url_column, path)
    row_index = 0
    for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH, columns=[column]):
        for value in batch.column(0).to_pylist():
            yield row_index, value
            row_index += 1


def csv_urls(path: Path, url_column: str | None, gzipped: bool) -> Iterator[tuple[int, object]]:
    """(row_index, URL) for every row of a CSV or TSV file (delimiter sniffed from the header line)."""
    import pyarrow.csv as pa_csv  # here: a WARC-only ingest need not import it

    opener = gzip.open if gzipped else open
    with opener(path, "rb") as stream:
        header = stream.readline()
    delimiter = "\t" if header.count(b"\t") > header.count(b",") else ","
    with opener(path, "rb") as stream:
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


def jsonl_urls(path: Path, url_column: str | None, gzipped: bool) -> Iterator[tuple[int, object]]:
    """(row_index, URL) for every line of a JSON-lines file; a line that is not a JSON object yields
    (row_index, ValueError) so the caller can count it as a bad record and go on."""
    opener = gzip.open if gzipped else open
    column: str | None = url_column
    with opener(path, "rb") as stream:
        for row_index, line in enumerate(stream):
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


def table_urls(path: Path, container: str, gzipped: bool, url_column: str | None) -> Iterator[tuple[int, object]]:
    if container == "parquet":
        return parquet_urls(path, url_column)
    if container == "csv":
        return csv_urls(path, url_column, gzipped)
    if container == "jsonl":
        return jsonl_urls(path, url_column, gzipped)
    raise TableError(f"{container} is not a table format")
