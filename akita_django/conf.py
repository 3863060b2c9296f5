"""Read and check the AKITA_* Django settings once, at start-up.

Each setting is checked for its type and range; a bad value raises
``ImproperlyConfigured`` naming the setting, showing the value, and saying
what to write instead.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_DAEMON_HOST = "localhost:50080"
DEFAULT_MAX_QUEUE_LEN = 200
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_MISSING = object()


@dataclass(frozen=True)
class MiddlewareSettings:
    """The middleware's configuration, checked."""

    service_name: str
    middleware_name: str
    daemon_url: str
    max_queue_len: int
    max_body_bytes: int


def _setting(name: str) -> Any:
    return getattr(settings, name, _MISSING)


def _read_name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ImproperlyConfigured(
            f"The setting {name} must be a non-empty string, not {value!r}. "
            f"Set it to a name such as 'my-service'."
        )
    return value.strip()


def _read_count(name: str, value: Any, minimum: int) -> int:
    # bool is an int to Python, but True is never a sensible length.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ImproperlyConfigured(
            f"The setting {name} must be an integer of at least {minimum}, "
            f"not {value!r}."
        )
    return value


def read_max_body_bytes() -> int:
    """Return AKITA_MAX_BODY_BYTES, checked, or its default of 1 MiB."""
    value = _setting("AKITA_MAX_BODY_BYTES")
    if value is _MISSING:
        return DEFAULT_MAX_BODY_BYTES
    return _read_count("AKITA_MAX_BODY_BYTES", value, 0)


def daemon_url(value: Any) -> str:
    """Return the base URL of the daemon named by AKITA_DAEMON_HOST.

    The value is ``host:port`` as the daemon's own documentation writes it,
    or a URL such as ``http://host:port``.
    """
    if not isinstance(value, str) or not value.strip():
        raise ImproperlyConfigured(
            f"The setting AKITA_DAEMON_HOST must be a string such as "
            f"{DEFAULT_DAEMON_HOST!r}, not {value!r}."
        )
    text = value.strip()
    url = text if "://" in text else f"http://{text}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or port is None
        or parts.path not in ("", "/")
    ):
        raise ImproperlyConfigured(
            f"The setting AKITA_DAEMON_HOST must be host:port, such as "
            f"{DEFAULT_DAEMON_HOST!r}, not {value!r}."
        )
    return f"{parts.scheme}://{parts.netloc}"


def read_middleware_settings() -> MiddlewareSettings:
    """Return the middleware's settings, checked.

    Raises:
        ImproperlyConfigured: a setting is missing or has a bad value.
    """
    service = _setting("AKITA_SERVICE_NAME")
    if service is _MISSING:
        raise ImproperlyConfigured(
            "AkitaMiddleware needs the name of the service it captures. Add "
            "AKITA_SERVICE_NAME = 'your-service' to your Django settings, "
            "with the name of the project in the Akita console."
        )

    middleware = _setting("AKITA_MIDDLEWARE_NAME")
    host = _setting("AKITA_DAEMON_HOST")
    queue_len = _setting("AKITA_MAX_QUEUE_LEN")
    return MiddlewareSettings(
        service_name=_read_name("AKITA_SERVICE_NAME", service),
        middleware_name=(
            socket.gethostname()
            if middleware is _MISSING
            else _read_name("AKITA_MIDDLEWARE_NAME", middleware)
        ),
        daemon_url=daemon_url(DEFAULT_DAEMON_HOST if host is _MISSING else host),
        max_queue_len=(
            DEFAULT_MAX_QUEUE_LEN
            if queue_len is _MISSING
            else _read_count("AKITA_MAX_QUEUE_LEN", queue_len, 1)
        ),
        max_body_bytes=read_max_body_bytes(),
    )
