"""Benchmark ``akita model build``: throughput against mitmproxy2swagger, memory.

Two parts, each in real processes:

throughput
    One HAR file of 40,000 witnesses (``gen_trace``, one entry a line as
    proxies stream them, or with ``--pretty`` indented as browsers export
    them), modelled by ``python -m akita_model model build`` and by
    mitmproxy2swagger, runs interleaved. mitmproxy2swagger needs two
    passes: the first lists the paths it saw as ``ignore:`` lines; the user
    then edits that list into path templates and runs it again, and only
    that second pass writes schemas. The edit is done here as a user would
    do it (see ``edit_path_templates``). Both passes are timed; the ratio
    is given against the schema pass alone and against both.

memory
    JSON Lines traces of 10,000, 100,000 and 1,000,000 witnesses, each built
    in a child process whose peak resident set size the kernel reports
    (``os.wait4``'s ``ru_maxrss``).

mitmproxy2swagger is installed from PyPI into a virtual environment under
the output folder, because its dependencies (mitmproxy) may clash with
ours. Traces are cached there by size and seed.

    python bench/model_bench.py
    python bench/model_bench.py --skip-memory --repeat 5
    python bench/model_bench.py --skip-memory --pretty
    python bench/model_bench.py --skip-throughput --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml
from gen_trace import HOST, write_trace
from trace_api import ENDPOINTS

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPOSITORY / "bench" / "out"
TARGET_RATIO = 15.0
TARGET_PEAK_MB = 100.0


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


@dataclass(frozen=True)
class Run:
    """One child process: its wall time, CPU time and peak memory."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    # The largest sum of the resident sizes of the command and its child
    # processes, sampled every 10 ms (a build may run worker processes).
    peak_tree_rss_mb: float = 0.0


def run_measured(
    command: Sequence[str],
    log: Path,
    cwd: Path | None = None,
    sample_memory: bool = False,
) -> Run:
    """Run a command to its end; measure it with the kernel's own accounting.

    ``os.wait4`` gives the resource usage of this one child (and of the
    children it waited for), unlike ``RUSAGE_CHILDREN``, whose peak is the
    largest of every child so far. With ``sample_memory``, a thread also
    samples the resident size of the child and its descendants; it costs a
    good part of a CPU, so timed runs go without it.
    """
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    with open(log, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd, env=env
        )
        sampler = _TreeSampler(process.pid)
        if sample_memory:
            sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if sample_memory:
            sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)

    if process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchError(
            f"{command[0]} {' '.join(command[1:4])} ... exited with status "
            f"{process.returncode}; the end of its output ({log}):\n{tail}"
        )
    # Linux reports ru_maxrss in kibibytes.
    return Run(
        seconds,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        sampler.peak_bytes / 2**20,
    )


