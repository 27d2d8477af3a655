"""The house: imports flow one way (cli -> commands -> stages -> store/llm -> ground floor), no cycle,
at most 10 modules deep, and the read-only commands never reach the LLM stack.

The graph is read from the source with ast, so lazy imports inside functions and TYPE_CHECKING imports
count too. Every module is a node: package __init__ files (digest.llm registers the providers) and
digest.__main__ (what `python -m digest` runs) included.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

from digest.cli import main
from tests.e2e_helpers import DAY, write_config

PACKAGE = Path(__file__).resolve().parents[1] / "digest"
MAX_DEPTH = 10  # 8 before the stage packages: a package re-exporting its parts (digest.store) adds a level

# Tiers, bottom up, by package: the ground floor (data, config, words), the store and the LLM providers, the
# stages (fetch, score, analysis, day, page), the commands, the CLI. A module not named is a stage.
GROUND = {
    "digest",
    "digest.errors",
    "digest.ids",
    "digest.text",
    "digest.retrying",
    "digest.secrets",
    "digest.models",
    "digest.config",
    "digest.schemas",
    "digest.language",
    "digest.language.labels",
    "digest.language.lexicon",
    "digest.day.state",
    "digest.day.report",
}
STORE_LLM_PACKAGES = ("digest.store", "digest.llm")
COMMANDS_PACKAGE = "digest.commands"
TIERS = ["ground", "store/llm", "stage", "command", "cli", "entry"]
LLM_STACK = ("digest.llm", "digest.analysis.session", "digest.analysis.build")
READ_ONLY = {
    "status": "digest.commands.status",
    "render": "digest.page.publish",
    "survey": "digest.page.survey",
    "prune": "digest.commands.prune",
}  # the module cli imports for each read-only command


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def tier(module: str) -> int:
    """A module's tier, an index into TIERS."""
    if module in GROUND:
        return 0
    if any(_within(module, p) for p in STORE_LLM_PACKAGES):
        return 1
    if _within(module, COMMANDS_PACKAGE):
        return 3 if module != COMMANDS_PACKAGE else 0
    if _within(module, "digest.cli"):
        return 4
    return {"digest.__main__": 5}.get(module, 2)


def import_graph() -> dict[str, set[str]]:
    """digest's modules and the digest modules each one imports."""
    files = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                deps.add(base)
                deps.update(f"{base}.{a.name}" for a in node.names)  # `from digest import text`
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def depths(graph: dict[str, set[str]]) -> dict[str, int]:
    """The longest import chain from each module down, counting the module itself."""
    depth: dict[str, int] = {}
    for module in graphlib.TopologicalSorter(graph).static_order():  # raises CycleError on a cycle
        depth[module] = 1 + max((depth[d] for d in graph[module]), default=0)
    return depth


def test_the_graph_sees_every_module_and_lazy_imports():
    graph = import_graph()
    assert {"digest", "digest.__main__", "digest.cli", "digest.llm", "digest.llm.gemini"} <= graph.keys()
    assert "digest.commands.pipeline" in graph["digest.cli"]  # imported inside a function, still an edge
    assert graph["digest.__main__"] == {"digest.cli"}


def test_imports_flow_one_way_without_cycles_in_at_most_ten_layers():
    graph = import_graph()
    depth = depths(graph)
    back = sorted(
        f"{m} ({TIERS[tier(m)]}) imports {d} ({TIERS[tier(d)]})"
        for m, deps in graph.items()
        for d in deps
        if tier(d) > tier(m)
    )
    assert back == []
    commands = {m for m in graph if _within(m, COMMANDS_PACKAGE) and m != COMMANDS_PACKAGE}
    assert sorted(f"{m} imports {d}" for m in commands for d in graph[m] & commands) == []
    deepest = max(depth, key=depth.get)
    assert depth[deepest] <= MAX_DEPTH, f"{deepest} is {depth[deepest]} modules deep"


def test_the_depth_count_catches_a_cycle_and_a_deep_chain():
    with pytest.raises(graphlib.CycleError):
        depths({"a": {"b"}, "b": {"a"}})
    chain = {f"m{i}": ({f"m{i + 1}"} if i < 9 else set()) for i in range(10)}
    assert depths(chain)["m0"] == 10


@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_read_only_commands_reach_no_llm_module(command):
    graph = import_graph()
    reached, todo = set(), [READ_ONLY[command]]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert sorted(m for m in reached if m.startswith(LLM_STACK)) == []


@pytest.mark.parametrize("command", ["status", "render", "survey", "prune"])
def test_read_only_commands_leave_google_genai_unloaded(tmp_path, arxiv, no_key, command):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    args = {
        "status": ["status", "--date", DAY],
        "render": ["render", "--date", DAY],
        "survey": ["survey"],
        "prune": ["prune", "--before", "2000-01-01"],
    }[command] + ["--config", str(cfg)]
    watched = ("google", "openai", *LLM_STACK)
    code = (
        f"import sys; from digest.cli import main; rc = main({args!r}); "
        f"print(rc, sorted(m for m in sys.modules if m.startswith({watched!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_no_module_is_over_400_lines():
    # The house rule: a module that grows past it is split by job (render and store kept crossing it).
    sizes = {
        p.relative_to(PACKAGE.parent).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 30
    assert {p: n for p, n in sizes.items() if n > 400} == {}


STAGE_ORDER = ["digest.fetch", "digest.score", "digest.day", "digest.analysis", "digest.page"]


def test_stage_packages_import_only_earlier_stages():
    # fetch and score know nothing of a day's plan; day decides (pure) and loads; analysis and page carry
    # out and show what day decided. A stage importing a later one would make a package cycle.
    graph = import_graph()
    rank = {p: i for i, p in enumerate(STAGE_ORDER)}

    def stage(module: str) -> int | None:
        return next((rank[p] for p in STAGE_ORDER if _within(module, p)), None)

    later = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        for d in deps
        if stage(m) is not None and stage(d) is not None and stage(d) > stage(m)
    )
    assert later == []


def test_the_scheduler_reads_no_store_and_asks_the_verdict():
    graph = import_graph()
    direct = graph["digest.commands.scheduler"]
    assert sorted(d for d in direct if _within(d, "digest.store")) == []
    assert "digest.day.verdict" in direct
