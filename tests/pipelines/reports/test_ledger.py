"""The ledger after a person filed, declined or retracted a bundle by hand, and its refusals."""

from __future__ import annotations

import pytest

from pipelines.reports import LedgerConflict, ReportConfigError, UnknownBundle, ledger_rows, mark_bundle, prepare_bundle
from tests.report_helpers import NOW, SNAPSHOT


@pytest.fixture
def bundle(store, tmp_path):
    return prepare_bundle(store, SNAPSHOT, "iwf-csv", tmp_path / "out", now=NOW)


def _statuses(store) -> set[tuple]:
    ledger = store.execute("SELECT DISTINCT status, external_id FROM report_ledger").fetchall()
    bundles = store.execute("SELECT status, external_id, note FROM report_bundles").fetchall()
    return set(ledger), bundles


def test_filed_by_folder_or_by_id_records_the_hotline_s_id(store, bundle):
    state = mark_bundle(store, bundle.path, "filed", external_id="IWF-TEST-9")
    assert (state.bundle_id, state.status, state.external_id, state.items) == (
        bundle.bundle_id,
        "filed",
        "IWF-TEST-9",
        2,
    )
    assert _statuses(store) == ({("filed", "IWF-TEST-9")}, [("filed", "IWF-TEST-9", None)])
    assert mark_bundle(store, bundle.bundle_id, "filed", external_id="IWF-TEST-9").status == "filed"  # again: no change


def test_filing_twice_under_another_id_is_refused(store, bundle):
    mark_bundle(store, bundle.path, "filed", external_id="IWF-TEST-9")
    with pytest.raises(LedgerConflict, match="was filed as 'IWF-TEST-9'; it cannot be filed again as 'IWF-TEST-10'"):
        mark_bundle(store, bundle.path, "filed", external_id="IWF-TEST-10")


def test_filed_needs_an_external_id(store, bundle):
    with pytest.raises(ReportConfigError, match="--external-id"):
        mark_bundle(store, bundle.path, "filed")


def test_retracting_what_was_never_filed_is_refused(store, bundle):
    with pytest.raises(LedgerConflict, match="is prepared: it can be marked retracted only when filed"):
        mark_bundle(store, bundle.path, "retracted")


def test_a_declined_bundle_cannot_be_filed(store, bundle):
    mark_bundle(store, bundle.path, "declined", note="out of the hotline's remit")
    assert _statuses(store)[1] == [("declined", None, "out of the hotline's remit")]
    with pytest.raises(LedgerConflict, match="is declined: it can be marked filed only when prepared"):
        mark_bundle(store, bundle.path, "filed", external_id="X")


def test_retracted_keeps_the_external_id_and_the_note(store, bundle):
    mark_bundle(store, bundle.path, "filed", external_id="IWF-TEST-9")
    mark_bundle(store, bundle.path, "retracted", note="filed in error")
    assert _statuses(store) == ({("retracted", "IWF-TEST-9")}, [("retracted", "IWF-TEST-9", "filed in error")])


def test_an_unknown_bundle_is_named(store, bundle, tmp_path):
    with pytest.raises(UnknownBundle, match="no report bundle 'b0000' in the ledger"):
        mark_bundle(store, "b0000", "declined")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnknownBundle, match="empty: not a report bundle folder"):
        mark_bundle(store, tmp_path / "empty", "declined")


def test_an_unknown_status_is_refused(store, bundle):
    with pytest.raises(ReportConfigError, match="cannot mark a bundle 'prepared'"):
        mark_bundle(store, bundle.path, "prepared")
    with pytest.raises(ReportConfigError, match="no ledger status 'sent'"):
        ledger_rows(store, status="sent")


def test_ledger_rows_by_hotline_and_status(store, bundle, tmp_path):
    prepare_bundle(store, SNAPSHOT, "generic-json", tmp_path / "generic", now=NOW)
    mark_bundle(store, bundle.path, "filed", external_id="IWF-TEST-9")
    rows = ledger_rows(store)  # oldest first; the two bundles are of the same time
    assert sorted((row.hotline, row.status) for row in rows) == [("generic", "prepared")] * 2 + [("iwf", "filed")] * 2
    filed = ledger_rows(store, hotline="iwf", status="filed")
    assert [row.url for row in filed] == ["http://bad.example.org/gallery?id=7", "https://short.test/r/abc"]
    assert filed[0].as_dict()["prepared_at"] == "2026-12-01T12:00:00Z"
    assert ledger_rows(store, hotline="ncmec") == []
