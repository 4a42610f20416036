"""What an ingest's source specs name, expanded before anything is read: local paths and globs, https:// URLs,
s3:// objects and prefixes, @FILE listings, and Common Crawl subsets (cc:CRAWL/SUBSET) sampled with a fixed
seed."""

from __future__ import annotations

import glob
import gzip
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crawler.corpus import RemoteFile, RemoteOptions, RemoteReadError, check_url, is_url, list_s3_prefix

DEFAULT_CC_BASE_URL = "https://data.commoncrawl.org"
CC_SUBSETS = ("warc", "wat", "wet")
# a paths listing is small (Common Crawl's are a few MB inflated); a larger one is refused, not read into memory
MAX_LISTING_BYTES = 64 * 1024 * 1024


class SourceSpecError(ValueError):
    """A source spec that cannot be expanded: the message names it and why."""


@dataclass(frozen=True)
class RemoteSource:
    """A corpus file read over the network, by its URL."""

    url: str

    def __str__(self) -> str:
        return self.url


Source = Path | RemoteSource


def expand_sources(
    specs: Iterable[str | Path | RemoteSource],
    *,
    sample: int | None = None,
    seed: int = 0,
    cc_base_url: str = DEFAULT_CC_BASE_URL,
    allow_http: bool = False,
    allow_network: Iterable[str] = (),
    options: RemoteOptions | None = None,
) -> list[Source]:
    """Every source the specs name, in the order given (duplicates dropped): a local path (a file or a folder,
    globs expanded) or a RemoteSource whose URL passed the address and scheme checks. `sample` and `seed` apply
    to cc: specs (the same files every run, sorted). `options`, when given, overrides allow_http and
    allow_network. SourceSpecError names a spec that cannot be expanded or a URL refused (scheme, address);
    RemoteReadError a cc: listing that could not be fetched."""
    options = options or RemoteOptions(allow_http=allow_http, allow_network=tuple(allow_network))
    found: list[Source] = []
    for spec in specs:
        if isinstance(spec, RemoteSource):
            found.append(_checked(spec.url, options))
        elif isinstance(spec, Path):
            found.append(spec)
        elif spec.startswith("@"):
            found += _listed(Path(spec[1:]), options)
        elif spec.startswith("cc:"):
            found += _common_crawl(spec, sample, seed, cc_base_url, options)
        else:
            found += _one(spec, options, relative_to=None)
    return list(dict.fromkeys(found))


def _checked(url: str, options: RemoteOptions) -> RemoteSource:
    try:
        check_url(url, options)  # refused here, before the store opens, rather than in a reader
    except RemoteReadError as error:
        raise SourceSpecError(str(error)) from None
    return RemoteSource(url)


def _one(spec: str, options: RemoteOptions, relative_to: Path | None) -> list[Source]:
    if spec.startswith("s3://") and spec.endswith("/"):
        return _s3_prefix(spec, options)
    if is_url(spec):
        return [_checked(spec, options)]
    path = Path(spec) if relative_to is None or Path(spec).is_absolute() else relative_to / spec
    if glob.has_magic(str(path)) and not path.exists():
        matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            raise SourceSpecError(f"{spec}: no file matches the pattern")
        return [Path(match) for match in matches]
    return [path]  # a missing path is reported by the ingest, as before


def _s3_prefix(spec: str, options: RemoteOptions) -> list[Source]:
    """s3://BUCKET/PREFIX/: every object under the prefix, sorted by key."""
    _checked(spec, options)  # the endpoint passes the address policy before the listing is asked for
    try:
        urls = list_s3_prefix(spec, options)
    except RemoteReadError as error:
        raise SourceSpecError(str(error)) from None
    if not urls:
        raise SourceSpecError(f"{spec}: no object under the prefix")
    return [RemoteSource(url) for url in urls]


def _listed(listing: Path, options: RemoteOptions) -> list[Source]:
    """@FILE: one URL or path a line (relative paths from the listing's folder), # comments, blank lines."""
    try:
        lines = listing.read_text().splitlines()
    except OSError as error:
        raise SourceSpecError(f"@{listing}: cannot read the listing: {error.strerror or error}") from None
    found: list[Source] = []
    for line in lines:
        entry = line.split("#", 1)[0].strip() if not is_url(line.strip()) else line.strip()
        if entry:
            found += _one(entry, options, relative_to=listing.parent)
    return found


def _common_crawl(spec: str, sample: int | None, seed: int, base_url: str, options: RemoteOptions) -> list[Source]:
    crawl, slash, subset = spec.removeprefix("cc:").partition("/")
    if not crawl or not slash or subset not in CC_SUBSETS or "/" in crawl:
        raise SourceSpecError(f"{spec}: expected cc:CRAWL/SUBSET with SUBSET one of {', '.join(CC_SUBSETS)}")
    base = base_url.rstrip("/")
    listing_url = _checked(f"{base}/crawl-data/{crawl}/{subset}.paths.gz", options).url
    paths = [line.strip() for line in _fetch_listing(listing_url, options).splitlines() if line.strip()]
    if sample is not None:
        if sample < 1:
            raise SourceSpecError(f"--sample {sample}: give a positive number of files")
        paths = sorted(random.Random(seed).sample(paths, min(sample, len(paths))))
    return [_checked(f"{base}/{path.lstrip('/')}", options) for path in paths]


def _fetch_listing(url: str, options: RemoteOptions) -> str:
    with RemoteFile(url, options) as stream:
        if stream.length > MAX_LISTING_BYTES:
            raise SourceSpecError(f"{url}: {stream.length:,} bytes is over the listing limit of {MAX_LISTING_BYTES:,}")
        data = stream.read()
    try:
        return gzip.decompress(data).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise SourceSpecError(f"{url}: not a gzipped list of paths ({error})") from None
