"""The report-once ledger: per (hotline, canonical URL), what was prepared, filed, declined or retracted, the
rule that decides what a new bundle holds, and the changes a person records after filing by hand."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.reports.errors import LedgerConflict, ReportConfigError, UnknownBundle
from pipelines.reports.items import Amended, ReportItem, iso_utc
from pipelines.store import transaction

LEDGER_STATES = ("prepared", "filed", "declined", "retracted")
# a URL with a row in one of these states is not prepared again (new evidence: an amendment, unless declined)
HELD_STATES = ("prepared", "filed", "declined")
# the states a bundle may be marked from
MARKABLE_FROM = {"filed": ("prepared",), "declined": ("prepared", "filed"), "retracted": ("filed",)}
BUNDLE_FILE = "bundle.json"


@dataclass(frozen=True)
class Plan:
    """What a new bundle holds: the items to report or amend, and how many were left out as already reported."""

    items: list[ReportItem]
    skipped: int


def plan_items(con: duckdb.DuckDBPyConnection, hotline: str, items: list[ReportItem]) -> Plan:
    """`items` less what the ledger holds for `hotline`: a URL prepared, filed or declined is skipped, unless it
    was prepared or filed and some of its evidence is new: then an amendment with only the new evidence,
    referring to the report it adds to. A retracted URL is reported afresh."""
    held: dict[str, list[tuple]] = {}
    rows = con.execute(
        """
        SELECT url_key, kind, bundle_id, status, external_id, evidence_keys FROM report_ledger
        WHERE hotline = ? AND status IN ('prepared', 'filed', 'declined')
        ORDER BY prepared_at, bundle_id
        """,
        [hotline],
    ).fetchall()
    for row in rows:
        held.setdefault(row[0], []).append(row)
    planned, skipped = [], 0
    for item in items:
        earlier = held.get(item.url_key, [])
        reports = [row for row in earlier if row[1] == "report"]
        if not reports:
            planned.append(item)
            continue
        said = {key for row in earlier for key in row[5]}
        new = set(item.evidence_keys) - said
        if not new or any(row[3] == "declined" for row in earlier):
            skipped += 1
            continue
        _, _, bundle_id, _, external_id, _ = reports[-1]
        planned.append(item.limited_to(new, Amended(bundle_id, external_id)))
    return Plan(planned, skipped)


@dataclass(frozen=True)
class BundleRecord:
    """A bundle as the store records it."""

    bundle_id: str
    hotline: str
    profile: str
    snapshot: str
    path: str
    sha256: str
    prepared_at: datetime


def record_bundle(con: duckdb.DuckDBPyConnection, bundle: BundleRecord, items: list[ReportItem]) -> None:
    """Insert the bundle and a ledger row per item, status prepared (in the caller's transaction)."""
    amendments = sum(item.kind == "amendment" for item in items)
    con.execute(
        "INSERT INTO report_bundles (bundle_id, hotline, profile, snapshot, path, items, amendments, sha256, "
        "prepared_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'prepared')",
        [bundle.bundle_id, bundle.hotline, bundle.profile, bundle.snapshot, bundle.path, len(items), amendments,
         bundle.sha256, bundle.prepared_at],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO report_ledger (hotline, url_key, url, bundle_id, kind, amends, status, verdict_ids, "
        "evidence_keys, prepared_at) VALUES (?, ?, ?, ?, ?, ?, 'prepared', ?, ?, ?)",
        [
            [bundle.hotline, item.url_key, item.url, bundle.bundle_id, item.kind,
             item.amends.bundle_id if item.amends else None, sorted(v.verdict_id for v in item.verdicts),
             item.evidence_keys, bundle.prepared_at]
            for item in items
        ],
    )  # fmt: skip


def bundle_id_of(bundle: str | Path) -> str:
    """The id of a bundle named by its folder (its bundle.json says) or by its id."""
    folder = Path(bundle)
    if not folder.is_dir():
        return str(bundle)
    try:
        return json.loads((folder / BUNDLE_FILE).read_text())["bundle_id"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UnknownBundle(f"{folder}: not a report bundle folder (no readable {BUNDLE_FILE}: {error})") from None


@dataclass(frozen=True)
class BundleState:
    bundle_id: str
    hotline: str
    status: str
    external_id: str | None
    items: int


def mark_bundle(
    con: duckdb.DuckDBPyConnection,
    bundle: str | Path,
    status: str,
    external_id: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> BundleState:
    """Record what became of a bundle a person handled: `filed` (with the hotline's `external_id`), `declined`
    or `retracted`, for the bundle and each of its ledger rows. Marking it again as it is changes nothing."""
    if status not in MARKABLE_FROM:
        raise ReportConfigError(f"cannot mark a bundle {status!r} (use {', '.join(MARKABLE_FROM)})")
    if status == "filed" and not external_id:
        raise ReportConfigError("a filed bundle needs the hotline's id for it (--external-id)")
    bundle_id = bundle_id_of(bundle)
    row = con.execute(
        "SELECT hotline, status, external_id, items FROM report_bundles WHERE bundle_id = ?", [bundle_id]
    ).fetchone()
    if row is None:
        raise UnknownBundle(f"no report bundle {bundle_id!r} in the ledger (see `linksweep report list`)")
    hotline, current, current_id, items = row
    if status == current and (status != "filed" or external_id == current_id):
        return BundleState(bundle_id, hotline, current, current_id, items)
    if status == "filed" and current == "filed":
        raise LedgerConflict(
            f"bundle {bundle_id} was filed as {current_id!r}; it cannot be filed again as {external_id!r}"
        )
    if current not in MARKABLE_FROM[status]:
        raise LedgerConflict(
            f"bundle {bundle_id} is {current}: it can be marked {status} only when {' or '.join(MARKABLE_FROM[status])}"
        )
    external_id = external_id or current_id
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with transaction(con):
        con.execute(
            "UPDATE report_bundles SET status = ?, external_id = ?, note = coalesce(?, note), updated_at = ? "
            "WHERE bundle_id = ?",
            [status, external_id, note, moment, bundle_id],
        )
        con.execute(
            "UPDATE report_ledger SET status = ?, external_id = ?, updated_at = ? WHERE bundle_id = ?",
            [status, external_id, moment, bundle_id],
        )
    return BundleState(bundle_id, hotline, status, external_id, items)


@dataclass(frozen=True)
class LedgerRow:
    hotline: str
    url: str
    url_key: str
    kind: str
    amends: str | None
    status: str
    bundle_id: str
    external_id: str | None
    verdict_ids: list[str]
    prepared_at: datetime
    updated_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["prepared_at"] = iso_utc(self.prepared_at)
        row["updated_at"] = iso_utc(self.updated_at) if self.updated_at else None
        return row


def ledger_rows(
    con: duckdb.DuckDBPyConnection, hotline: str | None = None, status: str | None = None
) -> list[LedgerRow]:
    """The ledger, oldest first, of one hotline and one status when given."""
    if status is not None and status not in LEDGER_STATES:
        raise ReportConfigError(f"no ledger status {status!r} (use {', '.join(LEDGER_STATES)})")
    rows = con.execute(
        """
        SELECT hotline, url, url_key, kind, amends, status, bundle_id, external_id, verdict_ids, prepared_at,
               updated_at
        FROM report_ledger
        WHERE ($hotline IS NULL OR hotline = $hotline) AND ($status IS NULL OR status = $status)
        ORDER BY prepared_at, bundle_id, url
        """,
        {"hotline": hotline, "status": status},
    ).fetchall()
    return [LedgerRow(*row) for row in rows]
