"""Contract tests for pipelines.hashing.services against local servers (127.0.0.1 only) that speak each API.

All hashes are synthetic (digests of b"synthetic-..."), names are reserved (.test, example.org). Time is a fake
clock: retries, Retry-After, the rate limiter and the breaker's cool-down are asserted on recorded sleeps, never on
wall time. The one real timeout uses a 0.2 s limit against a handler that sleeps 1 s and asserts only the outcome.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from pipelines.hashing.services import lookup_all, services_from_config
from pipelines.hashing.services.breaker import CircuitBreaker
from pipelines.hashing.services.hma import HmaClient
from pipelines.hashing.services.http_policy import HttpPolicy
from pipelines.hashing.services.json_service import JsonService
from pipelines.hashing.services.rate_limit import RateLimiter
from pipelines.hashing.services.results import (
    CIRCUIT_OPEN,
    MATCH,
    NO_MATCH,
    UNCHECKED,
    UNSUPPORTED,
    HashService,
    LookupResult,
    ServiceMatch,
)


def synthetic(label: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, f"synthetic-{label}".encode()).hexdigest()


HIT = synthetic("1")
HIT_TWO = synthetic("2")
MISS = synthetic("miss")
MD5_HIT = synthetic("md5-1", "md5")
PDQ_HIT = synthetic("pdq-1")  # 64 hex digits, the shape of a PDQ hash
NOW = 1_700_000_000.0  # the fake wall clock for disable_until_ts


# --- local servers -------------------------------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list: JSON; str/bytes: as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 answering with `respond(request)`; records every request."""

    def __init__(self, respond: Callable[[Recorded], Reply]) -> None:
        self.respond = respond
        self.requests: list[Recorded] = []
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.handle_any()

            def do_POST(self) -> None:
                self.handle_any()

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                parts = urlsplit(self.path)
                params = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorded = Recorded(self.command, parts.path, params, headers, json.loads(raw) if raw else None)
                with lock:
                    owner.requests.append(recorded)
                reply = owner.respond(recorded)
                if reply.delay:
                    time.sleep(reply.delay)  # the server side of a hang; the client's timeout is what is tested
                body = reply.body
                if isinstance(body, str):
                    payload, content_type = body.encode(), "text/plain"
                elif isinstance(body, bytes):
                    payload, content_type = body, "application/json"
                else:
                    payload, content_type = json.dumps(body).encode(), "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self, prefix: str = "/") -> list[str]:
        return [request.path for request in self.requests if request.path.startswith(prefix)]


class FakeHma:
    """The parts of HMA's API a hash-only client uses, with switches for failures (see HMA-API.md)."""

    def __init__(self) -> None:
        self.signal_types = {"md5", "sha1", "sha256", "pdq"}
        self.banks: dict[str, float] = {"SYNTH_A": 1.0, "SYNTH_B": 1.0}  # name -> matching_enabled_ratio
        self.items: dict[int, dict[str, Any]] = {}
        self.index: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self.api_key: tuple[str, str] | None = None  # (header, value) required on every request
        self.ids_only = False  # answer as if include_distance were not supported
        self.stale = False
        self.lookup_replies: list[Reply] = []  # served first, one per /m/raw_lookup request
        self.content_replies: list[Reply] = []  # likewise for /c/bank/.../content/...
        self.fail_lookup: Reply | None = None  # served for every /m/raw_lookup while set
        self.fail_content: Reply | None = None
        self.server = LocalServer(self.respond)
        self.url = self.server.url

    def add(
        self, content_id: int, signal: str, *, bank: str = "SYNTH_A", signal_type: str = "sha256", distance=0, **state
    ):
        """Bank an item (enabled unless `state` says otherwise) and index its hash."""
        self.items[content_id] = {"bank": bank, "disable_until_ts": 1, **state}
        self.index.setdefault((signal_type, signal), []).append((content_id, distance))

    def paths(self, prefix: str = "/") -> list[str]:
        return self.server.paths(prefix)

    def respond(self, request: Recorded) -> Reply:
        if self.api_key and request.headers.get(self.api_key[0].lower()) != self.api_key[1]:
            return Reply(401, {"message": "API key required"})
        if request.path == "/status":
            return Reply(503, "INDEX-STALE") if self.stale else Reply(200, "I-AM-ALIVE")
        if request.path == "/m/raw_lookup":
            return self.raw_lookup(request.params)
        if request.path == "/c/banks":
            return Reply(200, [{"name": name, "matching_enabled_ratio": ratio} for name, ratio in self.banks.items()])
        found = re.fullmatch(r"/c/bank/([^/]+)/content/(\d+)", request.path)
        if found:
            return self.content(unquote(found[1]), int(found[2]))
        return Reply(404, {"message": "not found"})

    def raw_lookup(self, params: dict[str, str]) -> Reply:
        if self.lookup_replies:
            return self.lookup_replies.pop(0)
        if self.fail_lookup:
            return self.fail_lookup
        if "signal" not in params or "signal_type" not in params:
            return Reply(400, {"message": "signal and signal_type are required"})
        if params["signal_type"] not in self.signal_types:
            return Reply(400, {"message": f"No such SignalType '{params['signal_type']}'"})
        hits = self.index.get((params["signal_type"], params["signal"]), [])
        if "banks" in params:
            wanted = set(params["banks"].split(","))
            hits = [hit for hit in hits if self.items[hit[0]]["bank"] in wanted]
        if params.get("include_distance") == "true" and not self.ids_only:
            return Reply(200, {"matches": [{"bank_content_id": cid, "distance": str(d)} for cid, d in hits]})
        return Reply(200, {"matches": [cid for cid, _ in hits]})

    def content(self, bank: str, content_id: int) -> Reply:
        if self.content_replies:
            return self.content_replies.pop(0)
        if self.fail_content:
            return self.fail_content
        if bank not in self.banks:
            return Reply(404, {"message": f"bank '{bank}' not found"})
        item = self.items.get(content_id)
        if item is None or item["bank"] != bank:
            return Reply(404, {"message": f"content '{content_id}' not found"})
        body = {"id": content_id, "collab_metadata": {}, "original_media_uri": None}
        body["bank"] = {"name": bank, "matching_enabled_ratio": self.banks[bank]}
        body.update({key: value for key, value in item.items() if key != "bank" and value is not None})
        return Reply(200, body)


