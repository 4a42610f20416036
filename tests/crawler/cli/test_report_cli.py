"""`linksweep report ...` end to end on a store of synthetic verdicts: the prepare -> file by hand -> filed ->
prepare loop, amendments, XSD validation, exit codes, and no network connection at any point."""

from __future__ import annotations

import json
import socket

import pytest

from pipelines.store import open_store
from tests.cli_runner import run
from tests.report_helpers import FIXTURES, SNAPSHOT, XSD, add_verdict, build_store

REPORTER = FIXTURES / "reporter.toml"


@pytest.fixture
def db(tmp_path):
    con = build_store(tmp_path)
    con.close()
    return tmp_path / "db" / "reports.duckdb"


# the review loop and report bundles are local: any connection or name lookup fails the test (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("no_network")


def _prepare(db, out, *options, expect=0):
    return run(db, "report", "prepare", "--snapshot", SNAPSHOT, "--out", str(out), *options, expect=expect)


def _ncmec(db, out, *options, expect=0):
    return _prepare(db, out, "--profile", "ncmec-xml", "--reporter", str(REPORTER), "--xsd", str(XSD), *options,
                    expect=expect)  # fmt: skip


def _summary(db, out, *options) -> dict:
    return json.loads(_ncmec(db, out, "--json", *options).output)


def test_prepare_file_by_hand_then_prepare_again_prepares_nothing_new(db, tmp_path):
    first = _summary(db, tmp_path / "out")
    assert (first["reports"], first["amendments"], first["skipped"]) == (2, 0, 0)
    bundle = tmp_path / "out" / first["bundle_id"]
    assert sorted(path.name for path in bundle.iterdir()) == ["0001-report.xml", "0002-report.xml", "bundle.json"]
    filed = run(db, "report", "filed", str(bundle), "--external-id", "CT-TEST-1")
    assert f"bundle {first['bundle_id']} (ncmec, 2 items): filed as CT-TEST-1" in filed.output
    second = _ncmec(db, tmp_path / "out")
    assert "nothing new to report to ncmec from snapshot SYN-2026-01; 2 URLs skipped" in second.output
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [first["bundle_id"]]


def test_prepare_twice_without_filing_prepares_nothing_the_second_time(db, tmp_path):
    _ncmec(db, tmp_path / "out")
    assert _summary(db, tmp_path / "out")["bundle_id"] is None


def test_new_evidence_for_a_filed_url_is_prepared_as_an_amendment(db, tmp_path):
    first = _summary(db, tmp_path / "out")
    run(db, "report", "filed", first["bundle_id"], "--external-id", "CT-TEST-1")
    hashed = {"algo": "pdq", "content_hash": "a" * 64, "list_hash": "b" * 64, "distance": 3}
    con = open_store(db)
    add_verdict(con, "https://short.test/r/abc", "hotline-hashes", "pdq-entry-2", "content", "content-hash", hashed,
                "confirmed")  # fmt: skip
    con.close()
    later = _summary(db, tmp_path / "out")
    assert (later["reports"], later["amendments"], later["skipped"]) == (0, 1, 1)
    listed = json.loads(run(db, "report", "list", "--hotline", "ncmec", "--json").output)
    assert [(row["kind"], row["status"], row["amends"]) for row in listed] == [
        ("report", "filed", None), ("report", "filed", None), ("amendment", "prepared", first["bundle_id"])
    ]  # fmt: skip


def test_report_list_shows_the_ledger_and_filters_it(db, tmp_path):
    first = _summary(db, tmp_path / "out")
    run(db, "report", "declined", first["bundle_id"], "--note", "not in the hotline's remit")
    lines = run(db, "report", "list").output.splitlines()
    assert lines == [
        f"ncmec\tdeclined\treport\t{first['bundle_id']}\t-\thttp://bad.example.org/gallery?id=7",
        f"ncmec\tdeclined\treport\t{first['bundle_id']}\t-\thttps://short.test/r/abc",
    ]
    assert run(db, "report", "list", "--status", "filed", "--json").output.strip() == "[]"
    assert run(db, "-q", "report", "list").output.splitlines() == lines  # the data asked for survives -q


