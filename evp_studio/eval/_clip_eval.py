"""Metrics of one clip pair: one streaming pass over the two videos, then the landmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from evp_studio.eval._clips import ClipPair, label_from_key, load_landmarks
from evp_studio.eval._detect import LandmarkDetector, fill_missing
from evp_studio.eval.fid import FeatureExtractor
from evp_studio.eval.image import psnr_frames, ssim_frames
from evp_studio.eval.landmarks import align_pair, landmark_distance, landmark_velocity_distance
from evp_studio.media import VideoReader

LandmarksSource = Literal["npz", "detect", "auto"]
_CHUNK = 16  # frames decoded and scored at once


@dataclass
class ClipResult:
    """Metrics of one clip; None where a metric could not be computed (see ``notes``).

    Attributes
    ----------
    key
        Relative path without suffix.
    image_frames, landmark_frames
        Frames compared for SSIM/PSNR and for LD/LVD (the common prefix).
    m_ld, m_lvd, f_ld, f_lvd
        px (LVD: px/frame) of a 100 px outer-eye-corner face.
    ssim
        Mean per-frame SSIM.
    psnr
        Mean per-frame PSNR over frames that differ from the ground truth, dB; ``inf`` when
        every frame is identical.
    identical_frames
        Frames identical to the ground truth (infinite PSNR, left out of the PSNR mean).
    label, predicted, predicted_gt
        Emotion index of the clip, and the classifier's answer on the predicted and on the
        ground-truth landmarks.
    filled_frames
        With detected landmarks: frames without a face, filled from the nearest one.
    notes
        Why a metric is missing, or what to know about it.
    """

    key: str
    image_frames: int = 0
    landmark_frames: int = 0
    m_ld: float | None = None
    m_lvd: float | None = None
    f_ld: float | None = None
    f_lvd: float | None = None
    ssim: float | None = None
    psnr: float | None = None
    identical_frames: int = 0
    label: int | None = None
    predicted: int | None = None
    predicted_gt: int | None = None
    filled_frames: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _VideoPass:
    """What the pass over the two videos gave."""

    ssim: list[np.ndarray] = field(default_factory=list)
    psnr: list[np.ndarray] = field(default_factory=list)
    feats_pred: list[np.ndarray] = field(default_factory=list)
    feats_gt: list[np.ndarray] = field(default_factory=list)
    marks_pred: list[np.ndarray | None] = field(default_factory=list)
    marks_gt: list[np.ndarray | None] = field(default_factory=list)


def _score_chunk(
    run: _VideoPass,
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    same_size: bool,
    extractor: FeatureExtractor | None,
    detector: LandmarkDetector | None,
) -> None:
    if same_size:
        run.ssim.append(ssim_frames(pred, gt))
        run.psnr.append(psnr_frames(pred, gt))
    if extractor is not None:
        run.feats_pred.append(extractor(pred))
        run.feats_gt.append(extractor(gt))
    if detector is not None:
        run.marks_pred += [detector(f) for f in pred]
        run.marks_gt += [detector(f) for f in gt]


def _video_pass(
    pair: ClipPair,
    result: ClipResult,
    *,
    extractor: FeatureExtractor | None,
    detector: LandmarkDetector | None,
) -> _VideoPass:
    """Decode both videos in step over their common prefix, scoring chunk by chunk."""
    run = _VideoPass()
    assert pair.pred.video is not None and pair.gt.video is not None
    with VideoReader(pair.pred.video) as rp, VideoReader(pair.gt.video) as rg:
        n = min(rp.frame_count, rg.frame_count)
        if rp.frame_count != rg.frame_count:
            result.notes.append(
                f"videos have {rp.frame_count} (pred) and {rg.frame_count} (gt) frames; "
                f"the first {n} are compared"
            )
        (wp, hp), (wg, hg) = rp.info.display_size, rg.info.display_size
        same_size = (wp, hp) == (wg, hg)
        if not same_size:
            result.notes.append(f"frame sizes differ (pred {wp}x{hp}, gt {wg}x{hg}): no SSIM/PSNR")
        frames = zip(rp.iter_frames(0, n), rg.iter_frames(0, n), strict=True)
        while chunk := [pg for _, pg in zip(range(_CHUNK), frames, strict=False)]:
            pred = np.stack([p for p, _ in chunk])
            gt = np.stack([g for _, g in chunk])
            _score_chunk(run, pred, gt, same_size=same_size, extractor=extractor, detector=detector)
        result.image_frames = n if same_size else 0
    return run


def _pick_landmarks(
    path: Path | None, detected: list[np.ndarray | None], source: LandmarksSource
) -> tuple[np.ndarray | None, int | None, int]:
    """Landmarks of one side: ``(landmarks or None, label or None, frames filled)``."""
    if path is not None and source in ("npz", "auto"):
        marks, label = load_landmarks(path)
        return marks, label, 0
    if source in ("detect", "auto") and detected:
        held, filled = fill_missing(detected)
        return held, None, filled
    return None, None, 0


def _landmark_metrics(result: ClipResult, pred: np.ndarray, gt: np.ndarray) -> None:
    n = min(len(pred), len(gt))
    if len(pred) != len(gt):
        result.notes.append(
            f"landmarks have {len(pred)} (pred) and {len(gt)} (gt) frames; the first {n} "
            "are compared"
        )
    p, g = align_pair(pred[:n], gt[:n])
    result.landmark_frames = n
    result.m_ld = landmark_distance(p, g, "mouth", align=False)
    result.f_ld = landmark_distance(p, g, "face", align=False)
    if n >= 2:
        result.m_lvd = landmark_velocity_distance(p, g, "mouth", align=False)
        result.f_lvd = landmark_velocity_distance(p, g, "face", align=False)
    else:
        result.notes.append("one frame of landmarks: no LVD")


class EmotionPredictor(Protocol):
    """Anything with the :class:`~evp_studio.eval.EmotionClassifier` ``predict``."""

    def predict(self, sequence: np.ndarray) -> np.ndarray:
        """``(8,)`` class probabilities of a ``(T, 68, 2)`` px landmark sequence."""
        ...


@dataclass
class ClipEvaluation:
    """A clip's metrics and its FID features (pooled over clips by the caller)."""

    result: ClipResult
    feats_pred: np.ndarray | None
    feats_gt: np.ndarray | None


