"""Parameters: value types, presence counts, noise and the bound on names."""

from __future__ import annotations

import pytest

from akita_model.params import (
    MAX_PARAMETERS,
    ParameterSet,
    is_noise_cookie,
    is_noise_header,
)
from akita_model.scalars import ScalarState


def _schema(*values: str) -> dict[str, str]:
    state = ScalarState()
    for value in values:
        state.add(value)
    return state.to_schema()


@pytest.mark.parametrize(
    ("values", "schema"),
    [
        (["1", "-20"], {"type": "integer"}),
        (["1", "2.5"], {"type": "number"}),
        (["1e3"], {"type": "number"}),
        (["true", "false"], {"type": "boolean"}),
        (["true", "1"], {"type": "string"}),
        (["007"], {"type": "string"}),
        (
            ["3f2504e0-4f89-41d3-9a0c-0305e82c3301"],
            {"type": "string", "format": "uuid"},
        ),
        (["2026-12-03", "2026-01-31"], {"type": "string", "format": "date"}),
        (["2026-12-03", "x"], {"type": "string"}),
        (["2026-12-03", "7"], {"type": "string"}),
        (["ada@example.com", ""], {"type": "string"}),
    ],
)
def test_infers_the_narrowest_type(values: list[str], schema: dict[str, str]) -> None:
    assert _schema(*values) == schema


def test_scalar_states_merge() -> None:
    first, second = ScalarState(), ScalarState()
    first.add("2026-12-03")
    second.add("2026-12-04")
    second.add("12")

    first.merge(second)

    assert first == ScalarState(first.kinds, "date")
    assert first.to_schema() == {"type": "string"}


def test_counts_presence_once_per_witness_and_marks_repeats() -> None:
    parameters = ParameterSet()

    parameters.add([("tag", "a"), ("tag", "b"), ("page", "1")])
    parameters.add([("page", "2")])

    assert parameters.parameters["tag"].count == 1
    assert parameters.parameters["tag"].is_repeated is True
    assert parameters.parameters["page"].count == 2
    assert parameters.parameters["tag"].schema() == {
        "type": "array",
        "items": {"type": "string"},
    }


def test_keeps_the_smallest_names_past_the_bound() -> None:
    streamed, first, second = ParameterSet(), ParameterSet(), ParameterSet()
    names = [f"p{index:03d}" for index in range(MAX_PARAMETERS + 30)]
    for index, name in enumerate(reversed(names)):
        streamed.add([(name, "1"), ("p000", "2")])
        (first if index % 2 else second).add([(name, "1"), ("p000", "2")])

    first.merge(second)

    assert sorted(streamed.parameters) == names[:MAX_PARAMETERS]
    assert sorted(first.parameters) == names[:MAX_PARAMETERS]
    assert streamed.parameters["p000"].count == len(names)
    assert first.parameters["p000"].count == len(names)
    assert streamed.parameters["p001"].count == 1


@pytest.mark.parametrize(
    ("name", "is_noise"),
    [
        ("host", True),
        ("x-forwarded-for", True),
        ("sec-ch-ua", True),
        ("user-agent", True),
        ("x-request-id", True),
        ("x-csrftoken", False),
        ("x-tenant", False),
        ("if-match", False),
    ],
)
def test_noise_headers(name: str, is_noise: bool) -> None:
    assert is_noise_header(name) is is_noise


def test_noise_cookies() -> None:
    assert is_noise_cookie("_ga")
    assert is_noise_cookie("_ga_ABC123")
    assert not is_noise_cookie("theme")
    assert not is_noise_cookie("csrftoken")
