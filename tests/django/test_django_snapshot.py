"""The OpenAPI snapshot: fails when a view changes, --snapshot-update fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from akita_django.snapshot import OpenAPISnapshotExtension, stable_openapi

pytest_plugins = ["pytester"]

REPOSITORY = Path(__file__).resolve().parents[2]

SETTINGS = """
SECRET_KEY = "snapshot-test"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "snapurls"
DATABASES = {}
USE_TZ = True
AKITA_SERVICE_NAME = "books"
"""

URLS = """
from django.http import JsonResponse
from django.urls import path


def book(request, pk):
    return JsonResponse({FIELDS})


urlpatterns = [path("books/<int:pk>/", book)]
"""

TEST = """
def test_books_model(akita_client, akita_openapi_snapshot):
    assert akita_client.get("/books/7/").status_code == 200
    assert akita_client.get("/books/8/").status_code == 200
    assert akita_client.openapi() == akita_openapi_snapshot
"""

SNAPSHOT = Path("__snapshots__") / "test_books" / "test_books_model.yaml"


@pytest.fixture
def books(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", f"{pytester.path}:{REPOSITORY}")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "snapsettings")
    pytester.makepyfile(snapsettings=SETTINGS, test_books=TEST)
    return pytester.path


def write_view(pytester: pytest.Pytester, fields: str) -> None:
    pytester.makepyfile(snapurls=URLS.replace("FIELDS", fields))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_snapshot_fails_on_a_changed_view_until_updated(
    pytester: pytest.Pytester, books: Path
) -> None:
    write_view(pytester, '"id": pk, "title": "Dune"')
    run(pytester, "--snapshot-update").assert_outcomes(passed=1)
    stored = (books / SNAPSHOT).read_text(encoding="utf-8")
    run(pytester).assert_outcomes(passed=1)

    write_view(pytester, '"id": pk, "title": "Dune", "isbn": "9780441013593"')
    changed = run(pytester)
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*isbn*"])

    run(pytester, "--snapshot-update").assert_outcomes(passed=1)
    run(pytester).assert_outcomes(passed=1)
    updated = (books / SNAPSHOT).read_text(encoding="utf-8")

    document = yaml.safe_load(stored)
    operation = document["paths"]["/books/{pk}"]["get"]
    assert document["info"]["title"] == "books"
    assert operation["x-akita-witnesses"] == 2
    assert operation["x-akita-status-counts"] == {"200": 2}
    assert "x-akita-latency" not in operation
    assert "x-akita-first-seen" not in operation
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert sorted(schema["properties"]) == ["id", "title"]
    assert "isbn:" not in stored
    assert "isbn:" in updated


def test_stable_openapi_drops_only_the_volatile_parts() -> None:
    document = {
        "paths": {
            "/a": {
                "get": {
                    "x-akita-witnesses": 3,
                    "x-akita-first-seen": "2026-12-03T21:10:08+00:00",
                    "x-akita-last-seen": "2026-12-03T21:11:08+00:00",
                    "x-akita-latency": {"count": 3, "p50": 1.5},
                    "parameters": [{"name": "q", "x-akita-latency": 1}],
                }
            }
        }
    }

    assert stable_openapi(document) == {
        "paths": {
            "/a": {"get": {"x-akita-witnesses": 3, "parameters": [{"name": "q"}]}}
        }
    }


def test_extension_refuses_what_is_not_a_document() -> None:
    with pytest.raises(TypeError, match="takes the document as a dict, not list"):
        OpenAPISnapshotExtension().serialize([1, 2])
