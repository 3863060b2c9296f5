"""Build a trace's API model and HTML report once it has ended.

This runs in a worker thread, never on the event loop: building a model
reads the whole spool.
"""

from __future__ import annotations

import logging
from pathlib import Path

from akita_daemon.spool import WITNESSES_FILE
from akita_model.build import build_files

logger = logging.getLogger(__name__)

MODEL_FILE = "model.yaml"
REPORT_FILE = "report.html"


def build_trace_model(folder: Path, service: str) -> int:
    """Write ``model.yaml`` and ``report.html`` beside a trace's spool.

    Returns:
        The number of endpoints found.
    """
    spool = folder / WITNESSES_FILE
    if not spool.exists():
        spool.touch()
    result = build_files(
        [str(spool)],
        service=service,
        model_path=str(folder / MODEL_FILE),
        html_path=str(folder / REPORT_FILE),
    )
    logger.info(
        "Built the model of %s: %d witnesses, %d endpoints.",
        folder.name,
        result.witnesses,
        result.endpoints,
    )
    return result.endpoints
