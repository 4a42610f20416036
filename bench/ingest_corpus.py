"""The synthetic Common-Crawl-like WARC corpus of bench/ingest.py: generated once, reused while its shape and
the generator's version are the same. tests/crawler/corpus/test_fast_links_real.py checks the scanner on its pages."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler.corpus.synthetic import gzip_member, request_record, response_record, warcinfo_record  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
CORPUS_DIR = BENCH_DIR / "corpus"  # the default corpus (200 MB, 4 files); other shapes get their own folder
GENERATOR_VERSION = 2
SEED = 20260115
MB = 1_000_000

_SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou") + ("bar", "cen", "dor", "ist", "olt", "quen")

_INLINE_CSS = [
    "".join(
        f".c{i}-{j}{{margin:{j}px {i}px;padding:{i + j}px;color:#{(i * 97 + j * 31) % 4096:03x};"
        f"font-size:{12 + (i + j) % 8}px;line-height:1.{(i * j) % 9 + 1}}}\n"
        for j in range(30)
    )
    for i in range(8)
]
_INLINE_JS = [
    f"window.dataLayer=window.dataLayer||[];function gtag{i}(){{dataLayer.push(arguments);}}\n"
    f"document.addEventListener('DOMContentLoaded',function(){{var n=document.querySelectorAll('.c{i}-1');"
    f"for(var k=0;k<n.length;k++){{n[k].classList.add('ready');}}}});\n"
    for i in range(8)
]
_NON_HTML = (
    ("image/png", ".png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"),
    ("image/jpeg", ".jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
    ("application/pdf", ".pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
)


class PageMaker:
    """Deterministic pseudo-random pages: HTML (~40-50 KB, ~50 links) and benign non-HTML payloads."""

    HOST_SPACE = 200_000

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        vocab = sorted(
            {"".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(6000)}
        )
        rng.shuffle(vocab)
        # Zipf-like frequencies by repetition, so a uniform pick from the pool is cheap
        self.words = [word for rank, word in enumerate(vocab) for _ in range(max(1, 400 // (rank + 1)))]
        self.vocab = vocab

    def host(self) -> str:
        n = self.rng.randrange(self.HOST_SPACE)
        if n % 5 == 0:
            return f"site{n}.test"
        return f"www.h{n}.example.org" if n % 7 == 0 else f"h{n}.example.org"

    def segment(self) -> str:
        return self.rng.choice(self.vocab)

    def path(self) -> str:
        rng = self.rng
        parts = "/".join(self.segment() for _ in range(rng.randint(1, 3)))
        tail = rng.random()
        if tail < 0.3:
            return f"{parts}.html"
        if tail < 0.45:
            return f"{parts}?id={rng.randrange(100000)}&amp;ref={self.segment()}"
        if tail < 0.55:
            return f"{parts}/"
        return parts

    def href(self) -> tuple[str, str]:
        """An <a href> value: absolute, protocol-relative, root-relative or relative."""
        r = self.rng.random()
        if r < 0.45:
            return f"https://{self.host()}/{self.path()}", "abs"
        if r < 0.55:
            return f"//{self.host()}/{self.path()}", "proto"
        if r < 0.80:
            return f"/{self.path()}", "root"
        if self.rng.random() < 0.6:
            return f"../{self.segment()}.html", "rel"
        return f"{self.segment()}/{self.segment()}.html", "rel"

    def text(self, count: int) -> str:
        return " ".join(self.rng.choices(self.words, k=count))

    def asset(self, ext: str) -> str:
        r = self.rng.random()
        if r < 0.4:
            return f"/static/{self.segment()}-{self.rng.randrange(1 << 24):06x}{ext}"
        if r < 0.7:
            return f"https://cdn{self.rng.randrange(50)}.example.org/{self.segment()}/{self.segment()}{ext}"
        return f"//{self.host()}/assets/{self.segment()}{ext}"

    def html(self, url: str) -> tuple[bytes, int]:
        """One HTML page and the number of link values it holds (attribute URLs, srcset candidates, text URLs)."""
        rng = self.rng
        links = 0
        target = rng.randint(36_000, 56_000)
        title = self.text(rng.randint(3, 8)).title()
        style = rng.randrange(len(_INLINE_CSS))
        head = [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f'<meta name="description" content="{self.text(rng.randint(12, 25))}">\n',
            f'<meta name="keywords" content="{", ".join(self.text(6).split())}">\n',
            f"<title>{title}</title>\n",
            f'<link rel="stylesheet" href="{self.asset(".css")}">\n',
            f'<link rel="icon" href="/favicon.ico">\n<link rel="canonical" href="{url}">\n',
            f'<script src="{self.asset(".js")}" defer></script>\n',
            f"<style>\n{_INLINE_CSS[style]}</style>\n",
            f"<script>\n{_INLINE_JS[style]}</script>\n</head>\n",
        ]
        links += 4  # stylesheet, icon, canonical, script
        if rng.random() < 0.5:
            head.insert(-2, f'<script async src="{self.asset(".js")}"></script>\n')
            links += 1
        body = [f'<body class="c{style}-0">\n<header class="c{style}-1">\n<nav>\n<ul>\n']
        for _ in range(rng.randint(6, 12)):
            body.append(f'<li class="c{style}-2"><a href="/{self.path()}">{self.text(rng.randint(1, 3))}</a></li>\n')
            links += 1
        body.append(f"</ul>\n</nav>\n<h1>{title}</h1>\n</header>\n<main>\n<article>\n")
        # how many in-text links, images, bare URLs are spread over the paragraphs
        a_links = rng.randint(8, 36)
        images = rng.randint(1, 5)
        srcsets = rng.randint(0, min(images, 2))
        bare = rng.choice((0, 1, 1, 2, 2, 3, 4))
        size = sum(map(len, head)) + sum(map(len, body)) + 1500
        paragraphs: list[str] = []
        while size < target or a_links or images or bare:
            words = self.rng.choices(self.words, k=rng.randint(60, 160))
            here = min(a_links, rng.randint(0, 4))
            with_bare = bool(bare) and rng.random() < 0.3
            spots = rng.sample(range(len(words)), here + with_bare)  # distinct words: no link overwrites another
            for where in spots[:here]:
                href, _kind = self.href()
                words[where] = f'<a href="{href}">{words[where]}</a>'
            a_links -= here
            links += here
            if with_bare:
                words[spots[-1]] = f"(see http://{self.host()}/{self.path()})."
                bare -= 1
                links += 1
            paragraph = f'<p class="c{style}-{rng.randrange(30)}">{" ".join(words)}</p>\n'
            if images and rng.random() < 0.35:
                if srcsets:
                    srcsets -= 1
                    candidates = [f"{self.asset('.jpg')} {w}w" for w in (480, 800, 1200)[: rng.randint(2, 3)]]
                    links += 1 + len(candidates)
                    paragraph += (
                        f'<figure><img src="{self.asset(".jpg")}" srcset="{", ".join(candidates)}" '
                        f'alt="{self.text(3)}" width="800" height="600"><figcaption>{self.text(8)}</figcaption>'
                        "</figure>\n"
                    )
                else:
                    links += 1
                    paragraph += f'<img src="{self.asset(".png")}" alt="{self.text(2)}" loading="lazy">\n'
                images -= 1
            if rng.random() < 0.15:
                paragraph = f'<h2 id="s{len(paragraphs)}">{self.text(rng.randint(2, 6))}</h2>\n' + paragraph
            paragraphs.append(paragraph)
            size += len(paragraph)
        body.extend(paragraphs)
        body.append("</article>\n")
        if rng.random() < 0.15:
            body.append(
                f'<iframe src="https://video{rng.randrange(20)}.test/embed/{rng.randrange(1 << 30):x}" '
                'width="560" height="315" allowfullscreen></iframe>\n'
            )
            links += 1
        if rng.random() < 0.3:
            body.append(
                f'<form action="/{self.segment()}/search" method="get"><input type="text" name="q">'
                '<button type="submit">Search</button></form>\n'
            )
            links += 1
        body.append(f'</main>\n<footer class="c{style}-3">\n<ul>\n')
        for _ in range(rng.randint(3, 7)):
            href, _kind = self.href()
            body.append(f'<li><a href="{href}">{self.text(rng.randint(1, 3))}</a></li>\n')
            links += 1
        body.append(f"</ul>\n<p>&copy; 2026 {self.text(2)}</p>\n</footer>\n")
        body.append(f'<script src="{self.asset(".js")}"></script>\n</body>\n</html>\n')
        links += 1
        return ("".join(head) + "".join(body)).encode("utf-8"), links

    def binary(self) -> tuple[str, str, bytes]:
        content_type, ext, magic = self.rng.choice(_NON_HTML)
        return content_type, ext, magic + self.rng.randbytes(self.rng.randint(2_000, 40_000))


def generate_file(path: str, index: int, target_bytes: int) -> dict:
    """One gzipped WARC (one member per record): warcinfo, then request/response pairs until target_bytes."""
    rng = random.Random(SEED * 1000 + index)
    maker = PageMaker(rng)
    pages = html_pages = links = raw_bytes = 0
    written = 0
    name = Path(path).name
    tmp = path + ".part"
    with open(tmp, "wb") as out:
        record = warcinfo_record(name)
        raw_bytes += len(record)
        written += out.write(gzip_member(record))
        while written < target_bytes:
            host = maker.host()
            page_path = f"{maker.segment()}/{maker.segment()}-{index}-{pages}"
            headers = [("Date", "Thu, 15 Jan 2026 12:00:00 GMT"), ("Server", rng.choice(("nginx", "Apache")))]
            if rng.random() < 0.1:
                content_type, ext, body = maker.binary()
                url = f"https://{host}/{page_path}{ext}"
            else:
                url = f"https://{host}/{page_path}.html"
                body, page_links = maker.html(url)
                content_type = "text/html; charset=utf-8"
                html_pages += 1
                links += page_links
                headers.append(("Cache-Control", "max-age=600"))
            for record in (request_record(url), response_record(url, body, content_type=content_type, headers=headers)):
                raw_bytes += len(record)
                written += out.write(gzip_member(record))
            pages += 1
    os.replace(tmp, path)
    return {
        "name": name,
        "bytes": written,
        "raw_bytes": raw_bytes,
        "pages": pages,
        "html_pages": html_pages,
        "links": links,
    }


def corpus_dir(size_mb: int, files: int) -> Path:
    return CORPUS_DIR if (size_mb, files) == (200, 4) else BENCH_DIR / f"corpus-{size_mb}mb-{files}files"


def corpus_paths(folder: Path, files: int) -> list[Path]:
    return [folder / f"CC-BENCH-20260115120000-{i:05d}.warc.gz" for i in range(files)]


def ensure_corpus(size_mb: int, files: int, regenerate: bool) -> dict:
    folder = corpus_dir(size_mb, files)
    manifest_path = folder / "manifest.json"
    paths = corpus_paths(folder, files)
    if not regenerate and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        same = (manifest.get("size_mb"), manifest.get("files"), manifest.get("version")) == (
            size_mb,
            files,
            GENERATOR_VERSION,
        )
        if same and all(
            p.exists() and p.stat().st_size == f["bytes"] for p, f in zip(paths, manifest["file_list"], strict=False)
        ):
            print(f"corpus: reusing {files} files in {folder} (generated in {manifest['seconds']:.1f} s)")
            return manifest
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.warc.gz"):
        old.unlink()
    manifest_path.unlink(missing_ok=True)
    print(f"corpus: generating {size_mb} MB gzipped in {files} files into {folder} ...", flush=True)
    started = time.perf_counter()
    target = size_mb * MB // files
    with ProcessPoolExecutor(min(files, os.cpu_count() or 1)) as pool:
        file_list = list(pool.map(generate_file, [str(p) for p in paths], range(files), [target] * files))
    seconds = time.perf_counter() - started
    manifest = {
        "version": GENERATOR_VERSION,
        "seed": SEED,
        "size_mb": size_mb,
        "files": files,
        "seconds": round(seconds, 2),
        "file_list": file_list,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"corpus: generated in {seconds:.1f} s")
    return manifest