class _TreeSampler(threading.Thread):
    """Sample the summed resident size of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_bytes = 0
        self._done = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._done.wait(0.01)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._done.set()
        self.join()


def trace_file(out: Path, witnesses: int, suffix: str, seed: int) -> Path:
    """Return a cached trace of that size, writing it first if it is missing."""
    path = out / f"trace-{witnesses}-seed{seed}{suffix}"
    if path.exists():
        return path

    print(f"  generating {path.name} ...", flush=True)
    started = time.perf_counter()
    write_trace(path, witnesses, seed)
    size_mb = path.stat().st_size / 2**20
    print(f"  {size_mb:.0f} MB in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def pretty_har(out: Path, har: Path) -> Path:
    """Return a copy of a HAR file pretty-printed as browsers export it.

    Browsers' developer tools write HAR documents indented by two spaces,
    one value a line; akita then reads the document with its streaming
    parser instead of entry by entry.
    """
    path = out / f"{har.stem}-pretty.har"
    if path.exists():
        return path
    print(f"  pretty-printing {har.name} into {path.name} ...", flush=True)
    document = json.loads(har.read_bytes())
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2)
    return path


def akita_build(
    trace: Path,
    work: Path,
    name: str,
    sample_memory: bool = False,
    report: bool = True,
) -> Run:
    """Build the model of a trace with ``akita``, and its HTML report if asked."""
    model = work / f"{name}.yaml"
    command = [
        sys.executable,
        "-m",
        "akita_model",
        "model",
        "build",
        str(trace),
        "--output",
        str(model),
    ]
    if report:
        command += ["--html", str(work / f"{name}.html")]
    run = run_measured(command, work / f"{name}.log", sample_memory=sample_memory)
    _check_model(model, trace)
    return run


def mitmproxy2swagger_executable(out: Path) -> Path:
    """Return mitmproxy2swagger in its own virtual environment, installing it."""
    venv = out / "m2s-venv"
    executable = venv / "bin" / "mitmproxy2swagger"
    if executable.exists():
        return executable

    print(f"  installing mitmproxy2swagger into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "mitmproxy2swagger"], check=True
    )
    return executable


def mitmproxy2swagger_passes(
    executable: Path, har: Path, work: Path, name: str
) -> tuple[Run, Run]:
    """Run both passes of mitmproxy2swagger, with the user's edit between."""
    output = work / f"{name}.yaml"
    output.unlink(missing_ok=True)
    command = [str(executable), "-i", str(har), "-o", str(output), "-p", HOST]
    command += ["-f", "har"]

    listing = run_measured(command, work / f"{name}-pass1.log", cwd=work)
    edit_path_templates(output)
    schemas = run_measured(command, work / f"{name}-pass2.log", cwd=work)

    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    if not document.get("paths"):
        raise BenchError(f"mitmproxy2swagger wrote no paths to {output}.")
    return listing, schemas


def edit_path_templates(listing: Path) -> list[str]:
    """Edit mitmproxy2swagger's first-pass list into path templates.

    What a user does by hand: take each ``ignore:`` line, drop the prefix,
    and turn the values in it (numbers, UUIDs, slugs, user names) into
    ``{placeholders}``, keeping one line per template; literal paths go
    first, since the first template that matches wins. Here the templates
    are the API's own, so a line that fits none of them is an error.
    """
    document = yaml.safe_load(listing.read_text(encoding="utf-8"))
    known = sorted({e.template for e in ENDPOINTS}, key=_specific_first)
    patterns = [(template, _template_pattern(template)) for template in known]

    templates: set[str] = set()
    for line in document.get("x-path-templates") or []:
        path = str(line).removeprefix("ignore:")
        match = next((t for t, pattern in patterns if pattern.match(path)), None)
        if match is None:
            raise BenchError(
                f"The listed path {path!r} fits none of the API's templates; "
                f"is {listing} a listing of this benchmark's trace?"
            )
        templates.add(match)

    document["x-path-templates"] = sorted(templates, key=_specific_first)
    listing.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return list(document["x-path-templates"])


def _template_pattern(template: str) -> re.Pattern[str]:
    # A placeholder stands for one segment; a listed line may already hold
    # one of mitmproxy2swagger's own suggestions such as {id}.
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$")


def _specific_first(template: str) -> tuple[int, str]:
    return (template.count("{"), template)


def _check_model(model: Path, trace: Path) -> None:
    document = yaml.safe_load(model.read_text(encoding="utf-8"))
    operations = sum(
        1
        for item in document.get("paths", {}).values()
        for key in item
        if key in ("get", "post", "put", "patch", "delete")
    )
    if operations == 0:
        raise BenchError(f"akita wrote a model with no operations for {trace}.")


