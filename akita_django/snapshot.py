"""Snapshot the inferred OpenAPI document with syrupy, as readable YAML.

A test asserts that the model of what it recorded equals the stored
snapshot (``__snapshots__/<test file>/<test name>.yaml``); when the API
changes the test fails, and ``pytest --snapshot-update`` accepts the
change. What differs between two runs of the same test (when a witness was
seen, how long it took) is left out of the snapshot::

    def test_api_model(akita_client, akita_openapi_snapshot):
        akita_client.get("/api/articles/")
        assert akita_client.openapi() == akita_openapi_snapshot
"""

from __future__ import annotations

from typing import Any

import yaml
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.types import PropertyFilter, PropertyMatcher, SerializableData

VOLATILE_KEYS = frozenset(
    {"x-akita-first-seen", "x-akita-last-seen", "x-akita-latency"}
)


def stable_openapi(document: Any) -> Any:
    """Return the document without the parts that change from run to run."""
    if isinstance(document, dict):
        return {
            key: stable_openapi(value)
            for key, value in document.items()
            if key not in VOLATILE_KEYS
        }
    if isinstance(document, list):
        return [stable_openapi(item) for item in document]
    return document


def dump_snapshot(document: dict[str, Any]) -> str:
    """Return the stable part of an OpenAPI document as YAML text."""
    return yaml.safe_dump(
        stable_openapi(document), sort_keys=False, allow_unicode=True, width=88
    )


class OpenAPISnapshotExtension(SingleFileSnapshotExtension):
    """Store an OpenAPI document as one YAML file per snapshot."""

    file_extension = "yaml"
    _write_mode = WriteMode.TEXT

    def serialize(
        self,
        data: SerializableData,
        *,
        exclude: PropertyFilter | None = None,
        include: PropertyFilter | None = None,
        matcher: PropertyMatcher | None = None,
    ) -> str:
        """Return the YAML text of an OpenAPI document."""
        if not isinstance(data, dict):
            raise TypeError(
                f"An OpenAPI snapshot takes the document as a dict, not "
                f"{type(data).__name__}: compare client.openapi() with it."
            )
        return dump_snapshot(data)
