"""Download a list for `blocklist add|update`: HTTPS, conditional GET, optional auth header, bounded size.

Redirects are followed by hand, at most MAX_REDIRECTS of them: before every hop the URL's scheme and every
address its host resolves to are checked against the crawl's address policy (`pipelines.urls.address_policy`), and
the connection goes to the address that was checked (no second DNS answer). Plain HTTP is allowed only to a
network the user opened (`--allow-network`); the auth header is sent to the list's own origin only, never to
the origin of a redirect target.

A failed, oversized or empty download never replaces the current version: the caller gets an error and
the previous version stays in force.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH, requote_uri

from pipelines.urls import NetworkPolicy

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
MAX_REDIRECTS = 5
USER_AGENT = "linksweep-list-update/1 (+https://example.org/linksweep)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Bodies are stored as sent: a gzip-coded body is a gzip file, which the list reader inflates in bounded
# batches. Other codings (br, deflate, zstd) are refused rather than inflated whole.
ACCEPTED_CODINGS = frozenset({"", "identity", "gzip", "x-gzip"})


class FetchError(RuntimeError):
    """The download failed; the message says why. The list keeps its current version."""


@dataclass(frozen=True)
class Downloaded:
    path: Path | None  # None when the server said the list has not changed (304)
    etag: str | None
    last_modified: str | None
    size: int = 0
    url: str | None = None  # where the body came from, after redirects

    @property
    def not_modified(self) -> bool:
        return self.path is None


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


@dataclass(frozen=True)
class CheckedTarget:
    """A checked hop: where to connect and what to ask for."""

    scheme: str
    host: str  # as in the URL (the TLS server name and Host header)
    port: int
    address: str  # the checked IP to connect to
    request_target: str  # path and query
    host_header: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def _resolve(url: str, host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"{url}: cannot resolve {host}: {error}") from None
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def _in_opened_network(address: str, policy: NetworkPolicy) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in policy.allowed if network.version == ip.version)


# Whether plain HTTP may go to the addresses a host resolved to (the policy allows them all already), or why not;
# asked first with None before the host is resolved, where a refusal is certain without them.
PlainHttpRule = Callable[[list[str] | None, NetworkPolicy], str | None]


def plain_http_to_opened_networks(addresses: list[str] | None, policy: NetworkPolicy) -> str | None:
    """The lists' rule: plain HTTP only to networks the user opened with --allow-network."""
    if policy.allowed and (addresses is None or all(_in_opened_network(address, policy) for address in addresses)):
        return None
    return "lists are fetched over HTTPS only (plain HTTP only to a network opened with --allow-network)"


def check_target(
    url: str, policy: NetworkPolicy, plain_http: PlainHttpRule = plain_http_to_opened_networks
) -> CheckedTarget:
    """The hop `url` after checking its scheme and every address of its host; FetchError says why it is refused.
    `plain_http` decides whether an http:// hop may go to the addresses its host resolved to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError(f"{url}: not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{url}: only https:// (and plain http:// where allowed) can be fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchError(f"{url}: credentials in the URL are refused; give an auth header with --auth-env")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchError(f"{url}: no host in the URL")
    port = port or (443 if scheme == "https" else 80)
    refusal = plain_http(None, policy) if scheme == "http" else None
    if refusal is not None:
        raise FetchError(f"{url}: {refusal}")
    addresses = _resolve(url, host, port)
    if not addresses:
        raise FetchError(f"{url}: {host} has no address")
    for address in addresses:
        refusal = policy.refusal(address)
        if refusal is not None:
            raise FetchError(
                f"{url}: refused by the address policy ({refusal}); downloads follow the crawl's policy, "
                "--allow-network CIDR opens a network"
            )
    refusal = plain_http(addresses, policy) if scheme == "http" else None
    if refusal is not None:
        raise FetchError(f"{url}: {refusal}")
    request_target = parts.path or "/"
    if parts.query:
        request_target += "?" + parts.query
    netloc_host = f"[{host}]" if ":" in host else host
    default_port = parts.port is None or parts.port == (443 if scheme == "https" else 80)
    host_header = netloc_host if default_port else f"{netloc_host}:{port}"
    return CheckedTarget(scheme, host, port, addresses[0], request_target, host_header)


def redirect_location(response: urllib3.BaseHTTPResponse, current: str) -> str:
    location = response.headers.get("Location")
    if not location:
        raise FetchError(f"{current}: HTTP {response.status} redirect without a Location header")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # Latin-1 text; a browser reads UTF-8
        location = location.encode("latin-1").decode("utf-8")
    return requote_uri(urljoin(current, location.strip()))


def send_request(
    target: CheckedTarget, headers: dict[str, str], timeout: float, method: str = "GET"
) -> urllib3.BaseHTTPResponse:
    """One request to the checked address of `target`, no redirect followed, the body left to stream."""
    options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=DEFAULT_CA_BUNDLE_PATH,
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
    return pool.urlopen(
        method,
        target.request_target,
        headers={**headers, "Host": target.host_header},
        redirect=False,
        retries=False,
        preload_content=False,
        decode_content=False,
    )


def download_list(
    url: str,
    directory: Path,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    auth_env: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    policy: NetworkPolicy | None = None,
) -> Downloaded:
    """Fetch `url` into a temporary file in `directory` (the caller deletes it)."""
    policy = policy or NetworkPolicy()
    credentials = auth_headers(auth_env)
    base = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if etag:
        base["If-None-Match"] = etag
    if last_modified:
        base["If-Modified-Since"] = last_modified
    first = check_target(url, policy)
    current, target = url, first
    for hop in range(MAX_REDIRECTS + 1):
        headers = {**base, **credentials} if target.origin == first.origin else base
        try:
            response = send_request(target, headers, timeout)
        except urllib3.exceptions.HTTPError as error:
            raise FetchError(f"{current}: download failed: {type(error).__name__}: {error}") from None
        if response.status not in REDIRECT_STATUSES:
            break
        following = redirect_location(response, current)
        response.release_conn()
        if hop == MAX_REDIRECTS:
            raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")
        current, target = following, check_target(following, policy)
    try:
        return _save(response, url, current, directory, etag, last_modified, max_bytes)
    finally:
        response.release_conn()


def _save(
    response: urllib3.BaseHTTPResponse,
    url: str,
    final_url: str,
    directory: Path,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> Downloaded:
    where = url if final_url == url else f"{url} (redirected to {final_url})"
    if response.status == 304:
        return Downloaded(None, etag, last_modified, url=final_url)
    if response.status != 200:
        raise FetchError(f"{where}: download failed: HTTP {response.status} {response.reason or ''}".rstrip())
    coding = (response.headers.get("Content-Encoding") or "").strip().lower()
    if coding not in ACCEPTED_CODINGS:
        raise FetchError(f"{where}: content coding {coding!r} is not supported (gzip or none)")
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{where}: {int(declared):,} bytes is over the size limit of {max_bytes:,}")
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="list-", dir=directory)
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in response.stream(1 << 16, decode_content=False):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"{where}: over the size limit of {max_bytes:,} bytes")
                out.write(chunk)
    except urllib3.exceptions.HTTPError as error:
        Path(name).unlink(missing_ok=True)
        raise FetchError(f"{where}: download failed: {type(error).__name__}: {error}") from None
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise FetchError(f"{where}: the server sent an empty list")
    return Downloaded(Path(name), response.headers.get("ETag"), response.headers.get("Last-Modified"), size, final_url)
