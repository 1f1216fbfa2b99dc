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
    sep = ";" if Fraction(rate) in _DROP_FRAME_RATES else ":"
    count = timecode_counter(frame, rate)
    ff = count % fps
    total_s = count // fps
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{ff:02d}"


def timecode_counter(frame: int, rate: Fraction) -> int:
    """Return the frame number a timecode counts at a frame index.

    Equal to ``frame`` for non-drop rates; for drop-frame rates, larger by the frame
    numbers skipped so far, so that ``counter // fps`` is the timecode's whole seconds.

    Parameters
    ----------
    frame
        Frame index, 0-based, >= 0.
    rate
        Exact frame rate.

    Returns
    -------
    int
        The counter.
    """
    drop = _DROP_FRAME_RATES.get(Fraction(rate), 0)
    if not drop:
        return frame
    fps = _nominal_fps(rate)
    # Skip frame numbers 0..drop-1 at the start of every minute except each tenth.
    per_10min = fps * 600 - drop * 9
    per_min = fps * 60 - drop
    tens, rem = divmod(frame, per_10min)
    extra = drop * 9 * tens
    if rem > drop:
        extra += drop * ((rem - drop) // per_min)
    return frame + extra


def frame_at_counter(counter: int, rate: Fraction) -> int:
    """Return the frame index whose timecode counts ``counter`` (inverse of the above).

    A drop-frame number that is skipped maps to the frame that follows it, e.g.
    ``00:01:00;00`` to the frame shown as ``00:01:00;02``.

    Parameters
    ----------
    counter
        Timecode frame number, >= 0.
    rate
        Exact frame rate.

    Returns
    -------
    int
        The frame index.
    """
    drop = _DROP_FRAME_RATES.get(Fraction(rate), 0)
    if not drop:
        return counter
    per_min = _nominal_fps(rate) * 60
    minutes, into_minute = divmod(counter, per_min)
    if minutes % 10 and into_minute < drop:
        counter += drop - into_minute
    return counter - drop * (minutes - minutes // 10)


def frame_to_seconds(frame: int, rate: Fraction) -> float:
    """Start time in seconds of a frame at a constant rate."""
    return float(Fraction(frame) / Fraction(rate))


def seconds_to_frame(seconds: float, rate: Fraction) -> int:
    """Index of the frame shown at ``seconds`` (the one that started last) at a constant rate."""
    return max(
        0, int(Fraction(seconds).limit_denominator(10**9) * Fraction(rate) + Fraction(1, 10**6))
    )
