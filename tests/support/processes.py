"""Running `loyalty` as a separate process in tests, with bounded waits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parent.parent.parent
LOYALTY = str(Path(sys.executable).parent / "loyalty")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """The current environment without any LOYALTY_/TELEGRAM_/LINE_ settings, plus `values`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LOYALTY_", "TELEGRAM_", "LINE_"))
    }
    env.update(values)
    return env


def start_serve(
    cwd: Path, port: int, env: dict[str, str], *options: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [LOYALTY, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


# Generous: on a busy machine (the suite beside two CPU-bound processes) importing the app
# alone takes tens of seconds, then come the migrations. A deadline, not a wait: a server
# that is up sooner is used sooner.
STARTUP_SECONDS = 120.0


def wait_until_healthy(
    process: subprocess.Popen[bytes], port: int, timeout: float = STARTUP_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"loyalty serve exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"loyalty serve did not answer /healthz within {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
