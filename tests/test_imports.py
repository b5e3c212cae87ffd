"""The module import graph stays acyclic, and modules import at the top: a function-level import
needs its reason beside it (``# import here: …``)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "cli", "web", "timers")
#: Where a function-level import needs a reason written beside it (``# import here: …``).
TOP_LEVEL_ONLY = ("engine/", "cli/", "web/", "timers/")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _targets(module: str, node: ast.AST, is_package: bool, modules: dict) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[:len(parts) - node.level + 1]
        base = ".".join(parts + ([base] if base else []))
    out = set()
    for alias in node.names:
        full = f"{base}.{alias.name}"
        out.add(full if full in modules else base)
    return {t for t in out if t in modules}


def _scan():
    modules = _modules()
    graph, local = {}, []
    for name, path in modules.items():
        edges: set[str] = set()
        lines = path.read_text(encoding="utf-8").splitlines()

        def walk(body, top):
            for node in body:
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                    continue
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    if top:
                        edges.update(_targets(name, node, path.name == "__init__.py", modules))
                    elif "import here:" not in lines[node.lineno - 1]:
                        local.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                for field in ("body", "orelse", "finalbody", "handlers"):
                    sub = getattr(node, field, None)
                    if isinstance(sub, list):
                        walk(sub, inner)

        walk(ast.parse(path.read_text(encoding="utf-8")).body, True)
        graph[name] = edges - {name}
    return graph, local


def test_the_module_import_graph_has_no_cycle():
    graph, _ = _scan()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module):
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif not state.get(target):
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if not state.get(module):
            visit(module)
    assert cycles == []


def test_modules_import_at_the_top_unless_a_reason_is_written_beside():
    _, local = _scan()
    assert [where for where in local if where.startswith(TOP_LEVEL_ONLY)] == []
