"""Frame indices ↔ SMPTE timecode at exact rational frame rates.

Drop-frame timecode (``HH:MM:SS;FF``) is used for the NTSC rates 30000/1001 and
60000/1001, as NLEs do, so that the timecode keeps step with the wall clock; every other
rate uses non-drop timecode with the rate rounded to whole frames per second.
"""

from __future__ import annotations

from fractions import Fraction

_DROP_FRAME_RATES = {Fraction(30000, 1001): 2, Fraction(60000, 1001): 4}


def _nominal_fps(rate: Fraction) -> int:
    return max(1, round(rate))


def format_timecode(frame: int, rate: Fraction) -> str:
    """Return the SMPTE timecode of a frame index.

    Parameters
    ----------
    frame
        Frame index, 0-based, >= 0.
    rate
        Exact frame rate, e.g. ``Fraction(30000, 1001)``.

    Returns
    -------
    ``"HH:MM:SS:FF"``, or ``"HH:MM:SS;FF"`` for drop-frame rates.

    Raises
    ------
    ValueError
        If ``frame`` is negative.
    """
    if frame < 0:
        raise ValueError(f"frame index must be >= 0, got {frame}")
    fps = _nominal_fps(rate)
    drop = _DROP_FRAME_RATES.get(Fraction(rate), 0)
    sep = ";" if drop else ":"
    if drop:
        # Skip frame numbers 0..drop-1 at the start of every minute except each tenth.
        per_10min = fps * 600 - drop * 9
        per_min = fps * 60 - drop
        tens, rem = divmod(frame, per_10min)
        extra = drop * 9 * tens
        if rem > drop:
            extra += drop * ((rem - drop) // per_min)
        frame += extra
    ff = frame % fps
    total_s = frame // fps
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{ff:02d}"


def frame_to_seconds(frame: int, rate: Fraction) -> float:
    """Start time in seconds of a frame at a constant rate."""
    return float(Fraction(frame) / Fraction(rate))


def seconds_to_frame(seconds: float, rate: Fraction) -> int:
    """Index of the frame shown at ``seconds`` (the one that started last) at a constant rate."""
    return max(
        0, int(Fraction(seconds).limit_denominator(10**9) * Fraction(rate) + Fraction(1, 10**6))
    )
