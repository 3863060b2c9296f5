"""Accumulate what the witnesses of one operation showed.

An operation is a method on a path template. ``OperationState`` learns from
each of its witnesses, in bounded memory, and merges with another state of
the same operation, so that partial models combine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from akita_model.auth import MAX_CACHED_NAMES, AuthFindings
from akita_model.params import (
    ParameterSet,
    is_noise_cookie,
    is_noise_header,
    is_noise_response_header,
)
from akita_model.scalars import ScalarState
from akita_model.schema import BodySchema
from akita_model.shapes import SKIP
from akita_model.stats import LatencyStats
from akita_model.witness import Body, Pairs, Witness, is_json_media_type

MAX_MEDIA_TYPES: Final = 16
MAX_FILE_FIELDS: Final = 64

_FORM_TYPES: Final = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data"}
)


class BodyState:
    """The bodies of one media type: their count and their schema."""

    __slots__ = ("count", "json", "form", "files", "is_binary")

    def __init__(self) -> None:
        self.count = 0
        self.json: BodySchema | None = None
        self.form: ParameterSet | None = None
        self.files: set[str] = set()
        self.is_binary = False

    def add(self, body: Body) -> None:
        """Learn one body."""
        self.count += 1
        if body.has_json:
            if self.json is None:
                self.json = BodySchema()
            if body.shape_key >= 0 and body.text is not None:
                # Read, not parsed: parsed only if its shape is new here.
                # BodySchema.add_text, without a call of interpreted code
                # for the many bodies whose shape was seen.
                new_value = self.json.recent.new_text(body.text, body.shape_key)
                if new_value is not SKIP:
                    self.json.learn(new_value)
            else:
                self.json.add(body.json, body.text)
        elif body.media_type in _FORM_TYPES:
            if self.form is None:
                self.form = ParameterSet()
            self.form.add([(name, value) for name, value, _ in body.form])
            for name, _, file_name in body.form:
                if file_name is not None and len(self.files) < MAX_FILE_FIELDS:
                    self.files.add(name)
        elif body.text is None and body.data is not None:
            self.is_binary = True

    def merge(self, other: BodyState) -> None:
        """Learn everything ``other`` learnt."""
        self.count += other.count
        if other.json is not None:
            if self.json is None:
                self.json = BodySchema()
            self.json.merge(other.json)
        if other.form is not None:
            if self.form is None:
                self.form = ParameterSet()
            self.form.merge(other.form)
        self.files = set(sorted(self.files | other.files)[:MAX_FILE_FIELDS])
        self.is_binary = self.is_binary or other.is_binary

    def schema(self, media_type: str) -> dict[str, Any]:
        """Return the JSON Schema of every body learnt."""
        if self.json is not None:
            return self.json.to_schema()
        if self.form is not None:
            properties: dict[str, Any] = {}
            required = []
            for name in sorted(self.form.parameters):
                state = self.form.parameters[name]
                if name in self.files:
                    properties[name] = {"type": "string", "format": "binary"}
                else:
                    properties[name] = state.schema()
                if state.count == self.count:
                    required.append(name)
            schema: dict[str, Any] = {"type": "object", "properties": properties}
            if required:
                schema["required"] = required
            return schema
        if is_json_media_type(media_type):
            return {}
        if self.is_binary:
            return {"type": "string", "format": "binary"}
        return {"type": "string"}


def _add_body(bodies: dict[str, BodyState], body: Body) -> None:
    state = bodies.get(body.media_type)
    if state is None:
        state = bodies[body.media_type] = BodyState()
    state.add(body)
    if len(bodies) > MAX_MEDIA_TYPES:
        # Keep the smallest names, which merges exactly, as ParameterSet does.
        for media_type in sorted(bodies)[MAX_MEDIA_TYPES:]:
            del bodies[media_type]


def _merge_bodies(mine: dict[str, BodyState], theirs: dict[str, BodyState]) -> None:
    for media_type, state in theirs.items():
        target = mine.get(media_type)
        if target is None:
            target = mine[media_type] = BodyState()
        target.merge(state)
    for media_type in sorted(mine)[MAX_MEDIA_TYPES:]:
        del mine[media_type]


# Response header names in lowercase, "" for noise: worked out once a name.
_response_header_keys: Final[dict[str, str]] = {}
_NO_NAMES: Final[frozenset[str]] = frozenset()


def _header_items(
    headers: Pairs,
    keys: dict[str, str],
    is_noise: Callable[[str], bool],
    excluded: frozenset[str],
) -> list[tuple[str, str, str]]:
    """Return (lowercase name, value, spelling) of the headers to learn.

    ``keys`` caches each name's lowercase form ("" for noise), so that a
    name is lowered and judged once; names in ``excluded`` are left out.
    """
    items = []
    for name, value in headers:
        key = keys.get(name)
        if key is None:
            if len(keys) > MAX_CACHED_NAMES:
                keys.clear()
            lower = name.lower()
            key = keys[name] = "" if is_noise(lower) else lower
        if key and key not in excluded:
            items.append((key, value, name))
    return items


class OperationState:
    """Everything learnt about one operation."""

    __slots__ = (
        "count",
        "first_seen",
        "last_seen",
        "statuses",
        "latency",
        "path_values",
        "query",
        "headers",
        "cookies",
        "request_body_count",
        "request_bodies",
        "responses",
        "response_headers",
        "security",
    )

    def __init__(self) -> None:
        self.count = 0
        self.first_seen: datetime | None = None
        self.last_seen: datetime | None = None
        self.statuses: dict[int, int] = {}
        self.latency = LatencyStats()
        self.path_values: dict[int, ScalarState] = {}
        self.query = ParameterSet()
        self.headers = ParameterSet()
        self.cookies = ParameterSet()
        self.request_body_count = 0
        self.request_bodies: dict[str, BodyState] = {}
        self.responses: dict[int, dict[str, BodyState]] = {}
        self.response_headers: dict[int, ParameterSet] = {}
        self.security: set[frozenset[str]] = set()

    def add(
        self,
        witness: Witness,
        auth: AuthFindings,
        path_values: list[tuple[int, str]],
        header_keys: dict[str, str],
    ) -> None:
        """Learn one witness.

        ``path_values`` are the (position, segment) pairs of the path's
        heuristic parameters; ``header_keys`` caches header names in
        lowercase ("" for noise).
        """
        self.count += 1
        started = witness.started
        if self.first_seen is None or started < self.first_seen:
            self.first_seen = started
        if self.last_seen is None or started > self.last_seen:
            self.last_seen = started
        status = witness.status
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if witness.elapsed_ms is not None:
            self.latency.add(witness.elapsed_ms)

        for index, value in path_values:
            state = self.path_values.get(index)
            if state is None:
                state = self.path_values[index] = ScalarState()
            state.add(value)

        self._add_parameters(witness, auth, header_keys)

        if witness.request_body is not None:
            self.request_body_count += 1
            _add_body(self.request_bodies, witness.request_body)
        bodies = self.responses.get(status)
        if bodies is None:
            bodies = self.responses[status] = {}
        if witness.response_body is not None:
            _add_body(bodies, witness.response_body)
        if witness.response_headers:
            self._add_response_headers(status, witness)
        self.security.add(auth.schemes)

    def _add_response_headers(self, status: int, witness: Witness) -> None:
        headers = _header_items(
            witness.response_headers,
            _response_header_keys,
            is_noise_response_header,
            _NO_NAMES,
        )
        if headers:
            parameters = self.response_headers.get(status)
            if parameters is None:
                parameters = self.response_headers[status] = ParameterSet()
            parameters.add_spelled(headers)

    def _add_parameters(
        self, witness: Witness, auth: AuthFindings, header_keys: dict[str, str]
    ) -> None:
        if witness.query:
            excluded = auth.query
            self.query.add([pair for pair in witness.query if pair[0] not in excluded])

        headers = _header_items(
            witness.request_headers, header_keys, is_noise_header, auth.headers
        )
        if headers:
            self.headers.add_spelled(headers)

        if witness.cookies:
            excluded = auth.cookies
            cookies = [
                pair
                for pair in witness.cookies
                if pair[0] not in excluded and not is_noise_cookie(pair[0])
            ]
            if cookies:
                self.cookies.add(cookies)

    def merge(self, other: OperationState) -> None:
        """Learn everything ``other`` learnt."""
        self.count += other.count
        if other.first_seen is not None and (
            self.first_seen is None or other.first_seen < self.first_seen
        ):
            self.first_seen = other.first_seen
        if other.last_seen is not None and (
            self.last_seen is None or other.last_seen > self.last_seen
        ):
            self.last_seen = other.last_seen
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.latency.merge(other.latency)
        for index, values in other.path_values.items():
            self.add_path_values(index, values)
        self.query.merge(other.query)
        self.headers.merge(other.headers)
        self.cookies.merge(other.cookies)
        self.request_body_count += other.request_body_count
        _merge_bodies(self.request_bodies, other.request_bodies)
        for status, bodies in other.responses.items():
            _merge_bodies(self.responses.setdefault(status, {}), bodies)
        for status, headers in other.response_headers.items():
            self.response_headers.setdefault(status, ParameterSet()).merge(headers)
        self.security |= other.security

    def add_path_values(self, index: int, values: ScalarState) -> None:
        """Learn the values of a path parameter at a position."""
        state = self.path_values.get(index)
        if state is None:
            state = self.path_values[index] = ScalarState()
        state.merge(values)
