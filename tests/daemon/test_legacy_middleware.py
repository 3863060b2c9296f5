"""The original akita-django 0.1.1 middleware from PyPI, against our daemon.

The middleware runs in a virtual environment of its own (it needs
``pydantic<2``), made once under the user's cache folder, in a tiny Django
site served by gunicorn; the daemon and ``akita trace`` are ours.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.daemon.daemon_process import (
    DaemonProcess,
    free_port,
    run_trace,
    serving,
)

HERE = Path(__file__).resolve().parent
REQUIREMENTS = [
    "akita-django==0.1.1",
    "pydantic<2",
    "django>=5.2,<5.3",
    "gunicorn",
]


def _venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "akita-selfhosted" / "akita-django-venv"
    if (venv / "bin" / "gunicorn").exists():
        return venv
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *REQUIREMENTS],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if installed.returncode != 0:
        pytest.skip(
            f"akita-django 0.1.1 cannot be installed: {installed.stderr[-300:]}"
        )
    return venv


@pytest.fixture
def legacy_site(tmp_path: Path) -> Iterator[tuple[DaemonProcess, str]]:
    venv = _venv()
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import akita_django; print(akita_django.__file__)",
        ],
        env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert where.stdout.startswith(str(venv)), where.stdout
    daemon = DaemonProcess(
        tmp_path / "data", "--quiet-grace", "1.5", "--long-poll-timeout", "3"
    ).start()
    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LEGACY_AKITA_DAEMON_HOST": daemon.address,
    }
    command = [
        str(venv / "bin" / "gunicorn"),
        "legacy_site.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--chdir",
        str(HERE),
    ]
    try:
        # Run from outside the repository, whose own akita_django would
        # shadow the one from PyPI.
        with serving(
            command, port=port, probe="/api/items", env=env, cwd=tmp_path
        ) as url:
            yield daemon, url
    finally:
        daemon.stop()


def _trace(daemon: DaemonProcess, *args: str) -> str:
    return run_trace(daemon.address, *args)


@pytest.mark.slow
def test_the_original_middleware_feeds_our_daemon(
    legacy_site: tuple[DaemonProcess, str],
) -> None:
    daemon, url = legacy_site
    deadline = time.monotonic() + 20
    while "legacy-web" not in str(daemon.get("/v1/local/services").json()):
        assert time.monotonic() < deadline, "the middleware never registered"
        time.sleep(0.1)

    _trace(daemon, "start", "legacy", "--name", "legacy-trace", "--hours", "1")

    # The middleware learns of the trace from its long poll; until then the
    # requests are not captured, so keep sending until they are.
    deadline = time.monotonic() + 20
    while daemon.get("/v1/local/traces/legacy-trace").json()["witnesses"] == 0:
        assert time.monotonic() < deadline, "no witness arrived"
        httpx.get(f"{url}/api/items", timeout=5)
        time.sleep(0.1)
    for pk in range(1, 6):
        httpx.get(f"{url}/api/items/{pk}", timeout=5)
        httpx.get(f"{url}/api/users/{uuid.uuid4()}", timeout=5)
    httpx.post(f"{url}/api/items", json={"name": "new"}, timeout=5)
    deadline = time.monotonic() + 20
    while daemon.get("/v1/local/traces/legacy-trace").json()["witnesses"] < 12:
        assert time.monotonic() < deadline, "the witnesses did not all arrive"
        time.sleep(0.1)

    _trace(daemon, "stop", "legacy-trace")
    trace = daemon.wait_for_state("legacy-trace", "done", timeout=30)

    assert trace["clients"]["legacy-web"]["no_more_events"] is False
    assert trace["dropped"] == 0
    folder = daemon.data_dir / "traces" / trace["trace_id"]
    model = yaml.safe_load((folder / "model.yaml").read_text())
    assert sorted(model["paths"]) == [
        "/api/items",
        "/api/items/{item_id}",
        "/api/users/{user_id}",
    ]
    assert sorted(model["paths"]["/api/items"]) == ["get", "post"]
    item = model["paths"]["/api/items/{item_id}"]["get"]
    assert item["x-akita-witnesses"] == 5
    schema = item["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["price"] == {"type": "number"}
    user = model["paths"]["/api/users/{user_id}"]["get"]
    user_id = next(p for p in user["parameters"] if p["name"] == "user_id")
    assert user_id["schema"] == {"type": "string", "format": "uuid"}
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
