"""Benchmark of remote ingest: the bench corpus streamed from a loopback mirror (tests/corpus_mirror.py, in a
process of its own) against the same files ingested from local paths; interleaved rounds, medians, a ratio."""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest_corpus import MB, corpus_dir, corpus_paths, ensure_corpus  # noqa: E402 - beside this file

from crawler.ingest import RemoteOptions, ingest  # noqa: E402
from tests.corpus_mirror import corpus_mirror  # noqa: E402


def _serve(root: str, ready, stop) -> None:  # runs in the mirror process
    with corpus_mirror(Path(root)) as mirror:
        ready.send(mirror.base_url)
        stop.wait()


def _one_run(sources: list, workers: int, remote: RemoteOptions | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="remote-bench-") as folder:
        started = time.perf_counter()
        summary = ingest(
            Path(folder) / "bench.duckdb", "BENCH", sources, workers=workers, show_progress=False, remote=remote
        )
        seconds = time.perf_counter() - started
    if summary.failed or summary.files != len(sources):
        raise SystemExit(f"ingest failed: {summary.line()} {summary.problems}")
    return seconds, summary.links


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=40, help="corpus size, gzipped (default 40)")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    ensure_corpus(args.size_mb, args.files, regenerate=False)
    folder = corpus_dir(args.size_mb, args.files)
    local = corpus_paths(folder, args.files)
    total_bytes = sum(path.stat().st_size for path in local)

    context = multiprocessing.get_context("spawn")  # the mirror's threads stay out of the forked readers
    ready_here, ready_there = context.Pipe()
    stop = context.Event()
    server = context.Process(target=_serve, args=(str(folder), ready_there, stop), daemon=True)
    server.start()
    base_url = ready_here.recv()
    remote_sources = [f"{base_url}/{path.name}" for path in local]
    options = RemoteOptions(allow_network=("127.0.0.0/8",), rate=1000.0)
    times: dict[str, list[float]] = {"local": [], "remote": []}
    links: dict[str, int] = {}
    try:
        for round_no in range(args.rounds):
            order = ("local", "remote") if round_no % 2 == 0 else ("remote", "local")
            for kind in order:
                sources = local if kind == "local" else remote_sources
                seconds, links[kind] = _one_run(sources, args.workers, options if kind == "remote" else None)
                times[kind].append(seconds)
                print(f"round {round_no + 1} {kind:6}: {seconds:6.2f} s  {total_bytes / MB / seconds:6.1f} MB/s")
    finally:
        stop.set()
        server.join(5)
    if links["local"] != links["remote"]:
        raise SystemExit(f"different results: {links}")
    local_median, remote_median = statistics.median(times["local"]), statistics.median(times["remote"])
    print(
        f"{args.files} files, {total_bytes / MB:.1f} MB gzipped, {args.workers} workers, {args.rounds} rounds; "
        f"medians: local {local_median:.2f} s ({total_bytes / MB / local_median:.1f} MB/s), "
        f"remote {remote_median:.2f} s ({total_bytes / MB / remote_median:.1f} MB/s); "
        f"remote throughput = {local_median / remote_median:.1%} of local (goal >= 90%)"
    )


if __name__ == "__main__":
    main()
