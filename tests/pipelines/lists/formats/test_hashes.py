"""The content-hash list formats `hashes-<algo>`: every line of a hash list accounted for, plain or CSV, and the
same report whatever the batches it is read in.

Every hash is random or the digest of a synthetic string: no real hash list is used.
"""

from __future__ import annotations

import gzip
import hashlib
import random

import pytest

from pipelines.lists.formats import HashListError, parse_hash_list
from pipelines.lists.formats import reader as list_reader
from tests.pipelines.lists.formats.report_checks import write


def random_pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def all_lines_accounted(report) -> None:
    numbers = (
        [entry.line_no for entry in report.entries]
        + [duplicate.line_no for duplicate in report.duplicates]
        + report.comments
        + report.blank
        + [rejected.line_no for rejected in report.rejected]
        + report.header
        + report.continuation
    )
    assert sorted(numbers) == list(range(1, report.lines_total + 1))
    assert report.lines_accounted == report.lines_total


MD5_A = hashlib.md5(b"synthetic a").hexdigest()
MD5_B = hashlib.md5(b"synthetic b").hexdigest()
MD5_C = hashlib.md5(b"synthetic c").hexdigest()
SHA1_A = hashlib.sha1(b"synthetic a").hexdigest()
SHA256_A = hashlib.sha256(b"synthetic a").hexdigest()


def test_plain_list_every_line_accounted_for(tmp_path):
    lines = [
        "# synthetic md5 list",  # 1 comment
        MD5_A,  # 2
        "",  # 3 blank
        f"{MD5_B.upper()}  report 12",  # 4 uppercase, label
        f"{MD5_C} *file.bin",  # 5 md5sum binary-mode output
        MD5_A,  # 6 duplicate of line 2
        "   ",  # 7 blank
        SHA256_A,  # 8 wrong length (a sha256)
        "z" * 32,  # 9 not hex
        MD5_A[:31],  # 10 too short
        f"{MD5_B}   # known sample",  # 11 duplicate with a comment
        "  # indented comment",  # 12
    ]
    path = write(tmp_path, "list.txt", "\r\n".join(lines) + "\r\n")
    report = parse_hash_list(path, "md5")
    all_lines_accounted(report)
    assert report.lines_total == 12 and report.format == "lines"
    assert [(e.line_no, e.hash, e.label) for e in report.entries] == [
        (2, MD5_A, None),
        (4, MD5_B, "report 12"),
        (5, MD5_C, "file.bin"),
    ]
    assert [(d.line_no, d.hash, d.first_line_no) for d in report.duplicates] == [(6, MD5_A, 2), (11, MD5_B, 4)]
    assert report.comments == [1, 12] and report.blank == [3, 7]
    reasons = {r.line_no: r.reason for r in report.rejected}
    assert set(reasons) == {8, 9, 10}
    assert "64 hex digits" in reasons[8] and "sha256" in reasons[8] and "md5 needs 32" in reasons[8]
    assert "not hexadecimal" in reasons[9]
    assert "31 hex digits" in reasons[10]
    assert report.rejected[0].text == SHA256_A
    assert report.notes


@pytest.mark.parametrize(
    ("algo", "good", "bad"),
    [
        ("md5", MD5_A, SHA1_A),
        ("sha1", SHA1_A, MD5_A),
        ("sha256", SHA256_A, SHA1_A),
        ("pdq", random_pdq(random.Random(3)), MD5_A),
    ],
)
def test_lengths_are_strict_per_algorithm(tmp_path, algo, good, bad):
    report = parse_hash_list(write(tmp_path, "l.txt", f"{good}\n{bad}\n{good}0\n"), algo)
    all_lines_accounted(report)
    assert [e.hash for e in report.entries] == [good]
    assert [r.line_no for r in report.rejected] == [2, 3]


def test_pdq_reference_hasher_output_lines(tmp_path):
    rng = random.Random(4)
    first, second = random_pdq(rng), random_pdq(rng)
    path = write(tmp_path, "pdq.txt", f"{first},100,synthetic-1.png\n{second},87,synthetic-2.jpg\n")
    report = parse_hash_list(path, "pdq")
    assert [(e.hash, e.label) for e in report.entries] == [
        (first, "100,synthetic-1.png"),
        (second, "87,synthetic-2.jpg"),
    ]


