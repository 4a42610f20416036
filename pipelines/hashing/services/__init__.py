"""Hash-lookup services: ask Meta's Hasher-Matcher-Actioner (HMA) or a generic JSON API whether a hash is known.

The crawler hashes fetched content locally; only hashes leave the machine. Every answer is `match`, `no_match` or
`unchecked`. A service that is down, times out, keeps answering 5xx/429, sends something that is not the expected
JSON, or whose circuit breaker is open gives `unchecked` with the reason -- never `no_match`.

Layout: result types; HTTP policy (timeouts, retries, rate limit) and circuit breaker; the clients (`HmaClient`,
`JsonService`); configuration (`services_from_config`); `lookup_all`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

import requests

MATCH = "match"
NO_MATCH = "no_match"
UNCHECKED = "unchecked"
UNSUPPORTED = "unsupported signal type"
CIRCUIT_OPEN = "circuit open"
DEFAULT_SIGNAL_TYPES = frozenset({"md5", "sha1", "sha256", "pdq"})
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# 4xx answers about this one request (a malformed hash, say): unchecked, but no sign that the service is unwell
REQUEST_ERROR_STATUSES = frozenset({400, 422})
USER_AGENT = "linksweep-hash-lookup/1 (+https://example.org/linksweep)"
MATCH_FIELDS = ("content_id", "bank", "distance")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PLACEHOLDER = re.compile(r"\{(signal|signal_type)\}")
_MESSAGE_LIMIT = 200


# --- results -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceMatch:
    """One hit: the service that knows the hash and, when it says, the bank item and the distance."""

    service: str
    signal_type: str  # md5, sha1, sha256, pdq
    signal: str  # the hash looked up
    content_id: str | None  # e.g. HMA bank_content_id
    bank: str | None
    distance: int | None  # for pdq


@dataclass(frozen=True)
class LookupResult:
    """One service's answer about one hash; `error` says why it is unchecked.

    `disabled` holds hits the service returned for bank items switched off as false positives (never a match);
    `signal_type` and `signal` say which hash was asked about, also when nothing matched.
    """

    status: str  # "match", "no_match", "unchecked"
    matches: tuple[ServiceMatch, ...] = ()
    error: str | None = None
    disabled: tuple[ServiceMatch, ...] = ()
    signal_type: str | None = None
    signal: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (MATCH, NO_MATCH, UNCHECKED):
            raise ValueError(f"unknown lookup status {self.status!r}")
        if (self.status == MATCH) != bool(self.matches):
            raise ValueError("a lookup result has matches exactly when its status is 'match'")
        if self.status == UNCHECKED and not self.error:
            raise ValueError("an unchecked lookup result needs the reason in `error`")


@runtime_checkable
class HashService(Protocol):
    """A service that says whether a hash is known."""

    name: str
    signal_types: frozenset[str]

    def lookup(self, signal_type: str, signal: str) -> LookupResult: ...


class _Unanswered(Exception):
    """The lookup has no answer. `failure`: counts against the service's circuit breaker."""

    def __init__(self, reason: str, *, failure: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure


# --- HTTP policy, rate limit, circuit breaker ----------------------------------------------------------------------


@dataclass(frozen=True)
class HttpPolicy:
    """How a client talks HTTP: timeouts, retries, rate limit and circuit-breaker settings.

    Only transient failures are retried (connection errors, timeouts, HTTP 429/502/503/504), with exponential
    backoff minus up to `jitter` of each delay; a `Retry-After` in seconds is waited out when it is at most
    `retry_after_cap`, and a longer one ends the retries. `clock` (monotonic seconds), `sleep` and `rng` are
    injectable so that tests never wait for real.
    """

    timeout: tuple[float, float] = (5.0, 20.0)  # (connect, read) seconds
    retries: int = 2  # retries after the first attempt
    backoff: float = 0.5  # first retry delay; doubles each time
    backoff_max: float = 8.0
    jitter: float = 0.5  # fraction of each delay that is randomised away
    retry_after_cap: float = 30.0
    rate_limit: float | None = None  # requests per second per client, None = unlimited
    burst: int = 1
    breaker_threshold: int = 5  # consecutive failed lookups that open the breaker
    breaker_cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.timeout, tuple) or len(self.timeout) != 2 or not all(map(_positive, self.timeout)):
            problems.append("timeout must be two positive numbers (connect, read)")
        if not isinstance(self.retries, int) or self.retries < 0:
            problems.append("retries must be a whole number >= 0")
        if not (
            _non_negative(self.backoff) and _non_negative(self.backoff_max) and _non_negative(self.retry_after_cap)
        ):
            problems.append("backoff, backoff_max and retry_after_cap must be numbers >= 0")
        if not _non_negative(self.jitter) or self.jitter > 1:
            problems.append("jitter must be between 0 and 1")
        if self.rate_limit is not None and not _positive(self.rate_limit):
            problems.append("rate_limit must be a positive number of requests per second")
        if not isinstance(self.burst, int) or self.burst < 1:
            problems.append("burst must be a whole number >= 1")
        if not isinstance(self.breaker_threshold, int) or self.breaker_threshold < 1:
            problems.append("breaker_threshold must be a whole number >= 1")
        if not _non_negative(self.breaker_cooldown):
            problems.append("breaker_cooldown must be a number >= 0")
        if problems:
            raise ValueError("; ".join(problems))

    def backoff_delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        delay = min(self.backoff_max, self.backoff * 2**retry)
        return delay * (1 - self.jitter * self.rng())


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _non_negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class RateLimiter:
    """Token bucket, thread-safe: `acquire` reserves a token and sleeps until it is due."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not _positive(rate) or burst < 1:
            raise ValueError("a rate limiter needs a positive rate and a burst >= 1")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if the bucket is empty; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1  # below zero: a reservation that later callers queue behind
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class CircuitBreaker:
    """Opens after `threshold` consecutive failed lookups; after `cooldown` seconds lets one trial through.

    A successful trial closes it, a failed one opens it for another cool-down. Thread-safe.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"

    def __init__(self, threshold: int = 5, cooldown: float = 30.0, *, clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def allow(self) -> bool:
        """May a lookup go ahead? When open and cooled down, the first caller gets the single trial."""
        with self._lock:
            if self._state == self.CLOSED:
                return True
            if self._state == self.OPEN and self._clock() - self._opened_at >= self.cooldown:
                self._state = self.HALF_OPEN
                return True
            return False  # open, or half-open with the trial in flight

    def record_success(self) -> None:
        with self._lock:
            self._state = self.CLOSED
            self._failures = 0

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == self.HALF_OPEN or self._failures >= self.threshold:
                self._state = self.OPEN
                self._opened_at = self._clock()


# --- clients -------------------------------------------------------------------------------------------------------


def _service_url(url: object, what: str) -> str:
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
        raise _Unanswered(f"environment variable {auth_env} (the service's auth header) is not set", failure=False)
    if auth_header:
        return {auth_header: value}
    name, colon, rest = value.partition(":")
    if colon and _HEADER_NAME.fullmatch(name.strip()):
        return {name.strip(): rest.strip()}
    return {"Authorization": value}


def _parse_json(response: requests.Response, what: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise _Unanswered(f"{what}: malformed response (not JSON)") from None


def _http_error(response: requests.Response, what: str) -> _Unanswered:
    """Unchecked for an unexpected HTTP status, with the service's `message` when it sends one."""
    reason = f"{what}: HTTP {response.status_code}"
    try:
        message = json.loads(response.content).get("message")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str) and message:
        reason += f" ({message[:_MESSAGE_LIMIT]})"
    return _Unanswered(reason, failure=response.status_code not in REQUEST_ERROR_STATUSES)


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds; the HTTP-date form is treated as absent (backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _HttpService:
    """What both clients share: signal-type check, circuit breaker, rate limit, retries, auth."""

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
        except _Unanswered as problem:
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
        """One request with the policy applied; returns any non-transient response, else raises `_Unanswered`."""
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
                raise _Unanswered(f"{what}: request failed ({type(error).__name__})") from None
            else:
                if response.status_code not in TRANSIENT_STATUSES:
                    return response
                reason = f"HTTP {response.status_code}"
                retry_after = _retry_after(response.headers.get("Retry-After"))
                response.close()
            if attempt + 1 == attempts:
                break
            if retry_after is not None and retry_after > policy.retry_after_cap:
                reason += f", Retry-After {retry_after:g} s is over the {policy.retry_after_cap:g} s cap"
                attempts = attempt + 1
                break
            policy.sleep(retry_after if retry_after is not None else policy.backoff_delay(attempt))
        suffix = f" after {attempts} attempts" if attempts > 1 else ""
        raise _Unanswered(f"{what}: {reason}{suffix}")


@dataclass(frozen=True)
class _RawHit:
    content_id: int
    distance: int | None
    bank: str | None


@dataclass(frozen=True)
class _ContentState:
    """A bank item's switches as HMA reported them (evaluated at use: a disable may expire)."""

    bank: str | None
    enabled: bool | None  # older `enabled` flag
    disable_until_ts: int | None  # 0 disabled, 1 enabled, else enabled from that Unix time
    bank_enabled: bool

    def active(self, now: float) -> bool:
        if self.enabled is False or not self.bank_enabled:
            return False
        ts = self.disable_until_ts
        if ts is None or ts == 1:
            return True
        return ts != 0 and ts <= now


def _content_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise _Unanswered(f"raw_lookup: malformed response (content id {str(value)[:40]!r})")


def _distance(value: object) -> int | None:
    """HMA sends the distance as a string; a non-integral one (other signal types) is kept as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Unanswered("raw_lookup: malformed response (distance)")
    if isinstance(value, int):
        return value
    try:
        number = float(value) if isinstance(value, str | float) else None
    except ValueError:
        number = None
    if number is None or number != number:
        raise _Unanswered(f"raw_lookup: malformed response (distance {str(value)[:40]!r})")
    return int(number) if number.is_integer() else None


def _parse_raw_lookup(data: Any) -> list[_RawHit]:
    """Both shapes: `{"matches": [123]}` and `{"matches": [{"bank_content_id": 123, "distance": "5"}]}`."""
    if not isinstance(data, dict) or not isinstance(data.get("matches"), list):
        raise _Unanswered('raw_lookup: malformed response (expected {"matches": [...]})')
    hits: dict[int, _RawHit] = {}
    for item in data["matches"]:
        if isinstance(item, dict):
            bank = item.get("bank")
            hit = _RawHit(
                _content_id(item.get("bank_content_id")),
                _distance(item.get("distance")),
                bank if isinstance(bank, str) and bank else None,
            )
        else:
            hit = _RawHit(_content_id(item), None, None)
        hits.setdefault(hit.content_id, hit)
    return list(hits.values())


def _parse_content(data: Any, content_id: int, bank: str) -> _ContentState:
    """`GET /c/bank/{bank}/content/{id}`: `enabled` and/or `disable_until_ts`, and the item's bank."""
    what = f"content check: malformed response for bank content {content_id}"
    if not isinstance(data, dict):
        raise _Unanswered(what)
    if "id" in data and str(data["id"]) != str(content_id):
        raise _Unanswered(f"{what} (it describes item {str(data['id'])[:40]!r})")
    enabled = data.get("enabled")
    ts = data.get("disable_until_ts")
    if enabled is not None and not isinstance(enabled, bool):
        raise _Unanswered(f"{what} (enabled)")
    if isinstance(ts, str) and ts.isascii() and ts.isdigit():
        ts = int(ts)
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool) or ts < 0):
        raise _Unanswered(f"{what} (disable_until_ts)")
    if enabled is None and ts is None:
        raise _Unanswered(f"{what} (neither enabled nor disable_until_ts)")
    bank_enabled = True
    bank_info = data.get("bank")
    if isinstance(bank_info, str) and bank_info:
        bank = bank_info
    elif isinstance(bank_info, dict):
        if isinstance(bank_info.get("name"), str) and bank_info["name"]:
            bank = bank_info["name"]
        ratio = bank_info.get("matching_enabled_ratio")
        if bank_info.get("enabled") is False or (_non_negative(ratio) and ratio == 0):
            bank_enabled = False  # the whole bank is switched off
    return _ContentState(bank, enabled, ts, bank_enabled)


