"""Safe Browsing canonical URLs and lookup expressions, with hosts parsed the way browsers (WHATWG) parse them.

A URL is canonicalized as Google Safe Browsing's "URLs and Hashing" guide describes (fragment dropped,
percent-unescaped until stable and re-escaped, dots and slashes collapsed, dot segments resolved), except
that the host goes through the WHATWG host parser (ada-url) wherever it is a valid WHATWG host, so IPv4 in
any notation, IDN, percent-encoded hosts and IPv6 come out as a browser would connect to them. Hosts a
browser refuses (spaces, control bytes, `#`) keep Safe Browsing's byte-level rules so they can still be
matched.

Lookup expressions are `host/path` strings: every host suffix (all parent domains, not only the last five
labels Safe Browsing stops at) times every path prefix at a `/` boundary (not only the first four), plus the
exact path with and without its query. A list entry is turned into the same kind of expression, so one join
of expressions matches domain, URL and hashed entries alike.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import ada_url

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
_SCHEME = re.compile(rb"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# WHATWG forbidden host code points (and '%'): a host holding one after unescaping is not a browser's host
_NOT_WHATWG_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_PLAIN_HOST = re.compile(r"^(?:[a-z0-9_-]+\.)*[a-z_-][a-z0-9_-]*$")  # nothing for the WHATWG parser to change
_IPV4_DOTTED = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_REMOVED = b"\t\r\n"
_DOT_RUNS = re.compile(rb"\.{2,}")
# Safe Browsing re-escapes these after unescaping: control characters, space, DEL and above, '#' and '%'
_MUST_ESCAPE = frozenset(range(0x21)) | frozenset(range(0x7F, 0x100)) | {ord("#"), ord("%")}
_ESCAPED = [f"%{byte:02X}" if byte in _MUST_ESCAPE else chr(byte) for byte in range(256)]


def is_ip_host(host: str) -> bool:
    """Whether a canonical host is an IP address: dotted-decimal IPv4 or bracketed IPv6."""
    return host.startswith("[") or bool(_IPV4_DOTTED.match(host))


@dataclass(frozen=True, slots=True)
class CanonicalURL:
    scheme: str
    host: str  # lowercase; punycode for IDN; dotted-decimal IPv4; [compressed] IPv6
    port: int | None  # None for the scheme's default port
    path: str  # starts with '/', escaped
    query: str | None  # without '?', escaped; '' when the URL ends in a bare '?'

    @property
    def is_ip(self) -> bool:
        return is_ip_host(self.host)

    @property
    def url(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        query = f"?{self.query}" if self.query is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.path}{query}"

    @property
    def key(self) -> str:
        """The exact lookup expression: host, path and query, without scheme and port (`a.b/c?d`)."""
        return f"{self.host}{self.path}?{self.query}" if self.query else f"{self.host}{self.path}"


def _unescape_fully(data: bytes) -> bytes:
    while b"%" in data:
        unescaped = unquote_to_bytes(data)
        if unescaped == data:
            break
        data = unescaped
    return data


def _escape(data: bytes) -> str:
    return "".join([_ESCAPED[byte] for byte in data])


def _canonical_path(data: bytes) -> bytes:
    """Resolve '.' and '..' segments and collapse runs of '/', as Safe Browsing does."""
    segments: list[bytes] = []
    parts = data.split(b"/")
    for position, segment in enumerate(parts):
        last = position == len(parts) - 1
        if segment == b".":
            if last:
                segments.append(b"")
            continue
        if segment == b"..":
            if segments:
                segments.pop()
            if last:
                segments.append(b"")
            continue
        if segment or last:
            segments.append(segment)
    return b"/" + b"/".join(segments)


def _sb_ipv4(host: str) -> str | None:
    """Safe Browsing's lenient IPv4 parse (inet_aton forms: decimal, octal, hex, fewer than four parts)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                value = int(part[2:] or "0", 16)
            elif len(part) > 1 and part.startswith("0"):
                value = int(part, 8)
            else:
                value = int(part, 10)
        except ValueError:
            return None
        values.append(value)
    number = 0
    for value in values[:-1]:
        number = number * 256 + (value & 0xFF)
    number = number * (256 ** (5 - len(values))) + values[-1] % (256 ** (5 - len(values)))
    number &= 0xFFFFFFFF
    return ".".join(str((number >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _whatwg_host(text: str) -> str | None:
    try:
        host = ada_url.URL(f"http://{text}/").hostname
    except ValueError:
        return None
    return host.rstrip(".") or None


def _labels_to_ascii(text: str) -> str | None:
    """IDNA per label, for a Unicode host the WHATWG parser refuses as a whole (one label already in a
    malformed `xn--` form, say): its other labels still get their punycode form."""
    labels = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        converted = _whatwg_host(label)
        if converted is None or "." in converted:
            return None
        labels.append(converted)
    return ".".join(labels)


@functools.lru_cache(maxsize=1 << 16)
def canonical_host(raw: bytes) -> str | None:
    """The host as a browser connects to it (WHATWG), after Safe Browsing's unescaping and dot cleanup.

    None when nothing is left of it.
    """
    data = _unescape_fully(raw)
    data = _DOT_RUNS.sub(b".", data.strip(b"."))
    if not data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        lowered = text.lower()
        if _PLAIN_HOST.match(lowered):
            return lowered
        if text.startswith("[") and text.endswith("]"):
            return _whatwg_host(text)
        if not _NOT_WHATWG_HOST.search(text):
            host = _whatwg_host(text)
            if host is None and not text.isascii():
                host = _labels_to_ascii(text)
            if host is not None:
                return host
    # a host browsers refuse: Safe Browsing's rules, byte for byte
    lowered_bytes = data.lower()
    ipv4 = _sb_ipv4(lowered_bytes.decode("latin-1"))
    return ipv4 if ipv4 is not None else _escape(lowered_bytes)


def _whatwg_href(text: str) -> str | None:
    """The URL as a browser would request it (no fragment), when the WHATWG parser accepts it.

    Safe Browsing's steps then run on this form, so a path like `/x//../0` means what the browser fetches
    (`/x/0`), whichever way it reached linksweep (raw in a list, or normalized at ingest).
    """
    stripped = text.strip(" \t\r\n\f\v\x00")
    if stripped.startswith("//"):
        candidate = f"http:{stripped}"
    elif _SCHEME.match(stripped.encode("utf-8", "surrogatepass")):
        candidate = stripped
    else:
        candidate = f"http://{stripped}"
    try:
        href = ada_url.URL(candidate).href
    except (ValueError, UnicodeEncodeError):
        return None
    hash_at = href.find("#")
    return href if hash_at < 0 else href[:hash_at]


def canonicalize(url: str | bytes) -> CanonicalURL | None:
    """The canonical form of a URL as written in a corpus or a list (scheme optional, `http` assumed).

    Bytes are taken as they are (Safe Browsing canonicalizes bytes); text is encoded as UTF-8.
    None when it has no host or an invalid port.
    """
    if isinstance(url, str):
        whatwg = _whatwg_href(url)
        data = (whatwg if whatwg is not None else url).encode("utf-8", "surrogatepass")
    else:
        data = url
    data = data.strip(b" \t\r\n\f\v\x00").translate(None, _REMOVED)
    hash_at = data.find(b"#")
    if hash_at >= 0:
        data = data[:hash_at]
    found = _SCHEME.match(data)
    if found:
        scheme = found.group(1).decode("ascii").lower()
        rest = data[found.end() :]
    elif data.startswith(b"//"):
        scheme, rest = "http", data[2:]
    else:
        scheme, rest = "http", data
    if scheme in DEFAULT_PORTS:  # special schemes: a browser reads '\' as '/'
        rest = rest.replace(b"\\", b"/")
    authority_end = len(rest)
    for delimiter in (b"/", b"?"):
        at = rest.find(delimiter)
        if 0 <= at < authority_end:
            authority_end = at
    authority, rest = rest[:authority_end], rest[authority_end:]
    authority = authority.rpartition(b"@")[2]  # userinfo is never part of the host
    if authority.startswith(b"["):
        close = authority.find(b"]")
        host_bytes, port_bytes = (authority[: close + 1], authority[close + 2 :]) if close > 0 else (authority, b"")
    else:
        host_bytes, colon, port_bytes = authority.rpartition(b":")
        if not colon:
            host_bytes, port_bytes = authority, b""
    port: int | None = None
    if port_bytes:
        if not port_bytes.isdigit() or int(port_bytes) > 65535:
            return None
        port = int(port_bytes)
        if port == DEFAULT_PORTS.get(scheme):
            port = None
    host = canonical_host(host_bytes)
    if host is None:
        return None
    path_bytes, question, query_bytes = rest.partition(b"?")
    path = _escape(_canonical_path(_unescape_fully(path_bytes)))
    query = _escape(_unescape_fully(query_bytes)) if question else None
    return CanonicalURL(scheme, host, port, path, query)


def host_suffixes(host: str, *, max_labels: int | None = None) -> list[str]:
    """The host and each of its parent domains (`a.b.test` -> a.b.test, b.test, test); an IP is only itself.

    `max_labels=5` gives Safe Browsing's list (the host, then suffixes of at most five labels, without the
    top-level label); the default checks every parent domain.
    """
    if is_ip_host(host):
        return [host]
    labels = host.split(".")
    suffixes = [host]
    if max_labels is None:
        start = 1
        stop = len(labels)
    else:
        start = max(1, len(labels) - max_labels)
        stop = len(labels) - 1  # Safe Browsing skips the top-level domain on its own
    suffixes.extend(".".join(labels[index:]) for index in range(start, stop))
    return suffixes


def path_prefixes(path: str, query: str | None, *, max_prefixes: int | None = None) -> list[str]:
    """The exact path with its query, the exact path, and every prefix ending in '/' (`/`, `/a/`, `/a/b/`).

    `max_prefixes=4` gives Safe Browsing's list; the default covers every path-segment boundary.
    """
    found = [f"{path}?{query}"] if query else []
    found.append(path)
    slash = 0
    count = 0
    while slash >= 0 and (max_prefixes is None or count < max_prefixes):
        prefix = path[: slash + 1]
        if prefix != path:
            found.append(prefix)
        count += 1
        slash = path.find("/", slash + 1)
    return found


def url_expressions(url: CanonicalURL, *, max_labels: int | None = None, max_prefixes: int | None = None) -> list[str]:
    """Every `host/path` expression a list entry can name for this URL, most specific first per host."""
    paths = path_prefixes(url.path, url.query, max_prefixes=max_prefixes)
    return [host + path for host in host_suffixes(url.host, max_labels=max_labels) for path in paths]


def entry_expressions(url: CanonicalURL) -> list[str]:
    """The expressions a URL list entry stands for: the URL itself and, for a path without a trailing '/',
    everything beneath it (`bad.test/dir` covers `/dir`, `/dir?x`, `/dir/` and `/dir/...`, not `/directory`)."""
    key = url.key
    if url.query or url.path.endswith("/"):
        return [key]
    return [key, f"{key}/"]
