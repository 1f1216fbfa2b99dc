"""One streaming pass over a clip: decode a frame, find the tracked face, keep its points.

Frames are decoded one at a time and dropped after use, so a 10-minute clip costs the
per-frame arrays (~0.6 kB a frame), never the frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.landmarks._cache import RawTrack
from evp_studio.landmarks._settings import MIN_FACE_FLOOR_PX, TrackerSettings
from evp_studio.landmarks._tracker import FaceTracker
from evp_studio.landmarks._types import LandmarkBackend
from evp_studio.media import VideoReader

_REPORT_EVERY = 5  # frames between progress reports
_PROBE_FRAMES = 3  # frames searched for tiny faces when none was found


class NoFaceError(InvalidInputError):
    """A clip has no face the tracker can use (none at all, or only tiny ones).

    Parameters
    ----------
    path
        The clip.
    problem
        What was found, and what to do.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def scan_clip(
    path: Path,
    backend: LandmarkBackend,
    settings: TrackerSettings,
    cancel: CancelToken | None = None,
) -> Job[RawTrack]:
    """Job: detect and follow one face through every frame of a clip.

    Yields
    ------
    Progress
        ``("Finding the face (<backend>)", frames done, frame count)``.

    Returns
    -------
    RawTrack
        The detections.

    Raises
    ------
    NoFaceError
        When no frame has a usable face.
    MediaError
        When the clip cannot be decoded.
    Cancelled
        When ``cancel`` is set.
    """
    stage = f"Finding the face ({backend.name})"
    with VideoReader(path, cache_bytes=0) as reader:
        n = reader.frame_count
        points = np.full((n, 68, 2), np.nan, dtype=np.float32)
        confidence = np.zeros(n, dtype=np.float32)
        boxes = np.full((n, 4), np.nan, dtype=np.float32)
        depth = np.full((n, 68), np.nan, dtype=np.float32) if backend.has_depth else None
        tracker = FaceTracker(backend, settings)
        yield Progress(stage, 0, n)
        for i, frame in enumerate(reader.iter_frames(cancel=cancel)):
            face = tracker.step(frame)
            if face is not None:
                points[i], confidence[i], boxes[i] = (
                    face.points,
                    face.confidence,
                    face.box.as_array(),
                )
                if depth is not None and face.depth is not None:
                    depth[i] = face.depth
            if (i + 1) % _REPORT_EVERY == 0:
                yield Progress(stage, i + 1, n)
        yield Progress(stage, n, n)
        if not np.isfinite(points[:, 0, 0]).any():
            raise _no_face(reader, tracker, settings)
        return RawTrack(
            points,
            confidence,
            boxes,
            np.array(reader.timestamps, dtype=np.float64),
            reader.info.display_size,
            depth,
            max(tracker.most_faces, 1),
            tracker.tiny_px,
        )


def _no_face(reader: VideoReader, tracker: FaceTracker, settings: TrackerSettings) -> NoFaceError:
    """The error for a clip without a usable face; looks harder for tiny faces to say so."""
    tiny = tracker.tiny_px
    if tiny == 0.0:
        picks = np.linspace(0, reader.frame_count - 1, min(_PROBE_FRAMES, reader.frame_count))
        for i in np.unique(picks.round().astype(int)):
            found = tracker.search_frame(
                np.asarray(reader.read(int(i))), min_face=MIN_FACE_FLOOR_PX
            )
            tiny = max([tiny, *(b.width for b in found)])
    name = tracker.backend.name
    if 0.0 < tiny < settings.min_face_px:
        return NoFaceError(
            reader.path,
            f"the only faces found are about {tiny:.0f} px wide, under the "
            f"{settings.min_face_px} px minimum (min_face_px): too small to place 68 points; "
            "use a higher-resolution clip or one framed closer to the face",
        )
    return NoFaceError(
        reader.path,
        f"no face found in any of its {reader.frame_count} frames ({name} detector, faces "
        f"of {settings.min_face_px} px and larger); the clip needs a face turned towards "
        "the camera",
    )