class FakeClock:
    """Monotonic clock whose `sleep` records the delay and moves time on."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hma() -> Iterator[FakeHma]:
    fake = FakeHma()
    yield fake
    fake.server.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Recorded], Reply]], LocalServer]]:
    servers: list[LocalServer] = []

    def start(respond: Callable[[Recorded], Reply]) -> LocalServer:
        servers.append(LocalServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def policy(clock: FakeClock, **changes: Any) -> HttpPolicy:
    settings: dict[str, Any] = {"timeout": (2.0, 2.0), "retries": 0, "jitter": 0.0}
    settings.update(changes)
    return HttpPolicy(clock=clock, sleep=clock.sleep, **settings)


def hma_client(hma: FakeHma, clock: FakeClock, *, banks=("SYNTH_A",), **kwargs: Any) -> HmaClient:
    settings = {key: kwargs.pop(key) for key in list(kwargs) if key in HttpPolicy.__dataclass_fields__}
    return HmaClient(
        "hma-test", hma.url, banks=banks, policy=policy(clock, **settings), wall_clock=lambda: NOW, **kwargs
    )


# --- HMA: matches, shapes, disabled content ------------------------------------------------------------------------


def test_match_with_distance_parsed(hma, clock):
    hma.add(42, PDQ_HIT, signal_type="pdq", distance=5)
    client = hma_client(hma, clock)
    result = client.lookup("pdq", PDQ_HIT)
    assert result == LookupResult(
        MATCH, (ServiceMatch("hma-test", "pdq", PDQ_HIT, "42", "SYNTH_A", 5),), signal_type="pdq", signal=PDQ_HIT
    )
    lookup = hma.server.requests[0]
    assert lookup.path == "/m/raw_lookup"
    assert lookup.params == {"signal": PDQ_HIT, "signal_type": "pdq", "include_distance": "true", "banks": "SYNTH_A"}
    assert hma.paths() == ["/m/raw_lookup", "/c/bank/SYNTH_A/content/42"]
    assert isinstance(client, HashService)


def test_plain_id_shape_parsed(hma, clock):
    hma.ids_only = True
    hma.add(7, HIT)
    result = hma_client(hma, clock).lookup("sha256", HIT)
    assert result.status == MATCH
    assert [(found.content_id, found.bank, found.distance) for found in result.matches] == [("7", "SYNTH_A", None)]


def test_no_match(hma, clock):
    hma.add(7, HIT)
    result = hma_client(hma, clock).lookup("sha256", MISS)
    assert (result.status, result.matches, result.error) == (NO_MATCH, (), None)
    assert hma.paths() == ["/m/raw_lookup"]  # nothing to check


@pytest.mark.parametrize(
    ("state", "active"),
    [
        ({"disable_until_ts": 0}, False),
        ({"disable_until_ts": int(NOW) + 3600}, False),  # disabled until a future time
        ({"disable_until_ts": int(NOW) - 3600}, True),  # that time has passed
        ({"disable_until_ts": 1}, True),
        ({"disable_until_ts": None, "enabled": False}, False),  # older servers: an `enabled` flag
        ({"disable_until_ts": None, "enabled": True}, True),
    ],
)
def test_disabled_content_is_dropped(hma, clock, state, active):
    hma.add(9, HIT, **state)
    result = hma_client(hma, clock).lookup("sha256", HIT)
    if active:
        assert result.status == MATCH and [found.content_id for found in result.matches] == ["9"]
    else:
        assert (result.status, result.matches) == (NO_MATCH, ())
        assert [(found.content_id, found.bank) for found in result.disabled] == [("9", "SYNTH_A")]


def test_mix_of_disabled_and_enabled_keeps_the_enabled_one_and_caches_the_checks(hma, clock):
    hma.add(11, HIT, disable_until_ts=0)
    hma.add(12, HIT, distance=3)
    client = hma_client(hma, clock)
    first = client.lookup("sha256", HIT)
    assert first.status == MATCH
    assert [(found.content_id, found.distance) for found in first.matches] == [("12", 3)]
    assert [found.content_id for found in first.disabled] == ["11"]
    assert client.lookup("sha256", HIT) == first
    assert hma.paths("/m/") == ["/m/raw_lookup"] * 2
    assert sorted(hma.paths("/c/")) == ["/c/bank/SYNTH_A/content/11", "/c/bank/SYNTH_A/content/12"]  # once each


def test_item_in_a_switched_off_bank_is_dropped(hma, clock):
    hma.banks["SYNTH_B"] = 0.0
    hma.add(5, HIT, bank="SYNTH_B")
    result = hma_client(hma, clock, banks=["SYNTH_B"]).lookup("sha256", HIT)
    assert result.status == NO_MATCH and [found.bank for found in result.disabled] == ["SYNTH_B"]


def test_several_banks_are_tried_in_turn(hma, clock):
    hma.add(21, HIT, bank="SYNTH_B")
    result = hma_client(hma, clock, banks=["SYNTH_A", "SYNTH_B"]).lookup("sha256", HIT)
    assert [(found.content_id, found.bank) for found in result.matches] == [("21", "SYNTH_B")]
    assert hma.server.requests[0].params["banks"] == "SYNTH_A,SYNTH_B"
    assert hma.paths("/c/") == ["/c/bank/SYNTH_A/content/21", "/c/bank/SYNTH_B/content/21"]


def test_without_configured_banks_the_bank_list_is_fetched_once(hma, clock):
    hma.add(31, HIT, bank="SYNTH_B")
    hma.add(32, HIT_TWO, bank="SYNTH_A")
    client = hma_client(hma, clock, banks=None)
    assert client.lookup("sha256", HIT).matches[0].bank == "SYNTH_B"
    assert client.lookup("sha256", HIT_TWO).matches[0].bank == "SYNTH_A"
    assert "banks" not in hma.server.requests[0].params
    assert hma.paths("/c/banks") == ["/c/banks"]


def test_bank_named_in_the_response_is_used(hma, clock):
    hma.add(41, HIT, bank="SYNTH_B")
    hma.lookup_replies = [Reply(200, {"matches": [{"bank_content_id": 41, "distance": "0", "bank": "SYNTH_B"}]})]
    result = hma_client(hma, clock, banks=None).lookup("sha256", HIT)
    assert result.matches[0].bank == "SYNTH_B"
    assert hma.paths("/c/") == ["/c/bank/SYNTH_B/content/41"]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Reply(503, {"message": "unavailable"}), "content check: HTTP 503 after 2 attempts"),
        (
            Reply(403, {"message": "ROLE_CURATOR is not enabled"}),
            "content check: HTTP 403 (ROLE_CURATOR is not enabled)",
        ),
        (Reply(200, {"id": 51, "collab_metadata": {}}), "content check: malformed response"),
        (Reply(200, b"<html>proxy error</html>"), "content check: malformed response (not JSON)"),
    ],
)
def test_content_check_failing_makes_the_result_unchecked(hma, clock, failure, reason):
    hma.add(51, HIT)
    hma.add(52, HIT)
    hma.fail_content = failure
    result = hma_client(hma, clock, retries=1).lookup("sha256", HIT)
    assert result.status == UNCHECKED and result.matches == ()
    assert result.error.startswith(reason)


def test_content_not_found_in_any_bank_is_unchecked(hma, clock):
    hma.lookup_replies = [Reply(200, {"matches": [{"bank_content_id": 404404, "distance": "0"}]})]
    result = hma_client(hma, clock, banks=["SYNTH_A", "SYNTH_B"]).lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error == "content check: bank content 404404 not found in bank(s) SYNTH_A, SYNTH_B"


# --- HMA: failures -------------------------------------------------------------------------------------------------


def test_503_is_retried_then_unchecked(hma, clock):
    hma.fail_lookup = Reply(503, {"message": "index not yet ready"})
    result = hma_client(hma, clock, retries=2, backoff=0.5).lookup("sha256", HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: HTTP 503 after 3 attempts")
    assert hma.paths() == ["/m/raw_lookup"] * 3
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff (jitter 0 here)


def test_transient_failure_then_success(hma, clock):
    hma.add(61, HIT)
    hma.lookup_replies = [Reply(502), Reply(504)]
    result = hma_client(hma, clock, retries=2, backoff=0.25).lookup("sha256", HIT)
    assert result.status == MATCH
    assert clock.sleeps == [0.25, 0.5]


def test_retry_after_is_honoured(hma, clock):
    hma.add(62, HIT)
    hma.lookup_replies = [
        Reply(429, {"message": "slow down"}, {"Retry-After": "3"}),
        Reply(503, None, {"Retry-After": "1.5"}),
    ]
    result = hma_client(hma, clock, retries=2).lookup("sha256", HIT)
    assert result.status == MATCH
    assert clock.sleeps == [3.0, 1.5]
    assert hma.paths("/m/") == ["/m/raw_lookup"] * 3


def test_retry_after_over_the_cap_ends_the_retries(hma, clock):
    hma.fail_lookup = Reply(429, None, {"Retry-After": "120"})
    result = hma_client(hma, clock, retries=3, retry_after_cap=30.0).lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error == "raw_lookup: HTTP 429, Retry-After 120 s is over the 30 s cap"
    assert clock.sleeps == [] and hma.paths() == ["/m/raw_lookup"]


def test_non_transient_5xx_is_not_retried(hma, clock):
    hma.fail_lookup = Reply(500, {"message": "internal error"})
    result = hma_client(hma, clock, retries=3).lookup("sha256", HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: HTTP 500 (internal error)")
    assert hma.paths() == ["/m/raw_lookup"]


def test_timeout_is_unchecked(hma, clock):
    hma.fail_lookup = Reply(200, {"matches": []}, delay=1.0)
    client = hma_client(hma, clock, timeout=(0.2, 0.2), retries=1)
    result = client.lookup("sha256", HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: timeout after 2 attempts")


def test_service_down_is_unchecked(clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HmaClient("down", f"http://127.0.0.1:{port}", policy=policy(clock, retries=1))
    result = client.lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error.startswith("raw_lookup: connection error") and result.error.endswith("after 2 attempts")
    assert not client.status()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"{not json"),
        Reply(200, "<html>captive portal</html>"),
        Reply(200, [1, 2]),
        Reply(200, {}),
        Reply(200, {"matches": "none"}),
        Reply(200, {"matches": [{"bank_content_id": "abc"}]}),
        Reply(200, {"matches": [{"distance": "1"}]}),
        Reply(200, {"matches": [{"bank_content_id": 5, "distance": "far"}]}),
        Reply(200, {"matches": [True]}),
    ],
)
def test_malformed_json_is_unchecked(hma, clock, reply):
    hma.lookup_replies = [reply]
    result = hma_client(hma, clock).lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error.startswith("raw_lookup: malformed response")


def test_bad_request_is_unchecked_but_does_not_trip_the_breaker(hma, clock):
    client = hma_client(hma, clock, breaker_threshold=1, signal_types=["sha256", "video_md5"])
    result = client.lookup("video_md5", MD5_HIT)
    assert (result.status, result.error) == (UNCHECKED, "raw_lookup: HTTP 400 (No such SignalType 'video_md5')")
    assert client.breaker.state == CircuitBreaker.CLOSED


def test_unsupported_signal_type_is_unchecked_without_a_request(hma, clock):
    client = hma_client(hma, clock, signal_types=["sha256"])
    for signal_type in ("md5", "video_md5"):
        result = client.lookup(signal_type, MD5_HIT)
        assert (result.status, result.error, result.signal_type) == (UNCHECKED, UNSUPPORTED, signal_type)
    assert hma.server.requests == []


def test_status(hma, clock):
    client = hma_client(hma, clock, retries=2)
    assert client.status() is True
    hma.stale = True
    assert client.status() is False
    assert hma.paths() == ["/status", "/status"]  # INDEX-STALE is an answer, not retried


# --- circuit breaker -----------------------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_then_half_opens_and_closes(hma, clock):
    hma.add(71, HIT)
    hma.fail_lookup = Reply(503)
    client = hma_client(hma, clock, breaker_threshold=3, breaker_cooldown=30.0)
    for _ in range(3):
        assert client.lookup("sha256", HIT).error == "raw_lookup: HTTP 503"
    assert client.breaker.state == CircuitBreaker.OPEN
    for _ in range(4):
        assert client.lookup("sha256", HIT) == LookupResult(
            UNCHECKED, error=CIRCUIT_OPEN, signal_type="sha256", signal=HIT
        )
    assert len(hma.server.requests) == 3  # nothing reached the server while open
    clock.now += 29.9
    assert client.lookup("sha256", HIT).error == CIRCUIT_OPEN
    hma.fail_lookup = None
    clock.now += 0.1
    assert client.lookup("sha256", HIT).status == MATCH  # the half-open trial
    assert client.breaker.state == CircuitBreaker.CLOSED
    assert client.lookup("sha256", HIT).status == MATCH
    assert hma.paths("/m/") == ["/m/raw_lookup"] * 5


def test_failed_trial_reopens_the_breaker(hma, clock):
    hma.fail_lookup = Reply(503)
    client = hma_client(hma, clock, breaker_threshold=2, breaker_cooldown=10.0)
    client.lookup("sha256", HIT)
    client.lookup("sha256", HIT)
    clock.now += 10.0
    assert client.lookup("sha256", HIT).error == "raw_lookup: HTTP 503"  # the trial
    assert client.lookup("sha256", HIT).error == CIRCUIT_OPEN
    assert len(hma.server.requests) == 3


def test_breaker_counts_lookups_not_attempts(hma, clock):
    hma.fail_lookup = Reply(503)
    client = hma_client(hma, clock, retries=2, breaker_threshold=2)
    client.lookup("sha256", HIT)
    assert client.breaker.state == CircuitBreaker.CLOSED
    client.lookup("sha256", HIT)
    assert client.breaker.state == CircuitBreaker.OPEN
    assert len(hma.server.requests) == 6


def test_half_open_admits_a_single_trial(clock):
    breaker = CircuitBreaker(threshold=1, cooldown=5.0, clock=clock)
    breaker.record_failure()
    assert not breaker.allow()
    clock.now += 5.0
    assert breaker.allow() and not breaker.allow()  # the second caller waits for the trial's outcome
    breaker.record_success()
    assert breaker.allow() and breaker.state == CircuitBreaker.CLOSED


# --- rate limit and backoff ----------------------------------------------------------------------------------------


def test_rate_limiter_delays_requests(hma, clock):
    client = hma_client(hma, clock, rate_limit=5.0)
    for _ in range(3):
        assert client.lookup("sha256", MISS).status == NO_MATCH
    assert clock.sleeps == pytest.approx([0.2, 0.2])
    assert len(hma.server.requests) == 3


def test_rate_limiter_allows_a_burst_then_refills(clock):
    limiter = RateLimiter(2.0, burst=3, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.5])
    clock.now += 10.0
    assert limiter.acquire() == 0.0


def test_rate_limiter_is_thread_safe(clock):
    slept: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:  # the clock does not move: every caller must get its own slot
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(10.0, clock=clock, sleep=record)
    start = threading.Barrier(10)

    def worker() -> None:
        start.wait()
        limiter.acquire()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slept) == pytest.approx([0.1 * slot for slot in range(1, 10)])


def test_backoff_is_exponential_capped_and_jittered():
    fixed = HttpPolicy(backoff=1.0, backoff_max=8.0, jitter=0.5, rng=lambda: 0.5)
    assert [fixed.backoff_delay(retry) for retry in range(5)] == [0.75, 1.5, 3.0, 6.0, 6.0]
    assert HttpPolicy(backoff=1.0, jitter=0.5, rng=lambda: 0.0).backoff_delay(0) == 1.0


def test_concurrent_lookups(hma, clock):
    hma.add(81, HIT)
    client = hma_client(hma, clock)
    results: list[LookupResult] = []

    def worker() -> None:
        results.extend(client.lookup("sha256", HIT) for _ in range(5))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 30 and {result.status for result in results} == {MATCH}


# --- auth ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "auth_header", "expected"),
    [
        ("X-Api-Key: synthetic-key-1", None, ("X-Api-Key", "synthetic-key-1")),
        ("Bearer synthetic-token-1", None, ("Authorization", "Bearer synthetic-token-1")),
        ("synthetic:key:2", "X-Api-Key", ("X-Api-Key", "synthetic:key:2")),  # a configured header takes it whole
    ],
)
def test_auth_header_from_the_environment(hma, clock, monkeypatch, value, auth_header, expected):
    monkeypatch.setenv("SYNTHETIC_HMA_KEY", value)
    hma.api_key = expected
    hma.add(91, HIT)
    client = hma_client(hma, clock, auth_env="SYNTHETIC_HMA_KEY", auth_header=auth_header)
    assert client.lookup("sha256", HIT).status == MATCH
    assert client.status() is True
    assert len(hma.server.requests) == 3
    assert all(request.headers.get(expected[0].lower()) == expected[1] for request in hma.server.requests)


def test_auth_problems_are_unchecked_and_never_show_the_key(hma, clock, monkeypatch):
    hma.api_key = ("X-Api-Key", "synthetic-right-key")
    client = hma_client(hma, clock, auth_env="SYNTHETIC_HMA_KEY")
    monkeypatch.delenv("SYNTHETIC_HMA_KEY", raising=False)
    missing = client.lookup("sha256", HIT)
    assert missing.status == UNCHECKED and "SYNTHETIC_HMA_KEY" in missing.error
    assert hma.server.requests == []
    monkeypatch.setenv("SYNTHETIC_HMA_KEY", "X-Api-Key: synthetic-wrong-key")
    wrong = client.lookup("sha256", HIT)
    assert (wrong.status, wrong.error) == (UNCHECKED, "raw_lookup: HTTP 401 (API key required)")
    assert "synthetic-wrong-key" not in repr(client)


# --- generic JSON service ------------------------------------------------------------------------------------------


def test_json_service_post_with_body_template_and_nested_paths(serve, clock):
    def respond(request: Recorded) -> Reply:
        found = request.body["query"]["hash"] == HIT
        matches = [{"ref": {"id": "item-1", "list": "synthetic-list"}, "score": {"distance": "3"}}] if found else []
        return Reply(200, {"result": {"ok": True, "data": {"matches": matches}}})

    server = serve(respond)
    service = JsonService(
        "json-test",
        server.url + "/v1/lookup",
        request_template={"query": {"hash": "{signal}", "tags": ["type:{signal_type}"]}, "client": "linksweep"},
        matches_path="result.data.matches",
        match_fields={"content_id": "ref.id", "bank": "ref.list", "distance": "score.distance"},
        ok_path="result.ok",
        policy=policy(clock),
    )
    result = service.lookup("sha256", HIT)
    assert result.matches == (ServiceMatch("json-test", "sha256", HIT, "item-1", "synthetic-list", 3),)
    assert service.lookup("sha256", MISS).status == NO_MATCH
    request = server.requests[0]
    assert (request.method, request.path, request.headers["content-type"]) == ("POST", "/v1/lookup", "application/json")
    assert request.body == {"query": {"hash": HIT, "tags": ["type:sha256"]}, "client": "linksweep"}


def test_json_service_get_variant(serve, clock, monkeypatch):
    monkeypatch.setenv("SYNTHETIC_JSON_KEY", "Token synthetic-token-2")

    def respond(request: Recorded) -> Reply:
        return Reply(200, {"hits": ["id-1", 2] if request.params["h"] == MD5_HIT else []})

    server = serve(respond)
    service = JsonService(
        "json-get",
        server.url + "/check",
        method="GET",
        auth_env="SYNTHETIC_JSON_KEY",
        request_template={"h": "{signal}", "t": "{signal_type}", "v": 2},
        matches_path="hits",
        signal_types=["md5"],
        policy=policy(clock),
    )
    result = service.lookup("md5", MD5_HIT)
    assert [found.content_id for found in result.matches] == ["id-1", "2"]
    assert service.lookup("md5", synthetic("md5-miss", "md5")).status == NO_MATCH
    assert service.lookup("sha256", HIT).error == UNSUPPORTED
    request = server.requests[0]
    assert (request.method, request.params, request.body) == ("GET", {"h": MD5_HIT, "t": "md5", "v": "2"}, None)
    assert request.headers["authorization"] == "Token synthetic-token-2"
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"result": {"matches": []}}, NO_MATCH, None),
        ({"result": {"matches": None}}, NO_MATCH, None),
        ({"result": {}}, NO_MATCH, None),  # the API leaves out an empty list
        ({}, UNCHECKED, "lookup: malformed response (no result.matches)"),
        ({"error": "quota exceeded"}, UNCHECKED, "lookup: malformed response (no result.matches)"),
        ({"result": "busy"}, UNCHECKED, "lookup: malformed response (no result.matches)"),
        ({"result": {"matches": "none"}}, UNCHECKED, "lookup: malformed response (result.matches is not a list)"),
        ([], UNCHECKED, "lookup: malformed response (not a JSON object)"),
        (b"not json", UNCHECKED, "lookup: malformed response (not JSON)"),
        ({"result": {"matches": [["nested"]]}}, UNCHECKED, "lookup: malformed response (a match is not an object)"),
    ],
)
def test_json_service_needs_a_well_formed_answer(serve, clock, body, status, reason):
    server = serve(lambda request: Reply(200, body))
    service = JsonService("json-shape", server.url, matches_path="result.matches", policy=policy(clock))
    result = service.lookup("sha256", HIT)
    assert (result.status, result.error) == (status, reason)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"status": "ok"}, NO_MATCH, None),  # ok confirmed: the absent list means nothing matched
        ({"status": "ok", "data": {"matches": [{"id": 5}]}}, MATCH, None),
        ({"status": "error", "data": {"matches": []}}, UNCHECKED, 'lookup: response not ok (status is "error")'),
        ({"data": {"matches": []}}, UNCHECKED, "lookup: response not ok (status is missing)"),
    ],
)
def test_json_service_ok_path(serve, clock, body, status, reason):
    server = serve(lambda request: Reply(200, body))
    service = JsonService(
        "json-ok",
        server.url,
        matches_path="data.matches",
        match_fields={"content_id": "id"},
        ok_path="status",
        ok_value="ok",
        policy=policy(clock),
    )
    result = service.lookup("sha256", HIT)
    assert (result.status, result.error) == (status, reason)


def test_json_service_failures_are_unchecked(serve, clock):
    replies = [Reply(503), Reply(503), Reply(500, {"message": "boom"}), Reply(404)]
    server = serve(lambda request: replies.pop(0))
    service = JsonService("json-fail", server.url, policy=policy(clock, retries=1))
    assert service.lookup("sha256", HIT).error == "lookup: HTTP 503 after 2 attempts"
    assert service.lookup("sha256", HIT).error == "lookup: HTTP 500 (boom)"
    assert service.lookup("sha256", HIT).error == "lookup: HTTP 404"
    assert len(server.requests) == 4 and clock.sleeps == [0.5]


# --- configuration and lookup_all ----------------------------------------------------------------------------------


def test_services_from_config_and_lookup_all(hma, serve, clock, monkeypatch):
    monkeypatch.setenv("SYNTHETIC_HMA_KEY", "X-Api-Key: synthetic-key-3")
    hma.api_key = ("X-Api-Key", "synthetic-key-3")
    hma.add(101, HIT)
    hma.add(102, MD5_HIT, signal_type="md5", disable_until_ts=0)
    server = serve(lambda request: Reply(200, {"result": {"matches": [{"n": 1}]}}))
    config = {
        "services": [
            {
                "kind": "hma",
                "name": "hma-local",
                "url": hma.url + "/",
                "auth_env": "SYNTHETIC_HMA_KEY",
                "banks": ["SYNTH_A"],
                "timeout": [1, 3],
                "retries": 1,
                "rate_limit": 100,
            },
            {
                "kind": "json",
                "name": "json-local",
                "url": server.url + "/lookup",
                "method": "get",
                "request_template": {"sha256": "{signal}"},
                "matches_path": "result.matches",
                "match_fields": {"content_id": "n"},
                "signal_types": ["sha256"],
                "breaker_threshold": 2,
            },
        ]
    }
    services = services_from_config(config, policy=policy(clock))
    assert [type(service) for service in services] == [HmaClient, JsonService]
    hma_service, json_service = services
    assert (hma_service.name, hma_service.base_url, hma_service.banks) == ("hma-local", hma.url, ("SYNTH_A",))
    assert (hma_service.policy.timeout, hma_service.policy.retries, hma_service.policy.rate_limit) == ((1, 3), 1, 100)
    assert (json_service.method, json_service.signal_types, json_service.policy.breaker_threshold) == (
        "GET",
        frozenset({"sha256"}),
        2,
    )
    results = lookup_all(services, {"sha256": HIT, "md5": MD5_HIT, "tlsh": "T1" + "0" * 70})
    assert [(name, result.signal_type, result.status) for name, result in results] == [
        ("hma-local", "sha256", MATCH),
        ("json-local", "sha256", MATCH),
        ("hma-local", "md5", NO_MATCH),  # its only hit is a disabled item
    ]
    assert results[1][1].matches[0].content_id == "1"
    assert server.requests[0].params == {"sha256": HIT}


def test_from_config_on_each_class(hma):
    client = HmaClient.from_config({"name": "h", "url": hma.url, "signal_types": ["pdq"], "timeout": 4})
    assert (client.signal_types, client.policy.timeout, client.banks) == (frozenset({"pdq"}), (4.0, 4.0), ())
    service = JsonService.from_config({"name": "j", "url": "https://lookup.example.org/v1", "ok_value": "yes"})
    assert (service.method, service.matches_path, service.ok_value) == ("POST", "matches", "yes")


HMA_URL = "https://hma.example.org"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "'services' must be a list"),
        ({"services": {"kind": "hma"}}, "'services' must be a list"),
        ({"services": ["hma"]}, "services[0]: expected a table"),
        ({"services": [{"name": "a", "url": HMA_URL}]}, "services[0]: 'kind' must be one of 'hma', 'json'"),
        ({"services": [{"kind": "ftp", "name": "a", "url": HMA_URL}]}, "'kind' must be one of"),
        ({"services": [{"kind": "hma", "name": "a"}]}, "services[0]: hma service 'a': 'url' is required"),
        ({"services": [{"kind": "hma", "url": HMA_URL}]}, "services[0]: hma service: 'name' is required"),
        ({"services": [{"kind": "hma", "name": "a", "url": "ftp://hma.test/"}]}, "is not an http(s) URL"),
        ({"services": [{"kind": "hma", "name": "a", "url": "http://hma.example.org"}]}, "plain HTTP is allowed"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "banks": "SYNTH_A"}]}, "'banks' must be a list"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "banks": ["A,B"]}]}, "without commas"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "bankz": []}]}, "unknown setting(s) 'bankz'"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "timeout": -1}]}, "'timeout' must be"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "retries": 1.5}]}, "retries must be a whole"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "signal_types": []}]}, "signal_types must be"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "auth_header": "X-Key"}]}, "auth_env must name"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "auth_header": "X Key"}]}, "not an HTTP header"),
        (
            {"services": [{"kind": "json", "name": "j", "url": HMA_URL, "request_template": {"q": "{signal_type}"}}]},
            "json service 'j': request_template must contain the placeholder {signal}",
        ),
        (
            {"services": [{"kind": "json", "name": "j", "url": HMA_URL, "method": "DELETE"}]},
            "method must be GET or POST",
        ),
        (
            {"services": [{"kind": "json", "name": "j", "url": HMA_URL, "match_fields": {"score": "s"}}]},
            "match_fields: unknown field(s) score",
        ),
        (
            {
                "services": [
                    {
                        "kind": "json",
                        "name": "j",
                        "url": HMA_URL,
                        "method": "GET",
                        "request_template": {"q": {"h": "{signal}"}},
                    }
                ]
            },
            "query parameters",
        ),
        ({"services": [{"kind": "json", "name": "j", "url": HMA_URL, "matches_path": "a..b"}]}, "matches_path must be"),
        (
            {"services": [{"kind": "hma", "name": "a", "url": HMA_URL}, {"kind": "json", "name": "a", "url": HMA_URL}]},
            "services[1]: duplicate service name 'a'",
        ),
    ],
)
def test_config_errors_name_the_problem(config, message):
    with pytest.raises(ValueError) as raised:
        services_from_config(config)
    assert message in str(raised.value)


def test_lookup_result_invariants():
    with pytest.raises(ValueError):
        LookupResult(UNCHECKED)  # an unchecked result always says why
    with pytest.raises(ValueError):
        LookupResult(MATCH)
    with pytest.raises(ValueError):
        LookupResult("clean")


def test_lookup_all_skips_services_without_the_signal_type(hma, clock):
    narrow = hma_client(hma, clock, signal_types=["pdq"])
    assert lookup_all([narrow], {"sha256": HIT}) == []
    assert hma.server.requests == []
