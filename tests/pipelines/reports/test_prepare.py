"""prepare_bundle: what goes into a bundle, the report-once rule, amendments, and bundles written whole."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pipelines.reports import BundleNotWritable, Reporter, mark_bundle, prepare_bundle
from pipelines.reports.items import url_key
from tests.report_helpers import CREATED, NOW, SNAPSHOT, add_verdict, build_store, confirm

REPORTER = Reporter(email="trust-safety@example.org")


def _prepare(store, tmp_path, profile="generic-json", **options):
    options.setdefault("now", NOW)
    return prepare_bundle(store, SNAPSHOT, profile, tmp_path / "out", **options)


def _urls(summary) -> list[str]:
    document = json.loads((summary.path / "report.json").read_text())
    return [url for item in document["items"] for url in item["urls"]]


def test_only_confirmed_verdicts_by_default(store, tmp_path):
    summary = _prepare(store, tmp_path)
    assert _urls(summary) == ["http://bad.example.org/gallery?id=7", "https://short.test/r/abc"]
    assert (summary.reports, summary.amendments, summary.skipped) == (2, 0, 0)


def test_include_auto_adds_auto_verdicts_of_reportable_lists_only(store, tmp_path):
    add_verdict(
        store, "http://other.example.org/", "hotline-urls", "other.example.org", "domain", "static", None, "auto"
    )
    summary = _prepare(store, tmp_path, include_auto=True)
    assert "https://cdn.example.org/pic.png" in _urls(summary)  # hotline-hashes is reportable
    assert "http://other.example.org/" not in _urls(summary)  # hotline-urls is not


def test_review_states_other_than_confirmed_are_never_reported(store, tmp_path):
    urls = _urls(_prepare(store, tmp_path, include_auto=True))
    assert "http://198.51.100.7/x" not in urls  # needs_review
    assert "http://benign.example.org/" not in urls  # false_positive


def test_a_second_prepare_right_after_the_first_prepares_nothing(store, tmp_path):
    first = _prepare(store, tmp_path)
    second = _prepare(store, tmp_path, now=NOW + timedelta(hours=1))
    assert (second.bundle_id, second.path, second.items, second.skipped) == (None, None, 0, first.items)
    assert "nothing new to report to generic" in second.line()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [first.bundle_id]


def test_a_filed_url_is_not_reported_again(store, tmp_path):
    first = _prepare(store, tmp_path)
    mark_bundle(store, first.path, "filed", external_id="TEST-1")
    assert _prepare(store, tmp_path, now=NOW + timedelta(days=7)).bundle_id is None


def test_the_ledger_is_per_hotline(store, tmp_path):
    _prepare(store, tmp_path)
    other = _prepare(store, tmp_path, profile="iwf-csv")
    assert other.items == 2


def test_the_same_url_in_a_later_snapshot_is_no_news(store, tmp_path):
    mark_bundle(store, _prepare(store, tmp_path).path, "filed", external_id="TEST-1")
    store.execute("INSERT INTO snapshots (name) VALUES ('SYN-2026-02')")
    add_verdict(store, "http://bad.example.org/gallery?id=7", "hotline-urls", "bad.example.org/gallery", "url",
                "static", None, "confirmed", snapshot="SYN-2026-02")  # fmt: skip
    later = prepare_bundle(store, "SYN-2026-02", "generic-json", tmp_path / "out", now=NOW + timedelta(days=30))
    assert (later.bundle_id, later.skipped) == (None, 1)


def test_new_evidence_about_a_filed_url_is_an_amendment(store, tmp_path):
    first = _prepare(store, tmp_path)
    mark_bundle(store, first.path, "filed", external_id="TEST-1")
    hop = {"chain": ["https://short.test/r/abc", "https://img2.bad.test/y"], "flagged_hop": "https://img2.bad.test/y"}
    new_id = add_verdict(store, "https://short.test/r/abc", "hotline-urls", "img2.bad.test", "domain", "redirect", hop,
                         "confirmed")  # fmt: skip
    later = _prepare(store, tmp_path, now=NOW + timedelta(days=1))
    assert (later.reports, later.amendments, later.skipped) == (0, 1, 1)
    [item] = json.loads((later.path / "report.json").read_text())["items"]
    assert item["kind"] == "amendment"
    assert item["amends"] == {"bundle_id": first.bundle_id, "external_id": "TEST-1"}
    assert [verdict["verdict_id"] for verdict in item["verdicts"]] == [new_id]  # only what is new
    assert json.loads((later.path / "bundle.json").read_text())["amends"] == [first.bundle_id]


def test_new_evidence_about_a_declined_url_is_not_prepared(store, tmp_path):
    mark_bundle(store, _prepare(store, tmp_path).path, "declined")
    add_verdict(store, "https://short.test/r/abc", "hotline-urls", "img2.bad.test", "domain", "redirect", {},
                "confirmed")  # fmt: skip
    assert _prepare(store, tmp_path, now=NOW + timedelta(days=1)).bundle_id is None


def test_a_retracted_url_may_be_prepared_again(store, tmp_path):
    first = _prepare(store, tmp_path)
    mark_bundle(store, first.path, "filed", external_id="TEST-1")
    mark_bundle(store, first.path, "retracted", note="filed in error")
    again = _prepare(store, tmp_path, now=NOW + timedelta(days=1))
    assert (again.reports, again.amendments) == (2, 0)


def test_spellings_of_one_canonical_url_are_one_item(store, tmp_path):
    add_verdict(store, "http://BAD.example.org/gallery?id=7", "hotline-urls", "bad.example.org/gallery", "url",
                "static", None, "confirmed")  # fmt: skip
    [item, _] = json.loads((_prepare(store, tmp_path).path / "report.json").read_text())["items"]
    assert item["urls"] == ["http://BAD.example.org/gallery?id=7", "http://bad.example.org/gallery?id=7"]
    assert item["url_key"] == url_key("http://bad.example.org/gallery?id=7")
    assert len(item["verdicts"]) == 2


def test_the_ledger_and_the_bundle_record_what_was_prepared(store, tmp_path):
    summary = _prepare(store, tmp_path)
    bundle = store.execute("SELECT hotline, profile, items, status, path FROM report_bundles").fetchall()
    assert bundle == [("generic", "generic-json", 2, "prepared", str(summary.path.resolve()))]
    ledger = store.execute("SELECT url, kind, status, bundle_id FROM report_ledger ORDER BY url").fetchall()
    assert ledger == [
        ("http://bad.example.org/gallery?id=7", "report", "prepared", summary.bundle_id),
        ("https://short.test/r/abc", "report", "prepared", summary.bundle_id),
    ]


def test_bundle_json_lists_every_file_with_its_sha256_and_says_nothing_was_sent(store, tmp_path):
    import hashlib

    summary = _prepare(store, tmp_path)
    manifest = json.loads((summary.path / "bundle.json").read_text())
    assert manifest["files"] == {"report.json": hashlib.sha256((summary.path / "report.json").read_bytes()).hexdigest()}
    assert manifest["counts"] == {
        "items": 2, "reports": 2, "amendments": 0, "verdicts": 2, "skipped_already_reported": 0
    }  # fmt: skip
    assert (manifest["bundle_id"], manifest["hotline"], manifest["snapshot"]) == (
        summary.bundle_id,
        "generic",
        SNAPSHOT,
    )
    assert manifest["created_at"] == "2026-12-01T12:00:00Z"
    assert "sent nothing" in manifest["statement"] and "neither viewed nor stored" in manifest["statement"]


@pytest.mark.parametrize("profile", ["ncmec-xml", "iwf-csv", "generic-json"])
def test_same_store_and_time_give_the_same_bytes(tmp_path, profile):
    """Two stores built alike, prepared at the same `now`: the same bundle id and the same bytes (a bundle's
    time and id come from `now`; the ledger's `path` is where it was written)."""
    folders = []
    for name in ("one", "two"):
        con = build_store(tmp_path / name)
        folders.append(_prepare(con, tmp_path / name, profile=profile, reporter=REPORTER).path)
        con.close()
    assert folders[0].name == folders[1].name
    names = sorted(path.name for path in folders[0].iterdir())
    assert names == sorted(path.name for path in folders[1].iterdir())
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes()


def test_an_existing_bundle_folder_is_not_overwritten(store, tmp_path):
    first = _prepare(store, tmp_path)
    store.execute("DELETE FROM report_ledger")
    with pytest.raises(BundleNotWritable, match="already exists"):
        _prepare(store, tmp_path)
    assert first.path.is_dir()


def test_a_bundle_that_cannot_be_written_leaves_no_folder_and_no_ledger_row(store, tmp_path):
    (tmp_path / "out").write_text("a file where the folder should go")
    with pytest.raises(BundleNotWritable, match="cannot write the bundle"):
        _prepare(store, tmp_path)
    assert store.execute("SELECT count(*) FROM report_ledger").fetchone() == (0,)


def test_the_incident_time_is_when_the_first_verdict_was_recorded(store, tmp_path):
    later = CREATED + timedelta(days=2)
    add_verdict(store, "https://short.test/r/abc", "hotline-urls", "img2.bad.test", "domain", "redirect", {},
                "confirmed", created=later)  # fmt: skip
    items = json.loads((_prepare(store, tmp_path).path / "report.json").read_text())["items"]
    assert items[1]["first_detected"] == "2026-11-30T09:30:00Z"


def test_confirming_more_verdicts_later_reports_only_those(store, tmp_path):
    mark_bundle(store, _prepare(store, tmp_path).path, "filed", external_id="TEST-1")
    confirm(store, "http://198.51.100.7/x")
    assert _urls(_prepare(store, tmp_path, now=NOW + timedelta(days=1))) == ["http://198.51.100.7/x"]


def test_a_ledger_that_cannot_be_written_leaves_no_bundle_folder(store, tmp_path, monkeypatch):
    from pipelines.reports import bundle as bundle_module

    def broken(*args):
        raise RuntimeError("the store refused the rows")

    monkeypatch.setattr(bundle_module, "record_bundle", broken)
    with pytest.raises(RuntimeError, match="refused"):
        _prepare(store, tmp_path)
    assert list((tmp_path / "out").iterdir()) == []
