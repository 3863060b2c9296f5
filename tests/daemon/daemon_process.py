"""Run a real daemon process on 127.0.0.1 for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def akita_env(**extra: str) -> dict[str, str]:
    """Return an environment that runs this repository's ``akita``."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("AKITA_")
    }
    env["PYTHONPATH"] = str(REPOSITORY)
    env.update(extra)
    return env


def akita_command(*args: str) -> list[str]:
    """Return the command line of ``akita ARGS`` from this repository."""
    return [sys.executable, "-m", "akita_model", *args]


def run_trace(address: str, *args: str) -> str:
    """Run ``akita trace --daemon ADDRESS ARGS``, check it worked, return stdout."""
    result = subprocess.run(
        akita_command("trace", "--daemon", address, *args),
        env=akita_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@contextmanager
def serving(
    command: list[str], *, port: int, probe: str, env: dict[str, str], cwd: Path
) -> Iterator[str]:
    """Run a web server process until it answers ``probe``; yield its URL.

    The server's standard error goes to ``cwd/gunicorn.log``; it is stopped
    on the way out.
    """
    server = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=open(cwd / "gunicorn.log", "wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}{probe}", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


class DaemonProcess:
    """An ``akita daemon`` subprocess, its port, data folder and log."""

    def __init__(
        self,
        data_dir: Path,
        *options: str,
        name: str = "test-daemon",
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.name = name
        self.options = options
        self.env = env or {}
        self.log_path = data_dir.parent / f"{data_dir.name}-daemon.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self, timeout: float = 20.0) -> DaemonProcess:
        """Start the daemon and wait until it answers its health check."""
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            akita_command(
                "daemon",
                "--name",
                self.name,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                *self.options,
            ),
            env=akita_env(**self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited early:\n{self.log()}")
            try:
                httpx.get(f"{self.url}/v1/health", timeout=1.0)
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            return self
        raise RuntimeError(f"the daemon did not come up:\n{self.log()}")

    def log(self) -> str:
        return (
            self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        )

    def kill(self) -> None:
        """Kill the daemon with SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int:
        """Stop the daemon with SIGTERM and return its exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=30.0, **kwargs)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=30.0)

    def start_trace(self, service: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/local/traces", {"service": service, **fields})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def wait_for_state(
        self, name: str, state: str, timeout: float = 20.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        trace: dict[str, Any] = {}
        while time.monotonic() < deadline:
            trace = dict(self.get(f"/v1/local/traces/{name}").json())
            if trace["state"] == state:
                return trace
            time.sleep(0.05)
        raise AssertionError(f"trace {name} is {trace.get('state')}, not {state}")


def witness(
    path: str = "/api/items/7",
    *,
    method: str = "GET",
    status: int = 200,
    body: str | None = None,
    route: str | None = None,
    response_body: str = '{"id": 7}',
    headers: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Return a HAR entry like the middleware sends."""
    entry: dict[str, Any] = {
        "startedDateTime": "2026-12-03T21:10:08.123456+00:00",
        "time": 12.5,
        "request": {
            "method": method,
            "url": f"http://testserver{path}",
            "httpVersion": "HTTP/1.1",
            "headers": headers or [{"name": "Accept", "value": "application/json"}],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": status,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "cookies": [],
            "content": {
                "size": len(response_body),
                "mimeType": "application/json",
                "text": response_body,
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(response_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 12.5, "receive": 0},
    }
    if body is not None:
        entry["request"]["postData"] = {"mimeType": "application/json", "text": body}
    if route is not None:
        entry["_akita"] = {"v": 1, "route": route}
    return entry
