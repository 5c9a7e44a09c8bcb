"""The layer contract of issue #18, checked on the source itself (AST, no imports run).

Data flows one way: io -> engine -> domains (rejoin, devices, customers) -> demo -> cli/serve,
with ``nn`` and ``report`` beside (pure) and ``_core`` below everything. The rules:

- ``layers``: a package imports only the packages below it (``ALLOWED``) and itself;
- ``private``: nothing imports another package's ``_private`` module (use its ``__init__``);
- ``cycles``: no circle between packages (lazy imports included);
- ``cli-sql``: ``cli/`` holds no SQL string, no ``execute``/``sql`` call and no ``duckdb``;
- ``engine-kind``: domain code asks the engine through its interface (``distributed``,
  ``write``, ``read_log``, its SQL methods), never ``isinstance(..., *Engine)``, a comparison
  of ``engine.dialect`` with a name, nor the DuckDB connection ``.con``;
- ``size``: no module over ``MAX_LINES`` lines.

Run ``python tests/test_architecture.py`` (or ``pytest -s``) to print the package graph.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

# to be emptied by the re-join refactor (#18): violations in files other helpers own right now,
# each (file under src/netpersona, rule, the module it imports or what it does)
ALLOWLIST: set[tuple[str, str, str]] = {
    ("rejoin/_spark_join.py", "engine-kind", "compares engine.dialect with a name"),
    ("rejoin/_spark_runs.py", "engine-kind", "compares engine.dialect with a name"),
    ("serve/_identify.py", "private", "netpersona.rejoin._learned"),
}

SRC = Path(__file__).resolve().parents[1] / "src" / "netpersona"
MAX_LINES = 400
DOMAINS = ("rejoin", "devices", "customers")
_BELOW_DOMAINS = {"_core", "io", "engine", "nn", "report"}
#: what each package may import besides itself (``_version`` counts as part of ``_core``)
ALLOWED: dict[str, set[str]] = {
    "_core": set(),
    "nn": {"_core"},
    "report": {"_core"},
    "io": {"_core"},
    "engine": {"_core", "io"},
    "synth": {"_core", "io"},
    **{domain: set(_BELOW_DOMAINS) for domain in DOMAINS},
    "demo": _BELOW_DOMAINS | {*DOMAINS, "synth"},
    "cli": _BELOW_DOMAINS | {*DOMAINS, "synth", "demo", "serve"},
    "serve": _BELOW_DOMAINS | {*DOMAINS, "synth", "demo"},
    # the top-level package: netpersona/__init__.py (the exceptions) and __main__.py (the CLI)
    "": {"_core", "cli"},
}
_SQL = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT INTO|CREATE (OR REPLACE )?(TEMP )?(TABLE|VIEW)|ATTACH\s+'|"
    r"COPY\s*\(|DELETE FROM|DROP (TABLE|VIEW)|UPDATE\s+\S+\s+SET)\b",
    re.DOTALL,
)


@dataclass(frozen=True)
class Import:
    file: str  # relative to src/netpersona
    line: int
    target: str  # the module imported, absolute
    type_only: bool  # under ``if TYPE_CHECKING:``


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """``netpersona.devices._model`` -> ``devices``; ``netpersona._version`` -> ``_core``."""
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    top = parts[1]
    if top == "_version":
        return "_core"
    if top == "__main__":
        return ""
    return top


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def imports_of(path: Path) -> list[Import]:
    """Every ``netpersona`` import of a module, lazy ones included, resolved to absolute."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_checking_lines(tree)
    rel = str(path.relative_to(SRC))
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if not stem.startswith("netpersona"):
                continue
            # ``from netpersona.rejoin import _learned`` imports the module ``_learned``
            targets = [
                f"{stem}.{alias.name}" if alias.name.startswith("_") else stem
                for alias in node.names
            ]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("netpersona")]
        for target in dict.fromkeys(targets):
            found.append(Import(rel, node.lineno, target, node.lineno in type_only))
    return found


def _private_part(target: str) -> bool:
    """Whether ``target`` names a private module below its package (``io._sources``)."""
    parts = target.split(".")[2:]
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def violations() -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for path in sources():
        rel = str(path.relative_to(SRC))
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + (not text.endswith("\n"))
        if lines > MAX_LINES:
            found.add((rel, "size", f"over {MAX_LINES} lines"))
        own = package_of(_module_name(path))
        for imp in imports_of(path):
            target = package_of(imp.target)
            if target == own:
                continue
            if _private_part(imp.target):
                found.add((rel, "private", imp.target))
            if not imp.type_only and target not in ALLOWED.get(own, set()):
                found.add((rel, "layers", ".".join(imp.target.split(".")[:2])))
        tree = ast.parse(text)
        if own == "cli":
            found |= _cli_violations(rel, tree)
        if own in DOMAINS:
            found |= _engine_kind_violations(rel, tree)
    return found


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)


