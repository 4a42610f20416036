"""Ordinary mistakes end as one line naming the thing and what to do, with the exit code of their condition
(docs/cli.md), the same in every command; a store held for a moment by another process is waited for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import PRECEDENCE, ExitCode
from crawler.cli.errors import outcome
from crawler.cli.main import main
from tests.crawler.cli.test_docs import every_command

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "sample"
WARC = SAMPLE / "corpus" / "SAMPLE-00001.warc"
LIST = SAMPLE / "lists" / "sample-blocklist.txt"


def invoke(db: Path, *args: str):
    return CliRunner().invoke(main, ["--db", str(db), *args])


def assert_one_line(result, code: int, *phrases: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linksweep: "), result.stderr
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


# commands that need an existing database (the ones that load something create it)
NEEDS_A_DATABASE = [
    ("status",),
    ("sql", "SELECT 1"),
    ("export", "--snapshot", "S", "--out", "{tmp}/r.csv"),
    ("match", "--snapshot", "S"),
    ("crawl", "--snapshot", "S"),
    ("blocklist", "list"),
    ("blocklist", "show", "x"),
    ("blocklist", "update", "x"),
    ("blocklist", "remove", "x"),
    ("allowlist", "list"),
    ("watchlist", "list"),
    ("hashlist", "list"),
    ("hashlist", "remove", "x"),
]


@pytest.mark.parametrize("args", NEEDS_A_DATABASE, ids=" ".join)
def test_a_missing_database_is_named_and_not_created(tmp_path, args):
    db = tmp_path / "absent.duckdb"
    result = invoke(db, *(arg.format(tmp=tmp_path) for arg in args))
    assert_one_line(result, 2, f"no linksweep database at {db}", "linksweep ingest")
    assert not db.exists()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("held") / "sample.duckdb"
    folder = db.parent
    result = invoke(db, "demo", "--sample-dir", str(SAMPLE), "--out", str(folder / "r.csv"))
    assert result.exit_code == 0, result.output
    return db


def hold(db: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the store's write lock for `seconds`; returns once it holds it."""
    code = f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep({seconds})"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    return holder


@pytest.fixture
def held_store(sample_db, monkeypatch):
    monkeypatch.setenv("LINKSWEEP_LOCK_WAIT", "0.3")
    holder = hold(sample_db, 120)
    yield sample_db
    holder.kill()
    holder.wait()


USE_THE_STORE = [
    ("status",),
    ("sql", "SELECT 1"),
    ("export", "--snapshot", "SAMPLE-2026-01", "--out", "{tmp}/r.csv"),
    ("match", "--snapshot", "SAMPLE-2026-01"),
    ("ingest", "--snapshot", "T", str(WARC)),
    ("blocklist", "add", "more", str(LIST)),
    ("blocklist", "list"),
    ("blocklist", "show", "sample-blocklist"),
    ("blocklist", "update", "sample-blocklist"),
    ("blocklist", "remove", "sample-blocklist"),
    ("hashlist", "list"),
]


def test_every_command_meets_a_held_store_with_exit_3(held_store, tmp_path):
    for args in USE_THE_STORE:
        result = invoke(held_store, *(arg.format(tmp=tmp_path) for arg in args))
        if args[:2] == ("blocklist", "add"):  # reads and reports the file first
            assert result.exit_code == 3 and "in use by another process" in result.stderr.splitlines()[-1], args
            continue
        assert_one_line(result, 3, str(held_store), "in use by another process", "try again")


def test_ingest_waits_for_a_store_held_for_a_moment(sample_db, monkeypatch):
    monkeypatch.setenv("LINKSWEEP_LOCK_WAIT", "60")  # a hang guard: the holder lets go after 1 s
    holder = hold(sample_db, 1.0)
    try:
        result = invoke(sample_db, "ingest", "--snapshot", "WAITED", "--workers", "1", str(WARC))
    finally:
        holder.wait()
    assert result.exit_code == 0, result.output
    assert "ingested 1 files" in result.output


def test_ingest_gives_up_after_the_wait(held_store):
    result = invoke(held_store, "ingest", "--snapshot", "GIVEN-UP", str(WARC))
    assert_one_line(result, 3, "in use by another process")


