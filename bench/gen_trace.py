"""Generate a deterministic, realistic trace of witnesses for benchmarks.

The trace is the traffic of the "conduit shop" API of ``trace_api``: about
thirty endpoints with integer, UUID, slug and user-name path parameters,
query strings, nested JSON bodies from a hundred bytes to tens of kilobytes,
several kinds of authentication (HTTP basic, JWT bearer, ``Token``, an API
key in a header and in the query, a Django session cookie, none), and 2xx,
4xx and 5xx answers. Some witnesses carry the framework's route in
``_akita.route``, as the Django middleware writes it; the rest do not, as in
a HAR file saved by a browser.

Entries are written one at a time, as JSON Lines (``.jsonl``) or as one HAR
document (``.har``), so memory stays flat however many are asked for. The
same seed and count give the same bytes.

    python bench/gen_trace.py bench/out/trace.jsonl --witnesses 100000
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
from trace_api import ENDPOINTS, START, Endpoint, concrete_path, credentials

HOST = "https://api.example.com"
SERVICE = "conduit-shop"
# The share of witnesses that know their Django route, as the middleware's do.
ROUTE_SHARE = 0.6
SERVER_ERROR_SHARE = 0.01
CLIENT_ERROR_SHARE = 0.08

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_ACTIONS = ("login", "favorite", "follow")
_WEIGHTS = tuple(endpoint.weight for endpoint in ENDPOINTS)
_SERVER_ERROR_PAGE = (
    "<!doctype html><html><body><h1>Server Error (500)</h1></body></html>"
)


def witnesses(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield ``count`` witnesses, the same ones for the same seed."""
    rng = random.Random(seed)
    for index in range(count):
        yield witness(rng, index)


def witness(rng: random.Random, index: int) -> dict[str, Any]:
    """Make the HAR entry of the index-th witness of a trace."""
    endpoint = rng.choices(ENDPOINTS, weights=_WEIGHTS)[0]
    status = _status(rng, endpoint)
    request = _request(rng, endpoint, with_credentials=status != 401)
    response = _response(rng, endpoint, status)

    elapsed = round(min(rng.lognormvariate(0, 0.6) * endpoint.median_ms, 30000.0), 3)
    started = START + datetime.timedelta(milliseconds=index * 25)
    akita: dict[str, Any] = {
        "v": 1,
        "service": SERVICE,
        "middleware": "web-1",
        "trace": "bench-trace",
        "obfuscated": False,
    }
    if rng.random() < ROUTE_SHARE:
        akita["route"] = endpoint.route

    return {
        "startedDateTime": started.isoformat(timespec="microseconds"),
        "time": elapsed,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": elapsed, "receive": 0},
        "_akita": akita,
    }


def write_trace(path: Path, count: int, seed: int = 1) -> Path:
    """Write a trace of ``count`` witnesses, as HAR if ``path`` ends in .har.

    The file is written under a temporary name and renamed at the end, so a
    file at ``path`` is always complete.
    """
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        if path.suffix == ".har":
            _write_har(file, count, seed)
        else:
            for entry in witnesses(count, seed):
                file.write(orjson.dumps(entry) + b"\n")
    partial.replace(path)
    return path


def _status(rng: random.Random, endpoint: Endpoint) -> int:
    roll = rng.random()
    if roll < SERVER_ERROR_SHARE:
        return rng.choice((500, 502))
    if endpoint.errors and roll < SERVER_ERROR_SHARE + CLIENT_ERROR_SHARE:
        return rng.choice(endpoint.errors)
    if endpoint.method == "DELETE":
        return 204
    if endpoint.method == "POST" and not endpoint.route.endswith(_ACTIONS):
        return 201
    return 200


def _request(
    rng: random.Random, endpoint: Endpoint, *, with_credentials: bool
) -> dict[str, Any]:
    query = endpoint.query(rng) if endpoint.query else []
    url = f"{HOST}/{concrete_path(rng, endpoint.route)}"
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query)
    headers = [
        {"name": "Host", "value": "api.example.com"},
        {"name": "User-Agent", "value": "python-httpx/0.27.0"},
        {"name": "Accept", "value": "application/json"},
    ]
    cookies: list[dict[str, str]] = []
    if with_credentials:
        credential_headers, cookies = credentials(rng, endpoint.auth)
        headers.extend(credential_headers)

    request: dict[str, Any] = {
        "method": endpoint.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "queryString": [{"name": name, "value": value} for name, value in query],
        "cookies": cookies,
        "headersSize": -1,
        "bodySize": 0,
    }
    if endpoint.request is not None:
        text = orjson.dumps(endpoint.request(rng)).decode()
        headers.append({"name": "Content-Type", "value": "application/json"})
        request["postData"] = {"mimeType": "application/json", "text": text}
        request["bodySize"] = len(text)
    return request


def _response(rng: random.Random, endpoint: Endpoint, status: int) -> dict[str, Any]:
    if status == 204:
        mime, text = "", ""
    elif status >= 500:
        mime, text = "text/html; charset=utf-8", _SERVER_ERROR_PAGE
    elif status == 400:
        field = rng.choice(["title", "body", "email", "quantity", "page"])
        errors = {"errors": {field: ["This field is required."]}}
        mime, text = "application/json", orjson.dumps(errors).decode()
    elif status >= 300:
        detail = {"detail": REASONS[status]}
        mime, text = "application/json", orjson.dumps(detail).decode()
    else:
        mime, text = "application/json", orjson.dumps(endpoint.response(rng)).decode()

    headers = [{"name": "Content-Length", "value": str(len(text))}]
    content: dict[str, Any] = {"size": len(text), "mimeType": mime}
    if mime:
        headers.insert(0, {"name": "Content-Type", "value": mime})
    if text:
        content["text"] = text
    return {
        "status": status,
        "statusText": REASONS[status],
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "cookies": [],
        "content": content,
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": len(text),
    }


def _write_har(file: IO[bytes], count: int, seed: int) -> None:
    creator = {"name": "akita-bench-gen-trace", "version": "1"}
    opening = {"version": "1.2", "creator": creator}
    # The document is written around its entries, one at a time: the head of
    # the "log" object, each entry, then the closing brackets.
    file.write(b'{"log": ' + orjson.dumps(opening)[:-1] + b', "entries": [\n')
    for index, entry in enumerate(witnesses(count, seed)):
        if index:
            file.write(b",\n")
        file.write(orjson.dumps(entry))
    file.write(b"\n]}}\n")


def main(argv: list[str] | None = None) -> int:
    """Write a trace as the command line asks; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="gen_trace.py", description="Write a deterministic benchmark trace."
    )
    parser.add_argument(
        "output", type=Path, help="where to write: .har for a HAR document, else JSONL"
    )
    parser.add_argument(
        "-n", "--witnesses", type=int, default=10000, help="how many (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.witnesses < 0:
        parser.error(f"--witnesses must be 0 or more, not {args.witnesses!r}.")

    write_trace(args.output, args.witnesses, args.seed)
    print(f"wrote {args.witnesses} witnesses to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
