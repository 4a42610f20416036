"""The `linksweep` CLI run in this process on a given database, its exit code checked."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from crawler.cli import main


def run(db: Path, *args: str, expect: int = 0, env: dict | None = None) -> Result:
    """`linksweep --db DB ARGS...`; asserts the exit code is `expect` (the output says why when it is not)."""
    result = CliRunner().invoke(main, ["--db", str(db), *args], env=env)
    assert result.exit_code == expect, result.output
    return result
