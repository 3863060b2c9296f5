"""Talk to the Akita daemon from background threads.

One ``DaemonLink`` a process and daemon: a poller thread long-polls the
daemon for the traces that are active, and a sender thread posts the
witnesses that the middleware queued, in batches. Requests never wait on
either: the middleware reads ``link.idle`` (one attribute) and, while a trace
is active, puts witnesses on a bounded queue that drops and counts what does
not fit.

The threads start on the first request in each process, so a server that
loads the application and then forks its workers (gunicorn ``--preload``)
gets fresh threads in every worker. A daemon that is down, slow or answers
garbage is retried with exponential backoff and logged at most once a
minute; nothing here raises into the application.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from akita_django.conf import MiddlewareSettings
from akita_django.exceptions import DaemonResponseError, DaemonTimeoutError
from akita_django.transport import Answer, DaemonConnection
from akita_django.witness import Exchange

logger = logging.getLogger(__name__)

# The sender sleeps until a witness is queued, lets a batch gather for
# BATCH_LINGER (or until the queue holds BATCH_SIZE, or is three quarters
# full), then builds and posts the whole batch: one call a batch costs the
# application far less than one call a witness, and each wake-up of the
# sender takes the GIL from the requests.
BATCH_SIZE = 500
BATCH_LINGER = 0.2
# Only a safety net: offer() wakes the sender when the queue stops being
# empty.
IDLE_WAIT = 5.0
POLL_READ_TIMEOUT = 120.0
SEND_TIMEOUT = 5.0
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0
SEND_ATTEMPTS = 3
LOG_INTERVAL = 60.0
SHUTDOWN_TIMEOUT = 2.0
# A daemon that answers "no change" at once instead of holding the poll
# would otherwise be polled in a busy loop.
MIN_POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class ActiveTrace:
    """A trace the daemon asked this middleware to capture."""

    name: str
    trace_id: str
    service_id: str
    sampling_rate: float
    filter_third_party_trackers: bool


def _parse_trace(value: Any) -> ActiveTrace:
    if not isinstance(value, dict):
        raise DaemonResponseError(f"An activated trace must be an object: {value!r}")
    name, trace_id = value.get("trace_name"), value.get("trace_id")
    rate = value.get("sampling_rate", 1.0)
    if not isinstance(name, str) or not name or not isinstance(trace_id, str):
        raise DaemonResponseError(f"An activated trace lacks its name or id: {value!r}")
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise DaemonResponseError(f"A sampling rate must be a number: {rate!r}")
    return ActiveTrace(
        name=name,
        trace_id=trace_id,
        service_id=str(value.get("service_id", "")),
        sampling_rate=min(max(float(rate), 0.0), 1.0),
        filter_third_party_trackers=bool(value.get("filter_third_party_trackers")),
    )


def parse_poll_answer(body: Any) -> tuple[list[ActiveTrace], list[str]]:
    """Return the traces activated and the ids deactivated by a poll answer."""
    if not isinstance(body, dict):
        raise DaemonResponseError(f"The daemon's answer is not an object: {body!r}")
    activated = body.get("activated_traces") or []
    deactivated = body.get("deactivated_traces") or []
    if not isinstance(activated, list) or not isinstance(deactivated, list):
        raise DaemonResponseError(f"The daemon's answer has no trace lists: {body!r}")
    if not all(isinstance(trace_id, str) for trace_id in deactivated):
        raise DaemonResponseError(f"Deactivated traces must be ids: {deactivated!r}")
    return [_parse_trace(item) for item in activated], list(deactivated)


class _Throttle:
    """Log each kind of trouble at most once an interval."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: Any, exc: bool = False) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += " (%d similar messages suppressed)"
            args = (*args, suppressed)
        logger.warning(message, *args, exc_info=exc)


