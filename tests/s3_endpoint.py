"""A loopback S3 endpoint for tests: moto's server on 127.0.0.1 behind a small proxy that logs every request
(method, path, headers) and drops a GetObject's connection after N body bytes, optionally changing the object
first. Only synthetic objects, only on 127.0.0.1; the tests skip when moto or boto3 is absent.

    with s3_endpoint() as endpoint:
        endpoint.put_tree(root, files)
        endpoint.drop_at["/corpus/crawl-data/.../x.warc.gz"] = 5000
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BUCKET = "corpus"
ACCESS_KEY = "AKIATESTONLY0000KEY1"
SECRET_KEY = "test-only-secret-never-sent-elsewhere"
_HOP_HEADERS = {"connection", "transfer-encoding", "keep-alive", "content-length"}


@dataclass
class ProxiedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class S3Endpoint:
    upstream: tuple[str, int]
    client: object  # a boto3 client straight to moto, for the tests' own setup
    requests: list[ProxiedRequest] = field(default_factory=list)
    drop_at: dict[str, int] = field(default_factory=dict)  # path: close a whole-object GET after this many bytes
    before_drop: dict[str, Callable[[], None]] = field(default_factory=dict)  # path: called before the drop
    url: str = ""

    def gets(self, path: str) -> list[ProxiedRequest]:
        return [request for request in self.requests if request.method == "GET" and request.path == path]

    def put_tree(self, root: Path, relative_paths: list[str]) -> None:
        for relative in relative_paths:
            self.client.put_object(Bucket=BUCKET, Key=relative, Body=(root / relative).read_bytes())


def _handler(endpoint: S3Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's API
            pass

        def _forward(self) -> None:
            path = self.path.split("?", 1)[0]
            logged = ProxiedRequest(self.command, path, dict(self.headers.items()))
            endpoint.requests.append(logged)
            sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            upstream = http.client.HTTPConnection(*endpoint.upstream, timeout=30)
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_HEADERS:
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(sent)))
            upstream.endheaders(sent)
            answer = upstream.getresponse()
            body = answer.read()
            upstream.close()
            logged.status = answer.status
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_HEADERS:
                    self.send_header(name, value)
            advertised = answer.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", advertised or str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            drop = endpoint.drop_at.get(path) if self.command == "GET" and answer.status == 200 else None
            if drop is not None:
                del endpoint.drop_at[path]  # once
                if path in endpoint.before_drop:
                    endpoint.before_drop.pop(path)()
                body, self.close_connection = body[:drop], True
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward  # noqa: N815 - http.server's API

    return Handler


@contextlib.contextmanager
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto on 127.0.0.1 with the bucket `corpus`, behind the logging proxy, for the duration of the block."""
    import boto3
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=BUCKET)
    endpoint = S3Endpoint((host, port), client)
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
    proxy.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{proxy.server_address[1]}"
    thread = threading.Thread(target=proxy.serve_forever, name="s3-proxy", daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        proxy.shutdown()
        proxy.server_close()
        moto.stop()
