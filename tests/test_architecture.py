"""The dependency direction of DESIGN §2: core knows no channel, web, scheduler or CLI."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
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
