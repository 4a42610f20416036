"""Regenerate the bundled sample snapshot: `python data/sample/generate.py` (output is deterministic).

Only reserved names (.test, example.org), documentation IPs (192.0.2.0/24, 198.51.100.0/24) and benign bytes.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.corpus.synthetic import (
    arc_file,
    chunked,
    record_id,
    request_record,
    response_record,
    wat_record,
    warcinfo_record,
    write_warc,
)

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"

PORTAL = b"""<!doctype html><html><head><title>Portal</title>
<link rel="stylesheet" href="/static/site.css"><script src="https://cdn.example.org/app.js"></script></head>
<body><h1>Links of the week</h1>
<p>Read <a href="https://news.example.org/story/1">a story</a> and <a href="http://harmful-site.test/gallery?id=7">this
page</a> (listed), or <a href="/about">about us</a>.</p>
<img src="https://cdn.flagged-images.test/i/123.jpg" srcset="https://cdn.example.org/a.png 1x,
 https://img.flagged-images.test/b.png 2x" alt="">
<iframe src="https://video.example.org/embed/42"></iframe>
<p>Plain text mention: http://www.harmful-site.test/plain, and a documentation IP http://192.0.2.66/x.</p>
<a href="mailto:editor@example.org">mail</a> <a href="javascript:void(0)">js</a>
</body></html>"""

BASED = b"""<html><head><base href="https://mirror.example.org/pub/"></head>
<body><a href="files/list.html">relative to base</a> <form action="search"></form></body></html>"""

LATIN1 = (
    '<html><head><meta charset="windows-1252"></head><body>'
    '<a href="http://caf\u00e9.example.org/men\u00fc">Caf\u00e9</a></body></html>'
).encode("cp1252")

HARMFUL_PAGE = b"<html><body><p>A page on a listed host.</p><a href='/next'>next</a></body></html>"

REFRESH = (
    b'<html><head><meta http-equiv="refresh" content="0; url=https://harmful-site.test/landing">'
    b"</head><body>moved</body></html>"
)


def warc_records() -> list[bytes]:
    return [
        warcinfo_record("SAMPLE-00000.warc.gz"),
        request_record("https://www.example.org/portal"),
        response_record("https://www.example.org/portal", PORTAL),
        response_record("https://docs.example.org/based", BASED),
        response_record("https://latin.example.org/", LATIN1, content_type="text/html"),
        response_record("http://harmful-site.test/gallery?id=7", HARMFUL_PAGE),
        response_record(
            "https://short.example.org/r/abc",
            b"",
            status=302,
            reason="Found",
            headers=[("Location", "https://sub.harmful-site.test/x")],
        ),
        response_record("https://redirector.example.org/go", REFRESH),
        response_record(
            "https://chunked.example.org/",
            chunked(gzip.compress(PORTAL, mtime=0)),
            headers=[("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")],
        ),
        response_record("https://cdn.example.org/logo.png", b"\x89PNG\r\n\x1a\nsynthetic", content_type="image/png"),
    ]


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    write_warc(CORPUS / "SAMPLE-00000.warc.gz", warc_records(), gzipped=True)
    write_warc(
        CORPUS / "SAMPLE-00001.warc",
        [
            warcinfo_record("SAMPLE-00001.warc"),
            response_record("https://blog.example.org/post", b"<a href='https://cdn.flagged-images.test/p.jpg'>x</a>"),
        ],
        gzipped=False,
    )
    write_warc(
        CORPUS / "SAMPLE-00000.warc.wat.gz",
        [
            warcinfo_record("SAMPLE-00000.warc.wat.gz"),
            wat_record(
                "https://wat.example.org/page",
                record_id("response:https://wat.example.org/page"),
                links=[
                    {"path": "A@/href", "url": "https://harmful-site.test/from-wat"},
                    {"path": "IMG@/src", "url": "/img/local.png"},
                ],
                head_links=[{"path": "LINK@/href", "url": "https://cdn.example.org/wat.css"}],
            ),
        ],
        gzipped=True,
    )
    write_warc(
        CORPUS / "LEGACY-00000.arc.gz",
        arc_file(
            [
                (
                    "http://old.example.org/",
                    "192.0.2.10",
                    "text/html",
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<a href='http://harmful-site.test/old'>old</a>",
                ),
            ],
            filename="LEGACY-00000.arc",
        ),
        gzipped=True,
    )
    pq.write_table(
        pa.table(
            {
                "URL": [
                    "https://images.example.org/cat.jpg",
                    "https://cdn.flagged-images.test/dog.jpg",
                    "https://images.example.org/bird.jpg",
                ],
                "TEXT": ["a cat", "a dog", "a bird"],
            }
        ),
        CORPUS / "image-text-00000.parquet",
    )
    (CORPUS / "urls-00000.jsonl").write_text(
        "".join(
            json.dumps(row) + "\n"
            for row in [
                {"url": "https://www.example.org/a", "caption": "ok"},
                {"url": "http://198.51.100.23/listed-ip", "caption": "ip host"},
            ]
        )
    )
    print(f"wrote sample corpus to {CORPUS}")


if __name__ == "__main__":
    main()
