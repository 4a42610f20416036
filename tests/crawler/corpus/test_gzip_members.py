"""GzipMembers: gzipped WARC files inflated member by member with ISA-L, for FastWARC, with member offsets."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from crawler.corpus import gzip_members
from crawler.corpus.archive import read_fastwarc
from crawler.corpus.gzip_members import GzipMembers
from crawler.corpus.readers import _fastwarc_input
from crawler.corpus.sniff import sniff
from crawler.corpus.source_reader import SourceTask, read_source
from crawler.corpus.synthetic import gzip_member, request_record, response_record, warcinfo_record
from pipelines.store import read_staged

pytestmark = pytest.mark.skipif(not gzip_members.available(), reason="python-isal is not installed")


def _records(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    records = [warcinfo_record("members.warc.gz")]
    for index in range(count):
        url = f"https://h{index}.example.org/page"
        # pages of very different sizes, some compressing far better than others (members end anywhere in a feed)
        words = " ".join(f"w{rng.randrange(50 if index % 3 else 50_000)}" for _ in range(rng.choice((5, 400, 9000))))
        body = f"<html><body><a href='/a{index}'>a</a><p>{words}</p></body></html>".encode()
        records += [request_record(url), response_record(url, body)]
    return records


def _write(path: Path, members: list[bytes]) -> list[int]:
    """Write the members one after the other; returns the file offset of each."""
    offsets, at = [], 0
    for member in members:
        offsets.append(at)
        at += len(member)
    path.write_bytes(b"".join(members))
    return offsets


def _drain(stream: GzipMembers, size: int = 65_536) -> bytes:
    parts = []
    while part := stream.read(size):
        assert len(part) <= size
        parts.append(part)
    return b"".join(parts)


def test_the_stream_is_the_decompressed_file_and_knows_each_member_offset(tmp_path):
    records = _records(300)
    path = tmp_path / "members.warc.gz"
    offsets = _write(path, [gzip_member(record) for record in records])
    with GzipMembers(str(path)) as stream:
        assert _drain(stream, size=10_000) == b"".join(records)
        assert stream.error is None
    with GzipMembers(str(path)) as stream:
        found = [record.offset for record in read_fastwarc(stream)]
    assert found == offsets  # one record per member: each record's offset is its member's


def test_records_gzipped_together_get_the_offset_of_their_member(tmp_path):
    records = _records(4)
    path = tmp_path / "grouped.warc.gz"
    groups = [records[0:1], records[1:5], records[5:9]]
    offsets = _write(path, [gzip_member(b"".join(group)) for group in groups])
    with GzipMembers(str(path)) as stream:
        found = [record.offset for record in read_fastwarc(stream)]
    assert found == [offsets[0]] + [offsets[1]] * 4 + [offsets[2]] * 4


def test_fastwarc_reads_the_same_records_through_the_stream_as_on_its_own(tmp_path):
    path = tmp_path / "members.warc.gz"
    _write(path, [gzip_member(record) for record in _records(200, seed=3)])
    native = list(read_fastwarc(str(path)))
    with GzipMembers(str(path)) as stream:
        inflated = list(read_fastwarc(stream))
    assert [(r.record_type, r.record_id, r.offset, r.payload, r.http_headers) for r in inflated] == [
        (r.record_type, r.record_id, r.offset, r.payload, r.http_headers) for r in native
    ]


def test_a_file_cut_off_inside_a_member_gives_what_it_holds_without_error(tmp_path):
    records = _records(20)
    path = tmp_path / "cut.warc.gz"
    whole = b"".join(gzip_member(record) for record in records)
    path.write_bytes(whole[:-40])
    with GzipMembers(str(path)) as stream:
        data = _drain(stream)
        assert stream.error is None
    assert b"".join(records).startswith(data) and len(data) < len(b"".join(records))
    with GzipMembers(str(path)) as stream:
        last = list(read_fastwarc(stream))[-1]
    assert last.truncated and "truncated" in last.truncated


@pytest.mark.parametrize("damage", ["flipped byte", "garbage after the last member"])
def test_damaged_gzip_data_ends_the_stream_and_says_where(tmp_path, damage):
    records = _records(10)
    members = [gzip_member(record) for record in records]
    path = tmp_path / "damaged.warc.gz"
    offsets = _write(path, members)
    data = bytearray(path.read_bytes())
    if damage == "flipped byte":
        bad = 6
        data[offsets[bad] + 30] ^= 0xFF
    else:
        bad = len(members)
        data += b"not gzip at all\n" * 4
    path.write_bytes(bytes(data))
    where = offsets[bad] if bad < len(offsets) else len(b"".join(members))
    with GzipMembers(str(path)) as stream:
        read = []
        with pytest.raises(OSError, match=f"gzip data is corrupt in the member at offset {where}: "):
            for record in read_fastwarc(stream):
                read.append(record)
    assert len(read) == bad  # every record before the damage
    # the file is then recorded as stopped early, with the records before the damage and what each reader said
    result = read_source(SourceTask(1, "S", str(path), str(tmp_path / "staging")))
    assert (result.status, result.reader, result.records) == ("partial", "fastwarc", bad)
    assert f"fastwarc stopped after {bad} records: OSError: gzip data is corrupt in the member at offset {where}" in (
        result.error
    )


def test_without_isal_fastwarc_reads_the_file_itself(tmp_path, monkeypatch):
    path = tmp_path / "members.warc.gz"
    _write(path, [gzip_member(record) for record in _records(30)])
    with_isal = read_source(SourceTask(1, "S", str(path), str(tmp_path / "a")))
    monkeypatch.setattr(gzip_members, "isal_zlib", None)
    assert not gzip_members.available()
    without = read_source(SourceTask(1, "S", str(path), str(tmp_path / "b")))
    assert (with_isal.status, with_isal.reader, with_isal.records, with_isal.links) == (
        without.status,
        without.reader,
        without.records,
        without.links,
    )
    assert read_staged(with_isal.staged["documents"]) == read_staged(without.staged["documents"])


def test_only_files_sniffed_as_gzip_are_streamed(tmp_path):
    plain = tmp_path / "plain.warc.gz"  # the name says gzip, the bytes do not: the bytes decide
    plain.write_bytes(b"".join(_records(2)))
    packed = tmp_path / "packed.warc"
    packed.write_bytes(gzip.compress(b"".join(_records(2))))
    with _fastwarc_input(str(plain), sniff(plain)) as plain_input:
        assert plain_input == str(plain)  # FastWARC opens it itself
    with _fastwarc_input(str(packed), sniff(packed)) as packed_input:
        assert isinstance(packed_input, GzipMembers)
        assert len(list(read_fastwarc(packed_input))) == len(_records(2))


def test_a_member_that_inflates_a_thousandfold_comes_out_in_bounded_pieces(tmp_path):
    zeros = b"\0" * (40 << 20)
    path = tmp_path / "zeros.gz"
    _write(path, [gzip_member(b"first"), gzip_member(zeros), gzip_member(b"last")])
    with GzipMembers(str(path)) as stream:
        sizes = []
        while part := stream.read(-1):
            sizes.append(len(part))
        assert stream.error is None
    assert sum(sizes) == len(zeros) + len(b"firstlast")
    assert max(sizes) <= GzipMembers.OUTPUT_BYTES
