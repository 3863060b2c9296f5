"""Build a summary of large traces in several processes.

Summaries merge exactly, whatever the split, so a large plain JSONL trace is
cut into ranges of whole lines, each range is summarised in its own process,
and the summaries are merged: the model is the same as one process would
build, byte for byte. A HAR document cannot be cut without parsing it, so
this process streams its entries and hands batches of them to worker
processes, summarising a batch itself whenever the workers are busy; when
the document is written one entry a line, the batches are of lines and the
workers parse them.
Gzipped JSONL traces are read in one process.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import multiprocessing.queues
import os
import queue
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from akita_model.builder import Summary, build_summary, merge_summaries
from akita_model.errors import EntryError, ModelError
from akita_model.reader import (
    MAX_PROBLEMS,
    Problem,
    TraceReader,
    read_trace,
    read_trace_range,
)
from akita_model.witness import parse_entry

logger = logging.getLogger(__name__)

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
MAX_JOBS = 3
_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TraceRange:
    """Whole lines of one JSONL file: bytes ``[start, end)``."""

    path: str
    start: int
    end: int
    first_line: int


@dataclass(frozen=True, slots=True)
class RangeSummary:
    """What one process learnt from one range."""

    summary: Summary
    witnesses: int
    problems: tuple[Problem, ...]


def default_jobs() -> int:
    """Return how many processes to use: the CPUs this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_JOBS))


def is_har(path: str | os.PathLike[str]) -> bool:
    """Tell whether a trace is a HAR document (``.har``, ``.har.gz``)."""
    return str(path).lower().endswith((".har", ".har.gz"))


def can_split(paths: Sequence[str | os.PathLike[str]]) -> bool:
    """Tell whether every trace is a plain JSONL file, which can be cut."""
    for path in paths:
        name = str(path).lower()
        if name.endswith((".har", ".gz")):
            return False
        try:
            with open(path, "rb") as stream:
                if stream.read(2) == b"\x1f\x8b":
                    return False
        except OSError:
            return False
    return True


def split_ranges(
    paths: Sequence[str | os.PathLike[str]], parts: int
) -> list[TraceRange]:
    """Cut JSONL files into about ``parts`` ranges of whole lines, in order."""
    sizes = [(str(path), Path(path).stat().st_size) for path in paths]
    total = sum(size for _, size in sizes)
    target = max(1, total // parts)
    ranges: list[TraceRange] = []
    for path, size in sizes:
        if size == 0:
            continue
        cuts = [0]
        with open(path, "rb") as stream:
            offset = target
            while offset < size:
                stream.seek(offset)
                stream.readline()
                cut = stream.tell()
                if cut >= size:
                    break
                if cut > cuts[-1]:
                    cuts.append(cut)
                offset = cut + target
        cuts.append(size)
        lines_before = 0
        previous = 0
        for start, end in zip(cuts, cuts[1:], strict=False):
            lines_before += _count_lines(path, previous, start)
            previous = start
            ranges.append(TraceRange(path, start, end, lines_before + 1))
    return ranges


def _count_lines(path: str, start: int, end: int) -> int:
    count = 0
    with open(path, "rb") as stream:
        stream.seek(start)
        position = start
        while position < end:
            block = stream.read(min(_BLOCK, end - position))
            if not block:
                break
            count += block.count(b"\n")
            position += len(block)
    return count


def summarise_range(trace_range: TraceRange, service: str | None) -> RangeSummary:
    """Summarise the witnesses of one range (run in a worker process)."""
    reader = read_trace_range(
        trace_range.path, trace_range.start, trace_range.end, trace_range.first_line
    )
    summary = build_summary(iter(reader), service=service)
    summary.skipped.update(reader.skipped)
    return RangeSummary(summary, reader.witnesses, tuple(reader.problems))


def build_parallel(
    paths: Sequence[str | os.PathLike[str]], service: str | None, jobs: int
) -> RangeSummary:
    """Summarise JSONL traces in ``jobs`` processes and merge the summaries.

    This process summarises the first range itself, so that ``jobs``
    processes run in all.
    """
    ranges = split_ranges(paths, jobs)
    if not ranges:
        return RangeSummary(Summary(service), 0, ())
    logger.debug("summarising %d ranges in %d processes", len(ranges), jobs)

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs - 1), mp_context=context) as pool:
        futures: list[Future[RangeSummary]] = [
            pool.submit(summarise_range, trace_range, service)
            for trace_range in ranges[1:]
        ]
        parts = [summarise_range(ranges[0], service)]
        parts.extend(future.result() for future in futures)

    summary = parts[0].summary
    problems: list[Problem] = list(parts[0].problems)
    for part in parts[1:]:
        summary = merge_summaries(summary, part.summary)
        problems.extend(part.problems)
    witnesses = sum(part.witnesses for part in parts)
    return RangeSummary(summary, witnesses, tuple(problems[:MAX_PROBLEMS]))


HAR_BATCH = 256
_QUEUED_BATCHES_PER_WORKER = 2
_WORKER_POLL_SECONDS = 1.0


def _summarise_batches(
    tasks: multiprocessing.queues.Queue[Any],
    results: multiprocessing.queues.Queue[Any],
    service: str | None,
) -> None:
    """Summarise batches of HAR entries, as JSON texts, until told to stop.

    Put the summary and whether a text was not JSON (a document that only
    seemed to be written one entry a line).
    """
    summary = Summary(service)
    skipped: Counter[str] = Counter()
    problems: list[Problem] = []
    witnesses = 0
    is_broken = False
    while True:
        task = tasks.get()
        if task is None:
            break
        path, first_number, lines = task
        for offset, line in enumerate(lines):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                is_broken = True
                break
            try:
                witness = parse_entry(entry)
            except EntryError as error:
                skipped[error.reason] += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(
                        Problem(
                            path, first_number + offset, error.reason, str(error), True
                        )
                    )
                continue
            witnesses += 1
            summary.add(witness)
    summary.skipped.update(skipped)
    results.put((RangeSummary(summary, witnesses, tuple(problems)), is_broken))


