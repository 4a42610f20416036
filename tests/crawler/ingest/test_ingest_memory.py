"""Where an ingest's memory comes from (Arrow's buffers from malloc, glibc keeping freed memory), and what
it imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import crawler.ingest.memory
import crawler.ingest.pool
from crawler.ingest import MissingInput, ingest


@pytest.mark.parametrize("workers", [1, 2])
def test_arrow_buffers_of_an_ingest_come_from_malloc_and_the_callers_pool_is_restored(tmp_path, monkeypatch, workers):
    """Arrow's default pool (mimalloc) backs its arenas with huge pages the kernel zeroes on first touch: an
    ingest's readers, in this process or forked, allocate from malloc instead, and the caller gets its pool back."""
    import pyarrow as pa

    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    read = crawler.ingest.pool.read_source

    def read_and_tell_the_pool(task, on_progress=None):
        result = read(task, on_progress)
        result.note_warning(f"pool: {pa.default_memory_pool().backend_name}")  # recorded with the file
        return result

    monkeypatch.setattr(crawler.ingest.pool, "read_source", read_and_tell_the_pool)
    callers_pool = pa.default_memory_pool()
    summary = ingest(tmp_path / "x.duckdb", "S", [sample], workers=workers, show_progress=False)
    assert summary.files > 1 and summary.problems == []
    con = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)
    try:
        pools = con.execute("SELECT list(DISTINCT bad_record_errors[-1]) FROM sources").fetchone()[0]
    finally:
        con.close()
    assert pools == ["warning: pool: system"]
    assert pa.default_memory_pool().backend_name == callers_pool.backend_name != "system"


def test_an_ingest_keeps_freed_memory_and_restores_glibc_defaults_after(tmp_path, monkeypatch):
    """While an ingest runs, glibc keeps the heap a file's reading frees for the next file (instead of trimming
    it and faulting it in again); afterwards its default thresholds are back and the kept memory handed back,
    also when the ingest fails."""
    calls = []

    class RecordingLibc:
        def mallopt(self, parameter, value):
            calls.append(("mallopt", parameter, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("malloc_trim", pad))
            return 1

    monkeypatch.setattr(crawler.ingest.memory, "_glibc", RecordingLibc)
    during = []
    read = crawler.ingest.pool.read_source

    def read_and_look(task, on_progress=None):
        during.append(list(calls))
        return read(task, on_progress)

    monkeypatch.setattr(crawler.ingest.pool, "read_source", read_and_look)
    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    kept = [("mallopt", -3, 32 * 1024 * 1024), ("mallopt", -1, 512 * 1024 * 1024)]
    restored = [("mallopt", -3, 128 * 1024), ("mallopt", -1, 128 * 1024), ("malloc_trim", 0)]
    assert ingest(tmp_path / "x.duckdb", "S", [sample], workers=1, show_progress=False).problems == []
    assert during and all(seen == kept for seen in during)
    assert calls == kept + restored
    calls.clear()
    with pytest.raises(MissingInput):
        ingest(tmp_path / "x.duckdb", "S", [tmp_path / "absent.warc.gz"], workers=1, show_progress=False)
    assert calls == kept + restored


def test_an_ingest_imports_neither_pyarrow_compute_nor_lexbor(tmp_path):
    """pyarrow.compute's import costs every ingest ~0.05 s (pipelines/arrow/kernels.py calls the kernels by name):
    nothing on the ingest path may bring it back, not even an Array method that imports it on first use.
    selectolax's lexbor is imported only for the pages the compiled scanner leaves to it (none in the sample)."""
    sample = Path(__file__).resolve().parents[3] / "data" / "sample" / "corpus"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from crawler.ingest import ingest\n"
        f"summary = ingest(Path({str(tmp_path / 'x.duckdb')!r}), 'S', [{str(sample)!r}], workers=1,"
        " show_progress=False)\n"
        "assert summary.links > 0 and not summary.problems, summary.line()\n"
        "print(sorted(name for name in ('pyarrow.compute', 'selectolax.lexbor') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
