"""A corpus file read over HTTP(S) or from S3 as a stream: address-checked, polite, resumed where a connection
drops, and complete only when every advertised byte arrived. RemoteFile keeps those guarantees; a transport
(HTTP here, S3 in `s3.py`) opens the bytes from an offset and says the file's ETag and length.

Every hop (redirects included) is checked as list downloads are (`pipelines.lists.check_target`): the scheme,
every address the host resolves to against the crawl's address policy, and the connection goes to the address
that was checked. Plain http:// is accepted to loopback addresses (which the policy still refuses unless
`--allow-network 127.0.0.0/8` opens them) and elsewhere only with `allow_http`.

A dropped connection is resumed at the byte offset reached, with `Range: bytes=N-` and `If-Range: <ETag>`: the
readers above see one unbroken stream, no byte is fetched twice and none is skipped. A 200 answer to a ranged
request with the same ETag (a server ignoring Range) is read past the bytes already delivered; another ETag,
or a length other than the one first advertised, means the file changed under the reader: the source fails.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import io
import ipaddress
import re
import threading
import time
from dataclasses import dataclass
from importlib import metadata

import urllib3

from pipelines.lists import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    CheckedTarget,
    FetchError,
    check_target,
    redirect_location,
    send_request,
)
from pipelines.urls import NetworkPolicy


def _version() -> str:
    try:
        return metadata.version("linksweep")
    except metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"linksweep/{_version()} (+https://example.org/linksweep)"
SNIFF_BYTES = 65536
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_TRANSIENT_STATUSES = frozenset({500, 502, 504})
_POLITE_STATUSES = frozenset({429, 503})  # the host asks us to slow down: wait as long as Retry-After says


def is_url(text: str) -> bool:
    return bool(URL_SCHEME.match(text))


class RemoteReadError(OSError):
    """A remote corpus file could not be read whole; the message names the URL and what was short."""


@dataclass(frozen=True)
class RemoteOptions:
    """How corpus files are fetched; picklable, so every reader process gets the same."""

    allow_http: bool = False  # plain http:// beyond loopback
    allow_network: tuple[str, ...] = ()  # CIDRs the address policy opens (loopback, private mirrors)
    rate: float = 2.0  # requests per second to one host, shared by `share` processes
    share: int = 1  # processes requesting at once: each keeps to rate / share
    retries: int = 5  # failed attempts in a row (no byte gained) before a file fails
    backoff: float = 0.5  # seconds before the first retry, doubled at each one after
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this
    timeout: float = 60.0
    s3_endpoint_url: str | None = None  # s3:// sources: the S3 endpoint (default: AWS_ENDPOINT_URL, else AWS)

    @property
    def policy(self) -> NetworkPolicy:
        return NetworkPolicy.allowing(self.allow_network)


def plain_http_rule(allow_http: bool):
    """http:// to loopback addresses (the policy decides whether those may be reached at all), elsewhere only
    with --allow-http."""

    def rule(addresses: list[str] | None, policy: NetworkPolicy) -> str | None:
        if allow_http or addresses is None:
            return None
        if all(ipaddress.ip_address(address).is_loopback for address in addresses):
            return None
        return "plain http:// is accepted for loopback addresses only; give --allow-http to allow it elsewhere"

    return rule


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def check_url(url: str, options: RemoteOptions) -> CheckedTarget:
    """The checked first hop of `url` (of an s3:// URL, the S3 endpoint's); RemoteReadError says why it is
    refused."""
    if is_s3(url):
        from crawler.corpus.s3 import check_s3  # boto3 only when an s3:// source is met

        try:
            return check_s3(url, options)
        except RemoteReadError as error:  # it names the endpoint: say which source it was for
            raise RemoteReadError(f"{url}: the S3 endpoint {error}") from None
    try:
        return check_target(url, options.policy, plain_http_rule(options.allow_http))
    except FetchError as error:
        raise RemoteReadError(str(error)) from None


class _TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.stamp = rate, 1.0, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(1.0, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            wait = (1.0 - self.tokens) / self.rate if self.tokens < 1.0 else 0.0
            self.tokens -= 1.0
        if wait > 0:
            time.sleep(wait)


_buckets: dict[tuple[str, float], _TokenBucket] = {}
_buckets_lock = threading.Lock()


def polite_wait(host: str, options: RemoteOptions) -> None:
    """Wait for this process's turn to send a request to `host` (one bucket per host and process; each of the
    `share` processes keeps to its part of the rate, so together they keep to it)."""
    rate = options.rate / max(1, options.share)
    if rate <= 0 or rate == float("inf"):
        return
    with _buckets_lock:
        bucket = _buckets.setdefault((host, rate), _TokenBucket(rate))
    bucket.take()


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), at most `cap`; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when.timestamp() - time.time()), cap)


@dataclass(frozen=True)
class RemoteInfo:
    url: str
    etag: str | None
    length: int


def _request(url: str, options: RemoteOptions, headers: dict[str, str], method: str = "GET"):
    """The final response to `url` after checked redirects, and the URL it came from."""
    current, target = url, check_url(url, options)
    for _hop in range(MAX_REDIRECTS + 1):
        polite_wait(target.host, options)
        response = send_request(
            target,
            {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers},
            options.timeout,
            method,
        )
        if response.status not in REDIRECT_STATUSES:
            return response, current
        try:
            following = redirect_location(response, current)
        except FetchError as error:
            raise RemoteReadError(str(error)) from None
        finally:
            response.release_conn()
        current, target = following, check_url(following, options)
    raise RemoteReadError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _advertised_length(response, url: str) -> int:
    declared = response.headers.get("Content-Length")
    if declared is None or not declared.strip().isdigit():
        raise RemoteReadError(f"{url}: the server gives no Content-Length: a short transfer could not be told apart")
    coding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if coding not in ("", "identity"):
        raise RemoteReadError(f"{url}: the server sent content coding {coding!r} where none was asked for")
    return int(declared)


class RetryLater(Exception):
    """One attempt failed in a way worth another after `wait` seconds."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


