"""Where the timeline ruler puts its ticks and what their labels say (no Qt).

Ticks sit on frame starts at the target's exact rate. In timecode mode the steps are
whole timecode units (frames that divide the nominal rate, then seconds, minutes, hours)
and drop-frame timecode keeps its labels honest: a tick for a skipped number lands on the
frame that follows it. The densest labelled step whose labels still fit is chosen, down to
every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from evp_studio.timecode import format_timecode, frame_at_counter, timecode_counter

MIN_TICK_PX = 6.0  # closest spacing of unlabelled (minor) ticks
_TC_MULTIPLES = (1, 2, 5, 10, 15, 30)  # of seconds, of minutes
_TC_HOURS = (1, 2, 5, 10, 24, 48, 100)


class RulerMode(Enum):
    """What the ruler's labels show."""

    TIMECODE = "timecode"
    FRAMES = "frames"
    SECONDS = "seconds"


@dataclass(frozen=True)
class Tick:
    """A tick on the ruler.

    Parameters
    ----------
    seconds
        Position on the timeline, s.
    label
        Text under a major tick; None for a minor one.
    """

    seconds: float
    label: str | None


def nominal_fps(rate: Fraction) -> int:
    """Whole frames per timecode second (30 for 30000/1001)."""
    return max(1, round(rate))


def timecode_steps(rate: Fraction) -> list[int]:
    """Tick steps in timecode frame numbers, smallest first: frames, then s, min, h."""
    n = nominal_fps(rate)
    frames = [d for d in (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30) if d < n and n % d == 0]
    seconds = [n * m for m in _TC_MULTIPLES]
    minutes = [n * 60 * m for m in _TC_MULTIPLES]
    hours = [n * 3600 * m for m in _TC_HOURS]
    return frames + seconds + minutes + hours


def decimal_steps(smallest: float) -> list[float]:
    """1-2-5 steps from ``smallest`` (a power of ten) up to 10^7 times it."""
    return [smallest * m * 10**e for e in range(8) for m in (1, 2, 5)]


def ruler_ticks(
    t0: float,
    t1: float,
    *,
    width_px: float,
    rate: Fraction,
    mode: RulerMode,
    min_label_px: float,
) -> list[Tick]:
    """The ticks to draw for the visible range ``[t0, t1]`` seconds.

    Parameters
    ----------
    t0, t1
        Visible range, s (``t1 > t0``).
    width_px
        Pixels the range spans on screen.
    rate
        The target's exact frame rate.
    mode
        What the labels show.
    min_label_px
        Smallest spacing of labelled ticks (the width of one label plus a gap).

    Returns
    -------
    list[Tick]
        Major ticks (labelled) and minor ticks, in increasing time; none before 0 s.
    """
    if t1 <= t0 or width_px <= 0:
        return []
    px_per_s = width_px / (t1 - t0)
    if mode is RulerMode.SECONDS:
        return _seconds_ticks(t0, t1, px_per_s, min_label_px)
    return _frame_ticks(t0, t1, px_per_s, rate, mode, min_label_px)


def format_seconds(seconds: float, step: float) -> str:
    """``seconds`` with as many decimals as ``step`` needs, e.g. ``"1.25 s"``."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{seconds:.{decimals}f} s"


def _frame_ticks(
    t0: float, t1: float, px_per_s: float, rate: Fraction, mode: RulerMode, min_label_px: float
) -> list[Tick]:
    """Ticks on frame starts; in timecode mode the steps count timecode numbers."""
    timecode = mode is RulerMode.TIMECODE
    steps = [float(s) for s in (timecode_steps(rate) if timecode else decimal_steps(1.0))]
    px_per_unit = px_per_s / float(rate)  # a timecode number lasts one real frame
    major = _pick(steps, px_per_unit, min_label_px)
    minor = _minor(steps, major, px_per_unit)
    first = max(0, math.floor(t0 * rate))
    last = max(0, math.ceil(t1 * rate))
    c0, c1 = (
        (timecode_counter(first, rate), timecode_counter(last, rate)) if timecode else (first, last)
    )
    frames: dict[int, str | None] = {}
    for step_f, labelled in ((minor, False), (major, True)):
        if step_f is None:
            continue
        step = round(step_f)
        for k in range(-(-c0 // step), c1 // step + 1):
            frame = frame_at_counter(k * step, rate) if timecode else k * step
            if labelled:
                frames[frame] = format_timecode(frame, rate) if timecode else str(frame)
            else:
                frames.setdefault(frame, None)
    ticks = [Tick(float(Fraction(f) / rate), label) for f, label in sorted(frames.items())]
    return [tick for tick in ticks if t0 - 1e-9 <= tick.seconds <= t1 + 1e-9]


def _seconds_ticks(t0: float, t1: float, px_per_s: float, min_label_px: float) -> list[Tick]:
    steps = decimal_steps(0.001)
    major = _pick(steps, px_per_s, min_label_px)
    minor = _minor(steps, major, px_per_s)
    ticks: dict[int, Tick] = {}
    for step, labelled in ((minor, False), (major, True)):
        if step is None:
            continue
        for k in range(max(0, math.ceil(t0 / step - 1e-9)), math.floor(t1 / step + 1e-9) + 1):
            t = round(k * step, 9)
            key = round(t * 1e6)  # the same instant reached by both steps
            if labelled:
                ticks[key] = Tick(t, format_seconds(t, step))
            else:
                ticks.setdefault(key, Tick(t, None))
    return [ticks[key] for key in sorted(ticks)]


def _pick(steps: list[float], px_per_unit: float, min_px: float) -> float:
    """The smallest step at least ``min_px`` apart on screen (the largest if none is)."""
    for step in steps:
        if step * px_per_unit >= min_px:
            return step
    return steps[-1]


def _minor(steps: list[float], major: float, px_per_unit: float) -> float | None:
    """The smallest step that divides ``major`` and is at least ``MIN_TICK_PX`` apart."""
    for step in steps:
        if step >= major:
            return None
        ratio = major / step
        if step * px_per_unit >= MIN_TICK_PX and abs(ratio - round(ratio)) < 1e-9:
            return step
    return None
