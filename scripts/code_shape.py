"""The code's shape in numbers (issue 18): modules over 400 lines, functions over 60 lines,
function-local imports of our own code, and import cycles between our modules (function-local
imports included, through grimp, which import-linter brings).

    .venv/bin/python scripts/code_shape.py [checkout] [-v]

Tests, migrations, benchmarks and testing/ are left out, as the issue counts them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

OURS = ("accounts", "billing", "videos", "dubbing", "community", "integrations", "onevoice", "portal")


def _counted(root: Path):
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root))
        if rel.startswith((".venv", "bench", "testing", "var")) or "/migrations/" in rel or "/tests/" in rel:
            continue
        yield rel, path.read_text()


def shape(root: Path):
    big, long_functions, local = [], [], set()
    for rel, source in _counted(root):
        lines = source.count("\n")
        if lines > 400:
            big.append((lines, rel))
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            length = node.end_lineno - node.lineno + 1
            if length > 60:
                long_functions.append((length, f"{rel}:{node.name}"))
            for inner in ast.walk(node):
                names = ([inner.module or ""] if isinstance(inner, ast.ImportFrom) and inner.level == 0
                         else [a.name for a in inner.names] if isinstance(inner, ast.Import) else [])
                if any(name.split(".")[0] in OURS for name in names):
                    local.add(f"{rel}:{inner.lineno}")
    return sorted(big, reverse=True), sorted(long_functions, reverse=True), sorted(local)


def cycles(root: Path) -> list[list[str]]:
    import grimp  # brought by import-linter (requirements-test.txt)

    sys.path.insert(0, str(root))
    packages = [p for p in OURS if (root / p).is_dir()]
    graph = grimp.build_graph(*packages, include_external_packages=False)
    modules = {m for m in graph.modules if ".tests" not in m and ".migrations" not in m}
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i in modules} for m in modules}
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for module in sorted(modules):
        if module not in index:
            visit(module)
    return groups


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "-v"]
    root = Path(args[0] if args else ".").resolve()
    big, long_functions, local = shape(root)
    print(f"modules over 400 lines: {len(big)}")
    for lines, rel in big:
        print(f"  {lines:5d} {rel}")
    print(f"functions over 60 lines: {len(long_functions)}")
    for lines, name in long_functions:
        print(f"  {lines:5d} {name}")
    print(f"function-local imports of our own code: {len(local)}")
    if "-v" in sys.argv:
        for place in local:
            print(f"  {place}")
    groups = cycles(root)
    print(f"import cycles (groups of modules importing each other): {len(groups)}")
    for group in groups:
        print("  " + " <-> ".join(group))


if __name__ == "__main__":
    main()
