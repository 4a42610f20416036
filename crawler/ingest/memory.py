"""Where an ingest's memory comes from: Arrow's buffers from malloc, and glibc's malloc keeping what a file's
reading frees for the next file. Both are set for the ingest in this process and in every reader process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pyarrow as pa


@contextlib.contextmanager
def arrow_buffers_from_malloc() -> Iterator[None]:
    """Arrow's buffers come from the C library's malloc while an ingest runs, not from Arrow's default pool
    (mimalloc), which commits its arenas eagerly, backed by transparent huge pages where the kernel grants them
    on request (THP "madvise", as on the development machines): every page first touched is 2 MB zeroed by the
    kernel, which made the first file of an ingest spend its system time in its first Arrow allocations; malloc
    also keeps the peak memory and the system time of an ingest lower. Readers forked within inherit the pool;
    spawned ones set it (memory_of_a_reader).
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# glibc's mallopt parameters, and its defaults (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
# While an ingest runs: blocks up to this size come from the heap, and freed heap memory is kept up to this much
_KEPT_MMAP_THRESHOLD = 32 * 1024 * 1024
_KEPT_TRIM_THRESHOLD = 512 * 1024 * 1024


def _glibc():  # the C library, if it is glibc (elsewhere mallopt is absent or does nothing)
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return None
    except (AttributeError, ValueError, OSError):  # pragma: no cover - no confstr, or no such name
        return None
    import ctypes

    try:
        return ctypes.CDLL(None)
    except OSError:  # pragma: no cover
        return None


def _set_malloc_thresholds(libc, mmap_threshold: int, trim_threshold: int) -> None:
    libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)


def keep_freed_memory():
    """Make glibc's malloc keep the memory a file's reading frees for the next file (see freed_memory_kept).
    Returns the C library it set, or None where it is not glibc."""
    libc = _glibc()
    if libc is not None:
        _set_malloc_thresholds(libc, _KEPT_MMAP_THRESHOLD, _KEPT_TRIM_THRESHOLD)
    return libc


@contextlib.contextmanager
def freed_memory_kept() -> Iterator[None]:
    """glibc's malloc keeps the memory a file's reading frees for the next file while an ingest runs, instead of
    handing it back to the kernel: each file read grows the heap (Arrow's kernels, the staged batches), and with
    glibc's defaults it was trimmed after every file and faulted in again, page by page, for the next one, and a
    page first touched is costly. Peak memory is the same; between files the heap stays at its peak instead of
    shrinking. Afterwards glibc's default thresholds are set (fixed ones: glibc's own adjustment of them stays off
    once set) and the kept memory handed back."""
    libc = keep_freed_memory()
    if libc is None:
        yield
        return
    try:
        yield
    finally:
        _set_malloc_thresholds(libc, _GLIBC_DEFAULT_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
        libc.malloc_trim(0)


def memory_of_a_reader() -> None:  # pragma: no cover - runs in child processes
    """In a reader process, for the rest of its life: what arrow_buffers_from_malloc and freed_memory_kept set in
    the ingest's (forked readers inherit both; spawned ones need them set)."""
    pa.set_memory_pool(pa.system_memory_pool())
    keep_freed_memory()
