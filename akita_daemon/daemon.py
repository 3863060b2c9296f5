"""The daemon's core: services, traces, long polls, ingest and trace ends.

:class:`Daemon` holds the state that the HTTP endpoints read and change. It
runs on one asyncio event loop; blocking work (flushing the spool, building
a model) goes to worker threads. A periodic tick moves traces along their
life (see :mod:`akita_daemon.traces`): it stops those whose hours are up,
ends those whose clients are done, and has their models built.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from akita_daemon import traces as states
from akita_daemon.errors import TraceConflict, TraceNotFound
from akita_daemon.finish import build_trace_model
from akita_daemon.ingest import PreparedBatch, Registration, prepare_batch
from akita_daemon.naming import is_valid_trace_name, new_trace_id, new_trace_name
from akita_daemon.settings import Settings
from akita_daemon.spool import BufferFull, SpoolWriter, TraceSpool
from akita_daemon.traces import Trace, TraceFolders, now

logger = logging.getLogger(__name__)


class TraceBufferFull(Exception):
    """A batch was dropped because its trace's buffer is full."""

    def __init__(self, trace: Trace, dropped: int) -> None:
        super().__init__(
            f"The buffer of trace {trace.name!r} is full: {dropped} witnesses "
            "were dropped. Send smaller batches or more slowly."
        )
        self.trace = trace
        self.dropped = dropped


@dataclass
class Service:
    """A service (project) known to the daemon, and the middleware seen for it."""

    name: str
    middleware: dict[str, float] = field(default_factory=dict)
    refused: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        """Wake every long poll waiting on this service."""
        self.changed.set()
        self.changed = asyncio.Event()


