"""A test web server on several loopback addresses (127.0.0.1, 127.0.0.2, ...), one port each, sharing one
route table and one request log, for end-to-end crawls. Only synthetic content; traffic stays on loopback."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Request header naming the crawler process that sent a request (set by TagRequestsWithPid, in tests only).
PID_HEADER = "X-Test-Crawler-Pid"


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


class CrawlServer:
    def __init__(self, addresses: list[str]) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, str, str]] = []  # (server address, Host header, path)
        # (Host header, the crawler process's PID_HEADER or "", time.monotonic()) of every request
        self.tagged: list[tuple[str, str, float]] = []
        self.in_flight: dict[str, int] = {}  # Host header -> requests being answered now
        self.peak_in_flight: dict[str, int] = {}  # Host header -> the most ever answered at once
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's API
                address = self.server.server_address[0]
                host = self.headers.get("Host", "")
                with owner._lock:
                    owner.log.append((address, host, self.path))
                    owner.tagged.append((host, self.headers.get(PID_HEADER, ""), time.monotonic()))
                    owner.in_flight[host] = owner.in_flight.get(host, 0) + 1
                    owner.peak_in_flight[host] = max(owner.peak_in_flight.get(host, 0), owner.in_flight[host])
                try:
                    self._answer()
                finally:
                    with owner._lock:
                        owner.in_flight[host] -= 1

            def _answer(self) -> None:
                route = owner.routes.get(self.path.split("?", 1)[0]) or Route(404, {}, b"not found")
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        for address in addresses:
            server = ThreadingHTTPServer((address, 0), Handler)
            server.daemon_threads = True
            self.servers[address] = server
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def port(self, address: str) -> int:
        return self.servers[address].server_address[1]

    def requests_to(self, address: str) -> list[tuple[str, str, str]]:
        with self._lock:
            return [entry for entry in self.log if entry[0] == address]

    def processes_by_host(self) -> dict[str, set[str]]:
        """Host header -> the PIDs of the crawler processes that asked it (see TagRequestsWithPid)."""
        found: dict[str, set[str]] = {}
        with self._lock:
            for host, pid, _at in self.tagged:
                found.setdefault(host, set()).add(pid)
        return found

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


class TagRequestsWithPid:
    """Scrapy extension for tests (`EXTENSIONS = {"tests.crawl_server.TagRequestsWithPid": 0}`): every request
    carries the PID of the crawler process that sends it, so the server's log tells which process asked."""

    @classmethod
    def from_crawler(cls, crawler):
        import os

        from scrapy import signals

        def tag(request, spider=None) -> None:
            request.headers[PID_HEADER] = str(os.getpid())

        crawler.signals.connect(tag, signal=signals.request_scheduled, weak=False)
        return cls()
