"""Profile ncmec-xml: one NCMEC CyberTipline `report` document per URL, a web-page incident with no file.

A document per URL rather than one file of many: the CyberTipline takes one `report` per submission and answers
each with its own report id, so a person submits, finishes or retracts each on its own. The hashes of a hash
match go into the incident's `additionalInfo`, not `fileDetails`, which describes an uploaded file (linksweep
holds none). Element names and order follow docs/reports.md; validate against the hotline's own XSD (`--xsd`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from pipelines.reports.items import HASH_NOTE, NOT_VIEWED, BundleContent, ReportItem, iso_utc

INCIDENT_TYPE = "Child Pornography (possession, manufacture, and distribution)"
# characters XML 1.0 cannot hold, even escaped
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Reporter fields -> reportingPerson children, and -> reporter children after reportingPerson
PERSON_FIELDS = (("first_name", "firstName"), ("last_name", "lastName"), ("phone", "phone"), ("email", "email"))
REPORTER_FIELDS = (("company", "companyTemplate"), ("terms_of_service", "termsOfService"), ("legal_url", "legalURL"))


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = _NOT_XML.sub("\ufffd", text)
    return child


def incident_info(content: BundleContent, item: ReportItem) -> str:
    """webPageIncident/additionalInfo: where the URL was found and how it was detected, line by line."""
    lines = [
        f"linksweep detected this URL in corpus snapshot {content.snapshot}; found {item.found_in()}.",
        "How it was detected:",
        *(f"- {line}" for line in item.how_detected()),
        f"linksweep verdicts: {', '.join(verdict.verdict_id for verdict in item.verdicts)}.",
    ]
    if any(verdict.detected_via in ("content-hash", "hash-service") for verdict in item.verdicts):
        lines.append(HASH_NOTE)
    lines.append(NOT_VIEWED)
    return "\n".join(lines)


def report_document(content: BundleContent, number: int, item: ReportItem) -> bytes:
    report = ET.Element("report")
    summary = _add(report, "incidentSummary")
    _add(summary, "incidentType", INCIDENT_TYPE)
    _add(summary, "incidentDateTime", iso_utc(item.first_detected))
    _add(summary, "incidentDateTimeDescription", "When linksweep first recorded a verdict about this URL.")
    incident = _add(_add(report, "internetDetails"), "webPageIncident")
    for url in item.urls:
        _add(incident, "url", url)
    _add(incident, "additionalInfo", incident_info(content, item))
    reporter = _add(report, "reporter")
    person = _add(reporter, "reportingPerson")
    for field, tag in PERSON_FIELDS:
        if getattr(content.reporter, field):
            _add(person, tag, getattr(content.reporter, field))
    for field, tag in REPORTER_FIELDS:
        if getattr(content.reporter, field):
            _add(reporter, tag, getattr(content.reporter, field))
    notes = [
        f"Prepared by linksweep {content.tool_version} as item {number} of bundle {content.bundle_id}, and "
        "submitted by a person; no file is attached, as the tool holds none.",
        content.amendment_note(item),
        NOT_VIEWED,
    ]
    _add(report, "additionalInfo", " ".join(note for note in notes if note))
    ET.indent(report)
    return ET.tostring(report, encoding="UTF-8", xml_declaration=True) + b"\n"


def write(content: BundleContent) -> dict[str, bytes]:
    """{file name: bytes}: `NNNN-report.xml` or `NNNN-amendment.xml` per item, in item order."""
    return {
        f"{number:04d}-{item.kind}.xml": report_document(content, number, item)
        for number, item in enumerate(content.items, 1)
    }
