"""The landmark track of a clip: detection (cached), gap filling, smoothing, pose."""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evp_studio.errors import ExportError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.landmarks._backends import load_backend, model_files, model_id
from evp_studio.landmarks._cache import LandmarkCache, RawTrack
from evp_studio.landmarks._scan import scan_clip
from evp_studio.landmarks._settings import TrackerSettings
from evp_studio.landmarks._shape import estimate_pose, eye_distance, normalise_landmarks
from evp_studio.landmarks._smooth import fill_gaps, gap_runs, one_euro
from evp_studio.landmarks._types import LandmarkBackend

POSE_COLUMNS = ("yaw", "pitch", "roll", "tx", "ty", "scale")


@dataclass(frozen=True)
class LandmarkTrack:
    """68 landmarks of one face in every frame of a clip.

    Parameters
    ----------
    landmarks
        ``(T, 68, 2)`` float32 px: gaps filled, smoothed (when the settings say so).
    landmarks_raw
        ``(T, 68, 2)`` float32 px as detected; NaN where the face was lost.
    landmarks_norm
        ``(T, 68, 2)`` float32 in the canonical mean-face frame (unit square, see
        :data:`MEAN_FACE_2D`).
    confidence
        ``(T,)`` float32 in [0, 1], 0 where lost (per-backend measure, see the backends).
    lost
        ``(T,)`` bool: the face was not detected; the points there are interpolated (short
        gaps) or held from the nearest detected frame (long gaps).
    pose
        ``(T, 6)`` float32 yaw, pitch, roll (deg), tx, ty (px), scale (px/mm): scaled
        orthographic fit to the mean 3D face (:data:`POSE_COLUMNS`).
    timestamps
        ``(T,)`` float64 seconds of each frame from the first one.
    frame_size
        ``(width, height)`` px after display rotation.
    depth
        ``(T, 68)`` float32 px (FAN 3D only; larger is nearer), else None.
    backend
        ``"dlib"`` or ``"fan"``.
    warnings
        Things the user should know (lost stretches, several faces), one sentence each.
    """

    landmarks: np.ndarray
    landmarks_raw: np.ndarray
    landmarks_norm: np.ndarray
    confidence: np.ndarray
    lost: np.ndarray
    pose: np.ndarray
    timestamps: np.ndarray
    frame_size: tuple[int, int]
    depth: np.ndarray | None
    backend: str
    warnings: tuple[str, ...] = ()

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(len(self.timestamps))

    @property
    def detection_rate(self) -> float:
        """Fraction of frames where the face was detected."""
        return float(1.0 - self.lost.mean()) if self.n_frames else 0.0

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays written by :meth:`save_npz`, by name."""
        out = {
            "landmarks": self.landmarks,
            "confidence": self.confidence,
            "lost": self.lost,
            "pose": self.pose,
            "timestamps": self.timestamps,
            "landmarks_raw": self.landmarks_raw,
            "landmarks_norm": self.landmarks_norm,
            "frame_size": np.array(self.frame_size, dtype=np.int64),
            "pose_columns": np.array(POSE_COLUMNS),
        }
        if self.depth is not None:
            out["depth"] = self.depth
        return out

    def save_npz(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`arrays` to an ``.npz`` atomically (no half-written file on failure).

        Raises
        ------
        ExportError
            When the file cannot be written.
        """
        dest = Path(path)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "xb") as handle:
                np.savez(handle, allow_pickle=False, **self.arrays())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, dest)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ExportError(dest, f"cannot write the landmark file ({e.strerror or e})") from e
        return dest


def finish_track(raw: RawTrack, settings: TrackerSettings, *, backend: str) -> LandmarkTrack:
    """Fill gaps, smooth, normalise and estimate pose from raw detections (milliseconds).

    Parameters
    ----------
    raw
        Detections with at least one found frame.
    settings
        ``max_gap_frames``, ``smooth`` and the One-Euro parameters are used.
    backend
        Name recorded in the result.

    Returns
    -------
    LandmarkTrack
        The finished track.
    """
    found = raw.found
    ts = raw.timestamps
    filled = fill_gaps(raw.points, found, ts, max_gap=settings.max_gap_frames)
    if settings.smooth:
        unit = float(np.median(eye_distance(raw.points[found])))
        filled = one_euro(
            filled,
            ts,
            min_cutoff=settings.min_cutoff,
            beta=settings.beta,
            d_cutoff=settings.d_cutoff,
            unit=max(unit, 1.0),
            zero_phase=True,
        )
    landmarks = filled.astype(np.float32)
    norm, _ = normalise_landmarks(landmarks)
    depth = None
    if raw.depth is not None:
        depth = fill_gaps(raw.depth, found, ts, max_gap=settings.max_gap_frames).astype(np.float32)
    return LandmarkTrack(
        landmarks=landmarks,
        landmarks_raw=raw.points,
        landmarks_norm=norm,
        confidence=np.where(found, raw.confidence, 0.0).astype(np.float32),
        lost=~found,
        pose=estimate_pose(landmarks),
        timestamps=ts,
        frame_size=raw.frame_size,
        depth=depth,
        backend=backend,
        warnings=_warnings(raw, settings),
    )


