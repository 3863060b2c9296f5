"""The daemon's HTTP endpoints, as a Starlette application.

The middleware endpoints speak the wire protocol of Akita's daemon (see
docs/daemon.md); the ``/v1/local/...`` endpoints control traces when no
console does. Every request body is JSON, sent with a JSON content type
(else 415) and within a size limit (else 413). Errors are answered as
``{"message": ...}`` with a status that says what went wrong.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from akita_daemon.daemon import Daemon, TraceBufferFull
from akita_daemon.errors import RequestError, SpoolError, TraceConflict
from akita_daemon.ingest import parse_registration
from akita_daemon.traces import Trace
from akita_model import __version__

logger = logging.getLogger(__name__)


class JSONResponse(Response):
    """A response whose body is JSON, written by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(status_code: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status_code)


def _is_json_content_type(value: str) -> bool:
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_body(request: Request, limit: int) -> bytes:
    """Read a request's body, refusing a type not JSON or too many bytes.

    Raises:
        RequestError: 415 or 413, with a message naming the problem.
    """
    content_type = request.headers.get("content-type", "")
    if not _is_json_content_type(content_type):
        raise RequestError(
            "The request body must be JSON, sent with 'Content-Type: "
            f"application/json'; got {content_type or 'no content type'!r}.",
            415,
        )

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(
            f"The request body has {int(declared)} bytes, more than the limit of "
            f"{limit}; send smaller batches.",
            413,
        )

    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(
                f"The request body is more than the limit of {limit} bytes; "
                "send smaller batches.",
                413,
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """Read and parse a request's JSON body.

    Raises:
        RequestError: 415, 413 or 400, with a message naming the problem.
    """
    body = await read_body(request, limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}.") from exc


def trace_options(trace: Trace) -> dict[str, Any]:
    """Describe an active trace to the middleware.

    ``sample_rate`` repeats ``sampling_rate`` under the name the original
    middleware reads.
    """
    return {
        "trace_name": trace.name,
        "trace_id": trace.trace_id,
        "service_id": trace.service,
        "sampling_rate": trace.sampling_rate,
        "sample_rate": trace.sampling_rate,
        "filter_third_party_trackers": trace.filter_third_party_trackers,
    }


def build_app(daemon: Daemon, extra_lifespan: Any = None) -> Starlette:
    """Return the Starlette application that serves ``daemon``."""
    limit = daemon.settings.max_body_bytes

    async def middleware_poll(request: Request) -> Response:
        service = request.path_params["service"]
        registration = parse_registration(await read_json(request, limit))
        activated, deactivated = await daemon.long_poll(service, registration)
        return JSONResponse(
            {
                "activated_traces": [trace_options(t) for t in activated],
                "deactivated_traces": deactivated,
            },
            status_code=202,
        )

    async def events(request: Request) -> Response:
        service = request.path_params["service"]
        trace_name = request.path_params["trace_name"]
        body = await read_body(request, limit)
        try:
            trace, batch = await daemon.ingest(service, trace_name, body)
        except TraceBufferFull as exc:
            return _error(
                422,
                str(exc),
                dropped=exc.dropped,
                dropped_total=exc.trace.dropped,
            )
        return JSONResponse(
            {"accepted": batch.received, "trace_id": trace.trace_id},
            status_code=202,
        )

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "name": daemon.settings.name,
                "version": __version__,
                "mode": "console" if daemon.settings.console_mode else "local",
                "pid": os.getpid(),
            }
        )

    def _refuse_in_console_mode() -> None:
        if daemon.settings.console_mode:
            raise TraceConflict(
                "This daemon takes its traces from the console at "
                f"{daemon.settings.console_url}; start and stop traces there."
            )

    async def list_traces(request: Request) -> Response:
        traces = sorted(daemon.traces.values(), key=lambda t: t.created_at)
        return JSONResponse({"traces": [t.to_public() for t in traces]})

    async def start_trace(request: Request) -> Response:
        _refuse_in_console_mode()
        body = await read_json(request, limit)
        service, name, hours = _parse_start(body)
        trace = await daemon.start_trace(service, name, hours)
        return JSONResponse(trace.to_public(), status_code=201)

    async def show_trace(request: Request) -> Response:
        trace = daemon.find_trace(request.path_params["name"])
        return JSONResponse(trace.to_public())

    async def stop_trace(request: Request) -> Response:
        _refuse_in_console_mode()
        trace = daemon.find_trace(request.path_params["name"])
        await daemon.stop_trace(trace)
        return JSONResponse(trace.to_public())

    async def list_services(request: Request) -> Response:
        return JSONResponse(
            {
                "services": [
                    {
                        "name": service.name,
                        "middleware": sorted(service.middleware),
                        "active_traces": sorted(
                            t.name for t in daemon.active_traces(service.name).values()
                        ),
                    }
                    for service in sorted(
                        daemon.services.values(), key=lambda s: s.name
                    )
                ]
            }
        )

    async def request_error(request: Request, exc: Exception) -> Response:
        refused = cast(RequestError, exc)
        return _error(refused.status_code, refused.message)

    async def spool_error(request: Request, exc: Exception) -> Response:
        # Nothing was acknowledged: the client may send the batch again.
        logger.error("Witnesses could not be spooled: %s", exc)
        return _error(503, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        refused = cast(HTTPException, exc)
        return _error(refused.status_code, str(refused.detail))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await daemon.start()
        try:
            if extra_lifespan is None:
                yield
            else:
                async with extra_lifespan():
                    yield
        finally:
            await daemon.close()

    routes = [
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/services/{service}/middleware", middleware_poll, methods=["POST"]),
        Route(
            "/v1/services/{service}/traces/{trace_name}/events",
            events,
            methods=["POST"],
        ),
        Route("/v1/local/traces", list_traces, methods=["GET"]),
        Route("/v1/local/traces", start_trace, methods=["POST"]),
        Route("/v1/local/traces/{name}", show_trace, methods=["GET"]),
        Route("/v1/local/traces/{name}/stop", stop_trace, methods=["POST"]),
        Route("/v1/local/services", list_services, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            RequestError: request_error,
            SpoolError: spool_error,
            HTTPException: http_error,
        },
    )


def _parse_start(body: Any) -> tuple[str, str | None, float]:
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")

    service = body.get("service")
    if not isinstance(service, str) or not service:
        raise RequestError(
            f"The field 'service' must name the service to trace, not {service!r}."
        )
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise RequestError(f"The field 'name' must be a string, not {name!r}.")
    hours = body.get("hours", 1)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
        raise RequestError(
            f"The field 'hours' must be a number of hours above zero, not {hours!r}."
        )
    return service, name, float(hours)
