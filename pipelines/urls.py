"""Absolute-URL resolution and WHATWG normalization of corpus links, host and registered-domain lookup."""

from __future__ import annotations

import functools

import ada_url
import tldextract

# Schemes a blocklist can say something about; every other link (javascript:, mailto:, data:, tel:, ...)
# is skipped at extraction time.
FETCHABLE_SCHEMES = ("http:", "https:", "ftp:")


def resolve(base_url: str | None, raw_url: str) -> str | None:
    """The absolute, WHATWG-normalized form of `raw_url` seen on a page at `base_url`, without fragment.

    Returns None when no URL can be built or its scheme is not fetchable (http, https, ftp).
    """
    try:
        href = ada_url.join_url(base_url, raw_url) if base_url else ada_url.normalize_url(raw_url)
    except ValueError:
        return None
    if not href.startswith(FETCHABLE_SCHEMES):
        return None
    hash_at = href.find("#")
    return href if hash_at < 0 else href[:hash_at]


def normalize(url: str) -> str | None:
    """WHATWG-normalized absolute `url` without fragment, or None (see `resolve`)."""
    return resolve(None, url)


def host_of(normalized_url: str) -> str | None:
    """The host of a URL produced by `resolve`/`normalize` (no userinfo, no port; IPv6 keeps brackets)."""
    start = normalized_url.find("//")
    if start < 0:
        return None
    start += 2
    end = normalized_url.find("/", start)
    authority = normalized_url[start:] if end < 0 else normalized_url[start:end]
    authority = authority.rpartition("@")[2]
    if authority.startswith("["):
        return authority[: authority.find("]") + 1]
    return authority.partition(":")[0] or None


# Offline only: the Public Suffix List snapshot bundled with tldextract, never fetched at run time.
_icann_extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@functools.lru_cache(maxsize=1 << 18)
def registered_domain(host: str) -> str | None:
    """The ICANN registrable domain of `host` (`www.example.org` -> `example.org`), None for IPs and suffixes."""
    if not host or host.startswith("["):
        return None
    top = _icann_extractor.extract_str(host).top_domain_under_public_suffix
    return top or None
