"""Make HAR entries and traces for the model builder's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "traces"


def make_entry(
    method: str = "GET",
    url: str = "https://api.example.com/api/things",
    status: int = 200,
    *,
    route: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    query: list[tuple[str, str]] | None = None,
    cookies: list[tuple[str, str]] | None = None,
    body: Any = None,
    body_type: str = "application/json",
    response: Any = None,
    response_type: str = "application/json",
    response_headers: list[tuple[str, str]] | None = None,
    started: str = "2026-12-03T21:10:08.123456+00:00",
    time: float = 12.5,
    akita: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return one HAR entry; JSON bodies are given as Python values."""
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": n, "value": v} for n, v in headers or []],
        "queryString": [{"name": n, "value": v} for n, v in query or []],
        "cookies": [{"name": n, "value": v} for n, v in cookies or []],
        "headersSize": -1,
        "bodySize": 0,
    }
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body)
        request["postData"] = {"mimeType": body_type, "text": text}
    content: dict[str, Any] = {"size": 0, "mimeType": ""}
    if response is not None:
        text = response if isinstance(response, str) else json.dumps(response)
        content = {"size": len(text), "mimeType": response_type, "text": text}
    entry: dict[str, Any] = {
        "startedDateTime": started,
        "time": time,
        "request": request,
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in response_headers or []],
            "cookies": [],
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": time, "receive": 0},
    }
    akita_fields = dict(akita or {})
    if route is not None:
        akita_fields.setdefault("v", 1)
        akita_fields["route"] = route
    if akita_fields:
        entry["_akita"] = akita_fields
    return entry


def write_trace(path: Path, entries: list[Any]) -> Path:
    """Write entries as a JSONL trace (strings are written as raw lines)."""
    lines = [e if isinstance(e, str) else json.dumps(e) for e in entries]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
