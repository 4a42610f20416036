"""Shared fixtures: the third-party corpus folder (optional) and helpers to run an ingest into a fresh database."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import settings

# The suite is deterministic: each property test tries the same examples on every run and machine, so CI
# passes or fails alike everywhere. HYPOTHESIS_PROFILE=explore searches with fresh random examples instead.
settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

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


@pytest.fixture(params=["sql", "compiled"])
def match_kernel(request, monkeypatch) -> str:
    """Run a matching test with each bulk kernel: the SQL one and the compiled inner loop (when built)."""
    from pipelines.matching import KERNEL_ENVIRONMENT_VARIABLE
    from pipelines.matching import compiled as compiled_matcher

    if request.param == "compiled" and not compiled_matcher.available():
        pytest.skip("pipelines.matching._fastmatch is not built (no C compiler at install time)")
    monkeypatch.setenv(KERNEL_ENVIRONMENT_VARIABLE, request.param)
    return request.param


@pytest.fixture
def private_suffix_list(tmp_path):
    """The Public Suffix List replaced by a tiny one in which `pages.example.org` is a private-section suffix, so
    tests can tell ICANN from private registrable domains with reserved names only."""
    from pipelines.urls import SuffixList, use_suffix_list

    listing = tmp_path / "public_suffix_list.dat"
    listing.write_text(
        "// ===BEGIN ICANN DOMAINS===\norg\ntest\n// ===END ICANN DOMAINS===\n"
        "// ===BEGIN PRIVATE DOMAINS===\npages.example.org\n// ===END PRIVATE DOMAINS===\n"
    )
    use_suffix_list(SuffixList.from_file(listing))
    yield listing
    use_suffix_list(None)


@pytest.fixture
def no_network(monkeypatch):
    """Every way Python opens a connection or resolves a name raises: a test that reaches one fails (for the
    commands that must stay local: review, report)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network call was attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
