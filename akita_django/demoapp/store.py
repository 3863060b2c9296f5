"""The example application's data, kept in memory.

``reset()`` puts back the same seed data every time, so a scripted session
gives the same answers, and so the same model, on every run.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

_lock = threading.Lock()


@dataclass
class User:
    """A user who can sign in with a password or a token."""

    id: uuid.UUID
    username: str
    email: str
    password: str
    token: str
    is_editor: bool


@dataclass
class Comment:
    """A reader's comment on an article."""

    id: int
    author: str
    body: str
    created: str


@dataclass
class Article:
    """A published article."""

    slug: str
    title: str
    body: str
    author: str
    tags: list[str]
    published: str
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Data:
    """Everything the application knows."""

    users: dict[str, User]
    articles: dict[str, Article]
    next_comment_id: int
    attachments: dict[uuid.UUID, bytes]


def _seed() -> Data:
    users = {
        "alice": User(
            id=uuid.UUID("6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a5b"),
            username="alice",
            email="alice@example.com",
            password="wonderland",
            token="9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
            is_editor=True,
        ),
        "bob": User(
            id=uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
            username="bob",
            email="bob@example.org",
            password="builder",
            token="3f786850e387550fdab836ed7e6dc881de23001b",
            is_editor=False,
        ),
    }
    topics = [
        ("how-to-train", "How to train for a marathon", ["running", "health"]),
        ("sourdough-basics", "Sourdough basics", ["baking"]),
        ("rust-for-pythonistas", "Rust for Pythonistas", ["programming"]),
        ("django-at-scale", "Django at scale", ["programming", "web"]),
        ("winter-cycling", "Cycling through the winter", ["health"]),
        ("tidy-data", "Tidy data in practice", ["programming", "data"]),
    ]
    articles = {}
    for number, (slug, title, tags) in enumerate(topics, start=1):
        articles[slug] = Article(
            slug=slug,
            title=title,
            body=f"{title}: a short article for the example application.",
            author="alice" if number % 2 else "bob",
            tags=tags,
            published=f"2026-11-{number:02d}T09:30:00+00:00",
        )
    articles["how-to-train"].comments.append(
        Comment(1, "bob", "Great tips, thanks!", "2026-11-02T10:00:00+00:00")
    )
    attachments = {
        uuid.UUID("d3b07384-d9a0-4c9b-8f3a-1c2e3d4f5a6b"): b"%PDF-1.4 example\n" * 64
    }
    return Data(users, articles, next_comment_id=2, attachments=attachments)


data = _seed()


def reset() -> None:
    """Put the seed data back."""
    global data
    with _lock:
        data = _seed()


def lock() -> threading.Lock:
    """Return the lock that guards changes to the data."""
    return _lock
