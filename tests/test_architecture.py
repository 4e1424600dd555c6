"""The shape of the tree (DESIGN §2, docs/architecture.md): core knows no channel, web,
scheduler or CLI; every package says what it holds; code outside a package imports its
facade; no module imports itself back; no family of prefixed siblings.

The layering of core's contexts and bot's packages is import-linter's (pyproject.toml),
run by `make test` before pytest.
"""

import ast
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).parent.parent
TOPS = ("core", "bot", "adapters")
FORBIDDEN_IN_CORE = {
    "fastapi",
    "starlette",
    "telegram",
    "linebot",
    "apscheduler",
    "typer",
    "bot",
    "adapters",
    "uvicorn",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*TOPS, cache_dir=None)


def test_core_imports_no_framework_channel_or_outer_layer():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN_IN_CORE)
        for path in (ROOT / "core").rglob("*.py")
        if imported_roots(path) & FORBIDDEN_IN_CORE
    }
    assert offenders == {}


def test_adapters_do_not_import_the_application():
    offenders = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "adapters").rglob("*.py")
        if "bot" in imported_roots(path)
    }
    assert offenders == set()


def test_the_check_would_catch_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import telegram\nfrom fastapi import FastAPI\nfrom bot.cli import app\n")
    assert imported_roots(bad) & FORBIDDEN_IN_CORE == {"telegram", "fastapi", "bot"}


def test_importing_core_loads_no_framework():
    code = (
        "import sys, core.members, core.purchases, core.points, core.tiers, core.models;"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN_IN_CORE)!r});"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


def package_of(module: str) -> str:
    """`core.coupons` for `core.coupons.codes`: the top-level package a module belongs to."""
    return ".".join(module.split(".")[:2])


def inner_imports(graph: grimp.ImportGraph) -> list[str]:
    """Imports of a package's inner module from outside that package."""
    found = []
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.split(".")[0] not in TOPS or imported.count(".") < 2:
                continue
            if package_of(importer) != package_of(imported):
                found.append(f"{importer} -> {imported}")
    return found


def test_code_outside_a_package_imports_its_facade(graph):
    assert inner_imports(graph) == []


def test_the_facade_check_would_catch_an_inner_import():
    graph = grimp.ImportGraph()
    for module in ("core", "core.coupons", "core.coupons.codes", "bot", "bot.dialogs"):
        graph.add_module(module)
    graph.add_import(importer="bot.dialogs", imported="core.coupons.codes")
    graph.add_import(importer="core.coupons", imported="core.coupons.codes")
    assert inner_imports(graph) == ["bot.dialogs -> core.coupons.codes"]


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import one another (strongly connected components), as
    written anywhere in a module, also under TYPE_CHECKING or inside a function."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_the_cycle_check_would_catch_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert cycles(graph) == [["a.b", "a.c"]]


def packages() -> list[Path]:
    return sorted(
        init.parent
        for top in TOPS
        for init in (ROOT / top).rglob("__init__.py")
        if ".venv" not in init.parts
    )


def test_every_package_says_what_it_holds():
    undocumented = [
        str(package.relative_to(ROOT))
        for package in packages()
        if not ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    ]
    assert undocumented == []


def prefix_families(paths: list[Path]) -> dict[str, int]:
    """Sibling modules sharing the word before their first underscore, three or more."""
    families: Counter[str] = Counter()
    for path in paths:
        if path.stem in ("__init__", "__main__"):
            continue
        families[f"{path.parent}/{path.stem.lstrip('_').split('_')[0]}_*"] += 1
    return {family: count for family, count in families.items() if count >= 3}


def test_no_family_of_prefixed_sibling_modules():
    modules = [
        path.relative_to(ROOT) for top in ("core", "bot") for path in (ROOT / top).rglob("*.py")
    ]
    assert prefix_families(modules) == {}


def test_the_family_check_would_catch_prefixed_siblings():
    modules = [Path("core/coupon.py"), Path("core/coupon_codes.py"), Path("core/coupon_jobs.py")]
    assert prefix_families(modules) == {"core/coupon_*": 3}


def test_every_package_of_core_and_bot_has_its_place_in_the_layers():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    for contract in (c for c in contracts if c["type"] == "layers"):
        (top,) = contract["containers"]
        layered = {name.strip() for layer in contract["layers"] for name in layer.split("|")}
        on_disk = {
            path.stem if path.suffix == ".py" else path.name
            for path in (ROOT / top).iterdir()
            if (path / "__init__.py").exists() or (path.suffix == ".py" and path.stem != "__init__")
        }
        assert on_disk == layered, top