class Daemon:
    """The state of a running daemon and what can be done to it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folders = TraceFolders(settings.data_dir)
        self.services: dict[str, Service] = {}
        self.traces: dict[str, Trace] = {}
        self._writers: dict[str, SpoolWriter] = {}
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._tick_task: asyncio.Task[None] | None = None
        self._workers: ProcessPoolExecutor | None = None
        # Console mode listens here: for services to poll, traces to upload.
        self.on_new_service: list[Callable[[Service], None]] = []
        self.on_trace_ended: list[Callable[[Trace], None]] = []

    # Start and stop.

    async def start(self) -> None:
        """Resume the traces kept in the data directory and start the tick."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.workers > 0:
            self._workers = ProcessPoolExecutor(
                self.settings.workers, mp_context=multiprocessing.get_context("spawn")
            )
        started = now()
        for trace in self.folders.load_all():
            self.traces[trace.trace_id] = trace
            self.service(trace.service)
            if trace.takes_events:
                await self._open_writer(trace)
                trace.last_event_at = started
            if trace.is_active:
                logger.info("Activating trace %s (%s)", trace.name, trace.trace_id)
        self._tick_task = asyncio.create_task(self._tick_forever(), name="akita-tick")

    async def close(self) -> None:
        """Stop the tick, wait for the spool flushes, close the files."""
        if self._tick_task is not None:
            self._tick_task.cancel()
        for job in list(self._jobs.values()):
            job.cancel()
        for writer in self._writers.values():
            await writer.drain()
            writer.spool.close()
        self._writers.clear()
        if self._workers is not None:
            # Waited for, in a thread: a pool shut down without waiting
            # leaves its worker processes running after this process ends.
            workers, self._workers = self._workers, None
            await asyncio.to_thread(workers.shutdown, wait=True, cancel_futures=True)

    async def _open_writer(self, trace: Trace) -> None:
        spool = TraceSpool(self.folders.folder(trace))
        await asyncio.to_thread(spool.open)
        trace.witnesses = spool.lines
        self._writers[trace.trace_id] = SpoolWriter(spool, self.settings.trace_buffer)

    # Services and middleware.

    def service(self, name: str) -> Service:
        """Return the service named ``name``, known from now on."""
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = Service(name)
            for callback in self.on_new_service:
                callback(service)
        return service

    def active_traces(self, service: str) -> dict[str, Trace]:
        """Return the active traces of a service, by id."""
        return {
            trace.trace_id: trace
            for trace in self.traces.values()
            if trace.service == service and trace.is_active
        }

    async def long_poll(
        self, service_name: str, registration: Registration
    ) -> tuple[list[Trace], list[str]]:
        """Wait until a service's active traces differ from the caller's.

        Returns the traces to activate and the trace ids to deactivate; both
        are empty when the long poll timed out with nothing changed.
        """
        service = self.service(service_name)
        service.middleware[registration.client_name] = now()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.long_poll_timeout

        while True:
            if service.refused is not None:
                raise TraceNotFound(service.refused)

            active = self.active_traces(service_name)
            if set(active) != registration.active_trace_ids:
                activated = [
                    trace
                    for trace_id, trace in sorted(active.items())
                    if trace_id not in registration.active_trace_ids
                ]
                deactivated = sorted(registration.active_trace_ids - set(active))
                return activated, deactivated

            remaining = deadline - loop.time()
            if remaining <= 0:
                return [], []
            try:
                await asyncio.wait_for(service.changed.wait(), remaining)
            except TimeoutError:
                return [], []

    # Witnesses.

    def _trace_for_events(self, service_name: str, trace_name: str) -> Trace:
        if service_name not in self.services:
            raise TraceNotFound(
                f"No service named {service_name!r} is known to this daemon: "
                "start a trace for it first (akita trace start SERVICE)."
            )
        for trace in self.traces.values():
            if (
                trace.service == service_name
                and trace.takes_events
                and trace_name in (trace.name, trace.trace_id)
            ):
                return trace
        raise TraceNotFound(
            f"Service {service_name!r} has no active trace named {trace_name!r}; "
            "it may have ended. Ask the daemon for the active traces again."
        )

    async def _prepare(self, body: bytes, trace: Trace) -> PreparedBatch:
        arguments = (body, trace.service, trace.name, trace.sampling_rate)
        if self._workers is None:
            return prepare_batch(*arguments)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._workers, prepare_batch, *arguments)

    async def ingest(
        self, service_name: str, trace_name: str, body: bytes
    ) -> tuple[Trace, PreparedBatch]:
        """Check, obfuscate and spool durably an events body.

        Raises:
            TraceNotFound: no such service or trace taking witnesses.
            RequestError: the body is not a batch of witnesses.
            TraceBufferFull: the trace cannot hold the batch; it was dropped.
        """
        trace = self._trace_for_events(service_name, trace_name)
        batch = await self._prepare(body, trace)

        if batch.kept:
            writer = self._writers.get(trace.trace_id)
            if writer is None:
                # The trace ended while the batch was being prepared.
                raise TraceNotFound(f"Trace {trace.name!r} has just ended.")
            try:
                await writer.write(batch.data, batch.kept)
            except BufferFull as exc:
                trace.dropped += exc.dropped
                raise TraceBufferFull(trace, exc.dropped) from exc
        trace.record_events(batch.client_name, batch.kept, batch.no_more_events, now())
        return trace, batch

    # Trace control.

    def find_trace(self, name_or_id: str) -> Trace:
        """Return the trace with this name or id.

        Raises:
            TraceNotFound: there is none.
        """
        trace = self.traces.get(name_or_id)
        if trace is not None:
            return trace
        named = [t for t in self.traces.values() if t.name == name_or_id]
        if not named:
            raise TraceNotFound(
                f"There is no trace named {name_or_id!r}; "
                "'akita trace list' shows the traces."
            )
        return max(named, key=lambda t: t.created_at)

    async def start_trace(
        self,
        service_name: str,
        name: str | None = None,
        hours: float | None = 1.0,
        *,
        trace_id: str | None = None,
        source: str = "local",
        sampling_rate: float = 1.0,
        filter_third_party_trackers: bool = True,
    ) -> Trace:
        """Create and activate a trace.

        Raises:
            TraceConflict: a trace with that name exists already.
        """
        taken = {t.name for t in self.traces.values()}
        if name is None:
            name = new_trace_name()
            while name in taken:
                name = new_trace_name()
        elif name in taken:
            raise TraceConflict(
                f"A trace named {name!r} exists already; choose another name."
            )
        if not is_valid_trace_name(name):
            raise TraceConflict(
                f"{name!r} cannot be a trace name: use letters, digits, '.', "
                "'_' and '-', starting with a letter or digit, at most 100.",
                400,
            )

        created = now()
        trace = Trace(
            trace_id=trace_id or new_trace_id(),
            name=name,
            service=service_name,
            created_at=created,
            expires_at=None if hours is None else created + hours * 3600,
            source=source,
            sampling_rate=sampling_rate,
            filter_third_party_trackers=filter_third_party_trackers,
        )
        await asyncio.to_thread(self.folders.save, trace)
        await self._open_writer(trace)
        self.traces[trace.trace_id] = trace
        logger.info("Activating trace %s (%s)", trace.name, trace.trace_id)
        self.service(service_name).notify()
        return trace

    async def save(self, trace: Trace) -> None:
        """Write a trace's metadata durably, off the event loop."""
        await asyncio.to_thread(self.folders.save, trace)

    async def stop_trace(self, trace: Trace) -> Trace:
        """Deactivate a trace; it ends once its clients are done.

        Raises:
            TraceConflict: the trace is not active.
        """
        if not trace.is_active:
            raise TraceConflict(
                f"Trace {trace.name!r} is not active (it is {trace.state})."
            )
        trace.stop(now())
        await asyncio.to_thread(self.folders.save, trace)
        logger.info("Deactivating trace %s (%s)", trace.name, trace.trace_id)
        self.service(trace.service).notify()
        return trace

    # The tick: trace ends.

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                logger.error("The daemon's periodic work failed.", exc_info=True)
            await asyncio.sleep(self.settings.tick_interval)

    async def tick(self) -> None:
        """Stop expired traces, end finished ones, start their builds."""
        moment = now()
        for trace in list(self.traces.values()):
            if trace.is_active and trace.expires_at is not None:
                if moment >= trace.expires_at:
                    await self.stop_trace(trace)
            if trace.is_finished_sending(moment, self.settings.quiet_grace):
                await self._end(trace)
            if trace.state == states.BUILDING and trace.trace_id not in self._jobs:
                self._run_job(trace, self._build(trace))

    async def _end(self, trace: Trace) -> None:
        writer = self._writers.pop(trace.trace_id, None)
        if writer is not None:
            await writer.drain()
            writer.spool.close()
        trace.state = states.BUILDING
        await asyncio.to_thread(self.folders.save, trace)
        logger.info(
            "Trace %s (%s) ended with %d witnesses.",
            trace.name,
            trace.trace_id,
            trace.witnesses,
        )

    def _run_job(self, trace: Trace, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job, name=f"akita-{trace.trace_id}")
        self._jobs[trace.trace_id] = task
        task.add_done_callback(lambda _: self._jobs.pop(trace.trace_id, None))

    async def _build(self, trace: Trace) -> None:
        folder = self.folders.folder(trace)
        if self.settings.build_models:
            try:
                await asyncio.to_thread(build_trace_model, folder, trace.service)
            except Exception as exc:
                logger.error(
                    "The model of trace %s could not be built.",
                    trace.name,
                    exc_info=True,
                )
                trace.state = states.FAILED
                trace.error = f"The model could not be built: {exc}"
                await asyncio.to_thread(self.folders.save, trace)
                return

        trace.state = states.UPLOADING if self.settings.console_mode else states.DONE
        await asyncio.to_thread(self.folders.save, trace)
        for callback in self.on_trace_ended:
            callback(trace)

    def trace_folder(self, trace: Trace) -> Path:
        """Return the folder that holds a trace's files."""
        return self.folders.folder(trace)
