"""The progress bar of an ingest: bytes read, on stderr, or none (problems are printed either way)."""

from __future__ import annotations

import contextlib
import sys
from typing import Protocol, TextIO

from tqdm import tqdm


class ProgressBar(Protocol):
    def update(self, n: float = 1) -> object: ...

    def write(self, text: str, file: TextIO | None = None) -> None: ...


class _Silent:
    """The progress bar when none is shown: problems are still printed."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        return None

    def write(self, text: str, file: TextIO | None = None) -> None:
        print(text, file=file or sys.stderr)


def progress_bar(show: bool, total_bytes: int, description: str) -> contextlib.AbstractContextManager[ProgressBar]:
    """A tqdm bar of bytes read, on stderr."""
    if not show:
        return _Silent()
    return tqdm(total=total_bytes, unit="B", unit_scale=True, desc=description, file=sys.stderr)
