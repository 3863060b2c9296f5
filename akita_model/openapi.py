"""Write a summary as an OpenAPI 3.1 document, deterministically.

``to_openapi`` builds the document as a dict: paths sorted, methods in a
fixed order, parameters sorted by location and name, extensions as
docs/model.md fixes them. ``dump_openapi`` writes it as YAML or JSON text;
the same summary always gives the same bytes.
"""

from __future__ import annotations

import json as json_module
import math
import re
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import yaml

from akita_model.builder import OperationKey, Summary
from akita_model.operation import OperationState
from akita_model.params import ParameterSet
from akita_model.paths import RouteParam, Tokens, template_names, template_string

OPENAPI_VERSION = "3.1.0"
DOCUMENT_VERSION = "1.0.0"
DEFAULT_TITLE = "API"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_METHOD_ORDER = {method: index for index, method in enumerate(METHODS)}
_OPERATION_ID = re.compile(r"[^A-Za-z0-9]+")


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _route_match(shape: Tokens, routed: list[Tokens]) -> Tokens | None:
    # The route template a heuristic template belongs to: same length,
    # literals equal wherever the route has a literal, a parameter of the
    # heuristic only where the route has one. Most literals in common wins.
    best: tuple[int, str, Tokens] | None = None
    for candidate in routed:
        if len(candidate) != len(shape):
            continue
        score = 0
        for token, route_token in zip(shape, candidate, strict=True):
            if isinstance(route_token, str):
                if token != route_token:
                    break
                score += 1
        else:
            ranked = (-score, template_string(candidate), candidate)
            if best is None or ranked[:2] < best[:2]:
                best = ranked
    return None if best is None else best[2]


def _final_operations(
    summary: Summary,
) -> dict[tuple[str, str], tuple[Tokens, OperationState]]:
    """Return every operation by (path, method), routed and heuristic met.

    An operation learnt under one key keeps its state; the states of one
    learnt under several (a heuristic template that fits a route) are
    merged into a new state, so the summary stays as it was.
    """
    routed_tokens = sorted(
        {tokens for _, tokens in summary.routed}, key=template_string
    )
    groups: dict[tuple[str, str], tuple[Tokens, list[OperationState]]] = {}

    def place(key: OperationKey, state: OperationState) -> None:
        method, tokens = key
        path = template_string(tokens)
        group = groups.get((path, method))
        if group is None:
            groups[(path, method)] = (tokens, [state])
        else:
            group[1].append(state)

    for key in sorted(summary.routed, key=lambda k: (template_string(k[1]), k[0])):
        place(key, summary.routed[key])
    heuristic = summary.final_heuristic()
    for method, tokens in sorted(
        heuristic, key=lambda k: (template_string(k[1]), k[0])
    ):
        # A route's tokens name their own parameters: the values a
        # heuristic template saw at its positions are not read then.
        route = _route_match(tokens, routed_tokens)
        place((method, tokens if route is None else route), heuristic[(method, tokens)])

    operations: dict[tuple[str, str], tuple[Tokens, OperationState]] = {}
    for path_method, (tokens, states) in groups.items():
        if len(states) == 1:
            operations[path_method] = (tokens, states[0])
            continue
        merged = OperationState()
        for state in states:
            merged.merge(state)
        operations[path_method] = (tokens, merged)
    return operations


def _parameters(tokens: Tokens, state: OperationState) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    names = iter(template_names(tokens))
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            continue
        if isinstance(token, RouteParam):
            schema = token.to_schema()
        elif index in state.path_values:
            schema = state.path_values[index].to_schema()
        else:
            schema = {"type": "string"}
        parameters.append(
            {"name": next(names), "in": "path", "required": True, "schema": schema}
        )

    for location, parameter_set in (
        ("query", state.query),
        ("header", state.headers),
        ("cookie", state.cookies),
    ):
        for name in sorted(parameter_set.parameters):
            parameter = parameter_set.parameters[name]
            parameters.append(
                {
                    "name": parameter.spelling or name,
                    "in": location,
                    "required": parameter.count == state.count,
                    "schema": parameter.schema(),
                }
            )
    return parameters


def _content(bodies: dict[str, Any]) -> dict[str, Any]:
    return {
        media_type: {"schema": bodies[media_type].schema(media_type)}
        for media_type in sorted(bodies)
    }


