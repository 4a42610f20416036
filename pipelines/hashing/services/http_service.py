"""What every HTTP hash-service client shares: URL and auth checks, the signal-type check, the circuit breaker,
the rate limit and one request sent with retries (`HttpService._send`). A client subclasses `HttpService` and
implements `_lookup`, raising `Unanswered` when it has no trustworthy answer.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from pipelines.hashing.services.breaker import CircuitBreaker
from pipelines.hashing.services.http_policy import HttpPolicy, parse_retry_after
from pipelines.hashing.services.rate_limit import RateLimiter
from pipelines.hashing.services.results import CIRCUIT_OPEN, UNCHECKED, UNSUPPORTED, LookupResult, Unanswered

DEFAULT_SIGNAL_TYPES = frozenset({"md5", "sha1", "sha256", "pdq"})
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# 4xx answers about this one request (a malformed hash, say): unchecked, but no sign that the service is unwell
REQUEST_ERROR_STATUSES = frozenset({400, 422})
USER_AGENT = "linksweep-hash-lookup/1 (+https://example.org/linksweep)"
MESSAGE_LIMIT = 200  # characters of a service's own message kept in an error
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def service_url(url: object, what: str) -> str:
    """An http(s) URL; plain HTTP only to loopback addresses (hashes and API keys are not sent in clear)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{what} must be a non-empty URL")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} {url!r} is not an http(s) URL with a host")
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"{what} {url!r}: plain HTTP is allowed to loopback addresses only; use https")
    return url


def _signal_types(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise ValueError("signal_types must be a list of names, not one string")
    types = frozenset(values)
    if not types or not all(isinstance(value, str) and value.strip() == value and value for value in types):
        raise ValueError("signal_types must be a non-empty list of names")
    return types


def _auth_headers(auth_env: str | None, auth_header: str | None) -> dict[str, str]:
    """The auth header from the environment: `Name: value`, or a bare value sent as `auth_header` or Authorization.

    With `auth_header` set, the whole variable is the value. The value never appears in errors.
    """
    if not auth_env:
        return {}
    value = os.environ.get(auth_env, "").strip()
    if not value:
        raise Unanswered(f"environment variable {auth_env} (the service's auth header) is not set", failure=False)
    if auth_header:
        return {auth_header: value}
    name, colon, rest = value.partition(":")
    if colon and _HEADER_NAME.fullmatch(name.strip()):
        return {name.strip(): rest.strip()}
    return {"Authorization": value}


def parse_json(response: requests.Response, what: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise Unanswered(f"{what}: malformed response (not JSON)") from None


def http_error(response: requests.Response, what: str) -> Unanswered:
    """Unchecked for an unexpected HTTP status, with the service's `message` when it sends one."""
    reason = f"{what}: HTTP {response.status_code}"
    try:
        message = json.loads(response.content).get("message")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str) and message:
        reason += f" ({message[:MESSAGE_LIMIT]})"
    return Unanswered(reason, failure=response.status_code not in REQUEST_ERROR_STATUSES)


def json_answer(response: requests.Response, what: str) -> Any:
    """The JSON of a 200 answer (the response is closed); `Unanswered` for any other status or a body not JSON."""
    with response:
        if response.status_code != 200:
            raise http_error(response, what)
        return parse_json(response, what)


class HttpService:
    """What every client shares: signal-type check, circuit breaker, rate limit, retries, auth."""

    def __init__(
        self,
        name: str,
        *,
        signal_types: Iterable[str],
        auth_env: str | None,
        auth_header: str | None,
        policy: HttpPolicy | None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a service needs a non-empty name")
        if auth_header is not None and not (isinstance(auth_header, str) and _HEADER_NAME.fullmatch(auth_header)):
            raise ValueError(f"auth_header {auth_header!r} is not an HTTP header name")
        if auth_header and not auth_env:
            raise ValueError("auth_header names the header; auth_env must name the variable that holds the key")
        self.name = name
        self.signal_types = _signal_types(signal_types)
        self.auth_env = auth_env
        self.auth_header = auth_header
        self.policy = policy or HttpPolicy()
        self.breaker = CircuitBreaker(
            self.policy.breaker_threshold, self.policy.breaker_cooldown, clock=self.policy.clock
        )
        self.limiter = (
            RateLimiter(self.policy.rate_limit, self.policy.burst, clock=self.policy.clock, sleep=self.policy.sleep)
            if self.policy.rate_limit
            else None
        )
        self._local = threading.local()  # one requests.Session per thread

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def lookup(self, signal_type: str, signal: str) -> LookupResult:
        """Ask the service about one hash; `unchecked` whenever there is no trustworthy answer."""
        if signal_type not in self.signal_types:
            return LookupResult(UNCHECKED, error=UNSUPPORTED, signal_type=signal_type, signal=signal)
        if not self.breaker.allow():
            return LookupResult(UNCHECKED, error=CIRCUIT_OPEN, signal_type=signal_type, signal=signal)
        failed = True
        try:
            result = self._lookup(signal_type, signal)
            failed = False
            return result
        except Unanswered as problem:
            failed = problem.failure
            return LookupResult(UNCHECKED, error=problem.reason, signal_type=signal_type, signal=signal)
        except Exception as error:  # a bug or a surprise from the HTTP stack must not read as "clean"
            return LookupResult(
                UNCHECKED,
                error=f"client error: {type(error).__name__}: {error}",
                signal_type=signal_type,
                signal=signal,
            )
        finally:
            if failed:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()

    def _lookup(self, signal_type: str, signal: str) -> LookupResult:
        raise NotImplementedError

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        retry: bool = True,
    ) -> requests.Response:
        """One request with the policy applied; returns any non-transient response, else raises `Unanswered`."""
        policy = self.policy
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **_auth_headers(self.auth_env, self.auth_header),
        }
        attempts = 1 + (policy.retries if retry else 0)
        reason = "no attempt made"
        for attempt in range(attempts):
            if self.limiter is not None:
                self.limiter.acquire()
            retry_after = None
            try:
                response = self._session().request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=policy.timeout,
                    allow_redirects=False,  # a redirect could carry the API key to another host
                )
            except requests.Timeout:
                reason = "timeout"
            except requests.ConnectionError as error:
                reason = f"connection error ({type(error).__name__})"
            except requests.RequestException as error:
                raise Unanswered(f"{what}: request failed ({type(error).__name__})") from None
            else:
                if response.status_code not in TRANSIENT_STATUSES:
                    return response
                reason = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
            if attempt + 1 == attempts:
                break
            if retry_after is not None and retry_after > policy.retry_after_cap:
                reason += f", Retry-After {retry_after:g} s is over the {policy.retry_after_cap:g} s cap"
                attempts = attempt + 1
                break
            policy.sleep(retry_after if retry_after is not None else policy.backoff_delay(attempt))
        suffix = f" after {attempts} attempts" if attempts > 1 else ""
        raise Unanswered(f"{what}: {reason}{suffix}")
