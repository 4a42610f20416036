"""`linksweep run` end to end on a synthetic corpus (reserved names only): the stages in order and recorded,
exit codes 0 and 10, a part of the stages, resuming after kill -9 at four points with the same tables and
byte-identical exports, and one run per store at a time."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from crawler.cli import ExitCode
from crawler.corpus.synthetic import response_record, write_warc
from tests.cli_runner import run

ROOT = Path(__file__).resolve().parents[3]
LISTED = ["http://bad.test/a", "http://img.bad.test/b", "http://other.example.org/c"]


def make_config(folder: Path, extra: str = "") -> Path:
    """A config over three WARC files linking to listed and unlisted URLs, with two exports."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for number in range(3):
        links = [*LISTED[: number + 1], f"https://www.example.org/ok{number}"]
        page = "".join(f"<a href='{link}'>x</a>" for link in links).encode()
        write_warc(
            corpus / f"part-{number}.warc.gz",
            [response_record(f"https://www.example.org/p{number}", page)],
            gzipped=True,
        )
    (folder / "lists").mkdir(exist_ok=True)
    (folder / "lists" / "block.txt").write_text("bad.test\nother.example.org\n")
    config = folder / "linksweep.toml"
    config.write_text(
        textwrap.dedent(
            """\
            [store]
            db = "out/store.duckdb"
            [snapshot]
            name = "SYN-2099-01"
            [ingest]
            workers = 1
            [[corpus]]
            paths = ["corpus/*.warc.gz"]
            [[lists]]
            kind = "block"
            name = "block"
            source = "lists/block.txt"
            category = "test-harm"
            [[exports]]
            path = "out/removals.csv"
            [[exports]]
            path = "out/removals.parquet"
            """
        )
        + extra
    )
    return config


def linksweep(*args: str, point: str | None = None, wait: bool = True):
    """The CLI in its own process (optionally stopped at a kill point, see kill_at.py)."""
    command = [sys.executable, "-m", "tests.kill_at", point, *args] if point else [
        sys.executable, "-m", "crawler.cli", *args
    ]  # fmt: skip
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


# Columns left out of the comparison: times, and what says which attempt did the work.
TIMES = {
    "registered_at",
    "finished_at",
    "seconds",
    "matched_at",
    "created_at",
    "updated_at",
    "loaded_at",
    "refreshed_at",
    "inputs",
    "counted_at",
    "cpu_seconds",  # what a unit cost, and which process ran it
    "peak_rss_bytes",
    "worker",
}
COMPARED = ["sources", "documents", "links", "urls", "hosts", "lists", "list_versions", "list_entries", "url_matches",
            "match_state", "matched_sources", "verdicts", "entry_counts", "review_rules", "audit_log"]  # fmt: skip


