"""The bundled example trace is what its script makes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_trace_is_made_by_its_script() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_trace", ROOT / "examples" / "make_trace.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    lines = [
        json.dumps(entry, separators=(",", ":")) for entry in module.make_entries()
    ]

    committed = (ROOT / "examples" / "trace.jsonl").read_text(encoding="utf-8")
    assert committed == "\n".join(lines) + "\n"
    assert len(lines) == 150
