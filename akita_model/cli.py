"""The root of the ``akita`` command line.

Each group of subcommands lives in the package it drives and is imported by
name only when it is called, so that ``akita model build`` loads neither
Django nor the daemon. A group module exposes ``main(argv, prog) -> int``.

Exit status: 0 on success, 1 on an error (printed as one line), 2 on bad
usage.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from akita_model import __version__

# group name -> (module, one-line help)
GROUPS: dict[str, tuple[str, str]] = {
    "model": ("akita_model.commands", "build API models from traces"),
    "demo": ("akita_django.demo", "record the example Django app and model it"),
    "daemon": ("akita_daemon.cli", "run the capture daemon"),
    "trace": ("akita_daemon.trace_cli", "start, stop and list traces"),
    "console": ("akita_console.cli", "run the self-hosted web console"),
}


class _GroupModule(Protocol):
    def main(self, argv: list[str], prog: str) -> int: ...


def _root_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="akita",
        description="Learn what an HTTP API does from its traffic.",
    )
    parser.add_argument("--version", action="version", version=f"akita {__version__}")
    parser.add_argument(
        "group",
        metavar="COMMAND",
        choices=sorted(GROUPS),
        help="one of: " + ", ".join(f"{name} ({GROUPS[name][1]})" for name in GROUPS),
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``akita`` command and return its exit status."""
    args = _root_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    module_name = GROUPS[args.group][0]

    try:
        module = cast(_GroupModule, importlib.import_module(module_name))
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        print(
            f"akita: error: the {args.group!r} command is not available in "
            f"this installation ({module_name} is missing).",
            file=sys.stderr,
        )
        return 1

    return module.main(list(args.args), f"akita {args.group}")


def run() -> int:
    """Run the ``akita`` program: ``main`` on this process's arguments.

    The process ends with the command, and its last garbage collection
    would only look through everything it made, modules and all: tens of
    milliseconds after a large build. Those objects are moved out of the
    collector's sight first (``gc.freeze``), which changes nothing else.
    """
    status = main()
    gc.freeze()
    return status
