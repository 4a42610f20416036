"""A loopback mirror of a Common-Crawl-like tree (crawl-data/CRAWL/warc.paths.gz and the files it lists), with
faults to inject: a dropped connection, 503 with Retry-After, Range answered with 200, a short file, a file that
changes mid-read. Serves only synthetic files from a test's folder, on 127.0.0.1; shared by the ingest and run
tests.

    with corpus_mirror(root) as mirror:
        mirror.faults.drop_at["/crawl-data/.../x.warc.gz"] = 5000
        ingest(db, "S", [f"{mirror.base_url}/crawl-data/.../x.warc.gz"], remote=RemoteOptions(...))
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.corpus.synthetic import response_record, warcinfo_record, wat_record, write_warc

CRAWL = "CC-MAIN-2099-01"
_RANGE = re.compile(r"^bytes=(\d+)-$")


@dataclass
class Faults:
    """What the mirror does wrong, by request path. Each drop and 503 happens the given number of times."""

    drop_at: dict[str, int] = field(default_factory=dict)  # close the connection after this many body bytes
    drops: dict[str, int] = field(default_factory=dict)  # how many times to drop (default once)
    unavailable: dict[str, int] = field(default_factory=dict)  # answer 503 this many times
    retry_after: str = "1"  # the Retry-After of a 503
    ignore_range: set[str] = field(default_factory=set)  # answer a Range request with 200 and the whole file
    short_by: dict[str, int] = field(default_factory=dict)  # advertise this many bytes more than the file has
    changed_after_first: set[str] = field(default_factory=set)  # a new ETag for every request after the first


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


class CorpusMirror:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults = Faults()
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._served: dict[str, int] = {}  # GET requests answered, by path
        self._etags: dict[tuple[str, int, int], str] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="corpus-mirror", daemon=True)

    def _etag(self, file: Path) -> str:
        """The file's ETag: a digest of its bytes, computed once per size and modification time."""
        stat = file.stat()
        key = (str(file), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._etags.get(key)
        if cached is None:
            cached = f'"{hashlib.sha256(file.read_bytes()).hexdigest()[:16]}"'
            with self._lock:
                self._etags[key] = cached
        return cached

    def url(self, relative: str | Path) -> str:
        return f"{self.base_url}/{Path(relative).as_posix()}"

    def gets(self, path: str) -> list[LoggedRequest]:
        return [request for request in self.requests if request.method == "GET" and request.path == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's API
                pass

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's API
                self._answer(body=False)

            def do_GET(self) -> None:  # noqa: N802 - http.server's API
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                path = self.path.split("?", 1)[0]
                logged = LoggedRequest(self.command, path, dict(self.headers.items()))
                with mirror._lock:
                    mirror.requests.append(logged)
                    count = mirror._served.get(path, 0)
                    if body:
                        mirror._served[path] = count + 1
                faults = mirror.faults
                file = (mirror.root / path.lstrip("/")).resolve()
                if not file.is_file() or mirror.root.resolve() not in file.parents:
                    return self._status(logged, 404)
                if body and faults.unavailable.get(path, 0) > 0:
                    faults.unavailable[path] -= 1
                    return self._status(logged, 503, {"Retry-After": faults.retry_after})
                size = file.stat().st_size
                etag = mirror._etag(file)
                if path in faults.changed_after_first and count > 0:
                    etag = f'"changed-{count}"'
                length = size + faults.short_by.get(path, 0)
                start = 0
                found = _RANGE.match(self.headers.get("Range", ""))
                ranged = found is not None and path not in faults.ignore_range
                if ranged and self.headers.get("If-Range") not in (None, etag):
                    ranged = False  # the file changed: the whole of the new one
                if ranged:
                    start = int(found.group(1))
                    if start >= length:
                        return self._status(logged, 416, {"Content-Range": f"bytes */{length}"})
                    logged.status = 206
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{length - 1}/{length}")
                else:
                    logged.status = 200
                    self.send_response(200)
                self.send_header("Content-Length", str(length - start))
                self.send_header("ETag", etag)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if not body:
                    return
                end = size  # the bytes sent: [start, end)
                drop_at = faults.drop_at.get(path)
                if drop_at is not None and faults.drops.get(path, 1) > 0 and start < drop_at:
                    faults.drops[path] = faults.drops.get(path, 1) - 1
                    end = min(end, drop_at)
                    self.close_connection = True
                with contextlib.suppress(OSError), open(file, "rb") as source:
                    self.wfile.flush()
                    if end > start:  # straight from the file to the socket: the mirror spends little CPU
                        self.connection.sendfile(source, offset=start, count=end - start)
                if end - start < length - start:
                    self.close_connection = True  # the client is left short of the advertised length

            def _status(self, logged: LoggedRequest, status: int, headers: dict[str, str] | None = None) -> None:
                logged.status = status
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def start(self) -> CorpusMirror:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def corpus_mirror(root: Path) -> Iterator[CorpusMirror]:
    """A mirror serving `root` on 127.0.0.1 for the duration of the block."""
    mirror = CorpusMirror(root).start()
    try:
        yield mirror
    finally:
        mirror.stop()


def build_cc_tree(root: Path, crawl: str = CRAWL, warcs: int = 6, wats: int = 3, pages: int = 40) -> list[str]:
    """Synthetic WARC and WAT files under root/crawl-data/CRAWL/segments/..., listed (relative to root) in
    warc.paths.gz and wat.paths.gz; returns the WARC paths."""
    rng = random.Random(crawl)
    listings: dict[str, list[str]] = {"warc": [], "wat": []}
    for subset, count in (("warc", warcs), ("wat", wats)):
        for file_no in range(count):
            relative = f"crawl-data/{crawl}/segments/1.{file_no}/{subset}/part-{file_no:05d}.{subset}.gz"
            records = [warcinfo_record(Path(relative).name)]
            for page_no in range(pages):
                url = f"https://site{file_no}.example.org/page/{page_no}"
                targets = [f"https://h{rng.randrange(500)}.example.org/p/{rng.randrange(10**5)}" for _ in range(8)]
                if subset == "warc":
                    anchors = "".join(f"<a href='{target}'>x</a> filler {'lorem ' * 30}" for target in targets)
                    records.append(response_record(url, f"<html><body>{anchors}</body></html>".encode()))
                else:
                    links = [{"path": "A@/href", "url": target} for target in targets]
                    records.append(wat_record(url, f"<urn:uuid:{file_no}-{page_no}>", links))
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            write_warc(path, records, gzipped=True, level=1)
            listings[subset].append(relative)
    for subset, lines in listings.items():
        listing = root / "crawl-data" / crawl / f"{subset}.paths.gz"
        listing.write_bytes(gzip.compress("".join(f"{line}\n" for line in lines).encode()))
    return listings["warc"]
