"""Registrable domains from the Public Suffix List, offline: the ICANN one and the one the private section gives.

`www.b.pages.example.org`, under a private-section suffix `pages.example.org` (a hosting service's), has the ICANN
registrable domain `example.org` (what a registrar sold) and the private one `b.pages.example.org` (the site an
operator controls under the shared hosting suffix); analysts want both. The list is
the snapshot bundled with tldextract and is never fetched at run time. Hosts under a TLD the list does not
know (`.test`, `.example`) follow the list's default rule `*`: the last two labels.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple
from urllib.parse import SplitResult

import tldextract

from pipelines.canonical import is_ip_host


class RegistrableDomains(NamedTuple):
    icann: str | None  # under the ICANN section's public suffix (example.org for x.b.pages.example.org)
    private: str | None  # under the longest suffix of either section (b.pages.example.org for x.b.pages.example.org)


def offline_extractor(suffix_list: Path | None = None) -> tldextract.TLDExtract:
    """A tldextract extractor that never touches the network: the bundled snapshot, or a local list file."""
    urls = (suffix_list.resolve().as_uri(),) if suffix_list is not None else ()
    return tldextract.TLDExtract(
        suffix_list_urls=urls,
        cache_dir=None,
        fallback_to_snapshot=suffix_list is None,
        include_psl_private_domains=True,
    )


_BUNDLED = offline_extractor()


def registrable_domains_with(extractor: tldextract.TLDExtract, host: str) -> RegistrableDomains:
    """The registrable domains of a lowercase host name with the given extractor; (None, None) for IPs,
    public suffixes themselves and empty or malformed names (leading dot, empty label)."""
    if not host or host.startswith(".") or is_ip_host(host) or ".." in host:
        return RegistrableDomains(None, None)
    host = host.rstrip(".")
    if "." not in host or host.rpartition(".")[2].isdigit():  # no TLD is all digits: not a domain name
        return RegistrableDomains(None, None)
    # a bare host: extract_urllib skips the URL parsing extract_str does first (a quarter of its time)
    result = extractor.extract_urllib(SplitResult("", host, "", "", ""))
    if not result.suffix:
        # a TLD the list does not know: the default rule "*" makes the last label the public suffix
        default = ".".join(host.rsplit(".", 2)[-2:])
        return RegistrableDomains(default, default)
    # the fields, not the properties: each property access re-derives (and punycode-decodes) the parts
    private = f"{result.domain}.{result.suffix}" if result.domain else None
    if not result.is_private:
        return RegistrableDomains(private, private)
    return RegistrableDomains(result.top_domain_under_registry_suffix or None, private)


@functools.lru_cache(maxsize=1 << 18)
def registrable_domains(host: str) -> RegistrableDomains:
    """ICANN and private-section registrable domains of `host` from the bundled Public Suffix List."""
    return registrable_domains_with(_BUNDLED, host)


def registered_domain(host: str) -> str | None:
    """The ICANN registrable domain of `host` (`www.example.org` -> `example.org`); None for IPs and suffixes."""
    return registrable_domains(host).icann
