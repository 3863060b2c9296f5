"""The daemon's exceptions.

One hierarchy::

    DaemonError                 anything the daemon refuses or cannot do
    ├── ImproperlyConfigured    bad settings, found at start-up
    ├── RequestError            a client's request is refused (has a status)
    │   ├── TraceNotFound       no such service or trace (404)
    │   └── TraceConflict       the trace exists or is in the wrong state (409)
    ├── SpoolError              the spool on disk cannot be read or written
    └── ConsoleError            the console refused a request or is unreachable
"""

from __future__ import annotations


class DaemonError(Exception):
    """Base of every error the daemon raises on purpose."""


class ImproperlyConfigured(DaemonError):
    """A setting is missing or invalid; the message says how to fix it."""


class RequestError(DaemonError):
    """A client's request is refused with an HTTP status and a message."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def __reduce__(self) -> tuple[type[RequestError], tuple[str, int]]:
        # Keep the status when the error crosses from a worker process.
        return type(self), (self.message, self.status_code)


class TraceNotFound(RequestError):
    """The service or trace named by a request does not exist."""

    status_code = 404


class TraceConflict(RequestError):
    """The trace already exists, or is not in a state that allows the act."""

    status_code = 409


class SpoolError(DaemonError):
    """The spool on disk cannot be read or written."""


class ConsoleError(DaemonError):
    """The console refused a request, or could not be reached."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
