"""The buckets of the URL index (pipelines/store/url_index.py): which of `url_buckets` buckets a URL or host is
in, and a table split by bucket, as a source's URL and host parts are written (one row group each)."""

from __future__ import annotations

import zlib

import pyarrow as pa
import pyarrow.compute as pc

# Buckets of the URL index: how many units an ingest's fold is split into. Fixed for a store once it has
# URLs (recorded in store_settings as url_buckets).
URL_BUCKETS = 16


def url_bucket(values: pa.Array | pa.ChunkedArray, buckets: int = URL_BUCKETS) -> pa.Array:
    """The bucket of each URL (or host): CRC-32 of its UTF-8 bytes modulo `buckets` (the same on every version
    and machine); 0 for NULL."""
    return pa.array(
        [zlib.crc32(value.encode()) % buckets if value is not None else 0 for value in values.to_pylist()],
        pa.int16(),
    )


def bucketed_batches(table: pa.Table, column: str, buckets: int = URL_BUCKETS) -> list[pa.Table]:
    """`table` with a `bucket` column, split into one table per bucket present (in bucket order): written as
    one Parquet row group each, so that a fold reads only its bucket's row groups."""
    bucket = url_bucket(table.column(column), buckets)
    table = table.append_column("bucket", bucket)
    order = pc.sort_indices(bucket)
    table = table.take(order)
    sorted_buckets = table.column("bucket").to_numpy()
    pieces = []
    start = 0
    while start < len(sorted_buckets):
        end = int(sorted_buckets.searchsorted(sorted_buckets[start], side="right"))
        pieces.append(table.slice(start, end - start))
        start = end
    return pieces
