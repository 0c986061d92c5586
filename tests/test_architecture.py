"""The architecture holds: the import contracts of pyproject.toml are kept, every module sits in a
layer, no two modules import each other even by a detour, and the Qt-free packages type-check.

Part of the ordinary test run, so CI checks all of it (the tools come with the [test] extra).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "attnstudio"
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

# In no layer: the package (its __init__ holds only __version__), __main__ (runs the cli) and
# the qt package, whose modules are spread over several layers. The contracts still follow
# any chain of imports through them.
OUTSIDE_THE_LAYERS = {PACKAGE, f"{PACKAGE}.__main__", f"{PACKAGE}.qt"}


@pytest.fixture(scope="module")
def graph() -> Any:
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter in the [test] extra")
    # Imports inside functions and under TYPE_CHECKING included, as in the contracts;
    # cache_dir=None: no .grimp_cache left in the repository.
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=False, cache_dir=None)


def test_import_contracts_are_kept() -> None:
    pytest.importorskip("importlinter", reason="import-linter comes with the [test] extra")
    # `lint-imports` with the interpreter running the tests, in a process of its own (it puts
    # the working directory on sys.path and sets up logging).
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_logo=True))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout


def _layered_modules() -> list[str]:
    (contract,) = [c for c in CONFIG["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)]


def test_every_module_is_in_a_layer(graph: Any) -> None:
    # A layers contract checks only the modules it names: a new module left out of it could
    # import anything. (import-linter's own `exhaustive` needs containers, which would split
    # the one top-to-bottom list into several.)
    layered = _layered_modules()
    loose = sorted(module for module in graph.modules
                   if module not in OUTSIDE_THE_LAYERS
                   and not any(module == name or module.startswith(name + ".") for name in layered))
    assert not loose, ("modules in no layer of the layers contract in pyproject.toml "
                       f"(add each to the layer it belongs to): {', '.join(loose)}")


def find_cycle(modules: Iterable[str], imports_of: Callable[[str], Iterable[str]]) -> list[str] | None:
    """An import cycle as ``[a, b, ..., a]``, or None if there is none.

    Depth first, in name order (so the same graph gives the same answer); a module met again
    while it is still on the path closes a cycle.
    """
    on_path, done = 1, 2
    state: dict[str, int] = {}
    for start in sorted(modules):
        if start in state:
            continue
        path = [start]
        state[start] = on_path
        pending = [iter(sorted(imports_of(start)))]
        while pending:
            for module in pending[-1]:
                if state.get(module) == on_path:
                    return [*path[path.index(module):], module]
                if module not in state:
                    path.append(module)
                    state[module] = on_path
                    pending.append(iter(sorted(imports_of(module))))
                    break
            else:
                state[path.pop()] = done
                pending.pop()
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter in the [test] extra")
    fake = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.d"), ("p.d", "p.b"), ("p.a", "p.d")]:
        fake.add_import(importer=importer, imported=imported)
    assert find_cycle(fake.modules, fake.find_modules_directly_imported_by) == ["p.b", "p.c", "p.d", "p.b"]
    fake.remove_import(importer="p.d", imported="p.b")
    assert find_cycle(fake.modules, fake.find_modules_directly_imported_by) is None


def test_no_import_cycle(graph: Any) -> None:
    cycle = find_cycle(graph.modules, graph.find_modules_directly_imported_by)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_core_and_studio_type_check_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy comes with the [test] extra")
    assert set(CONFIG["tool"]["mypy"]["files"]) >= {"attnstudio/core", "attnstudio/studio"}
    monkeypatch.chdir(REPO)  # [tool.mypy] files are paths from the repository root
    stdout, stderr, status = api.run(["--config-file", str(REPO / "pyproject.toml")])
    assert status == 0, stdout + stderr
