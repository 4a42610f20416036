"""The hashed formats `sha256`, `sha1` and `md5`.

Synthetic fixtures use reserved names only (*.test, example.org/.com/.net) and documentation IPs.
"""

from __future__ import annotations

import hashlib

import pytest

from pipelines.lists.formats import parse_list_file
from tests.pipelines.lists.formats.report_checks import check_invariants, reasons, rows, write


@pytest.mark.parametrize(("algorithm", "length"), [("sha256", 64), ("sha1", 40), ("md5", 32)])
def test_hashes(tmp_path, algorithm, length):
    full = hashlib.new(algorithm, b"http://bad.test/").hexdigest()
    assert len(full) == length
    path = write(
        tmp_path,
        f"list.{algorithm}",
        f"# {algorithm} list\n"  # 1
        f"{full.upper()}\n"  # 2: stored lowercase
        f"{full[:8]}  a prefix\n"  # 3: anything after whitespace is ignored
        f"{full}0\n"  # 4: too long (odd as well, but length is reported first)
        f"{full[:9]}\n"  # 5: odd
        f"{full[:6]}\n"  # 6: too short
        "\n"  # 7
        f"{'g' * length}\n",  # 8: not hex
    )
    report = parse_list_file(path, algorithm)
    assert report.hash_algorithm == algorithm
    assert rows(report) == [(2, "hash", full), (3, "hash", full[:8])]
    assert (report.comments, report.blank) == (1, 1)
    assert reasons(report.rejected) == [
        (4, f"longer than a {algorithm} digest ({length} hex digits)"),
        (5, "odd number of hex digits"),
        (6, "hash prefix shorter than 8 hex digits"),
        (8, "not hexadecimal"),
    ]
    check_invariants(report, 8)