class HmaClient(_HttpService):
    """Client of Meta's Hasher-Matcher-Actioner: `GET /m/raw_lookup`, then the disabled-content check.

    `raw_lookup` does not filter bank items switched off as false positives, so every hit is checked with
    `GET /c/bank/{bank}/content/{id}` (cached per client) and disabled ones are dropped. The bank is the one in the
    response, else the single configured bank; with several (or none, then `GET /c/banks`) each is tried in turn.
    If the check cannot be made, the whole result is unchecked.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        auth_header: str | None = None,
        auth_env: str | None = None,
        banks: Iterable[str] | None = None,
        signal_types: Iterable[str] = DEFAULT_SIGNAL_TYPES,
        policy: HttpPolicy | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, signal_types=signal_types, auth_env=auth_env, auth_header=auth_header, policy=policy)
        url = _service_url(base_url, f"HMA service {name!r}: url")
        if urlsplit(url).query or urlsplit(url).fragment:
            raise ValueError(f"HMA service {name!r}: url {url!r} must be a base URL without query or fragment")
        self.base_url = url.rstrip("/")
        if isinstance(banks, str):
            raise ValueError(f"HMA service {name!r}: banks must be a list of bank names")
        self.banks = tuple(banks or ())
        if not all(isinstance(bank, str) and bank and "," not in bank for bank in self.banks):
            raise ValueError(f"HMA service {name!r}: bank names must be non-empty and without commas")
        self._wall_clock = wall_clock
        self._content: dict[int, _ContentState] = {}
        self._all_banks: tuple[str, ...] | None = None
        self._cache_lock = threading.Lock()

    def status(self) -> bool:
        """`GET /status`: True for 200 (I-AM-ALIVE); False for 503 (INDEX-STALE), any other answer or none."""
        try:
            response = self._send("GET", f"{self.base_url}/status", "status", retry=False)
        except _Unanswered:
            return False
        with response:
            return response.status_code == 200

    def _lookup(self, signal_type: str, signal: str) -> LookupResult:
        params = {"signal": signal, "signal_type": signal_type, "include_distance": "true"}
        if self.banks:
            params["banks"] = ",".join(self.banks)
        response = self._send("GET", f"{self.base_url}/m/raw_lookup", "raw_lookup", params=params)
        with response:
            if response.status_code != 200:
                raise _http_error(response, "raw_lookup")
            hits = _parse_raw_lookup(_parse_json(response, "raw_lookup"))
        now = self._wall_clock()
        kept, disabled = [], []
        for hit in hits:
            state = self._content_state(hit)
            found = ServiceMatch(self.name, signal_type, signal, str(hit.content_id), state.bank, hit.distance)
            (kept if state.active(now) else disabled).append(found)
        status = MATCH if kept else NO_MATCH
        return LookupResult(status, tuple(kept), disabled=tuple(disabled), signal_type=signal_type, signal=signal)

    def _content_state(self, hit: _RawHit) -> _ContentState:
        with self._cache_lock:
            cached = self._content.get(hit.content_id)
        if cached is not None:
            return cached
        if hit.bank:
            candidates: tuple[str, ...] = (hit.bank,)
        else:
            candidates = self.banks or self._bank_names()
        for bank in candidates:
            url = f"{self.base_url}/c/bank/{quote(bank, safe='')}/content/{hit.content_id}"
            response = self._send("GET", url, "content check")
            with response:
                if response.status_code == 404:
                    continue
                if response.status_code != 200:
                    raise _http_error(response, "content check")
                state = _parse_content(_parse_json(response, "content check"), hit.content_id, bank)
            with self._cache_lock:
                self._content[hit.content_id] = state
            return state
        tried = ", ".join(candidates) or "(none)"
        raise _Unanswered(f"content check: bank content {hit.content_id} not found in bank(s) {tried}")

    def _bank_names(self) -> tuple[str, ...]:
        """All banks (`GET /c/banks`), once per client: where to look up an item when no bank is configured."""
        with self._cache_lock:
            if self._all_banks is not None:
                return self._all_banks
        response = self._send("GET", f"{self.base_url}/c/banks", "content check (bank list)")
        with response:
            if response.status_code != 200:
                raise _http_error(response, "content check (bank list)")
            data = _parse_json(response, "content check (bank list)")
        names = (
            [item.get("name") if isinstance(item, dict) else item for item in data] if isinstance(data, list) else None
        )
        if names is None or not all(isinstance(name, str) and name for name in names):
            raise _Unanswered("content check (bank list): malformed response")
        with self._cache_lock:
            self._all_banks = tuple(names)
        return self._all_banks

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, policy: HttpPolicy | None = None) -> HmaClient:
        """Build from `{"name", "url", "auth_env", "auth_header", "banks", "signal_types", policy keys}`."""
        reader = _Config(config, "hma service")
        name = reader.string("name", required=True)
        reader.where = f"hma service {name!r}"
        url = reader.string("url", required=True)
        kwargs = {
            "auth_env": reader.string("auth_env"),
            "auth_header": reader.string("auth_header"),
            "banks": reader.strings("banks"),
            "signal_types": _or_default(reader.strings("signal_types"), DEFAULT_SIGNAL_TYPES),
        }
        built_policy = _policy_from_config(reader, policy)
        reader.finish()
        return reader.build(lambda: cls(name, url, policy=built_policy, **kwargs))


def _resolve(data: Any, path: str) -> Any:
    """Follow a dotted path through objects (and lists, by index); `_MISSING` when it does not lead anywhere."""
    for key in path.split(".") if path else ():
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return _MISSING
    return data


_MISSING = object()


def _fill(template: Any, signal_type: str, signal: str) -> Any:
    """The template with `{signal}` and `{signal_type}` substituted in every string (keys stay as they are)."""
    if isinstance(template, str):
        values = {"signal": signal, "signal_type": signal_type}
        return _PLACEHOLDER.sub(lambda found: values[found.group(1)], template)
    if isinstance(template, dict):
        return {key: _fill(value, signal_type, signal) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, signal_type, signal) for value in template]
    return template


def _mentions_signal(template: Any) -> bool:
    if isinstance(template, str):
        return "{signal}" in template
    if isinstance(template, dict):
        return any(_mentions_signal(value) for value in template.values())
    if isinstance(template, list):
        return any(_mentions_signal(value) for value in template)
    return False


class JsonService(_HttpService):
    """A configurable JSON API: the hash goes into a request template, matches come back at a dotted path.

    `request_template` is the JSON body (POST) or the query parameters (GET); `matches_path` leads to the list of
    matches, and `match_fields` maps `content_id`, `bank`, `distance` to dotted paths inside each item (a bare
    string or number item is its own content id). An empty list is no_match. The list may be absent only where
    the response is otherwise well-formed: its last key missing from an object that is there, or anything missing
    once `ok_path` (when set) has been seen to hold `ok_value`. Anything else is unchecked.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        method: str = "POST",
        auth_env: str | None = None,
        auth_header: str | None = None,
        request_template: Mapping[str, Any] | None = None,
        matches_path: str = "matches",
        match_fields: Mapping[str, str] | None = None,
        ok_path: str | None = None,
        ok_value: Any = True,
        signal_types: Iterable[str] = DEFAULT_SIGNAL_TYPES,
        policy: HttpPolicy | None = None,
    ) -> None:
        super().__init__(name, signal_types=signal_types, auth_env=auth_env, auth_header=auth_header, policy=policy)
        where = f"json service {name!r}"
        self.url = _service_url(url, f"{where}: url")
        self.method = method.upper() if isinstance(method, str) else method
        if self.method not in ("GET", "POST"):
            raise ValueError(f"{where}: method must be GET or POST, not {method!r}")
        template = (
            dict(request_template)
            if request_template is not None
            else {"signal": "{signal}", "signal_type": "{signal_type}"}
        )
        if not _mentions_signal(template):
            raise ValueError(f"{where}: request_template must contain the placeholder {{signal}}")
        if self.method == "GET" and not all(isinstance(value, str | int | float) for value in template.values()):
            raise ValueError(f"{where}: a GET request_template holds query parameters: strings or numbers only")
        self.request_template = template
        if not isinstance(matches_path, str) or not matches_path or "" in matches_path.split("."):
            raise ValueError(f"{where}: matches_path must be a dotted path such as 'result.matches'")
        self.matches_path = matches_path
        fields = dict(match_fields or {})
        unknown = sorted(set(fields) - set(MATCH_FIELDS))
        if unknown:
            raise ValueError(
                f"{where}: match_fields: unknown field(s) {', '.join(unknown)} (use {', '.join(MATCH_FIELDS)})"
            )
        if not all(isinstance(path, str) and path for path in fields.values()):
            raise ValueError(f"{where}: match_fields values must be dotted paths")
        self.match_fields = fields
        if ok_path is not None and (not isinstance(ok_path, str) or not ok_path):
            raise ValueError(f"{where}: ok_path must be a dotted path")
        self.ok_path = ok_path
        self.ok_value = ok_value

    def _lookup(self, signal_type: str, signal: str) -> LookupResult:
        filled = _fill(self.request_template, signal_type, signal)
        if self.method == "GET":
            response = self._send("GET", self.url, "lookup", params=filled)
        else:
            response = self._send("POST", self.url, "lookup", body=filled)
        with response:
            if response.status_code != 200:
                raise _http_error(response, "lookup")
            data = _parse_json(response, "lookup")
        if not isinstance(data, dict):
            raise _Unanswered("lookup: malformed response (not a JSON object)")
        confirmed = False
        if self.ok_path is not None:
            flag = _resolve(data, self.ok_path)
            if flag is _MISSING or flag != self.ok_value:
                shown = "missing" if flag is _MISSING else json.dumps(flag)[:_MESSAGE_LIMIT]
                raise _Unanswered(f"lookup: response not ok ({self.ok_path} is {shown})")
            confirmed = True
        items = _resolve(data, self.matches_path)
        if items is _MISSING:
            parent = _resolve(data, self.matches_path.rpartition(".")[0])
            if not confirmed and not isinstance(parent, dict):
                raise _Unanswered(f"lookup: malformed response (no {self.matches_path})")
            items = []
        if items is None:
            items = []
        if not isinstance(items, list):
            raise _Unanswered(f"lookup: malformed response ({self.matches_path} is not a list)")
        matches = tuple(self._match(item, signal_type, signal) for item in items)
        return LookupResult(MATCH if matches else NO_MATCH, matches, signal_type=signal_type, signal=signal)

    def _match(self, item: Any, signal_type: str, signal: str) -> ServiceMatch:
        if isinstance(item, str | int) and not isinstance(item, bool) and "content_id" not in self.match_fields:
            return ServiceMatch(self.name, signal_type, signal, str(item), None, None)
        if not isinstance(item, dict):
            raise _Unanswered("lookup: malformed response (a match is not an object)")
        values: dict[str, Any] = {}
        for field_name in MATCH_FIELDS:
            path = self.match_fields.get(field_name)
            value = _resolve(item, path) if path else None
            values[field_name] = None if value is _MISSING else value
        distance = values["distance"]
        if distance is not None:
            try:
                distance = _distance(distance)
            except _Unanswered:
                raise _Unanswered("lookup: malformed response (distance)") from None
        content_id, bank = values["content_id"], values["bank"]
        return ServiceMatch(
            self.name,
            signal_type,
            signal,
            None if content_id is None else str(content_id),
            None if bank is None else str(bank),
            distance,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, policy: HttpPolicy | None = None) -> JsonService:
        """Build from `{"name", "url", "method", "request_template", "matches_path", "match_fields", ...}`."""
        reader = _Config(config, "json service")
        name = reader.string("name", required=True)
        reader.where = f"json service {name!r}"
        url = reader.string("url", required=True)
        kwargs: dict[str, Any] = {
            "method": reader.string("method") or "POST",
            "auth_env": reader.string("auth_env"),
            "auth_header": reader.string("auth_header"),
            "request_template": reader.table("request_template"),
            "matches_path": reader.string("matches_path") or "matches",
            "match_fields": reader.table("match_fields"),
            "ok_path": reader.string("ok_path"),
            "signal_types": _or_default(reader.strings("signal_types"), DEFAULT_SIGNAL_TYPES),
        }
        if "ok_value" in config:
            reader.used.add("ok_value")
            kwargs["ok_value"] = config["ok_value"]
        built_policy = _policy_from_config(reader, policy)
        reader.finish()
        return reader.build(lambda: cls(name, url, policy=built_policy, **kwargs))


