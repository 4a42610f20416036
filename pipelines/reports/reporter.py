"""Who reports: the `[reporter]` table of a TOML file, checked key by key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from pipelines.reports.errors import ReportConfigError


@dataclass(frozen=True)
class Reporter:
    """The person (and company) on whose behalf a bundle is prepared; every field is text."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None  # ncmec-xml: companyTemplate, the company template agreed with the hotline
    terms_of_service: str | None = None
    legal_url: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {field.name: getattr(self, field.name) for field in fields(self) if getattr(self, field.name)}


REPORTER_KEYS = tuple(field.name for field in fields(Reporter))


def load_reporter(path: Path) -> Reporter:
    """The reporter of the TOML file `path`: a `[reporter]` table whose keys are REPORTER_KEYS, each a string;
    ReportConfigError naming the file and the key otherwise."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReportConfigError(f"{path}: cannot read the reporter file ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ReportConfigError(f"{path}: not a TOML file ({error})") from None
    extra = sorted(set(document) - {"reporter"})
    if extra:
        raise ReportConfigError(f"{path}: unknown table or key {extra[0]!r} (expected one [reporter] table)")
    table = document.get("reporter")
    if not isinstance(table, dict):
        raise ReportConfigError(f"{path}: no [reporter] table (keys: {', '.join(REPORTER_KEYS)})")
    for key, value in table.items():
        if key not in REPORTER_KEYS:
            raise ReportConfigError(f"{path}: [reporter] {key}: unknown key (known: {', '.join(REPORTER_KEYS)})")
        if not isinstance(value, str) or not value.strip():
            raise ReportConfigError(f"{path}: [reporter] {key}: expected a non-empty string, got {value!r}")
    return Reporter(**{key: value.strip() for key, value in table.items()})


def require_email(reporter: Reporter | None, profile: str) -> Reporter:
    """`reporter`, or ReportConfigError when it has no email address (a profile whose hotline requires one)."""
    if reporter is None or not reporter.email:
        raise ReportConfigError(
            f"profile {profile} needs a reporter with an email address: give --reporter FILE with "
            '[reporter] email = "..."'
        )
    if "@" not in reporter.email:
        raise ReportConfigError(f"[reporter] email: {reporter.email!r} is not an email address")
    return reporter
