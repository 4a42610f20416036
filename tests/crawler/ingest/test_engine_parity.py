"""Parity of the engines: the bundled sample and ../shared/realdata ingested and matched with `--engine local`
and with `--engine ray` (a cluster of two simulated 1-CPU nodes: the match in shards there), then exported,
give byte-identical removal lists and every table the same rows (times and which process did the work aside)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from crawler.cli import main
from tests.crawler.engines.ray_cluster import ray_cluster

pytest.importorskip("ray")
pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "sample"
REALDATA = ROOT.parent / "shared" / "realdata"
# Columns that say when, how long, or which process: they differ between any two runs.
NOT_COMPARED = {"seconds", "cpu_seconds", "peak_rss_bytes", "worker", "inputs"}


@pytest.fixture(scope="module")
def cluster():
    with ray_cluster(1, 1) as address:
        yield address


def linksweep(db: Path, *args: str, codes: tuple[int, ...] = (0,)) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), "-q", *args], catch_exceptions=False)
    assert result.exit_code in codes, result.output
    return result.output


def store_checksums(db: Path) -> dict[str, tuple[int, str]]:
    """Every table's (and view's) row count and a digest of its rows, in canonical order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        checksums = {}
        for name in sorted(names):
            columns = [
                row[0]
                for row in con.execute(f'DESCRIBE "{name}"').fetchall()
                if row[0] not in NOT_COMPARED and not row[0].endswith("_at")
            ]
            rows = con.execute(f'SELECT {", ".join(columns)} FROM "{name}" ORDER BY ALL').fetchall()
            checksums[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return checksums
    finally:
        con.close()


def sweep(folder: Path, corpus: list[Path], blocklist: tuple[str, str, Path], engine: list[str]) -> tuple:
    db = folder / "store.duckdb"
    name, list_format, source = blocklist
    linksweep(db, "blocklist", "add", name, str(source), "--format", list_format, "--category", "test")
    # realdata holds malformed files on purpose: they are recorded as failed or partial (exit 1), alike
    linksweep(
        db, "ingest", "--snapshot", "S", "--workers", "2", "--no-progress", *engine, *map(str, corpus), codes=(0, 1)
    )
    linksweep(db, "match", "--snapshot", "S", *engine)
    linksweep(db, "export", "--snapshot", "S", "--out", str(folder / "removals.csv"))
    return (folder / "removals.csv").read_bytes(), store_checksums(db)


def assert_parity(tmp_path: Path, cluster: str, corpus: list[Path], blocklist: tuple[str, str, Path]) -> None:
    local = sweep(tmp_path / "local", corpus, blocklist, ["--engine", "local"])
    ray = sweep(tmp_path / "ray", corpus, blocklist, ["--engine", "ray", "--ray-address", cluster])
    assert local[0] == ray[0]
    assert local[1] == ray[1]
    assert local[1]["links"][0] > 0 and local[1]["url_matches"][0] > 0  # the parity is about something


def test_the_sample_gives_the_same_removals_and_tables_on_both_engines(cluster, tmp_path):
    corpus = sorted((SAMPLE / "corpus").iterdir())
    assert_parity(tmp_path, cluster, corpus, ("sample", "domains", SAMPLE / "lists" / "sample-blocklist.txt"))


def test_realdata_gives_the_same_removals_and_tables_on_both_engines(cluster, tmp_path):
    if not REALDATA.exists():
        pytest.skip("../shared/realdata is absent")
    corpus = sorted(path for path in (REALDATA / "warc").rglob("*") if path.is_file() and path.name != "SOURCE.txt")
    corpus += sorted(
        path for path in (REALDATA / "commoncrawl").rglob("*") if path.is_file() and path.name != "SOURCE.txt"
    )
    hosts = REALDATA / "blocklists" / "adaway" / "hosts.txt"
    assert_parity(tmp_path, cluster, corpus, ("ads", "hosts", hosts))
