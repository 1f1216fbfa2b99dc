"""The ``dlib`` backend: HOG face detector + the iBUG 68-point shape predictor (offline).

The predictor file is the registry's ``"dlib-68"`` (shipped in the pinned
face-recognition-models package, or the user's own copy in the models folder). The package's
``__init__`` imports ``pkg_resources``, which current setuptools no longer has, so its folder
is found through the import machinery without importing it.

dlib returns whole-pixel points; faces narrower than ``_PREDICT_SIZE`` are therefore fitted in
an upscaled crop, which keeps that rounding under a quarter pixel of the frame.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np

from evp_studio.errors import InvalidInputError, ModelNotFoundError
from evp_studio.landmarks._types import FaceBox, FaceLandmarks
from evp_studio.weights import file_sha256, resolve

_PACKAGE = "face_recognition_models"
_DETECT_MIN_SIDE = 200  # px; smaller frames are upsampled once by the detector's pyramid
_HOG_MIN_FACE = 80.0  # px, the HOG window: smaller faces need the image upsampled
_PREDICT_SIZE = 240.0  # px, faces narrower than this are fitted in an upscaled crop
_MAX_UPSCALE = 4.0


def dlib_model_path(name: str) -> Path:
    """Return the path of one of face-recognition-models' ``.dat`` files.

    Parameters
    ----------
    name
        File name, e.g. ``"dlib_face_recognition_resnet_model_v1.dat"``.

    Returns
    -------
    Path
        The existing file.

    Raises
    ------
    ModelNotFoundError
        When the package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "models" / name
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"{name}: not found in the {_PACKAGE} package (install face-recognition-models==0.3.0)"
    )


def largest_face(detector: Any, image: np.ndarray) -> Any | None:
    """The largest ``dlib.rectangle`` the HOG ``detector`` finds in an RGB image, or None.

    Frames under 200 px on their short side are searched at twice their size, as dlib's
    HOG detector misses faces smaller than about 80 px.
    """
    upsample = 0 if min(image.shape[:2]) >= _DETECT_MIN_SIDE else 1
    faces = list(detector(image, upsample))
    return max(faces, key=lambda r: r.area()) if faces else None


def load_shape_predictor(path: Path) -> Any:
    """Load a dlib shape predictor, turning dlib's error into one naming the file.

    Raises
    ------
    InvalidInputError
        When the file is not a dlib shape predictor (truncated, corrupt, another format).
    """
    try:
        return dlib.shape_predictor(str(path))
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInputError(
            f"{path}: not a usable dlib 68-point shape predictor ({reason}); replace it "
            "(`evp-studio models install dlib-68 FILE`) or delete it to use the bundled one"
        ) from e


def hog_upsample(min_size: float) -> int:
    """Pyramid upsampling dlib's HOG detector needs to see faces of ``min_size`` px."""
    if min_size >= _HOG_MIN_FACE:
        return 0
    return 1 if min_size >= _HOG_MIN_FACE / 2 else 2


def hog_faces(detector: Any, image: np.ndarray, min_size: float) -> list[FaceBox]:
    """Faces the HOG ``detector`` finds in an RGB image, with their detection margins."""
    rects, scores, _ = detector.run(image, hog_upsample(min_size), 0.0)
    return [
        FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s))
        for r, s in zip(rects, scores)
    ]


class DlibBackend:
    """dlib HOG detection and 68-point shape prediction.

    ``confidence`` is ``1 - exp(-margin)`` of the HOG detection the points were fitted in
    (0 at the detector's threshold, 0.78 at a typical frontal face's margin of 1.5).

    Parameters
    ----------
    model_path
        A shape predictor file; None resolves the registry's ``"dlib-68"``.

    Raises
    ------
    ModelNotFoundError
        When no predictor file is found (the message says where it was looked for).
    InvalidInputError
        When the file is corrupt, naming it.
    """

    name = "dlib"
    has_depth = False

    def __init__(self, model_path: Path | None = None) -> None:
        path = resolve("dlib-68") if model_path is None else Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"{path}: dlib shape predictor file not found")
        self._predictor = load_shape_predictor(path)
        self._detector = dlib.get_frontal_face_detector()
        self.model_path = path
        self.model_id = f"dlib-68:{file_sha256(path)[:16]}"  # as _backends.model_id

    def detect(self, image: np.ndarray, *, min_size: float) -> list[FaceBox]:
        """Faces in an ``(H, W, 3)`` uint8 RGB image (see :class:`LandmarkBackend`)."""
        return hog_faces(self._detector, np.ascontiguousarray(image), min_size)

    def landmarks(self, image: np.ndarray, box: FaceBox) -> FaceLandmarks:
        """Fit the 68 points in ``box`` (see :class:`LandmarkBackend`)."""
        k = min(_MAX_UPSCALE, _PREDICT_SIZE / max(box.width, 1.0))
        if k > 1.05:
            points = self._fit_upscaled(image, box, k)
        else:
            points = self._fit(np.ascontiguousarray(image), box)
        confidence = 1.0 - math.exp(-max(box.score, 0.0))
        return FaceLandmarks(points.astype(np.float32), confidence, box)

    def _fit(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        rect = dlib.rectangle(round(box.x0), round(box.y0), round(box.x1) - 1, round(box.y1) - 1)
        shape = self._predictor(image, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def _fit_upscaled(self, image: np.ndarray, box: FaceBox, k: float) -> np.ndarray:
        h, w = image.shape[:2]
        margin = 0.4 * max(box.width, box.height)
        x0, y0 = max(0, math.floor(box.x0 - margin)), max(0, math.floor(box.y0 - margin))
        x1, y1 = min(w, math.ceil(box.x1 + margin)), min(h, math.ceil(box.y1 + margin))
        crop = cv2.resize(image[y0:y1, x0:x1], None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR)
        # the crop's pixel centres: x_crop = (x - x0 + 0.5) * k - 0.5
        inner = box.mapped(k, (0.5 - x0) * k - 0.5, (0.5 - y0) * k - 0.5)
        pts = self._fit(np.ascontiguousarray(crop), inner)
        return (pts + 0.5) / k - 0.5 + np.array([x0, y0])
