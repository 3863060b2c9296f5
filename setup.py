"""Build the distribution, compiling the model builder's hot path with mypyc.

Every witness of a trace goes through the modules listed below: reading and
parsing, path templates, parameters, authentication, latency and the shapes
of bodies. mypyc compiles them, type annotations and all, into a C
extension that runs them about one and a half times as fast; the code stays
plain Python, and runs the same uncompiled. Set ``AKITA_PURE_PYTHON=1`` to
build without compiling, on a machine without a C compiler for instance.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

HOT_MODULES = (
    "auth",
    "builder",
    "formats",
    "operation",
    "params",
    "paths",
    "reader",
    "scalars",
    "shapes",
    "stats",
    "witness",
)


def compiled_extensions() -> list[Extension]:
    """Return the mypyc extensions, or none when building pure Python."""
    if os.environ.get("AKITA_PURE_PYTHON", "") not in ("", "0"):
        return []

    from mypyc.build import mypycify

    paths = [f"akita_model/{name}.py" for name in HOT_MODULES]
    extensions: list[Extension] = mypycify(paths, opt_level="3")
    return extensions


setup(ext_modules=compiled_extensions())
