#!/usr/bin/env python3
"""Fuzz target: the compiled bulk matcher (pipelines/matching/_fastmatch.c) against the in-memory matcher.

    python -m fuzz.sanitized run -- python fuzz/match.py [libFuzzer options] CORPUS_DIR [SEED_DIR ...]

An input is URLs, one a line. Each goes to the C matcher as written (it must survive any bytes) and, after
the ingest normalizer, as the store would hold it: there the compiled matcher's hits must be the in-memory
matcher's (pipelines/matching/in_memory.py), entry for entry, as
tests/pipelines/matching/test_match_properties.py compares the two.
The lists (domains, hosts, URLs, CIDR, SHA-256 and MD5 hash prefixes, an allowlist) are loaded once into an
in-memory store; their hosts are in the seed inputs, for mutations to start from.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fuzz.sanitized  # noqa: E402, F401 - the sanitized extensions, when run under `fuzz.sanitized run`

with atheris.instrument_imports(
    include=["pipelines.urls.canonical", "pipelines.matching.compiled", "pipelines.urls.whatwg"]
):
    import pyarrow as pa

    from pipelines.lists.entries import normalize_list
    from pipelines.lists.formats import parse_list_file
    from pipelines.lists.versions import ListSettings, add_list_version
    from pipelines.matching import compiled as compiled_matcher
    from pipelines.matching.driver import _load_entries
    from pipelines.matching.in_memory import UrlMatcher
    from pipelines.store.database import open_store
    from pipelines.urls.canonical import canonicalize, url_expressions
    from pipelines.urls.whatwg import normalize

if not compiled_matcher.available():
    raise SystemExit("pipelines.matching._fastmatch is not built (or cannot hash): nothing to fuzz")

HOSTS = ["a.test", "b.a.test", "xn--bcher-kva.test", "c-d.example.test", "198.51.100.7", "[2001:db8::7]", "e.test"]
URLS = ["f.test/dl/", "g.test/p/a.b", "a.test/x?id=7", "h.test/"]
HASHED = ["i.test/", "j.test/q/", "k.test/r?s=1", "e.test/img/"]
LISTS = {  # name: (format, list type, text)
    "domains": ("domains", "block", "\n".join(HOSTS[:4]) + "\n"),
    "hosts": ("hosts", "block", "0.0.0.0 e.test\n0.0.0.0 www.c-d.example.test\n"),
    "urls": ("urls", "block", "\n".join(URLS) + "\n"),
    "cidr": ("domains", "block", "198.51.100.0/29\n203.0.113.128/25\n"),
    "sha256": ("sha256", "block", "\n".join(hashlib.sha256(e.encode()).hexdigest()[:8] for e in HASHED) + "\n"),
    "md5": ("md5", "block", "\n".join(hashlib.md5(e.encode()).hexdigest() for e in HASHED[:2]) + "\n"),
    "allow": ("domains", "allow", "b.a.test\n"),
}


def load_lists(folder: Path):
    con = open_store(folder / "fuzz.duckdb")
    for name, (list_format, list_type, text) in LISTS.items():
        path = folder / f"{name}.txt"
        path.write_text(text)
        parsed = normalize_list(parse_list_file(path, list_format))
        add_list_version(con, name, parsed, ListSettings(list_type=list_type, list_format=list_format))
    _load_entries(con, "true")
    return con


_folder = tempfile.TemporaryDirectory(prefix="linksweep-fuzz-match-")
_con = load_lists(Path(_folder.name))
COMPILED = compiled_matcher.CompiledMatcher(_con)
IN_MEMORY = UrlMatcher.from_store(_con)
# group id -> (list, entry expression, effect) of its entries
GROUPS: dict[int, list[tuple[str, str, str]]] = {}
for _group, _list, _expression, _effect in _con.execute(
    "SELECT g.group_id, e.list_name, e.expression, e.effect FROM match_group_entries AS g JOIN match_entries AS e"
    " USING (entry_id)"
).fetchall():
    GROUPS.setdefault(_group, []).append((_list, _expression, _effect))
assert {entry[0] for entries in GROUPS.values() for entry in entries} == set(LISTS)


class MatchParityError(AssertionError):
    """The compiled matcher and the in-memory matcher disagree on a URL."""


def compiled_hits(urls: list[str]) -> set[tuple[str, str, str, str, str]]:
    hits = COMPILED.match(pa.array(urls, pa.string()))
    found = set()
    for row, group, url_expression in zip(
        hits.rows.to_pylist(), hits.groups.to_pylist(), hits.url_expressions.to_pylist(), strict=True
    ):
        for list_name, expression, effect in GROUPS[group]:
            found.add((urls[row], list_name, expression, url_expression, effect))
    return found


def in_memory_hits(urls: list[str]) -> set[tuple[str, str, str, str, str]]:
    return {
        (url, hit.entry.list_name, hit.entry.expression, hit.url_expression, hit.entry.effect)
        for url in urls
        for hit in IN_MEMORY.hits(url)
    }


def test_one_input(data: bytes) -> None:
    lines = data.decode("utf-8", "replace").replace("\x00", "").splitlines()[:64]
    if not lines:
        return
    COMPILED._run(pa.array(lines, pa.string()), 0, canonical=False)  # any bytes: memory safety only
    COMPILED._run(pa.array(lines, pa.string()), 0, canonical=True)
    stored = sorted({url for url in map(normalize, lines) if url is not None})
    if not stored:
        return
    compiled, in_memory = compiled_hits(stored), in_memory_hits(stored)
    if compiled != in_memory:
        raise MatchParityError(
            f"compiled and in-memory matchers disagree on {stored!r}:\n"
            f"  only compiled: {sorted(compiled - in_memory)}\n  only in memory: {sorted(in_memory - compiled)}"
        )
    for url in stored:  # the expressions the hashed lists are matched on are computed without error
        canonical = canonicalize(url)
        if canonical is not None:
            url_expressions(canonical)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