def with_retries(url: str, options: RemoteOptions, attempt):
    """attempt() until it returns, retrying transient failures with backoff (or the server's Retry-After)."""
    delay = options.backoff
    for number in range(options.retries + 1):
        try:
            return attempt()
        except RetryLater as retry:
            if number == options.retries:
                raise RemoteReadError(f"{url}: {retry.reason} ({options.retries + 1} attempts)") from None
            time.sleep(retry.wait if retry.wait is not None else delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _answer_or_retry(response, url: str, options: RemoteOptions) -> None:
    """Turn a status that is no answer yet into RetryLater or RemoteReadError."""
    status = response.status
    if status in (200, 206):
        return
    response.release_conn()
    if status in _POLITE_STATUSES:
        wait = retry_after_seconds(response.headers.get("Retry-After"), options.max_retry_after)
        raise RetryLater(f"HTTP {status}", wait)
    if status in _TRANSIENT_STATUSES:
        raise RetryLater(f"HTTP {status}")
    raise RemoteReadError(f"{url}: HTTP {status} {response.reason or ''}".rstrip())


def probe_remote(url: str, options: RemoteOptions) -> RemoteInfo:
    """The ETag and advertised length of `url` (a HEAD request), before anything is read."""
    if is_s3(url):
        from crawler.corpus.s3 import probe_s3

        return probe_s3(url, options)

    def attempt() -> RemoteInfo:
        try:
            response, _final = _request(url, options, {}, method="HEAD")
        except urllib3.exceptions.HTTPError as error:
            raise RetryLater(f"{type(error).__name__}: {error}") from None
        _answer_or_retry(response, url, options)
        response.release_conn()
        return RemoteInfo(url, response.headers.get("ETag"), _advertised_length(response, url))

    return with_retries(url, options, attempt)


class RemoteFile(io.RawIOBase):
    """The bytes of a remote file, read forward once, with `peek` for the format sniffer.

    `expect` (from the source's registration) pins the ETag and length: another answer is a changed file. The
    sha256 of the bytes is computed as they arrive; `sha256` is set once the last byte has."""

    CHUNK_BYTES = 1 << 20

    def __init__(self, url: str, options: RemoteOptions, expect: RemoteInfo | None = None) -> None:
        super().__init__()
        self.url, self.options = url, options
        self.etag = expect.etag if expect else None
        self.length = expect.length if expect else None
        self.position = 0  # bytes handed to the reader (or waiting in the peek buffer) so far
        self.resumes = 0
        self.error: str | None = None  # set when the stream failed, whatever the reader made of the exception
        self._digest = hashlib.sha256()
        self._head = b""  # peeked bytes not yet read
        self._body = None
        self._transport = _transport_for(url, options)
        self._connect()

    @property
    def sha256(self) -> str | None:
        return self._digest.hexdigest() if self.length is not None and self.position == self.length else None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position - len(self._head)

    def peek(self, size: int = SNIFF_BYTES) -> bytes:
        """Up to `size` first bytes (fewer only for a shorter file), left for read()."""
        while len(self._head) < size and self.position < self.length:
            chunk = self._fetch(size - len(self._head))
            self._head += chunk
        return self._head[:size]

    def readinto(self, buffer) -> int:
        if self._head:
            taken = self._head[: len(buffer)]
            buffer[: len(taken)] = taken
            self._head = self._head[len(taken) :]
            return len(taken)
        if self.position >= self.length:
            return 0
        chunk = self._fetch(min(len(buffer), self.CHUNK_BYTES))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _fetch(self, size: int) -> bytes:
        """The next bytes from the network (never empty before the end): resumed where a connection drops."""
        failures = 0
        while True:
            try:
                chunk = self._body.read(size) if self._body is not None else b""
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as error:
                chunk, reason = b"", f"{type(error).__name__}: {error}"
            else:
                reason = "the connection ended early"
            if chunk:
                self.position += len(chunk)
                self._digest.update(chunk)
                return chunk
            self._release()
            failures += 1
            if failures > self.options.retries:
                self._fail(f"{reason}; gave up after {self.options.retries} resumes without a byte")
            time.sleep(self.options.backoff * 2 ** (failures - 1))
            self.resumes += 1
            self._connect()

    def _fail(self, message: str) -> None:
        self.error = (
            f"{self.url}: read {self.position:,} of {self.length:,} bytes: {message}"
            if self.length is not None
            else f"{self.url}: {message}"
        )
        self._release()
        raise RemoteReadError(self.error)

    def _connect(self) -> None:
        try:
            self._body = with_retries(self.url, self.options, self._attempt)
        except RemoteReadError as error:
            self.error = self.error or str(error)
            raise

    def _attempt(self):
        start = self.position
        if start > 0 and not self.etag:
            raise RemoteReadError(f"{self.url}: dropped at byte {start:,}; no ETag to resume it safely with")
        body, self.etag, self.length = self._transport.open(start, self.etag, self.length)
        return body

    def _release(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()


def check_unchanged(url: str, start: int, expected: tuple[str | None, int | None], found: tuple[str | None, int]):
    """RemoteReadError when the (ETag, length) an answer gives is not the one first read: the file changed."""
    (etag, length), (found_etag, found_length) = expected, found
    if etag is not None and found_etag != etag:
        raise RemoteReadError(f"{url}: the file changed (ETag {found_etag} where {etag} was read); at byte {start:,}")
    if length is not None and found_length != length:
        raise RemoteReadError(f"{url}: the file changed (length {found_length:,} where {length:,} was advertised)")


def _transport_for(url: str, options: RemoteOptions):
    if is_s3(url):
        from crawler.corpus.s3 import S3Transport

        return S3Transport(url, options)
    return _HttpTransport(url, options)


class _HttpBody:
    """A response body read on; closing it hands the connection back."""

    def __init__(self, response) -> None:
        self.response = response

    def read(self, size: int) -> bytes:
        return self.response.read(size)

    def close(self) -> None:
        self.response.release_conn()
        self.response.close()


class _HttpTransport:
    """RemoteFile's bytes over HTTP(S): a GET from byte `start`, resumed with Range and If-Range."""

    def __init__(self, url: str, options: RemoteOptions) -> None:
        self.url, self.options = url, options

    def open(self, start: int, etag: str | None, length: int | None) -> tuple[_HttpBody, str | None, int]:
        """The body from byte `start` on, and the file's ETag and length; RetryLater or RemoteReadError."""
        headers = {"Range": f"bytes={start}-", "If-Range": etag} if start > 0 else {}
        try:
            response, _final = _request(self.url, self.options, headers)
        except urllib3.exceptions.HTTPError as error:
            raise RetryLater(f"{type(error).__name__}: {error}") from None
        _answer_or_retry(response, self.url, self.options)
        found_etag = response.headers.get("ETag")
        try:
            if response.status == 206:
                check_unchanged(self.url, start, (etag, None), (found_etag, 0))
                self._check_range(response, start, length)
                return _HttpBody(response), found_etag, length
            found_length = _advertised_length(response, self.url)
            check_unchanged(self.url, start, (etag, length), (found_etag, found_length))
        except RemoteReadError:
            response.release_conn()
            raise
        self._skip(response, start)  # a server that ignores Range: read past what was delivered
        return _HttpBody(response), found_etag, found_length

    def _check_range(self, response, start: int, length: int | None) -> None:
        found = _CONTENT_RANGE.match((response.headers.get("Content-Range") or "").strip())
        if found is None or int(found.group(1)) != start or found.group(3) != str(length):
            raise RemoteReadError(
                f"{self.url}: asked for bytes {start:,}- of {length:,}, got Content-Range "
                f"{response.headers.get('Content-Range')!r}"
            )

    def _skip(self, response, start: int) -> None:
        count = start
        while count > 0:
            try:
                skipped = len(response.read(min(count, RemoteFile.CHUNK_BYTES)))
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as error:
                response.release_conn()
                raise RetryLater(f"{type(error).__name__} while skipping to byte {start:,}: {error}") from None
            if not skipped:
                response.release_conn()
                raise RetryLater(f"the connection ended while skipping to byte {start:,}")
            count -= skipped
