"""Choosing and loading a landmark backend from the settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.landmarks._fan_files import FAN_2D, FAN_3D, FAN_DEPTH, S3FD, fan_weights_path
from evp_studio.landmarks._settings import TrackerSettings
from evp_studio.landmarks._types import FaceLandmarks, LandmarkBackend
from evp_studio.weights import file_sha256, resolve


def model_files(settings: TrackerSettings) -> dict[str, Path]:
    """The registry names and files the settings' backend loads (nothing is loaded).

    Raises
    ------
    ModelNotFoundError
        When a file is missing, naming it and where to put it.
    ModelChecksumError
        When a bundled file is damaged.
    """
    if settings.backend == "dlib":
        return {"dlib-68": resolve("dlib-68")}
    names = [FAN_3D, FAN_DEPTH] if settings.fan_model == "3d" else [FAN_2D]
    if settings.fan_detector == "sfd":
        names.append(S3FD)
    return {name: fan_weights_path(name) for name in names}


def model_id(files: dict[str, Path]) -> str:
    """Names and sha256 prefixes of model files, e.g. ``"dlib-68:fbdc2cb80eb9aa7a"``."""
    return ",".join(f"{name}:{file_sha256(path)[:16]}" for name, path in files.items())


def load_backend(settings: TrackerSettings) -> LandmarkBackend:
    """Build the backend the settings name.

    Returns
    -------
    LandmarkBackend
        :class:`~evp_studio.landmarks.DlibBackend` or
        :class:`~evp_studio.landmarks.FanBackend`.

    Raises
    ------
    ModelNotFoundError
        When a model file is missing (the message says which and where to put it).
    InvalidInputError
        When a model file is corrupt, naming it.
    """
    if settings.backend == "dlib":
        from evp_studio.landmarks._dlib import DlibBackend  # noqa: PLC0415

        return DlibBackend(model_files(settings)["dlib-68"])
    from evp_studio.landmarks._fan import FanBackend  # noqa: PLC0415 - imports torch

    return FanBackend.load(settings)


def detect_landmarks(
    image: np.ndarray, *, backend: LandmarkBackend, min_face_px: int = 40
) -> list[FaceLandmarks]:
    """68 landmarks of every face in one image, largest face first.

    Parameters
    ----------
    image
        ``(H, W, 3)`` uint8 RGB.
    backend
        A loaded backend (:func:`load_backend`).
    min_face_px
        Faces narrower than this are left out.

    Returns
    -------
    list of FaceLandmarks
        Possibly empty.

    Raises
    ------
    InvalidInputError
        When the image is not ``(H, W, 3)`` uint8.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise InvalidInputError(f"image: expected (H, W, 3) uint8 RGB, got {img.shape} {img.dtype}")
    boxes = [b for b in backend.detect(img, min_size=min_face_px) if b.width >= min_face_px]
    boxes.sort(key=lambda b: -b.width * b.height)
    return [backend.landmarks(img, b) for b in boxes]
