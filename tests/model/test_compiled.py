"""The install compiles the modules that ``setup.py`` lists with mypyc."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import os
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[2] / "setup.py"


def _hot_modules() -> list[str]:
    tree = ast.parse(SETUP.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "HOT_MODULES"
            for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return list(value)
    raise AssertionError("setup.py has no HOT_MODULES")


@pytest.mark.skipif(
    os.environ.get("AKITA_PURE_PYTHON", "") not in ("", "0"),
    reason="installed as plain Python (AKITA_PURE_PYTHON)",
)
@pytest.mark.parametrize("name", _hot_modules())
def test_the_hot_modules_run_compiled(name: str) -> None:
    module = importlib.import_module(f"akita_model.{name}")

    assert module.__file__ is not None
    assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