def _warnings(raw: RawTrack, settings: TrackerSettings) -> tuple[str, ...]:
    out = []
    runs = gap_runs(~raw.found)
    if runs:
        lost = sum(b - a for a, b in runs)
        a, b = max(runs, key=lambda r: r[1] - r[0])
        out.append(
            f"face lost in {lost} of {len(raw.found)} frames ({len(runs)} stretch(es); the "
            f"longest, {b - a} frames, starts at {raw.timestamps[a]:.2f} s); those frames "
            "are interpolated or held and flagged as lost"
        )
    if raw.most_faces > 1:
        which = "the largest" if settings.select_point is None else "the one chosen"
        out.append(f"up to {raw.most_faces} faces in view; tracking {which}")
    if raw.tiny_px > 0:
        out.append(
            f"faces under {settings.min_face_px} px (min_face_px) were ignored "
            f"(largest {raw.tiny_px:.0f} px)"
        )
    return tuple(out)


def cached_track(
    video: str | os.PathLike[str],
    *,
    settings: TrackerSettings = TrackerSettings(),  # noqa: B008 - frozen, so sharing is safe
    cache: LandmarkCache | None = None,
) -> LandmarkTrack | None:
    """The landmark track of a clip from the cache alone, never running the detector.

    Parameters
    ----------
    video
        The clip.
    settings
        The settings it was tracked with (they key the cache).
    cache
        Where detections are cached; default :class:`LandmarkCache` under ``cache_dir()``.

    Returns
    -------
    LandmarkTrack | None
        The finished track, or None when this clip was not tracked with these settings.

    Raises
    ------
    MediaError
        When the clip cannot be read.
    ModelNotFoundError
        When the settings' model file is missing (it keys the cache).
    """
    path = Path(video)
    raw = (cache or LandmarkCache()).load(path, settings, model_id(model_files(settings)))
    return None if raw is None else finish_track(raw, settings, backend=settings.backend)


def track_landmarks(
    video: str | os.PathLike[str],
    *,
    settings: TrackerSettings = TrackerSettings(),  # noqa: B008 - frozen, so sharing is safe
    cache: LandmarkCache | None = None,
    use_cache: bool = True,
    backend: LandmarkBackend | None = None,
    cancel: CancelToken | None = None,
) -> Job[LandmarkTrack]:
    """Job: the landmark track of one face through a clip (detections cached).

    Parameters
    ----------
    video
        The clip; its display rotation is applied.
    settings
        Detector, face choice, gap filling and smoothing.
    cache
        Where detections are cached; default :class:`LandmarkCache` under ``cache_dir()``.
    use_cache
        False neither reads nor writes the cache.
    backend
        A loaded backend to use instead of loading the settings' one (its ``model_id``
        keys the cache).
    cancel
        Checked before every frame.

    Yields
    ------
    Progress
        Per few frames while detecting; one report on a cache hit.

    Returns
    -------
    LandmarkTrack
        The track.

    Raises
    ------
    MediaError
        When the clip cannot be read, or has no video stream.
    NoFaceError
        When no frame has a usable face (the message says if faces were too small).
    ModelNotFoundError
        When a model file is missing (raised before any frame is decoded).
    InvalidInputError
        When a model file is corrupt, naming it.
    Cancelled
        When ``cancel`` is set.
    """
    path = Path(video)
    mid = backend.model_id if backend is not None else model_id(model_files(settings))
    store = (cache or LandmarkCache()) if use_cache else None
    raw = store.load(path, settings, mid) if store is not None else None
    name = backend.name if backend is not None else settings.backend
    if raw is not None:
        yield Progress("Landmarks from the cache", len(raw.timestamps), len(raw.timestamps))
        return finish_track(raw, settings, backend=name)
    if backend is None:
        backend = load_backend(settings)
    raw = yield from scan_clip(path, backend, settings, cancel)
    if store is not None:
        store.store(path, settings, mid, raw)
    return finish_track(raw, settings, backend=name)
