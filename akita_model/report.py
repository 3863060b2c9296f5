"""Render the self-contained HTML endpoint report of an OpenAPI document.

The report is built from the document alone (see ``report_view`` for what it
reads). Everything in the document came from captured traffic and is
untrusted, so the templates are rendered with autoescaping on, data reaches
the page's script only through attributes, and a Content-Security-Policy
lets only the report's own inline style and script run and forbids every
network request. The page is deterministic: the same document gives the
same bytes.

Exceptions: ``ReportError``, an ``akita_model.errors.ModelError``, drawn in
``report_view``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import jinja2

from akita_model.report_view import NO_AUTH, ReportError, ReportView, build_view

__all__ = ["ReportError", "ReportView", "build_view", "load_templates", "render_report"]

logger = logging.getLogger(__name__)


def render_report(doc: Mapping[str, Any]) -> str:
    """Render the HTML report of an OpenAPI document.

    Args:
        doc: the OpenAPI 3.1 document, as a mapping (parsed YAML or JSON).

    Returns:
        One self-contained HTML page that loads nothing from the network.

    Raises:
        ReportError: a field of the document has a shape the report cannot
            show.
    """
    view = build_view(doc)

    style_template, script_template, page_template = load_templates()
    style = style_template.render()
    script = script_template.render()
    html = page_template.render(
        view=view,
        no_auth=NO_AUTH,
        style_hash=_csp_hash(style),
        script_hash=_csp_hash(script),
    )

    logger.debug("rendered the report of %d endpoints", len(view.rows))
    return html


def load_templates() -> tuple[jinja2.Template, jinja2.Template, jinja2.Template]:
    """Return the report's style, script and page templates, compiled.

    Compiling them takes a good part of a report's time; the first call
    does it and later calls return the same templates, so a build can load
    them while other processes are still reading the trace.
    """
    environment = _environment()
    return (
        environment.get_template("report.css"),
        environment.get_template("report.js"),
        environment.get_template("report.html.j2"),
    )


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates, which never fails a report.

    Jinja keeps the cache in a folder of this user's that only they may
    read, under the temporary folder, and checks each entry against its
    template's source and the Python version: a build compiles the
    report's templates once instead of every time. A cache that cannot be
    read or written is passed over.
    """

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError as error:
            logger.debug("cannot read the report's cached templates: %s", error)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            logger.debug("cannot cache the report's templates: %s", error)


def _template_cache(directory: str | None = None) -> jinja2.BytecodeCache | None:
    # None when no safe folder for it can be made.
    try:
        return _TemplateCache(directory)
    except (OSError, RuntimeError) as error:
        logger.debug("the report's templates are not cached: %s", error)
        return None


@functools.cache
def _environment(cache_directory: str | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("akita_model", "templates"),
        bytecode_cache=_template_cache(cache_directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
