"""Build the HTML report's view model from an OpenAPI document.

Pure functions turn the document (operations, parameters, schemas and the
``x-akita-*`` extensions the model builder writes) into small frozen
dataclasses: one row per endpoint, the choices of the filters, and the
details shown when a row is expanded. The templates only lay these out.

Optional fields may be missing (a document written by another tool has no
``x-akita-*`` fields); a field of the wrong shape is an error that names it.

Exceptions, under the package's own (``akita_model.errors``)::

    ModelError
     └── ReportError   the document cannot be shown (a field has the wrong
                       shape); the message names the field and the value
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from akita_model.errors import ModelError
from akita_model.report_histogram import Histogram, format_ms, layout_histogram

logger = logging.getLogger(__name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")

# The filter value of operations seen without credentials. Parentheses cannot
# appear in a security scheme's name, so it never collides with one.
NO_AUTH = "(none)"

_INFINITY_SPELLINGS = frozenset({".inf", "inf", "+inf", "infinity", "+infinity"})


class ReportError(ModelError):
    """The document has a field of a shape the report cannot show."""


@dataclass(frozen=True)
class FilterOption:
    """One choice of a filter: the value rows carry and how many rows do."""

    value: str
    label: str
    count: int


@dataclass(frozen=True)
class Filters:
    """The choices of the three filters, computed from every row."""

    methods: tuple[FilterOption, ...]
    auth: tuple[FilterOption, ...]
    statuses: tuple[FilterOption, ...]


@dataclass(frozen=True)
class ParameterView:
    """One parameter of an operation."""

    location: str
    name: str
    type_label: str
    required: bool


@dataclass(frozen=True)
class StatusChip:
    """A status code of an endpoint, with its count, and its class digit."""

    label: str
    kind: str


@dataclass(frozen=True)
class BodyView:
    """One body of an operation: its media type, schema and example as text."""

    status: str
    status_kind: str
    description: str
    media_type: str
    schema_text: str
    example_text: str


@dataclass(frozen=True)
class HeaderView:
    """One header of a response."""

    status: str
    name: str
    type_label: str


@dataclass(frozen=True)
class SchemeView:
    """One security scheme of the document."""

    name: str
    description: str
    endpoints: int


@dataclass(frozen=True)
class EndpointRow:
    """One operation: its table row and its details."""

    anchor: str
    method: str
    path: str
    summary: str
    auth: tuple[str, ...]
    statuses: tuple[str, ...]
    status_chips: tuple[StatusChip, ...]
    witnesses: int | None
    p50: str
    p99: str
    parameters: tuple[ParameterView, ...]
    request_bodies: tuple[BodyView, ...]
    responses: tuple[BodyView, ...]
    response_headers: tuple[HeaderView, ...]
    histogram: Histogram | None
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class ReportView:
    """Everything the template shows."""

    title: str
    version: str
    witnesses: int
    skipped: tuple[tuple[str, int], ...]
    skipped_total: int
    schemes: tuple[SchemeView, ...]
    rows: tuple[EndpointRow, ...]
    filters: Filters


def build_view(doc: Mapping[str, Any]) -> ReportView:
    """Build the report's view model from an OpenAPI document."""
    if not isinstance(doc, Mapping):
        raise ReportError(
            f"The OpenAPI document must be a mapping, not {type(doc).__name__}: "
            f"{doc!r:.80}. Pass the parsed YAML or JSON document."
        )

    info = _mapping(doc.get("info"), "info")
    schemes = _mapping(
        _mapping(doc.get("components"), "components").get("securitySchemes"),
        "components.securitySchemes",
    )
    rows = build_rows(doc)
    skipped = {
        str(reason): _integer(count, f"x-akita-skipped.{reason}")
        for reason, count in _mapping(
            doc.get("x-akita-skipped"), "x-akita-skipped"
        ).items()
    }
    witnesses = doc.get("x-akita-witnesses")
    if witnesses is None:
        witnesses = sum(row.witnesses or 0 for row in rows)

    return ReportView(
        title=_text(info.get("title", "API model")),
        version=_text(info.get("version", "")),
        witnesses=_integer(witnesses, "x-akita-witnesses"),
        skipped=tuple(sorted(skipped.items())),
        skipped_total=sum(skipped.values()),
        schemes=tuple(
            SchemeView(
                name=str(name),
                description=describe_scheme(_mapping(scheme, f"scheme {name}")),
                endpoints=sum(1 for row in rows if name in row.auth),
            )
            for name, scheme in sorted(schemes.items())
        ),
        rows=rows,
        filters=build_filters(rows, schemes),
    )


