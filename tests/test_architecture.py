"""The architecture rule: the library (pipelines/) never imports the application (crawler/) or Scrapy."""

from __future__ import annotations

import ast
from pathlib import Path

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def test_pipelines_never_import_crawler_or_scrapy():
    offenders = {
        str(path.relative_to(PIPELINES)): sorted(imported_modules(path) & {"crawler", "scrapy", "twisted"})
        for path in PIPELINES.rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    assert len(offenders) >= 8  # the scan saw the library
