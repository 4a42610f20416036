"""The run config (TOML): one file declares the store, the snapshot, the corpus sources, the lists, the crawl,
the engine that runs ingest and crawl, the exports, the report bundles and the HTML report. Every key is checked
before anything runs: an unknown key or a wrong type is a ConfigError naming the file, the key and its line.
Paths are relative to the config file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.engines import ENGINE_NAMES

LIST_KINDS = ("block", "allow", "watch", "hash")
CC_SUBSETS = ("warc", "wat", "wet")


class ConfigError(ValueError):
    """The config cannot be used; the message names the file, the key and its line."""


@dataclass(frozen=True)
class CorpusSource:
    paths: tuple[str, ...] = ()  # local paths or globs (relative to the config file)
    urls: tuple[str, ...] = ()  # https:// URLs, or @FILE listing them
    cc: str | None = None  # a Common Crawl crawl id
    subset: str = "warc"
    sample: int | None = None
    seed: int = 0
    base_url: str | None = None
    allow_http: bool = False
    allow_network: tuple[str, ...] = ()  # networks the address policy opens for corpus downloads (a local mirror)
    s3_endpoint_url: str | None = None  # s3:// sources: the endpoint (default: AWS_ENDPOINT_URL, else AWS)

    def specs(self) -> list[str]:
        """The sources as `linksweep ingest` takes them on its command line."""
        cc = [f"cc:{self.cc}/{self.subset}"] if self.cc else []
        return [*self.paths, *self.urls, *cc]


@dataclass(frozen=True)
class ListSource:
    kind: str
    name: str
    source: str
    format: str | None = None
    category: str | None = None
    algo: str | None = None  # hash lists
    subdomains: bool = False
    two_reviewers: bool | None = None
    reportable: bool | None = None
    force: bool = False


@dataclass(frozen=True)
class CrawlSettings:
    enabled: bool = False
    allow_network: tuple[str, ...] = ()
    hash_content: bool = False
    hash_services: str | None = None
    limit: int | None = None
    processes: int | None = None
    concurrency: int | None = None
    per_host: int | None = None
    timeout: float | None = None
    static_hosts: dict[str, str] = field(default_factory=dict)  # name -> address (tests, local mirrors)


@dataclass(frozen=True)
class EngineSettings:
    """Who runs the units of work of the ingest and crawl stages (as `--engine` and `--ray-address`)."""

    name: str = "local"
    ray_address: str | None = None  # --engine ray: the cluster to join (default: $RAY_ADDRESS, else a new one)


@dataclass(frozen=True)
class MatchSettings:
    flood_urls: int | None = None
    flood_factor: float | None = None


@dataclass(frozen=True)
class ExportTarget:
    path: str
    redact: bool = False
    hmac_key_env: str | None = None
    include_review: bool = False


@dataclass(frozen=True)
class BundleTarget:
    profile: str
    out: str
    include_auto: bool = False
    reporter: str | None = None
    xsd: str | None = None


@dataclass(frozen=True)
class HtmlReport:
    html: str | None = None
    redact: bool = False


@dataclass(frozen=True)
class RunConfig:
    path: Path
    sha256: str  # of the file's bytes: a rerun with the same config resumes an unfinished run
    db: str | None
    snapshot: str
    corpus: tuple[CorpusSource, ...]
    lists: tuple[ListSource, ...]
    match: MatchSettings
    crawl: CrawlSettings
    exports: tuple[ExportTarget, ...]
    bundles: tuple[BundleTarget, ...]
    report: HtmlReport
    workers: int | None = None
    engine: EngineSettings = EngineSettings()

    def resolve(self, path: str) -> Path:
        """A path of the config, relative to the config file's folder."""
        given = Path(path)
        return given if given.is_absolute() else Path(os.path.normpath(self.path.parent / given))


# table -> key -> (type(s), required); a type tuple accepts any of them
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "store": {"db": ((str,), False)},
    "snapshot": {"name": ((str,), True)},
    "ingest": {"workers": ((int,), False)},
    "engine": {"name": ((str,), False), "ray_address": ((str,), False)},
    "corpus": {
        "paths": ((list,), False),
        "urls": ((list,), False),
        "cc": ((str,), False),
        "subset": ((str,), False),
        "sample": ((int,), False),
        "seed": ((int,), False),
        "base_url": ((str,), False),
        "allow_http": ((bool,), False),
        "allow_network": ((list,), False),
        "s3_endpoint_url": ((str,), False),
    },
    "lists": {
        "kind": ((str,), True),
        "name": ((str,), True),
        "source": ((str,), True),
        "format": ((str,), False),
        "category": ((str,), False),
        "algo": ((str,), False),
        "subdomains": ((bool,), False),
        "two_reviewers": ((bool,), False),
        "reportable": ((bool,), False),
        "force": ((bool,), False),
    },
    "match": {"flood_urls": ((int,), False), "flood_factor": ((int, float), False)},
    "crawl": {
        "enabled": ((bool,), False),
        "allow_network": ((list,), False),
        "hash_content": ((bool,), False),
        "hash_services": ((str,), False),
        "limit": ((int,), False),
        "processes": ((int,), False),
        "concurrency": ((int,), False),
        "per_host": ((int,), False),
        "timeout": ((int, float), False),
        "static_hosts": ((dict,), False),
    },
    "exports": {
        "path": ((str,), True),
        "redact": ((bool,), False),
        "hmac_key_env": ((str,), False),
        "include_review": ((bool,), False),
    },
    "bundles": {
        "profile": ((str,), True),
        "out": ((str,), True),
        "include_auto": ((bool,), False),
        "reporter": ((str,), False),
        "xsd": ((str,), False),
    },
    "report": {"html": ((str,), False), "redact": ((bool,), False)},
}
_ARRAYS = {"corpus", "lists", "exports", "bundles"}  # [[corpus]], ...: tables that repeat
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _line_of(text: str, table: str, index: int | None, key: str | None) -> int | None:
    """The line of `key` in the `index`-th `[[table]]` (or in `[table]`), or of the table's header: found by
    reading the text, as tomllib reports no positions."""
    header = re.compile(
        rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]" if index is not None else rf"^\s*\[\s*{re.escape(table)}\s*\]"
    )
    any_header = re.compile(r"^\s*\[")
    seen, inside, found = -1, False, None
    for number, line in enumerate(text.splitlines(), 1):
        if header.match(line):
            seen += 1
            inside = index is None or seen == index
            if inside and key is None:
                return number
            found = number if inside else found
            continue
        if any_header.match(line):
            inside = False
        elif inside and key is not None and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return found


