"""The import graph of `app/` and `dashapp/`: no module imports itself back, however indirectly.

Read from the source with `ast` (every import statement counts, also those inside functions), so
that a circle is found before it bites at run time in some import order.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "dashapp")


def module_files(packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every module of `packages`."""
    modules = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path) -> list[str]:
    """Every dotted name `module` imports, relative imports resolved; `from a import b` gives
    `a.b` (b may be a module) and the owner decides below."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the graph it imports."""
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(module, path):
            while name not in modules and "." in name:
                name = name.rpartition(".")[0]
            if name in modules and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: each a path that starts and ends at the same module."""
    found, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                found.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return found


def test_there_is_no_import_circle():
    found = circles(import_graph(module_files()))
    assert found == [], "\n".join(" -> ".join(circle) for circle in found)


def test_the_checker_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c", "a"]]


def test_relative_and_nested_imports_are_read(tmp_path):
    path = tmp_path / "__init__.py"
    path.write_text("from . import x\nfrom .y import z\ndef f():\n    import q.r\n")
    assert imported_names("pkg", path) == ["pkg.x", "pkg.y.z", "q.r"]


@pytest.mark.parametrize("module", ["app.models", "app.security.identity", "app.security.login"])
def test_each_module_imports_first_on_its_own(module):
    # A circle that the reading above missed would show as an ImportError in some order.
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, check=True)


def test_models_do_not_import_the_login_machinery():
    graph = import_graph(module_files())
    assert graph["app.security.identity"] == set()  # pure: imports nothing of the app
    assert "app.security.login" not in graph["app.models"]
