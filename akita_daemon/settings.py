"""The daemon's settings, from the command line and the environment.

Every setting is worked out and checked once, at start-up; a bad one raises
:class:`ImproperlyConfigured` with a message that says how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from akita_daemon.errors import ImproperlyConfigured

DEFAULT_PORT = 50080
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Settings:
    """Everything the daemon needs to know to run."""

    name: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = Path(".")
    console_url: str | None = None
    api_key_id: str | None = None
    api_key_secret: str | None = None
    long_poll_timeout: float = 30.0
    quiet_grace: float = 5.0
    trace_buffer: int = 10_000
    max_body_bytes: int = 32 * 1024 * 1024
    heartbeat_interval: float = 30.0
    tick_interval: float = 0.5
    upload_attempts: int = 8
    upload_backoff: float = 1.0
    build_models: bool = True
    workers: int = 0

    @property
    def console_mode(self) -> bool:
        """Tell whether traces are controlled by a console."""
        return self.console_url is not None


def default_data_dir(name: str, environ: Mapping[str, str]) -> Path:
    """Return where a daemon keeps its traces when no folder is given."""
    base = environ.get("XDG_DATA_HOME") or os.path.join(
        environ.get("HOME", "."), ".local", "share"
    )
    return Path(base) / "akita" / "daemon" / name


def port_from(value: str, source: str) -> int:
    """Parse a TCP port number, naming where the bad value came from."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ImproperlyConfigured(
            f"{source} must be a TCP port number from 0 to 65535, not {value!r}."
        )
    return port


def console_settings(
    environ: Mapping[str, str],
) -> tuple[str | None, str | None, str | None]:
    """Return the console's URL and the API key, checking they go together."""
    url = environ.get("AKITA_CONSOLE_URL") or None
    key_id = environ.get("AKITA_API_KEY_ID") or None
    secret = environ.get("AKITA_API_KEY_SECRET") or None
    if url is None:
        return None, key_id, secret

    if not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"AKITA_CONSOLE_URL must be an http:// or https:// address, not {url!r}."
        )
    if key_id is None or secret is None:
        raise ImproperlyConfigured(
            "AKITA_CONSOLE_URL is set, so the daemon needs an API key: set "
            "AKITA_API_KEY_ID and AKITA_API_KEY_SECRET to a key made in the "
            "console's Settings."
        )
    return url.rstrip("/"), key_id, secret


def check_positive(value: float, option: str) -> None:
    """Refuse a setting that must be above zero."""
    if value <= 0:
        raise ImproperlyConfigured(f"{option} must be above zero, not {value!r}.")
