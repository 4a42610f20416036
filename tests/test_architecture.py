"""The shape of the code, enforced: which subpackage may import which, where Scrapy and click may appear, that
each subpackage shows a public face (`__all__`) and that the rest of the tree imports only through it.

The rules are checked by `violations(root)`, which reads the source with `ast` and imports nothing. The last
tests run it on small made-up trees that break each rule, so a rule that silently stops working fails here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first: a subpackage may import only those before it in its own layer list (and itself).
LIBRARY_LAYERS = [
    "pipelines.urls",
    "pipelines.store",
    "pipelines.lists",
    "pipelines.hashing",
    "pipelines.verdicts",
    "pipelines.matching",
    "pipelines.crawl",
    "pipelines.export",
    "pipelines.reports",
]
APPLICATION_LAYERS = [
    "crawler.corpus",
    "crawler.engines",
    "crawler.ingest",
    "crawler.crawl",
    "crawler.run",
    "crawler.cli",
]
SUBPACKAGES = LIBRARY_LAYERS + APPLICATION_LAYERS
# Third-party packages confined to one part of the application.
CONFINED = {"scrapy": "crawler.crawl", "twisted": "crawler.crawl", "click": "crawler.cli", "ray": "crawler.engines"}
MAX_MODULE_LINES = 500
SOURCE_FOLDERS = ("pipelines", "crawler", "tests", "bench", "fuzz")


@dataclass(frozen=True)
class Import:
    module: str  # the module named by the statement, absolute
    names: tuple[str, ...]  # names taken from it (empty for `import x.y`)
    line: int


def subpackage_of(module: str) -> str | None:
    for name in SUBPACKAGES:
        if module == name or module.startswith(name + "."):
            return name
    return None


def home_of(path: Path, root: Path) -> str | None:
    """The subpackage a source file belongs to; a test file belongs to the subpackage its folder mirrors."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[0] == "tests":
        parts = parts[1:]
    return subpackage_of(".".join(parts)) if parts else None


def imports_of(path: Path) -> list[Import]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(Import(node.module, tuple(alias.name for alias in node.names), node.lineno))
    return found


def public_names(init: Path) -> set[str] | None:
    """The names `__all__` lists in a subpackage's __init__.py, or None when it declares none."""
    for node in ast.parse(init.read_text(), str(init)).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return None


def allowed_below(home: str) -> set[str]:
    layers = LIBRARY_LAYERS if home.startswith("pipelines.") else APPLICATION_LAYERS
    below = set(layers[: layers.index(home) + 1])
    return below | set(LIBRARY_LAYERS) if home.startswith("crawler.") else below


def violations(root: Path) -> list[str]:
    found: list[str] = []
    faces: dict[str, set[str]] = {}
    for name in SUBPACKAGES:
        init = root / name.replace(".", "/") / "__init__.py"
        names = public_names(init) if init.exists() else None
        if names is None:
            found.append(f"{name}: no __init__.py with __all__")
        faces[name] = names or set()
    leftovers = sorted(p.name for p in (root / "pipelines").iterdir() if p.suffix == ".py" and p.name != "__init__.py")
    if leftovers:
        found.append(f"pipelines/ holds modules beside its subpackages: {', '.join(leftovers)}")
    for folder in ("pipelines", "crawler"):
        for sub in sorted(p for p in (root / folder).iterdir() if (p / "__init__.py").exists()):
            if f"{folder}.{sub.name}" not in SUBPACKAGES:
                found.append(f"{folder}/{sub.name}: a subpackage the layer order does not name")
    for folder in ("tests/pipelines", "tests/crawler"):
        for sub in sorted(p for p in (root / folder).glob("*") if p.is_dir() and p.name != "__pycache__"):
            if not (root / folder.removeprefix("tests/") / sub.name).is_dir():
                found.append(f"{folder}/{sub.name}: mirrors no source folder")
    for top in SOURCE_FOLDERS:
        for path in sorted((root / top).rglob("*.py")) if (root / top).exists() else []:
            found += file_violations(path, root, faces)
    return found


# Test helpers that patch internals on purpose: fault injection (a kill -9 at a precise point of a run).
REACHES_INSIDE = {"tests/kill_at.py", "tests/crawler/ingest/test_transient_errors.py"}