def _response_headers(headers: ParameterSet, count: int) -> dict[str, Any]:
    # ``required``: every witness of the status code had the header.
    result: dict[str, Any] = {}
    for name in sorted(headers.parameters):
        header = headers.parameters[name]
        result[header.spelling or name] = {
            "required": header.count == count,
            "schema": header.schema(),
        }
    return result


def _description(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"


def _security(state: OperationState) -> list[dict[str, list[str]]]:
    if state.security == {frozenset()}:
        return []
    requirements = sorted(tuple(sorted(schemes)) for schemes in state.security)
    return [{name: [] for name in names} for names in requirements]


def _operation(
    method: str, path: str, tokens: Tokens, state: OperationState
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": _OPERATION_ID.sub("_", f"{method}{path}").strip("_"),
    }
    parameters = _parameters(tokens, state)
    if parameters:
        operation["parameters"] = parameters
    if state.request_bodies:
        operation["requestBody"] = {
            "required": state.request_body_count == state.count,
            "content": _content(state.request_bodies),
        }
    responses: dict[str, Any] = {}
    for status in sorted(state.responses):
        response: dict[str, Any] = {"description": _description(status)}
        headers = state.response_headers.get(status)
        if headers is not None and headers.parameters:
            response["headers"] = _response_headers(headers, state.statuses[status])
        bodies = state.responses[status]
        if bodies:
            response["content"] = _content(bodies)
        responses[str(status)] = response
    operation["responses"] = responses
    operation["security"] = _security(state)
    operation["x-akita-witnesses"] = state.count
    operation["x-akita-first-seen"] = _timestamp(state.first_seen)
    operation["x-akita-last-seen"] = _timestamp(state.last_seen)
    operation["x-akita-status-counts"] = {
        str(status): state.statuses[status] for status in sorted(state.statuses)
    }
    operation["x-akita-latency"] = state.latency.to_extension()
    return operation


def to_openapi(summary: Summary) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of a summary, as a dict."""
    paths: dict[str, dict[str, Any]] = {}
    operations = _final_operations(summary)
    operation_ids: set[str] = set()
    for path, method in sorted(
        operations, key=lambda key: (key[0], _METHOD_ORDER.get(key[1].lower(), 99))
    ):
        lower = method.lower()
        if lower not in _METHOD_ORDER:
            continue
        tokens, state = operations[(path, method)]
        operation = _operation(lower, path, tokens, state)
        base_id = operation["operationId"]
        suffix = 2
        while operation["operationId"] in operation_ids:
            operation["operationId"] = f"{base_id}_{suffix}"
            suffix += 1
        operation_ids.add(operation["operationId"])
        paths.setdefault(path, {})[lower] = operation

    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": summary.service_name() or DEFAULT_TITLE,
            "version": DOCUMENT_VERSION,
        },
        "paths": paths,
    }
    if summary.schemes:
        document["components"] = {
            "securitySchemes": {
                name: summary.schemes[name].to_security_scheme()
                for name in sorted(summary.schemes)
            }
        }
    document["x-akita-witnesses"] = summary.witnesses
    document["x-akita-skipped"] = {
        reason: summary.skipped[reason] for reason in sorted(summary.skipped)
    }
    return document


def _json_ready(value: Any) -> Any:
    # JSON has no infinity: the histogram's last edge is written "+Inf".
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """A YAML dumper that never writes anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# The same with libyaml's emitter, when PyYAML was built with it: it writes
# the same text four times as fast (a test checks that the texts agree).
_FastDumper: type[Any] = _Dumper
if getattr(yaml, "__with_libyaml__", False):

    class _CDumper(yaml.CSafeDumper):
        """libyaml's dumper that never writes anchors and aliases."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    _FastDumper = _CDumper


def dump_openapi(
    document: dict[str, Any], json: bool = False, dumper: type[Any] | None = None
) -> str:
    """Return the document as deterministic YAML text, or JSON if asked.

    ``dumper`` is the YAML dumper class; by default libyaml's when PyYAML
    has it, else PyYAML's own, which write the same text.
    """
    if json:
        return (
            json_module.dumps(_json_ready(document), indent=2, ensure_ascii=False)
            + "\n"
        )
    text: str = yaml.dump(
        document,
        Dumper=dumper or _FastDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=100,
    )
    return text
