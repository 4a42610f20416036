"""The synthetic store of tests/report_helpers.py as a fixture."""

from __future__ import annotations

import pytest

from tests.report_helpers import build_store


@pytest.fixture
def store(tmp_path):
    con = build_store(tmp_path)
    yield con
    con.close()