def file_violations(path: Path, root: Path, faces: dict[str, set[str]]) -> list[str]:
    where = str(path.relative_to(root))
    found = []
    if len(path.read_text().splitlines()) > MAX_MODULE_LINES:
        found.append(f"{where}: over {MAX_MODULE_LINES} lines")
    top = path.relative_to(root).parts[0]
    if top not in ("pipelines", "crawler", "tests") or where in REACHES_INSIDE:
        return found  # bench/, fuzz/ and fault injection reach inside on purpose; only their size is checked
    home = home_of(path, root)
    in_tests = top == "tests"
    for imp in imports_of(path):
        first = imp.module.split(".")[0]
        if top == "pipelines" and first == "crawler":
            found.append(f"{where}:{imp.line}: the library imports the application ({imp.module})")
        confined = CONFINED.get(first)
        if confined and not in_tests and home != confined:
            found.append(f"{where}:{imp.line}: {first} is imported outside {confined}")
        target = subpackage_of(imp.module)
        if target is None or target == home:
            continue
        if not in_tests and home is not None and target not in allowed_below(home):
            found.append(f"{where}:{imp.line}: {home} may not import {target} (layer order)")
        if imp.module == target:
            hidden = [n for n in imp.names if n not in faces[target]]
            if hidden:
                found.append(f"{where}:{imp.line}: {', '.join(hidden)} not in {target}.__all__")
        elif imp.module.split(".")[len(target.split("."))] not in faces[target]:
            found.append(f"{where}:{imp.line}: imports {imp.module}, inside {target}: use {target}'s __all__")
    return found


def test_the_tree_keeps_its_shape():
    assert violations(ROOT) == []


def test_every_public_name_exists():
    """`__all__` promises names; each must be importable from its subpackage."""
    import importlib

    for name in SUBPACKAGES:
        module = importlib.import_module(name)
        missing = [n for n in module.__all__ if not hasattr(module, n) and not _submodule_exists(name, n)]
        assert missing == [], name


def _submodule_exists(package: str, name: str) -> bool:
    return (ROOT / package.replace(".", "/") / f"{name}.py").exists()


# The rules can fail: small made-up trees, each breaking one rule.


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name in SUBPACKAGES:
        init = tmp_path / name.replace(".", "/") / "__init__.py"
        init.parent.mkdir(parents=True, exist_ok=True)
        init.write_text('__all__ = ["public"]\npublic = 1\n')
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (tmp_path / "crawler" / "__init__.py").write_text("")
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        ({"pipelines/urls/a.py": "from pipelines.store import public\n"}, "may not import pipelines.store"),
        ({"pipelines/lists/a.py": "import crawler.cli\n"}, "the library imports the application"),
        ({"pipelines/export/a.py": "from pipelines.lists.versions import x\n"}, "inside pipelines.lists"),
        ({"pipelines/export/a.py": "from pipelines.lists import secret\n"}, "secret not in pipelines.lists.__all__"),
        ({"crawler/ingest/a.py": "import scrapy\n"}, "scrapy is imported outside crawler.crawl"),
        ({"crawler/crawl/a.py": "import click\n"}, "click is imported outside crawler.cli"),
        ({"crawler/corpus/a.py": "from crawler.ingest import public\n"}, "may not import crawler.ingest"),
        ({"tests/pipelines/urls/test_a.py": "from pipelines.store.database import _x\n"}, "inside pipelines.store"),
        ({"tests/pipelines/nowhere/test_a.py": ""}, "mirrors no source folder"),
        ({"pipelines/loose.py": ""}, "holds modules beside its subpackages: loose.py"),
        ({"pipelines/extra/__init__.py": "__all__ = []\n"}, "a subpackage the layer order does not name"),
        ({"pipelines/urls/__init__.py": "x = 1\n"}, "pipelines.urls: no __init__.py with __all__"),
        ({"bench/big.py": "x = 1\n" * (MAX_MODULE_LINES + 1)}, "over 500 lines"),
    ],
)
def test_each_rule_can_fail(tmp_path, files, complaint):
    found = violations(_tree(tmp_path, files))
    assert any(complaint in line for line in found), found


def test_what_the_rules_allow(tmp_path):
    allowed = {
        "pipelines/export/a.py": "from pipelines.lists import public\nfrom pipelines.export.b import y\n",
        "crawler/cli/a.py": "import click\nfrom crawler.crawl import public\nfrom pipelines.urls import public\n",
        "tests/pipelines/store/test_a.py": "from pipelines.store.database import _x\nimport scrapy\n",
        "tests/pipelines/store/__init__.py": "",
    }
    assert violations(_tree(tmp_path, allowed)) == []
