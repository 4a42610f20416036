"""The hashed formats `sha256`, `sha1` and `md5`."""

from __future__ import annotations

import hashlib

import pytest

from tests.pipelines.lists.formats.report_checks import check_lines


@pytest.mark.parametrize(("algorithm", "length"), [("sha256", 64), ("sha1", 40), ("md5", 32)])
def test_hashes(tmp_path, algorithm, length):
    full = hashlib.new(algorithm, b"http://bad.test/").hexdigest()
    assert len(full) == length
    lines = [
        (f"# {algorithm} list", "comment"),
        (full.upper(), f"hash: {full}"),  # stored lowercase
        (f"{full[:8]}  a prefix", f"hash: {full[:8]}"),  # anything after whitespace is ignored
        # too long, and odd as well: the length is reported first
        (f"{full}0", f"rejected: longer than a {algorithm} digest ({length} hex digits)"),
        (full[:9], "rejected: odd number of hex digits"),
        (full[:6], "rejected: hash prefix shorter than 8 hex digits"),
        ("", "blank"),
        ("g" * length, "rejected: not hexadecimal"),
    ]
    report = check_lines(tmp_path, f"list.{algorithm}", algorithm, lines)
    assert report.hash_algorithm == algorithm
