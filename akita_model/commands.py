"""The ``akita model`` commands.

``akita model build TRACE... [-o model.yaml] [--html report.html]
[--service NAME]`` reads traces and writes the API model. Progress goes to
stderr when it is a terminal or the input is large, then one summary line.
Exit status: 0 on success, 1 on an error, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from akita_model.build import BuildResult, Progress, build_files, total_bytes
from akita_model.errors import ModelError

LARGE_INPUT_BYTES = 50 * 1024 * 1024
TERMINAL_PROGRESS_BYTES = 1024 * 1024
PLAIN_PROGRESS_EVERY = 100_000


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Build API models from traces."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    build = commands.add_parser(
        "build",
        help="build an OpenAPI 3.1 model (and an HTML report) from traces",
        description="Build an OpenAPI 3.1 model, and optionally an HTML report, "
        "from trace files (.jsonl, .jsonl.gz or .har).",
    )
    build.add_argument("traces", metavar="TRACE", nargs="+", help="trace files to read")
    build.add_argument(
        "-o",
        "--output",
        default="model.yaml",
        metavar="MODEL",
        help="where to write the model; JSON if it ends in .json (default: model.yaml)",
    )
    build.add_argument(
        "--html", metavar="REPORT", help="also write an HTML report here"
    )
    build.add_argument(
        "--service", metavar="NAME", help="the API's name (default: from the trace)"
    )
    build.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="processes for large traces (default: the CPUs, at most 3); "
        "the model is the same whatever the number",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not 1 or more")
    return value


@contextmanager
def _progress(paths: list[str], prog: str) -> Iterator[Progress | None]:
    size = total_bytes(paths)
    if sys.stderr.isatty() and size >= TERMINAL_PROGRESS_BYTES:
        with _rich_progress() as update:
            yield update
        return
    if size >= LARGE_INPUT_BYTES:
        # Not a terminal (a CI log): a plain line now and then.
        printed = [0]

        def report(count: int) -> None:
            if count - printed[0] >= PLAIN_PROGRESS_EVERY:
                printed[0] = count
                print(f"{prog}: read {count:,} witnesses so far", file=sys.stderr)

        yield report
        return
    yield None


@contextmanager
def _rich_progress() -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with RichProgress(
        SpinnerColumn(),
        TextColumn("reading witnesses: {task.completed:,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("read", total=None)

        def update(count: int) -> None:
            bar.update(task, completed=count)

        yield update


def summary_line(result: BuildResult, model_path: str) -> str:
    """Return the one line the command prints after a build."""
    if result.skipped:
        skipped = ", ".join(
            f"{count} {reason}" for reason, count in result.skipped.items()
        )
        total = sum(result.skipped.values())
        skipped_text = f"{total} lines skipped ({skipped})"
    else:
        skipped_text = "0 lines skipped"
    endpoints = "endpoint" if result.endpoints == 1 else "endpoints"
    witnesses = "witness" if result.witnesses == 1 else "witnesses"
    return (
        f"akita: read {result.witnesses} {witnesses}, {skipped_text}, "
        f"found {result.endpoints} {endpoints}; wrote {model_path}"
    )


def _build(args: argparse.Namespace, prog: str) -> int:
    try:
        with _progress(args.traces, prog) as progress:
            result = build_files(
                args.traces,
                service=args.service,
                model_path=args.output,
                html_path=args.html,
                progress=progress,
                jobs=args.jobs,
            )
    except ModelError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1

    for problem in result.problems:
        print(f"{prog}: skipped {problem}", file=sys.stderr)
    hidden = sum(result.skipped.values()) - len(result.problems)
    if hidden > 0:
        print(
            f"{prog}: skipped {hidden} more lines (counted above by reason)",
            file=sys.stderr,
        )
    for warning in result.warnings:
        print(f"{prog}: warning: {warning}", file=sys.stderr)
    written = args.output if args.html is None else f"{args.output} and {args.html}"
    print(summary_line(result, written), file=sys.stderr)
    return 0


def main(argv: list[str], prog: str) -> int:
    """Run ``akita model`` with ``argv`` and return the exit status."""
    # The command prints its own warnings; the library's log records would
    # repeat them through logging's last-resort handler.
    logging.getLogger("akita_model").addHandler(logging.NullHandler())
    args = _parser(prog).parse_args(argv)
    if args.command == "build":
        return _build(args, f"{prog} build")
    return 2
