"""The URL index's buckets: the same for a URL on every version and machine, and one row group each."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store import url_buckets
from pipelines.store.url_buckets import bucketed_batches, url_bucket
from pipelines.store.url_index import fold_tasks

URLS = ["https://example.org/", "https://a.test/x?y=1", "http://[2001:db8::1]/", "https://ü.example.org/", None]


# CRC-32 (ISO-HDLC, as zlib computes it) of each URL's UTF-8 bytes: fixed values, for a fixed definition
CRC32 = [3437926341, 2610298300, 3402141885, 910703316, None]


def test_a_bucket_is_the_crc32_of_the_url_modulo_the_count():
    """Pinned values: a bucket is the same on every version and machine, or a URL would land in another
    bucket than the store's parts hold it in, and be recorded twice."""
    for buckets in (1, 16, 7):
        expected = [crc % buckets if crc is not None else 0 for crc in CRC32]
        assert url_bucket(pa.array(URLS, pa.string()), buckets).to_pylist() == expected


def test_each_bucket_is_one_row_group_of_its_part(tmp_path):
    table = pa.table({"url": pa.array([f"https://h{i}.example.org/{i}" for i in range(500)], pa.string())})
    pieces = bucketed_batches(table, "url", 16)
    path = tmp_path / "urls.parquet"
    with pq.ParquetWriter(path, pieces[0].schema) as writer:
        for piece in pieces:
            writer.write_table(piece)
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_rows == 500 and metadata.num_row_groups == len(pieces) == 16
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(1).statistics  # bucket
        assert statistics.min == statistics.max == group


def test_the_fold_deals_every_bucket_to_exactly_one_unit(tmp_path):
    for buckets, tasks in ((16, 2), (16, 5), (3, 8), (1, 1)):
        dealt = [bucket for task in fold_tasks(tmp_path, 1, [1, 2], buckets, tasks) for bucket in task.buckets_of_task]
        assert sorted(dealt) == list(range(buckets))


def test_a_new_store_records_its_bucket_count(tmp_path):
    from pipelines.store import URL_BUCKETS, open_store

    con = open_store(tmp_path / "s.duckdb")
    try:
        assert url_buckets(con) == URL_BUCKETS
    finally:
        con.close()
