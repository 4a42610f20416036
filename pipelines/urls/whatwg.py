"""Absolute-URL resolution and WHATWG normalization of corpus links."""

from __future__ import annotations

import re
import urllib.parse

import ada_url

# Schemes a blocklist can say something about; every other link (javascript:, mailto:, data:, tel:, ...)
# is skipped at extraction time.
FETCHABLE_SCHEMES = ("http:", "https:", "ftp:")


def _href(raw: str, base: str | None) -> str | None:
    """The WHATWG parser's serialization of `raw` joined to `base` (ada-url's public API), or None where no URL
    can be built."""
    try:
        return ada_url.join_url(base, raw) if base else ada_url.normalize_url(raw)
    except ValueError:
        return None


def _parser_text(url: str) -> str:
    """`url` as the parser takes it. A page URL may hold lone surrogates (a header's undecodable bytes): those
    are given as the percent-encoded UTF-8 bytes they stand for, which is what the parser makes of any
    non-ASCII byte in a path or query, and a host holding one is invalid either way."""
    try:
        url.encode()
    except UnicodeEncodeError:
        return urllib.parse.quote(url.encode("utf-8", "surrogatepass"), safe=bytes(range(0x80)))
    return url


def _fetchable_without_fragment(href: str | None) -> str | None:
    if href is None or not href.startswith(FETCHABLE_SCHEMES):
        return None
    hash_at = href.find("#")
    return href if hash_at < 0 else href[:hash_at]


def resolve(base_url: str | None, raw_url: str) -> str | None:
    """The absolute, WHATWG-normalized form of `raw_url` seen on a page at `base_url`, without fragment.

    Returns None when no URL can be built or its scheme is not fetchable (http, https, ftp).
    """
    return Resolver(base_url)(raw_url)


# An absolute http(s) URL that the WHATWG parser would serialize unchanged: lowercase ASCII host of
# letter-initial labels (so no IPv4 forms, no punycode to validate), no port, no userinfo, a path without
# dot segments, backslashes or characters the parser would percent-encode, an optional query likewise.
# Anything else goes through the parser; tests compare this shortcut with the parser on generated URLs.
ALREADY_NORMAL = re.compile(
    r"https?://(?:(?!xn--)[a-z0-9-]+\.)+(?!xn--)[a-z][a-z0-9-]*"
    r"/(?![^?#]*/\.\.?(?:[/?#]|$))(?!\.\.?(?:[/?#]|$))[A-Za-z0-9\-._~!$&()*+,;=:@/]*"
    r"(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?(?:#.*)?",
    re.DOTALL,
)


_BASE_PARTS = re.compile(r"(https?)://[^/?#]*")


class Resolver:
    """`resolve` for many links against one base URL, with the base encoded once and results memoized."""

    __slots__ = ("_base", "_memo", "_scheme", "_origin", "_directory")

    def __init__(self, base_url: str | None) -> None:
        self._base = _parser_text(base_url) if base_url else None
        self._memo: dict[str, str | None] = {}
        # for a base the parser would leave unchanged, root-relative, protocol-relative and plain relative
        # links can be joined by concatenation (the result is then checked like an absolute link)
        self._scheme = self._origin = self._directory = None
        if base_url and ALREADY_NORMAL.fullmatch(base_url):
            parts = _BASE_PARTS.match(base_url)
            self._scheme, self._origin = parts.group(1), parts.group(0)
            path = base_url[parts.end() :].split("#", 1)[0].split("?", 1)[0]
            self._directory = self._origin + path[: path.rfind("/") + 1]

    def _joined(self, raw_url: str) -> str | None:
        """The joined URL when plain concatenation gives what the parser would, else None."""
        if self._origin is None or not raw_url:
            return None
        first = raw_url[0]
        if first == "/":
            candidate = f"{self._scheme}:{raw_url}" if raw_url.startswith("//") else self._origin + raw_url
        elif first in "?#" or ":" in raw_url:
            return None
        else:
            # leading "./" and "../" as the parser takes them: "../" drops the directory's last segment (not the root)
            directory = self._directory
            while True:
                if raw_url.startswith("./"):
                    raw_url = raw_url[2:]
                elif raw_url == ".":
                    raw_url = ""
                elif raw_url == ".." or raw_url.startswith("../"):
                    raw_url = raw_url[3:]
                    if len(directory) > len(self._origin) + 1:
                        directory = directory[: directory.rindex("/", 0, len(directory) - 1) + 1]
                else:
                    break
            candidate = directory + raw_url
        return candidate if ALREADY_NORMAL.fullmatch(candidate) else None

    def __call__(self, raw_url: str) -> str | None:
        memo = self._memo
        if raw_url in memo:
            return memo[raw_url]
        normal = raw_url if ALREADY_NORMAL.fullmatch(raw_url) else self._joined(raw_url)
        if normal is not None:
            # the common link that WHATWG parsing would return unchanged (once joined): skip the parser
            hash_at = normal.find("#")
            resolved = normal if hash_at < 0 else normal[:hash_at]
            memo[raw_url] = resolved
            return resolved
        # a link holding lone surrogates is no URL: the parser's API refuses it (None)
        resolved = _fetchable_without_fragment(_href(raw_url, self._base))
        memo[raw_url] = resolved
        return resolved


def normalize(url: str) -> str | None:
    """WHATWG-normalized absolute `url` without fragment, or None (see `resolve`)."""
    return resolve(None, url)


class InvalidURL(ValueError):
    """A URL no request can be made for: the WHATWG parser refuses it (a bad port, percent-encoded bytes in the
    host, ...), or it is not http(s). The crawl records it as the link's outcome (`error_class` `bad-url`)."""


def request_url(url: str) -> str:
    """The URL a browser requests for `url`: WHATWG-normalized, without fragment and without userinfo
    (credentials written into a link are never sent, and `user:pass@` is no part of the host). InvalidURL when
    there is no such URL."""
    try:
        parsed = ada_url.URL(url)
    except (ValueError, UnicodeEncodeError):
        raise InvalidURL(f"not a URL a browser could request: {url[:200]!r}") from None
    if parsed.protocol not in ("http:", "https:") or not parsed.hostname:
        raise InvalidURL(f"not an http(s) URL with a host: {url[:200]!r}")
    if parsed.username or parsed.password:
        parsed.username = ""
        parsed.password = ""
    parsed.hash = ""
    return parsed.href


def header_url_text(raw: bytes) -> str:
    """The text of a URL in an HTTP header (`Location`, `Refresh`), as browsers read it: UTF-8; where the bytes
    are not UTF-8, each byte above 0x7F percent-encoded (never Latin-1: `ｅｖｉｌ.test` in UTF-8 read as Latin-1
    is another host)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)
