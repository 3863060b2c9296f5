"""The recording test clients."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from akita_django.recorder import TraceWriter
from akita_django.test import AsyncClient, Client

REPOSITORY = Path(__file__).resolve().parents[2]


def read_trace(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_request_is_written_and_flushed_as_it_happens(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    with Client(trace_path=trace) as client:
        client.get("/api/articles/", {"tag": ["programming", "web"], "page": "1"})
        first = read_trace(trace)
        client.post("/api/session/", {"username": "alice", "password": "wonderland"})
        client.post("/api/articles/how-to-train/comments/", {"body": "Nice."})

        assert client.recorded == 3
        assert client.trace_path == trace

    assert len(first) == 1
    witnesses = read_trace(trace)
    assert [
        (w["request"]["method"], w["request"]["url"], w["response"]["status"])
        for w in witnesses
    ] == [
        (
            "GET",
            "http://testserver/api/articles/?tag=programming&tag=web&page=1",
            200,
        ),
        ("POST", "http://testserver/api/session/", 200),
        ("POST", "http://testserver/api/articles/how-to-train/comments/", 201),
    ]
    assert witnesses[0]["_akita"] == {
        "v": 1,
        "route": "api/articles/",
        "middleware": "akita_django.test",
        "service": "django-demo",
        "obfuscated": False,
    }
    assert witnesses[0]["request"]["queryString"] == [
        {"name": "tag", "value": "programming"},
        {"name": "tag", "value": "web"},
        {"name": "page", "value": "1"},
    ]
    session_cookie = witnesses[1]["response"]["cookies"][0]
    assert session_cookie["name"] == "sessionid"
    assert witnesses[2]["request"]["cookies"] == [
        {"name": "sessionid", "value": session_cookie["value"]}
    ]
    assert witnesses[2]["request"]["postData"]["mimeType"].startswith(
        "multipart/form-data; boundary="
    )


def test_redirects_followed_are_each_recorded(tmp_path: Path) -> None:
    with Client(trace_path=tmp_path / "t.jsonl") as client:
        response = client.get("/api/articles", follow=True)

    assert response.status_code == 200
    witnesses = read_trace(tmp_path / "t.jsonl")
    assert [(w["request"]["url"], w["response"]["status"]) for w in witnesses] == [
        ("http://testserver/api/articles", 301),
        ("http://testserver/api/articles/", 200),
    ]
    assert witnesses[0]["response"]["redirectURL"] == "/api/articles/"


def test_server_errors_and_streams(tmp_path: Path) -> None:
    with Client(trace_path=tmp_path / "t.jsonl", raise_request_exception=False) as c:
        assert c.get("/api/stats/1999/").status_code == 500
        download = c.get("/api/attachments/d3b07384-d9a0-4c9b-8f3a-1c2e3d4f5a6b/")

    assert b"".join(download.streaming_content).startswith(b"%PDF-1.4")
    error, stream = read_trace(tmp_path / "t.jsonl")
    assert error["response"]["status"] == 500
    assert error["_akita"]["route"] == "api/stats/<int:year>/"
    assert stream["response"]["content"] == {
        "size": 1088,
        "mimeType": "application/pdf",
    }


def test_async_client_records(tmp_path: Path) -> None:
    async def run() -> int:
        with AsyncClient(trace_path=tmp_path / "a.jsonl") as client:
            response = await client.get(
                "/api/users/6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a5b/"
            )
            return int(response.status_code)

    assert asyncio.run(run()) == 401
    (witness,) = read_trace(tmp_path / "a.jsonl")
    assert witness["_akita"]["route"] == "api/users/<uuid:user_id>/"
    assert witness["response"]["status"] == 401


def test_default_trace_name_is_unique_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Client() as first, Client() as second:
        first.get("/api/health/")
        second.get("/api/health/")

    assert first.trace_path != second.trace_path
    names = sorted(p.name for p in tmp_path.iterdir())
    pattern = rf"akita-trace-\d{{8}}T\d{{12}}Z-{os.getpid()}\.jsonl"
    assert len(names) == 2
    assert all(re.fullmatch(pattern, name) for name in names)


def test_shared_writer_and_trace_path_exclude_each_other(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path / "t.jsonl")
    with pytest.raises(ValueError, match="trace_path or writer, not both"):
        Client(trace_path=tmp_path / "u.jsonl", writer=writer)


def test_capture_modules_import_cheaply() -> None:
    probe = (
        "import sys, akita_django.pytest_plugin; "
        "first = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'httpx', 'akita_model', 'yaml', 'syrupy')); "
        "import akita_django.middleware; "
        "second = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'akita_model', 'yaml', 'orjson')); "
        "print(first, second)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        check=True,
    )
    assert result.stdout.strip() == "[] []"
