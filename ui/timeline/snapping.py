"""Snapping on the timeline: whole frames always, nearby marks when snapping is on.

A scrub (the playhead) snaps to keys and to the in/out points. A key drag snaps any of the
moving keys to the playhead or an in/out point; it never proposes landing on a key that is
not moving, since a frame holds one key at most.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

SNAP_PX = 8.0  # how close (screen pixels) a mark must be to pull the cursor onto it


def snap_frame(position: float, targets: Iterable[int], *, tolerance: float) -> int:
    """Return the frame a drag or scrub at ``position`` lands on.

    The nearest target within ``tolerance`` wins (ties go to the earlier one); otherwise
    the nearest whole frame.

    Parameters
    ----------
    position
        Where the cursor is, in (fractional) frames.
    targets
        Frames to snap to: other keys, the playhead, the in and out points.
    tolerance
        Largest distance in frames that still snaps (``SNAP_PX`` times frames per pixel);
        0 or less snaps to whole frames only.

    Returns
    -------
    int
        The frame.
    """
    best: int | None = None
    best_d = tolerance
    for target in sorted(set(targets)):
        d = abs(target - position)
        if d <= best_d and (best is None or d < best_d):
            best, best_d = target, d
    return best if best is not None else round(position)


def snap_delta(
    raw_delta: float,
    frames: Sequence[int],
    targets: Iterable[int],
    *,
    tolerance: float,
    blocked: Collection[int] = (),
) -> int:
    """Return the whole-frame shift of keys dragged by ``raw_delta`` frames.

    Each moving key may be pulled onto a target within ``tolerance``; the smallest pull
    wins. A pull that would land any moving key on a ``blocked`` frame is not taken.

    Parameters
    ----------
    raw_delta
        How far the cursor moved, in (fractional) frames.
    frames
        Frames of the moving keys before the drag.
    targets
        Frames to snap to (the playhead, the in and out points).
    tolerance
        Largest pull in frames; 0 or less: whole frames only.
    blocked
        Frames held by keys that are not moving.

    Returns
    -------
    int
        The shift in frames.
    """
    best, best_pull = round(raw_delta), math.inf
    for target in sorted(set(targets)):
        for frame in frames:
            pull = abs(target - (frame + raw_delta))
            shift = target - frame
            if pull <= tolerance and pull < best_pull:
                if not any(f + shift in blocked for f in frames):
                    best, best_pull = shift, pull
    return best


def snap_targets(
    keys: Iterable[int], *, playhead: int | None, in_frame: int | None, out_frame: int | None
) -> list[int]:
    """The frames a drag may snap to, sorted, without repeats.

    Parameters
    ----------
    keys
        Frames of the keys that are not being moved.
    playhead
        The playhead's frame; None when the playhead itself is being dragged.
    in_frame, out_frame
        The range marks as stored (the out point is exclusive: it is drawn, and snapped
        to, at the end of the last frame in the range); None when unset.

    Returns
    -------
    list[int]
        The target frames.
    """
    marks = [playhead, in_frame, out_frame]
    return sorted({*keys, *(m for m in marks if m is not None)})
