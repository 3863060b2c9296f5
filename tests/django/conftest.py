"""Run the capture tests against the example application's settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "akita_django.demoapp.settings")
django.setup()

from akita_django.demoapp import store  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_store() -> Iterator[None]:
    store.reset()
    yield
    store.reset()