def test_csv_export_with_signal_type_and_labels(tmp_path):
    rng = random.Random(5)
    pdq_a, pdq_b = random_pdq(rng), random_pdq(rng)
    content = "\n".join(
        [
            "# exported synthetic signals",  # 1
            "signal_type,signal_str,label",  # 2 header
            f"pdq,{pdq_a},synthetic a",  # 3
            f"video_md5,{MD5_A},clip",  # 4 other type
            f'HASH_PDQ,{pdq_b.upper()},"two-line',  # 5 quoted label over two lines
            'label"',  # 6 continuation
            "",  # 7
            f"pdq,{pdq_a},again",  # 8 duplicate
            "pdq,not-a-hash,x",  # 9
            "pdq",  # 10 short row
            f"vpdq,{pdq_b},video",  # 11 another type whose name contains pdq
        ]
    )
    report = parse_hash_list(write(tmp_path, "export.csv", content + "\n"), "pdq")
    all_lines_accounted(report)
    assert report.format == "csv" and report.delimiter == ","
    assert (report.hash_column, report.label_column, report.type_column) == ("signal_str", "label", "signal_type")
    assert report.header == [2] and report.comments == [1] and report.blank == [7] and report.continuation == [6]
    assert [(e.line_no, e.hash, e.label) for e in report.entries] == [
        (3, pdq_a, "synthetic a"),
        (5, pdq_b, "two-line\nlabel"),
    ]
    assert [(d.line_no, d.first_line_no) for d in report.duplicates] == [(8, 3)]
    reasons = {r.line_no: r.reason for r in report.rejected}
    assert set(reasons) == {4, 9, 10, 11}
    assert "video_md5" in reasons[4] and "not pdq" in reasons[4]
    assert "not hexadecimal" in reasons[9]
    assert "1 cells" in reasons[10]
    assert "vpdq" in reasons[11]
    assert any("signal_str" in note and "CSV" in note for note in report.notes)


def test_csv_with_a_tab_and_a_hash_column_and_gzip(tmp_path):
    content = f"name\thash\nfirst\t{SHA1_A}\nsecond\t{MD5_A}\n"
    report = parse_hash_list(write(tmp_path, "l.tsv.gz", gzip.compress(content.encode())), "sha1")
    all_lines_accounted(report)
    assert report.delimiter == "\t" and report.hash_column == "hash" and report.label_column == "name"
    assert [(e.hash, e.label) for e in report.entries] == [(SHA1_A, "first")]
    assert [r.line_no for r in report.rejected] == [3]


def test_single_column_csv_header(tmp_path):
    report = parse_hash_list(write(tmp_path, "l.csv", f"md5\n{MD5_A}\n"), "md5")
    assert report.format == "csv" and report.header == [1] and [e.hash for e in report.entries] == [MD5_A]


def test_csv_for_another_algorithm_is_explained(tmp_path):
    path = write(tmp_path, "sha.csv", f"sha256,label\n{SHA256_A},x\n")
    with pytest.raises(ValueError, match=r"sha\.csv.*no usable md5 hash.*sha256 column"):
        parse_hash_list(path, "md5")


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n\n# another\n", "md5\n"])
def test_a_list_without_entries_is_an_error_naming_the_file(tmp_path, content):
    path = write(tmp_path, "empty-list.txt", content)
    with pytest.raises(ValueError, match="empty-list.txt.*no usable md5 hash"):
        parse_hash_list(path, "md5")


def test_a_list_of_only_rejects_says_why(tmp_path):
    path = write(tmp_path, "wrong.txt", f"{SHA256_A}\n{SHA256_A}\n")
    with pytest.raises(HashListError, match=r"wrong\.txt.*2 rejected.*line 1: 64 hex digits"):
        parse_hash_list(path, "md5")


def test_whole_file_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        parse_hash_list(write(tmp_path, "a.txt", MD5_A), "crc32")
    with pytest.raises(ValueError, match="binary"):
        parse_hash_list(write(tmp_path, "b.bin", b"\x00\x01\x02" * 10), "md5")
    with pytest.raises(ValueError, match="cannot read"):
        parse_hash_list(tmp_path / "missing.txt", "md5")


def _report_fields(report) -> tuple:
    return (
        report.lines_total,
        report.format,
        report.delimiter,
        [(e.line_no, e.hash, e.label) for e in report.entries],
        [(d.line_no, d.hash, d.first_line_no) for d in report.duplicates],
        [(r.line_no, r.text, r.reason) for r in report.rejected],
        report.comments,
        report.blank,
        report.header,
        report.continuation,
        report.notes,
    )


@pytest.mark.parametrize("batch_lines", [1, 2, 3])
def test_hash_lists_read_in_batches_of_any_size_give_the_same_report(tmp_path, monkeypatch, batch_lines):
    files = {
        "plain.txt": ("md5", f"# c\n{MD5_A} one\n\n{MD5_B}\n{MD5_A} again\nnot-hex\n{MD5_C},x\r\n"),
        "export.csv": (
            "md5",
            f'# c\n\nmd5,label\n{MD5_A},"three\nline\nlabel"\n{MD5_B},b\n{MD5_A},dup\n{MD5_C},"open\n{MD5_B},x\n',
        ),
        "open-at-end.csv": ("sha1", f'hash;name\n{SHA1_A};a\n{SHA1_A};"never\nclosed\n'),
    }
    for name, (algo, text) in files.items():
        for path in (write(tmp_path, name, text), write(tmp_path, f"{name}.gz", gzip.compress(text.encode()))):
            whole = _report_fields(parse_hash_list(path, algo))
            with monkeypatch.context() as patch:
                patch.setattr(list_reader, "BATCH_LINES", batch_lines)
                batched = parse_hash_list(path, algo)
            all_lines_accounted(batched)
            assert _report_fields(batched) == whole, name
