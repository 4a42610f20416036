"""Turn archive records into documents with their outgoing links (HTML pages, HTTP headers, WET text, WAT JSON)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from crawler.corpus.archive import ArchiveRecord
from crawler.corpus.html_links import (
    MAX_LINKS_PER_PAGE,
    html_links,
    is_skipped,
    note_dropped_links,
    refresh_url,
    text_urls,
)
from crawler.corpus.payload import decode_html, decode_http_body
from pipelines.urls import normalize, resolve

Link = tuple[str, str, str | None]  # kind, raw_url, resolved_url

HTML_TYPES = ("text/html", "application/xhtml+xml")
# A target holds no "<" (URLs have none): with it, every "<" of a run of them scanned to the run's end
_LINK_HEADER_TARGET = re.compile(r"<([^<>]*+)>")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)


@dataclass(slots=True)
class Document:
    record_type: str
    record_id: str | None
    target_uri: str | None
    url: str | None
    offset: int | None
    length: int | None
    http_status: int | None
    content_type: str | None
    payload_digest: str | None
    links: list[Link] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how links of a hostile page were taken (html_links)


def mime_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def charset_of(content_type: str | None) -> str | None:
    found = _CHARSET.search(content_type or "")
    return found.group(1) if found else None


def looks_like_html(mime: str | None, body: bytes) -> bool:
    if mime in HTML_TYPES:
        return True
    if mime not in (None, "unk", "application/octet-stream", "text/plain"):
        return False
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _links_resolved(kind: str, raws: Iterable[str | None], base_url: str | None) -> Iterator[Link]:
    for raw in raws:
        raw = raw.strip() if raw else ""
        if raw and not is_skipped(raw):
            yield kind, raw, resolve(base_url, raw)


def http_header_links(record: ArchiveRecord, document_url: str | None) -> Iterator[Link]:
    """Location, Link and Refresh headers of an archived HTTP response."""
    yield from _links_resolved("location-header", record.http_header_values("Location"), document_url)
    for value in record.http_header_values("Link"):
        yield from _links_resolved("link-header", _LINK_HEADER_TARGET.findall(value), document_url)
    for value in record.http_header_values("Refresh"):
        yield from _links_resolved("meta-refresh", [refresh_url(value)], document_url)


def _document_of(record: ArchiveRecord, content_type: str | None) -> Document:
    return Document(
        record_type=record.record_type,
        record_id=record.record_id,
        target_uri=record.target_uri,
        url=normalize(record.target_uri) if record.target_uri else None,
        offset=record.offset,
        length=record.length,
        http_status=record.http_status,
        content_type=mime_type(content_type),
        payload_digest=record.payload_digest,
    )


def _http_document(record: ArchiveRecord) -> Document:
    content_type = record.http_header("Content-Type")
    document = _document_of(record, content_type)
    document.links.extend(http_header_links(record, document.url))
    body = decode_http_body(
        record.payload or b"",
        record.http_header("Transfer-Encoding"),
        record.http_header("Content-Encoding"),
        document.notes,
    )
    if body and looks_like_html(document.content_type, body):
        html = decode_html(body, charset_of(content_type))
        del body  # a decoded body can be 32 MiB: not kept beside its text while links are taken
        document.links.extend(html_links(html, document.url, document.notes))
    return document


def _block_document(record: ArchiveRecord) -> Document:
    """A resource or conversion record: the block is the document itself, with no HTTP envelope."""
    document = _document_of(record, record.warc_content_type)
    mime = document.content_type
    body = record.payload or b""
    if looks_like_html(mime, body):
        html = decode_html(body, charset_of(record.warc_content_type))
        document.links.extend(html_links(html, document.url, document.notes))
    elif mime is None or mime.startswith("text/"):
        urls = text_urls(body.decode("utf-8", "replace"))
        document.links.extend(("text", raw, resolve(None, raw)) for raw in itertools.islice(urls, MAX_LINKS_PER_PAGE))
        note_dropped_links(document.notes, sum(1 for _ in urls))  # the rest counted, not kept
    return document


def _wat_kind(path: str) -> str:
    # WAT link paths look like "A@/href", "IMG@/src", "IMG@/srcset", "LINK@/href", "FORM@/action"
    tag, _, attribute = path.partition("@/")
    if attribute == "srcset":
        return "srcset"
    return tag.lower() or "a"


def wat_document(record: ArchiveRecord) -> Document | None:
    """The response described by a Common Crawl WAT metadata record, with the links WAT lists for it.

    The document carries the original response's WARC-Record-ID and target URI, so a removal names the
    record to strip in the WARC file the WAT was made from. Request and metadata envelopes are no documents.
    """
    envelope = json.loads(record.payload or b"{}").get("Envelope") or {}
    warc_header = envelope.get("WARC-Header-Metadata") or {}
    if (warc_header.get("WARC-Type") or "").lower() != "response":
        return None
    target_uri = warc_header.get("WARC-Target-URI") or record.target_uri
    url = normalize(target_uri) if target_uri else None
    payload_metadata = envelope.get("Payload-Metadata") or {}
    response = payload_metadata.get("HTTP-Response-Metadata") or {}
    headers = response.get("Headers") or {}
    status_text = str((response.get("Response-Message") or {}).get("Status") or "")
    document = Document(
        record_type="response",
        record_id=warc_header.get("WARC-Record-ID") or record.record_id,
        target_uri=target_uri,
        url=url,
        offset=record.offset,
        length=record.length,
        http_status=int(status_text) if status_text.isdigit() else None,
        content_type=mime_type(headers.get("Content-Type")),
        payload_digest=warc_header.get("WARC-Payload-Digest"),
    )
    for name, value in headers.items():
        lower = name.lower()
        if lower == "location":
            document.links.extend(_links_resolved("location-header", [value], url))
        elif lower == "link":
            document.links.extend(_links_resolved("link-header", _LINK_HEADER_TARGET.findall(value), url))
        elif lower == "refresh":
            document.links.extend(_links_resolved("meta-refresh", [refresh_url(value)], url))
    html_metadata = response.get("HTML-Metadata") or {}
    head = html_metadata.get("Head") or {}
    base_url = resolve(url, head["Base"]) if head.get("Base") else url
    base_url = base_url or url
    for meta in head.get("Metas") or []:
        if (meta.get("http-equiv") or "").lower() == "refresh":
            document.links.extend(_links_resolved("meta-refresh", [refresh_url(meta.get("content") or "")], base_url))
    entries = itertools.chain(head.get("Link") or [], head.get("Scripts") or [], html_metadata.get("Links") or [])
    for entry in entries:
        raw = entry.get("url") or entry.get("href")
        document.links.extend(_links_resolved(_wat_kind(entry.get("path") or ""), [raw], base_url))
        if len(document.links) >= MAX_LINKS_PER_PAGE:  # the rest counted, not resolved
            rest = sum(1 for entry in entries if _is_link(entry.get("url") or entry.get("href")))
            note_dropped_links(document.notes, len(document.links) - MAX_LINKS_PER_PAGE + rest)
            break
    del document.links[MAX_LINKS_PER_PAGE:]
    return document


def _is_link(raw: str | None) -> bool:
    raw = raw.strip() if raw else ""
    return bool(raw) and not is_skipped(raw)


def record_document(record: ArchiveRecord) -> Document | None:
    """The document a record holds, or None for records that are not documents (request, warcinfo, ...)."""
    if record.record_type == "response":
        if record.http_headers or record.http_status is not None:
            return _http_document(record)
        return _block_document(record)  # a response record whose block is not HTTP (dns:, ftp:)
    if record.record_type in ("resource", "conversion"):
        return _block_document(record)
    if record.record_type == "metadata" and mime_type(record.warc_content_type) == "application/json":
        return wat_document(record)
    return None
