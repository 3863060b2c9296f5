"""A scripted session of the example application, as its users would run it.

Readers browse and filter articles page by page, sign in with a form and
comment; an editor swaps HTTP basic credentials for a token and writes,
changes and deletes articles with JSON; clients get things wrong too
(missing credentials, unknown slugs, bad JSON) and the server fails now and
then. The same script gives the same requests every time.
"""

from __future__ import annotations

import base64
from typing import Any

from akita_django.demoapp import store

ALICE_ID = "6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a5b"
BOB_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ATTACHMENT_ID = "d3b07384-d9a0-4c9b-8f3a-1c2e3d4f5a6b"
MISSING_ID = "11111111-2222-4333-8444-555555555555"


def _basic(username: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {pair}"}


def _browse(client: Any) -> None:
    client.get("/api/health/")
    for page in (1, 2):
        client.get("/api/articles/", {"page": page})
    client.get("/api/articles/", {"tag": "programming"})
    client.get("/api/articles/", {"tag": ["health", "baking"], "page_size": 5})
    client.get("/api/articles/", {"author": "bob", "page": 1, "page_size": 2})
    client.get("/api/articles/", {"page": "last"})
    for slug in ("how-to-train", "sourdough-basics", "django-at-scale"):
        client.get(f"/api/articles/{slug}/")
        client.get(f"/api/articles/{slug}/comments/")
    client.get("/api/articles/how-to-train/comments/1/")
    client.get("/api/articles/how-to-train/comments/99/")
    client.get("/api/articles/no-such-article/")
    client.get(f"/api/attachments/{ATTACHMENT_ID}/")
    client.get(f"/api/attachments/{MISSING_ID}/")


def _comment_with_a_session(client: Any) -> None:
    client.get("/api/me/")
    client.post("/api/articles/how-to-train/comments/", {"body": "First!"})
    client.post("/api/session/", {"username": "bob", "password": "wrong"})
    client.post("/api/session/", {"username": "bob", "password": "builder"})
    client.get("/api/me/")
    client.post("/api/articles/how-to-train/comments/", {"body": "Hills help too."})
    client.post("/api/articles/tidy-data/comments/", {"body": "Very clear, thanks."})
    client.post("/api/articles/tidy-data/comments/", {"body": ""})
    client.get("/api/articles/tidy-data/comments/", {"page": 1})
    client.post("/api/session/logout/")
    client.get("/api/me/")


def _edit_with_a_token(client: Any) -> None:
    client.post("/api/tokens/")
    client.post("/api/tokens/", headers=_basic("alice", "nope"))
    answer = client.post("/api/tokens/", headers=_basic("alice", "wonderland"))
    token = {"Authorization": f"Token {answer.json()['token']}"}
    bob = client.post("/api/tokens/", headers=_basic("bob", "builder")).json()
    bob_token = {"Authorization": f"Token {bob['token']}"}

    client.post(
        "/api/articles/",
        {"title": "Unauthenticated", "body": "x"},
        content_type="application/json",
    )
    for title, tags in (
        ("Testing with pytest", ["programming", "testing"]),
        ("Bread without kneading", ["baking"]),
    ):
        client.post(
            "/api/articles/",
            {"title": title, "body": f"All about {title.lower()}.", "tags": tags},
            content_type="application/json",
            headers=token,
        )
    client.post(
        "/api/articles/",
        {"title": "Testing with pytest", "body": "Again."},
        content_type="application/json",
        headers=token,
    )
    client.post("/api/articles/", {"title": "Form"}, headers=token)
    client.post(
        "/api/articles/",
        {"title": 7, "body": "Numbers are no titles."},
        content_type="application/json",
        headers=token,
    )
    client.patch(
        "/api/articles/testing-with-pytest/",
        {"tags": ["programming", "testing", "python"]},
        content_type="application/json",
        headers=token,
    )
    client.patch(
        "/api/articles/sourdough-basics/",
        {"title": "Sourdough, simply"},
        content_type="application/json",
        headers=bob_token,
    )
    client.patch(
        "/api/articles/how-to-train/",
        {"title": "Mine now"},
        content_type="application/json",
        headers=bob_token,
    )
    client.delete("/api/articles/bread-without-kneading/", headers=token)
    client.delete("/api/articles/bread-without-kneading/", headers=token)
    client.get("/api/articles/", {"tag": "testing"}, headers=token)


def _profiles_and_stats(client: Any) -> None:
    client.get(f"/api/users/{ALICE_ID}/")
    client.get(f"/api/users/{ALICE_ID}/", headers=_basic("alice", "wonderland"))
    client.get(f"/api/users/{BOB_ID}/", headers=_basic("alice", "wonderland"))
    client.get(f"/api/users/{ALICE_ID}/", headers=_basic("bob", "builder"))
    client.get(f"/api/users/{MISSING_ID}/", headers=_basic("alice", "wonderland"))
    for year in (2026, 2025, 2031, 1999):
        client.get(f"/api/stats/{year}/")


def run_session(client: Any) -> None:
    """Make the scripted session's requests through a Django test client.

    The client should be made with ``raise_request_exception=False``, since
    the session includes a server error.
    """
    store.reset()
    _browse(client)
    _comment_with_a_session(client)
    _edit_with_a_token(client)
    _profiles_and_stats(client)
