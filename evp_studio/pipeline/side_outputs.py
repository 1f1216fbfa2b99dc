"""Side outputs of an export: landmark tracks, guidance maps and the project's keyframes.

Public API::

    landmark_tracks(target, placed, start=, stop=, frame_rate=) -> LandmarkTracks
    write_landmark_tracks(path, tracks) -> Path         # .npz, .csv or .json by suffix
    read_landmark_tracks(path) -> LandmarkTracks        # any of the three
    write_guidance_maps(folder, reader, placed, start=, stop=, cancel=) -> Job[int]
    write_keyframes(path, project) -> Path              # JSON

Frames are *output* frame indices (the rendered video's, ``ProjectLandmarks`` rows): output
frame ``i`` shows target frame ``target_frame[i]`` at ``time_s[i]`` seconds. Every file is
written atomically (temp name in the same folder, fsync, rename), and a PNG sequence is
written into a hidden sibling folder that replaces the destination only once complete, so
a failure or a cancel leaves the old outputs as they were. Errors name the file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.fileio import atomic_write_bytes, atomic_write_text
from evp_studio.pipeline._guidance_sequence import (
    GUIDANCE_PATTERN,
    foreign_files,
    guidance_frame_name,
    write_guidance_maps,
)
from evp_studio.pipeline.landmarks import ProjectLandmarks
from evp_studio.project import EMOTIONS, Project
from evp_studio.timecode import format_timecode

__all__ = [
    "GUIDANCE_PATTERN",
    "LANDMARK_FORMATS",
    "LandmarkTracks",
    "foreign_files",
    "guidance_frame_name",
    "landmark_tracks",
    "read_landmark_tracks",
    "write_guidance_maps",
    "write_keyframes",
    "write_landmark_tracks",
]

log = logging.getLogger(__name__)

LANDMARK_FORMATS: tuple[str, ...] = (".npz", ".csv", ".json")
_N_POINTS = 68
_CSV_FIXED = ("frame", "time_s", "target_frame", "face_lost")


class TargetTrack(Protocol):
    """What is read of a :class:`evp_studio.landmarks.LandmarkTrack`."""

    @property
    def landmarks(self) -> np.ndarray:
        """(T, 68, 2) px, gaps filled."""

    @property
    def lost(self) -> np.ndarray:
        """(T,) bool."""


@dataclass(frozen=True)
class LandmarkTracks:
    """Landmarks of the exported frames, as written to the side-output files."""

    frames: np.ndarray  # (N,) int64, output frame index
    times_s: np.ndarray  # (N,) float64 s on the output's timeline
    target_frames: np.ndarray  # (N,) int64, the target frame each output frame shows
    face_lost: np.ndarray  # (N,) bool, the face was not detected in that target frame
    detected: np.ndarray  # (N, 68, 2) float32 px, the target's tracked landmarks (gaps filled)
    predicted: np.ndarray  # (N, 68, 2) float32 px, predicted + aligned; NaN where no pose
    frame_rate: Fraction | None = None  # the target's exact rate, when known

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def landmark_tracks(
    target: TargetTrack,
    placed: ProjectLandmarks,
    *,
    start: int,
    stop: int,
    frame_rate: Fraction | None = None,
) -> LandmarkTracks:
    """Collect the detected and the predicted landmarks of output frames ``start:stop``.

    Parameters
    ----------
    target
        The target's landmark track.
    placed
        The project's predicted and aligned landmarks on the output frames.
    start, stop
        Half-open range of output frames.
    frame_rate
        Recorded in the files.

    Returns
    -------
    LandmarkTracks

    Raises
    ------
    InvalidInputError
        When the range is empty or outside the output, or ``placed`` does not fit ``target``.
    """
    n = placed.landmarks.shape[0]
    if not 0 <= start < stop <= n:
        raise InvalidInputError(f"frame range {start}:{stop} is outside the {n} output frames")
    idx = np.asarray(placed.target_index[start:stop], dtype=np.int64)
    detected = np.asarray(target.landmarks, dtype=np.float32)
    if idx.size and (idx.min() < 0 or idx.max() >= detected.shape[0]):
        raise InvalidInputError(
            f"predicted landmarks point at target frame {int(idx.max())}, but the target "
            f"track has {detected.shape[0]} frames"
        )
    return LandmarkTracks(
        frames=np.arange(start, stop, dtype=np.int64),
        times_s=np.asarray(placed.times_s[start:stop], dtype=np.float64),
        target_frames=idx,
        face_lost=np.asarray(target.lost, dtype=bool)[idx],
        detected=detected[idx],
        predicted=np.asarray(placed.landmarks[start:stop], dtype=np.float32),
        frame_rate=frame_rate,
    )


def _landmark_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in LANDMARK_FORMATS:
        raise InvalidInputError(
            f"{path}: landmark tracks are written as {', '.join(LANDMARK_FORMATS)}, "
            f"not {suffix or 'a file without a suffix'!r}"
        )
    return suffix


def _rate_text(rate: Fraction | None) -> str | None:
    return None if rate is None else f"{rate.numerator}/{rate.denominator}"


def write_landmark_tracks(path: str | os.PathLike[str], tracks: LandmarkTracks) -> Path:
    """Write landmark tracks as ``.npz``, ``.csv`` or ``.json`` (chosen by the suffix).

    npz: arrays ``frame``, ``time_s``, ``target_frame``, ``face_lost``, ``detected`` and
    ``predicted`` (N, 68, 2) float32 px, and ``frame_rate`` ("30000/1001" or "").
    csv: one row per frame: frame, time_s, target_frame, face_lost (0/1), then
    ``detected_x0, detected_y0, ... detected_y67, predicted_x0, ... predicted_y67``;
    a point without a value (no pose) is an empty field.
    json: ``{"format": "evp-studio-landmarks", "version": 1, "layout": "ibug-68",
    "units": "px", "frame_rate", "frames": [{"frame", "time_s", "target_frame",
    "face_lost", "detected": [[x, y], ...], "predicted": [[x, y] or null, ...]}]}``.

    Parameters
    ----------
    path
        The file; its suffix picks the format.
    tracks
        What to write.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidInputError
        When the suffix is not one of :data:`LANDMARK_FORMATS`.
    ExportError
        When the file cannot be written; a previous file is left as it was.
    """
    path = Path(path)
    kind = _landmark_format(path)
    if kind == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            frame=tracks.frames,
            time_s=tracks.times_s,
            target_frame=tracks.target_frames,
            face_lost=tracks.face_lost,
            detected=tracks.detected,
            predicted=tracks.predicted,
            frame_rate=np.array(_rate_text(tracks.frame_rate) or ""),
        )
        atomic_write_bytes(path, buffer.getvalue())
    elif kind == ".csv":
        atomic_write_text(path, _csv_text(tracks))
    else:
        atomic_write_text(path, json.dumps(_json_data(tracks), separators=(",", ":")))
    log.info("wrote %d frames of landmarks to %s", len(tracks), path)
    return path


def _point_columns(prefix: str) -> list[str]:
    return [f"{prefix}_{axis}{k}" for k in range(_N_POINTS) for axis in "xy"]


def _csv_text(tracks: LandmarkTracks) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_CSV_FIXED, *_point_columns("detected"), *_point_columns("predicted")])
    for k in range(len(tracks)):
        points = np.concatenate([tracks.detected[k].ravel(), tracks.predicted[k].ravel()])
        writer.writerow(
            [
                int(tracks.frames[k]),
                repr(float(tracks.times_s[k])),
                int(tracks.target_frames[k]),
                int(tracks.face_lost[k]),
                *(f"{v:.3f}" if np.isfinite(v) else "" for v in points.tolist()),
            ]
        )
    return out.getvalue()


def _points_json(points: np.ndarray) -> list[list[float] | None]:
    return [
        [round(float(x), 3), round(float(y), 3)] if np.isfinite(x) and np.isfinite(y) else None
        for x, y in points
    ]


def _json_data(tracks: LandmarkTracks) -> dict[str, Any]:
    frames = [
        {
            "frame": int(tracks.frames[k]),
            "time_s": float(tracks.times_s[k]),
            "target_frame": int(tracks.target_frames[k]),
            "face_lost": bool(tracks.face_lost[k]),
            "detected": _points_json(tracks.detected[k]),
            "predicted": _points_json(tracks.predicted[k]),
        }
        for k in range(len(tracks))
    ]
    return {
        "format": "evp-studio-landmarks",
        "version": 1,
        "layout": "ibug-68",
        "units": "px",
        "frame_rate": _rate_text(tracks.frame_rate),
        "frames": frames,
    }


def read_landmark_tracks(path: str | os.PathLike[str]) -> LandmarkTracks:
    """Read a file written by :func:`write_landmark_tracks` (any of its formats).

    Raises
    ------
    InvalidInputError
        When the file cannot be read or is not a landmark-track file; the message names it.
    """
    path = Path(path)
    kind = _landmark_format(path)
    try:
        if kind == ".npz":
            with np.load(path, allow_pickle=False) as z:
                rate = str(z["frame_rate"])
                return LandmarkTracks(
                    frames=z["frame"],
                    times_s=z["time_s"],
                    target_frames=z["target_frame"],
                    face_lost=z["face_lost"],
                    detected=z["detected"],
                    predicted=z["predicted"],
                    frame_rate=Fraction(rate) if rate else None,
                )
        text = path.read_text(encoding="utf-8")
        return _read_csv(text) if kind == ".csv" else _read_json(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidInputError(f"{path}: not a readable landmark-track file ({e})") from e


def _read_csv(text: str) -> LandmarkTracks:
    rows = list(csv.reader(io.StringIO(text)))[1:]
    values = np.array(
        [[float(v) if v else np.nan for v in row[len(_CSV_FIXED) :]] for row in rows],
        dtype=np.float32,
    ).reshape(len(rows), 2, _N_POINTS, 2)
    return LandmarkTracks(
        frames=np.array([int(r[0]) for r in rows], np.int64),
        times_s=np.array([float(r[1]) for r in rows], np.float64),
        target_frames=np.array([int(r[2]) for r in rows], np.int64),
        face_lost=np.array([r[3] == "1" for r in rows], bool),
        detected=values[:, 0],
        predicted=values[:, 1],
    )


def _read_json(data: dict[str, Any]) -> LandmarkTracks:
    if data.get("format") != "evp-studio-landmarks":
        raise ValueError(f"format is {data.get('format')!r}")
    frames = data["frames"]
    none = np.empty((0, _N_POINTS, 2), np.float32)

    def points(value: list[list[float] | None]) -> np.ndarray:
        out = np.array([p if p is not None else (np.nan, np.nan) for p in value], np.float32)
        return out.reshape(_N_POINTS, 2)

    rate = data.get("frame_rate")
    return LandmarkTracks(
        frames=np.array([f["frame"] for f in frames], np.int64),
        times_s=np.array([f["time_s"] for f in frames], np.float64),
        target_frames=np.array([f["target_frame"] for f in frames], np.int64),
        face_lost=np.array([f["face_lost"] for f in frames], bool),
        detected=np.stack([points(f["detected"]) for f in frames]) if frames else none,
        predicted=np.stack([points(f["predicted"]) for f in frames]) if frames else none,
        frame_rate=Fraction(rate) if rate else None,
    )


# -- keyframes ----------------------------------------------------------------------------------


def write_keyframes(path: str | os.PathLike[str], project: Project) -> Path:
    """Write the project's emotion keyframes as JSON.

    ``{"format": "evp-studio-keyframes", "version": 1, "project", "frame_rate",
    "emotion_source", "emotions": [8 names], "keyframes": [{"id", "frame", "time_s",
    "timecode", "emotion", "emotion_index", "intensity", "easing"}]}``; ``time_s`` and
    ``timecode`` are null when the project has no target video (no frame rate).

    Raises
    ------
    ExportError
        When the file cannot be written; a previous file is left as it was.
    """
    path = Path(path)
    rate = project.target.frame_rate if project.target is not None else None
    keys = [
        {
            "id": key.id,
            "frame": key.frame,
            "time_s": float(Fraction(key.frame) / rate) if rate else None,
            "timecode": format_timecode(key.frame, rate) if rate else None,
            "emotion": key.emotion,
            "emotion_index": EMOTIONS.index(key.emotion),
            "intensity": key.intensity,
            "easing": str(key.easing),
        }
        for key in project.emotion.keys
    ]
    data = {
        "format": "evp-studio-keyframes",
        "version": 1,
        "project": project.name,
        "frame_rate": _rate_text(rate),
        "emotion_source": str(project.emotion_source),
        "emotions": list(EMOTIONS),
        "keyframes": keys,
    }
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path
