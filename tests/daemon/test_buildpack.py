"""The Heroku buildpack: compile into a scratch app, start the daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemon.daemon_process import REPOSITORY, akita_env, free_port

BUILDPACK = REPOSITORY / "daemon"


def _health(port: int, timeout: float = 20.0, not_pid: int | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).json()
        except httpx.HTTPError:
            time.sleep(0.1)
            continue
        if health["pid"] != not_pid:
            return health
        time.sleep(0.1)
    raise AssertionError(f"no daemon answered on port {port}")


def test_detect_and_release() -> None:
    detect = subprocess.run(
        [BUILDPACK / "bin" / "detect", "/nonexistent"], capture_output=True, text=True
    )
    release = subprocess.run(
        [BUILDPACK / "bin" / "release", "/nonexistent"], capture_output=True, text=True
    )

    assert (detect.returncode, detect.stdout) == (0, "Akita daemon\n")
    assert release.returncode == 0
    assert release.stdout == "---\naddons: []\ndefault_process_types: {}\n"


def test_compile_needs_three_folders(tmp_path: Path) -> None:
    result = subprocess.run(
        [BUILDPACK / "bin" / "compile", str(tmp_path)], capture_output=True, text=True
    )

    assert result.returncode == 2
    assert result.stderr == "usage: bin/compile BUILD_DIR CACHE_DIR ENV_DIR\n"


@pytest.mark.slow
def test_compiled_app_starts_the_daemon_and_restarts_it(tmp_path: Path) -> None:
    build, cache, env_dir = (tmp_path / name for name in ("build", "cache", "env"))
    for folder in (build, cache, env_dir):
        folder.mkdir()
    (env_dir / "AKITA_SKIP_PIP_INSTALL").write_text("1")

    compiled = subprocess.run(
        [BUILDPACK / "bin" / "compile", str(build), str(cache), str(env_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout == (
        "-----> Akita daemon\n"
        "       Skipping pip install (AKITA_SKIP_PIP_INSTALL=1)\n"
        "       Installed .profile.d/akita-daemon.sh: the daemon starts with each "
        "dyno\n"
    )
    assert (build / ".profile.d" / "akita-daemon.sh").is_file()

    port = free_port()
    env = akita_env(
        HOME=str(build),
        DYNO="web.1",
        AKITA_DAEMON_PORT=str(port),
        AKITA_PYTHON=sys.executable,
        AKITA_RESTART_DELAY="0.2",
    )
    # A dyno: its shell sources .profile.d, then runs the process type.
    dyno = subprocess.Popen(
        ["bash", "-c", "for f in $HOME/.profile.d/*.sh; do . $f; done; sleep 60"],
        env=env,
        cwd=build,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        first = _health(port)
        os.kill(first["pid"], signal.SIGKILL)
        second = _health(port, not_pid=first["pid"])
    finally:
        os.killpg(dyno.pid, signal.SIGTERM)
        dyno.wait(timeout=20)

    assert (first["name"], first["mode"]) == ("heroku-web.1", "local")
    assert second["name"] == "heroku-web.1"
    assert (build / ".akita" / "data").is_dir()
    assert dyno.stderr is not None
    assert (
        "akita: [WARNING] The daemon heroku-web.1 exited with status 137; starting "
        "it again in 0.2 seconds." in dyno.stderr.read().decode()
    )
