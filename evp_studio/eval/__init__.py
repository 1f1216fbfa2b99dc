"""Evaluation: the paper's metrics (sec. 4.1) and folder reports.

Public API::

    # landmarks (LD / LVD, px of a face with 100 px between the outer eye corners)
    similarity_align(src, dst, *, points=RIGID_POINTS) -> (T, 68, 2)
    normalise_face(landmarks, *, face_size=FACE_SIZE_PX) -> (T, 68, 2)
    align_pair(pred, gt) -> (pred_aligned, gt_normalised)
    landmark_distance(pred, gt, region="mouth" | "face", *, align=True) -> float
    landmark_velocity_distance(pred, gt, region, *, align=True) -> float
    # frames
    psnr(a, b, *, data_range=255), psnr_frames(a, b, ...); ssim(a, b, ...), ssim_frames(a, b, ...)
    # FID
    frechet_distance(mu1, cov1, mu2, cov2), gaussian_stats(features)
    fid(pred_frames, gt_frames, extractor="dlib-face") -> float
    fid_from_features(pred_features, gt_features, *, extractor="") -> FidResult
    FeatureExtractor (protocol), get_extractor(name), register_extractor(name, factory),
    extractor_names(), PixelExtractor
    # emotion accuracy (imports torch on first use)
    EmotionClassifier (.predict, .save, .load), EmotionClassifierConfig, TrainReport,
    train_emotion_classifier(sequences, labels, *, seed, epochs, ...)
    # folders
    evaluate_dirs(pred_dir, gt_dir, *, extractor, classifier, landmarks_source) -> EvalReport
    evaluate_dirs_job(...) -> Job[EvalReport]; COLUMNS
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from evp_studio.eval.fid import (
    FeatureExtractor,
    FidResult,
    PixelExtractor,
    extractor_names,
    fid,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    get_extractor,
    register_extractor,
)
from evp_studio.eval.image import psnr, psnr_frames, ssim, ssim_frames
from evp_studio.eval.landmarks import (
    FACE_POINTS,
    FACE_SIZE_PX,
    MOUTH_POINTS,
    RIGID_POINTS,
    align_pair,
    landmark_distance,
    landmark_velocity_distance,
    normalise_face,
    similarity_align,
)
from evp_studio.eval.report import (
    COLUMNS,
    ClipResult,
    EvalReport,
    evaluate_dirs,
    evaluate_dirs_job,
)

if TYPE_CHECKING:
    from evp_studio.eval.emotion_classifier import (
        EmotionClassifier,
        EmotionClassifierConfig,
        TrainReport,
        train_emotion_classifier,
    )

# torch loads only when these are first used (the UI must start without it)
_LAZY = frozenset(
    {"EmotionClassifier", "EmotionClassifierConfig", "TrainReport", "train_emotion_classifier"}
)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module("evp_studio.eval.emotion_classifier"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLUMNS",
    "FACE_POINTS",
    "FACE_SIZE_PX",
    "MOUTH_POINTS",
    "RIGID_POINTS",
    "ClipResult",
    "EmotionClassifier",
    "EmotionClassifierConfig",
    "EvalReport",
    "FeatureExtractor",
    "FidResult",
    "PixelExtractor",
    "TrainReport",
    "align_pair",
    "evaluate_dirs",
    "evaluate_dirs_job",
    "extractor_names",
    "fid",
    "fid_from_features",
    "frechet_distance",
    "gaussian_stats",
    "get_extractor",
    "landmark_distance",
    "landmark_velocity_distance",
    "normalise_face",
    "psnr",
    "psnr_frames",
    "register_extractor",
    "similarity_align",
    "ssim",
    "ssim_frames",
    "train_emotion_classifier",
]
