"""Benchmark of `linksweep ingest` on a synthetic Common-Crawl-like WARC corpus, against zcat and warcio+lxml."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
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

# ---------------------------------------------------------------------------------------------------------------
# Corpus generation
# ---------------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------------
# Measurements (each in a fresh subprocess: `--measure KIND --files-json [...]` prints one JSON line)
# ---------------------------------------------------------------------------------------------------------------


def _baseline(files: list[str]) -> dict:
    """warcio + lxml doing the same extraction: every link attribute, srcset candidates, bare URLs in text."""
    import re
    from urllib.parse import urljoin

    import lxml.html
    from warcio.archiveiterator import ArchiveIterator

    text_url = re.compile(r"""https?://[^\s<>"'`{}|\\^\[\]]+""", re.IGNORECASE)
    links = documents = records = 0
    for path in files:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                records += 1
                if record.rec_type != "response":
                    continue
                content_type = (record.http_headers.get_header("Content-Type") or "").lower()
                if not content_type.startswith(("text/html", "application/xhtml+xml")):
                    continue
                base = record.rec_headers.get_header("WARC-Target-URI")
                payload = record.content_stream().read()
                documents += 1
                try:
                    tree = lxml.html.document_fromstring(payload)
                except Exception:  # empty or unparsable document
                    continue
                page: list[str] = []
                for _element, attribute, link, _pos in tree.iterlinks():
                    if attribute is None:
                        continue
                    page.append(urljoin(base, link.strip()))
                for element in tree.iter("img", "source"):
                    srcset = element.get("srcset")
                    if srcset:
                        for candidate in srcset.split(","):
                            url = candidate.strip().split(None, 1)
                            if url:
                                page.append(urljoin(base, url[0]))
                body = tree.body if tree.find("body") is not None else None
                if body is not None:
                    for found in text_url.finditer(body.text_content()):
                        page.append(found.group(0).rstrip(".,;:!?'\")]}>"))
                links += len(page)
    return {"links": links, "documents": documents, "records": records}


def _ingest(files: list[str], workers: int, keep_db: bool) -> dict:
    from crawler.ingest import ingest

    folder = Path(tempfile.mkdtemp(prefix="linksweep-bench-"))
    try:
        summary = ingest(folder / "bench.duckdb", "bench", files, workers=workers, show_progress=False)
    finally:
        if not keep_db:
            shutil.rmtree(folder, ignore_errors=True)
    return {
        "links": summary.links,
        "documents": summary.documents,
        "records": summary.records,
        "failed": summary.failed,
        "line": summary.line(),
        "db": str(folder / "bench.duckdb") if keep_db else None,
    }


