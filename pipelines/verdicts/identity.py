"""A verdict's identity: what it is about (snapshot, URL, list entry, how it was detected), and its stable id."""

from __future__ import annotations

import hashlib

# The fields that identify a verdict, in the order they are hashed. The list version is not one of them: a
# new version of a list keeps the verdicts of the entries it kept (and their reviews).
VERDICT_IDENTITY = ("snapshot", "url", "list_name", "entry_kind", "entry", "detected_via")
SEPARATOR = "\x1f"  # the ASCII unit separator: it cannot appear in a normalized URL or a list entry
ID_HEX_DIGITS = 20

# The same id in SQL, over columns of those names.
_IDENTITY_SQL = ", ".join(f"coalesce({name}, '')" for name in VERDICT_IDENTITY)
VERDICT_ID_SQL = f"'v' || left(sha256(concat_ws(chr(31), {_IDENTITY_SQL})), {ID_HEX_DIGITS})"


def verdict_id(snapshot: str, url: str, list_name: str, entry_kind: str, entry: str, detected_via: str) -> str:
    """'v' and the first 20 hex digits of the SHA-256 of the identity fields joined by U+001F: the same inputs
    give the same id on every run and machine."""
    fields = (snapshot, url, list_name, entry_kind, entry, detected_via)
    digest = hashlib.sha256(SEPARATOR.join(field or "" for field in fields).encode("utf-8")).hexdigest()
    return f"v{digest[:ID_HEX_DIGITS]}"
