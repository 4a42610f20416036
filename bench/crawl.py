"""Benchmark of `linksweep crawl` against a requests + 32-thread pool, resolving the same links, in one run.

A local asyncio web server (its own process) answers 200 virtual hosts (h0.test ... h199.test, all on
127.0.0.1) with 50 ms of artificial latency per response; every link redirects once (302) to a page on the
same host. Both clients resolve every link to its final URL:

- linksweep: `linksweep crawl` on a snapshot holding the links (ingested from a synthetic WARC), its hosts
  mapped to 127.0.0.1 by the static host table and the loopback network allowed explicitly;
- baseline: `requests` with a 32-thread pool, following redirects, names mapped the same way.

Prints URLs/s for both, their ratio, and the crawl's peak RSS. `--engine ray` crawls on Ray (a cluster the
command starts, with every core, or the one at `--ray-address`); `--engine both` times the local engine and Ray
on copies of the same store and prints their ratio (Ray's workers are not the command's children: the peak RSS
printed is the command's own there). `--queue-million` also measures the crawl's
peak RSS with 1M links queued (it stops after a fixed time: memory, not completion, is measured there).
`--bare` also times bench/bare_spider.py as two processes, with the per-host limit kept (the crawl's
downloader) and stock (Scrapy on the asyncio reactor bursts past it). `--rounds N` runs the crawl, the bare
spiders and the pool in turn N times and prints medians (the figures of docs/benchmarks.md:
`--defaults --urls 6000 --bare --rounds 5`). The pages holding the links (one per 100 links) are queued by the
crawl too; their host (page.example.org on 127.0.0.1:443) refuses connections.
Only loopback traffic, reserved names, synthetic bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOSTS = 200
LATENCY = 0.05


# ---------------------------------------------------------------------------------------------------------------
# The server (run with --serve PORT_FILE in its own process)
# ---------------------------------------------------------------------------------------------------------------


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            line = request.split(b"\r\n", 1)[0].decode("latin-1")
            path = line.split(" ")[1] if " " in line else "/"
            await asyncio.sleep(LATENCY)
            if path.startswith("/r/"):
                head = f"HTTP/1.1 302 Found\r\nLocation: /final/{path[3:]}\r\nContent-Length: 0\r\n\r\n"
                writer.write(head.encode())
            else:
                body = b"<html><body><p>benchmark page</p></body></html>"
                head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
                writer.write(head.encode() + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _serve(port_file: Path) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=4096)
    port_file.write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


def start_server(folder: Path) -> tuple[subprocess.Popen, int]:
    port_file = folder / "port"
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", str(port_file)])
    deadline = time.monotonic() + 10
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the benchmark server did not start")
        time.sleep(0.05)
    return process, int(port_file.read_text())


# ---------------------------------------------------------------------------------------------------------------
# Corpus and measurements
# ---------------------------------------------------------------------------------------------------------------


def link_urls(count: int, port: int) -> list[str]:
    return [f"http://h{n % HOSTS}.test:{port}/r/{n}" for n in range(count)]


def host_table() -> dict[str, str]:
    return {f"h{n}.test": "127.0.0.1" for n in range(HOSTS)} | {"page.example.org": "127.0.0.1"}


def build_store(folder: Path, urls: list[str]) -> Path:
    from crawler.corpus.synthetic import response_record, write_warc
    from crawler.ingest import ingest

    corpus = folder / "corpus.warc.gz"
    records = []
    for start in range(0, len(urls), 100):
        page = "".join(f"<a href='{url}'>x</a>" for url in urls[start : start + 100]).encode()
        records.append(response_record(f"https://page.example.org/{start}", page))
    write_warc(corpus, records, gzipped=True)
    db = folder / "bench.duckdb"
    ingest(db, "BENCH", [corpus], workers=1, show_progress=False)
    return db


# What the bench sets beyond the defaults, unless --defaults (then --concurrency is not given either): more
# requests per host, no AutoThrottle.
TUNED = ["--per-host", "8", "--set", "AUTOTHROTTLE_ENABLED=False"]


def measure_linksweep(db: Path, concurrency: int, extra: list[str], tuned: bool = True) -> dict:
    command = [
        sys.executable, "-m", "crawler.cli", "--db", str(db), "crawl", "--snapshot", "BENCH",
        "--allow-network", "127.0.0.1/32", *(["--concurrency", str(concurrency)] if tuned else []),
        "--timeout", "30", "--set", f"LINKSWEEP_STATIC_HOSTS={json.dumps(host_table())}",
        *(TUNED if tuned else []), "--set", "LOG_LEVEL=WARNING", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"linksweep crawl failed:\n{done.stderr[-3000:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "line": next(line for line in done.stdout.splitlines() if line.startswith("crawled")),
        "rss_mb": rss,
    }


def measure_bare_spider(folder: Path, urls: list[str], processes: int = 2, keep_limit: bool = False) -> dict:
    """bench/bare_spider.py as `processes` processes at once, the links split naively by a hash of their host;
    timed from their start to the end of the last, start-up included. `keep_limit`: with the crawl's downloader,
    which keeps the per-host limit that stock Scrapy on the asyncio reactor lets bursts past."""
    import zlib
    from urllib.parse import urlsplit

    hosts = folder / "hosts.json"
    hosts.write_text(json.dumps(host_table()))
    parts = [folder / f"bare-{index}.txt" for index in range(processes)]
    shares: list[list[str]] = [[] for _ in range(processes)]
    for url in urls:
        shares[zlib.crc32(urlsplit(url).hostname.encode()) % processes].append(url)
    for part, share in zip(parts, shares, strict=True):
        part.write_text("\n".join(share))
    script = Path(__file__).resolve().parent / "bare_spider.py"
    started = time.perf_counter()
    running = [
        subprocess.Popen(
            [sys.executable, str(script), str(part), str(hosts), *(["--keep-limit"] if keep_limit else [])],
            stdout=subprocess.PIPE,
            text=True,
        )
        for part in parts
    ]
    outputs = [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in running]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "resolved": sum(output["resolved"] for output in outputs)}


def measure_baseline(urls: list[str], threads: int) -> dict:
    import requests

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # the same static names as the crawl
        return real_getaddrinfo("127.0.0.1" if str(host).endswith(".test") else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    local = __import__("threading").local()

    def resolve(url: str) -> str | None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        try:
            return session.get(url, timeout=30, allow_redirects=True).url
        except requests.RequestException:
            return None

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        finals = list(pool.map(resolve, urls))
    seconds = time.perf_counter() - started
    socket.getaddrinfo = real_getaddrinfo
    return {"seconds": seconds, "resolved": sum(1 for f in finals if f and "/final/" in f)}


def measure_rounds(folder: Path, db: Path, urls: list[str], args: argparse.Namespace, extra: list[str]) -> None:
    """`--rounds N`: the crawl (local engine, from a fresh copy of the store each time), the bare spider with and
    without the per-host limit (`--bare`) and the requests pool, run in turn N times (A B C D A B C D ...); prints
    every round, then the medians of the times and of the ratios taken round by round."""
    import statistics

    pristine = folder / "pristine.duckdb"
    shutil.copyfile(db, pristine)
    rows: list[dict[str, float]] = []
    for index in range(args.rounds):
        shutil.copyfile(pristine, db)
        row = {"crawl": measure_linksweep(db, args.concurrency, extra, tuned=not args.defaults)["seconds"]}
        if args.bare:
            row["bare, limit kept"] = measure_bare_spider(folder, urls, keep_limit=True)["seconds"]
            row["bare, stock (bursts)"] = measure_bare_spider(folder, urls)["seconds"]
        row["requests pool"] = measure_baseline(urls, args.threads)["seconds"]
        rows.append(row)
        print(f"  round {index + 1}: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in row.items()))
    print(f"\nmedians of {args.rounds} interleaved rounds (seconds, start-up included):")
    for name in rows[0]:
        times = [row[name] for row in rows]
        print(f"  {name:<22} {statistics.median(times):>7.2f} s  (min {min(times):.2f}, max {max(times):.2f})")
    print("ratios, round by round (median):")
    for name in rows[0]:
        if name != "crawl":
            ratio = statistics.median(row["crawl"] / row[name] for row in rows)
            print(f"  crawl / {name:<22} {ratio:.2f}")
    urls_per_second = statistics.median(
        (len(urls) + len(urls) // 100) / row["crawl"] / (len(urls) / row["requests pool"]) for row in rows
    )
    print(f"  crawl URLs/s / requests pool URLs/s: {urls_per_second:.2f} (goal >= 2)")


def engine_options(engine: str, ray_address: str | None) -> list[str]:
    if engine == "local":
        return ["--engine", "local"]
    return ["--engine", "ray", *(["--ray-address", ray_address] if ray_address else [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--queue-million", action="store_true", help="also measure RSS with 1M links queued")
    parser.add_argument("--defaults", action="store_true", help="the crawl's default settings (no TUNED)")
    parser.add_argument(
        "--bare", action="store_true", help="also time a bare Scrapy spider as two processes, limit kept and stock"
    )
    parser.add_argument("--rounds", type=int, default=0, help="N interleaved rounds, medians (local engine only)")
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE for the crawl (repeatable)")
    parser.add_argument("--engine", choices=("local", "ray", "both"), default="local", help="who runs the buckets")
    parser.add_argument("--ray-address", default=None, help="--engine ray: the cluster (default: a new one)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(Path(args.serve)))
        return

    folder = Path(tempfile.mkdtemp(prefix="linksweep-crawl-bench-"))
    server, port = start_server(folder)
    try:
        urls = link_urls(args.urls, port)
        print(f"building a store with {len(urls):,} links on {HOSTS} virtual hosts ...", flush=True)
        db = build_store(folder, urls)
        extra = [option for assignment in args.set for option in ("--set", assignment)]
        if args.rounds:
            measure_rounds(folder, db, urls, args, extra)
            return
        print(f"linksweep crawl (concurrency {args.concurrency}) ...", flush=True)
        engines = ("local", "ray") if args.engine == "both" else (args.engine,)
        pristine = folder / "pristine.duckdb"
        if len(engines) > 1:
            shutil.copyfile(db, pristine)  # each engine crawls the same store, nothing resolved yet
        timed: dict[str, dict] = {}
        for engine in engines:
            if engine != engines[0]:
                shutil.copyfile(pristine, db)
            print(f"  engine {engine} ...", flush=True)
            timed[engine] = measure_linksweep(
                db, args.concurrency, extra + engine_options(engine, args.ray_address), tuned=not args.defaults
            )
            print(f"  {timed[engine]['line']} ({timed[engine]['seconds']:.2f} s, start-up included)")
        if len(engines) > 1:
            ratio = timed["ray"]["seconds"] / timed["local"]["seconds"]
            print(f"  engine ray / engine local: {ratio:.2f} (seconds, start-up included)")
        ours = timed[engines[-1]]
        if args.bare:
            for keep_limit in (True, False):
                label = "per-host limit kept" if keep_limit else "stock: bursts past the per-host limit"
                print(f"bare Scrapy spider, 2 processes ({label}) ...", flush=True)
                bare = measure_bare_spider(folder, urls, keep_limit=keep_limit)
                print(
                    f"  {bare['resolved']:,} of {len(urls):,} resolved in {bare['seconds']:.2f} s; linksweep crawl /"
                    f" bare spider: {ours['seconds'] / bare['seconds']:.2f} (goal <= 1)"
                )
        print(f"requests + {args.threads} threads ...", flush=True)
        base = measure_baseline(urls, args.threads)
        ours_rate = (len(urls) + len(urls) // 100) / ours["seconds"]  # links plus the pages holding them
        base_rate = len(urls) / base["seconds"]
        print()
        print(f"{'':<28} {'URLs':>8} {'seconds':>9} {'URLs/s':>9}")
        label = f"linksweep crawl ({engines[-1]})"
        print(f"{label:<28} {len(urls) + len(urls) // 100:>8,} {ours['seconds']:>9.2f} {ours_rate:>9,.0f}")
        print(f"{'requests + 32 threads':<28} {len(urls):>8,} {base['seconds']:>9.2f} {base_rate:>9,.0f}")
        print(f"(baseline resolved {base['resolved']:,} of {len(urls):,} to their final page)")
        ratio = ours_rate / base_rate
        print(f"ratio linksweep / baseline: {ratio:.2f} (goal >= 2) {'MET' if ratio >= 2 else 'NOT MET'}")
        print(f"linksweep URLs/s: {ours_rate:,.0f} (goal >= 500) {'MET' if ours_rate >= 500 else 'NOT MET'}")
        print(f"linksweep crawl process peak RSS: {ours['rss_mb']:,.0f} MB (the whole CLI process, timing included)")
        if args.queue_million:
            big = folder / "million"
            big.mkdir()
            print("building a store with 1,000,000 links (memory test) ...", flush=True)
            db_big = build_store(big, link_urls(1_000_000, port))
            result = measure_linksweep(db_big, args.concurrency, ["--set", "CLOSESPIDER_TIMEOUT=20"])
            print(f"  1M links queued, stopped after 20 s: peak RSS {result['rss_mb']:,.0f} MB; {result['line']}")
    finally:
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
