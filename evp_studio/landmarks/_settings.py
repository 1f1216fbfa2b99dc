"""Settings of face tracking: which detector, which face, how much smoothing.

A frozen dataclass the UI can store (``to_dict`` / ``from_dict``, unknown keys refused) and
the CLI builds from its flags. Only the fields in :meth:`TrackerSettings.detection_key` change
what the detector finds, so only they key the cached detections; gap filling and smoothing
are re-applied to a cached track in milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from evp_studio.errors import InvalidInputError

BACKENDS: tuple[str, ...] = ("dlib", "fan")
FAN_MODELS: tuple[str, ...] = ("2d", "3d")
FAN_DETECTORS: tuple[str, ...] = ("sfd", "dlib")
MIN_FACE_FLOOR_PX = 12  # no detector here finds faces smaller than this

# Fields that change the raw detections (and so key the cache).
_DETECTION_FIELDS = (
    "backend",
    "fan_model",
    "fan_detector",
    "fan_flip",
    "min_face_px",
    "select_point",
    "redetect_every",
    "detect_max_side",
)


@dataclass(frozen=True)
class TrackerSettings:
    """How faces are detected, followed and smoothed.

    Parameters
    ----------
    backend
        ``"dlib"`` (HOG detector + 68-point shape predictor, offline, the default) or
        ``"fan"`` (face-alignment's FAN; needs its weights in the user's models folder).
    fan_model
        ``"2d"`` (2DFAN-4) or ``"3d"`` (3DFAN-4 + depth network: also a z per point).
    fan_detector
        Face boxes for FAN: ``"sfd"`` (S3FD, face-alignment's own, needs its weights) or
        ``"dlib"`` (the HOG detector, offline; its boxes are converted approximately).
    fan_flip
        Also run FAN on the mirrored crop and average (twice the time, a little steadier).
    device
        ``"cpu"`` or ``"cuda"`` for FAN; not part of the cache key.
    min_face_px
        Smallest face width tracked, px; smaller faces are refused and reported.
    select_point
        ``(x, y)`` px in the first frame with a face: track the face nearest to it; None
        tracks the largest face.
    redetect_every
        Full-frame detection every this many frames; in between the detector only searches
        around the tracked face (fast, and it keeps the track when another face comes near).
    detect_max_side
        Frames are scaled down to this long side for full-frame detection, px.
    max_gap_frames
        Lost stretches up to this many frames are linearly interpolated; longer ones hold
        the nearest detected frame. Both are flagged in ``lost``.
    smooth
        Apply the One-Euro filter, forward and backward over the clip (no lag).
    min_cutoff
        One-Euro minimum cutoff, Hz: lower is steadier on a still face.
    beta
        One-Euro speed coefficient, per (face size / s): higher follows fast motion with less
        lag. Speeds are measured in face sizes (distance of the outer eye corners), so the
        same values suit any resolution.
    d_cutoff
        One-Euro cutoff of the speed estimate, Hz.

    Raises
    ------
    InvalidInputError
        When a value is out of range, naming it.
    """

    backend: str = "dlib"
    fan_model: str = "2d"
    fan_detector: str = "sfd"
    fan_flip: bool = False
    device: str = "cpu"
    min_face_px: int = 40
    select_point: tuple[float, float] | None = None
    redetect_every: int = 10
    detect_max_side: int = 960
    max_gap_frames: int = 12
    smooth: bool = True
    min_cutoff: float = 1.0
    beta: float = 10.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        _one_of("backend", self.backend, BACKENDS)
        _one_of("fan_model", self.fan_model, FAN_MODELS)
        _one_of("fan_detector", self.fan_detector, FAN_DETECTORS)
        if not isinstance(self.device, str) or not self.device.startswith(("cpu", "cuda")):
            raise InvalidInputError(f"device {self.device!r} is not 'cpu' or 'cuda[:N]'")
        _int_at_least("min_face_px", self.min_face_px, MIN_FACE_FLOOR_PX)
        _int_at_least("redetect_every", self.redetect_every, 1)
        _int_at_least("detect_max_side", self.detect_max_side, 64)
        _int_at_least("max_gap_frames", self.max_gap_frames, 0)
        for name in ("min_cutoff", "d_cutoff"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise InvalidInputError(f"{name} {value!r} must be a positive number of Hz")
        if not isinstance(self.beta, int | float) or not math.isfinite(self.beta) or self.beta < 0:
            raise InvalidInputError(f"beta {self.beta!r} must be a number >= 0")
        if self.select_point is not None:
            point = tuple(self.select_point)
            if len(point) != 2 or not all(
                isinstance(v, int | float) and math.isfinite(v) for v in point
            ):
                raise InvalidInputError(f"select_point {self.select_point!r} is not (x, y) px")
            object.__setattr__(self, "select_point", (float(point[0]), float(point[1])))

    def detection_key(self) -> dict[str, Any]:
        """The fields that change what the detector finds, as plain JSON values."""
        key = {name: getattr(self, name) for name in _DETECTION_FIELDS}
        if self.backend == "dlib":  # FAN's options do not touch a dlib run
            for name in ("fan_model", "fan_detector", "fan_flip"):
                key.pop(name)
        if key["select_point"] is not None:
            key["select_point"] = list(key["select_point"])
        return key

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON values (for the UI's settings file)."""
        data = asdict(self)
        if data["select_point"] is not None:
            data["select_point"] = list(data["select_point"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackerSettings:
        """Build settings from :meth:`to_dict` output; missing keys take their defaults.

        Raises
        ------
        InvalidInputError
            For an unknown key or a bad value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"unknown tracker settings: {', '.join(unknown)}")
        values = dict(data)
        if values.get("select_point") is not None:
            values["select_point"] = tuple(values["select_point"])
        return cls(**values)


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInputError(f"{name} {value!r} is not one of {', '.join(allowed)}")


def _int_at_least(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{name} {value!r} must be a whole number >= {low}")
