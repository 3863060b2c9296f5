"""Console mode: heartbeats, traces taken from the console, uploads.

The daemon talks to the console as docs/console-protocol.md says: it sends
a heartbeat every ``heartbeat_interval`` seconds, long-polls the console for
each service its middleware registered (to learn which traces to activate
and deactivate), and uploads each ended trace's witnesses, model and report.
Every request carries the API key as HTTP basic credentials. Uploads are
retried with exponential backoff, and carry an idempotency key made of the
trace id, the artefact and its digest, so a retried upload is stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zlib
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx

from akita_daemon import traces as states
from akita_daemon.daemon import Daemon, Service
from akita_daemon.errors import ConsoleError, TraceConflict
from akita_daemon.finish import MODEL_FILE, REPORT_FILE
from akita_daemon.spool import WITNESSES_FILE
from akita_daemon.traces import ARTEFACTS, Trace
from akita_model import __version__

logger = logging.getLogger(__name__)

# The console holds a long poll up to 60 seconds; wait a little longer.
LONG_POLL_TIMEOUT = 75.0
REQUEST_TIMEOUT = 30.0
MAX_BACKOFF = 60.0
RETRIED_STATUSES = frozenset((408, 429, 500, 502, 503, 504))
CHUNK = 256 * 1024

# artefact -> (file, media type, gzip it)
ARTEFACT_FILES: dict[str, tuple[str, str, bool]] = {
    "witnesses": (WITNESSES_FILE, "application/x-ndjson", True),
    "model": (MODEL_FILE, "application/yaml", False),
    "report": (REPORT_FILE, "text/html; charset=utf-8", False),
}


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_chunks(path: Path, gzip: bool) -> Iterator[bytes]:
    compressor = zlib.compressobj(wbits=31) if gzip else None
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            yield compressor.compress(chunk) if compressor else chunk
    if compressor is not None:
        yield compressor.flush()


async def _stream_file(path: Path, gzip: bool) -> AsyncIterator[bytes]:
    chunks = _read_chunks(path, gzip)
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        yield chunk


def idempotency_key(trace: Trace, artefact: str, digest: str) -> str:
    """Return the key that makes an artefact's upload happen once."""
    return f"{trace.trace_id}:{artefact}:{digest[:32]}"