def test_retracted_urls_are_prepared_again(db, tmp_path):
    first = _summary(db, tmp_path / "out")
    run(db, "report", "filed", first["bundle_id"], "--external-id", "CT-TEST-1")
    run(db, "report", "retracted", first["bundle_id"], "--note", "filed in error")
    assert _summary(db, tmp_path / "out")["reports"] == 2


def test_iwf_csv_and_generic_json_need_no_reporter(db, tmp_path):
    for profile, name in (("iwf-csv", "urls.csv"), ("generic-json", "report.json")):
        summary = json.loads(_prepare(db, tmp_path / profile, "--profile", profile, "--json").output)
        assert (tmp_path / profile / summary["bundle_id"] / name).is_file()


def test_include_auto_adds_the_reportable_hash_list_match(db, tmp_path):
    assert _summary(db, tmp_path / "out", "--include-auto")["reports"] == 3


def test_a_document_the_xsd_refuses_exits_1_and_leaves_nothing(db, tmp_path):
    strict = tmp_path / "strict.xsd"
    strict.write_text(XSD.read_text().replace('name="platform" type="xs:string" minOccurs="0"', 'name="platform"'))
    result = _prepare(db, tmp_path / "out", "--profile", "ncmec-xml", "--reporter", str(REPORTER), "--xsd",
                      str(strict), expect=1)  # fmt: skip
    assert "0001-report.xml: does not validate against" in result.output and "platform" in result.output
    assert not (tmp_path / "out").exists()
    assert run(db, "report", "list", "--json").output.strip() == "[]"


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--profile", "ncmec-xml"], "ncmec-xml needs a reporter with an email address"),
        (["--profile", "ncmec-xml", "--reporter", "BAD"], "[reporter] fax: unknown key"),
        (["--profile", "iwf-csv", "--xsd", str(XSD)], "profile iwf-csv writes none"),
        (["--profile", "smtp"], "'smtp' is not one of"),
    ],
)
def test_usage_and_config_errors_exit_2(db, tmp_path, arguments, complaint):
    bad = tmp_path / "bad.toml"
    bad.write_text('[reporter]\nemail = "a@example.org"\nfax = "1"\n')
    arguments = [str(bad) if argument == "BAD" else argument for argument in arguments]
    assert complaint in _prepare(db, tmp_path / "out", *arguments, expect=2).output


def test_an_unknown_snapshot_exits_2(db, tmp_path):
    result = run(db, "report", "prepare", "--snapshot", "NOPE", "--profile", "iwf-csv", "--out", str(tmp_path),
                 expect=2)  # fmt: skip
    assert "no snapshot 'NOPE'" in result.output


def test_ledger_errors_exit_2(db, tmp_path):
    first = _summary(db, tmp_path / "out")
    assert "no report bundle 'b0' in the ledger" in run(db, "report", "declined", "b0", expect=2).output
    assert (
        "can be marked retracted only when filed" in run(db, "report", "retracted", first["bundle_id"], expect=2).output
    )
    run(db, "report", "filed", first["bundle_id"], "--external-id", "CT-1")
    again = run(db, "report", "filed", first["bundle_id"], "--external-id", "CT-2", expect=2)
    assert "was filed as 'CT-1'; it cannot be filed again as 'CT-2'" in again.output


def test_a_bundle_folder_that_cannot_be_written_exits_4(db, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    out = tmp_path / "file" / "out"
    assert "cannot write the bundle" in _prepare(db, out, "--profile", "iwf-csv", expect=4).output


def test_the_no_network_guard_itself_works():
    with pytest.raises(AssertionError, match="a network call was attempted"):
        socket.create_connection(("192.0.2.1", 80))
