"""The digest the store records a file by (a corpus file's `sources.sha256`, a list version's, an export's)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """The sha256 (hex) of a file's bytes as stored; OSError when it cannot be read."""
    # file_digest reads into one reused buffer: a fresh bytes object per chunk would fault in new pages, each
    # one costly to touch first
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
