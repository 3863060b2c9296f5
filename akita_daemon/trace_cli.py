"""``akita trace``: start, stop and list the traces of a local daemon.

The commands talk over HTTP to the daemon's ``/v1/local/...`` endpoints,
on ``localhost`` at ``AKITA_DAEMON_PORT`` unless ``--daemon HOST:PORT``
says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any
from urllib.parse import quote

import httpx

from akita_daemon.settings import DEFAULT_PORT

TIMEOUT = 10.0


def _default_daemon() -> str:
    return f"localhost:{os.environ.get('AKITA_DAEMON_PORT') or DEFAULT_PORT}"


def _parser(prog: str) -> argparse.ArgumentParser:
    daemon_help = "the daemon to talk to (default: localhost:$AKITA_DAEMON_PORT)"
    parser = argparse.ArgumentParser(
        prog=prog, description="Start, stop and list the traces of a local daemon."
    )
    parser.add_argument(
        "--daemon", default=_default_daemon(), metavar="HOST:PORT", help=daemon_help
    )
    # The option is also taken after the command (``akita trace list --daemon
    # ...``); SUPPRESS keeps the value given before it when it is absent there.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument(
        "--daemon", default=argparse.SUPPRESS, metavar="HOST:PORT", help=daemon_help
    )
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser(
        "start", parents=[after], help="start a trace of a service"
    )
    start.add_argument("service", metavar="SERVICE")
    start.add_argument(
        "--hours",
        type=float,
        default=1.0,
        help="stop the trace by itself after this many hours (default: 1)",
    )
    start.add_argument(
        "--name", help="the trace's name (default: made up, like calm-red-otter-7)"
    )

    stop = commands.add_parser("stop", parents=[after], help="stop a trace")
    stop.add_argument("name", metavar="NAME", help="the trace's name or id")

    commands.add_parser("list", parents=[after], help="list the traces")
    return parser


class CommandError(Exception):
    """The daemon refused a command or could not be reached."""


def _call(daemon: str, method: str, path: str, body: Any = None) -> Any:
    url = f"http://{daemon}{path}"
    try:
        response = httpx.request(method, url, json=body, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise CommandError(
            f"the daemon at {daemon!r} cannot be reached ({exc}); is "
            "'akita daemon' running there? (--daemon HOST:PORT)"
        ) from exc

    try:
        document = response.json()
    except ValueError:
        document = {"message": response.text}
    if response.is_error:
        raise CommandError(str(document.get("message", response.text)))
    return document


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _print_table(traces: list[dict[str, Any]]) -> None:
    header = ("NAME", "ID", "SERVICE", "STATE", "WITNESSES", "STARTED", "ENDS")
    rows = [header] + [
        (
            t["name"],
            t["trace_id"],
            t["service"],
            t["state"],
            str(t["witnesses"]),
            _when(t["created_at"]),
            _when(t["expires_at"]) if t["state"] == "active" else "-",
        )
        for t in traces
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def main(argv: list[str], prog: str) -> int:
    """Run ``akita trace`` and return its exit status."""
    args = _parser(prog).parse_args(argv)
    try:
        if args.command == "start":
            if args.hours <= 0:
                raise CommandError(f"--hours must be above zero, not {args.hours!r}.")
            body = {"service": args.service, "hours": args.hours}
            if args.name is not None:
                body["name"] = args.name
            trace = _call(args.daemon, "POST", "/v1/local/traces", body)
            print(
                f"Started trace {trace['name']} ({trace['trace_id']}) of service "
                f"{trace['service']}, for {args.hours:g} "
                f"{'hour' if args.hours == 1 else 'hours'}."
            )
        elif args.command == "stop":
            name = quote(args.name, safe="")
            trace = _call(args.daemon, "POST", f"/v1/local/traces/{name}/stop")
            print(
                f"Stopped trace {trace['name']} ({trace['trace_id']}); its model is "
                "built once its middleware is done."
            )
        else:
            traces = _call(args.daemon, "GET", "/v1/local/traces")["traces"]
            if not traces:
                print("No traces.")
            else:
                _print_table(traces)
    except CommandError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0