def test_export_to_a_folder_that_cannot_be_written(sample_db, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    # under a file, and in a folder no process may create files in (both refused even to root)
    for target in (blocker / "removals.csv", Path("/proc/linksweep-test/removals.csv")):
        result = invoke(sample_db, "export", "--snapshot", "SAMPLE-2026-01", "--out", str(target))
        assert_one_line(result, 4, str(target), "cannot write the removal list", "--out")
    assert not list(tmp_path.rglob("*.partial"))


def test_a_database_that_is_not_one(tmp_path):
    db = tmp_path / "notes.duckdb"
    db.write_text("not a database\n")
    for args in (("status",), ("ingest", "--snapshot", "S", str(WARC))):
        assert_one_line(invoke(db, *args), 4, str(db), "not a valid DuckDB database")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("http://192.0.2.1/x.warc.gz", "address policy"),
        ("https://10.1.2.3/crawl/x.warc.gz", "address policy"),
        ("ftp://example.org/x.warc.gz", "only https://"),
        ("s3://bucket/x", "the S3 endpoint https://10.1.2.3: refused by the address policy"),
    ],
)
def test_ingest_of_a_refused_url_is_a_usage_error(tmp_path, source, reason, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://10.1.2.3")  # checked before any request: never contacted
    db = tmp_path / "r.duckdb"
    result = invoke(db, "ingest", "--snapshot", "S", source)
    assert_one_line(result, 2, source, reason)
    assert not db.exists()


def test_unknown_snapshot_has_the_same_code_everywhere(sample_db, tmp_path):
    for args in (("match", "--snapshot", "NOPE"), ("export", "--snapshot", "NOPE", "--out", str(tmp_path / "x.csv"))):
        assert_one_line(invoke(sample_db, *args), 2, "no snapshot 'NOPE'")


def test_version():
    for option in ("--version", "-V"):
        result = CliRunner().invoke(main, [option])
        assert result.exit_code == 0 and result.output.startswith("linksweep "), result.output
        assert "duckdb" in result.output


@pytest.mark.parametrize(
    "path", [path for path, _ in every_command(main)], ids=lambda path: " ".join(path) or "linksweep"
)
def test_quiet_and_verbose_on_every_command(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "-q, --quiet" in result.output and "-v, --verbose" in result.output


def test_quiet_ingest_prints_nothing_and_verbose_a_line_per_file(tmp_path):
    corpus = SAMPLE / "corpus"
    for args in (["-q", "ingest"], ["ingest", "-q"]):
        db = tmp_path / f"{len(args[0])}.duckdb"
        result = CliRunner().invoke(main, ["--db", str(db), *args, "--snapshot", "S", "--progress", str(corpus)])
        assert result.exit_code == 0 and result.stdout == "", result.output
    db = tmp_path / "v.duckdb"
    result = CliRunner().invoke(main, ["--db", str(db), "ingest", "-v", "--snapshot", "S", str(corpus)])
    assert result.exit_code == 0, result.output
    files = sorted(path.name for path in corpus.iterdir() if not path.name.startswith("."))
    per_file = [line for line in result.stderr.splitlines() if ": done: " in line]
    assert sorted(Path(line.split(": done: ")[0]).name for line in per_file) == files
    assert "ingested" in result.stdout
    # quiet keeps what a command is asked for: status still prints, and -v lists every file
    assert "SAMPLE-00001.warc" in CliRunner().invoke(main, ["--db", str(db), "-q", "status", "-v"]).stdout
    assert "SAMPLE-00001.warc" not in CliRunner().invoke(main, ["--db", str(db), "status"]).stdout


def test_no_deprecation_warning_on_a_normal_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-W", "error::DeprecationWarning", "-m", "crawler.cli", "--db", str(tmp_path / "w.db")]
    for args in (
        ["ingest", "--snapshot", "S", str(SAMPLE / "corpus")],
        ["demo", "--sample-dir", str(SAMPLE), "--out", str(tmp_path / "w.csv")],
        ["status"],
        ["sql", "--format", "csv", "SELECT url FROM urls LIMIT 3"],
    ):
        result = subprocess.run([*command, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "Warning" not in result.stderr, result.stderr


def test_a_database_from_a_newer_linksweep(tmp_path):
    import duckdb

    from pipelines.store import LATEST_VERSION, open_store

    db = tmp_path / "future.duckdb"
    open_store(db).close()
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO schema_migrations (version, description) VALUES (?, 'future')", [LATEST_VERSION + 1])
    for args in (("status",), ("sql", "SELECT 1"), ("ingest", "--snapshot", "S", str(WARC))):
        assert_one_line(invoke(db, *args), 4, str(db), "newer than this linksweep", "upgrade linksweep")


def test_a_duckdb_database_that_is_not_linksweep_s_is_left_alone(tmp_path):
    import duckdb

    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE notes (line VARCHAR)")
    assert_one_line(invoke(db, "status"), 4, str(db), "not a linksweep one")
    with duckdb.connect(str(db), read_only=True) as con:
        assert [row[0] for row in con.execute("SHOW TABLES").fetchall()] == ["notes"]


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("--allow-network", "bogus"), "--allow-network 'bogus': not an IP network"),
        (("--set", "NOEQUALS"), "expected NAME=VALUE"),
        (("--set", "TWISTED_REACTOR=no.such.Reactor"), "cannot load it"),
        (("--set", "DOWNLOAD_MAXSIZE=0"), "positive number of bytes"),
    ],
)
def test_a_crawl_setting_the_crawl_cannot_use_is_refused_before_it_starts(sample_db, args, phrase):
    # an --allow-network that is no IP network ended in a traceback inside the crawl, with exit 1
    assert_one_line(invoke(sample_db, "crawl", "--snapshot", "SAMPLE-2026-01", *args), 2, phrase)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((), 0),
        ((ExitCode.UNCHECKED,), 20),
        ((ExitCode.UNCHECKED, ExitCode.REVIEW_NEEDED), 10),  # a person is needed: that wins over "retry later"
        ((ExitCode.REVIEW_NEEDED, ExitCode.INPUTS_FAILED), 1),
        ((ExitCode.INPUTS_FAILED, ExitCode.FILE_ERROR), 4),
        ((ExitCode.FILE_ERROR, ExitCode.USAGE, ExitCode.OK), 2),
        ((ExitCode.USAGE, ExitCode.STORE_IN_USE), 3),
    ],
)
def test_when_several_conditions_hold_the_table_says_which_code_wins(codes, expected):
    assert outcome(*codes) == expected


def test_every_exit_code_is_in_the_precedence_and_the_doc():
    """The table in docs/cli.md lists every code (each is produced by a scenario: 0 and 2 here, 1 and 4 in
    test_cli.py and test_report_cli.py, 3 above, 10 in test_review_cli.py, 20 in test_crawl_content.py)."""
    assert set(PRECEDENCE) == set(ExitCode)
    table = (ROOT / "docs" / "cli.md").read_text()
    for code in ExitCode:
        assert f"\n| {int(code)} | " in table, code