def build_rows(doc: Mapping[str, Any]) -> tuple[EndpointRow, ...]:
    """Build one row per operation, sorted by path, then by method."""
    paths = _mapping(doc.get("paths"), "paths")
    default_security = doc.get("security")
    operations: list[tuple[str, str, Mapping[str, Any], list[Any]]] = []
    for path, item in sorted(paths.items(), key=lambda pair: str(pair[0])):
        path_item = _mapping(item, f"paths[{path!r}]")
        shared_parameters = _list(
            path_item.get("parameters"), f"paths[{path!r}].parameters"
        )
        for method in HTTP_METHODS:
            if method not in path_item:
                continue
            operation = _mapping(path_item[method], f"paths[{path!r}].{method}")
            operations.append((str(path), method, operation, shared_parameters))

    return tuple(
        _build_row(
            doc, index, path, method, operation, shared_parameters, default_security
        )
        for index, (path, method, operation, shared_parameters) in enumerate(operations)
    )


def build_filters(rows: Sequence[EndpointRow], schemes: Mapping[str, Any]) -> Filters:
    """Compute the choices of the method, authentication and status filters."""
    methods = [
        method.upper()
        for method in HTTP_METHODS
        if any(row.method == method.upper() for row in rows)
    ]
    auth_names = sorted({name for row in rows for name in row.auth} - {NO_AUTH})
    if any(NO_AUTH in row.auth for row in rows):
        auth_names.append(NO_AUTH)
    statuses = sorted(
        {status for row in rows for status in row.statuses}, key=_status_sort_key
    )

    def auth_label(name: str) -> str:
        if name == NO_AUTH:
            return "no authentication"
        scheme = schemes.get(name)
        if not isinstance(scheme, Mapping):
            return name
        return f"{name}: {describe_scheme(scheme)}"

    return Filters(
        methods=tuple(
            FilterOption(method, method, sum(row.method == method for row in rows))
            for method in methods
        ),
        auth=tuple(
            FilterOption(name, auth_label(name), sum(name in row.auth for row in rows))
            for name in auth_names
        ),
        statuses=tuple(
            FilterOption(status, status, sum(status in row.statuses for row in rows))
            for status in statuses
        ),
    )


def build_histogram(
    latency: Mapping[str, Any], where: str = "x-akita-latency"
) -> Histogram | None:
    """Check an ``x-akita-latency`` histogram and lay out its bars.

    Returns None when the operation has no histogram or it has no buckets.
    """
    histogram = latency.get("histogram")
    if histogram is None:
        return None

    where = f"{where}.histogram"
    histogram = _mapping(histogram, where)
    edges = [_edge_value(edge) for edge in _list(histogram.get("le"), f"{where}.le")]
    counts = [
        _integer(count, f"{where}.counts")
        for count in _list(histogram.get("counts"), f"{where}.counts")
    ]
    if len(edges) != len(counts):
        raise ReportError(
            f"The document's {where} has {len(edges)} bucket edges but "
            f"{len(counts)} counts ({edges!r} and {counts!r}); each bucket needs "
            f"one edge and one count."
        )
    if not counts:
        return None

    return layout_histogram(edges, counts)


def describe_scheme(scheme: Mapping[str, Any]) -> str:
    """Say in words what kind of authentication a security scheme is."""
    kind = scheme.get("type")
    if kind == "http":
        http_scheme = str(scheme.get("scheme", "")).lower()
        if http_scheme == "bearer":
            bearer_format = scheme.get("bearerFormat")
            suffix = f" ({bearer_format})" if bearer_format else ""
            return f"HTTP bearer token{suffix}"
        if http_scheme == "basic":
            return "HTTP basic"
        return f"HTTP {http_scheme}"
    if kind == "apiKey":
        location = scheme.get("in", "")
        name = scheme.get("name", "")
        if scheme.get("x-akita-session"):
            return f"session cookie {name}"
        if scheme.get("x-akita-scheme"):
            return f"{scheme['x-akita-scheme']} in the {name} header"
        return f"API key in {location} {name}"
    return str(kind)


