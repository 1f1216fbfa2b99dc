"""Fréchet distance between feature distributions (FID) with pluggable feature networks.

FID (Heusel et al. 2017, the paper's [17]) fits a Gaussian to the features of each frame set
and reports ``|mu1 - mu2|^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2))``. Its value depends entirely
on the feature network, so every result names it. Inception-v3 weights cannot be fetched
offline, so the default network is dlib's face-recognition ResNet (``"dlib-face"``, see
:mod:`evp_studio.eval._dlib_face`), a real pretrained face network whose embedding measures
what a talking-face FID is about: does it look like a real face of this person. Its numbers
are NOT comparable with Inception-FID values such as the paper's Table 1.

Extractors follow :class:`FeatureExtractor` and are made by name from a registry
(:func:`get_extractor`, :func:`register_extractor`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from evp_studio.errors import InvalidInputError

log = logging.getLogger(__name__)

PIXELS_SIDE = 32  # "pixels" features: 32x32 grey


class FeatureExtractor(Protocol):
    """A feature network for FID.

    Attributes
    ----------
    name
        Registry name, reported with every FID value.
    dim
        Feature length.
    no_face_frames
        Frames, since construction, in which no face was found and a fallback crop was
        used (always 0 for extractors that do not look for faces).
    """

    name: str
    dim: int
    no_face_frames: int

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Map ``(N, H, W, 3)`` uint8 RGB frames to ``(N, dim)`` float64 features."""
        ...


