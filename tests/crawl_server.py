"""A test web server on several loopback addresses (127.0.0.1, 127.0.0.2, ...), one port each, sharing one
route table and one request log, for end-to-end crawls. Only synthetic content; traffic stays on loopback."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's API
                address = self.server.server_address[0]
                with owner._lock:
                    owner.log.append((address, self.headers.get("Host", ""), self.path))
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

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
