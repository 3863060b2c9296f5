"""A trace, its life, and how it is kept in the data directory.

A trace goes through these states::

    active ──stop or hours up──► stopping ──clients done or quiet──► building
                                                                       │
                           done ◄── (console mode: uploads done) ◄─────┘
                                                    failed (build error)

While ``active`` the middleware sends it witnesses. Once stopped it still
takes the witnesses in flight, until every client that sent events said
``no_more_events`` or none sent any for a grace period; then its model and
report are built, and in console mode uploaded.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from akita_daemon.errors import SpoolError
from akita_daemon.spool import METADATA_FILE, write_json_atomically

logger = logging.getLogger(__name__)

ACTIVE = "active"
STOPPING = "stopping"
BUILDING = "building"
UPLOADING = "uploading"
DONE = "done"
FAILED = "failed"

STATES = (ACTIVE, STOPPING, BUILDING, UPLOADING, DONE, FAILED)

# What a trace upload consists of, in the order it is sent.
ARTEFACTS = ("witnesses", "model", "report")


@dataclass
class ClientState:
    """What one middleware client did in a trace (kept in memory only)."""

    events: int = 0
    said_no_more_events: bool = False
    last_event_at: float = 0.0


@dataclass
class Trace:
    """One trace: its identity, its state, and where its files are."""

    trace_id: str
    name: str
    service: str
    created_at: float
    expires_at: float | None
    source: str = "local"
    state: str = ACTIVE
    stopped_at: float | None = None
    sampling_rate: float = 1.0
    filter_third_party_trackers: bool = True
    witnesses: int = 0
    dropped: int = 0
    error: str | None = None
    uploaded: list[str] = field(default_factory=list)
    clients: dict[str, ClientState] = field(default_factory=dict, repr=False)
    last_event_at: float = 0.0

    @property
    def is_active(self) -> bool:
        """Tell whether the middleware should send this trace witnesses."""
        return self.state == ACTIVE

    @property
    def takes_events(self) -> bool:
        """Tell whether witnesses for this trace are still accepted."""
        return self.state in (ACTIVE, STOPPING)

    def record_events(
        self, client_name: str, count: int, no_more_events: bool, now: float
    ) -> None:
        """Note that a client sent ``count`` witnesses."""
        client = self.clients.setdefault(client_name, ClientState())
        client.events += count
        client.last_event_at = now
        if no_more_events:
            client.said_no_more_events = True
        self.witnesses += count
        if count:
            self.last_event_at = now

    def is_finished_sending(self, now: float, grace: float) -> bool:
        """Tell whether a stopped trace can end: its clients are done or quiet.

        The original middleware never says ``no_more_events``, so silence for
        ``grace`` seconds counts as done.
        """
        if self.state != STOPPING:
            return False

        senders = [client for client in self.clients.values() if client.events]
        if senders and all(client.said_no_more_events for client in senders):
            return True

        quiet_since = max(self.last_event_at, self.stopped_at or 0.0)
        return now - quiet_since >= grace

    def stop(self, now: float) -> None:
        """Move an active trace to ``stopping``."""
        self.state = STOPPING
        self.stopped_at = now

    def to_json(self) -> dict[str, Any]:
        """Return the metadata kept in ``trace.json``."""
        document = asdict(self)
        del document["clients"]
        del document["last_event_at"]
        return document

    def to_public(self) -> dict[str, Any]:
        """Return the trace as the control endpoints show it."""
        document = self.to_json()
        document["clients"] = {
            name: {
                "events": client.events,
                "no_more_events": client.said_no_more_events,
            }
            for name, client in sorted(self.clients.items())
        }
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Trace:
        """Rebuild a trace from its ``trace.json``."""
        known = {
            key: document[key] for key in cls.__dataclass_fields__ if key in document
        }
        known.pop("clients", None)
        known.pop("last_event_at", None)
        trace = cls(**known)
        if trace.state not in STATES:
            raise ValueError(f"unknown state {trace.state!r}")
        return trace


class TraceFolders:
    """Where traces live in the data directory, and their metadata files."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "traces"

    def folder(self, trace: Trace) -> Path:
        """Return the folder of a trace."""
        return self.root / trace.trace_id

    def save(self, trace: Trace) -> None:
        """Write a trace's metadata durably."""
        folder = self.folder(trace)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_json_atomically(folder / METADATA_FILE, trace.to_json())
        except OSError as exc:
            raise SpoolError(
                f"The metadata of trace {trace.name!r} cannot be written to "
                f"{str(folder)!r}: {exc}. Check that the data directory is writable."
            ) from exc

    def load_all(self) -> list[Trace]:
        """Read every trace's metadata; a folder that cannot be read is skipped."""
        if not self.root.is_dir():
            return []

        traces = []
        for folder in sorted(self.root.iterdir()):
            path = folder / METADATA_FILE
            if not path.is_file():
                continue
            try:
                traces.append(Trace.from_json(json.loads(path.read_text())))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("Skipping the trace in %s: %s", folder, exc)
        return traces


def now() -> float:
    """Return the wall-clock time, in seconds since the epoch."""
    return time.time()