class PixelExtractor:
    """Trivial features for tests and quick runs: the frame as 32x32 grey, in [0, 1]."""

    name = "pixels"
    dim = PIXELS_SIDE * PIXELS_SIDE

    def __init__(self) -> None:
        self.no_face_frames = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Map ``(N, H, W, 3)`` uint8 RGB frames to ``(N, 1024)`` float64 features."""
        frames = check_frames(frames, "frames")
        grey = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        small = [
            cv2.resize(g, (PIXELS_SIDE, PIXELS_SIDE), interpolation=cv2.INTER_AREA) for g in grey
        ]
        return np.stack(small).reshape(len(small), -1).astype(np.float64) / 255.0


def _make_dlib_face() -> FeatureExtractor:
    from evp_studio.eval._dlib_face import DlibFaceExtractor  # noqa: PLC0415 - loads models

    return DlibFaceExtractor()


_REGISTRY: dict[str, Callable[[], FeatureExtractor]] = {
    "dlib-face": _make_dlib_face,
    "pixels": PixelExtractor,
}


def register_extractor(name: str, factory: Callable[[], FeatureExtractor]) -> None:
    """Make ``get_extractor(name)`` build an extractor with ``factory()`` (replaces any)."""
    _REGISTRY[name] = factory


def extractor_names() -> tuple[str, ...]:
    """Names :func:`get_extractor` accepts, sorted."""
    return tuple(sorted(_REGISTRY))


def get_extractor(name: str) -> FeatureExtractor:
    """Build the extractor registered as ``name``.

    Raises
    ------
    InvalidInputError
        When no extractor has that name.
    """
    if name not in _REGISTRY:
        raise InvalidInputError(
            f"FID feature network {name!r} is not one of {', '.join(extractor_names())}"
        )
    return _REGISTRY[name]()


def check_frames(frames: np.ndarray, name: str) -> np.ndarray:
    """Check ``(N, H, W, 3)`` uint8 frames; raise InvalidInputError naming ``name``."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise InvalidInputError(
            f"{name}: frames are {arr.shape} {arr.dtype}, expected (N, H, W, 3) uint8"
        )
    return arr


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (N - 1 normalised) of ``(N, d)`` features."""
    feats = np.asarray(features, dtype=np.float64)
    return feats.mean(axis=0), np.cov(feats, rowvar=False).reshape(feats.shape[1], -1)


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2).

    ``Tr((C1 C2)^(1/2))`` is computed as the sum of the square roots of the eigenvalues of
    the symmetric PSD matrix ``C1^(1/2) C2 C1^(1/2)``, which has the same spectrum as
    ``C1 C2``: no complex parts arise and rank-deficient covariances (fewer samples than
    dimensions) need no ``eps * I`` ridge; eigenvalues below 0 from round-off are clipped.

    Parameters
    ----------
    mu1, mu2
        ``(d,)`` means.
    cov1, cov2
        ``(d, d)`` symmetric PSD covariances.

    Returns
    -------
    float
        >= 0, in squared feature units.

    Raises
    ------
    InvalidInputError
        When the shapes do not match or a value is not finite.
    """
    m1, m2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    c1, c2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    d = m1.shape[0] if m1.ndim == 1 else -1
    if m1.shape != (d,) or m2.shape != (d,) or c1.shape != (d, d) or c2.shape != (d, d):
        raise InvalidInputError(
            f"Fréchet distance needs (d,) means and (d, d) covariances, got "
            f"{m1.shape}, {c1.shape}, {m2.shape}, {c2.shape}"
        )
    if not all(np.isfinite(x).all() for x in (m1, m2, c1, c2)):
        raise InvalidInputError("Fréchet distance: means or covariances are not finite")
    s1 = _psd_sqrt(c1)
    w = np.linalg.eigvalsh(s1 @ c2 @ s1)
    tr_covmean = float(np.sqrt(np.clip(w, 0.0, None)).sum())
    value = float(((m1 - m2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2.0 * tr_covmean)
    return max(value, 0.0)


@dataclass(frozen=True)
class FidResult:
    """An FID value with what it rests on.

    Attributes
    ----------
    value
        The Fréchet distance, squared feature units.
    extractor
        Feature network name.
    dim
        Feature length.
    n_pred, n_gt
        Frames in each set.
    biased
        True when a set has fewer frames than ``dim``: its covariance is rank-deficient and
        FID is biased upwards (compare such values only at equal frame counts).
    """

    value: float
    extractor: str
    dim: int
    n_pred: int
    n_gt: int
    biased: bool


def fid_from_features(
    pred_features: np.ndarray, gt_features: np.ndarray, *, extractor: str = ""
) -> FidResult:
    """FID between two ``(N, d)`` feature sets.

    Raises
    ------
    InvalidInputError
        When a set has fewer than 2 rows or the feature lengths differ.
    """
    p, g = np.asarray(pred_features, np.float64), np.asarray(gt_features, np.float64)
    if p.ndim != 2 or g.ndim != 2 or p.shape[1] != g.shape[1]:
        raise InvalidInputError(f"FID features have shapes {p.shape} and {g.shape}")
    if min(len(p), len(g)) < 2:
        raise InvalidInputError(
            f"FID needs at least 2 frames in each set, got {len(p)} predicted and {len(g)} "
            "ground-truth"
        )
    dim = p.shape[1]
    biased = min(len(p), len(g)) < dim
    if biased:
        log.warning(
            "FID on %d/%d frames with %d-d features is biased upwards (fewer frames than "
            "dimensions)",
            len(p),
            len(g),
            dim,
        )
    value = frechet_distance(*gaussian_stats(p), *gaussian_stats(g))
    return FidResult(value, extractor, dim, len(p), len(g), biased)


def fid(
    pred_frames: np.ndarray, gt_frames: np.ndarray, extractor: FeatureExtractor | str = "dlib-face"
) -> float:
    """FID between two frame sets, ``(N, H, W, 3)`` uint8 RGB each (N >= 2).

    Parameters
    ----------
    pred_frames, gt_frames
        Generated and real frames; the counts may differ.
    extractor
        A :class:`FeatureExtractor` or a registry name.

    Returns
    -------
    float
        FID in the extractor's squared feature units.

    Raises
    ------
    InvalidInputError
        When the frames are not uint8 RGB or a set has fewer than 2 frames.
    """
    net = get_extractor(extractor) if isinstance(extractor, str) else extractor
    pred = net(check_frames(pred_frames, "pred"))
    gt = net(check_frames(gt_frames, "gt"))
    return fid_from_features(pred, gt, extractor=net.name).value
