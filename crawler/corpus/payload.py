"""HTTP payload decoding: de-chunking, Content-Encoding (gzip, deflate, br) and the charset of HTML text."""

from __future__ import annotations

import codecs
import functools
import re
import zlib

import brotli
from charset_normalizer import from_bytes

# Bound on a decoded body: link extraction never needs more, and it caps decompression bombs.
MAX_DECODED_BYTES = 32 * 1024 * 1024


def dechunk(body: bytes) -> bytes:
    """Undo HTTP/1.1 chunked transfer coding; a body that is not validly chunked is returned unchanged."""
    out = []
    pos = 0
    size_limit = len(body)
    while True:
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            return body if not out else b"".join(out)
        size_text = body[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return body if not out else b"".join(out)
        if size == 0:
            return b"".join(out)
        start = line_end + 2
        if start + size > size_limit:
            # truncated final chunk: keep what is there
            out.append(body[start:])
            return b"".join(out)
        out.append(body[start : start + size])
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2


# Decoded bytes produced at a time: a bomb (1 GiB of zeros is ~1 KB of brotli) is never inflated whole.
DECODE_CHUNK_BYTES = 1024 * 1024


def _inflate(body: bytes, wbits: int, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a zlib/gzip/raw deflate stream, and whether it held more."""
    decompressor = zlib.decompressobj(wbits)
    decoded = decompressor.decompress(body, limit)
    if len(decoded) < limit or decompressor.eof:
        return decoded, False
    try:
        return decoded, bool(decompressor.decompress(decompressor.unconsumed_tail, 1))
    except zlib.error:  # corrupt past the cap: there was more, whatever it was
        return decoded, True


def _unbrotli(body: bytes, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a brotli stream, decoded DECODE_CHUNK_BYTES at a time, and whether it held more; a
    stream cut short gives what decodes of it."""
    decompressor = brotli.Decompressor()
    pieces = [decompressor.process(body, output_buffer_limit=DECODE_CHUNK_BYTES)]
    produced = len(pieces[0])
    while produced <= limit and not decompressor.is_finished():
        piece = decompressor.process(b"", output_buffer_limit=DECODE_CHUNK_BYTES)
        if not piece and decompressor.can_accept_more_data():
            break  # the input is used up: a stream cut short
        pieces.append(piece)
        produced += len(piece)
    if produced <= limit:
        return b"".join(pieces), False
    pieces[-1] = pieces[-1][: len(pieces[-1]) - (produced - limit)]
    return b"".join(pieces), True


def decode_content(body: bytes, content_encoding: str | None, notes: list[str] | None = None) -> bytes:
    """Undo Content-Encoding codings in order; a coding that fails to decode leaves the body as it was.

    Servers often label plain bodies as gzip, and crawlers (Common Crawl) store decoded bodies under the
    original header, so a failed decode is the expected case, not an error. Every coding is decoded in
    bounded pieces and stops at MAX_DECODED_BYTES; a body cut there leaves a line in `notes`.
    """
    if not content_encoding:
        return body
    cut = False
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",") if c.strip()]):
        try:
            if coding in ("gzip", "x-gzip"):
                body, coding_cut = _inflate(body, 16 + zlib.MAX_WBITS, MAX_DECODED_BYTES)
            elif coding == "deflate":
                try:
                    body, coding_cut = _inflate(body, zlib.MAX_WBITS, MAX_DECODED_BYTES)
                except zlib.error:
                    body, coding_cut = _inflate(body, -zlib.MAX_WBITS, MAX_DECODED_BYTES)
            elif coding == "br":
                body, coding_cut = _unbrotli(body, MAX_DECODED_BYTES)
            else:  # identity and unknown codings: nothing to undo
                continue
        except (zlib.error, brotli.error):
            break
        cut = cut or coding_cut
    if cut and notes is not None:
        notes.append(f"decoded body cut at the cap of {MAX_DECODED_BYTES:,} bytes: what follows is not read")
    return body


def decode_http_body(
    body: bytes, transfer_encoding: str | None, content_encoding: str | None, notes: list[str] | None = None
) -> bytes:
    """The entity body of an archived HTTP response, as the browser would have seen it (see decode_content)."""
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        body = dechunk(body)
    return decode_content(body, content_encoding, notes)


# WHATWG Encoding Standard labels whose Python codec differs from the label's Python meaning.
_WHATWG_LABELS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)""", re.IGNORECASE)


# No encoding label is longer (the longest WHATWG and Python names are under 30 characters); a longer one, which
# a header can make megabytes long, names nothing and is not kept in the cache.
MAX_LABEL_CHARS = 64


def codec_for_label(label: str | None) -> str | None:
    """The Python codec for a charset label from a header or <meta>, or None if it names no known encoding."""
    if not label:
        return None
    label = label.strip().strip("\"'")
    return _codec_of_label(label.lower()) if len(label) <= MAX_LABEL_CHARS else None


@functools.lru_cache(maxsize=1024)  # a corpus uses a few labels, looked up once per page
def _codec_of_label(label: str) -> str | None:
    candidates = [_WHATWG_LABELS.get(label, label)]
    # vendor variants such as "Big5_Solaris" or "utf-8-sig": try the base name
    base = re.split(r"[_-](?:solaris|sig|hkscs)$", label)[0]
    if base != label:
        candidates.append(_WHATWG_LABELS.get(base, base))
    for candidate in candidates:
        try:
            name = codecs.lookup(candidate).name
        except LookupError:
            continue
        # UTF-16 declared in a byte-oriented header or <meta> means UTF-8 (WHATWG)
        return "utf-8" if name.startswith("utf-16") else name
    return None


def decode_html(body: bytes, http_charset: str | None) -> str:
    """HTML bytes to text: BOM, then the HTTP charset, then <meta> in the first 2 KiB, then UTF-8 if it
    decodes cleanly, then statistical detection, then windows-1252 (the WHATWG default)."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace")
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace")
    codec = codec_for_label(http_charset)
    if codec is None:
        found = _META_CHARSET.search(body, 0, 2048)
        if found:
            codec = codec_for_label(found.group(1).decode("ascii"))
    if codec is not None:
        return body.decode(codec, "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(body[:65536]).best()
    return body.decode(best.encoding if best else "cp1252", "replace")
