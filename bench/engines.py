"""Engines side by side on one corpus of N WARC files: Ray with 2 CPUs against Ray with 1 CPU, Ray against the
local engine, and the driver's share of the work (issue 19's goals).

Every round runs each configuration once, in a fresh process, in interleaved order (A B C, A B C, ...); a
configuration's figure is the median over rounds. A Ray configuration starts its local cluster of N CPUs first
and is timed from the moment the cluster is up to the end of the ingest (a cluster is long-lived: its start is
not part of an ingest). The local engine is timed over the ingest call alone, the same way.

    python bench/engines.py [--files 16] [--size-mb 320] [--rounds 3]

The driver's time per unit: the CPU time of the ingest's own process (getrusage(SELF): its threads, not its
workers) per file, against a unit's CPU time as its manifest reports it. Fold time per unit is reported too.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest_corpus import corpus_dir, corpus_paths, ensure_corpus  # noqa: E402

CONFIGURATIONS = {"ray-2cpu": ("ray", 2), "ray-1cpu": ("ray", 1), "local-2": ("local", 2)}


def measure(engine: str, cpus: int, files: list[str]) -> dict:
    """One ingest in this process (run by `--measure`): wall seconds, driver CPU, unit CPU."""
    from crawler.ingest import ingest

    if engine == "ray":
        import ray

        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="warning")
    folder = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        summary = ingest(folder / "s.duckdb", "S", files, workers=cpus, engine=engine, show_progress=False)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        assert not summary.problems, summary.problems
        import duckdb

        con = duckdb.connect(str(folder / "s.duckdb"), read_only=True)
        unit_cpu = con.execute("SELECT avg(cpu_seconds), count(*) FROM sources").fetchone()
        con.close()
        driver_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return {
            "seconds": seconds,
            "units": unit_cpu[1],
            "unit_cpu": unit_cpu[0],
            "driver_cpu_per_unit": driver_cpu / unit_cpu[1],
            "fold_seconds_per_unit": summary.fold_seconds / unit_cpu[1],
            "folds": summary.folds,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--size-mb", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(CONFIGURATIONS), default=list(CONFIGURATIONS))
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    ensure_corpus(args.size_mb, args.files, regenerate=False)
    files = [str(path) for path in corpus_paths(corpus_dir(args.size_mb, args.files), args.files)]
    if args.measure:
        engine, cpus = CONFIGURATIONS[args.measure]
        print(json.dumps(measure(engine, cpus, files)))
        return
    results: dict[str, list[dict]] = {name: [] for name in args.only}
    for round_no in range(args.rounds):
        for name in args.only:
            command = [sys.executable, __file__, "--files", str(args.files), "--size-mb", str(args.size_mb),
                       "--measure", name]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {round_no + 1} {name}: {results[name][-1]['seconds']:.2f} s", file=sys.stderr)
    medians = {
        name: {key: statistics.median(run[key] for run in runs) for key in runs[0]} for name, runs in results.items()
    }
    print(f"{args.files} files, {args.size_mb} MB, medians of {args.rounds} interleaved rounds")
    for name, median in medians.items():
        print(
            f"  {name:9} {median['seconds']:7.2f} s   unit CPU {median['unit_cpu']:.3f} s   driver CPU/unit"
            f" {median['driver_cpu_per_unit'] * 1000:.1f} ms ({median['driver_cpu_per_unit'] / median['unit_cpu']:.1%}"
            f" of a unit)   fold/unit {median['fold_seconds_per_unit'] * 1000:.1f} ms"
        )
    if "ray-2cpu" in medians and "ray-1cpu" in medians:
        print(f"  ray 2 CPUs vs 1 CPU: {medians['ray-1cpu']['seconds'] / medians['ray-2cpu']['seconds']:.2f}x")
    if "ray-2cpu" in medians and "local-2" in medians:
        ratio = medians["ray-2cpu"]["seconds"] / medians["local-2"]["seconds"]
        print(f"  ray 2 CPUs / local 2 workers: {ratio:.3f} (time)")


if __name__ == "__main__":
    main()
