"""Report documents checked against the XSD the user supplies (lxml), never against a schema of linksweep's own:
the hotline's schema changes over time, and only its current one says what it accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.reports.errors import InvalidReportDocument, ReportConfigError

XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema"


def _parser() -> Any:
    from lxml import etree

    # no network, no external entities: parsing a schema or a document must open no connection
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


def load_schema(xsd: Path) -> Any:
    """The lxml XMLSchema of the file `xsd`; ReportConfigError when it cannot be read or used, or when it refers
    to a schema elsewhere than in a local file (linksweep opens no network connection)."""
    from lxml import etree

    try:
        tree = etree.parse(str(xsd), _parser())
    except OSError as error:
        raise ReportConfigError(f"--xsd {xsd}: cannot read it ({error})") from None
    except etree.XMLSyntaxError as error:
        raise ReportConfigError(f"--xsd {xsd}: not an XML file ({error})") from None
    for reference in tree.iter(f"{{{XSD_NAMESPACE}}}include", f"{{{XSD_NAMESPACE}}}import"):
        location = reference.get("schemaLocation") or ""
        if urlsplit(location).scheme not in ("", "file"):
            raise ReportConfigError(
                f"--xsd {xsd}: line {reference.sourceline} refers to the remote schema {location}: save it as a file "
                "beside the XSD and refer to it by its path (linksweep opens no network connection)"
            )
    try:
        return etree.XMLSchema(tree)
    except etree.XMLSchemaParseError as error:
        raise ReportConfigError(f"--xsd {xsd}: not a usable XML schema ({error})") from None


def validate_documents(schema: Any, xsd: Path, files: dict[str, bytes]) -> int:
    """Validate every `.xml` file of `files` against `schema`; InvalidReportDocument naming the first that
    fails and its first problem. Returns how many were validated."""
    from lxml import etree

    checked = 0
    for name, data in files.items():
        if not name.endswith(".xml"):
            continue
        document = etree.fromstring(data, _parser())
        if not schema.validate(document):
            problem = schema.error_log[0]
            raise InvalidReportDocument(
                f"{name}: does not validate against {xsd}: line {problem.line}: {problem.message}; no bundle written"
            )
        checked += 1
    return checked
