"""The made-up "conduit shop" API whose traffic ``gen_trace`` writes.

Thirty-one operations, each with its Django route, the kind of credential
its clients send, how often it is called, its median latency, and makers of
its request and response bodies and query strings. Every maker draws from
the one ``random.Random`` it is given, so a trace depends on its seed alone.
"""

from __future__ import annotations

import base64
import datetime
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

START = datetime.datetime(2026, 12, 3, 21, 0, 0, tzinfo=datetime.UTC)

Maker = Callable[[random.Random], Any]
Query = Callable[[random.Random], list[tuple[str, str]]]


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API and how its traffic looks."""

    method: str
    route: str
    auth: str
    weight: int
    median_ms: float
    response: Maker
    request: Maker | None = None
    query: Query | None = None
    errors: tuple[int, ...] = (404,)

    @property
    def template(self) -> str:
        """Return the OpenAPI path template, such as ``/api/articles/{slug}``."""
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.route)


WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
    "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
    "xray yankee zulu train dragon river summit harbor lantern meadow"
).split()
TAGS = ("django", "python", "api", "http", "testing", "rust", "web", "ops")
USERS = tuple(f"{a}_{b}" for a in WORDS[:12] for b in WORDS[12:18])
API_KEY = "pk_live_" + "7" * 24


def slug(rng: random.Random) -> str:
    """Make a slug such as ``delta-river-echo``."""
    return "-".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))


def random_uuid(rng: random.Random) -> str:
    """Make a version-4 UUID from the generator's bits."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def jwt(rng: random.Random) -> str:
    """Make a token shaped like a signed JWT."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"sub": rng.randint(1, 10**6), "exp": 1796000000})
    signature = base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def credentials(
    rng: random.Random, kind: str
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Return the request headers and HAR cookies that carry a credential."""
    if kind == "bearer":
        return [_header("Authorization", f"Bearer {jwt(rng)}")], []
    if kind == "token":
        return [_header("Authorization", f"Token {rng.getrandbits(160):040x}")], []
    if kind == "basic":
        secret = base64.b64encode(f"admin:{rng.choice(WORDS)}".encode()).decode()
        return [_header("Authorization", f"Basic {secret}")], []
    if kind == "apikey-header":
        return [_header("X-Api-Key", f"{rng.getrandbits(128):032x}")], []
    if kind == "session":
        session = f"{rng.getrandbits(128):032x}"
        csrf = f"{rng.getrandbits(128):032x}"
        cookie = _header("Cookie", f"sessionid={session}; csrftoken={csrf}")
        return [cookie], [_header("sessionid", session), _header("csrftoken", csrf)]
    return [], []


def concrete_path(rng: random.Random, route: str) -> str:
    """Fill a Django route's parameters with values of their converters."""
    return re.sub(
        r"<(?:(\w+):)?\w+>", lambda match: _path_value(rng, match.group(1)), route
    )


def _path_value(rng: random.Random, converter: str | None) -> str:
    if converter == "int":
        return str(rng.randint(1, 99999))
    if converter == "uuid":
        return random_uuid(rng)
    if converter == "slug":
        return slug(rng)
    return rng.choice(USERS)


def _header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def _time(rng: random.Random) -> str:
    return (START - datetime.timedelta(seconds=rng.randint(0, 90 * 86400))).isoformat()


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _email(rng: random.Random) -> str:
    return f"{rng.choice(USERS)}@example.com"


def _profile(rng: random.Random) -> dict[str, Any]:
    username = rng.choice(USERS)
    return {
        "username": username,
        "bio": _text(rng, 0, 12) or None,
        "image": f"https://cdn.example.com/avatars/{username}.png",
        "following": rng.random() < 0.3,
    }


def _article(rng: random.Random, *, full: bool = True) -> dict[str, Any]:
    article: dict[str, Any] = {
        "slug": slug(rng),
        "title": _text(rng, 3, 9).title(),
        "description": _text(rng, 5, 20),
        "tagList": rng.sample(TAGS, rng.randint(0, 4)),
        "createdAt": _time(rng),
        "updatedAt": _time(rng),
        "favorited": rng.random() < 0.2,
        "favoritesCount": rng.randint(0, 500),
        "author": _profile(rng),
    }
    if full:
        article["body"] = _text(rng, 40, 400)
    return article


def _comment(rng: random.Random) -> dict[str, Any]:
    return {
        "id": rng.randint(1, 99999),
        "createdAt": _time(rng),
        "body": _text(rng, 3, 40),
        "author": _profile(rng),
    }


def _product(rng: random.Random) -> dict[str, Any]:
    return {
        "id": rng.randint(1, 5000),
        "sku": f"SKU-{rng.randint(10000, 99999)}",
        "name": _text(rng, 1, 4).title(),
        "price": {"amount": round(rng.uniform(1, 900), 2), "currency": "EUR"},
        "stock": rng.randint(0, 300),
        "dimensions": {key: rng.randint(1, 100) for key in ("w", "h", "d")},
        "categories": rng.sample(TAGS, rng.randint(1, 3)),
    }