class _Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self._initial, self._maximum = initial, maximum
        self._next = initial

    def reset(self) -> None:
        self._next = self._initial

    def delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._maximum)
        return delay * random.uniform(0.8, 1.2)


class DaemonLink:
    """The link between the middleware of one process and one daemon."""

    def __init__(self, settings: MiddlewareSettings) -> None:
        self.settings = settings
        # Read on every request without a lock: True once the threads run
        # and no trace is active.
        self.idle = False
        self.traces: tuple[ActiveTrace, ...] = ()
        self.dropped = 0
        self.rejected = 0
        self.sent = 0
        self._service_path = "/v1/services/" + quote(settings.service_name, safe="")
        self._akita_fields = {
            "service": settings.service_name,
            "middleware": settings.middleware_name,
        }
        self._trace_fields: dict[ActiveTrace, dict[str, Any]] = {}
        self._throttle = _Throttle(LOG_INTERVAL)
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        # After a fork the parent's threads are gone and its locks may be
        # held by them: everything below is made anew.
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._is_flushing = False
        # A deque under a plain lock: queue.Queue's conditions cost the
        # request thread several times more for each witness.
        self._queue_lock = threading.Lock()
        self._queue: deque[tuple[ActiveTrace, Exchange]] = deque()
        self._in_flight = 0
        self._max_len = max_len = self.settings.max_queue_len
        self._batch_len = max(1, min(BATCH_SIZE, max_len * 3 // 4))
        self._threads: list[threading.Thread] = []
        self.traces = ()
        self.idle = False

    def ensure_started(self) -> None:
        """Start the threads unless they already run in this process."""
        # Where forks are hooked, the hook forgets the parent's threads, and
        # asking for the pid on every request would only cost a system call.
        if self._pid is not None and _HAS_FORK_HOOK:
            return
        pid = os.getpid()
        if self._pid == pid:
            return
        if self._pid is not None:
            self._reset_process_state()
        with self._lock:
            if self._pid == pid:
                return
            self._start_thread("poll", self._poll_loop)
            self._start_thread("send", self._send_loop)
            self._pid = pid
            self.idle = not self.traces
        logger.debug(
            "akita_middleware: started for service %s (pid %d), daemon at %s",
            self.settings.service_name,
            pid,
            self.settings.daemon_url,
        )

    def _start_thread(self, role: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(
            target=target, name=f"akita-middleware-{role}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def offer(self, trace: ActiveTrace, exchange: Exchange) -> None:
        """Queue an exchange for a trace, or drop and count it when full."""
        pending = self._queue
        with self._queue_lock:
            size = len(pending)
            is_full = size >= self._max_len
            if is_full:
                self.dropped += 1
            else:
                pending.append((trace, exchange))
        if not is_full:
            # The sender sleeps until the queue stops being empty, then
            # until a batch is due or ready.
            if size == 0 or size + 1 == self._batch_len:
                self._wake.set()
            return

        self._throttle.warning(
            "queue",
            "akita_middleware: the queue of %d witnesses is full; dropped %d so far",
            self.settings.max_queue_len,
            self.dropped,
        )

    def flush(self, timeout: float) -> bool:
        """Send what is queued now; wait at most ``timeout`` for it to go.

        Returns whether everything queued was handled.
        """
        deadline = time.monotonic() + timeout
        self._is_flushing = True
        self._wake.set()
        try:
            while self._queue or self._in_flight:
                if time.monotonic() >= deadline or not self._threads:
                    return False
                time.sleep(0.01)
            return True
        finally:
            self._is_flushing = False

    def shutdown(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Send what is queued (waiting at most ``timeout``), then stop."""
        if self._pid != os.getpid():
            return
        if not self.flush(timeout):
            logger.warning(
                "akita_middleware: %d witnesses not sent at shutdown",
                len(self._queue) + self._in_flight,
            )
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(0.2)
        self._pid = None
        self.idle = False
        with _links_lock:
            # A middleware made after this gets a link of its own.
            if _links.get(self.settings) is self:
                del _links[self.settings]

    def _connection(self, read_timeout: float) -> DaemonConnection:
        return DaemonConnection(self.settings.daemon_url, read_timeout)

    def _post(self, connection: DaemonConnection, path: str, body: bytes) -> Answer:
        return connection.post(self._service_path + path, body)

    def _poll_loop(self) -> None:
        stop = self._stop
        backoff = _Backoff(BACKOFF_INITIAL, BACKOFF_MAX)
        with self._connection(POLL_READ_TIMEOUT) as connection:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    is_changed = self._poll_once(connection)
                except DaemonTimeoutError:
                    # A daemon may hold a long poll longer than we wait.
                    continue
                except Exception as exc:
                    delay = backoff.delay()
                    self._throttle.warning(
                        "poll",
                        "akita_middleware: cannot get the active traces from the "
                        "daemon at %s (%s); retrying in %.1f s",
                        self.settings.daemon_url,
                        exc,
                        delay,
                    )
                    stop.wait(delay)
                    continue
                backoff.reset()
                if not is_changed:
                    stop.wait(MIN_POLL_INTERVAL - (time.monotonic() - started))

    def _poll_once(self, connection: DaemonConnection) -> bool:
        import orjson

        payload = {
            "client_name": self.settings.middleware_name,
            "active_trace_ids": [trace.trace_id for trace in self.traces],
        }
        answer = self._post(connection, "/middleware", orjson.dumps(payload))
        if answer.status not in (200, 202):
            raise DaemonResponseError(f"status {answer.status}")
        try:
            body = orjson.loads(answer.body)
        except ValueError as exc:
            raise DaemonResponseError("an answer that is not JSON") from exc
        activated, deactivated = parse_poll_answer(body)
        return self._apply(activated, set(deactivated))

    def _apply(self, activated: list[ActiveTrace], deactivated: set[str]) -> bool:
        traces = {trace.trace_id: trace for trace in self.traces}
        for trace_id in deactivated & traces.keys():
            trace = traces.pop(trace_id)
            logger.info(
                "akita_middleware: Deactivating trace %s (%s)", trace.name, trace_id
            )
        for trace in activated:
            if trace.trace_id in traces:
                continue
            traces[trace.trace_id] = trace
            logger.info(
                "akita_middleware: Activating trace %s (%s)", trace.name, trace.trace_id
            )
        is_changed = tuple(traces.values()) != self.traces
        self.traces = tuple(traces.values())
        self.idle = not self.traces
        return is_changed

    def _send_loop(self) -> None:
        stop, wake, pending = self._stop, self._wake, self._queue
        with self._connection(SEND_TIMEOUT) as connection:
            while True:
                if not pending:
                    if stop.is_set():
                        return
                    wake.wait(IDLE_WAIT)
                    wake.clear()
                    continue

                self._gather(BATCH_LINGER)
                self._send_queued(connection)

    def _gather(self, linger: float) -> None:
        """Wait until a batch is ready, a flush asks or the link stops.

        The wake-up that a first witness sends while the last batch is being
        posted must not cut this batch short: the wait goes on until its
        deadline unless the batch is ready. A batch goes without waiting for
        more once the link stops, as a server that dies by its signal runs
        no atexit handler.
        """
        stop, wake, pending = self._stop, self._wake, self._queue
        deadline = time.monotonic() + linger
        # Whatever set the event before now is seen in the checks below.
        wake.clear()
        while not (
            stop.is_set() or self._is_flushing or len(pending) >= self._batch_len
        ):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            wake.wait(left)
            wake.clear()

    def _send_queued(self, connection: DaemonConnection) -> None:
        """Take what is queued, build its witnesses and post them."""
        with self._queue_lock:
            # Counted before the queue empties: flush() reads both unlocked.
            self._in_flight = len(self._queue)
            taken = list(self._queue)
            self._queue.clear()
        try:
            for trace, witnesses in self._build(taken).items():
                for first in range(0, len(witnesses), BATCH_SIZE):
                    chunk = witnesses[first : first + BATCH_SIZE]
                    self._send_events(connection, trace, chunk)
        except Exception:
            logger.error("akita_middleware: cannot send", exc_info=True)
        finally:
            self._in_flight = 0

    def _build(
        self, taken: list[tuple[ActiveTrace, Exchange]]
    ) -> dict[ActiveTrace, list[bytes]]:
        """Return the JSON of the witnesses of each trace.

        Each witness is serialised as soon as it is built, so that its dicts
        are freed at once instead of aging into the garbage collector's
        older generations.
        """
        import orjson

        batch: dict[ActiveTrace, list[bytes]] = {}
        for trace, exchange in taken:
            akita = self._trace_fields.get(trace)
            if akita is None:
                akita = {**self._akita_fields, "trace": trace.name}
                self._trace_fields[trace] = akita
            try:
                witness = orjson.dumps(exchange.to_witness(akita))
            except Exception:
                with self._lock:
                    self.rejected += 1
                logger.error("akita_middleware: cannot build a witness", exc_info=True)
                continue
            witnesses = batch.get(trace)
            if witnesses is None:
                witnesses = batch[trace] = []
            witnesses.append(witness)
        return batch

    def _send_events(
        self,
        connection: DaemonConnection,
        trace: ActiveTrace,
        witnesses: list[bytes],
    ) -> None:
        import orjson

        path = "/traces/" + quote(trace.name, safe="") + "/events"
        # The witnesses are JSON already; the body is spliced around them.
        payload = b"".join(
            (
                b'{"client_name":',
                orjson.dumps(self.settings.middleware_name),
                b',"trace_events":[',
                b",".join(witnesses),
                b'],"no_more_events":false}',
            )
        )
        backoff = _Backoff(BACKOFF_INITIAL / 2, BACKOFF_MAX)
        problem = ""
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self._stop.wait(backoff.delay())
            try:
                answer = self._post(connection, path, payload)
            except Exception as exc:
                problem = str(exc) or type(exc).__name__
                continue
            if answer.status in (200, 202):
                with self._lock:
                    self.sent += len(witnesses)
                return
            if answer.status in (404, 422):
                # The trace ended or the daemon's buffer is full: sending the
                # same witnesses again would not help.
                text = answer.body[:200].decode("utf-8", "replace")
                problem = f"status {answer.status}: {text}"
                break
            problem = f"status {answer.status}"
        with self._lock:
            self.rejected += len(witnesses)
        self._throttle.warning(
            "send",
            "akita_middleware: the daemon at %s did not take %d witnesses of "
            "trace %s (%s)",
            self.settings.daemon_url,
            len(witnesses),
            trace.name,
            problem,
        )


_links: dict[MiddlewareSettings, DaemonLink] = {}
_links_lock = threading.Lock()
_all_links: weakref.WeakSet[DaemonLink] = weakref.WeakSet()


def link_for(settings: MiddlewareSettings) -> DaemonLink:
    """Return the process's link for these settings, made on first use."""
    with _links_lock:
        link = _links.get(settings)
        if link is None:
            link = _links[settings] = DaemonLink(settings)
            _all_links.add(link)
        return link


def shutdown_all(timeout: float = SHUTDOWN_TIMEOUT) -> None:
    """Flush and stop every link of this process."""
    for link in list(_all_links):
        link.shutdown(timeout)


def _forget_links_after_fork() -> None:
    global _links_lock
    _links_lock = threading.Lock()
    for link in list(_all_links):
        link._reset_process_state()


atexit.register(shutdown_all)
_HAS_FORK_HOOK = hasattr(os, "register_at_fork")
if _HAS_FORK_HOOK:
    os.register_at_fork(after_in_child=_forget_links_after_fork)
