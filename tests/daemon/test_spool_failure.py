"""A spool that cannot be written: 503, and nothing acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from akita_daemon.app import build_app
from akita_daemon.daemon import Daemon
from akita_daemon.errors import SpoolError
from akita_daemon.settings import Settings
from akita_daemon.spool import TraceSpool
from tests.daemon.daemon_process import witness


def test_a_failed_flush_is_503_and_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: TraceSpool, data: bytes, lines: int) -> None:
        raise SpoolError(f"Witnesses could not be written to {str(self.path)!r}.")

    daemon = Daemon(Settings(name="t", data_dir=tmp_path, build_models=False))

    async def scenario() -> tuple[Any, httpx.Response, Any]:
        await daemon.start()
        transport = httpx.ASGITransport(app=build_app(daemon))
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://daemon"
            ) as client:
                created = await client.post(
                    "/v1/local/traces", json={"service": "s", "name": "t1"}
                )
                monkeypatch.setattr(TraceSpool, "append", full_disk)
                response = await client.post(
                    "/v1/services/s/traces/t1/events",
                    json={"client_name": "web", "trace_events": [witness()]},
                )
                shown = await client.get("/v1/local/traces/t1")
        finally:
            await daemon.close()
        return created.json(), response, shown.json()

    created, response, shown = asyncio.run(scenario())

    spool = tmp_path / "traces" / created["trace_id"] / "witnesses.jsonl"
    assert response.status_code == 503
    assert response.json() == {
        "message": f"Witnesses could not be written to {str(spool)!r}."
    }
    assert shown["witnesses"] == 0
