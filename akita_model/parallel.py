"""Build a summary of large JSONL traces in several processes.

Summaries merge exactly, so a large trace is cut into ranges of whole
lines, each range is summarised in its own process, and the summaries are
merged in order: the model is the same as one process would build, byte for
byte. Only plain JSONL files are cut; gzipped files and HAR documents are
read in one piece.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from akita_model.builder import Summary, build_summary, merge_summaries
from akita_model.reader import MAX_PROBLEMS, Problem, read_trace_range

logger = logging.getLogger(__name__)

MIN_PARALLEL_BYTES = 32 * 1024 * 1024
MAX_JOBS = 4
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
