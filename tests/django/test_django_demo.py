"""The ``akita demo`` command, run as its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]


def run_akita(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "akita_model", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_demo_writes_trace_model_and_report(tmp_path: Path) -> None:
    result = run_akita("demo", "--out", "out", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert result.stdout.splitlines()[:2] == [
        "Recorded 54 requests of the example API into out/trace.jsonl",
        "Found 16 endpoints: model in out/model.yaml, report in out/report.html",
    ]
    lines = (out / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 54
    routes = {json.loads(line)["_akita"].get("route") for line in lines}
    assert "api/articles/<slug:slug>/comments/<int:pk>/" in routes
    assert "api/users/<uuid:user_id>/" in routes

    model = yaml.safe_load((out / "model.yaml").read_text(encoding="utf-8"))
    assert model["info"]["title"] == "django-demo"
    assert model["x-akita-witnesses"] == 54
    assert sorted(model["paths"]) == [
        "/api/articles",
        "/api/articles/{slug}",
        "/api/articles/{slug}/comments",
        "/api/articles/{slug}/comments/{pk}",
        "/api/attachments/{file_id}",
        "/api/health",
        "/api/me",
        "/api/session",
        "/api/session/logout",
        "/api/stats/{year}",
        "/api/tokens",
        "/api/users/{user_id}",
    ]
    assert sorted(model["components"]["securitySchemes"]) == [
        "basicAuth",
        "sessionCookie_sessionid",
        "tokenAuth",
    ]
    stats = model["paths"]["/api/stats/{year}"]["get"]
    assert stats["x-akita-status-counts"] == {"200": 2, "500": 1, "503": 1}
    assert (out / "report.html").stat().st_size > 10_000


def test_demo_paths_can_be_named_one_by_one(tmp_path: Path) -> None:
    result = run_akita(
        "demo",
        "--trace",
        "t.jsonl",
        "--model",
        "m.json",
        "--html",
        "r.html",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "m.json").read_text())["openapi"] == "3.1.0"
    assert (tmp_path / "t.jsonl").exists() and (tmp_path / "r.html").exists()


def test_demo_that_cannot_write_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")

    result = run_akita("demo", "--out", "taken", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("akita demo: error: Cannot write the trace ")