def _order_items(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "product": rng.randint(1, 5000),
            "quantity": rng.randint(1, 5),
            "unit_price": round(rng.uniform(1, 300), 2),
        }
        for _ in range(rng.randint(1, 8))
    ]


def _address(rng: random.Random) -> dict[str, Any]:
    return {
        "street": f"{rng.randint(1, 200)} {rng.choice(WORDS).title()} Street",
        "city": rng.choice(WORDS).title(),
        "postcode": f"{rng.randint(10000, 99999)}",
        "country": rng.choice(["FR", "DE", "NL", "GB", "US"]),
    }


def _order(rng: random.Random) -> dict[str, Any]:
    items = _order_items(rng)
    return {
        "id": random_uuid(rng),
        "status": rng.choice(["pending", "paid", "shipped", "delivered"]),
        "created": _time(rng),
        "email": _email(rng),
        "shipping": _address(rng),
        "items": items,
        "total": round(sum(i["unit_price"] * i["quantity"] for i in items), 2),
    }


def _page_of(item: Maker, most: int) -> Maker:
    def page(rng: random.Random) -> dict[str, Any]:
        results = [item(rng) for _ in range(rng.randint(0, most))]
        return {"count": len(results) + rng.randint(0, 400), "results": results}

    return page


def _pages(rng: random.Random) -> list[tuple[str, str]]:
    query = [("page", str(rng.randint(1, 30)))]
    if rng.random() < 0.5:
        query.append(("limit", str(rng.choice([10, 20, 50]))))
    if rng.random() < 0.3:
        query.append(("tag", rng.choice(TAGS)))
    return query


def _keyed_pages(rng: random.Random) -> list[tuple[str, str]]:
    return [*_pages(rng), ("api_key", API_KEY)]


def _key_only(rng: random.Random) -> list[tuple[str, str]]:
    return [("api_key", API_KEY)]


def _search_query(rng: random.Random) -> list[tuple[str, str]]:
    return [("q", rng.choice(WORDS)), ("page", str(rng.randint(1, 5)))]


def _new_article(rng: random.Random) -> dict[str, Any]:
    return {
        "article": {
            "title": _text(rng, 3, 8),
            "description": _text(rng, 5, 15),
            "body": _text(rng, 40, 300),
            "tagList": rng.sample(TAGS, 2),
        }
    }


def _login(rng: random.Random) -> dict[str, Any]:
    return {"user": {"email": _email(rng), "password": _text(rng, 2, 3)}}


def _logged_in(rng: random.Random) -> dict[str, Any]:
    return {"user": {"email": _email(rng), "token": jwt(rng), "username": "x"}}


def _register(rng: random.Random) -> dict[str, Any]:
    user = {"username": rng.choice(USERS), "email": _email(rng)}
    return {"user": {**user, "password": _text(rng, 2, 3)}}


def _user(rng: random.Random) -> dict[str, Any]:
    return {
        "user": {
            "email": _email(rng),
            "username": rng.choice(USERS),
            "bio": _text(rng, 0, 9),
            "image": None,
        }
    }


def _new_order(rng: random.Random) -> dict[str, Any]:
    items = [
        {"product": rng.randint(1, 5000), "quantity": rng.randint(1, 4)}
        for _ in range(rng.randint(1, 6))
    ]
    return {"items": items, "shipping": _address(rng)}


def _reviews(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": rng.randint(1, 9999),
            "rating": rng.randint(1, 5),
            "text": _text(rng, 3, 60),
            "author": _profile(rng),
        }
        for _ in range(rng.randint(0, 12))
    ]


def _hits(rng: random.Random) -> dict[str, Any]:
    hits = [
        {"type": "article", "slug": slug(rng), "score": round(rng.random(), 4)}
        for _ in range(rng.randint(0, 20))
    ]
    return {"query": rng.choice(WORDS), "hits": hits}


def _upload(rng: random.Random) -> dict[str, Any]:
    return {
        "filename": f"{slug(rng)}.png",
        "content_type": "image/png",
        "checksum": f"{rng.getrandbits(128):032x}",
    }


def _uploaded(rng: random.Random) -> dict[str, Any]:
    key = random_uuid(rng)
    size = rng.randint(100, 10**7)
    return {"id": key, "size": size, "url": f"https://cdn.example.com/{key}"}


def _stats(rng: random.Random) -> dict[str, Any]:
    daily = [
        {"date": _time(rng)[:10], "orders": rng.randint(0, 900)}
        for _ in range(rng.randint(7, 30))
    ]
    return {
        "users": rng.randint(0, 10**5),
        "orders": rng.randint(0, 10**6),
        "daily": daily,
    }


