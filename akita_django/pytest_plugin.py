"""The ``akita`` pytest plugin: record test traffic and model the API.

``pytest --akita-trace trace.jsonl`` records every request made through
Django's test clients (``django.test.Client`` and ``AsyncClient``, so also
pytest-django's ``client`` and ``async_client``) into the trace file.
``--akita-model model.yaml`` and ``--akita-html report.html`` build the API
model of the session at its end. Under pytest-xdist each worker writes a
file of its own and the controller joins them into the one named.

The fixture ``akita_client`` is a recording client with a trace file of its
own test, and ``akita_openapi_snapshot`` compares its model with a YAML
snapshot. Without any of its options and fixtures the plugin does nothing:
this module imports only pytest.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

    from akita_django.recorder import TraceWriter
    from akita_django.test import AsyncClient, Client

PLUGIN_NAME = "akita-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the plugin's options."""
    group = parser.getgroup("akita", "record API traffic and model it with Akita")
    group.addoption(
        "--akita-trace",
        metavar="PATH",
        help="record every request of Django's test clients into this trace",
    )
    group.addoption(
        "--akita-model",
        metavar="PATH",
        help="build the API model of the recorded requests into this file "
        "(YAML, or JSON when it ends in .json)",
    )
    group.addoption(
        "--akita-html",
        metavar="PATH",
        help="write the HTML report of the API model to this file",
    )
    group.addoption(
        "--akita-service",
        metavar="NAME",
        help="the title of the API model (default: AKITA_SERVICE_NAME)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start recording the session when an option asks for it."""
    trace = config.getoption("akita_trace")
    model = config.getoption("akita_model")
    html = config.getoption("akita_html")
    if not (trace or model or html):
        return
    config.pluginmanager.register(
        SessionRecording(config, trace, model, html), PLUGIN_NAME
    )


class SessionRecording:
    """Record a whole test session, then join and model what it recorded."""

    def __init__(
        self,
        config: pytest.Config,
        trace: str | None,
        model: str | None,
        html: str | None,
    ) -> None:
        self.model_path = model
        self.html_path = html
        self.service = config.getoption("akita_service")
        worker = getattr(config, "workerinput", None)
        self.worker_id: str | None = worker["workerid"] if worker else None
        self._scratch: Path | None = None
        if worker and "akita_trace" in worker:
            self.trace_path = Path(worker["akita_trace"])
        elif trace:
            self.trace_path = Path(trace).resolve()
        else:
            # A model without a named trace is built from a scratch one.
            self._scratch = Path(tempfile.mkdtemp(prefix="akita-"))
            self.trace_path = self._scratch / "trace.jsonl"
        self._restore: Callable[[], None] | None = None
        self._summary = ""
        self.writer: TraceWriter | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Tell an xdist worker where the session's trace is."""
        node.workerinput["akita_trace"] = str(self.trace_path)

    def _own_path(self) -> Path:
        if self.worker_id is None:
            return self.trace_path
        return self.trace_path.with_name(
            f"{self.trace_path.name}.{self.worker_id}.part"
        )

    def _part_paths(self) -> list[Path]:
        parts = self.trace_path.parent.glob(f"{self.trace_path.name}.gw*.part")
        return sorted(parts, key=lambda p: int(p.name.rsplit(".", 2)[1][2:] or 0))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Start an empty trace and record Django's test clients into it."""
        from akita_django.recorder import TraceWriter

        own = self._own_path()
        own.parent.mkdir(parents=True, exist_ok=True)
        if self.worker_id is None:
            for stale in self._part_paths():
                stale.unlink()
        own.write_text("", encoding="utf-8")
        self.writer = TraceWriter(own)
        self._restore = _record_test_clients(self.writer)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Stop recording; join the workers' traces; build the model."""
        if self._restore is not None:
            self._restore()
            self._restore = None
        if self.writer is not None:
            self.writer.close()
        if self.worker_id is not None:
            return

        self._join_parts()
        if self.model_path or self.html_path:
            self._build()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _join_parts(self) -> None:
        parts = self._part_paths()
        if not parts:
            return
        with self.trace_path.open("ab") as joined:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, joined)
                part.unlink()

    def _build(self) -> None:
        from akita_model.build import build_files

        result = build_files(
            [str(self.trace_path)],
            service=self.service,
            model_path=self.model_path,
            html_path=self.html_path,
        )
        written = ", ".join(p for p in (self.model_path, self.html_path) if p)
        self._summary = (
            f"akita: {result.witnesses} witnesses, {result.endpoints} endpoints "
            f"-> {written}"
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Say what the model build wrote."""
        if self._summary:
            terminalreporter.write_line(self._summary)

    def pytest_report_header(self, config: pytest.Config) -> str:
        """Say where the session's trace goes."""
        return f"akita: recording Django test clients into {self.trace_path}"


def _record_test_clients(writer: TraceWriter) -> Callable[[], None]:
    """Wrap Django's test clients so that each request is recorded.

    Returns the function that puts the original methods back.
    """
    from django.test.client import AsyncClient, Client

    from akita_django.recorder import Stopwatch, capture_fields, record_exchange

    sync_request = Client.request
    async_request = AsyncClient.request

    def request(self: Any, **kwargs: Any) -> Any:
        if getattr(self, "_akita_writer", None) is writer:
            return sync_request(self, **kwargs)
        stopwatch = Stopwatch()
        response = sync_request(self, **kwargs)
        record_exchange(writer, response, stopwatch, capture_fields())
        return response

    async def arequest(self: Any, **kwargs: Any) -> Any:
        if getattr(self, "_akita_writer", None) is writer:
            return await async_request(self, **kwargs)
        stopwatch = Stopwatch()
        response = await async_request(self, **kwargs)
        record_exchange(writer, response, stopwatch, capture_fields())
        return response

    Client.request = request
    AsyncClient.request = arequest

    def restore() -> None:
        Client.request = sync_request
        AsyncClient.request = async_request

    return restore


@pytest.fixture
def akita_client(tmp_path: Path) -> Iterator[Client]:
    """Return a recording ``Client`` whose trace is this test's own."""
    from akita_django.test import Client

    with Client(trace_path=tmp_path / "akita-trace.jsonl") as client:
        yield client


@pytest.fixture
def akita_async_client(tmp_path: Path) -> Iterator[AsyncClient]:
    """Return a recording ``AsyncClient`` whose trace is this test's own."""
    from akita_django.test import AsyncClient

    with AsyncClient(trace_path=tmp_path / "akita-trace.jsonl") as client:
        yield client


@pytest.fixture
def akita_openapi_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return syrupy's ``snapshot``, storing OpenAPI documents as YAML."""
    from akita_django.snapshot import OpenAPISnapshotExtension

    return snapshot.use_extension(OpenAPISnapshotExtension)