def evaluate_clip(
    pair: ClipPair,
    *,
    extractor: FeatureExtractor | None,
    source: LandmarksSource,
    classifier: EmotionPredictor | None,
    detector: LandmarkDetector | None,
) -> ClipEvaluation:
    """Every metric of one clip pair that its files allow.

    Raises
    ------
    InvalidInputError
        When a file of the clip cannot be read (the caller skips the clip).
    """
    result = ClipResult(pair.key)
    run = _VideoPass()
    if pair.pred.video is not None and pair.gt.video is not None:
        needs_detect = source == "detect" or (
            source == "auto" and (pair.pred.landmarks is None or pair.gt.landmarks is None)
        )
        run = _video_pass(
            pair, result, extractor=extractor, detector=detector if needs_detect else None
        )
    else:
        result.notes.append("a video is missing: no SSIM/PSNR/FID")
    if run.ssim:
        ssim_all, psnr_all = np.concatenate(run.ssim), np.concatenate(run.psnr)
        finite = psnr_all[np.isfinite(psnr_all)]
        result.ssim = float(ssim_all.mean())
        result.psnr = float(finite.mean()) if finite.size else float("inf")
        result.identical_frames = int(psnr_all.size - finite.size)
    pred, label_p, filled_p = _pick_landmarks(pair.pred.landmarks, run.marks_pred, source)
    gt, label_g, filled_g = _pick_landmarks(pair.gt.landmarks, run.marks_gt, source)
    result.filled_frames = filled_p + filled_g
    if pred is not None and gt is not None:
        _landmark_metrics(result, pred, gt)
    else:
        result.notes.append(f"no landmarks for {'pred' if pred is None else 'gt'}: no LD/LVD")
    result.label = next((x for x in (label_g, label_p) if x is not None), label_from_key(pair.key))
    if classifier is not None:
        if pred is not None:
            result.predicted = int(np.argmax(classifier.predict(pred)))
        if gt is not None:
            result.predicted_gt = int(np.argmax(classifier.predict(gt)))
    return ClipEvaluation(
        result,
        np.concatenate(run.feats_pred) if run.feats_pred else None,
        np.concatenate(run.feats_gt) if run.feats_gt else None,
    )