def throughput(args: argparse.Namespace) -> None:
    """Time both tools on one HAR file, interleaved, and print the ratio."""
    count = args.witnesses
    layout = "pretty-printed HAR" if args.pretty else "HAR, one entry a line"
    print(
        f"\n== throughput: {count} witnesses, {layout}, {args.repeat} rounds: "
        f"{args.akita_runs} akita runs and one mitmproxy2swagger run a round =="
    )
    har = trace_file(args.out, count, ".har", args.seed)
    if args.pretty:
        har = pretty_har(args.out, har)
    executable = mitmproxy2swagger_executable(args.out)
    work = args.out / "throughput"
    work.mkdir(exist_ok=True)

    akita: list[Run] = []
    akita_model_only: list[Run] = []
    listing: list[Run] = []
    schemas: list[Run] = []
    for repetition in range(args.repeat):
        # Alternate which tool goes first, so neither always gets a cold or
        # a warm page cache.
        order = ["akita", "m2s"] if repetition % 2 == 0 else ["m2s", "akita"]
        for tool in order:
            if tool == "akita" and args.skip_akita:
                continue
            if tool == "akita":
                # A run of akita is short, so a burst of other work on a
                # shared machine moves it far more: it is timed more often.
                # Each turn builds the model and the report, and the model
                # alone (what mitmproxy2swagger writes), in turns.
                for turn in range(args.akita_runs):
                    variants = [True, False] if turn % 2 == 0 else [False, True]
                    for report in variants:
                        name = f"akita-{repetition}-{turn}"
                        name += "" if report else "-model"
                        run = akita_build(har, work, name, report=report)
                        (akita if report else akita_model_only).append(run)
                        what = "model + report" if report else "model only    "
                        print(
                            f"  run {repetition + 1} akita model build, {what} "
                            f"{run.seconds:7.2f} s"
                        )
            else:
                first, second = mitmproxy2swagger_passes(
                    executable, har, work, f"m2s-{repetition}"
                )
                listing.append(first)
                schemas.append(second)
                print(
                    f"  run {repetition + 1} mitmproxy2swagger   {first.seconds:7.2f} s"
                    f" + {second.seconds:.2f} s"
                )

    both = [_sum(a, b) for a, b in zip(listing, schemas, strict=True)]
    series = [
        ("akita model build (model + HTML report)", akita),
        ("akita model build (model only)", akita_model_only),
        ("mitmproxy2swagger pass 1 (path listing)", listing),
        ("mitmproxy2swagger pass 2 (schemas)", schemas),
        ("mitmproxy2swagger both passes", both),
    ]
    print(f"\n  akita's modules compiled with mypyc: {_compiled_note()}")
    heading = "median of the runs"
    print(f"\n  {heading:42} {'witnesses/s':>12} {'per CPU s':>10}")
    rates = {}
    for name, runs in series:
        if not runs:
            continue
        rates[name] = _rates(count, runs)
        wall, cpu = rates[name]
        print(f"  {name:42} {wall:12,.0f} {cpu:10,.0f}")
    if not akita:
        return

    for akita_name, akita_label in (
        (series[0][0], "akita (model + report)"),
        (series[1][0], "akita (model only)"),
    ):
        akita_wall, akita_cpu = rates[akita_name]
        print()
        for label, (wall, cpu) in (
            ("schema pass", rates[series[3][0]]),
            ("both passes", rates[series[4][0]]),
        ):
            ratio = akita_wall / wall
            verdict = "meets" if ratio >= TARGET_RATIO else "misses"
            print(
                f"  {akita_label} / mitmproxy2swagger {label}: {ratio:.1f}x by "
                f"wall time, {akita_cpu / cpu:.1f}x by CPU time "
                f"({verdict} the target of {TARGET_RATIO:g}x)"
            )


def compile_bytecode() -> bool:
    """Write the bytecode of akita's plain Python modules, as an install does.

    pip writes a package's bytecode when it installs it (mitmproxy2swagger's
    virtual environment has it), and Python writes a module's on its first
    import, unless ``PYTHONDONTWRITEBYTECODE`` is set, as it is on some
    machines. An editable checkout has none until then, and every run would
    compile akita's sources again. Returns whether every module compiled.
    """
    return bool(compileall.compile_dir(REPOSITORY / "akita_model", quiet=1))


