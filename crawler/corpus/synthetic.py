"""Synthetic corpus files (reserved names, benign bytes) for the bundled sample, the tests and the benchmarks.

Writes records byte by byte rather than through a WARC library, so tests of the readers do not depend on
the code under test, and output is deterministic (fixed dates and ids, gzip mtime 0).
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterable, Sequence

WARC_DATE = "2026-01-15T12:00:00Z"


def record_id(seed: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}>"


def warc_record(
    record_type: str,
    block: bytes,
    *,
    target_uri: str | None = None,
    content_type: str | None = None,
    rec_id: str | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
    version: str = "WARC/1.1",
) -> bytes:
    """One WARC record, uncompressed."""
    headers = [
        ("WARC-Type", record_type),
        ("WARC-Date", WARC_DATE),
        ("WARC-Record-ID", rec_id or record_id(f"{record_type}:{target_uri}:{len(block)}")),
    ]
    if target_uri is not None:
        headers.append(("WARC-Target-URI", target_uri))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    headers.extend(extra_headers)
    headers.append(("Content-Length", str(len(block))))
    head = version + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def http_response(status: int, headers: Sequence[tuple[str, str]], body: bytes, reason: str = "OK") -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("latin-1") + b"\r\n" + body


def response_record(
    url: str,
    body: bytes,
    *,
    status: int = 200,
    content_type: str = "text/html; charset=utf-8",
    headers: Sequence[tuple[str, str]] = (),
    reason: str = "OK",
) -> bytes:
    http_headers = [("Content-Type", content_type), *headers]
    if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in http_headers):
        http_headers.append(("Content-Length", str(len(body))))
    return _http_record("response", url, http_response(status, http_headers, body, reason))


def request_record(url: str) -> bytes:
    host = url.split("/")[2]
    block = f"GET /{url.split('/', 3)[3] if url.count('/') > 2 else ''} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    return _http_record("request", url, block)


def _http_record(kind: str, url: str, block: bytes) -> bytes:
    return warc_record(
        kind, block, target_uri=url, content_type=f"application/http; msgtype={kind}", rec_id=record_id(f"{kind}:{url}")
    )


def warcinfo_record(filename: str) -> bytes:
    block = f"software: linksweep synthetic corpus\r\nformat: WARC File Format 1.1\r\nfilename: {filename}\r\n"
    return warc_record(
        "warcinfo", block.encode(), content_type="application/warc-fields", rec_id=record_id(f"warcinfo:{filename}")
    )


def chunked(body: bytes, chunk_size: int = 100) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk_size]), body[i : i + chunk_size])
        for i in range(0, len(body), chunk_size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def gzip_member(data: bytes, level: int = 6) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def write_warc(path, records: Iterable[bytes], *, gzipped: bool, level: int = 6) -> None:
    """A WARC file, gzipped one member per record (as Common Crawl writes them) or plain."""
    with open(path, "wb") as out:
        for record in records:
            out.write(gzip_member(record, level) if gzipped else record)


def arc_file(records: Sequence[tuple[str, str, str, bytes]], filename: str = "sample.arc") -> list[bytes]:
    """ARC v1 records (filedesc first) for (url, ip, mime, http_block) tuples, one bytes object per record."""
    filedesc_body = b"1 0 linksweep\nURL IP-address Archive-date Content-type Archive-length\n"
    header = f"filedesc://{filename} 0.0.0.0 20260115120000 text/plain {len(filedesc_body)}\n".encode()
    out = [header + filedesc_body + b"\n"]
    for url, ip, mime, block in records:
        out.append(f"{url} {ip} 20260115120000 {mime} {len(block)}\n".encode() + block + b"\n")
    return out


def wat_record(
    url: str,
    original_id: str,
    links: Sequence[dict],
    *,
    head_links: Sequence[dict] = (),
    base: str | None = None,
    location: str | None = None,
    status: int = 200,
) -> bytes:
    """A Common Crawl WAT metadata record describing one response with its links."""
    headers = {"Content-Type": "text/html"}
    if location:
        headers["Location"] = location
    html_metadata: dict = {"Head": {"Link": list(head_links)}, "Links": list(links)}
    if base:
        html_metadata["Head"]["Base"] = base
    envelope = {
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI": url, "WARC-Record-ID": original_id},
            "Payload-Metadata": {
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Status": str(status), "Version": "HTTP/1.1", "Reason": "OK"},
                    "Headers": headers,
                    "HTML-Metadata": html_metadata,
                }
            },
        }
    }
    return warc_record(
        "metadata",
        json.dumps(envelope).encode(),
        target_uri=url,
        content_type="application/json",
        rec_id=record_id(f"wat:{url}"),
        extra_headers=[("WARC-Refers-To", original_id)],
    )
