"""Shared fixtures: the third-party corpus folder (optional) and helpers to run an ingest into a fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"third-party test files not present at {REALDATA}")
    return REALDATA


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "linksweep.duckdb"
