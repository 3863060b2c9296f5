"""The errors of akita_django.

Bad settings raise Django's own ``ImproperlyConfigured`` at start-up, as
every Django component does. Everything else derives from one base::

    AkitaDjangoError
     ├── DaemonResponseError   the daemon answered outside the protocol
     ├── DaemonTimeoutError    the daemon did not answer in time
     └── DemoError             the demo could not write its outputs

``DaemonResponseError`` and ``DaemonTimeoutError`` never reach the
application: the sender threads catch them, log them and retry with
backoff.
"""

from __future__ import annotations


class AkitaDjangoError(Exception):
    """The base of every error raised by akita_django."""


class DaemonResponseError(AkitaDjangoError):
    """The daemon answered with a status or body the protocol does not allow."""


class DaemonTimeoutError(AkitaDjangoError):
    """The daemon took a request but did not answer it within the timeout."""


class DemoError(AkitaDjangoError):
    """The demo could not record its session or write its outputs."""
