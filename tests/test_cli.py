"""The `loyalty` command: migrate, serve, and exit code 2 on bad configuration."""

import subprocess

import httpx
import pytest

from tests.support.processes import (
    LOYALTY,
    clean_env,
    free_port,
    start_serve,
    stop,
    wait_until_healthy,
)


def run(args, cwd, **env):
    return subprocess.run(
        [LOYALTY, *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=120
    )


def test_serve_on_a_fresh_directory_answers_health_and_leaves_a_sqlite_file(tmp_path):
    port = free_port()
    process = start_serve(tmp_path, port, clean_env())
    try:
        wait_until_healthy(process, port)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "database": "sqlite"}
    finally:
        stop(process)
    assert (tmp_path / "loyalty.db").stat().st_size > 0


def test_migrate_creates_the_schema_and_is_repeatable(tmp_path):
    first = run(["migrate"], tmp_path)
    again = run(["migrate"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert "database up to date (sqlite)" in again.stdout


def test_a_bad_programme_file_exits_2_naming_the_file_and_field(tmp_path):
    (tmp_path / "loyalty.toml").write_text("[earn]\npoints_per_unit = -1\n")
    result = run(["migrate"], tmp_path)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "loyalty.toml" in message
    assert "earn.points_per_unit" in message
    assert "greater than 0" in message
    assert not (tmp_path / "loyalty.db").exists()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOYALTY_ADMINS": "bogus"}, "LOYALTY_ADMINS"),
        ({"TELEGRAM_BOT_TOKEN": "123:abc"}, "TELEGRAM_WEBHOOK_SECRET"),
        (
            {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "changeme"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"LOYALTY_CONFIG": "missing.toml"}, "missing.toml"),
        ({"LOYALTY_TIMEZONE": "Nowhere/Land"}, "timezone"),
    ],
)
def test_bad_settings_exit_2_naming_the_variable(tmp_path, env, named):
    result = run(["migrate"], tmp_path, **env)
    assert result.returncode == 2
    assert named in " ".join(result.stderr.split())