def _compiled_note() -> str:
    """Say whether the checked-out akita_model runs compiled, as the bench runs it."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import akita_model.shapes as m; print(m.__file__)",
        ],
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        check=False,
    )
    path = probe.stdout.strip()
    if path.endswith(".py"):
        return "no (plain Python: run `pip install -e .` with a C compiler)"
    return "yes" if path else f"unknown ({probe.stderr.strip()[-200:]})"


def _sum(first: Run, second: Run) -> Run:
    return Run(
        first.seconds + second.seconds,
        first.cpu_seconds + second.cpu_seconds,
        max(first.peak_rss_mb, second.peak_rss_mb),
    )


def _rates(count: int, runs: list[Run]) -> tuple[float, float]:
    """Return witnesses per second of wall time and of CPU time, median runs."""
    wall = statistics.median(run.seconds for run in runs)
    cpu = statistics.median(run.cpu_seconds for run in runs)
    return count / wall, count / cpu


def memory(args: argparse.Namespace) -> None:
    """Build traces of growing size and print each build's peak memory."""
    print(f"\n== memory: akita model build on JSONL traces of {args.sizes} ==")
    work = args.out / "memory"
    work.mkdir(exist_ok=True)

    rows = []
    for size in args.sizes:
        trace = trace_file(args.out, size, ".jsonl", args.seed)
        run = akita_build(trace, work, f"akita-{size}", sample_memory=True)
        rows.append((size, trace.stat().st_size / 2**20, run))
        print(
            f"  {size} witnesses: {run.seconds:.1f} s, {run.peak_rss_mb:.1f} MB, "
            f"{run.peak_tree_rss_mb:.1f} MB with its workers"
        )

    print(
        f"\n  {'witnesses':>10} {'trace MB':>9} {'seconds':>8} {'CPU s':>7} "
        f"{'witnesses/s':>12} {'peak RSS MB':>12} {'all processes MB':>17}"
    )
    for size, trace_mb, run in rows:
        print(
            f"  {size:>10,} {trace_mb:>9.0f} {run.seconds:>8.1f} "
            f"{run.cpu_seconds:>7.1f} {size / run.seconds:>12,.0f} "
            f"{run.peak_rss_mb:>12.1f} {run.peak_tree_rss_mb:>17.1f}"
        )
    for label, peaks in (
        ("peak RSS of the largest process", [run.peak_rss_mb for *_, run in rows]),
        (
            "peak RSS of all its processes together",
            [run.peak_tree_rss_mb for *_, run in rows],
        ),
    ):
        verdict = "meets" if max(peaks) < TARGET_PEAK_MB else "misses"
        print(
            f"  {label}: from {min(peaks):.1f} to {max(peaks):.1f} MB "
            f"({verdict} the target of under {TARGET_PEAK_MB:g} MB)"
        )


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes takes whole numbers separated by commas, not {value!r}."
        ) from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(
            f"--sizes needs at least one size above 0, not {value!r}."
        )
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Run the parts of the benchmark that the command line asks for."""
    parser = argparse.ArgumentParser(
        prog="model_bench.py", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="work folder")
    parser.add_argument("--seed", type=int, default=1, help="trace seed (default 1)")
    parser.add_argument(
        "--witnesses", type=int, default=40000, help="throughput trace size"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds, one mitmproxy2swagger run each"
    )
    parser.add_argument(
        "--akita-runs", type=int, default=3, help="akita runs a round (default 3)"
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[10000, 100000, 1000000],
        help="memory trace sizes, comma-separated (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--pretty",
        action="store_true",
        help="time both tools on the HAR pretty-printed, as browsers export it",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--skip-akita",
        action="store_true",
        help="time mitmproxy2swagger alone in the throughput part",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.witnesses < 1 or args.akita_runs < 1:
        parser.error("--repeat, --akita-runs and --witnesses must be at least 1.")

    args.out.mkdir(parents=True, exist_ok=True)
    if not compile_bytecode():
        print("model_bench.py: error: akita_model does not compile", file=sys.stderr)
        return 1
    # Traces and the virtual environment are large: keep them out of git.
    (args.out / ".gitignore").write_text("*\n", encoding="utf-8")
    try:
        if not args.skip_throughput:
            throughput(args)
        if not args.skip_memory:
            memory(args)
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"model_bench.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
