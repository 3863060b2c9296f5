"""``akita demo``: record the example application and build its API model.

The demo drives the example blog API (``akita_django.demoapp``) in this
process through the recording test client, with a scripted session of
about seventy requests, then builds the model of the trace. It writes
``trace.jsonl``, ``model.yaml`` and ``report.html``, by default into the
working directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from akita_django.exceptions import DemoError

SETTINGS_MODULE = "akita_django.demoapp.settings"


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Record a scripted session of the example Django API, "
        "then build its API model and HTML report.",
    )
    parser.add_argument(
        "--out",
        "-o",
        metavar="DIR",
        type=Path,
        default=Path("."),
        help="folder for the outputs (default: the working directory)",
    )
    parser.add_argument("--trace", metavar="PATH", type=Path, help="trace file")
    parser.add_argument("--model", metavar="PATH", type=Path, help="model file")
    parser.add_argument("--html", metavar="PATH", type=Path, help="HTML report")
    return parser


def _record(trace_path: Path) -> int:
    # The demo always runs the example's settings, whatever the shell has.
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    import django

    django.setup()

    from akita_django.demoapp.session import run_session
    from akita_django.test import Client

    try:
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        trace_path.write_text("", encoding="utf-8")
        with Client(trace_path=trace_path, raise_request_exception=False) as client:
            run_session(client)
            return client.recorded
    except OSError as exc:
        raise DemoError(f"Cannot write the trace {str(trace_path)!r}: {exc}.") from exc


def run_demo(trace_path: Path, model_path: Path, html_path: Path) -> tuple[int, int]:
    """Record the session and build its model; return witnesses, endpoints."""
    recorded = _record(trace_path)

    from akita_model.build import build_files
    from akita_model.errors import ModelError

    try:
        model_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        result = build_files(
            [trace_path],
            service="django-demo",
            model_path=model_path,
            html_path=html_path,
        )
    except OSError as exc:
        raise DemoError(f"Cannot write the model or report: {exc}.") from exc
    except ModelError as exc:
        raise DemoError(str(exc)) from exc
    return recorded, result.endpoints


def main(argv: list[str], prog: str) -> int:
    """Run ``akita demo``; return its exit status."""
    args = _parser(prog).parse_args(argv)
    out: Path = args.out
    trace_path = args.trace or out / "trace.jsonl"
    model_path = args.model or out / "model.yaml"
    html_path = args.html or out / "report.html"

    try:
        recorded, endpoints = run_demo(trace_path, model_path, html_path)
    except DemoError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1

    print(f"Recorded {recorded} requests of the example API into {trace_path}")
    print(f"Found {endpoints} endpoints: model in {model_path}, report in {html_path}")
    print(f"Open the report: file://{html_path.resolve()}")
    return 0
