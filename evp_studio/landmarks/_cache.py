"""The on-disk cache of raw face detections, per video content and detector settings.

An entry is found by the video's content fingerprint (:func:`evp_studio.project.hash_media`)
and a hash of the settings that change detections plus the model files' sha256; it lives at
``<cache_dir>/landmarks/<hh>/<content>-<params>.npz``. Only raw detections are cached: gap
filling, smoothing, normalisation and pose are recomputed in milliseconds, so changing the
smoothing never re-runs the detector. Entries are written atomically; one that cannot be
read or does not match its key is discarded with a warning and computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evp_studio.landmarks._settings import TrackerSettings
from evp_studio.paths import cache_dir
from evp_studio.project import hash_media

log = logging.getLogger(__name__)

FORMAT = 1
_ARRAYS = ("points", "confidence", "boxes", "timestamps", "frame_size", "stats")


@dataclass(frozen=True)
class RawTrack:
    """What the detector found in a clip, before gap filling and smoothing.

    Parameters
    ----------
    points
        ``(T, 68, 2)`` float32 px; NaN in frames where the face was not found.
    confidence
        ``(T,)`` float32 in [0, 1]; 0 where not found.
    boxes
        ``(T, 4)`` float32 detection boxes x0, y0, x1, y1 px; NaN where not found.
    timestamps
        ``(T,)`` float64 seconds of each frame from the first one.
    frame_size
        ``(width, height)`` px after display rotation.
    depth
        ``(T, 68)`` float32 px (FAN 3D only), NaN where not found; else None.
    most_faces
        Most faces seen in one frame.
    tiny_px
        Largest face refused as smaller than ``min_face_px`` (0: none).
    """

    points: np.ndarray
    confidence: np.ndarray
    boxes: np.ndarray
    timestamps: np.ndarray
    frame_size: tuple[int, int]
    depth: np.ndarray | None = None
    most_faces: int = 1
    tiny_px: float = 0.0

    @property
    def found(self) -> np.ndarray:
        """``(T,)`` bool, frames where the face was detected."""
        return np.asarray(np.isfinite(self.points).all(axis=(1, 2)))


class LandmarkCache:
    """Raw detections on disk, keyed by video content, detector settings and model files.

    Parameters
    ----------
    root
        Cache folder; default ``cache_dir()/landmarks``. Created on the first write.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "landmarks"

    def path_for(self, video: Path, settings: TrackerSettings, model_id: str) -> Path:
        """Where the entry of this video, these settings and these models lives.

        Raises
        ------
        MediaError
            When the video cannot be read.
        """
        content = hash_media(video).removeprefix("sha256:")
        return self.root / content[:2] / f"{content[:40]}-{_params_hash(settings, model_id)}.npz"

    def load(self, video: Path, settings: TrackerSettings, model_id: str) -> RawTrack | None:
        """The cached detections, or None when absent (or corrupt: then deleted)."""
        path = self.path_for(video, settings, model_id)
        try:
            return _read(path, _params_hash(settings, model_id))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            log.warning("%s: discarding a corrupt landmark cache file (%s)", path, e)
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def store(self, video: Path, settings: TrackerSettings, model_id: str, raw: RawTrack) -> None:
        """Write an entry atomically; an OS error is logged and ignored (it is only a cache)."""
        path = self.path_for(video, settings, model_id)
        params = _params_hash(settings, model_id)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        arrays = {
            "points": raw.points,
            "confidence": raw.confidence,
            "boxes": raw.boxes,
            "timestamps": raw.timestamps,
            "frame_size": np.array(raw.frame_size, dtype=np.int64),
            "stats": np.array([raw.most_faces, raw.tiny_px], dtype=np.float64),
            "meta": np.array(json.dumps({"format": FORMAT, "params": params})),
        }
        if raw.depth is not None:
            arrays["depth"] = raw.depth
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as handle:
                np.savez(handle, allow_pickle=False, **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("%s: cannot write the landmark cache (%s); going on uncached", path, e)


def _params_hash(settings: TrackerSettings, model_id: str) -> str:
    key = {"format": FORMAT, "model": model_id, **settings.detection_key()}
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read(path: Path, params: str) -> RawTrack:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"][()]))
        if meta != {"format": FORMAT, "params": params}:
            raise ValueError("its recorded key does not match")
        arrays = {name: data[name] for name in _ARRAYS}
        depth = data["depth"] if "depth" in data.files else None
    n = len(arrays["timestamps"])
    if arrays["points"].shape != (n, 68, 2) or arrays["confidence"].shape != (n,):
        raise ValueError("array shapes do not match")
    width, height = (int(v) for v in arrays["frame_size"])
    most, tiny = arrays["stats"]
    return RawTrack(
        arrays["points"],
        arrays["confidence"],
        arrays["boxes"],
        arrays["timestamps"],
        (width, height),
        depth,
        int(most),
        float(tiny),
    )
