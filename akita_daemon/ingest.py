"""Check what the middleware sends, and turn witnesses into spool lines.

Both kinds of middleware request are checked field by field; a bad one is
refused as a whole with a message that names the field, so nothing is
half-accepted. A witness must at least be a HAR entry with a request
(``method``, ``url``) and a response (``status``); the rest is optional, as
the original middleware sends ``null`` for what it does not know.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from akita_daemon.errors import RequestError
from akita_daemon.obfuscate import obfuscate_witness
from akita_daemon.redact import redact_secrets


@dataclass(frozen=True)
class Registration:
    """A middleware's long poll: who it is and which traces it has active."""

    client_name: str
    active_trace_ids: frozenset[str]


@dataclass(frozen=True)
class EventBatch:
    """A middleware's batch of witnesses for one trace."""

    client_name: str
    witnesses: list[dict[str, Any]]
    no_more_events: bool


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError(
            f"The request body must be a JSON object, not {_type_name(body)}."
        )
    return body


def _require_client_name(body: dict[str, Any]) -> str:
    client_name = body.get("client_name")
    if not isinstance(client_name, str) or not client_name:
        raise RequestError(
            "The field 'client_name' must be a non-empty string naming the "
            f"middleware, not {client_name!r}."
        )
    return client_name


def parse_registration(body: Any) -> Registration:
    """Check a long poll's body.

    Raises:
        RequestError: the body is not a registration; the message says why.
    """
    document = _require_object(body)
    client_name = _require_client_name(document)
    active = document.get("active_trace_ids", [])
    if not isinstance(active, list) or not all(isinstance(i, str) for i in active):
        raise RequestError(
            "The field 'active_trace_ids' must be an array of trace id strings, "
            f"not {active!r}."
        )
    return Registration(client_name, frozenset(active))


def _check_witness(index: int, witness: Any) -> dict[str, Any]:
    where = f"trace_events[{index}]"
    if not isinstance(witness, dict):
        raise RequestError(
            f"{where} must be a HAR entry (a JSON object), not {_type_name(witness)}."
        )

    request = witness.get("request")
    if not isinstance(request, dict):
        raise RequestError(
            f"{where}.request must be an object, not {_type_name(request)}."
        )
    for key in ("method", "url"):
        if not isinstance(request.get(key), str):
            raise RequestError(
                f"{where}.request.{key} must be a string, not "
                f"{_type_name(request.get(key))}."
            )

    response = witness.get("response")
    if not isinstance(response, dict):
        raise RequestError(
            f"{where}.response must be an object, not {_type_name(response)}."
        )
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise RequestError(
            f"{where}.response.status must be an integer, not {status!r}."
        )
    return witness


def parse_event_batch(body: Any) -> EventBatch:
    """Check an events body.

    Raises:
        RequestError: the body is not a batch of HAR entries; the message
            names the first bad field.
    """
    document = _require_object(body)
    client_name = _require_client_name(document)

    events = document.get("trace_events")
    if not isinstance(events, list):
        raise RequestError(
            "The field 'trace_events' must be an array of HAR entries, not "
            f"{_type_name(events)}."
        )

    no_more_events = document.get("no_more_events", False)
    if not isinstance(no_more_events, bool):
        raise RequestError(
            f"The field 'no_more_events' must be true or false, not {no_more_events!r}."
        )

    witnesses = [_check_witness(i, witness) for i, witness in enumerate(events)]
    return EventBatch(client_name, witnesses, no_more_events)


@dataclass(frozen=True)
class PreparedBatch:
    """A batch ready for the spool: obfuscated, labelled, one line each."""

    client_name: str
    no_more_events: bool
    received: int
    kept: int
    data: bytes


def prepare_batch(
    body: bytes, service: str, trace_name: str, sampling_rate: float = 1.0
) -> PreparedBatch:
    """Parse, check, sample and obfuscate an events body.

    This is the CPU-heavy part of ingest; it is pure, so the daemon can run
    it in worker processes.

    Raises:
        RequestError: the body is not JSON or not a batch of HAR entries.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}.") from exc

    batch = parse_event_batch(document)
    witnesses = batch.witnesses
    if sampling_rate < 1.0:
        witnesses = [w for w in witnesses if random.random() < sampling_rate]
    lines = spool_lines(witnesses, service, batch.client_name, trace_name)
    return PreparedBatch(
        batch.client_name,
        batch.no_more_events,
        len(batch.witnesses),
        len(lines),
        b"".join(lines),
    )


def spool_lines(
    witnesses: list[dict[str, Any]], service: str, client_name: str, trace_name: str
) -> list[bytes]:
    """Obfuscate witnesses, label them with their trace, one line each."""
    middleware = redact_secrets(client_name)
    lines = []
    for witness in witnesses:
        obfuscated = obfuscate_witness(witness)
        fields = obfuscated["_akita"]
        fields.setdefault("v", 1)
        fields["service"] = service
        fields["middleware"] = middleware
        fields["trace"] = trace_name
        lines.append(orjson.dumps(obfuscated, option=orjson.OPT_APPEND_NEWLINE))
    return lines
