"""Where the offline dlib model files of the pinned face-recognition-models package lie.

The package's ``__init__`` imports ``pkg_resources``, which current setuptools no longer has,
so its folder is found through the import machinery without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from evp_studio.errors import ModelNotFoundError

_PACKAGE = "face_recognition_models"
_DETECT_MIN_SIDE = 200  # px; smaller frames are upsampled once by the detector's pyramid


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