def build_har_parallel(
    paths: Sequence[str | os.PathLike[str]],
    service: str | None,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> RangeSummary:
    """Summarise HAR documents with ``jobs - 1`` worker processes and this one.

    Documents written one entry a line are cut into batches of lines, which
    the workers parse; others are parsed here and their entries handed on.
    ``progress`` is called with the number of entries read, batch by batch
    (from 0 again if a document turns out not to be written one a line).
    """
    built = _build_har(paths, service, jobs, progress, by_line=True)
    if built is None:
        logger.debug("a HAR document is not written one entry a line")
        built = _build_har(paths, service, jobs, progress, by_line=False)
    if built is None:
        raise ModelError("The HAR documents changed while they were being read.")
    return built


def _build_har(
    paths: Sequence[str | os.PathLike[str]],
    service: str | None,
    jobs: int,
    progress: Callable[[int], None] | None,
    by_line: bool,
) -> RangeSummary | None:
    # Return None when, reading by line, a document leaves the layout.
    context = multiprocessing.get_context("spawn")
    workers_count = max(1, jobs - 1)
    tasks: multiprocessing.queues.Queue[Any] = context.Queue(
        maxsize=workers_count * _QUEUED_BATCHES_PER_WORKER
    )
    results: multiprocessing.queues.Queue[Any] = context.Queue()
    workers = [
        context.Process(
            target=_summarise_batches, args=(tasks, results, service), daemon=True
        )
        for _ in range(workers_count)
    ]
    for worker in workers:
        worker.start()

    reader = read_trace(paths)
    summary = Summary(service)
    items: Iterator[tuple[Path, int, Any]] = (
        reader.har_texts() if by_line else reader.har_entries()
    )
    is_broken = False
    try:
        batch: list[Any] = []
        read = 0
        batch_path = ""
        first_number = 1
        while not is_broken:
            try:
                path, number, item = next(items)
            except StopIteration as stop:
                is_broken = by_line and not stop.value
                break
            if batch and (str(path) != batch_path or len(batch) >= HAR_BATCH):
                is_broken = not _dispatch(
                    tasks, reader, summary, (batch_path, first_number, batch), by_line
                )
                read += len(batch)
                batch = []
                if progress is not None:
                    progress(read)
            if not batch:
                batch_path, first_number = str(path), number
            batch.append(item)
        if batch and not is_broken:
            is_broken = not _dispatch(
                tasks, reader, summary, (batch_path, first_number, batch), by_line
            )
    finally:
        _stop_workers(tasks, workers)

    parts = [_collect(results, workers) for _ in workers]
    for worker in workers:
        worker.join()
    if is_broken or any(part_is_broken for _, part_is_broken in parts):
        return None

    problems = list(reader.problems)
    witnesses = reader.witnesses
    summary.skipped.update(reader.skipped)
    for part, _ in parts:
        summary = merge_summaries(summary, part.summary)
        problems.extend(part.problems)
        witnesses += part.witnesses
    problems.sort(key=lambda problem: (_path_order(paths, problem.path), problem.line))
    return RangeSummary(summary, witnesses, tuple(problems[:MAX_PROBLEMS]))


def _stop_workers(
    tasks: multiprocessing.queues.Queue[Any],
    workers: Sequence[multiprocessing.process.BaseProcess],
) -> None:
    # One stop mark a worker. A full queue whose workers have all died would
    # never drain, so waiting for room gives up once none is alive; the
    # results then tell that a worker stopped.
    for _ in workers:
        while True:
            try:
                tasks.put(None, timeout=_WORKER_POLL_SECONDS)
                break
            except queue.Full:
                if not any(worker.is_alive() for worker in workers):
                    return


def _path_order(paths: Sequence[str | os.PathLike[str]], path: str) -> int:
    names = [str(item) for item in paths]
    return names.index(path) if path in names else len(names)


def _dispatch(
    tasks: multiprocessing.queues.Queue[Any],
    reader: TraceReader,
    summary: Summary,
    task: tuple[str, int, list[Any]],
    by_line: bool,
) -> bool:
    # Hand the batch to a worker if one can take it, else summarise it here:
    # this process then works instead of waiting. Return False if a text of
    # the batch is not JSON.
    path, first_number, batch = task
    if not tasks.full():
        lines = batch if by_line else [orjson.dumps(entry) for entry in batch]
        try:
            tasks.put_nowait((path, first_number, lines))
            return True
        except queue.Full:
            pass
    trace_path = Path(path)
    for offset, item in enumerate(batch):
        try:
            entry = orjson.loads(item) if by_line else item
        except orjson.JSONDecodeError:
            return False
        try:
            witness = parse_entry(entry)
        except EntryError as error:
            reader.skip(trace_path, first_number + offset, error, True)
            continue
        reader.witnesses += 1
        summary.add(witness)
    return True


def _collect(
    results: multiprocessing.queues.Queue[Any],
    workers: Sequence[multiprocessing.process.BaseProcess],
) -> tuple[RangeSummary, bool]:
    while True:
        try:
            part: tuple[RangeSummary, bool] = results.get(timeout=_WORKER_POLL_SECONDS)
            return part
        except queue.Empty:
            if any(worker.exitcode not in (None, 0) for worker in workers):
                raise ModelError(
                    "A worker process of the build stopped unexpectedly; "
                    "build again with --jobs 1 to read the trace in one process."
                ) from None
