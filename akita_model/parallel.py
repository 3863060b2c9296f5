"""Build a summary of large traces in several processes.

Summaries merge exactly, whatever the split, so a large plain JSONL trace is
cut into ranges of whole lines, each range is summarised in its own process,
and the summaries are merged: the model is the same as one process would
build, byte for byte. A HAR document whose entries each start a line of
their own (written one entry a line, as tools that stream HAR write it, or
indented, as browsers export it) is cut the same way after its head; each
process reads the entries that start in its range, checks the layout, and
the ranges must keep it (``har_layout_holds``). Any other HAR document
cannot be cut without parsing it, so this process streams its entries and
hands batches of them to worker processes, summarising a batch itself
whenever the workers are busy. Gzipped JSONL traces are read in one
process.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import multiprocessing.queues
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import orjson

from akita_model.builder import Summary
from akita_model.cutting import HarLayout
from akita_model.errors import EntryError, ModelError
from akita_model.reader import (
    MAX_PROBLEMS,
    Problem,
    TraceReader,
    har_head_size,
    is_har_document,
    read_trace,
    read_trace_range,
)
from akita_model.witness import parse_entry

logger = logging.getLogger(__name__)

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
MAX_JOBS = 3
# Ranges a process: more than one, so that a process that starts early
# takes more of them (this one, when workers are spawned and start a fresh
# interpreter), and a process that ends early waits at most for one range.
RANGES_PER_JOB = 16
# The last ranges, one a process, are cut again in this many: a process that
# ends its last range early then waits for a quarter of a range at most.
TAIL_PIECES = 4
_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TraceRange:
    """Whole lines of one JSONL file: bytes ``[start, end)``."""

    path: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RangeSummary:
    """What one process learnt from the ranges it summarised.

    ``layouts`` holds, by range number, what each range of a HAR document
    showed of its layout (None for JSONL ranges).
    """

    summary: Summary
    witnesses: int
    problems: tuple[Problem, ...]
    layouts: dict[int, HarLayout | None] = field(default_factory=dict)


def default_jobs() -> int:
    """Return how many processes to use: the CPUs this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_JOBS))


def can_fork() -> bool:
    """Tell whether this process may fork a copy of itself now.

    Forking copies this process as it is, imports done: a worker starts at
    once instead of starting an interpreter. It is safe only while this
    process runs one thread (another may hold a lock the copy would never
    see released, such as a progress bar's).
    """
    return "fork" in multiprocessing.get_all_start_methods() and (
        threading.active_count() == 1
    )


def _context() -> (
    multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext
):
    # Workers are forked when that is safe, else spawned.
    if can_fork():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def can_split(paths: Sequence[str | os.PathLike[str]]) -> bool:
    """Tell whether every trace is a plain JSONL file, which can be cut."""
    for path in paths:
        if str(path).lower().endswith(".gz") or is_har_document(path):
            return False
        try:
            with open(path, "rb") as stream:
                if stream.read(2) == b"\x1f\x8b":
                    return False
        except OSError:
            return False
    return True


