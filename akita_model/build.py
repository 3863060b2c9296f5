"""Build model and report files from trace files: the I/O edge.

``build_files`` reads traces, summarises them, writes the OpenAPI document
(YAML, or JSON when the name ends in ``.json``) and, when asked, the HTML
report. Everything between reading and writing is pure.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from akita_model.builder import build_summary
from akita_model.errors import ModelError, OutputError
from akita_model.parallel import (
    MIN_PARALLEL_BYTES,
    RangeSummary,
    build_har_parallel,
    build_parallel,
    can_fork,
    can_split,
    default_jobs,
)
from akita_model.reader import Problem, TraceReader, is_har_document, read_trace
from akita_model.witness import Witness

logger = logging.getLogger(__name__)

# progress(witnesses read so far, bytes read so far or None)
Progress = Callable[[int], None]
PROGRESS_EVERY = 1000


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build produced and what it met on the way."""

    openapi: dict[str, Any]
    witnesses: int
    skipped: dict[str, int]
    endpoints: int
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _with_progress(reader: TraceReader, progress: Progress | None) -> Iterable[Witness]:
    if progress is None:
        return iter(reader)

    def counted() -> Iterator[Witness]:
        count = 0
        for witness in reader:
            count += 1
            if count % PROGRESS_EVERY == 0:
                progress(count)
            yield witness
        progress(count)

    return counted()


def _write(path: str | os.PathLike[str], text: str, what: str) -> None:
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(
            f"The {what} cannot be written to {str(target)!r}: {exc.strerror}; "
            "check that its folder exists and is writable."
        ) from None


def _report_module(html_path: str | os.PathLike[str]) -> Any:
    # Imported by name, only when a report is asked for: the report's
    # templates are not needed to build a model.
    try:
        return importlib.import_module("akita_model.report")
    except ModuleNotFoundError as exc:
        if exc.name != "akita_model.report":
            raise
        raise OutputError(
            f"The report cannot be written to {str(html_path)!r}: this "
            "installation has no akita_model.report; build without --html."
        ) from None


def _output_loader(html_path: str | os.PathLike[str] | None) -> Callable[[], None]:
    """Return what loads the code that writes the outputs, ahead of time.

    A parallel build calls it once its workers have started, which forked
    without this code: loading the OpenAPI writer, YAML and the report's
    templates then overlaps with the workers' reading instead of coming
    after it.
    """

    def load() -> None:
        # Only ahead of time: whatever fails here fails again where the
        # outputs are written, and is reported there.
        try:
            importlib.import_module("akita_model.openapi")
            if html_path is not None:
                _report_module(html_path).load_templates()
        except Exception:
            logger.debug("loading the output code ahead failed", exc_info=True)

    return load


def _write_report(document: dict[str, Any], html_path: str | os.PathLike[str]) -> None:
    render_report: Callable[[dict[str, Any]], str] = _report_module(
        html_path
    ).render_report
    _write(html_path, render_report(document), "report")


def _write_report_and_tell(
    document: dict[str, Any],
    html_path: str | os.PathLike[str],
    outcome: multiprocessing.connection.Connection,
) -> None:
    # In the forked copy: write the report, then send None, or what failed.
    try:
        _write_report(document, html_path)
    except BaseException as error:  # sent to the parent, which raises it
        try:
            outcome.send(error)
        except Exception:  # an exception that does not pickle
            outcome.send(ModelError(f"The report failed: {error!r}"))
    else:
        outcome.send(None)
    finally:
        outcome.close()


class _ReportJob:
    """The report, rendered and written by a forked copy of this process.

    The copy renders the report while this process writes the model: both
    are written from the same document, so the files are those that one
    process would write.
    """

    def __init__(
        self, document: dict[str, Any], html_path: str | os.PathLike[str]
    ) -> None:
        self.document = document
        self.html_path = html_path
        context = multiprocessing.get_context("fork")
        self._outcome, sent = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_write_report_and_tell,
            args=(document, html_path, sent),
            daemon=True,
        )
        try:
            self._process.start()
        except BaseException:
            self._outcome.close()
            raise
        finally:
            sent.close()

    def _wait(self) -> tuple[bool, BaseException | None]:
        # Wait for the copy to end: whether it told, and what failed.
        try:
            return True, self._outcome.recv()
        except EOFError:
            return False, None
        finally:
            self._outcome.close()
            self._process.join()

    def finish(self) -> None:
        """Wait for the report; raise what failed in writing it."""
        told, error = self._wait()
        if not told:
            # The copy ended without a word (killed, out of memory): the
            # report is written here instead.
            logger.warning("the process writing the report stopped; writing it here")
            _write_report(self.document, self.html_path)
        elif error is not None:
            raise error

    def abandon(self) -> None:
        """Wait for the copy to end, whatever it met."""
        self._wait()


