"""What digest/ imports from outside is what pyproject.toml declares, and nothing declared goes unused."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_name(r) for r in project["dependencies"]}


def _guards_import_error(node: ast.Try) -> bool:
    return any(
        re.search(r"\b(ImportError|ModuleNotFoundError)\b", ast.unparse(h.type))
        for h in node.handlers
        if h.type is not None
    )


def _imported() -> dict[str, set[str]]:
    """Each top-level third-party module digest/ imports, and the distributions that provide it."""
    modules: set[str] = set()
    optional: set[str] = set()  # imported under `except ImportError`: used when present, not required
    for path in (ROOT / "digest").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                modules.add(node.module.split(".")[0])
            elif isinstance(node, ast.Try) and _guards_import_error(node):
                optional.update(
                    a.name.split(".")[0] for n in node.body if isinstance(n, ast.Import) for a in n.names
                )
    modules -= set(sys.stdlib_module_names) | {"digest", "__future__"} | optional
    dists = packages_distributions()
    return {m: {_name(d) for d in dists.get(m, [])} for m in modules}


def test_every_module_digest_imports_is_declared():
    declared = _declared()
    undeclared = sorted(
        f"{m} ({', '.join(sorted(d)) or 'not installed'})" for m, d in _imported().items() if not d & declared
    )
    assert undeclared == []  # a transitive dependency imported directly can vanish with the next release


def test_every_declared_dependency_is_imported():
    provided = set().union(*_imported().values())
    assert sorted(_declared() - provided) == []
