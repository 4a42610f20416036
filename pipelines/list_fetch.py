"""Download a list for `blocklist update`: HTTPS, conditional GET, optional auth header, bounded size.

A failed, oversized or empty download never replaces the current version: the caller gets an error and
the previous version stays in force.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
USER_AGENT = "linksweep-list-update/1 (+https://example.org/linksweep)"


class FetchError(RuntimeError):
    """The download failed; the message says why. The list keeps its current version."""


@dataclass(frozen=True)
class Downloaded:
    path: Path | None  # None when the server said the list has not changed (304)
    etag: str | None
    last_modified: str | None
    size: int = 0

    @property
    def not_modified(self) -> bool:
        return self.path is None


def _allowed_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http":
        # plain HTTP only to this machine (local mirrors, tests): a list fetched in clear could be tampered with
        try:
            if ipaddress.ip_address(parts.hostname or "").is_loopback:
                return
        except ValueError:
            pass
    raise FetchError(f"{url}: lists are fetched over HTTPS only (plain HTTP is allowed to loopback addresses)")


def auth_headers(auth_env: str | None) -> dict[str, str]:
    """The header named by an environment variable: its value is `Name: value`, or a bare Authorization value."""
    if not auth_env:
        return {}
    value = os.environ.get(auth_env)
    if not value:
        raise FetchError(f"environment variable {auth_env} (the list's auth header) is not set")
    name, colon, rest = value.partition(":")
    if colon and name and " " not in name.strip():
        return {name.strip(): rest.strip()}
    return {"Authorization": value.strip()}


def download_list(
    url: str,
    directory: Path,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    auth_env: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
) -> Downloaded:
    """Fetch `url` into a temporary file in `directory` (the caller deletes it)."""
    _allowed_scheme(url)
    headers = {"User-Agent": USER_AGENT, **auth_headers(auth_env)}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    http = session or requests.Session()
    try:
        response = http.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=True)
    except requests.RequestException as error:
        raise FetchError(f"{url}: download failed: {type(error).__name__}: {error}") from None
    with response:
        if response.status_code == 304:
            return Downloaded(None, etag, last_modified)
        if response.status_code != 200:
            raise FetchError(f"{url}: download failed: HTTP {response.status_code} {response.reason}")
        for hop in response.history:
            _allowed_scheme(hop.url)
        _allowed_scheme(response.url)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"{url}: {int(declared):,} bytes is over the size limit of {max_bytes:,}")
        directory.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="list-", dir=directory)
        size = 0
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"{url}: over the size limit of {max_bytes:,} bytes")
                    out.write(chunk)
        except requests.RequestException as error:
            Path(name).unlink(missing_ok=True)
            raise FetchError(f"{url}: download failed: {type(error).__name__}: {error}") from None
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise FetchError(f"{url}: the server sent an empty list")
    return Downloaded(Path(name), response.headers.get("ETag"), response.headers.get("Last-Modified"), size)
