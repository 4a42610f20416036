"""What ingest refuses to read before it opens the store: a path that does not exist, or a URL."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class MissingInput(FileNotFoundError):
    """A path given to ingest does not exist."""


class RemoteSourceUnsupported(ValueError):
    """A URL was given where a local file or folder is expected."""


def refuse_remote_sources(paths: Iterable[str | Path]) -> None:
    """RemoteSourceUnsupported for the first of `paths` that is a URL."""
    for path in paths:
        if URL_SCHEME.match(str(path)):
            raise RemoteSourceUnsupported(
                f"{path}: remote sources are not supported yet; download the file and give its local path"
            )