def _error(config: Path, text: str, table: str, index: int | None, key: str | None, problem: str) -> ConfigError:
    where = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
    line = _line_of(text, table, index, key)
    at = f" (line {line})" if line else ""
    return ConfigError(f"{config}: {where}{' ' + key if key else ''}{at}: {problem}")


def _checked(config: Path, text: str, table: str, index: int | None, values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise _error(config, text, table, index, None, "must be a table")
    schema = _SCHEMA[table]
    for key, value in values.items():
        if key not in schema:
            raise _error(config, text, table, index, key, f"unknown key (known: {', '.join(schema)})")
        types, _required = schema[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise _error(config, text, table, index, key, f"must be {_TYPE_NAMES[types[0]]}, not {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise _error(config, text, table, index, key, "must be a list of strings")
    for key, (_types, required) in schema.items():
        if required and key not in values:
            raise _error(config, text, table, index, None, f"{key} is required")
    return values


def _choice(config, text, table, index, key, value, choices) -> None:
    if value not in choices:
        raise _error(config, text, table, index, key, f"{value!r} is not one of {', '.join(choices)}")


def load_config(path: Path) -> RunConfig:
    """Read and check the run config at `path`."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config ({error.strerror or error})") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    if isinstance(document.get("engine"), str):  # `engine = "ray"`: the short form of [engine] name = "ray"
        document["engine"] = {"name": document["engine"]}
    for table, value in document.items():
        if table not in _SCHEMA:
            raise ConfigError(f"{path}: unknown table [{table}] (known: {', '.join(_SCHEMA)})")
        if (table in _ARRAYS) != isinstance(value, list):
            form = f"[[{table}]] (an array of tables)" if table in _ARRAYS else f"[{table}] (one table)"
            raise ConfigError(f"{path}: {table} must be written as {form}")

    def one(table: str) -> dict[str, Any]:
        return _checked(path, text, table, None, document.get(table, {}))

    def many(table: str) -> list[dict[str, Any]]:
        return [_checked(path, text, table, index, item) for index, item in enumerate(document.get(table, []))]

    if "snapshot" not in document:
        raise ConfigError(f"{path}: [snapshot] name is required")
    corpus = []
    for index, values in enumerate(many("corpus")):
        if not any(key in values for key in ("paths", "urls", "cc")):
            raise _error(path, text, "corpus", index, None, "needs paths, urls or cc")
        _choice(path, text, "corpus", index, "subset", values.get("subset", "warc"), CC_SUBSETS)
        corpus.append(
            CorpusSource(
                paths=tuple(values.get("paths", ())),
                urls=tuple(values.get("urls", ())),
                cc=values.get("cc"),
                subset=values.get("subset", "warc"),
                sample=values.get("sample"),
                seed=values.get("seed", 0),
                base_url=values.get("base_url"),
                allow_http=values.get("allow_http", False),
                allow_network=tuple(values.get("allow_network", ())),
                s3_endpoint_url=values.get("s3_endpoint_url"),
            )
        )
    lists = []
    for index, values in enumerate(many("lists")):
        _choice(path, text, "lists", index, "kind", values["kind"], LIST_KINDS)
        if values["kind"] == "hash" and "algo" not in values:
            raise _error(path, text, "lists", index, None, "a hash list needs algo (md5, sha1, sha256, pdq)")
        lists.append(ListSource(**values))
    crawl_values = one("crawl")
    crawl = CrawlSettings(
        **{key: tuple(value) if isinstance(value, list) else value for key, value in crawl_values.items()}
    )
    report = one("report")
    engine = one("engine")
    _choice(path, text, "engine", None, "name", engine.get("name", "local"), ENGINE_NAMES)
    return RunConfig(
        path=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(),
        db=one("store").get("db"),
        snapshot=one("snapshot")["name"],
        corpus=tuple(corpus),
        lists=tuple(lists),
        match=MatchSettings(**one("match")),
        crawl=crawl,
        exports=tuple(ExportTarget(**values) for values in many("exports")),
        bundles=tuple(BundleTarget(**values) for values in many("bundles")),
        report=HtmlReport(**report),
        workers=one("ingest").get("workers"),
        engine=EngineSettings(**engine),
    )
