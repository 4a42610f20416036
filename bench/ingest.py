"""Benchmark of `linksweep ingest` on a synthetic Common-Crawl-like WARC corpus, against zcat and warcio+lxml."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest_corpus import MB, corpus_dir, corpus_paths, ensure_corpus  # noqa: E402 - beside this file

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
