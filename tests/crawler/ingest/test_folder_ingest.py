"""Folder ingest: --include/--exclude patterns, and files that are clearly no corpus files listed as skipped."""

from __future__ import annotations

import gzip
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import main
from crawler.corpus.synthetic import response_record, warcinfo_record, write_warc
from crawler.ingest import ingest


def corpus_folder(root: Path) -> Path:
    folder = root / "corpus"
    (folder / "sub").mkdir(parents=True)
    write_warc(folder / "a.warc.gz", [warcinfo_record("a"), response_record("https://a.test/", b"x")], gzipped=True)
    write_warc(folder / "sub" / "b.warc", [response_record("https://b.test/", b"y")], gzipped=False)
    (folder / "urls.csv").write_text("url\nhttps://c.test/\n")
    (folder / "SOURCE.txt").write_text("Downloaded from the example archive on 2026-01-15.\n")
    (folder / "README").write_text("Sample corpus\n=============\n")
    (folder / "NOTES.md").write_text("# Notes, and more notes\n")
    (folder / "LICENSE").write_text("Permission is hereby granted, free of charge, to any person\n")
    return folder


def test_text_files_of_a_folder_are_skipped_with_a_reason_not_failed(tmp_path, db_path):
    folder = corpus_folder(tmp_path)
    summary = ingest(db_path, "S", [folder], workers=1, show_progress=False)
    assert summary.files == 3 and summary.problems == [] and not summary.failed
    assert sorted(Path(path).name for path, _reason in summary.not_corpus) == [
        "LICENSE",
        "NOTES.md",
        "README",
        "SOURCE.txt",
    ]
    assert all("not a corpus file" in reason for _path, reason in summary.not_corpus)


def test_a_url_list_with_a_text_name_is_still_read(tmp_path, db_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "urls.txt").write_text("url\nhttps://c.test/\n")
    with gzip.open(folder / "notes.txt.gz", "wt") as out:  # gzipped: read as what it holds, whatever its name
        out.write("url\nhttps://d.test/\n")
    summary = ingest(db_path, "S", [folder], workers=1, show_progress=False)
    assert (summary.files, summary.documents, summary.not_corpus) == (2, 2, [])


def test_include_and_exclude_patterns_choose_the_files_of_a_folder(tmp_path, db_path):
    folder = corpus_folder(tmp_path)
    summary = ingest(
        db_path, "S", [folder], workers=1, show_progress=False, include=("*.warc*", "*.csv"), exclude=("sub/*",)
    )
    assert summary.files == 2  # a.warc.gz and urls.csv
    assert summary.documents == 2
    assert summary.not_corpus == []  # left out by the patterns, not looked at


def test_the_cli_lists_skipped_files_and_takes_repeatable_patterns(tmp_path, db_path):
    folder = corpus_folder(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "--db",
            str(db_path),
            "ingest",
            "--snapshot",
            "S",
            "--workers",
            "1",
            "--exclude",
            "*.csv",
            "--exclude",
            "sub/*",
            str(folder),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"{folder / 'README'}: skipped: not a corpus file" in result.output
    assert "ingested 1 files" in result.output
