"""Which local files an ingest reads: the files named and those found in the named folders; what it refuses
before it opens the store (a path that does not exist)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

from crawler.corpus import UnknownFormat, reader_for, sniff


class MissingInput(FileNotFoundError):
    """A path given to ingest does not exist."""


def corpus_files(paths: Iterable[str | Path], include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[Path]:
    """Every file named or found under the named folders (recursively, hidden files excepted), sorted.

    A file found in a folder is taken when its path within the folder (or its name) matches one of `include`
    (if any is given) and none of `exclude` (shell patterns, `*` matching across folders); files named on
    their own are always taken."""
    include, exclude = tuple(include), tuple(exclude)
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path)
                if not candidate.is_file() or any(part.startswith(".") for part in relative.parts):
                    continue
                if include and not _matches(relative, include):
                    continue
                if not _matches(relative, exclude):
                    found.append(candidate)
        elif path.is_file():
            found.append(path)
        else:
            raise MissingInput(f"{path}: no such file or folder")
    unique: dict[Path, None] = dict.fromkeys(p.resolve() for p in found)
    return sorted(unique)


def _matches(relative: Path, patterns: tuple[str, ...]) -> bool:
    text = relative.as_posix()
    return any(
        fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(relative.name, pattern) for pattern in patterns
    )


# Names of the text files that come with corpora (descriptions, licences, checksums), lower case, no suffix
_TEXT_NAMES = frozenset(
    {
        "readme",
        "license",
        "licence",
        "copying",
        "notice",
        "changelog",
        "authors",
        "source",
        "sources",
        "manifest",
        "checksums",
        "sha256sums",
        "sha1sums",
        "md5sums",
    }
)
_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst"})


def not_corpus_reason(path: Path) -> str | None:
    """Why a file found in a folder is clearly no corpus file, or None: a text name (README, LICENSE,
    SOURCE.txt, *.md) and no corpus magic bytes, nor, if it reads as a table, a URL column."""
    if path.name.split(".")[0].lower() not in _TEXT_NAMES and path.suffix.lower() not in _TEXT_SUFFIXES:
        return None
    try:
        file_format = sniff(path)
        corpus_format = reader_for(file_format)
    except UnknownFormat:
        return "not a corpus file (a text name, and no WARC, ARC, gzip, Parquet or table content)"
    except OSError:
        return None  # reading it fails again, and is recorded, in the reader
    if corpus_format.lacks_url_column(path, file_format):
        return "not a corpus file (a text name, and no URL column)"
    return None
