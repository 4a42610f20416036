"""The sample's removal list, exported once per module in clear, and the database it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import run

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
SNAPSHOT = "SAMPLE-2026-01"


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory) -> tuple[Path, Path]:
    """(database, removal list as JSON lines) of `linksweep demo` over the bundled sample."""
    folder = tmp_path_factory.mktemp("demo")
    db, plain = folder / "sample.duckdb", folder / "plain.jsonl"
    run(db, "demo", "--sample-dir", str(SAMPLE), "--out", str(plain))
    return db, plain
