"""The errors of akita_django.

Bad settings raise Django's own ``ImproperlyConfigured`` at start-up, as
every Django component does. Everything else derives from one base::

    AkitaDjangoError
     ├── DaemonResponseError   the daemon answered outside the protocol
     └── DemoError             the demo could not write its outputs

``DaemonResponseError`` never reaches the application: the sender threads
catch it, log it and retry with backoff.
"""

from __future__ import annotations


class AkitaDjangoError(Exception):
    """The base of every error raised by akita_django."""


class DaemonResponseError(AkitaDjangoError):
    """The daemon answered with a status or body the protocol does not allow."""


class DemoError(AkitaDjangoError):
    """The demo could not record its session or write its outputs."""
