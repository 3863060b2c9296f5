"""``akita daemon``: run the capture daemon.

Settings come from the command line, then the environment
(``AKITA_DAEMON_NAME``, ``AKITA_DAEMON_PORT``, ``AKITA_CONSOLE_URL``,
``AKITA_API_KEY_ID``, ``AKITA_API_KEY_SECRET``, ``AKITA_DATA_DIR``). With a
console URL and an API key the daemon runs in console mode; without, it
keeps its traces locally and ``akita trace`` controls them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from akita_daemon.errors import DaemonError, ImproperlyConfigured
from akita_daemon.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Settings,
    check_positive,
    console_settings,
    default_data_dir,
    port_from,
)

logger = logging.getLogger(__name__)

LOG_FORMAT = "akita: [%(levelname)s] %(message)s"


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Receive witnesses from the Akita middleware, obfuscate and spool "
            "them, and build each trace's API model when it ends."
        ),
    )
    parser.add_argument(
        "--name", help="the daemon's name (default: $AKITA_DAEMON_NAME)"
    )
    parser.add_argument(
        "--port",
        help=f"TCP port to listen on (default: $AKITA_DAEMON_PORT or {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=(
            f"address to listen on (default: {DEFAULT_HOST}; use 0.0.0.0 to take "
            "witnesses from other machines)"
        ),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=(
            "folder for spools, models and state (default: $AKITA_DATA_DIR or "
            "~/.local/share/akita/daemon/NAME)"
        ),
    )
    tuning = parser.add_argument_group("tuning")
    tuning.add_argument(
        "--long-poll-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a middleware long poll is held (default: 30)",
    )
    tuning.add_argument(
        "--quiet-grace",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="silence after which a stopped trace's clients count as done (5)",
    )
    tuning.add_argument(
        "--trace-buffer",
        type=int,
        default=10_000,
        metavar="WITNESSES",
        help="witnesses a trace may hold waiting for a flush (10000)",
    )
    tuning.add_argument(
        "--max-body-bytes",
        type=int,
        default=32 * 1024 * 1024,
        metavar="BYTES",
        help="largest request body accepted (33554432)",
    )
    tuning.add_argument(
        "--heartbeat-interval",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds between heartbeats to the console (30)",
    )
    tuning.add_argument(
        "--upload-backoff",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="first wait before retrying a failed upload; doubles each time (1)",
    )
    tuning.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help=(
            "processes that obfuscate witnesses, for more throughput on "
            "several cores (default: 0, in the server process)"
        ),
    )
    tuning.add_argument(
        "--no-build",
        action="store_true",
        help="do not build models when traces end (keep the spool only)",
    )
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Work out the settings from parsed arguments and the environment.

    Raises:
        ImproperlyConfigured: a setting is missing or bad.
    """
    name = args.name or environ.get("AKITA_DAEMON_NAME")
    if not name:
        raise ImproperlyConfigured(
            "The daemon needs a name: pass --name NAME or set AKITA_DAEMON_NAME."
        )

    if args.port is not None:
        port = port_from(args.port, "--port")
    elif environ.get("AKITA_DAEMON_PORT"):
        port = port_from(environ["AKITA_DAEMON_PORT"], "AKITA_DAEMON_PORT")
    else:
        port = DEFAULT_PORT

    data_dir = args.data_dir
    if data_dir is None and environ.get("AKITA_DATA_DIR"):
        data_dir = Path(environ["AKITA_DATA_DIR"])
    if data_dir is None:
        data_dir = default_data_dir(name, environ)

    for option, value in (
        ("--long-poll-timeout", args.long_poll_timeout),
        ("--quiet-grace", args.quiet_grace),
        ("--trace-buffer", args.trace_buffer),
        ("--max-body-bytes", args.max_body_bytes),
        ("--heartbeat-interval", args.heartbeat_interval),
        ("--upload-backoff", args.upload_backoff),
    ):
        check_positive(value, option)

    if args.workers < 0:
        raise ImproperlyConfigured(
            f"--workers must be 0 or more, not {args.workers!r}."
        )

    console_url, key_id, secret = console_settings(environ)
    return Settings(
        name=name,
        host=args.host,
        port=port,
        data_dir=data_dir,
        console_url=console_url,
        api_key_id=key_id,
        api_key_secret=secret,
        long_poll_timeout=args.long_poll_timeout,
        quiet_grace=args.quiet_grace,
        trace_buffer=args.trace_buffer,
        max_body_bytes=args.max_body_bytes,
        heartbeat_interval=args.heartbeat_interval,
        upload_backoff=args.upload_backoff,
        tick_interval=min(0.5, args.quiet_grace / 4),
        build_models=not args.no_build,
        workers=args.workers,
    )


def main(argv: list[str], prog: str) -> int:
    """Run ``akita daemon`` and return its exit status."""
    args = _parser(prog).parse_args(argv)
    try:
        settings = settings_from(args, os.environ)
    except ImproperlyConfigured as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger("akita_daemon")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("akita_model", "uvicorn.error"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).propagate = False

    from akita_daemon.server import serve

    try:
        serve(settings)
    except DaemonError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0