def _usage_of_all(*fields: str) -> float:
    """The sum of getrusage `fields` over this process and its waited-for children (zcat, ingest workers)."""
    usages = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(getattr(usage, field) for usage in usages for field in fields)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children."""
    return _usage_of_all("ru_utime", "ru_stime")


def _page_faults() -> int:
    """Pages this process and its waited-for children faulted in (first touches of memory, mostly)."""
    return int(_usage_of_all("ru_minflt", "ru_majflt"))


def fresh_page_microseconds(megabytes: int = 64) -> float:
    """What touching a page of fresh memory costs now, in microseconds: on a VM it swings
    with the host's state, and an ingest faults in tens of thousands of pages (the
    `faults` column), so it explains much of the spread between runs."""
    import mmap

    size = megabytes << 20
    region = mmap.mmap(-1, size)
    try:
        started = time.perf_counter()
        for offset in range(0, size, mmap.PAGESIZE):
            region[offset] = 1
        return (time.perf_counter() - started) / (size // mmap.PAGESIZE) * 1e6
    finally:
        region.close()


def measure(kind: str, files: list[str], keep_db: bool) -> dict:
    faults_started = _page_faults()
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    if kind == "zcat":
        subprocess.run(["zcat", *files], stdout=subprocess.DEVNULL, check=True)
        result: dict = {}
    elif kind == "ingest1":
        result = _ingest(files, 1, keep_db)
    elif kind == "ingestN":
        result = _ingest(files, os.cpu_count() or 1, keep_db)
    elif kind == "baseline":
        result = _baseline(files)
    else:
        raise SystemExit(f"unknown measurement {kind}")
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = _cpu_seconds() - cpu_started  # cpu / secs ~ 1.0: one core was busy
    result["page_faults"] = _page_faults() - faults_started
    # ru_maxrss is in KiB on Linux; children: the max over waited-for child processes (zcat, ingest workers)
    result["rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def _measurement_command(kind: str, files: list[Path], keep_db: bool) -> list[str]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure",
        kind,
        "--files-json",
        json.dumps([str(p) for p in files]),
    ]
    return [*command, "--keep-db"] if keep_db else command


def _measurement_result(done: subprocess.CompletedProcess, kind: str, files: list[Path], wall: float) -> dict:
    if done.returncode != 0:
        print(f"  {kind}: exit {done.returncode}\n{done.stderr[-3000:]}", file=sys.stderr)
        return {"error": done.stderr.strip().splitlines()[-1:] or ["?"], "wall": wall}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["input_bytes"] = sum(p.stat().st_size for p in files)
    return result


def run_measurement(kind: str, files: list[Path], keep_db: bool) -> dict:
    started = time.perf_counter()
    done = subprocess.run(_measurement_command(kind, files, keep_db), capture_output=True, text=True)
    return _measurement_result(done, kind, files, time.perf_counter() - started)


def run_split_measurement(files: list[Path]) -> dict:
    """The machine's own two-core ceiling for this work: two independent 1-worker ingests, each of half the
    files into its own database, started together. Nothing is shared, so their time (the slower of the two)
    is what perfect parallelism across files gives on this machine, fixed costs paid twice included."""
    halves = [files[0::2], files[1::2]]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            _measurement_command("ingest1", half, False), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for half in halves
    ]
    outputs = [process.communicate() for process in processes]
    wall = time.perf_counter() - started
    results = [
        _measurement_result(subprocess.CompletedProcess([], process.returncode, out, err), "split", half, wall)
        for process, (out, err), half in zip(processes, outputs, halves, strict=True)
    ]
    failed = [r for r in results if "error" in r]
    if failed:
        return failed[0]
    return {
        "seconds": max(r["seconds"] for r in results),
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "wall": wall,
        "links": sum(r["links"] for r in results),
        "documents": sum(r["documents"] for r in results),
        "records": sum(r["records"] for r in results),
        "rss_self_mb": max(r["rss_self_mb"] for r in results),
        "rss_children_mb": 0,
        "page_faults": sum(r["page_faults"] for r in results),
        "input_bytes": sum(r["input_bytes"] for r in results),
    }


def median_result(runs: list[dict]) -> dict:
    """The run of median `seconds` (an error if any run failed); `spread` gives the fastest and slowest."""
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda r: r["seconds"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["spread"] = (ordered[0]["seconds"], ordered[-1]["seconds"])
    middle["runs"] = len(runs)
    return middle


def compile_project_bytecode() -> None:
    """Byte-compile crawler/ and pipelines/ before measuring, as a regular `pip install` does at install time.
    An editable install leaves that to the first import, and where PYTHONDONTWRITEBYTECODE is set (as on the
    development machines) every measured ingest compiled the project's modules from source again, a cost
    that the baseline, whose packages are installed compiled, never paid."""
    import compileall

    for package in ("crawler", "pipelines"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------


def _row(label: str, r: dict | None) -> str:
    if r is None:
        return f"{label:<34} {'skipped':>8}"
    if "error" in r:
        return f"{label:<34} {'ERROR':>8}  {r['error'][0]}"
    rate = r["input_bytes"] / MB / r["seconds"]
    links = f"{r['links']:,}" if "links" in r else "-"
    docs = f"{r['documents']:,}" if "documents" in r else "-"
    children = f"{r['rss_children_mb']:.0f}" if r["rss_children_mb"] else "-"
    return (
        f"{label:<34} {r['seconds']:8.2f} {r['cpu_seconds']:8.2f} {r['wall']:8.2f} {rate:8.1f} {links:>11} {docs:>8} "
        f"{r['rss_self_mb']:9.0f} {children:>9} {r['page_faults'] / 1000:8.1f}"
        + (f"  {r['spread'][0]:.2f}-{r['spread'][1]:.2f}" if r.get("runs", 1) > 1 else "")
    )


def _ratio(name: str, value: float | None, goal: str, ok: bool | None) -> str:
    if value is None:
        return f"  {name:<58} {'n/a':>7}   goal {goal:<8} -"
    return f"  {name:<58} {value:7.2f}   goal {goal:<8} {'PASS' if ok else 'FAIL'}"


def _ok(r: dict | None) -> bool:
    return r is not None and "error" not in r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=200, help="total gzipped corpus size (default 200)")
    parser.add_argument("--files", type=int, default=4, help="number of WARC files (default 4)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the corpus even if cached")
    parser.add_argument("--skip-baseline", action="store_true", help="skip the warcio+lxml baseline")
    parser.add_argument("--keep-db", action="store_true", help="keep the DuckDB files of the ingest runs")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each measurement, interleaved round by round; the table shows medians (default 3)",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--files-json", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, json.loads(args.files_json), args.keep_db)))
        return

    manifest = ensure_corpus(args.size_mb, args.files, args.regenerate)
    paths = corpus_paths(corpus_dir(args.size_mb, args.files), args.files)
    file_list = manifest["file_list"]
    total = sum(f["bytes"] for f in file_list)
    raw = sum(f["raw_bytes"] for f in file_list)
    pages = sum(f["pages"] for f in file_list)
    html_pages = sum(f["html_pages"] for f in file_list)
    planned = sum(f["links"] for f in file_list)
    print(
        f"corpus: {len(paths)} files, {total / MB:,.1f} MB gzipped ({raw / MB:,.1f} MB raw), {pages:,} pages "
        f"({html_pages:,} HTML), {planned:,} links written ({planned / max(html_pages, 1):.1f} per HTML page); "
        f"first file {file_list[0]['bytes'] / MB:.1f} MB, {file_list[0]['links']:,} links"
    )
    for path in paths:  # warm the page cache so that every run reads from memory
        with open(path, "rb") as stream:
            while stream.read(1 << 24):
                pass

    first, everything = paths[:1], paths
    cores = os.cpu_count() or 1
    plan = [
        ("zcat_first", "zcat", first, "zcat, first file"),
        ("zcat_all", "zcat", everything, "zcat, all files"),
        ("ingest1_first", "ingest1", first, "linksweep 1 worker, first file"),
        ("ingest1_all", "ingest1", everything, "linksweep 1 worker, all files"),
        ("ingestN_all", "ingestN", everything, f"linksweep {cores} workers, all files"),
        ("split_all", "split", everything, "2 independent 1-worker halves"),
        ("baseline_first", "baseline", first, "warcio+lxml, first file"),
        ("baseline_all", "baseline", everything, "warcio+lxml, all files"),
    ]
    labels = {key: label for key, _kind, _files, label in plan}
    runs: dict[str, list[dict]] = {key: [] for key, _kind, _files, _label in plan}
    compile_project_bytecode()
    repeat = max(1, args.repeat)
    page_costs: list[float] = []
    for round_no in range(1, repeat + 1):
        page_costs.append(fresh_page_microseconds())
        # round by round, so that a slow spell of the machine falls on every measurement alike
        for key, kind, files, label in plan:
            if kind == "baseline" and args.skip_baseline:
                continue
            print(f"  round {round_no}/{repeat}: {label} ...", flush=True)
            if kind == "split":
                runs[key].append(run_split_measurement(files))
            else:
                runs[key].append(run_measurement(kind, files, args.keep_db))
    results: dict[str, dict | None] = {key: median_result(found) if found else None for key, found in runs.items()}

    print()
    print(
        f"{'measurement':<34} {'secs':>8} {'cpu s':>8} {'proc s':>8} {'MB/s':>8} {'links':>11} {'docs':>8} "
        f"{'RSS MB':>9} {'child MB':>9} {'faults k':>8}"
    )
    for key, _kind, _files, _label in plan:
        print(_row(labels[key], results[key]))
    print(
        "(secs: the operation inside its process; cpu s: CPU time it used, all processes and threads;\n"
        " proc s: the whole subprocess incl. interpreter start; "
        "MB/s of gzipped input; RSS: peak of the measuring process; child: peak over its child processes;\n"
        " faults k: thousands of pages faulted in, all processes;"
        f" medians of {repeat} runs, fastest-slowest after them; the ratios below are of the medians)"
    )
    for key in ("ingest1_first", "ingest1_all", "ingestN_all"):
        r = results[key]
        if _ok(r) and r.get("failed"):
            print(f"  note: {labels[key]} reported problems: {r['line']}")
        if _ok(r) and r.get("db"):
            print(f"  kept DB of {labels[key]}: {r['db']}")

    def seconds(key: str) -> float | None:
        r = results.get(key)
        return r["seconds"] if _ok(r) else None

    def ratio(a: str, b: str) -> float | None:
        x, y = seconds(a), seconds(b)
        return x / y if x is not None and y else None

    def round_ratios(a: str, b: str) -> str:
        """The ratio within each round (the two runs minutes apart at most): the machine's slow spells show."""
        pairs = [(x, y) for x, y in zip(runs[a], runs[b], strict=False) if _ok(x) and _ok(y) and y["seconds"]]
        if len(pairs) < 2:
            return ""
        values = sorted(x["seconds"] / y["seconds"] for x, y in pairs)
        return f"   rounds {values[0]:.2f}-{values[-1]:.2f}, median {values[(len(values) - 1) // 2]:.2f}"

    print(
        f"fresh memory before each round: {', '.join(f'{cost:.1f}' for cost in page_costs)} us per page"
        " (the VM's host state: ~2 us calm, ~13 us busy)"
    )
    print("\nacceptance goals (ratios of the medians; then the range and median of the ratios within each round):")
    value = ratio("ingest1_first", "zcat_first")
    print(
        _ratio("ingest 1 core / zcat, first file", value, "<= 3.0", value is not None and value <= 3.0)
        + round_ratios("ingest1_first", "zcat_first")
    )
    for scope in ("first", "all"):
        value = ratio(f"baseline_{scope}", f"ingest1_{scope}")
        print(
            _ratio(
                f"warcio+lxml / linksweep 1 core, {scope} file{'s' if scope == 'all' else ''}",
                value,
                ">= 3.0",
                value is not None and value >= 3.0,
            )
            + round_ratios(f"baseline_{scope}", f"ingest1_{scope}")
        )
    value = ratio("ingest1_all", "ingestN_all")
    print(
        _ratio(f"linksweep 1 core / {cores} cores, all files", value, ">= 1.7", value is not None and value >= 1.7)
        + round_ratios("ingest1_all", "ingestN_all")
    )
    ceiling = ratio("ingest1_all", "split_all")
    print(
        _ratio("  (this machine's ceiling: 1 core / 2 independent halves)", ceiling, "info", True)
        + round_ratios("ingest1_all", "split_all")
    )
    if value is not None and ceiling:
        print(_ratio("  (the 2-worker ingest's share of that ceiling)", value / ceiling, "info", True))
    worker = results["ingestN_all"]
    if _ok(worker):
        value = worker["rss_children_mb"]
        print(_ratio(f"peak RSS per worker, {cores} workers (MB)", value, "< 500", value < 500))
        value = worker["rss_self_mb"]
        print(_ratio(f"  (parent process of the {cores}-worker ingest, MB)", value, "info", value < 500))
    single = results["ingest1_all"]
    if _ok(single):
        value = single["rss_self_mb"]
        print(_ratio("peak RSS, 1-worker ingest (reads in-process, MB)", value, "< 500", value < 500))

    print("\nlinks extracted:")
    for scope, planned_links in (("first", file_list[0]["links"]), ("all", planned)):
        ours, base = results[f"ingest1_{scope}"], results[f"baseline_{scope}"]
        ours_links = f"{ours['links']:,}" if _ok(ours) else "n/a"
        base_links = f"{base['links']:,}" if _ok(base) else "n/a"
        share = f" ({ours['links'] / base['links']:.3f}x baseline)" if _ok(ours) and _ok(base) else ""
        print(
            f"  {scope:<5} linksweep {ours_links:>11}   warcio+lxml {base_links:>11}   written by the generator "
            f"{planned_links:>11,}{share}"
        )


if __name__ == "__main__":
    main()
