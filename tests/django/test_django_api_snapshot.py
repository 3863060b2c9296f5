"""The example application's API model, kept as a snapshot.

When a view of the example changes what it accepts or answers, this test
fails; ``pytest tests/django --snapshot-update`` accepts the change.
"""

from __future__ import annotations

from typing import Any

from akita_django.demoapp.session import run_session
from akita_django.test import Client


def test_example_api_model(akita_client: Client, akita_openapi_snapshot: Any) -> None:
    akita_client.raise_request_exception = False

    run_session(akita_client)

    assert akita_client.recorded == 54
    assert akita_client.openapi() == akita_openapi_snapshot
