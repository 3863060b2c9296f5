"""The exceptions of the model builder.

Every exception that akita_model raises on purpose derives from
``ModelError``::

    ModelError                 anything the model builder refuses to do
     ├── TraceError            a trace file is missing or cannot be read
     ├── OutputError           the model or the report cannot be written
     ├── EntryError            one entry is not a usable witness; it has a
     │                         stable ``reason`` and the reader skips it
     └── ReportError           the document has a field the report cannot
                               show (in ``akita_model.report_view``)

The command line prints a ``ModelError`` as one line and exits with status 1.
"""

from __future__ import annotations


class ModelError(Exception):
    """Refuse to build a model, for a reason the message explains."""


class TraceError(ModelError):
    """Report a trace file that is missing or cannot be read."""


class OutputError(ModelError):
    """Report a model or report file that cannot be written."""


class EntryError(ModelError):
    """Report one trace entry that is not a usable witness.

    ``reason`` is one of the stable names in ``akita_model.witness.REASONS``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
