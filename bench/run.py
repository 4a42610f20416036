"""Benchmark of `linksweep run` against the same stages called one by one, on the bench corpus.

Prepares once (under bench/run-data/) a config over a synthetic Common-Crawl-like corpus (bench/ingest_corpus.py,
default 40 MB in 2 files) with a blocklist of a tenth of its registrable domains and one export, and two shell
scripts, each starting from an empty store:

- run.sh: `linksweep run --config job.toml`;
- stages.sh: `linksweep blocklist add`, `ingest`, `match`, `export`, the commands the run's stages stand for.

Then prints the command that times them side by side (farm-bench, interleaved, medians):

    python bench/run.py            # prepare, print the farm-bench line
    farm-bench -n 7 --timeout 900 --vs 'sh bench/run-data/stages.sh' -- sh bench/run-data/run.sh

Reserved names and synthetic bytes only; no network.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from ingest_corpus import corpus_dir, corpus_paths, ensure_corpus  # noqa: E402 - beside this file

DATA = BENCH_DIR / "run-data"
SNAPSHOT = "BENCH-RUN"


def blocklist(paths: list[Path], out: Path) -> None:
    """A tenth of the registrable domains of the corpus's first file (sorted, so the same every time)."""
    store = DATA / "probe.duckdb"
    store.unlink(missing_ok=True)
    linksweep = [sys.executable, "-m", "crawler.cli", "--db", str(store), "-q"]
    subprocess.run([*linksweep, "ingest", "--snapshot", "P", str(paths[0])], cwd=ROOT, check=True)
    domains = subprocess.run(
        [*linksweep, "sql", "--format", "csv", "--max-rows", "10000000",
         "SELECT DISTINCT registered_domain FROM urls WHERE registered_domain LIKE 'site%' ORDER BY 1"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.splitlines()[1::10]  # fmt: skip
    out.write_text("".join(f"{domain.strip(chr(34))}\n" for domain in domains))
    store.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=40)
    parser.add_argument("--files", type=int, default=2)
    args = parser.parse_args()
    ensure_corpus(args.size_mb, args.files, regenerate=False)
    paths = corpus_paths(corpus_dir(args.size_mb, args.files), args.files)
    DATA.mkdir(exist_ok=True)
    block = DATA / "block.txt"
    if not block.exists():
        blocklist(paths, block)
    corpus = " ".join(f'"{path}"' for path in paths)
    (DATA / "job.toml").write_text(
        textwrap.dedent(
            f"""\
            [store]
            db = "out-run/store.duckdb"
            [snapshot]
            name = "{SNAPSHOT}"
            [[corpus]]
            paths = [{", ".join(f'"{path}"' for path in paths)}]
            [[lists]]
            kind = "block"
            name = "bench"
            source = "block.txt"
            format = "domains"
            [[exports]]
            path = "out-run/removals.parquet"
            """
        )
    )
    python = sys.executable
    (DATA / "run.sh").write_text(
        f'set -e\ncd "{ROOT}"\nrm -rf "{DATA}/out-run"\n{python} -m crawler.cli -q run --config "{DATA}/job.toml"\n'
    )
    db = DATA / "out-stages" / "store.duckdb"
    linksweep = f'{python} -m crawler.cli -q --db "{db}"'
    (DATA / "stages.sh").write_text(
        f'set -e\ncd "{ROOT}"\nrm -rf "{DATA}/out-stages"\n'
        f'{linksweep} blocklist add bench "{block}" --format domains\n'
        f"{linksweep} ingest --snapshot {SNAPSHOT} {corpus}\n"
        f"{linksweep} match --snapshot {SNAPSHOT}\n"
        f'{linksweep} export --snapshot {SNAPSHOT} --out "{DATA}/out-stages/removals.parquet"\n'
    )
    print(f"farm-bench -n 7 --timeout 900 --vs 'sh {DATA}/stages.sh' -- sh {DATA}/run.sh")


if __name__ == "__main__":
    main()