# --- configuration -------------------------------------------------------------------------------------------------


class _Config:
    """Typed reads from one service's config table; errors name the service and the key."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected a table of settings, got {type(raw).__name__}")
        self.raw = raw
        self.where = where
        self.used: set[str] = {"kind"}

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        value = self.raw.get(key)
        if value is None and required:
            raise ValueError(f"{self.where}: '{key}' is required")
        return value

    def fail(self, key: str, expected: str) -> ValueError:
        return ValueError(f"{self.where}: '{key}' must be {expected}")

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, "a non-empty string")
        return value

    def strings(self, key: str) -> list[str] | None:
        value = self._get(key, False)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            raise self.fail(key, "a list of non-empty strings")
        return value

    def table(self, key: str) -> dict[str, Any] | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, Mapping):
            raise self.fail(key, "a table (object)")
        return dict(value) if value is not None else None

    def number(self, key: str) -> float | None:
        value = self._get(key, False)
        if value is not None and not (isinstance(value, int | float) and not isinstance(value, bool)):
            raise self.fail(key, "a number")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise ValueError(f"{self.where}: unknown setting(s) {', '.join(map(repr, unknown))}")

    def build(self, make: Callable[[], Any]) -> Any:
        """Run a constructor, prefixing its ValueError with where the settings came from."""
        try:
            return make()
        except ValueError as error:
            message = str(error)
            raise ValueError(message if message.startswith(self.where) else f"{self.where}: {message}") from None


_POLICY_KEYS = ("retries", "backoff", "retry_after_cap", "rate_limit", "burst", "breaker_threshold", "breaker_cooldown")


def _or_default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _policy_from_config(reader: _Config, base: HttpPolicy | None) -> HttpPolicy:
    """Policy settings of one service over `base`: `timeout` (seconds, or [connect, read]) and `_POLICY_KEYS`."""
    changes: dict[str, Any] = {}
    timeout = reader._get("timeout", False)
    if timeout is not None:
        if isinstance(timeout, list) and len(timeout) == 2 and all(_positive(value) for value in timeout):
            changes["timeout"] = (float(timeout[0]), float(timeout[1]))
        elif _positive(timeout):
            changes["timeout"] = (float(timeout), float(timeout))
        else:
            raise reader.fail("timeout", "a positive number of seconds or [connect, read]")
    for key in _POLICY_KEYS:
        value = reader.number(key)
        if value is not None:
            changes[key] = value
    return reader.build(lambda: replace(base or HttpPolicy(), **changes))


_KINDS: dict[str, Callable[..., HashService]] = {"hma": HmaClient.from_config, "json": JsonService.from_config}


def services_from_config(config: Mapping[str, Any], *, policy: HttpPolicy | None = None) -> list[HashService]:
    """The services of `{"services": [{"kind": "hma" | "json", "name": ..., ...}, ...]}`; ValueError if invalid.

    `policy` is the base each service's own settings (timeout, retries, rate_limit, ...) are applied over.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"hash services config: expected a table, got {type(config).__name__}")
    entries = config.get("services")
    if not isinstance(entries, list):
        raise ValueError("hash services config: 'services' must be a list of service tables")
    services: list[HashService] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"services[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a table of settings, got {type(entry).__name__}")
        kind = entry.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"{where}: 'kind' must be one of {', '.join(map(repr, _KINDS))}, not {kind!r}")
        try:
            service = _KINDS[kind](entry, policy=policy)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        if service.name in names:
            raise ValueError(f"{where}: duplicate service name {service.name!r}")
        names.add(service.name)
        services.append(service)
    return services


def lookup_all(services: Iterable[HashService], signals: Mapping[str, str]) -> list[tuple[str, LookupResult]]:
    """Ask every service that handles a signal's type about it: `(service name, result)`, by signal then service.

    A signal type no service handles gets no entry.
    """
    services = list(services)
    results: list[tuple[str, LookupResult]] = []
    for signal_type, signal in signals.items():
        for service in services:
            if signal_type in service.signal_types:
                results.append((service.name, service.lookup(signal_type, signal)))
    return results
