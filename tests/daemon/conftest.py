from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.daemon_process import DaemonProcess


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A local-mode daemon shared by a module's tests, with short timeouts."""
    data_dir = tmp_path_factory.mktemp("daemon") / "data"
    process = DaemonProcess(
        data_dir,
        "--long-poll-timeout",
        "1.5",
        "--quiet-grace",
        "0.5",
        "--trace-buffer",
        "50",
        "--max-body-bytes",
        "200000",
        "--no-build",
    ).start()
    yield process
    process.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