def table_digests(db: Path) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        digests = {}
        for table in COMPARED:
            columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall() if row[0] not in TIMES]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
            digests[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return digests
    finally:
        con.close()


def exports(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((folder / "out").glob("removals.*"))}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    config = make_config(folder)
    done = linksweep("run", "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), table_digests(folder / "out" / "store.duckdb"), exports(folder)


def test_a_run_does_every_stage_in_order_and_records_them(uninterrupted, tmp_path):
    summary, digests, files = uninterrupted
    assert list(summary["stages"]) == ["lists", "ingest", "match", "crawl", "exports", "bundles", "html"]
    assert summary["exit_code"] == 0 and not summary["resumed"]
    assert summary["stages"]["ingest"]["counts"]["files"] == 3
    assert summary["stages"]["exports"]["counts"] == {"files": 2, "rows": 12}  # 6 removals, twice
    assert set(files) == {
        "removals.csv",
        "removals.csv.manifest.json",
        "removals.parquet",
        "removals.parquet.manifest.json",
    }
    config = make_config(tmp_path)
    run(tmp_path / "other.duckdb", "run", "--config", str(config), "--until", "match")  # --db wins over the config
    shown = json.loads(run(tmp_path / "other.duckdb", "runs", "show", "1", "--json").output)
    assert [stage["stage"] for stage in shown["stages"]] == ["lists", "ingest", "match"]
    assert shown["status"] == "done" and shown["exit_code"] == 0 and shown["list_versions"] == {"block": 1}
    assert not (tmp_path / "out").exists()
    listed = json.loads(run(tmp_path / "other.duckdb", "runs", "list", "--json").output)
    assert [(item["run_id"], item["status"]) for item in listed] == [(1, "done")]


def test_a_flooding_entry_makes_the_run_exit_10(tmp_path):
    config = make_config(tmp_path, "[match]\nflood_urls = 1\n")
    done = linksweep("run", "--config", str(config))
    assert done.returncode == ExitCode.REVIEW_NEEDED, done.stderr
    assert "quarantined: block entry 'bad.test' flags 2 URLs" in done.stdout


@pytest.mark.parametrize(
    "point", ["ingest:after-first-file", "match:before-verdicts", "stage:exports", "exports:after-first-file"]
)
def test_a_run_killed_then_started_again_ends_as_an_uninterrupted_run(tmp_path, point):
    config = make_config(tmp_path)  # the same paths for both runs: the store and the exports name them
    whole = linksweep("run", "--config", str(config))
    assert whole.returncode == 0, whole.stderr
    digests, files = table_digests(tmp_path / "out" / "store.duckdb"), exports(tmp_path)
    shutil.rmtree(tmp_path / "out")
    killed = linksweep("run", "--config", str(config), point=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = linksweep("run", "--config", str(config), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed"] and summary["run_id"] == 1  # the same run, continued
    assert table_digests(tmp_path / "out" / "store.duckdb") == digests
    assert exports(tmp_path) == files


def test_a_second_run_exits_3_naming_the_holder_and_a_dead_holder_s_lock_is_taken_over(tmp_path):
    config = make_config(tmp_path)
    holder = linksweep("run", "--config", str(config), point="sleep:ingest", wait=False)
    lock = tmp_path / "out" / "store.duckdb.run.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and json.loads(lock.read_text() or "{}").get("run_id")):
        assert time.monotonic() < deadline and holder.poll() is None, holder.communicate()
        time.sleep(0.1)
    second = linksweep("run", "--config", str(config))
    assert second.returncode == ExitCode.STORE_IN_USE
    assert f"another linksweep run holds this store (run 1, pid {holder.pid} on " in second.stderr
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock.exists()  # left behind by the dead holder
    taken = linksweep("run", "--config", str(config), "--json")
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["resumed"] and not lock.exists()
    assert os.path.exists(tmp_path / "out" / "removals.csv")


def test_the_next_snapshot_s_run_says_what_changed(tmp_path):
    config = make_config(tmp_path)
    first = json.loads(linksweep("run", "--config", str(config), "--json").stdout)
    assert first["diff"] is None  # no snapshot before it
    page = b"<a href='http://new.bad.test/z'>x</a>"
    write_warc(
        tmp_path / "corpus" / "part-9.warc.gz", [response_record("https://www.example.org/p9", page)], gzipped=True
    )
    done = linksweep("run", "--config", str(config), "--snapshot", "SYN-2099-02", "--json")
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)["diff"]
    assert (diff["from"], diff["new_urls"], diff["persisting_urls"], diff["gone_urls"]) == ("SYN-2099-01", 1, 3, 0)
    assert "[diff] against SYN-2099-01: 1 flagged URLs new, 3 persisting, 0 gone" in done.stderr


def test_a_long_stage_says_it_is_alive():
    from crawler.run.runner import _Heartbeat

    lines: list[str] = []
    with _Heartbeat("ingest", lines.append, every=0.05):
        time.sleep(0.3)
    assert len(lines) >= 2 and all(line.startswith("[ingest] still running (") for line in lines)
