"""The removal list: which documents to drop and which links to strip in a snapshot, with the evidence."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.store import sql_string_list
from pipelines.verdicts import EXPORTED_STATES

# Columns of every removal list, in order, with their types: the same whatever the snapshot holds, an empty
# one included (the first eight are the contract data teams rely on). Every column may be NULL where its value
# can be missing: `link_url` and `link_kinds` on drop_document rows, `evidence` for static list matches, ...
# Several values of one row are list columns, sorted, so that two exports of the same data are the same
# bytes; `reason` and `matched_rule` (contract columns) join theirs, sorted, with "; ".
REMOVAL_SCHEMA = (
    ("snapshot", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("record_id", "VARCHAR"),
    ("document_url", "VARCHAR"),
    ("link_url", "VARCHAR"),
    ("action", "VARCHAR"),  # drop_document or strip_link
    ("reason", "VARCHAR"),  # "list (category)" of every list that flagged the URL
    ("matched_rule", "VARCHAR"),  # the list entries, as written
    ("detected_via", "VARCHAR[]"),  # static, redirect, content-hash, hash-service
    ("list_versions", "VARCHAR[]"),  # list@vVERSION
    ("record_offset", "BIGINT"),
    ("link_kinds", "VARCHAR[]"),
    ("link_raw_url", "VARCHAR"),
    ("evidence", "VARCHAR"),  # a JSON array of the evidence objects (redirect chains, content hashes, ...)
    ("lists", "VARCHAR[]"),  # the names of the lists that flagged the URL
    ("categories", "VARCHAR[]"),  # their categories (lists without one add none)
    ("verdict_ids", "VARCHAR[]"),  # the verdicts behind the row (docs/review.md)
    ("state", "VARCHAR"),  # confirmed when a reviewer confirmed one of them, else auto (or needs_review)
)
REMOVAL_COLUMNS = tuple(name for name, _ in REMOVAL_SCHEMA)


def removal_query(states: Sequence[str] = EXPORTED_STATES) -> str:
    """SQL (parameter $snapshot) for the removal list: one row per document to drop or link to strip, with the
    columns and types of REMOVAL_SCHEMA, in a stable order.

    A URL is listed when one of its verdicts in the snapshot is in one of `states` (by default auto and
    confirmed: not those waiting for review, rejected, suppressed or expired). A document is dropped when its
    own URL is listed; otherwise each distinct listed URL it links to is one `strip_link` row. Links inside
    dropped documents are not listed separately (the document goes).
    """
    columns = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in REMOVAL_SCHEMA)
    return f"""
    WITH listed AS (
        SELECT url,
               array_to_string(list_sort(list(DISTINCT list_name || coalesce(' (' || category || ')', ''))), '; ')
                   AS reason,
               array_to_string(list_sort(list(DISTINCT entry)), '; ') AS matched_rule,
               list_sort(list(DISTINCT detected_via)) AS detected_via,
               list_sort(list(DISTINCT list_name || '@v' || list_version)) AS list_versions,
               list_sort(list(DISTINCT list_name)) AS lists,
               coalesce(list_sort(list(DISTINCT category) FILTER (WHERE category IS NOT NULL)), []) AS categories,
               -- the verdicts' evidence arrays, joined into one
               '[' || string_agg(DISTINCT evidence[2:-2], ', ' ORDER BY evidence[2:-2]) || ']' AS evidence,
               list_sort(list(verdict_id)) AS verdict_ids,
               CASE WHEN bool_or(state = 'confirmed') THEN 'confirmed' WHEN bool_or(state = 'auto') THEN 'auto'
                    ELSE min(state) END AS state
        FROM verdicts
        WHERE snapshot = $snapshot AND state IN (SELECT unnest({sql_string_list(list(states))}))
        GROUP BY url
    ),
    snapshot_documents AS (
        SELECT documents.*, sources.path AS source_file
        FROM documents JOIN sources USING (source_id)
        WHERE documents.snapshot = $snapshot
    ),
    dropped AS (
        SELECT snapshot_documents.*, listed.* EXCLUDE (url)
        FROM snapshot_documents JOIN listed USING (url)
    ),
    stripped AS (
        SELECT snapshot_documents.doc_id, links.url AS link_url,
               list_sort(list(DISTINCT links.kind)) AS link_kinds,
               min(links.raw_url) AS link_raw_url
        FROM links
        JOIN snapshot_documents USING (doc_id)
        JOIN listed ON listed.url = links.url
        WHERE links.doc_id NOT IN (SELECT doc_id FROM dropped)
        GROUP BY snapshot_documents.doc_id, links.url
    ),
    removals AS (
        SELECT snapshot, source_file, record_id, target_uri AS document_url, NULL AS link_url,
               'drop_document' AS action, reason, matched_rule, detected_via, list_versions, record_offset,
               NULL AS link_kinds, NULL AS link_raw_url, evidence, lists, categories, verdict_ids, state, source_id,
               record_no
        FROM dropped
        UNION ALL
        SELECT documents.snapshot, documents.source_file, documents.record_id, documents.target_uri,
               stripped.link_url, 'strip_link', listed.reason, listed.matched_rule, listed.detected_via,
               listed.list_versions, documents.record_offset, stripped.link_kinds, stripped.link_raw_url,
               listed.evidence, listed.lists, listed.categories, listed.verdict_ids, listed.state, documents.source_id,
               documents.record_no
        FROM stripped
        JOIN snapshot_documents AS documents USING (doc_id)
        JOIN listed ON listed.url = stripped.link_url
    )
    SELECT {columns}, source_id, record_no FROM removals
    """


def ordered_removal_query(select: str | None = None, states: Sequence[str] = EXPORTED_STATES) -> str:
    """removal_query(states) in the order of every export (by file, record, action and link), selecting
    `select` (an SQL select list over REMOVAL_COLUMNS; default: those columns)."""
    return (
        f"SELECT {select or ', '.join(REMOVAL_COLUMNS)} FROM ({removal_query(states)}) "
        "ORDER BY source_file, source_id, record_no, action, link_url"
    )
