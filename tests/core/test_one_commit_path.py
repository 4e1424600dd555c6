"""core commits in one way: through the unit of work (core.kernel.uow.commit), which
applies the counters a use case bumped before it commits. A bare `session.commit()`
after an `increment` would drop them without a word."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
CORE = ROOT / "core"
UNIT_OF_WORK = CORE / "kernel" / "uow.py"


def bare_commits(path: Path) -> list[int]:
    """The lines of `path` that call `<anything>.commit()` directly."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_core_commits_only_through_the_unit_of_work():
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(CORE.rglob("*.py"))
        if path != UNIT_OF_WORK and (lines := bare_commits(path))
    }
    assert offenders == {}


def test_the_unit_of_work_is_where_the_commit_is():
    assert bare_commits(UNIT_OF_WORK), "the scan no longer sees the one real commit"


def test_the_check_would_catch_a_bare_commit(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from core.kernel import commit\n"
        "def ok(session):\n"
        "    commit(session)\n"
        "def bad(session, connection):\n"
        "    session.commit()\n"
        "    self.database.session().commit()\n"
        "    connection.commit()\n"
    )
    assert bare_commits(bad) == [5, 6, 7]
