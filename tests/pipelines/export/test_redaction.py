"""Redacted removal lists: no URL or listed host in clear, and a data team's own hashes find the rows."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.export.manifest import manifest_path, verify_export
from pipelines.urls import canonicalize
from tests.cli_runner import run
from tests.pipelines.export.conftest import SNAPSHOT

KEY = "a key the data team holds"


@pytest.fixture(scope="module")
def exported(demo_export):
    """The database of the sample, and the rows of its removal list in clear."""
    db, plain = demo_export
    return db, [json.loads(line) for line in plain.read_text().splitlines()]


def read_rows(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    with open(path, newline="") as stream:
        return [{key: value or None for key, value in row.items()} for row in csv.DictReader(stream)]


def documented_hashes(url: str) -> tuple[str, str]:
    """What docs/commands.md tells a data team to compute for one of its URLs."""
    canonical = canonicalize(url)
    return hashlib.sha256(canonical.key.encode()).hexdigest(), hashlib.sha256(f"{canonical.host}/".encode()).hexdigest()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_redacted_list_holds_no_url_in_clear_and_hashes_find_each_row(exported, tmp_path, suffix):
    db, plain = exported
    out = tmp_path / f"redacted{suffix}"
    run(db, "export", "--snapshot", SNAPSHOT, "--out", str(out), "--redact")
    data = out.read_bytes()
    secrets = set()
    for row in plain:
        for url in (row["document_url"], row["link_url"], row["link_raw_url"]):
            if url:
                secrets |= {url, canonicalize(url).host}
        secrets |= set(row["matched_rule"].split("; ")) if row["matched_rule"] else set()
    assert secrets and not [secret for secret in secrets if secret.encode() in data]
    redacted = read_rows(out)
    assert len(redacted) == len(plain)
    for before, after in zip(plain, redacted, strict=True):
        assert (after["record_id"], after["action"]) == (before["record_id"], before["action"])
        url = before["link_url"] or before["document_url"]
        column = "link" if before["link_url"] else "document"
        assert (after[f"{column}_url_sha256"], after[f"{column}_host_sha256"]) == documented_hashes(url)
    assert json.loads(manifest_path(out).read_text())["hash_scheme"]["url_sha256"]
    assert verify_export(out) == []


def test_with_a_key_each_row_has_its_keyed_hash_and_the_key_is_named(exported, tmp_path):
    db, plain = exported
    out = tmp_path / "keyed.jsonl"
    run(db, "export", "--snapshot", SNAPSHOT, "--out", str(out), "--hmac-key-env", "TEAM_KEY", env={"TEAM_KEY": KEY})
    key_id = hashlib.sha256(b"linksweep-key-id:" + KEY.encode()).hexdigest()[:16]
    for before, after in zip(plain, read_rows(out), strict=True):
        expression = canonicalize(before["document_url"]).key.encode()
        assert after["document_url_hmac"] == hmac.new(KEY.encode(), expression, hashlib.sha256).hexdigest()
        assert after["hmac_key_id"] == key_id
    assert json.loads(manifest_path(out).read_text())["hash_scheme"]["hmac_key_id"] == key_id


def test_a_key_variable_that_is_not_set_is_a_usage_error(exported, tmp_path):
    db, _ = exported
    out = tmp_path / "never.csv"
    result = run(
        db, "export", "--snapshot", SNAPSHOT, "--out", str(out), "--hmac-key-env", "LINKSWEEP_NO_SUCH_KEY", expect=2
    )
    assert "LINKSWEEP_NO_SUCH_KEY" in result.stderr and not out.exists()
