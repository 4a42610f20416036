"""The removal list: which documents to drop and which links to strip in a snapshot, with the evidence."""

from __future__ import annotations

from pipelines.lists import CURRENT_MATCHES_SQL

# Columns of every removal list, in order (the first eight are the contract data teams rely on).
REMOVAL_COLUMNS = (
    "snapshot",
    "source_file",
    "record_id",
    "document_url",
    "link_url",
    "action",
    "reason",
    "matched_rule",
    "detected_via",
    "list_versions",
    "record_offset",
    "link_kinds",
    "link_raw_url",
    "evidence",
)


def removal_query() -> str:
    """SQL (parameter $snapshot) for the removal list: one row per document to drop or link to strip.

    A document is dropped when its own URL is listed; otherwise each distinct listed URL it links to is
    one `strip_link` row. Links inside dropped documents are not listed separately (the document goes).
    """
    return f"""
    WITH current_matches AS (
        -- list_version: the version's number among its list's versions (hash-service verdicts: 0)
        SELECT m.*, coalesce(v.version, m.version_id) AS list_version
        FROM ({CURRENT_MATCHES_SQL}) AS m LEFT JOIN list_versions AS v USING (version_id)
    ),
    listed AS (
        SELECT url,
               string_agg(DISTINCT list_name || coalesce(' (' || category || ')', ''), '; ') AS reason,
               string_agg(DISTINCT matched_rule, '; ') AS matched_rule,
               string_agg(DISTINCT detected_via, '; ') AS detected_via,
               string_agg(DISTINCT list_name || '@v' || list_version, '; ') AS list_versions,
               -- a JSON array of the evidence objects (redirect chains, content hashes, service answers)
               '[' || string_agg(DISTINCT evidence, ', ' ORDER BY evidence) || ']' AS evidence
        FROM current_matches
        -- an allowlist entry (or an @@ exception) overrides every blocklist
        WHERE effect = 'block' AND url NOT IN (SELECT url FROM current_matches WHERE effect = 'allow')
        GROUP BY url
    ),
    snapshot_documents AS (
        SELECT documents.*, sources.path AS source_file
        FROM documents JOIN sources USING (source_id)
        WHERE documents.snapshot = $snapshot
    ),
    dropped AS (
        SELECT snapshot_documents.*, listed.reason, listed.matched_rule, listed.detected_via, listed.list_versions,
               listed.evidence
        FROM snapshot_documents JOIN listed USING (url)
    ),
    stripped AS (
        SELECT snapshot_documents.doc_id, links.url AS link_url,
               string_agg(DISTINCT links.kind, ',') AS link_kinds,
               min(links.raw_url) AS link_raw_url
        FROM links
        JOIN snapshot_documents USING (doc_id)
        JOIN listed ON listed.url = links.url
        WHERE links.doc_id NOT IN (SELECT doc_id FROM dropped)
        GROUP BY snapshot_documents.doc_id, links.url
    )
    SELECT snapshot, source_file, record_id, target_uri AS document_url, '' AS link_url,
           'drop_document' AS action, reason, matched_rule, detected_via, list_versions,
           record_offset, NULL AS link_kinds, NULL AS link_raw_url, evidence, source_id, record_no
    FROM dropped
    UNION ALL
    SELECT documents.snapshot, documents.source_file, documents.record_id, documents.target_uri,
           stripped.link_url, 'strip_link', listed.reason, listed.matched_rule, listed.detected_via,
           listed.list_versions, documents.record_offset, stripped.link_kinds, stripped.link_raw_url,
           listed.evidence, documents.source_id, documents.record_no
    FROM stripped
    JOIN snapshot_documents AS documents USING (doc_id)
    JOIN listed ON listed.url = stripped.link_url
    """