class ConsoleLink:
    """The daemon's side of the console protocol, as asyncio tasks."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        settings = daemon.settings
        if settings.console_url is None:
            raise ConsoleError("Console mode needs AKITA_CONSOLE_URL.")
        self.settings = settings
        self.http = httpx.AsyncClient(
            base_url=settings.console_url,
            auth=(settings.api_key_id or "", settings.api_key_secret or ""),
            headers={"User-Agent": f"akita-daemon/{__version__}"},
            timeout=REQUEST_TIMEOUT,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._polled: set[str] = set()
        self._uploading: set[str] = set()

    async def start(self) -> None:
        """Start the heartbeat, the service polls and pending uploads."""
        self.daemon.on_new_service.append(self._service_seen)
        self.daemon.on_trace_ended.append(self._trace_ended)
        self._spawn(self._heartbeat_forever(), "heartbeat")
        for service in list(self.daemon.services.values()):
            self._service_seen(service)
        for trace in list(self.daemon.traces.values()):
            if trace.state == states.UPLOADING:
                self._trace_ended(trace)

    async def close(self) -> None:
        """Cancel every task and close the connections."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(job, name=f"akita-console-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Heartbeat.

    def heartbeat_body(self) -> dict[str, Any]:
        """Describe the daemon, its services and their middleware."""
        return {
            "daemon_name": self.settings.name,
            "version": __version__,
            "services": [
                {
                    "name": service.name,
                    "middleware": sorted(service.middleware),
                    "active_trace_ids": sorted(self.daemon.active_traces(service.name)),
                }
                for service in sorted(
                    self.daemon.services.values(), key=lambda s: s.name
                )
            ],
        }

    async def _heartbeat_forever(self) -> None:
        while True:
            try:
                response = await self.http.post(
                    "/v1/daemon/heartbeat", json=self.heartbeat_body()
                )
                if response.is_error:
                    logger.warning(
                        "The console refused a heartbeat (%d): %s",
                        response.status_code,
                        response.text[:200],
                    )
            except httpx.HTTPError as exc:
                logger.warning("The console cannot be reached for a heartbeat: %s", exc)
            await asyncio.sleep(self.settings.heartbeat_interval)

    # Traces to activate and deactivate, per service.

    def _service_seen(self, service: Service) -> None:
        if service.name in self._polled:
            return
        self._polled.add(service.name)
        self._spawn(self._poll_forever(service), f"poll-{service.name}")

    async def _poll_forever(self, service: Service) -> None:
        backoff = self.settings.upload_backoff
        while True:
            try:
                await self._poll_once(service)
                backoff = self.settings.upload_backoff
            except ConsoleError as exc:
                logger.warning("%s Retrying in %.0f seconds.", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)

    async def _poll_once(self, service: Service) -> None:
        active = [
            trace_id
            for trace_id, trace in self.daemon.active_traces(service.name).items()
            if trace.source == "console"
        ]
        body = {
            "daemon_name": self.settings.name,
            "active_trace_ids": sorted(active),
            "middleware": sorted(service.middleware),
        }
        try:
            response = await self.http.post(
                f"/v1/services/{service.name}/daemon",
                json=body,
                timeout=LONG_POLL_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise ConsoleError(f"The console cannot be reached: {exc}.") from exc

        if response.status_code == 404:
            message = _message(response)
            if service.refused != message:
                service.refused = message
                service.notify()
            raise ConsoleError(f"The console does not know service {service.name!r}.")
        if response.is_error:
            raise ConsoleError(
                f"The console refused the long poll of service {service.name!r} "
                f"({response.status_code}): {_message(response)}"
            )
        if service.refused is not None:
            service.refused = None
            service.notify()

        document = response.json()
        await self._apply(service, document)

    async def _apply(self, service: Service, document: Any) -> None:
        if not isinstance(document, dict):
            raise ConsoleError("The console's long poll answer is not an object.")

        for trace_id in document.get("deactivated_traces", []):
            trace = self.daemon.traces.get(trace_id)
            if trace is not None and trace.is_active:
                await self.daemon.stop_trace(trace)
        for options in document.get("activated_traces", []):
            trace_id = options.get("trace_id")
            if not isinstance(trace_id, str) or trace_id in self.daemon.traces:
                continue
            try:
                await self.daemon.start_trace(
                    service.name,
                    str(options.get("trace_name") or trace_id),
                    None,
                    trace_id=trace_id,
                    source="console",
                    sampling_rate=float(options.get("sampling_rate") or 1.0),
                    filter_third_party_trackers=bool(
                        options.get("filter_third_party_trackers", True)
                    ),
                )
            except TraceConflict as exc:
                logger.warning("Cannot activate trace %s: %s", trace_id, exc.message)

    # Uploads.

    def _trace_ended(self, trace: Trace) -> None:
        if trace.trace_id in self._uploading:
            return
        self._uploading.add(trace.trace_id)
        self._spawn(self._upload_trace(trace), f"upload-{trace.trace_id}")

    async def _upload_trace(self, trace: Trace) -> None:
        try:
            folder = self.daemon.trace_folder(trace)
            for artefact in ARTEFACTS:
                if artefact in trace.uploaded:
                    continue
                path = folder / ARTEFACT_FILES[artefact][0]
                if not path.exists():
                    continue
                await self._upload_with_retries(trace, artefact, path)
                trace.uploaded.append(artefact)
                await self.daemon.save(trace)
            trace.state = states.DONE
            logger.info(
                "Uploaded trace %s (%s) to the console.", trace.name, trace.trace_id
            )
        except ConsoleError as exc:
            trace.state = states.FAILED
            trace.error = str(exc)
            logger.error("Trace %s was not uploaded: %s", trace.name, exc)
        finally:
            self._uploading.discard(trace.trace_id)
        await self.daemon.save(trace)

    async def _upload_with_retries(
        self, trace: Trace, artefact: str, path: Path
    ) -> None:
        file_name, media_type, gzip = ARTEFACT_FILES[artefact]
        digest = await asyncio.to_thread(file_digest, path)
        headers = {
            "Content-Type": media_type,
            "Idempotency-Key": idempotency_key(trace, artefact, digest),
            "X-Akita-Content-SHA256": digest,
            "X-Akita-Trace-Name": trace.name,
            "X-Akita-Daemon": self.settings.name,
        }
        if gzip:
            headers["Content-Encoding"] = "gzip"
        url = f"/v1/services/{trace.service}/traces/{trace.trace_id}/{artefact}"

        backoff = self.settings.upload_backoff
        for attempt in range(1, self.settings.upload_attempts + 1):
            try:
                response = await self.http.put(
                    url, content=_stream_file(path, gzip), headers=headers
                )
            except httpx.HTTPError as exc:
                problem = f"the console cannot be reached: {exc}"
            else:
                if response.is_success:
                    return
                problem = (
                    f"the console answered {response.status_code}: {_message(response)}"
                )
                if response.status_code not in RETRIED_STATUSES:
                    raise ConsoleError(f"The {artefact} upload failed: {problem}.")
            if attempt < self.settings.upload_attempts:
                logger.warning(
                    "Upload of the %s of trace %s failed (%s); retry %d in %.1f s.",
                    artefact,
                    trace.name,
                    problem,
                    attempt,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
        raise ConsoleError(
            f"The {artefact} upload failed {self.settings.upload_attempts} times; "
            f"last, {problem}."
        )


def _message(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return str(document["message"])
    return response.text[:200]