def _build_row(
    doc: Mapping[str, Any],
    index: int,
    path: str,
    method: str,
    operation: Mapping[str, Any],
    shared_parameters: list[Any],
    default_security: Any,
) -> EndpointRow:
    where = f"paths[{path!r}].{method}"
    latency = _mapping(operation.get("x-akita-latency"), f"{where}.x-akita-latency")
    # YAML reads an unquoted status code as a number; the report shows text.
    status_counts = {
        str(status): _integer(count, f"{where}.x-akita-status-counts.{status}")
        for status, count in _mapping(
            operation.get("x-akita-status-counts"), f"{where}.x-akita-status-counts"
        ).items()
    }
    responses = _mapping(operation.get("responses"), f"{where}.responses")
    statuses = sorted(
        {str(status) for status in responses} | set(status_counts),
        key=_status_sort_key,
    )
    witnesses = operation.get("x-akita-witnesses")
    security = operation.get("security", default_security)

    return EndpointRow(
        anchor=f"op-{index}",
        method=method.upper(),
        path=path,
        summary=_text(operation.get("summary", "")),
        auth=_auth_names(security, where),
        statuses=tuple(statuses),
        status_chips=tuple(
            StatusChip(
                label=f"{status} ×{status_counts[status]}"
                if status in status_counts
                else status,
                kind=status_kind(status),
            )
            for status in statuses
        ),
        witnesses=None
        if witnesses is None
        else _integer(witnesses, f"{where}.x-akita-witnesses"),
        p50=format_ms(latency.get("p50")),
        p99=format_ms(latency.get("p99")),
        parameters=_parameters(doc, shared_parameters, operation, where),
        request_bodies=_request_bodies(doc, operation, where),
        responses=_responses(doc, responses, where),
        response_headers=_response_headers(doc, responses, where),
        histogram=build_histogram(latency, f"{where}.x-akita-latency"),
        first_seen=_text(operation.get("x-akita-first-seen", "")),
        last_seen=_text(operation.get("x-akita-last-seen", "")),
    )


def _auth_names(security: Any, where: str) -> tuple[str, ...]:
    requirements = _list(security, f"{where}.security")
    names: set[str] = set()
    is_open = not requirements
    for requirement in requirements:
        requirement = _mapping(requirement, f"{where}.security")
        if not requirement:
            is_open = True
        names.update(str(name) for name in requirement)
    ordered = sorted(names)
    if is_open:
        ordered.append(NO_AUTH)
    return tuple(ordered)


def _parameters(
    doc: Mapping[str, Any],
    shared: list[Any],
    operation: Mapping[str, Any],
    where: str,
) -> tuple[ParameterView, ...]:
    # An operation's parameter overrides the path's one of the same name and
    # location, as OpenAPI says.
    merged: dict[tuple[str, str], ParameterView] = {}
    own = _list(operation.get("parameters"), f"{where}.parameters")
    for raw in [*shared, *own]:
        parameter = _mapping(_resolve(doc, raw), f"{where}.parameters")
        view = ParameterView(
            location=_text(parameter.get("in", "")),
            name=_text(parameter.get("name", "")),
            type_label=_type_label(parameter.get("schema")),
            required=bool(parameter.get("required", False)),
        )
        merged[(view.location, view.name)] = view
    return tuple(merged.values())


def _request_bodies(
    doc: Mapping[str, Any], operation: Mapping[str, Any], where: str
) -> tuple[BodyView, ...]:
    if "requestBody" not in operation:
        return ()
    body = _mapping(_resolve(doc, operation["requestBody"]), f"{where}.requestBody")
    required = "required" if body.get("required") else "optional"
    return _bodies(body, "", required, f"{where}.requestBody")