def _start_report(
    document: dict[str, Any], html_path: str | os.PathLike[str]
) -> _ReportJob | None:
    # A report job when forking is safe and works, else None: the report is
    # then written in this process, after the model.
    if not can_fork():
        return None
    try:
        return _ReportJob(document, html_path)
    except OSError as error:
        logger.debug("cannot fork to write the report: %s", error)
        return None


def count_endpoints(document: dict[str, Any]) -> int:
    """Return the number of operations in an OpenAPI document."""
    return sum(len(item) for item in document.get("paths", {}).values())


def total_bytes(paths: Sequence[str | os.PathLike[str]]) -> int:
    """Return the size of the traces on disk; unreadable ones count as 0."""
    total = 0
    for path in paths:
        try:
            total += Path(path).stat().st_size
        except OSError:
            continue
    return total


def build_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    service: str | None = None,
    model_path: str | os.PathLike[str] | None = None,
    html_path: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> BuildResult:
    """Build the API model of trace files and write the files asked for.

    Args:
        paths: ``.jsonl``, ``.jsonl.gz`` or ``.har`` traces, read in order.
        service: the document's ``info.title``; None takes the service the
            witnesses name in ``_akita.service``.
        model_path: where to write the model; JSON if it ends in ``.json``.
        html_path: where to write the HTML report.
        progress: called with the number of witnesses read, now and then.
        jobs: processes to summarise large traces in; None uses the
            CPUs available (at most ``parallel.MAX_JOBS``), 1 one process.
            The model is the same whatever the number.

    Raises:
        TraceError: a trace is missing or cannot be read.
        OutputError: a file cannot be written.
    """
    jobs = default_jobs() if jobs is None else max(1, jobs)
    is_large = jobs > 1 and total_bytes(paths) >= MIN_PARALLEL_BYTES
    built: RangeSummary | None = None
    load_output = _output_loader(html_path)
    if is_large and can_split(paths):
        built = build_parallel(paths, service, jobs, load_output)
    elif is_large and all(is_har_document(path) for path in paths):
        built = build_har_parallel(paths, service, jobs, progress, load_output)
    if built is not None:
        summary, witnesses, problems = built.summary, built.witnesses, built.problems
        skipped = dict(summary.skipped)
        if progress is not None:
            progress(witnesses)
    else:
        reader = read_trace(paths)
        summary = build_summary(_with_progress(reader, progress), service=service)
        summary.skipped.update(reader.skipped)
        witnesses, problems, skipped = (
            reader.witnesses,
            tuple(reader.problems),
            dict(reader.skipped),
        )
    # After the summary: see _output_loader.
    from akita_model.openapi import dump_openapi, to_openapi

    document = to_openapi(summary)

    warnings: list[str] = []
    if witnesses == 0:
        warnings.append(
            "The trace has no witnesses, so the model has no endpoints; "
            "check that the right trace was given."
        )
        logger.warning("no witnesses in %s", ", ".join(str(path) for path in paths))

    # Both files asked for: the report is written by a forked copy of this
    # process while this one writes the model, when that can be done.
    report = (
        _start_report(document, html_path)
        if html_path is not None and model_path is not None
        else None
    )
    try:
        if model_path is not None:
            is_json = str(model_path).lower().endswith(".json")
            _write(model_path, dump_openapi(document, json=is_json), "model")
    except BaseException:
        # The model's failure is the one to tell, as in one process.
        if report is not None:
            report.abandon()
        raise
    if report is not None:
        report.finish()
    elif html_path is not None:
        _write_report(document, html_path)

    endpoints = count_endpoints(document)
    logger.info("built a model of %d endpoints from %d witnesses", endpoints, witnesses)
    return BuildResult(
        openapi=document,
        witnesses=witnesses,
        skipped=dict(sorted(skipped.items())),
        endpoints=endpoints,
        problems=problems,
        warnings=tuple(warnings),
    )