def _event(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["charge.paid", "charge.failed"])
    return {"event": kind, "data": {"object": _order(rng)}}


def _nothing(rng: random.Random) -> None:
    return None


def _wrap(key: str, item: Maker) -> Maker:
    return lambda rng: {key: item(rng)}


def _list_of(key: str, item: Maker, most: int) -> Maker:
    return lambda rng: {key: [item(rng) for _ in range(rng.randint(0, most))]}


_articles = _page_of(lambda rng: _article(rng, full=False), 20)
_feed = _page_of(lambda rng: _article(rng, full=False), 10)
_full_article = _wrap("article", _article)
_short_article = _wrap("article", lambda rng: _article(rng, full=False))

# A table reads best aligned as one: keep the formatter off it.
# fmt: off
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "api/articles", "none", 90, 12, _articles, None, _pages, (400,)),
    Endpoint("POST", "api/articles", "bearer", 12, 35, _full_article,
             _new_article, errors=(400, 401)),
    Endpoint("GET", "api/articles/feed", "bearer", 30, 18, _feed, None, _pages, (401,)),
    Endpoint("GET", "api/articles/<slug:slug>", "none", 120, 6, _full_article),
    Endpoint("PUT", "api/articles/<slug:slug>", "bearer", 8, 30,
             _full_article, _new_article, errors=(400, 403, 404)),
    Endpoint("DELETE", "api/articles/<slug:slug>", "bearer", 3, 20, _nothing,
             errors=(403, 404)),
    Endpoint("GET", "api/articles/<slug:slug>/comments", "none", 60, 9,
             _list_of("comments", _comment, 25)),
    Endpoint("POST", "api/articles/<slug:slug>/comments", "bearer", 15, 25,
             _wrap("comment", _comment), _wrap("comment", _comment),
             errors=(400, 401, 404)),
    Endpoint("DELETE", "api/articles/<slug:slug>/comments/<int:pk>", "bearer", 4, 15,
             _nothing, errors=(403, 404)),
    Endpoint("POST", "api/articles/<slug:slug>/favorite", "bearer", 20, 14,
             _short_article, errors=(401, 404)),
    Endpoint("GET", "api/tags", "none", 40, 3,
             _list_of("tags", lambda rng: rng.choice(TAGS), 8), errors=()),
    Endpoint("POST", "api/users/login", "none", 20, 80, _logged_in, _login,
             errors=(400, 401)),
    Endpoint("POST", "api/users", "none", 6, 120, _user, _register, errors=(400,)),
    Endpoint("GET", "api/user", "session", 35, 5, _user, errors=(401,)),
    Endpoint("PUT", "api/user", "session", 5, 22, _user, _user, errors=(400, 401)),
    Endpoint("GET", "api/profiles/<str:username>", "none", 30, 7,
             _wrap("profile", _profile)),
    Endpoint("POST", "api/profiles/<str:username>/follow", "bearer", 8, 12,
             _wrap("profile", _profile), errors=(401, 404)),
    Endpoint("GET", "api/orders", "token", 25, 28, _page_of(_order, 15), None, _pages,
             (401,)),
    Endpoint("POST", "api/orders", "token", 10, 60, _order, _new_order,
             errors=(400, 401)),
    Endpoint("GET", "api/orders/<uuid:order_id>", "token", 30, 10, _order),
    Endpoint("PATCH", "api/orders/<uuid:order_id>", "token", 6, 30, _order,
             _wrap("status", lambda rng: rng.choice(["paid", "shipped"])),
             errors=(400, 404, 409)),
    Endpoint("GET", "api/orders/<uuid:order_id>/items", "token", 12, 11, _order_items),
    Endpoint("GET", "api/products", "apikey-query", 60, 15, _page_of(_product, 30),
             None, _keyed_pages, (400, 401)),
    Endpoint("GET", "api/products/<int:pk>", "apikey-query", 70, 4, _product, None,
             _key_only),
    Endpoint("GET", "api/products/<int:pk>/reviews", "none", 25, 9, _reviews),
    Endpoint("POST", "api/products/<int:pk>/reviews", "session", 5, 26, _comment,
             _comment, errors=(400, 401, 404)),
    Endpoint("GET", "api/search", "none", 35, 45, _hits, None, _search_query, (400,)),
    Endpoint("POST", "api/uploads", "apikey-header", 6, 150, _uploaded, _upload,
             errors=(400, 401, 413)),
    Endpoint("GET", "api/health", "none", 20, 1,
             lambda rng: {"status": "ok", "db": "ok"}, errors=()),
    Endpoint("GET", "api/admin/stats", "basic", 4, 200, _stats, errors=(401, 403)),
    Endpoint("POST", "api/webhooks/<slug:provider>", "none", 10, 8,
             lambda rng: {"received": True}, _event, errors=(400,)),
)
# fmt: on
