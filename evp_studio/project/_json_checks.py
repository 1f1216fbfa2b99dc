"""Strict readers for JSON values that report the JSON location of what is wrong.

Each ``expect_*`` returns the value or raises :class:`FormatProblem` with a location such
as ``emotion.keys[2].intensity``; ``io`` turns that into a ``ProjectFormatError`` that
also names the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

_SHOWN_CHARS = 60


class FormatProblem(Exception):  # noqa: N818 - internal carrier, never escapes io
    """What is wrong at a JSON location (``""`` for the top level)."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location or 'top level'}: {message}")


def child(location: str, key: str) -> str:
    """Return the location of ``key`` inside the object at ``location``."""
    return f"{location}.{key}" if location else key


def item(location: str, index: int) -> str:
    """Return the location of element ``index`` of the list at ``location``."""
    return f"{location}[{index}]"


def show(value: object) -> str:
    """Return a short JSON rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def expect_object(
    value: object, location: str, *, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    """Return ``value`` if it is an object with all ``required`` keys and no unknown ones."""
    if not isinstance(value, dict):
        raise FormatProblem(location, f"expected an object, got {show(value)}")
    required = tuple(required)
    for key in required:
        if key not in value:
            raise FormatProblem(location, f'missing key "{key}"')
    known = set(required) | set(optional)
    for key in value:
        if key not in known:
            expected = ", ".join(f'"{name}"' for name in sorted(known))
            raise FormatProblem(child(location, str(key)), f"unknown key; expected {expected}")
    return value


def expect_list(value: object, location: str) -> list[Any]:
    """Return ``value`` if it is a list."""
    if not isinstance(value, list):
        raise FormatProblem(location, f"expected a list, got {show(value)}")
    return value


def expect_int(value: object, location: str, *, minimum: int | None = None) -> int:
    """Return ``value`` if it is an integer (not a bool, not 3.0) >= ``minimum``."""
    bound = f" >= {minimum}" if minimum is not None else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatProblem(location, f"expected an integer{bound}, got {show(value)}")
    if minimum is not None and value < minimum:
        raise FormatProblem(location, f"expected an integer{bound}, got {show(value)}")
    return value


def expect_optional_int(value: object, location: str, *, minimum: int | None = None) -> int | None:
    """Like :func:`expect_int`, but ``null`` is allowed."""
    return None if value is None else expect_int(value, location, minimum=minimum)


def expect_number(value: object, location: str, low: float, high: float) -> float:
    """Return ``value`` as a float if it is a number in ``[low, high]``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not low <= float(value) <= high
    ):
        raise FormatProblem(
            location, f"expected a number in [{low:g}, {high:g}], got {show(value)}"
        )
    return float(value)


def expect_str(value: object, location: str, *, choices: Iterable[str] | None = None) -> str:
    """Return ``value`` if it is a non-empty string (one of ``choices`` when given)."""
    if choices is not None:
        options = tuple(choices)
        if not isinstance(value, str) or value not in options:
            allowed = ", ".join(f'"{option}"' for option in options)
            raise FormatProblem(location, f"expected one of {allowed}; got {show(value)}")
        return value
    if not isinstance(value, str) or not value.strip():
        raise FormatProblem(location, f"expected a non-empty string, got {show(value)}")
    return value
