"""Profile generic-json: every item with all its evidence, for a hotline (or a person) without a set format."""

from __future__ import annotations

import json

from pipelines.reports.items import HASH_NOTE, NOT_VIEWED, BundleContent, iso_utc

FILE_NAME = "report.json"
FORMAT = "linksweep-report/1"


def write(content: BundleContent) -> dict[str, bytes]:
    """{`report.json`: its bytes}: sorted keys, items in URL order, the same bytes for the same content."""
    document = {
        "format": FORMAT,
        "bundle_id": content.bundle_id,
        "snapshot": content.snapshot,
        "created_at": iso_utc(content.created_at),
        "tool": {"name": "linksweep", "version": content.tool_version},
        "reporter": content.reporter.as_dict() if content.reporter else None,
        "items": [
            {
                "url_key": item.url_key,
                "urls": list(item.urls),
                "kind": item.kind,
                "amends": {"bundle_id": item.amends.bundle_id, "external_id": item.amends.external_id}
                if item.amends
                else None,
                "amendment_note": content.amendment_note(item),
                "first_detected": iso_utc(item.first_detected),
                "found_in": {
                    "source_file": item.source.path,
                    "record_id": item.source.record_id,
                    "records": item.source.records,
                }
                if item.source
                else None,
                "how_detected": item.how_detected(),
                "verdicts": [verdict.as_dict() for verdict in item.verdicts],
            }
            for item in content.items
        ],
        "statements": [NOT_VIEWED, HASH_NOTE],
    }
    return {FILE_NAME: (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()}
