"""URLs: WHATWG normalization, Safe Browsing canonicalization, public suffixes and the address policy."""

from pipelines.urls.address_policy import NetworkPolicy, special_use_name
from pipelines.urls.canonical import (
    CanonicalURL,
    canonical_host,
    canonicalize,
    entry_expressions,
    host_suffixes,
    is_ip_host,
    path_prefixes,
    url_expressions,
)
from pipelines.urls.public_suffix import (
    SuffixList,
    bundled_suffix_list,
    is_icann_public_suffix,
    registrable_domains,
    registrable_domains_array,
    use_suffix_list,
)
from pipelines.urls.whatwg import (
    ALREADY_NORMAL,
    InvalidURL,
    Resolver,
    header_url_text,
    normalize,
    request_url,
    resolve,
)

__all__ = [
    "SuffixList",
    "ALREADY_NORMAL",
    "CanonicalURL",
    "InvalidURL",
    "NetworkPolicy",
    "Resolver",
    "bundled_suffix_list",
    "canonical_host",
    "canonicalize",
    "entry_expressions",
    "header_url_text",
    "host_suffixes",
    "is_icann_public_suffix",
    "is_ip_host",
    "normalize",
    "path_prefixes",
    "registrable_domains",
    "registrable_domains_array",
    "request_url",
    "resolve",
    "special_use_name",
    "url_expressions",
    "use_suffix_list",
]
