"""Redacted removal lists: no URL in clear, hashes a data team can compute from its own URLs instead.

A redacted list replaces each URL by the SHA-256 (hex) of its Safe Browsing lookup expressions:
- `*_url_sha256`: of the canonical URL's full expression, host, path and query without scheme or port
  (`bad.example.org/a/b?c`), as Safe Browsing and linksweep's hashed URL lists hash it;
- `*_host_sha256`: of its host expression, the canonical host and a slash (`bad.example.org/`).
A data team canonicalizes its own URLs the same way (`pipelines.urls.canonicalize(url).key`) and joins on the
hashes. With a key the data team holds, `*_url_hmac` is the HMAC-SHA-256 of the same full expression, and
`hmac_key_id` names the key (the first 16 hex digits of the SHA-256 of "linksweep-key-id:" and the key), so
that the list is of no use to whoever holds it without the key.

Dropped, as they may hold URLs or listed hosts in clear: `document_url`, `link_url`, `link_raw_url`,
`matched_rule` (list entries as written) and `evidence` (redirect chains).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import duckdb

from pipelines.urls import canonicalize

KEY_ID_PREFIX = b"linksweep-key-id:"
# the columns kept as they are, in the order of the removal list
KEPT_COLUMNS = (
    "snapshot",
    "source_file",
    "record_id",
    "action",
    "reason",
    "detected_via",
    "list_versions",
    "record_offset",
    "link_kinds",
    "lists",
    "categories",
    "verdict_ids",
    "state",
)


class RedactionKeyMissing(ValueError):
    """--hmac-key-env names an environment variable that is unset or empty."""


@functools.lru_cache(maxsize=65_536)
def _expressions(url: str) -> tuple[str, str] | None:
    """(full expression, host expression) of `url`, or None when it has no host; cached: a document's URL
    stands in every row of its links, and each URL is hashed up to three ways."""
    canonical = canonicalize(url)
    return (canonical.key, f"{canonical.host}/") if canonical is not None else None


def url_sha256(url: str) -> str | None:
    expressions = _expressions(url)
    return hashlib.sha256(expressions[0].encode()).hexdigest() if expressions is not None else None


def host_sha256(url: str) -> str | None:
    expressions = _expressions(url)
    return hashlib.sha256(expressions[1].encode()).hexdigest() if expressions is not None else None


@dataclass(frozen=True)
class Redaction:
    """How a removal list is redacted; `hmac_key` adds keyed hashes."""

    hmac_key: bytes | None = None

    @classmethod
    def from_environment(cls, environ: dict[str, str], variable: str | None) -> Redaction:
        if variable is None:
            return cls()
        key = environ.get(variable, "")
        if not key:
            raise RedactionKeyMissing(f"--hmac-key-env {variable}: the environment variable is unset or empty")
        return cls(key.encode())

    @classmethod
    def asked_for(cls, redact: bool, hmac_key_env: str | None, environ: dict[str, str]) -> Redaction | None:
        """The redaction an export asks for: none, hashes (`redact`), or hashes and HMACs under the key in
        `hmac_key_env` (which implies redaction)."""
        return cls.from_environment(environ, hmac_key_env) if redact or hmac_key_env else None

    @property
    def key_id(self) -> str | None:
        return hashlib.sha256(KEY_ID_PREFIX + self.hmac_key).hexdigest()[:16] if self.hmac_key else None

    def url_hmac(self, url: str) -> str | None:
        expressions = _expressions(url)
        if expressions is None or self.hmac_key is None:
            return None
        return hmac.new(self.hmac_key, expressions[0].encode(), hashlib.sha256).hexdigest()

    def scheme(self) -> dict[str, Any]:
        """What the manifest says of the hashes."""
        scheme: dict[str, Any] = {
            "url_sha256": "sha256 of the Safe Browsing canonical URL's full expression (host/path?query)",
            "host_sha256": "sha256 of its host expression (host/)",
        }
        if self.hmac_key:
            scheme["url_hmac"] = "hmac-sha256 of the full expression under the key hmac_key_id names"
            scheme["hmac_key_id"] = self.key_id
        return scheme

    def columns(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
        """(name, SQL expression over the removal columns) of a redacted row; registers the hash functions on
        `con` (a connection of its own: they live as long as it does)."""
        con.create_function("linksweep_url_sha256", url_sha256, ["VARCHAR"], "VARCHAR", side_effects=False)
        con.create_function("linksweep_host_sha256", host_sha256, ["VARCHAR"], "VARCHAR", side_effects=False)
        hashed = []
        for url in ("document_url", "link_url"):
            hashed += [
                (f"{url}_sha256", f"linksweep_url_sha256({url})"),
                (f"{url.removesuffix('_url')}_host_sha256", f"linksweep_host_sha256({url})"),
            ]
        if self.hmac_key:
            con.create_function("linksweep_url_hmac", self.url_hmac, ["VARCHAR"], "VARCHAR", side_effects=False)
            hashed += [(f"{url}_hmac", f"linksweep_url_hmac({url})") for url in ("document_url", "link_url")]
            hashed.append(("hmac_key_id", f"'{self.key_id}'"))
        kept = [(name, name) for name in KEPT_COLUMNS]
        return kept[:3] + hashed + kept[3:]
