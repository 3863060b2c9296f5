"""The ``akita`` pytest plugin, run in pytest sessions of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest_plugins = ["pytester"]

REPOSITORY = Path(__file__).resolve().parents[2]

TESTS = """
import sys

from django.test import Client


def test_with_pytest_django_client(client):
    assert client.get("/api/articles/?tag=baking").status_code == 200


def test_with_a_plain_client():
    assert Client().get("/api/articles/how-to-train/").status_code == 200


def test_with_the_fixture(akita_client):
    assert akita_client.get("/api/health/").status_code == 200
    assert akita_client.recorded == 1


def test_failing_test_keeps_its_witness():
    Client().get("/api/articles/nope/")
    assert False, "this test fails on purpose"
"""

URLS = [
    "http://testserver/api/articles/?tag=baking",
    "http://testserver/api/articles/how-to-train/",
    "http://testserver/api/health/",
    "http://testserver/api/articles/nope/",
]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(REPOSITORY))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "akita_django.demoapp.settings")
    pytester.makepyfile(test_api=TESTS)
    return pytester.path


def urls(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["request"]["url"] for line in lines]


def test_akita_trace_records_every_test_client(
    pytester: pytest.Pytester, project: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--akita-trace", "out/trace.jsonl", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["akita: recording Django test clients into *trace.jsonl"]
    )
    assert urls(project / "out" / "trace.jsonl") == URLS


def test_xdist_workers_write_parts_that_the_controller_joins_and_models(
    pytester: pytest.Pytester, project: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "--akita-trace",
        "trace.jsonl",
        "--akita-model",
        "model.yaml",
        "--akita-html",
        "report.html",
        "-p",
        "no:cacheprovider",
    )

    result.assert_outcomes(passed=3, failed=1)
    assert sorted(urls(project / "trace.jsonl")) == sorted(URLS)
    assert sorted(p.name for p in project.iterdir() if "trace" in p.name) == [
        "trace.jsonl"
    ]
    result.stdout.fnmatch_lines(
        ["akita: 4 witnesses, 3 endpoints -> model.yaml, report.html"]
    )
    model = yaml.safe_load((project / "model.yaml").read_text(encoding="utf-8"))
    assert sorted(model["paths"]) == [
        "/api/articles",
        "/api/articles/{slug}",
        "/api/health",
    ]
    assert model["x-akita-witnesses"] == 4
    assert (
        (project / "report.html")
        .read_text(encoding="utf-8")
        .startswith("<!DOCTYPE html>")
    )


def test_model_without_a_named_trace_uses_a_scratch_one(
    pytester: pytest.Pytester, project: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--akita-model", "api.json", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=3, failed=1)
    model = json.loads((project / "api.json").read_text(encoding="utf-8"))
    assert model["info"]["title"] == "django-demo"
    assert model["x-akita-witnesses"] == 4
    assert not [p for p in project.iterdir() if p.suffix == ".jsonl"]


def test_without_options_the_plugin_does_nothing(
    pytester: pytest.Pytester, project: Path
) -> None:
    pytester.makepyfile(
        test_untouched="""
import sys

import django.test.client


def test_nothing_patched(pytestconfig):
    assert django.test.client.Client.request.__module__ == "django.test.client"
    assert django.test.client.AsyncClient.request.__module__ == "django.test.client"
    assert not pytestconfig.pluginmanager.has_plugin("akita-session")
    assert "akita_django.recorder" not in sys.modules
"""
    )

    result = pytester.runpytest_subprocess(
        "test_untouched.py", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=1)
    assert not [p for p in project.iterdir() if p.suffix == ".jsonl"]
