"""Small value checks shared by the document dataclasses.

Each helper returns the value in its canonical Python type (a plain ``int`` for numpy
integers, a ``float`` for ints) or raises :class:`InvalidInputError` naming the field and
the offending value.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from fractions import Fraction

from evp_studio.errors import InvalidInputError

_RATE_TEXT = re.compile(r"\d+(/\d+)?")


def require_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a plain int, rejecting bools, floats and values below ``minimum``.

    Parameters
    ----------
    value
        The value to check (any integral type, numpy integers included).
    name
        The field's name, used in the error message.
    minimum
        The smallest allowed value, or None for no bound.

    Returns
    -------
    The value as ``int``.

    Raises
    ------
    InvalidInputError
        When the value is not an integer or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    result = operator.index(value)
    if minimum is not None and result < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, got {result}")
    return result


def require_optional_int(value: object, name: str, *, minimum: int | None = None) -> int | None:
    """Like :func:`require_int`, but None passes through unchanged."""
    if value is None:
        return None
    return require_int(value, name, minimum=minimum)


def require_unit_interval(value: object, name: str) -> float:
    """Return ``value`` as a float in [0, 1].

    Parameters
    ----------
    value
        A real number (bools and NaN are rejected).
    name
        The field's name, used in the error message.

    Returns
    -------
    The value as ``float``.

    Raises
    ------
    InvalidInputError
        When the value is not a finite number in [0, 1].
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be a number in [0, 1], got {value!r}")
    result = float(value)
    if not (math.isfinite(result) and 0.0 <= result <= 1.0):
        raise InvalidInputError(f"{name} must be a number in [0, 1], got {value!r}")
    return result


def require_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` as a plain str if it is one of ``choices``.

    Raises
    ------
    InvalidInputError
        When the value is not one of the choices.
    """
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(choices)
        raise InvalidInputError(f"{name} must be one of {allowed}; got {value!r}")
    return str(value)


def require_text(value: object, name: str) -> str:
    """Return ``value`` if it is a string with something other than whitespace in it.

    Raises
    ------
    InvalidInputError
        When the value is not a string or is blank.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
    return value


def to_frame_rate(value: object, name: str = "frame_rate") -> Fraction:
    """Return a positive exact frame rate from a Fraction, an int or a ``"30000/1001"`` string.

    Floats are refused on purpose: 29.97 is not 30000/1001, and the difference drifts by a
    frame every ~9 hours of timeline.

    Raises
    ------
    InvalidInputError
        When the value is a float, malformed, or not positive.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidInputError(
            f"{name} must be exact (a Fraction or a string like '30000/1001'), got {value!r}"
        )
    if isinstance(value, str) and not _RATE_TEXT.fullmatch(value.strip()):
        raise InvalidInputError(
            f"{name} must be written as 'N/D' or 'N' with integers, got {value!r}"
        )
    if isinstance(value, str | numbers.Rational):
        try:
            rate = Fraction(value)
        except (ValueError, ZeroDivisionError) as e:
            raise InvalidInputError(f"{name}: cannot read {value!r} as a frame rate") from e
        if rate > 0:
            return rate
    raise InvalidInputError(f"{name} must be a positive rational number, got {value!r}")
