"""The manifest beside every removal list, and `verify-export`: a changed byte of either file is found."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipelines.export.manifest import MEANING, count_rows, manifest_path, verify_export
from tests.cli_runner import run
from tests.pipelines.export.conftest import SAMPLE, SNAPSHOT


@pytest.fixture(scope="module")
def sample_db(demo_export):
    return demo_export[0]


def export(db: Path, out: Path) -> dict:
    run(db, "export", "--snapshot", SNAPSHOT, "--out", str(out))
    return json.loads(manifest_path(out).read_text())


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_the_manifest_describes_the_file_it_sits_beside(sample_db, tmp_path, suffix):
    out = tmp_path / f"removals{suffix}"
    manifest = export(sample_db, out)
    assert manifest["file"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["file"]["rows"] == manifest["counts"]["rows"] == count_rows(out) > 0
    assert sum(manifest["counts"]["by_action"].values()) == manifest["counts"]["rows"]
    assert manifest["snapshot"] == SNAPSHOT and manifest["meaning"] == MEANING
    (listed,) = manifest["lists"]
    assert (listed["name"], listed["type"], listed["version"]) == ("sample-blocklist", "block", 1)
    assert listed["sha256"] == hashlib.sha256((SAMPLE / "lists" / "sample-blocklist.txt").read_bytes()).hexdigest()
    assert verify_export(out) == []
    assert run(sample_db, "verify-export", str(out)).output.startswith(f"{out}: agrees")


def test_two_exports_of_the_same_data_have_the_same_manifest(sample_db, tmp_path):
    first, second = export(sample_db, tmp_path / "a" / "r.csv"), export(sample_db, tmp_path / "b" / "r.csv")
    assert first == second


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_one_changed_byte_of_the_export_is_found(sample_db, tmp_path, suffix):
    out = tmp_path / f"removals{suffix}"
    export(sample_db, out)
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(data))
    result = run(sample_db, "verify-export", str(out), expect=1)
    assert "sha256" in result.stderr and str(out) in result.stderr


def test_a_dropped_row_is_named_as_a_row_count(sample_db, tmp_path):
    out = tmp_path / "removals.jsonl"
    manifest = export(sample_db, out)
    out.write_text("".join(out.read_text().splitlines(keepends=True)[:-1]))
    problems = verify_export(out)
    assert any(
        f"{manifest['file']['rows'] - 1:,} rows, the manifest says {manifest['file']['rows']}" in p for p in problems
    )


def test_an_edited_manifest_is_found(sample_db, tmp_path):
    out = tmp_path / "removals.csv"
    manifest = export(sample_db, out)
    manifest["lists"][0]["version"] = 2  # claims a list version the export was not made from
    manifest_path(out).write_text(json.dumps(manifest))
    result = run(sample_db, "verify-export", str(out), "--json", expect=1)
    (problem,) = json.loads(result.output)["problems"]
    assert "the manifest was changed after it was written" in problem


def test_an_export_without_its_manifest_or_with_another_one(sample_db, tmp_path):
    out = tmp_path / "removals.csv"
    export(sample_db, out)
    other = tmp_path / "other.csv"
    other.write_bytes(out.read_bytes())
    assert "no manifest beside the export" in run(sample_db, "verify-export", str(other), expect=1).stderr
    manifest_path(other).write_text(manifest_path(out).read_text())
    assert "describes 'removals.csv', not 'other.csv'" in run(sample_db, "verify-export", str(other), expect=1).stderr
    manifest_path(other).write_text("{not json")
    assert "not a linksweep export manifest" in run(sample_db, "verify-export", str(other), expect=1).stderr
