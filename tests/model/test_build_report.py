"""The report is written by a forked copy of the build while it writes the model.

Each build here runs in a fresh interpreter, which has one thread, as the
``akita`` program has: a test process may have others, and then the report
is written after the model, in the same process (tested here too).
"""

from __future__ import annotations

import json
import multiprocessing.process
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from akita_model import build as build_module
from akita_model.build import build_files
from akita_model.report_view import ReportError

from .har import FIXTURES

ROOT = Path(__file__).resolve().parents[2]

# Runs a build with render_report wrapped: the wrapper records the process
# it ran in, then does what MODE says. Prints what the build returned or
# raised, as JSON.
_SCRIPT = """
import json, os, sys, threading
from akita_model import report
from akita_model.build import build_files
from akita_model.errors import ModelError
from akita_model.report_view import ReportError

trace, model, html, pid_file, mode = sys.argv[1:]
render = report.render_report

def recorded(document):
    with open(pid_file, "a", encoding="utf-8") as stream:
        stream.write(f"{os.getpid()}\\n")
    if mode == "fail":
        raise ReportError("The report cannot show this document.")
    if mode == "die" and os.getpid() != int(os.environ["BUILD_PID"]):
        os._exit(3)
    return render(document)

report.render_report = recorded
os.environ["BUILD_PID"] = str(os.getpid())
try:
    result = build_files([trace], model_path=model, html_path=html)
except ModelError as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
else:
    print(json.dumps({"pid": os.getpid(), "threads": threading.active_count()}))
"""


def _build(tmp_path: Path, mode: str, model: Path | None = None) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _SCRIPT,
            str(FIXTURES / "shop.jsonl"),
            str(model or tmp_path / "model.yaml"),
            str(tmp_path / "report.html"),
            str(tmp_path / "pids"),
            mode,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, object] = json.loads(done.stdout)
    return outcome


def _render_pids(tmp_path: Path) -> list[int]:
    text = (tmp_path / "pids").read_text(encoding="utf-8")
    return [int(line) for line in text.splitlines()]


def _serial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, bytes]:
    monkeypatch.setattr(build_module, "can_fork", lambda: False)
    folder = tmp_path / "serial"
    folder.mkdir()
    build_files(
        [FIXTURES / "shop.jsonl"],
        model_path=folder / "model.yaml",
        html_path=folder / "report.html",
    )
    return (folder / "model.yaml").read_bytes(), (folder / "report.html").read_bytes()


def test_a_forked_copy_writes_the_same_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = _build(tmp_path, "render")

    assert outcome["threads"] == 1
    pids = _render_pids(tmp_path)
    assert len(pids) == 1
    assert pids[0] != outcome["pid"]
    model, report = _serial_files(tmp_path, monkeypatch)
    assert (tmp_path / "model.yaml").read_bytes() == model
    assert (tmp_path / "report.html").read_bytes() == report


def test_a_failing_report_fails_the_build_after_the_model_is_written(
    tmp_path: Path,
) -> None:
    outcome = _build(tmp_path, "fail")

    assert outcome == {
        "error": "ReportError",
        "message": "The report cannot show this document.",
    }
    assert (tmp_path / "model.yaml").stat().st_size > 0
    assert not (tmp_path / "report.html").exists()


def test_a_copy_that_dies_leaves_the_report_to_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = _build(tmp_path, "die")

    pids = _render_pids(tmp_path)
    assert pids[0] != outcome["pid"]
    assert pids[1:] == [outcome["pid"]]
    _, report = _serial_files(tmp_path, monkeypatch)
    assert (tmp_path / "report.html").read_bytes() == report


def test_the_models_failure_is_the_one_told(tmp_path: Path) -> None:
    model = tmp_path / "no-such-folder" / "model.yaml"

    outcome = _build(tmp_path, "render", model=model)

    assert outcome["error"] == "OutputError"
    assert str(outcome["message"]).startswith(
        f"The model cannot be written to {str(model)!r}: "
    )


def test_with_other_threads_the_report_is_written_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids: list[int] = []
    report = pytest.importorskip("akita_model.report")
    render = report.render_report

    def recorded(document: object) -> str:
        pids.append(threading.get_ident())
        return str(render(document))

    monkeypatch.setattr(report, "render_report", recorded)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        build_files(
            [FIXTURES / "shop.jsonl"],
            model_path=tmp_path / "model.yaml",
            html_path=tmp_path / "report.html",
        )
    finally:
        stop.set()
        other.join()

    assert pids == [threading.get_ident()]


def test_a_report_error_is_the_same_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = pytest.importorskip("akita_model.report")

    def failing(document: object) -> str:
        raise ReportError("The report cannot show this document.")

    monkeypatch.setattr(report, "render_report", failing)
    monkeypatch.setattr(build_module, "can_fork", lambda: False)

    with pytest.raises(ReportError, match="^The report cannot show this document.$"):
        build_files(
            [FIXTURES / "shop.jsonl"],
            model_path=tmp_path / "model.yaml",
            html_path=tmp_path / "report.html",
        )
    assert (tmp_path / "model.yaml").stat().st_size > 0
    assert not (tmp_path / "report.html").exists()


def test_a_fork_that_fails_leaves_the_report_to_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork(self: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(build_module, "can_fork", lambda: True)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_fork)

    build_files(
        [FIXTURES / "shop.jsonl"],
        model_path=tmp_path / "model.yaml",
        html_path=tmp_path / "report.html",
    )

    _, report = _serial_files(tmp_path, monkeypatch)
    assert (tmp_path / "report.html").read_bytes() == report