def split_ranges(
    paths: Sequence[str | os.PathLike[str]],
    parts: int,
    starts: Sequence[int] | None = None,
    tail: int = 0,
) -> list[TraceRange]:
    """Cut files into about ``parts`` ranges of whole lines, in order.

    ``starts`` gives, file by file, the offset of the first line to cut
    from (the end of a HAR document's head); the bytes before it are left
    out. The last ``tail`` ranges are each cut again in ``TAIL_PIECES``.
    """
    offsets = list(starts) if starts is not None else [0] * len(paths)
    sizes = [
        (str(path), Path(path).stat().st_size, first)
        for path, first in zip(paths, offsets, strict=True)
    ]
    total = sum(size - first for _, size, first in sizes)
    target = max(1, total // parts)
    ranges: list[TraceRange] = []
    for path, size, first in sizes:
        if size > first:
            ranges.extend(_cut(path, first, size, target))
    if tail > 0:
        last = ranges[-tail:]
        del ranges[-tail:]
        for trace_range in last:
            piece = max(1, (trace_range.end - trace_range.start) // TAIL_PIECES)
            ranges.extend(
                _cut(trace_range.path, trace_range.start, trace_range.end, piece)
            )
    return ranges


def _cut(path: str, start: int, end: int, target: int) -> list[TraceRange]:
    # Ranges of about ``target`` bytes, of whole lines, from ``start`` (a
    # line's start) to ``end`` (a line's start or the end of the file).
    cuts = [start]
    with open(path, "rb") as stream:
        offset = start + target
        while offset < end:
            stream.seek(offset)
            stream.readline()
            cut = stream.tell()
            if cut >= end:
                break
            if cut > cuts[-1]:
                cuts.append(cut)
            offset = cut + target
    cuts.append(end)
    return [
        TraceRange(path, first, last)
        for first, last in zip(cuts, cuts[1:], strict=False)
    ]


@dataclass(frozen=True, slots=True)
class _ProcessPart:
    """What one process learnt from the ranges it took, by range number.

    Problems number lines from 1 at their range's first line, and ``lines``
    counts each range's lines, so that they can be numbered in the file.
    """

    summary: Summary
    witnesses: int
    problems: dict[int, tuple[Problem, ...]]
    layouts: dict[int, HarLayout | None]
    lines: dict[int, int]


class _RangeWork:
    """One process's summary of the ranges it takes, one after another."""

    def __init__(self, ranges: Sequence[TraceRange], service: str | None) -> None:
        self.ranges = ranges
        self.summary = Summary(service)
        self.witnesses = 0
        self.problems: dict[int, tuple[Problem, ...]] = {}
        self.layouts: dict[int, HarLayout | None] = {}
        self.lines: dict[int, int] = {}

    def take(self, index: int) -> None:
        """Summarise range ``index`` into this process's summary."""
        trace_range = self.ranges[index]
        reader = read_trace_range(trace_range.path, trace_range.start, trace_range.end)
        for witness in reader:
            self.summary.add(witness)
        self.summary.skipped.update(reader.skipped)
        self.witnesses += reader.witnesses
        self.problems[index] = tuple(reader.problems)
        self.layouts[index] = reader.har_layout
        self.lines[index] = reader.range_lines

    def take_queued(self, tasks: multiprocessing.queues.Queue[Any]) -> None:
        """Take the ranges the queue names, until it says stop (None)."""
        while (index := tasks.get()) is not None:
            self.take(index)

    def result(self) -> _ProcessPart:
        """Return what this process learnt."""
        return _ProcessPart(
            self.summary, self.witnesses, self.problems, self.layouts, self.lines
        )


def _summarise_queued_ranges(
    ranges: Sequence[TraceRange],
    service: str | None,
    tasks: multiprocessing.queues.Queue[Any],
    results: multiprocessing.queues.Queue[Any],
) -> None:
    """Summarise the ranges the queue names until it says stop (a worker)."""
    work = _RangeWork(ranges, service)
    work.take_queued(tasks)
    results.put(work.result())


def _summarise_ranges(
    paths: Sequence[str | os.PathLike[str]],
    ranges: Sequence[TraceRange],
    service: str | None,
    jobs: int,
    meanwhile: Callable[[], None] | None = None,
) -> RangeSummary:
    # This process takes the first range while ``jobs - 1`` workers start,
    # then every process takes the next range from one queue until it
    # meets a stop mark: one a process. Each process keeps one summary for
    # all its ranges, so that each learns a body's shape once.
    logger.debug("summarising %d ranges in %d processes", len(ranges), jobs)
    context = _context()
    tasks: multiprocessing.queues.Queue[Any] = context.Queue()
    results: multiprocessing.queues.Queue[Any] = context.Queue()
    for index in range(1, len(ranges)):
        tasks.put(index)
    for _ in range(jobs):
        tasks.put(None)
    workers = [
        context.Process(
            target=_summarise_queued_ranges,
            args=(ranges, service, tasks, results),
            daemon=True,
        )
        for _ in range(jobs - 1)
    ]
    for worker in workers:
        worker.start()
    if meanwhile is not None:
        meanwhile()

    work = _RangeWork(ranges, service)
    work.take(0)
    work.take_queued(tasks)
    parts = [work.result()]
    parts.extend(_collect(results, workers, _ProcessPart) for _ in workers)
    for worker in workers:
        worker.join()

    # The parts are this build's own: the first learns the others in place
    # instead of being copied into a new summary.
    summary = parts[0].summary
    for part in parts[1:]:
        summary.absorb(part.summary)
    layouts: dict[int, HarLayout | None] = {}
    for part in parts:
        layouts.update(part.layouts)
    problems = _number_problems(ranges, parts)
    witnesses = sum(part.witnesses for part in parts)
    return RangeSummary(summary, witnesses, tuple(problems[:MAX_PROBLEMS]), layouts)


def _number_problems(
    ranges: Sequence[TraceRange], parts: Sequence[_ProcessPart]
) -> list[Problem]:
    # A problem's line in its file is its line in its range plus the lines
    # of the file's ranges before it (for a HAR document, its entries).
    problems: dict[int, tuple[Problem, ...]] = {}
    lines: dict[int, int] = {}
    for part in parts:
        problems.update(part.problems)
        lines.update(part.lines)
    numbered: list[Problem] = []
    before = 0
    for index, trace_range in enumerate(ranges):
        previous = ranges[index - 1] if index else None
        if (
            previous is None
            or previous.path != trace_range.path
            or previous.start >= trace_range.start
        ):
            # A file's first range (the same file may be given twice).
            before = 0
        numbered.extend(
            replace(problem, line=problem.line + before)
            for problem in problems.get(index, ())
        )
        before += lines.get(index, 0)
    return numbered


def build_parallel(
    paths: Sequence[str | os.PathLike[str]],
    service: str | None,
    jobs: int,
    meanwhile: Callable[[], None] | None = None,
) -> RangeSummary:
    """Summarise JSONL traces in ``jobs`` processes and merge the summaries.

    ``meanwhile`` is called in this process once the workers have started.
    """
    ranges = split_ranges(paths, jobs * RANGES_PER_JOB, tail=jobs)
    if not ranges:
        return RangeSummary(Summary(service), 0, ())
    return _summarise_ranges(paths, ranges, service, jobs, meanwhile)


def har_layout_holds(layouts: Sequence[HarLayout | None]) -> bool:
    """Tell whether the ranges of one HAR document, in order, kept its layout.

    Every range must keep it, the first must start with an entry, and one
    must hold the document's end. Ranges meet without a gap or an overlap:
    a range reads its last entry to the next entry's start, and the next
    range passes over the lines before that start.
    """
    if not layouts or None in layouts:
        return False
    checked = [layout for layout in layouts if layout is not None]
    if checked[0].starts_inside or any(layout.is_broken for layout in checked):
        return False
    return sum(layout.has_end for layout in checked) == 1


def _build_har_ranges(
    paths: Sequence[str | os.PathLike[str]],
    service: str | None,
    jobs: int,
    meanwhile: Callable[[], None] | None,
) -> RangeSummary | None:
    # Return None unless every document's entries each start a line.
    heads = [har_head_size(path) for path in paths]
    starts = [head for head in heads if head is not None]
    if len(starts) != len(heads):
        return None
    ranges = split_ranges(paths, jobs * RANGES_PER_JOB, starts, tail=jobs)
    if not ranges:
        return None
    built = _summarise_ranges(paths, ranges, service, jobs, meanwhile)
    for path in {trace_range.path for trace_range in ranges}:
        layouts = [
            built.layouts.get(index)
            for index, trace_range in enumerate(ranges)
            if trace_range.path == path
        ]
        if not har_layout_holds(layouts):
            return None
    return built


HAR_BATCH = 256
_Part = TypeVar("_Part", _ProcessPart, RangeSummary)
_QUEUED_BATCHES_PER_WORKER = 2
_WORKER_POLL_SECONDS = 1.0


def _summarise_batches(
    tasks: multiprocessing.queues.Queue[Any],
    results: multiprocessing.queues.Queue[Any],
    service: str | None,
) -> None:
    """Summarise batches of HAR entries, as JSON texts, until told to stop."""
    summary = Summary(service)
    skipped: Counter[str] = Counter()
    problems: list[Problem] = []
    witnesses = 0
    while True:
        task = tasks.get()
        if task is None:
            break
        path, first_number, texts = task
        for offset, text in enumerate(texts):
            try:
                witness = parse_entry(orjson.loads(text))
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
    results.put(RangeSummary(summary, witnesses, tuple(problems)))


def build_har_parallel(
    paths: Sequence[str | os.PathLike[str]],
    service: str | None,
    jobs: int,
    progress: Callable[[int], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> RangeSummary:
    """Summarise HAR documents with ``jobs - 1`` worker processes and this one.

    Documents whose entries each start a line are cut into ranges of
    lines, as JSONL traces are; others are parsed here and batches of their entries
    handed on. ``progress`` is called with the number of entries read,
    batch by batch, when the documents are parsed here. ``meanwhile`` is
    called in this process once the workers of ranges have started. It is
    not called for documents parsed here: this process's parsing is what
    feeds their workers, and nothing should hold it up.
    """
    built = _build_har_ranges(paths, service, jobs, meanwhile)
    if built is not None:
        return built
    logger.debug("a HAR document's entries do not each start a line")
    return _build_har_entries(paths, service, jobs, progress)


def _build_har_entries(
    paths: Sequence[str | os.PathLike[str]],
    service: str | None,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> RangeSummary:
    context = _context()
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
    try:
        batch: list[Any] = []
        read = 0
        batch_path = ""
        first_number = 1
        for path, number, entry in reader.har_entries():
            if batch and (str(path) != batch_path or len(batch) >= HAR_BATCH):
                _dispatch(tasks, reader, summary, (batch_path, first_number, batch))
                read += len(batch)
                batch = []
                if progress is not None:
                    progress(read)
            if not batch:
                batch_path, first_number = str(path), number
            batch.append(entry)
        if batch:
            _dispatch(tasks, reader, summary, (batch_path, first_number, batch))
    finally:
        _stop_workers(tasks, workers)

    parts = [_collect(results, workers, RangeSummary) for _ in workers]
    for worker in workers:
        worker.join()

    problems = list(reader.problems)
    witnesses = reader.witnesses
    summary.skipped.update(reader.skipped)
    for part in parts:
        summary.absorb(part.summary)
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
) -> None:
    # Hand the batch to a worker if one can take it, else summarise it here:
    # this process then works instead of waiting.
    path, first_number, batch = task
    if not tasks.full():
        try:
            tasks.put_nowait((path, first_number, [orjson.dumps(e) for e in batch]))
            return
        except queue.Full:
            pass
    trace_path = Path(path)
    for offset, entry in enumerate(batch):
        try:
            witness = parse_entry(entry)
        except EntryError as error:
            reader.skip(trace_path, first_number + offset, error, True)
            continue
        reader.witnesses += 1
        summary.add(witness)


def _collect(
    results: multiprocessing.queues.Queue[Any],
    workers: Sequence[multiprocessing.process.BaseProcess],
    kind: type[_Part],
) -> _Part:
    # The next result a worker put, of the given kind.
    while True:
        try:
            part = results.get(timeout=_WORKER_POLL_SECONDS)
        except queue.Empty:
            if any(worker.exitcode not in (None, 0) for worker in workers):
                raise ModelError(
                    "A worker process of the build stopped unexpectedly; "
                    "build again with --jobs 1 to read the trace in one process."
                ) from None
            continue
        if not isinstance(part, kind):
            raise ModelError(f"A worker process sent {type(part).__name__!r}.")
        return part