def _responses(
    doc: Mapping[str, Any], responses: Mapping[str, Any], where: str
) -> tuple[BodyView, ...]:
    views: list[BodyView] = []
    for status in sorted(responses, key=lambda s: _status_sort_key(str(s))):
        response = _mapping(
            _resolve(doc, responses[status]), f"{where}.responses.{status}"
        )
        description = _text(response.get("description", ""))
        bodies = _bodies(response, str(status), description, f"{where}.{status}")
        if not bodies:
            bodies = (
                BodyView(
                    status=str(status),
                    status_kind=status_kind(str(status)),
                    description=description,
                    media_type="",
                    schema_text="",
                    example_text="",
                ),
            )
        views.extend(bodies)
    return tuple(views)


def _response_headers(
    doc: Mapping[str, Any], responses: Mapping[str, Any], where: str
) -> tuple[HeaderView, ...]:
    views: list[HeaderView] = []
    for status in sorted(responses, key=lambda s: _status_sort_key(str(s))):
        response = _mapping(_resolve(doc, responses[status]), f"{where}.{status}")
        headers = _mapping(response.get("headers"), f"{where}.{status}.headers")
        for name, header in headers.items():
            header = _mapping(_resolve(doc, header), f"{where}.{status}.{name}")
            views.append(
                HeaderView(str(status), str(name), _type_label(header.get("schema")))
            )
    return tuple(views)


def _bodies(
    owner: Mapping[str, Any], status: str, description: str, where: str
) -> tuple[BodyView, ...]:
    content = _mapping(owner.get("content"), f"{where}.content")
    views = []
    for media_type, media in content.items():
        media = _mapping(media, f"{where}.content[{media_type!r}]")
        example: Any = None
        if "example" in media:
            example = media["example"]
        elif "examples" in media:
            example = media["examples"]
        views.append(
            BodyView(
                status=status,
                status_kind=status_kind(status) if status else "",
                description=description,
                media_type=str(media_type),
                schema_text=_pretty(media["schema"]) if "schema" in media else "",
                example_text="" if example is None else _pretty(example),
            )
        )
    return tuple(views)


def _resolve(doc: Mapping[str, Any], value: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/...``) one level, if any."""
    if not isinstance(value, Mapping) or "$ref" not in value:
        return value
    reference = value["$ref"]
    if not isinstance(reference, str) or not reference.startswith("#/"):
        return value
    target: Any = doc
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise ReportError(
                f"The reference {reference!r} points at nothing in the document; "
                f"define it under components or remove the reference."
            )
        target = target[part]
    return target


def _type_label(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    kind = schema.get("type", "")
    if isinstance(kind, list):
        kind = " | ".join(str(part) for part in kind)
    label = str(kind)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        label = f"array of {_type_label(schema['items'])}"
    if schema.get("format"):
        label = f"{label} ({schema['format']})"
    return label


def _pretty(value: Any) -> str:
    # default=str shows what YAML turned into dates and the like as text.
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _edge_value(edge: Any) -> float:
    # JSON has no infinity, so a document written as JSON spells the open
    # last bucket edge as a string, or as null (what orjson writes for it).
    if edge is None:
        return math.inf
    if isinstance(edge, str) and edge.strip().lower() in _INFINITY_SPELLINGS:
        return math.inf
    if isinstance(edge, bool) or not isinstance(edge, int | float):
        raise ReportError(
            f"A latency histogram bucket edge must be a number of milliseconds, "
            f"not {edge!r}; write .inf for the last, open bucket."
        )
    return float(edge)


def status_kind(status: str) -> str:
    """Return a status code's class digit (``"4"`` for 404), or ``"x"``."""
    first = status[:1]
    return first if first in "12345" and first else "x"


def _status_sort_key(status: str) -> tuple[int, str]:
    return (0, status) if status[:1].isdigit() else (1, status)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ReportError(
            f"The document's {where} must be a mapping, not "
            f"{type(value).__name__}: {value!r:.80}."
        )
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ReportError(
            f"The document's {where} must be a list, not "
            f"{type(value).__name__}: {value!r:.80}."
        )
    return list(value)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportError(
            f"The document's {where} must be a whole number, not {value!r}."
        )
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)
