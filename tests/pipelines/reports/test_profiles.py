"""What each profile writes: ncmec-xml documents that validate against an XSD, iwf-csv rows, generic-json
evidence, and nothing fetched in any of them."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from pipelines.reports import InvalidReportDocument, ReportConfigError, Reporter, prepare_bundle
from pipelines.store import publish_rows
from tests.report_helpers import NOW, SNAPSHOT, XSD, add_verdict

REPORTER = Reporter(email="trust-safety@example.org", first_name="Test", company="Example template")


def _bundle(store, tmp_path, profile, **options):
    options.setdefault("now", NOW)
    return prepare_bundle(store, SNAPSHOT, profile, tmp_path / "out", include_auto=True, **options).path


def test_ncmec_xml_writes_one_report_per_url_and_each_validates(store, tmp_path):
    from lxml import etree

    folder = _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER, xsd=XSD)
    documents = sorted(folder.glob("*.xml"))
    assert [path.name for path in documents] == ["0001-report.xml", "0002-report.xml", "0003-report.xml"]
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert all(schema.validate(etree.parse(str(path))) for path in documents)
    assert json.loads((folder / "bundle.json").read_text())["validated_against"]["xsd"] == XSD.name


def test_ncmec_xml_is_a_web_page_incident_with_how_it_was_detected(store, tmp_path):
    folder = _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER)
    report = ET.parse(folder / "0002-report.xml").getroot()
    summary = report.find("incidentSummary")
    assert summary.findtext("incidentType") == "Child Pornography (possession, manufacture, and distribution)"
    assert summary.findtext("incidentDateTime") == "2026-11-30T09:30:00Z"
    incident = report.find("internetDetails/webPageIncident")
    assert [url.text for url in incident.findall("url")] == ["https://cdn.example.org/pic.png"]
    info = incident.findtext("additionalInfo")
    assert "content hash: pdq " + "f" * 64 in info and "distance 12" in info and "'hotline-hashes' version 1" in info
    assert f"snapshot {SNAPSHOT}; found in corpus/a.warc.gz" in info
    assert "The content was neither viewed nor stored by the tool." in info
    assert report.findtext("reporter/reportingPerson/email") == "trust-safety@example.org"
    assert report.findtext("reporter/companyTemplate") == "Example template"
    assert report.find(".//fileDetails") is None  # no file is held, so none is described


def test_ncmec_xml_says_the_redirect_chain(store, tmp_path):
    info = ET.parse(_bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER) / "0003-report.xml").findtext(
        "internetDetails/webPageIncident/additionalInfo"
    )
    assert "redirect: chain https://short.test/r/abc -> https://img.bad.test/x" in info


def test_ncmec_xml_escapes_what_it_quotes(store, tmp_path):
    add_verdict(store, "http://bad.example.org/a?x=1&y=<2>\x01", "hotline-urls", 'entry "<&>"', "url", "static",
                None, "confirmed")  # fmt: skip
    folder = _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER, xsd=XSD)
    report = ET.parse(folder / "0001-report.xml").getroot()
    # a character XML cannot hold, even escaped, becomes U+FFFD
    assert report.findtext("internetDetails/webPageIncident/url") == "http://bad.example.org/a?x=1&y=<2>\ufffd"
    assert "entry 'entry \"<&>\"'" in report.findtext("internetDetails/webPageIncident/additionalInfo")


def test_an_amendment_says_which_report_it_adds_to(store, tmp_path):
    from pipelines.reports import mark_bundle

    first = _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER)
    mark_bundle(store, first, "filed", external_id="CT-TEST-1")
    add_verdict(store, "https://short.test/r/abc", "hotline-urls", "img2.bad.test", "domain", "redirect", {},
                "confirmed")  # fmt: skip
    later = prepare_bundle(store, SNAPSHOT, "ncmec-xml", tmp_path / "later", reporter=REPORTER, xsd=XSD)
    [document] = later.path.glob("*.xml")
    assert document.name == "0001-amendment.xml"
    note = ET.parse(document).getroot().findtext("additionalInfo")
    assert f"already reported in linksweep bundle {first.name} (filed with the hotline as CT-TEST-1)" in note


def test_a_document_the_xsd_refuses_is_named_and_nothing_is_written(store, tmp_path):
    strict = tmp_path / "strict.xsd"
    strict.write_text(XSD.read_text().replace('name="platform" type="xs:string" minOccurs="0"', 'name="platform"'))
    with pytest.raises(InvalidReportDocument, match=r"0001-report.xml: does not validate against .*strict.xsd: line"):
        _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER, xsd=strict)
    assert not (tmp_path / "out").exists()
    assert store.execute("SELECT count(*) FROM report_ledger").fetchone() == (0,)


def test_an_xsd_referring_to_a_remote_schema_is_refused(store, tmp_path):
    remote = tmp_path / "remote.xsd"
    remote.write_text(
        XSD.read_text().replace(
            'elementFormDefault="qualified">',
            'elementFormDefault="qualified">\n<xs:include schemaLocation="https://schemas.example.org/x.xsd"/>',
        )
    )
    with pytest.raises(ReportConfigError, match="refers to the remote schema https://schemas.example.org/x.xsd"):
        _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER, xsd=remote)


@pytest.mark.parametrize("text", ["not xml", "<a/>"])
def test_an_xsd_that_is_no_schema_is_a_config_error(store, tmp_path, text):
    bad = tmp_path / "bad.xsd"
    bad.write_text(text)
    with pytest.raises(ReportConfigError, match="--xsd .*bad.xsd"):
        _bundle(store, tmp_path, "ncmec-xml", reporter=REPORTER, xsd=bad)


def test_ncmec_xml_needs_the_reporter_s_email(store, tmp_path):
    with pytest.raises(ReportConfigError, match="ncmec-xml needs a reporter with an email address"):
        _bundle(store, tmp_path, "ncmec-xml", reporter=Reporter(first_name="Test"))


def test_xsd_with_a_profile_that_writes_no_xml_is_refused(store, tmp_path):
    with pytest.raises(ReportConfigError, match="profile iwf-csv writes none"):
        _bundle(store, tmp_path, "iwf-csv", xsd=XSD)


def test_iwf_csv_has_a_row_per_url_with_when_how_and_where(store, tmp_path):
    rows = list(csv.DictReader(io.StringIO((_bundle(store, tmp_path, "iwf-csv") / "urls.csv").read_text())))
    assert [row["url"] for row in rows] == [
        "http://bad.example.org/gallery?id=7",
        "https://cdn.example.org/pic.png",
        "https://short.test/r/abc",
    ]
    row = rows[2]
    assert row["first_detected"] == "2026-11-30T09:30:00Z"
    assert row["how_detected"].startswith("redirect: chain https://short.test/r/abc -> https://img.bad.test/x")
    assert (row["snapshot"], row["source_file"]) == (SNAPSHOT, "corpus/a.warc.gz")
    assert row["record_id"] == "<urn:uuid:00000000-0000-0000-0000-000000000001>"
    assert row["verdict_ids"].startswith("v") and row["kind"] == "report"


def test_iwf_csv_neutralizes_formula_cells(store, tmp_path):
    store.execute("UPDATE sources SET path = '=cmd|x'")
    rows = list(csv.DictReader(io.StringIO((_bundle(store, tmp_path, "iwf-csv") / "urls.csv").read_text())))
    assert [row["source_file"] for row in rows] == ["'=cmd|x"] * 3


def test_generic_json_holds_every_verdict_with_its_evidence(store, tmp_path):
    document = json.loads((_bundle(store, tmp_path, "generic-json", reporter=REPORTER) / "report.json").read_text())
    hashed = document["items"][1]
    [verdict] = hashed["verdicts"]
    assert verdict["evidence"] == [{
        "algo": "pdq", "content_hash": "f" * 64, "distance": 12, "final_url": "https://cdn.example.org/pic.png",
        "list_hash": "e" * 64,
    }]  # fmt: skip
    assert (verdict["list_name"], verdict["entry"], verdict["detected_via"]) == (
        "hotline-hashes", "pdq-entry-1", "content-hash"
    )  # fmt: skip
    assert hashed["found_in"] == {"source_file": "corpus/a.warc.gz", "record_id": verdict_record(), "records": 1}
    assert document["reporter"] == {"company": "Example template", "email": "trust-safety@example.org",
                                    "first_name": "Test"}  # fmt: skip


def verdict_record() -> str:
    return "<urn:uuid:00000000-0000-0000-0000-000000000001>"


FETCHED_WORDS = ("body", "thumbnail", "excerpt", "payload", "base64", "content_type")


@pytest.mark.parametrize("profile", ["ncmec-xml", "iwf-csv", "generic-json"])
def test_a_bundle_holds_no_fetched_bytes(store, tmp_path, profile):
    """Only the profile's text files and bundle.json; no field that could carry a body, a thumbnail or an
    excerpt, and nothing of a fetched document (the store holds none: its hashes only)."""
    planted = "SELECT * REPLACE ('image/png' AS content_type, 'sha1:PLANTEDDIGEST' AS payload_digest) FROM documents"
    publish_rows(store, 1, {"documents": planted, "links": "SELECT * FROM links"})
    folder = _bundle(store, tmp_path, profile, reporter=REPORTER)
    for path in folder.iterdir():
        text = path.read_text(encoding="utf-8")  # text: no binary content
        assert "PLANTEDDIGEST" not in text and "image/png" not in text
        lowered = text.lower()
        assert not any(f'"{word}"' in lowered or f"<{word}" in lowered for word in FETCHED_WORDS), path.name
    assert all(path.is_file() for path in folder.iterdir())
