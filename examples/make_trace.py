"""Write examples/trace.jsonl, a small trace of a blog and shop API.

The trace is made up, deterministically (a fixed random seed): running this
script again writes the same bytes. It has Django routes with int, slug and
uuid converters and a re_path regex, traffic without routes (templated by
heuristics), JSON, form and multipart bodies, query filters, basic, bearer
(JWT), token, API key and session authentication, and 2xx, 4xx and 5xx
responses.

Run it from the repository root: ``python examples/make_trace.py``.
"""

from __future__ import annotations

import base64
import json
import random
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HOST = "https://shop.example.com"
SERVICE = "blog-and-shop"
SEED = 20261203
START = datetime(2026, 12, 3, 21, 10, 8, 123456, tzinfo=UTC)

SLUGS = ["how-to-train", "django-tips", "release-notes", "api-design", "hello-world"]
TAGS = ["python", "django", "web", "news"]
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def _headers(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs.items()]


class TraceWriter:
    """Make HAR entries with increasing times and seeded latencies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = START
        self.entries: list[dict[str, Any]] = []

    def add(
        self,
        method: str,
        path: str,
        status: int,
        *,
        route: str | None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        body: tuple[str, str] | None = None,
        response: Any = None,
        response_type: str = "application/json",
    ) -> None:
        """Append one witness."""
        self.now += timedelta(milliseconds=self.rng.randint(50, 4000))
        elapsed = round(self.rng.lognormvariate(2.3, 0.8), 3)
        query = query or {}
        url = HOST + path + ("?" + urlencode(query) if query else "")
        request_headers = {
            "Host": "shop.example.com",
            "User-Agent": "python-httpx/0.27",
            "Accept": "application/json",
        }
        request_headers.update(headers or {})
        if cookies:
            request_headers["Cookie"] = "; ".join(
                f"{k}={v}" for k, v in cookies.items()
            )
        request: dict[str, Any] = {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": _headers(request_headers),
            "queryString": _headers(query),
            "cookies": _headers(cookies or {}),
            "headersSize": -1,
            "bodySize": 0,
        }
        if body is not None:
            media_type, text = body
            request["postData"] = {"mimeType": media_type, "text": text}
            request["bodySize"] = len(text.encode())
            request_headers_list = request["headers"]
            request_headers_list.append({"name": "Content-Type", "value": media_type})

        content: dict[str, Any] = {"size": 0, "mimeType": ""}
        response_headers: dict[str, str] = {}
        if response is not None:
            text = response if isinstance(response, str) else json.dumps(response)
            content = {
                "size": len(text.encode()),
                "mimeType": response_type,
                "text": text,
            }
            response_headers["Content-Type"] = response_type
        entry: dict[str, Any] = {
            "startedDateTime": self.now.isoformat(timespec="microseconds"),
            "time": elapsed,
            "request": request,
            "response": {
                "status": status,
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "headers": _headers(response_headers),
                "cookies": [],
                "content": content,
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": content["size"],
            },
            "cache": {},
            "timings": {"send": 0, "wait": elapsed, "receive": 0},
            "_akita": {
                "v": 1,
                "service": SERVICE,
                "middleware": "web-1",
                "trace": "powder-blue-panda-338",
                "obfuscated": False,
            },
        }
        if route is not None:
            entry["_akita"]["route"] = route
        self.entries.append(entry)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _article(rng: random.Random, slug: str) -> dict[str, Any]:
    return {
        "id": rng.randint(1, 500),
        "slug": slug,
        "title": slug.replace("-", " ").title(),
        "author": {
            "id": rng.randint(1, 40),
            "email": f"writer{rng.randint(1, 9)}@example.com",
        },
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "published_at": (START - timedelta(days=rng.randint(1, 300))).isoformat(),
        "cover": None if rng.random() < 0.4 else f"https://cdn.example.com/{slug}.png",
    }


def _visits(writer: TraceWriter, rng: random.Random) -> list[Callable[[], None]]:
    session = {"sessionid": "k2v9x0q1w8e7r6t5y4u3i2o1p0", "csrftoken": "Jd8sKq01"}

    def list_articles() -> None:
        query = {"page": str(rng.randint(1, 4))}
        if rng.random() < 0.5:
            query["tag"] = rng.choice(TAGS)
        articles = [_article(rng, slug) for slug in rng.sample(SLUGS, 2)]
        writer.add(
            "GET",
            "/api/articles/",
            200,
            route="api/articles/",
            query=query,
            cookies=session if rng.random() < 0.5 else None,
            response={"count": 42, "next": None, "results": articles},
        )

    def get_article() -> None:
        slug = rng.choice(SLUGS + ["no-such-post"])
        if slug == "no-such-post":
            writer.add(
                "GET",
                f"/api/articles/{slug}/",
                404,
                route="api/articles/<slug:slug>/",
                response={"detail": "Not found."},
            )
            return
        writer.add(
            "GET",
            f"/api/articles/{slug}/",
            200,
            route="api/articles/<slug:slug>/",
            response=_article(rng, slug),
        )

    def create_article() -> None:
        token = {"Authorization": "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}
        if rng.random() < 0.25:
            writer.add(
                "POST",
                "/api/articles/",
                400,
                route="api/articles/",
                headers=token,
                body=("application/json", json.dumps({"title": ""})),
                response={"title": ["This field may not be blank."]},
            )
            return
        slug = rng.choice(SLUGS)
        payload = {
            "title": slug.title(),
            "body": "Text " * rng.randint(1, 5),
            "tags": rng.sample(TAGS, 2),
        }
        writer.add(
            "POST",
            "/api/articles/",
            201,
            route="api/articles/",
            headers=token,
            body=("application/json", json.dumps(payload)),
            response=_article(rng, slug),
        )

    def get_comment() -> None:
        slug = rng.choice(SLUGS)
        pk = rng.randint(1, 90)
        writer.add(
            "GET",
            f"/api/articles/{slug}/comments/{pk}",
            200,
            route="api/articles/<slug:slug>/comments/<int:pk>",
            response={
                "id": pk,
                "text": "Nice post!",
                "score": rng.randint(-3, 40),
                "created": START.isoformat(),
            },
        )

    def post_comment() -> None:
        slug = rng.choice(SLUGS)
        form = {"author": "Ada", "text": "Thanks for writing this"}
        if rng.random() < 0.5:
            form["notify"] = "true"
        writer.add(
            "POST",
            f"/api/articles/{slug}/comments/",
            201,
            route="api/articles/<slug:slug>/comments/",
            cookies=session,
            headers={"X-CSRFToken": "Jd8sKq01"},
            body=("application/x-www-form-urlencoded", urlencode(form)),
            response={"id": rng.randint(91, 200), "text": form["text"]},
        )

    def get_product() -> None:
        product_id = _uuid(rng)
        if rng.random() < 0.15:
            writer.add(
                "GET",
                f"/api/products/{product_id}",
                404,
                route="api/products/<uuid:product_id>",
                response={"detail": "Not found."},
            )
            return
        price = rng.choice([19, 24.5, 99.99, 5])
        writer.add(
            "GET",
            f"/api/products/{product_id}",
            200,
            route="api/products/<uuid:product_id>",
            query={"currency": rng.choice(["EUR", "USD"])},
            response={
                "id": product_id,
                "name": "Mug",
                "price": price,
                "in_stock": rng.random() < 0.7,
                "discount": None if rng.random() < 0.5 else 0.1,
                "image": "https://cdn.example.com/mug.png",
            },
        )

    def list_orders() -> None:
        orders = {
            str(rng.randint(1000, 9999)): {
                "total": rng.randint(5, 300),
                "status": "paid",
            }
            for _ in range(rng.randint(0, 3))
        }
        writer.add(
            "GET",
            "/api/orders/",
            200,
            route="api/orders/",
            headers={"Authorization": f"Bearer {JWT}"},
            query={"status": "paid"} if rng.random() < 0.5 else None,
            response={"orders": orders},
        )

    def create_order() -> None:
        status = 201 if rng.random() < 0.85 else 500
        payload = {
            "product_id": _uuid(rng),
            "quantity": rng.randint(1, 4),
            "coupon": None if rng.random() < 0.6 else "WINTER",
        }
        response: Any = {"id": rng.randint(1000, 9999), "created_at": START.isoformat()}
        response_type = "application/json"
        if status == 500:
            response = "<h1>Server Error (500)</h1>"
            response_type = "text/html"
        writer.add(
            "POST",
            "/api/orders/",
            status,
            route="api/orders/",
            headers={"Authorization": f"Bearer {JWT}"},
            body=("application/json", json.dumps(payload)),
            response=response,
            response_type=response_type,
        )

    def me() -> None:
        if rng.random() < 0.2:
            writer.add(
                "GET",
                "/api/users/me",
                401,
                route="api/users/me",
                response={"detail": "Authentication credentials were not provided."},
            )
            return
        basic = base64.b64encode(b"ada:correct-horse").decode()
        writer.add(
            "GET",
            "/api/users/me",
            200,
            route="api/users/me",
            headers={"Authorization": f"Basic {basic}"},
            response={
                "id": 7,
                "email": "ada@example.com",
                "date_joined": "2025-02-01T09:30:00+00:00",
                "last_ip": "203.0.113.9",
            },
        )

    def upload() -> None:
        boundary = "----akita1234"
        text = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
            f'Cover\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="cover.png"\r\nContent-Type: image/png\r\n\r\nPNG\r\n'
            f"--{boundary}--\r\n"
        )
        writer.add(
            "POST",
            "/api/uploads/",
            201,
            route="api/uploads/",
            headers={"X-API-Key": "ak_live_51HqL"},
            body=(f"multipart/form-data; boundary={boundary}", text),
            response={"url": "https://cdn.example.com/cover.png", "size": 2048},
        )

    def archive() -> None:
        year = str(rng.choice([2023, 2024, 2025]))
        writer.add(
            "GET",
            f"/api/archive/{year}/",
            200,
            route="^api/archive/(?P<year>[0-9]{4})/$",
            response={"year": int(year), "articles": rng.randint(3, 30)},
        )

    def legacy_item() -> None:
        item = str(rng.randint(1, 5000)) if rng.random() < 0.6 else _uuid(rng)
        writer.add(
            "GET",
            f"/api/v1/legacy/items/{item}",
            200,
            route=None,
            query={"api_key": "k_123"},
            response={"id": item, "name": "Item", "updated": "2026-11-30"},
        )

    def legacy_me() -> None:
        writer.add(
            "GET",
            "/api/v1/legacy/users/me",
            200,
            route=None,
            query={"api_key": "k_123"},
            response={"name": "Ada"},
        )

    def health() -> None:
        writer.add(
            "GET", "/health", 200, route=None, response="ok", response_type="text/plain"
        )

    return [
        list_articles,
        list_articles,
        get_article,
        get_article,
        create_article,
        get_comment,
        post_comment,
        get_product,
        get_product,
        list_orders,
        create_order,
        me,
        upload,
        archive,
        legacy_item,
        legacy_item,
        legacy_me,
        health,
    ]


def make_entries(count: int = 150, seed: int = SEED) -> list[dict[str, Any]]:
    """Return ``count`` witnesses of the example API, the same for a seed."""
    rng = random.Random(seed)
    writer = TraceWriter(rng)
    visits = _visits(writer, rng)
    for _ in range(count):
        rng.choice(visits)()
    return writer.entries


def main() -> int:
    """Write the example trace next to this script."""
    target = Path(__file__).with_name("trace.jsonl")
    lines = [json.dumps(entry, separators=(",", ":")) for entry in make_entries()]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} witnesses to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
