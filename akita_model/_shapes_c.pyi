from collections.abc import Callable
from typing import Any

def shape(value: Any) -> int: ...
def configure(
    string_key: Callable[[str], str], too_deep: type[Exception], max_depth: int
) -> None: ...
