"""Make trace ids and memorable trace names.

A trace id is ``lrn_`` and 22 base62 characters (about 131 bits from the
operating system's random source). A generated name is an adjective, a
colour, an animal and a number, such as ``powder-blue-panda-338``.
"""

from __future__ import annotations

import re
import secrets
import string

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

TRACE_ID_PATTERN = re.compile(r"lrn_[0-9A-Za-z]{22}")

# A trace name is used in URLs and folder names: keep it to a safe alphabet.
TRACE_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

ADJECTIVES = tuple(
    (
        "brave calm clever cosy daring eager fancy gentle happy humble jolly "
        "keen lively lucky merry mighty nimble noble patient polite powder "
        "proud quick quiet rapid shiny silent sleepy snappy steady sunny swift "
        "tidy vivid witty zesty"
    ).split()
)

COLOURS = tuple(
    (
        "amber azure beige black blue bronze coral crimson cyan gold green grey "
        "indigo ivory jade lemon lilac lime magenta maroon mint navy olive "
        "orange peach pink plum purple red ruby rust sage scarlet silver teal "
        "violet white yellow"
    ).split()
)

ANIMALS = tuple(
    (
        "badger beaver bison camel cheetah cobra crane dingo dolphin eagle "
        "ferret finch fox gecko heron ibex jackal koala lemur lynx marmot moose "
        "newt otter owl panda pelican puffin quail raven seal shrew sloth tapir "
        "toucan walrus wombat yak zebra"
    ).split()
)

GENERATED_NAME_PATTERN = re.compile(r"[a-z]+-[a-z]+-[a-z]+-[0-9]{1,3}")


def new_trace_id() -> str:
    """Return a fresh trace id: ``lrn_`` and 22 random base62 characters."""
    return "lrn_" + "".join(secrets.choice(BASE62) for _ in range(22))


def new_trace_name() -> str:
    """Return a fresh name such as ``powder-blue-panda-338``."""
    return "-".join(
        (
            secrets.choice(ADJECTIVES),
            secrets.choice(COLOURS),
            secrets.choice(ANIMALS),
            str(secrets.randbelow(1000)),
        )
    )


def is_trace_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of a trace id."""
    return TRACE_ID_PATTERN.fullmatch(value) is not None


def is_valid_trace_name(value: str) -> bool:
    """Tell whether ``value`` may be used as a trace name."""
    return TRACE_NAME_PATTERN.fullmatch(value) is not None