def _cli_violations(rel: str, tree: ast.AST) -> set[tuple[str, str, str]]:
    found = set()
    if any(_SQL.search(s) for s in _strings(tree)):
        found.add((rel, "cli-sql", "SQL string"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            module = getattr(node, "module", None) or ""
            if module.split(".")[0] == "duckdb" or any(n.split(".")[0] == "duckdb" for n in names):
                found.add((rel, "cli-sql", "imports duckdb"))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "sql", "fetch_arrow", "fetch_scalar")
        ):
            found.add((rel, "cli-sql", "execute/sql call"))
    return found


def _engine_kind_violations(rel: str, tree: ast.AST) -> set[tuple[str, str, str]]:
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
            and "Engine" in ast.unparse(node.args[1])
        ):
            found.add((rel, "engine-kind", f"isinstance(..., {ast.unparse(node.args[1])})"))
        if isinstance(node, ast.Attribute) and node.attr == "con":
            found.add((rel, "engine-kind", "reaches into the engine's .con"))
        if (
            isinstance(node, ast.Compare)
            and any(
                isinstance(side, ast.Attribute) and side.attr == "dialect"
                for side in [node.left, *node.comparators]
            )
            and any(
                isinstance(side, ast.Constant) and isinstance(side.value, str)
                for side in [node.left, *node.comparators]
            )
        ):
            found.add((rel, "engine-kind", "compares engine.dialect with a name"))
    return found


def package_graph(allowlisted: bool = True) -> dict[str, set[str]]:
    """Package -> the packages it imports (lazy imports included, type-only ones not);
    without the edges the allowlist tolerates unless ``allowlisted``."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sources():
        own = package_of(_module_name(path))
        graph[own]
        rel = str(path.relative_to(SRC))
        for imp in imports_of(path):
            target = package_of(imp.target)
            if target == own or imp.type_only:
                continue
            tolerated = (rel, "layers", ".".join(imp.target.split(".")[:2])) in ALLOWLIST
            if allowlisted or not tolerated:
                graph[own].add(target)
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def render(graph: dict[str, set[str]]) -> str:
    """The package graph, one package a line with what it imports."""
    width = max(len(p or "netpersona") for p in graph)
    return "\n".join(
        f"{(p or 'netpersona'):<{width}} -> {', '.join(sorted(graph[p])) or '(nothing)'}"
        for p in sorted(graph, key=lambda p: (len(ALLOWED.get(p, ())), p))
    )


# -- the tests ----------------------------------------------------------------------------------


def test_the_checker_sees_what_it_must():
    # a checker that finds nothing proves nothing: it must resolve relative, lazy and
    # ``from pkg import _module`` imports, and know its packages
    devices_imports = {i.target for i in imports_of(SRC / "devices" / "_extract.py")}
    assert "netpersona.devices._features" in devices_imports
    assert "netpersona.engine" in devices_imports
    assert package_of("netpersona.rejoin._learned._matcher") == "rejoin"
    assert _private_part("netpersona.io._sources") and not _private_part("netpersona.io")
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse('x = f"SELECT a FROM {t}"\nengine.execute(x)\nimport duckdb')
    assert {rule for _, _, rule in _cli_violations("cli/x.py", tree)} == {
        "SQL string",
        "execute/sql call",
        "imports duckdb",
    }
    assert not _SQL.search("SELECT to run instead of reading a table.")
    branching = ast.parse('if engine.dialect == "spark":\n    pass\nx = engine.con')
    assert {what for _, _, what in _engine_kind_violations("devices/x.py", branching)} == {
        "compares engine.dialect with a name",
        "reaches into the engine's .con",
    }
    assert set(package_graph()) >= {"_core", "io", "engine", "nn", "report", *DOMAINS, "cli"}


def test_the_package_graph_has_no_cycle(capsys):
    graph = package_graph()
    with capsys.disabled():
        print("\npackage graph (lazy imports included):\n" + render(graph))
        for cycle in cycles(graph):
            print("cycle through allowlisted imports:", ", ".join(cycle))
    assert cycles(package_graph(allowlisted=False)) == []


@pytest.mark.parametrize("rule", ["layers", "private", "cli-sql", "engine-kind", "size"])
def test_the_layer_contract_holds(rule):
    found = {v for v in violations() if v[1] == rule}
    new = sorted(found - ALLOWLIST)
    assert not new, f"{rule} broken (file, rule, what):\n" + "\n".join(map(str, new))


def test_the_allowlist_holds_only_live_violations():
    # an entry whose violation is gone must leave the list, so the list only ever shrinks
    stale = sorted(ALLOWLIST - violations())
    assert not stale, "remove from ALLOWLIST (fixed):\n" + "\n".join(map(str, stale))


if __name__ == "__main__":
    print(render(package_graph()))
    for cycle in cycles(package_graph()):
        print("cycle through allowlisted imports:", ", ".join(cycle))
