"""Build the distribution, compiling the model builder's hot path with mypyc.

Every witness of a trace goes through the modules listed below: reading and
parsing, path templates, parameters, authentication, latency and the shapes
of bodies. mypyc compiles them, type annotations and all, into a C
extension that runs them about one and a half times as fast; the code stays
plain Python, and runs the same uncompiled. Two more extensions are written
in C: ``akita_model._shapes_c`` walks JSON bodies for their shape keys, as
``akita_model.shapes.shape`` does in Python, and ``akita_model._entries_c``
reads the fields of a HAR entry that ``witness.parse_entry`` needs from its
JSON text, which orjson parses whole without it. Set ``AKITA_PURE_PYTHON=1`` to
build without compiling. Where compiling fails (no C compiler, no Python
headers), the build says so and installs the plain Python modules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HOT_MODULES = (
    "auth",
    "builder",
    "cutting",
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
    extensions.append(
        Extension(
            "akita_model._shapes_c",
            sources=["akita_model/_shapes_c.c"],
            depends=["akita_model/_json_bytes.h"],
        )
    )
    extensions.append(
        Extension(
            "akita_model._entries_c",
            sources=["akita_model/_entries_c.c"],
            depends=["akita_model/_json_bytes.h"],
        )
    )
    return extensions


class OptionalBuildExt(build_ext):
    """Build the extensions, or none of them if any fails to build.

    The compiled modules share one runtime library: a part of them alone
    would not import, so a failure removes whatever was built.
    """

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # any failure leaves plain Python
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            print(
                f"setup.py: compiling the extensions failed ({error}); installing "
                "the plain Python modules, which run the same, slower.",
                file=sys.stderr,
            )


setup(
    ext_modules=compiled_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
