"""Fakes for the hash-service tests: local HTTP servers on 127.0.0.1 that speak each API, a fake HMA and
a fake clock, synthetic hashes, and helpers that build clients with a test policy.

All hashes are synthetic (digests of b"synthetic-..."), names are reserved (.test, example.org). Time is a fake
clock: retries, Retry-After, the rate limiter and the breaker's cool-down are asserted on recorded sleeps, never on
wall time. The one real timeout uses a 0.2 s limit against a handler that sleeps 1 s and asserts only the outcome.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pipelines.hashing.services.hma import HmaClient
from pipelines.hashing.services.http_policy import HttpPolicy


def synthetic(label: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, f"synthetic-{label}".encode()).hexdigest()


HIT = synthetic("1")
HIT_TWO = synthetic("2")
MISS = synthetic("miss")
MD5_HIT = synthetic("md5-1", "md5")
PDQ_HIT = synthetic("pdq-1")  # 64 hex digits, the shape of a PDQ hash
NOW = 1_700_000_000.0  # the fake wall clock for disable_until_ts


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


def policy(clock: FakeClock, **changes: Any) -> HttpPolicy:
    settings: dict[str, Any] = {"timeout": (2.0, 2.0), "retries": 0, "jitter": 0.0}
    settings.update(changes)
    return HttpPolicy(clock=clock, sleep=clock.sleep, **settings)


def hma_client(hma: FakeHma, clock: FakeClock, *, banks=("SYNTH_A",), **kwargs: Any) -> HmaClient:
    settings = {key: kwargs.pop(key) for key in list(kwargs) if key in HttpPolicy.__dataclass_fields__}
    return HmaClient(
        "hma-test", hma.url, banks=banks, policy=policy(clock, **settings), wall_clock=lambda: NOW, **kwargs
    )
