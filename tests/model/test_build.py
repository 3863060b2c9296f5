"""Building model files from traces."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from akita_model import build as build_module
from akita_model import parallel as parallel_module
from akita_model.build import BuildResult, build_files
from akita_model.cutting import HarLayout
from akita_model.errors import ModelError, OutputError, TraceError
from akita_model.parallel import har_layout_holds, split_ranges

from .har import FIXTURES, make_entry, write_trace


def test_writes_a_yaml_model_and_reports_counts(tmp_path: Path) -> None:
    trace = write_trace(
        tmp_path / "trace.jsonl",
        [
            make_entry(url="/api/a"),
            "garbage",
            make_entry(url="/api/b/1"),
            make_entry(url="/api/b/2"),
        ],
    )
    model = tmp_path / "model.yaml"
    counts: list[int] = []

    result = build_files(
        [trace], service="demo", model_path=model, progress=counts.append
    )

    assert result.witnesses == 3
    assert result.skipped == {"not-json": 1}
    assert result.endpoints == 2
    assert [(p.line, p.reason) for p in result.problems] == [(2, "not-json")]
    assert result.warnings == ()
    assert counts[-1] == 3
    written = yaml.safe_load(model.read_text(encoding="utf-8"))
    validate(written)
    assert written == result.openapi
    assert written["info"]["title"] == "demo"
    assert list(written["paths"]) == ["/api/a", "/api/b/{b_id}"]
    assert written["x-akita-skipped"] == {"not-json": 1}
    assert written["x-akita-witnesses"] == 3


def test_writes_json_when_the_name_ends_in_json(tmp_path: Path) -> None:
    model = tmp_path / "model.json"

    result = build_files([FIXTURES / "browser.har"], model_path=model)

    written = json.loads(model.read_text(encoding="utf-8"))
    validate(result.openapi)
    assert written["paths"].keys() == result.openapi["paths"].keys()
    assert list(written["paths"]) == ["/api/v2/users/{user_id}"]
    assert result.endpoints == 2


def test_the_same_trace_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"

    build_files([FIXTURES / "shop.jsonl"], model_path=first)
    build_files([FIXTURES / "shop.jsonl"], model_path=second)

    assert first.read_bytes() == second.read_bytes()
    validate(yaml.safe_load(first.read_text(encoding="utf-8")))


def test_an_empty_trace_gives_an_empty_model_and_a_warning(tmp_path: Path) -> None:
    trace = tmp_path / "empty.jsonl"
    trace.write_text("\n", encoding="utf-8")

    result = build_files([trace], model_path=tmp_path / "model.yaml")

    validate(result.openapi)
    assert result.openapi["paths"] == {}
    assert result.endpoints == 0
    assert result.warnings == (
        "The trace has no witnesses, so the model has no endpoints; "
        "check that the right trace was given.",
    )


def test_a_missing_trace_raises_and_writes_nothing(tmp_path: Path) -> None:
    model = tmp_path / "model.yaml"

    with pytest.raises(TraceError):
        build_files([tmp_path / "missing.jsonl"], model_path=model)

    assert not model.exists()


def test_an_unwritable_model_is_an_output_error(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "model.yaml"

    with pytest.raises(OutputError) as caught:
        build_files([FIXTURES / "browser.har"], model_path=target)

    assert str(caught.value).startswith(
        f"The model cannot be written to {str(target)!r}: "
    )


def _build_alone_and_in(
    tmp_path: Path, trace: Path, jobs: int
) -> tuple[BuildResult, BuildResult]:
    # Build in one process and in ``jobs``: the models must be the same bytes.
    single, parallel = tmp_path / "single.yaml", tmp_path / "parallel.yaml"
    one = build_files([trace], model_path=single, jobs=1)
    many = build_files([trace], model_path=parallel, jobs=jobs)
    assert parallel.read_bytes() == single.read_bytes()
    return one, many


def test_a_parallel_build_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (FIXTURES / "shop.jsonl").read_text(encoding="utf-8").splitlines()
    lines[3] = "{broken"
    lines[70] = "[]"
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(lines * 3) + "\n", encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    one, two = _build_alone_and_in(tmp_path, trace, jobs=3)

    validate(two.openapi)
    assert two.witnesses == one.witnesses == 294
    assert two.skipped == one.skipped == {"not-an-entry": 3, "not-json": 3}
    assert [(p.line, p.reason) for p in two.problems] == [
        (4, "not-json"),
        (71, "not-an-entry"),
        (104, "not-json"),
        (171, "not-an-entry"),
        (204, "not-json"),
        (271, "not-an-entry"),
    ]
    assert two.problems == one.problems


@pytest.mark.parametrize("name", ["trace.jsonl", "capture.har"])
def test_a_parallel_build_loads_the_output_code_while_workers_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    trace = tmp_path / name
    if name.endswith(".har"):
        trace.write_text(_har_by_line(_shop_entries()), encoding="utf-8")
    else:
        lines = (FIXTURES / "shop.jsonl").read_text(encoding="utf-8").splitlines()
        trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    started: list[int] = []
    loads: list[tuple[int, int]] = []
    start = multiprocessing.process.BaseProcess.start

    def counted_start(process: multiprocessing.process.BaseProcess) -> None:
        start(process)
        started.append(1)

    def loader(html_path: object) -> Any:
        def load() -> None:
            loads.append((os.getpid(), len(started)))

        return load

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", counted_start)
    monkeypatch.setattr(build_module, "_output_loader", loader)

    result = build_files([trace], model_path=tmp_path / "m.yaml", jobs=3)

    assert result.witnesses == 100
    assert loads == [(os.getpid(), 2)]


def test_loading_the_output_code_ahead_never_fails_a_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = pytest.importorskip("akita_model.report")

    def broken() -> None:
        raise RuntimeError("a template does not compile")

    monkeypatch.setattr(report, "load_templates", broken)

    assert build_module._output_loader(tmp_path / "report.html")() is None


def test_the_last_ranges_are_cut_again_in_smaller_ones(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_bytes(b"".join(b"%09d\n" % index for index in range(1000)))

    ranges = split_ranges([trace], 4, tail=2)

    sizes = [trace_range.end - trace_range.start for trace_range in ranges]
    assert sizes == [2510, 2510] + [630, 630, 630, 620] + [620, 620, 620, 610]
    assert ranges[0].start == 0 and ranges[-1].end == 10000
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(trace_range.start % 10 == 0 for trace_range in ranges)


def test_split_ranges_cover_every_line_once(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_bytes(b"".join(b"%d\n" % index * (index % 7) for index in range(500)))

    ranges = split_ranges([trace], 4)

    assert ranges[0].start == 0
    assert ranges[-1].end == trace.stat().st_size
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    data = trace.read_bytes()
    for trace_range in ranges:
        assert (
            trace_range.start == 0
            or data[trace_range.start - 1 : trace_range.start] == b"\n"
        )


def _shop_entries() -> list[object]:
    return [
        json.loads(line)
        for line in (FIXTURES / "shop.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def _har_by_line(entries: list[object]) -> str:
    head = '{"log": {"version": "1.2", "entries": [\n'
    return head + ",\n".join(json.dumps(entry) for entry in entries) + "\n]}}\n"


def _har_whole(entries: list[object]) -> str:
    return json.dumps({"log": {"entries": entries}})


def _har_two_on_a_line(entries: list[object]) -> str:
    # The layout breaks at the 101st entry: the document is parsed whole.
    texts = [json.dumps(entry) for entry in entries]
    texts[100:102] = [texts[100] + ", " + texts[101]]
    return '{"log": {"version": "1.2", "entries": [\n' + ",\n".join(texts) + "\n]}}"


def _har_comma_before_end(entries: list[object]) -> str:
    # A comma after the last entry: not JSON, so the whole-document parser
    # reads the entries it can and reports the rest as not JSON.
    return _har_by_line(entries).replace("\n]}}", ",\n]}}")


def _har_blank_line(entries: list[object]) -> str:
    texts = [json.dumps(entry) for entry in entries]
    texts[150] = "\n" + texts[150]
    return '{"log": {"version": "1.2", "entries": [\n' + ",\n".join(texts) + "\n]}}"


def _har_indented(entries: list[object]) -> str:
    # As browsers export HAR: two spaces an indentation level.
    log = {"version": "1.2", "creator": {"name": "b"}, "entries": entries}
    return json.dumps({"log": log}, indent=2) + "\n"


def _har_indented_unevenly(entries: list[object]) -> str:
    # Valid JSON, but one entry's request starts at the entries' own
    # indentation: the document is parsed whole from there.
    text = _har_indented(entries)
    at = text.index('      "request": {', len(text) // 2)
    return (
        text[:at] + '      "request":\n      {' + text[at + len('      "request": {') :]
    )


def _forbid_whole_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    # The build must cut the HAR document into ranges, never parse it whole.
    def no_entries(*args: object) -> object:
        raise AssertionError("the document was parsed whole")

    monkeypatch.setattr(parallel_module, "_build_har_entries", no_entries)


@pytest.mark.parametrize(
    "layout",
    [
        _har_whole,
        _har_by_line,
        _har_two_on_a_line,
        _har_comma_before_end,
        _har_blank_line,
        _har_indented,
        _har_indented_unevenly,
    ],
)
def test_a_parallel_har_build_gives_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: Any
) -> None:
    entries: list[object] = _shop_entries() * 2
    entries[5] = {"request": {}}
    entries[150] = {"request": 1}
    trace = tmp_path / "capture.har"
    trace.write_text(layout(entries), encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel_module, "HAR_BATCH", 16)
    one, three = _build_alone_and_in(tmp_path, trace, jobs=3)

    validate(three.openapi)
    assert three.witnesses == one.witnesses == 198
    assert three.problems == one.problems
    assert [(p.line, p.reason) for p in three.problems][:2] == [
        (6, "missing-field"),
        (151, "not-an-entry"),
    ]
    if layout is _har_comma_before_end:
        assert (
            three.skipped
            == one.skipped
            == {
                "missing-field": 1,
                "not-an-entry": 1,
                "not-json": 1,
            }
        )
    else:
        assert three.skipped == one.skipped == {"missing-field": 1, "not-an-entry": 1}


@pytest.mark.parametrize("layout", [_har_by_line, _har_indented])
def test_a_har_whose_entries_each_start_a_line_is_cut_into_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: Any
) -> None:
    entries: list[object] = _shop_entries() * 3
    entries[250] = {"request": {}}
    trace = tmp_path / "capture.har"
    trace.write_text(layout(entries), encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    _forbid_whole_parse(monkeypatch)

    three = build_files([trace], jobs=3)

    assert three.witnesses == 299
    assert [(p.line, p.reason, p.is_entry_number) for p in three.problems] == [
        (251, "missing-field", True)
    ]


@pytest.mark.parametrize(
    ("layouts", "holds"),
    [
        ([HarLayout(has_end=True)], True),
        ([HarLayout(), HarLayout(starts_inside=True, has_end=True)], True),
        # The last entry runs over the last range, which holds none.
        ([HarLayout(has_end=True), HarLayout(starts_inside=True)], True),
        ([HarLayout(), HarLayout()], False),
        ([HarLayout(starts_inside=True, has_end=True)], False),
        ([HarLayout(), HarLayout(is_broken=True)], False),
        ([HarLayout(has_end=True), HarLayout(has_end=True)], False),
        ([HarLayout(), None], False),
        ([], False),
    ],
)
def test_the_ranges_of_a_har_document_must_join_up(
    layouts: list[HarLayout | None], holds: bool
) -> None:
    assert har_layout_holds(layouts) is holds


def test_a_har_line_that_is_not_json_is_found_in_parallel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries: list[object] = _shop_entries()
    lines = _har_by_line(entries).splitlines(keepends=True)
    lines[61] = '{"startedDateTime": NaN},\n'
    trace = tmp_path / "capture.har"
    trace.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel_module, "HAR_BATCH", 16)
    one, two = _build_alone_and_in(tmp_path, trace, jobs=2)

    assert two.witnesses == one.witnesses == 60
    assert two.skipped == one.skipped == {"not-json": 1}
    assert [(p.line, p.reason) for p in two.problems] == [(61, "not-json")]
    assert two.problems == one.problems


def test_a_worker_that_dies_fails_the_build_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (FIXTURES / "shop.jsonl").read_text(encoding="utf-8").splitlines()
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(lines * 40) + "\n", encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    # A forked worker runs this test's replacement of its work: it is
    # killed by the kernel before it sends anything back.
    monkeypatch.setattr(
        parallel_module, "_context", lambda: multiprocessing.get_context("fork")
    )

    def die(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(parallel_module, "_summarise_queued_ranges", die)

    started = time.monotonic()
    with pytest.raises(ModelError, match="A worker process of the build stopped"):
        build_files([trace], jobs=2)

    assert time.monotonic() - started < 30


def test_problems_of_a_file_given_twice_are_numbered_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (FIXTURES / "shop.jsonl").read_text(encoding="utf-8").splitlines()
    lines[80] = "{broken"
    trace = tmp_path / "trace.jsonl"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)

    one = build_files([trace, trace], jobs=1)
    two = build_files([trace, trace], jobs=2)

    assert two.witnesses == one.witnesses == 198
    assert two.problems == one.problems
    assert [(p.line, p.reason) for p in two.problems] == [
        (81, "not-json"),
        (81, "not-json"),
    ]


_FORKED_BUILD = """
import sys
from akita_model import build, parallel
build.MIN_PARALLEL_BYTES = 0
print(parallel._context().get_start_method())
build.build_files([sys.argv[1]], model_path=sys.argv[2], jobs=2)
"""


@pytest.mark.parametrize("name", ["trace.jsonl", "capture.har"])
def test_a_build_in_a_process_of_one_thread_forks_its_workers(
    tmp_path: Path, name: str
) -> None:
    entries = _shop_entries()
    trace = tmp_path / name
    if name.endswith(".har"):
        trace.write_text(_har_by_line(entries * 20), encoding="utf-8")
    else:
        trace.write_text(
            "".join(json.dumps(entry) + "\n" for entry in entries * 20),
            encoding="utf-8",
        )
    single, forked = tmp_path / "single.yaml", tmp_path / "forked.yaml"
    build_files([trace], model_path=single, jobs=1)

    run = subprocess.run(
        [sys.executable, "-c", _FORKED_BUILD, str(trace), str(forked)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (run.returncode, run.stdout, run.stderr) == (0, "fork\n", "")
    assert forked.read_bytes() == single.read_bytes()


@pytest.mark.parametrize("layout", ["jsonl", "har-indented", "har-lines"])
def test_a_trace_with_a_byte_order_mark_is_cut_into_ranges_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    entries: list[object] = _shop_entries()
    if layout == "jsonl":
        text = "\n".join(json.dumps(entry) for entry in entries) + "\n"
        trace = tmp_path / "trace.jsonl"
    else:
        writer = _har_indented if layout == "har-indented" else _har_by_line
        text = writer(entries)
        trace = tmp_path / "capture.har"
    trace.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    if layout != "jsonl":
        _forbid_whole_parse(monkeypatch)
    one, three = _build_alone_and_in(tmp_path, trace, jobs=3)

    assert three.witnesses == one.witnesses == len(entries)
    assert three.skipped == one.skipped == {}


def test_a_har_document_named_json_is_cut_as_a_har_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries: list[object] = _shop_entries()
    entries[7] = {"request": {}}
    trace = tmp_path / "export.json"
    trace.write_text(_har_indented(entries), encoding="utf-8")
    monkeypatch.setattr(build_module, "MIN_PARALLEL_BYTES", 0)
    _forbid_whole_parse(monkeypatch)
    one, three = _build_alone_and_in(tmp_path, trace, jobs=3)

    assert three.witnesses == one.witnesses == len(entries) - 1
    assert three.problems == one.problems
    assert [(p.line, p.is_entry_number) for p in three.problems] == [(8, True)]
