"""Prepare a report bundle: the reportable verdicts of a snapshot that the ledger has not seen, written by a
profile into a new folder with its bundle.json, and recorded in the ledger. Nothing is sent anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.export import tool_version
from pipelines.reports.errors import BundleNotWritable, ReportConfigError
from pipelines.reports.items import NOT_VIEWED, BundleContent, ReportItem, iso_utc, select_items
from pipelines.reports.ledger import BUNDLE_FILE, BundleRecord, plan_items, record_bundle
from pipelines.reports.profiles import report_profile
from pipelines.reports.reporter import Reporter, require_email
from pipelines.reports.validation import load_schema, validate_documents
from pipelines.store import require_snapshot, transaction

BUNDLE_FORMAT = "linksweep-report-bundle/1"
STATEMENT = (
    "linksweep prepared this bundle for a person to file by hand: it submitted, uploaded and sent nothing, and "
    "opened no network connection to prepare it. The bundle holds no fetched bytes (no bodies, thumbnails or "
    f"excerpts): URLs, where they were found and how they were detected. {NOT_VIEWED}"
)


@dataclass(frozen=True)
class BundleSummary:
    """What `prepare_bundle` did; `bundle_id` and `path` are None when there was nothing new to report."""

    bundle_id: str | None
    path: Path | None
    hotline: str
    profile: str
    snapshot: str
    reports: int
    amendments: int
    skipped: int  # URLs left out: already prepared, filed or declined for this hotline, with no new evidence
    verdicts: int

    @property
    def items(self) -> int:
        return self.reports + self.amendments

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path) if self.path else None, "items": self.items}

    def line(self) -> str:
        skipped = f"; {self.skipped:,} URLs skipped as already reported to {self.hotline}" if self.skipped else ""
        if self.bundle_id is None:
            return f"nothing new to report to {self.hotline} from snapshot {self.snapshot}{skipped}; no bundle written"
        return (
            f"prepared bundle {self.bundle_id} for {self.hotline} ({self.profile}): {self.reports:,} reports, "
            f"{self.amendments:,} amendments ({self.verdicts:,} verdicts){skipped}: {self.path}; "
            "nothing was sent: file it by hand, then `linksweep report filed`"
        )


def _bundle_id(hotline: str, profile: str, snapshot: str, created: datetime, items: list[ReportItem]) -> str:
    identity = [hotline, profile, snapshot, created.isoformat(), [[item.url_key, item.evidence_keys] for item in items]]
    return "b" + hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]


def _bundle_json(content: BundleContent, files: dict[str, bytes], skipped: int, xsd: Path | None) -> bytes:
    amendments = sum(item.kind == "amendment" for item in content.items)
    manifest = {
        "format": BUNDLE_FORMAT,
        "bundle_id": content.bundle_id,
        "hotline": content.hotline,
        "profile": content.profile,
        "snapshot": content.snapshot,
        "tool": {"name": "linksweep", "version": content.tool_version},
        "created_at": iso_utc(content.created_at),
        "counts": {
            "items": len(content.items),
            "reports": len(content.items) - amendments,
            "amendments": amendments,
            "verdicts": sum(len(item.verdicts) for item in content.items),
            "skipped_already_reported": skipped,
        },
        "amends": sorted({item.amends.bundle_id for item in content.items if item.amends}),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "validated_against": {"xsd": xsd.name, "sha256": hashlib.sha256(xsd.read_bytes()).hexdigest()} if xsd else None,
        "statement": STATEMENT,
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _write_folder(final: Path, files: dict[str, bytes], record: BundleRecord, con: duckdb.DuckDBPyConnection,
                  items: list[ReportItem]) -> None:  # fmt: skip
    """Write `files` into `final`, appearing whole (a folder beside it, renamed), and record it in the same
    transaction: a bundle on disk is in the ledger, and the other way round."""
    if final.exists():
        raise BundleNotWritable(f"{final}: already exists; give --out another folder")
    partial = final.with_name(f".{final.name}.partial")
    renamed = False
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        partial.mkdir()
        for name, data in files.items():
            (partial / name).write_bytes(data)
        with transaction(con):
            record_bundle(con, record, items)
            os.rename(partial, final)
            renamed = True
    except BaseException as error:
        shutil.rmtree(final if renamed else partial, ignore_errors=True)
        if isinstance(error, OSError):
            raise BundleNotWritable(f"{final}: cannot write the bundle ({error.strerror or error})") from None
        raise


def prepare_bundle(
    con: duckdb.DuckDBPyConnection,
    snapshot: str,
    profile: str,
    out_dir: Path,
    *,
    include_auto: bool = False,
    reporter: Reporter | None = None,
    xsd: Path | None = None,
    now: datetime | None = None,
) -> BundleSummary:
    """Prepare the bundle of `snapshot` for `profile`'s hotline in `out_dir/BUNDLE_ID/`: its `confirmed`
    verdicts (with `include_auto`, also `auto` verdicts of lists marked reportable), one item per canonical URL,
    less what the ledger holds (ledger.plan_items). XML documents are validated against `xsd` when given,
    before anything is written. `now` (default: the clock) is the bundle's time; with the same `now` and the
    same store, the same bundle id and bytes."""
    chosen = report_profile(profile)
    if chosen.needs_email:
        require_email(reporter, profile)
    if xsd is not None and chosen.name != "ncmec-xml":
        raise ReportConfigError(f"--xsd validates XML report documents; profile {profile} writes none")
    schema = load_schema(xsd) if xsd is not None else None
    require_snapshot(con, snapshot)
    plan = plan_items(con, chosen.hotline, select_items(con, snapshot, include_auto))
    amendments = sum(item.kind == "amendment" for item in plan.items)
    verdicts = sum(len(item.verdicts) for item in plan.items)
    summary = dict(hotline=chosen.hotline, profile=profile, snapshot=snapshot, skipped=plan.skipped)
    if not plan.items:
        return BundleSummary(None, None, reports=0, amendments=0, verdicts=0, **summary)
    created = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    bundle_id = _bundle_id(chosen.hotline, profile, snapshot, created, plan.items)
    content = BundleContent(bundle_id, chosen.hotline, profile, snapshot, created, tool_version(), plan.items, reporter)
    files = chosen.write(content)
    if schema is not None:
        validate_documents(schema, xsd, files)
    files[BUNDLE_FILE] = _bundle_json(content, files, plan.skipped, xsd)
    final = out_dir / bundle_id
    record = BundleRecord(
        bundle_id, chosen.hotline, profile, snapshot, str(final.resolve()),
        hashlib.sha256(files[BUNDLE_FILE]).hexdigest(), created,
    )  # fmt: skip
    _write_folder(final, files, record, con, plan.items)
    return BundleSummary(bundle_id, final, reports=len(plan.items) - amendments, amendments=amendments,
                         verdicts=verdicts, **summary)  # fmt: skip
