"""Profile iwf-csv: a URL list, one row per URL with when, how and where it was found (IWF and INHOPE
hotlines take URLs; their analysts assess each)."""

from __future__ import annotations

import io

import pyarrow as pa

from pipelines.export import write_csv
from pipelines.reports.items import BundleContent, iso_utc

FILE_NAME = "urls.csv"
COLUMNS = (
    "url",
    "first_detected",
    "how_detected",
    "snapshot",
    "source_file",
    "record_id",
    "verdict_ids",
    "also_written_as",
    "kind",
    "amends_bundle",
    "amends_external_id",
)


def write(content: BundleContent) -> dict[str, bytes]:
    """{`urls.csv`: its bytes}; cells a spreadsheet would run as a formula are neutralized (pipelines.export)."""
    rows = [
        {
            "url": item.url,
            "first_detected": iso_utc(item.first_detected),
            "how_detected": " | ".join(item.how_detected()),
            "snapshot": content.snapshot,
            "source_file": item.source.path if item.source else None,
            "record_id": item.source.record_id if item.source else None,
            "verdict_ids": " ".join(verdict.verdict_id for verdict in item.verdicts),
            "also_written_as": " ".join(item.urls[1:]) or None,
            "kind": item.kind,
            "amends_bundle": item.amends.bundle_id if item.amends else None,
            "amends_external_id": item.amends.external_id if item.amends else None,
        }
        for item in content.items
    ]
    schema = pa.schema([(name, pa.string()) for name in COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    stream = io.BytesIO()
    write_csv(pa.RecordBatchReader.from_batches(schema, table.to_batches()), stream)
    return {FILE_NAME: stream.getvalue()}
