"""Face landmarks: detector backends, tracking one face through a clip, smoothing, normalisation.

Backends (:class:`TrackerSettings` ``backend``): ``"dlib"`` (HOG + the iBUG 68-point shape
predictor shipped in face-recognition-models; offline, the default) and ``"fan"``
(face-alignment's FAN 2D/3D with S3FD boxes; its weights must be in the user's models folder
or face-alignment's cache, nothing is downloaded).

Public API::

    track_landmarks(video, *, settings=TrackerSettings(), cache=None, use_cache=True,
                    backend=None, cancel=None) -> Job[LandmarkTrack]
    cached_track(video, *, settings=TrackerSettings(), cache=None) -> LandmarkTrack | None
    finish_track(raw, settings, *, backend) -> LandmarkTrack
    LandmarkTrack(...).save_npz(path); .arrays(); .detection_rate
    TrackerSettings(backend="dlib", ...); .to_dict(); TrackerSettings.from_dict(d)
    load_backend(settings) -> LandmarkBackend; model_files(settings) -> {name: Path}
    detect_landmarks(image, *, backend, min_face_px=40) -> list[FaceLandmarks]
    LandmarkCache(root=None).load / .store / .path_for
    one_euro(points, timestamps, *, min_cutoff, beta, d_cutoff, unit=1.0)
    fill_gaps(points, found, timestamps, *, max_gap)
    normalise_landmarks(points) -> (points_norm, similarity); MEAN_FACE_2D
    estimate_pose(points) -> (T, 6) yaw, pitch, roll deg, tx, ty px, scale px/mm
    dlib_model_path(name); largest_face(detector, image)      (shared with evp_studio.eval)
    fan_weights_path(name); check_fan_weights(path); heatmap_points(heatmaps)
"""

from evp_studio.landmarks._backends import detect_landmarks, load_backend, model_files
from evp_studio.landmarks._cache import LandmarkCache, RawTrack
from evp_studio.landmarks._dlib import DlibBackend, dlib_model_path, largest_face
from evp_studio.landmarks._fan import FanBackend, HogBoxes, SfdDetector, heatmap_points
from evp_studio.landmarks._fan_files import check_fan_weights, fan_weights_path
from evp_studio.landmarks._scan import NoFaceError
from evp_studio.landmarks._settings import BACKENDS, TrackerSettings
from evp_studio.landmarks._shape import (
    MEAN_FACE_2D,
    estimate_pose,
    normalise_landmarks,
    similarity_to_mean,
)
from evp_studio.landmarks._smooth import fill_gaps, one_euro
from evp_studio.landmarks._track import (
    POSE_COLUMNS,
    LandmarkTrack,
    cached_track,
    finish_track,
    track_landmarks,
)
from evp_studio.landmarks._tracker import FaceTracker
from evp_studio.landmarks._types import FaceBox, FaceLandmarks, LandmarkBackend

__all__ = [
    "BACKENDS",
    "MEAN_FACE_2D",
    "POSE_COLUMNS",
    "DlibBackend",
    "FaceBox",
    "FaceLandmarks",
    "FaceTracker",
    "FanBackend",
    "HogBoxes",
    "LandmarkBackend",
    "LandmarkCache",
    "LandmarkTrack",
    "NoFaceError",
    "RawTrack",
    "SfdDetector",
    "TrackerSettings",
    "cached_track",
    "check_fan_weights",
    "detect_landmarks",
    "dlib_model_path",
    "estimate_pose",
    "fan_weights_path",
    "fill_gaps",
    "finish_track",
    "heatmap_points",
    "largest_face",
    "load_backend",
    "model_files",
    "normalise_landmarks",
    "one_euro",
    "similarity_to_mean",
    "track_landmarks",
]
