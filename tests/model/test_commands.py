"""The ``akita model build`` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from akita_model import cli

from .har import FIXTURES, make_entry, write_trace

ROOT = Path(__file__).resolve().parents[2]


def _akita(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "akita_model", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_build_writes_the_model_and_one_summary_line(tmp_path: Path) -> None:
    trace = write_trace(
        tmp_path / "trace.jsonl",
        [make_entry(url="/api/a"), "{bad", make_entry(url="/api/a", status=500)],
    )

    done = _akita("model", "build", str(trace), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"akita model build: skipped {trace}, line 2: The line is not JSON. (not-json)"
    )
    assert lines[-1] == (
        "akita: read 2 witnesses, 1 lines skipped (1 not-json), found 1 endpoint; "
        "wrote model.yaml"
    )
    document = yaml.safe_load((tmp_path / "model.yaml").read_text(encoding="utf-8"))
    validate(document)
    assert document["paths"]["/api/a"]["get"]["x-akita-status-counts"] == {
        "200": 1,
        "500": 1,
    }


def test_build_takes_output_and_service_options(tmp_path: Path) -> None:
    done = _akita(
        "model",
        "build",
        str(FIXTURES / "browser.har"),
        "-o",
        "out.json",
        "--service",
        "users",
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "akita: read 3 witnesses, 0 lines skipped, found 2 endpoints; wrote out.json"
    ]
    document = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    validate(document)
    assert document["info"]["title"] == "users"
    histogram = document["paths"]["/api/v2/users/{user_id}"]["get"]["x-akita-latency"]
    assert histogram["histogram"]["le"][-1] == "+Inf"


def test_a_missing_trace_is_one_error_line_and_status_1(tmp_path: Path) -> None:
    done = _akita("model", "build", "missing.jsonl", cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr == (
        "akita model build: error: The trace 'missing.jsonl' does not exist; "
        "check the path.\n"
    )
    assert not (tmp_path / "model.yaml").exists()


def test_an_empty_trace_warns(tmp_path: Path) -> None:
    trace = tmp_path / "empty.jsonl"
    trace.write_text("", encoding="utf-8")

    done = _akita("model", "build", str(trace), cwd=tmp_path)

    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "akita model build: warning: The trace has no witnesses, so the model has no "
        "endpoints; check that the right trace was given.",
        "akita: read 0 witnesses, 0 lines skipped, found 0 endpoints; wrote model.yaml",
    ]
    validate(yaml.safe_load((tmp_path / "model.yaml").read_text(encoding="utf-8")))


def test_bad_usage_is_status_2(tmp_path: Path) -> None:
    assert _akita("model", "build", cwd=tmp_path).returncode == 2
    assert _akita("model", "frobnicate", cwd=tmp_path).returncode == 2
    assert _akita("model", "build", "x.jsonl", "--bogus", cwd=tmp_path).returncode == 2
    zero_jobs = _akita("model", "build", "x.jsonl", "--jobs", "0", cwd=tmp_path)
    assert zero_jobs.returncode == 2
    assert zero_jobs.stderr.splitlines()[-1] == (
        "akita model build: error: argument --jobs: '0' is not 1 or more"
    )


def test_builds_the_bundled_example(tmp_path: Path) -> None:
    done = _akita(
        "model", "build", str(ROOT / "examples" / "trace.jsonl"), cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "akita: read 150 witnesses, 0 lines skipped, found 14 endpoints; "
        "wrote model.yaml"
    )
    validate(yaml.safe_load((tmp_path / "model.yaml").read_text(encoding="utf-8")))


def test_the_program_freezes_what_it_made_before_it_exits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "main", lambda: calls.append("main") or 3)
    monkeypatch.setattr(cli.gc, "freeze", lambda: calls.append("freeze"))

    assert cli.run() == 3
    assert calls == ["main", "freeze"]
