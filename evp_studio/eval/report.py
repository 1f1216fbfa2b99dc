"""Evaluate a folder of generated clips against a folder of ground-truth clips.

Clips are matched by relative path (see :mod:`evp_studio.eval._clips`). For every pair the
metrics its files allow are computed (:mod:`evp_studio.eval._clip_eval`); the folder's
values pool all frames: LD, SSIM and PSNR are means over every compared frame of every clip
(clip values weighted by frame count), LVD over every velocity step, FID over all frames of
all clips at once, emotion accuracy over the clips with a label.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.eval._clip_eval import (
    ClipEvaluation,
    ClipResult,
    EmotionPredictor,
    LandmarksSource,
    evaluate_clip,
)
from evp_studio.eval._clips import match_clips
from evp_studio.eval._detect import LandmarkDetector
from evp_studio.eval._report_format import COLUMNS, report_to_dict, report_to_markdown
from evp_studio.eval.fid import FeatureExtractor, FidResult, fid_from_features, get_extractor
from evp_studio.jobs import CancelToken, Job, Progress, run_job

log = logging.getLogger(__name__)

_SOURCES = ("npz", "detect", "auto")


@dataclass
class EvalReport:
    """Metrics of a prediction folder against a ground-truth folder.

    Attributes
    ----------
    pred_dir, gt_dir
        The folders.
    metrics
        Column (:data:`COLUMNS`) -> pooled value, None when it cannot be computed; PSNR is
        ``inf`` when every compared frame is identical to the ground truth.
    notes
        Column -> why it is missing, or what to know about its value.
    clips
        Per-clip results, by key.
    skipped
        Keys of the clips left out: no counterpart in the other folder, or a file of the
        clip could not be read.
    warnings
        Why each skipped clip was skipped, and what to know about the others (frame counts
        that differ, ...), one line each.
    fid
        The FID value with its frame counts and feature network, or None.
    fid_no_face_frames
        Frames the FID feature network found no face in (a fallback crop was used).
    emotion_accuracy_gt
        The classifier's accuracy on the ground-truth landmarks, %, a reference for the
        predicted clips' value (None without a classifier or labels).
    settings
        How the evaluation was run (feature network, landmark source, units).
    """

    pred_dir: str
    gt_dir: str
    metrics: dict[str, float | None]
    notes: dict[str, str] = field(default_factory=dict)
    clips: list[ClipResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fid: FidResult | None = None
    fid_no_face_frames: int = 0
    emotion_accuracy_gt: float | None = None
    settings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict; non-finite numbers become null with a note."""
        return report_to_dict(self)

    def to_json(self) -> str:
        """The report as indented JSON (no NaN or Infinity tokens)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)

    def to_markdown(self) -> str:
        """The paper-style table with a units line and footnotes, then per-clip rows."""
        return report_to_markdown(self)


def _weighted(pairs: Sequence[tuple[float | None, int]]) -> float | None:
    kept = [(v, w) for v, w in pairs if v is not None and w > 0]
    if not kept:
        return None
    values, weights = np.array(kept).T
    return float((values * weights).sum() / weights.sum())


def _landmark_columns(report: EvalReport, clips: list[ClipResult]) -> None:
    m, n = report.metrics, report.notes
    for name, attr, lvd in (
        ("M-LD", "m_ld", False),
        ("M-LVD", "m_lvd", True),
        ("F-LD", "f_ld", False),
        ("F-LVD", "f_lvd", True),
    ):
        m[name] = _weighted([(getattr(c, attr), c.landmark_frames - lvd) for c in clips])
        if m[name] is None:
            n[name] = (
                "no clip has at least 2 frames of landmarks"
                if lvd and any(c.m_ld is not None for c in clips)
                else "no clip has landmarks on both sides (.npz with 'landmarks' or 'lmk2d', "
                "or detect them from the videos)"
            )
    filled = sum(c.filled_frames for c in clips)
    if filled:
        n["M-LD"] = f"{filled} frame(s) without a detected face took the nearest frame's landmarks"


def _image_columns(report: EvalReport, clips: list[ClipResult]) -> None:
    m, n = report.metrics, report.notes
    m["SSIM"] = _weighted([(c.ssim, c.image_frames) for c in clips])
    finite = [(c.psnr, c.image_frames - c.identical_frames) for c in clips]
    m["PSNR"] = _weighted([(v, w) for v, w in finite if v is not None and np.isfinite(v)])
    identical = sum(c.identical_frames for c in clips)
    compared = sum(c.image_frames for c in clips)
    if m["SSIM"] is None:
        n["SSIM"] = n["PSNR"] = "no clip has videos of the same frame size on both sides"
    elif m["PSNR"] is None:
        m["PSNR"] = float("inf")
        n["PSNR"] = "every compared frame is identical to the ground truth (infinite PSNR)"
    elif identical:
        n["PSNR"] = (
            f"{identical} of {compared} frames are identical to the ground truth (infinite "
            "PSNR) and are left out of the mean"
        )


def _fid_column(
    report: EvalReport, evals: list[ClipEvaluation], extractor: FeatureExtractor
) -> None:
    pred = [e.feats_pred for e in evals if e.feats_pred is not None]
    gt = [e.feats_gt for e in evals if e.feats_gt is not None]
    n_pred, n_gt = sum(len(x) for x in pred), sum(len(x) for x in gt)
    if min(n_pred, n_gt) < 2:
        report.metrics["FID"] = None
        report.notes["FID"] = f"needs at least 2 frames with video on both sides, got {n_pred}"
        return
    result = fid_from_features(np.concatenate(pred), np.concatenate(gt), extractor=extractor.name)
    report.fid, report.metrics["FID"] = result, result.value
    report.fid_no_face_frames = extractor.no_face_frames
    parts = []
    if result.biased:
        parts.append(
            f"biased upwards: {min(n_pred, n_gt)} frames < {result.dim} feature dimensions"
        )
    if extractor.no_face_frames:
        parts.append(
            f"no face found in {extractor.no_face_frames} of {n_pred + n_gt} frames "
            "(their centred crops were used)"
        )
    if parts:
        report.notes["FID"] = "; ".join(parts)


def _emotion_column(
    report: EvalReport, clips: list[ClipResult], classifier: EmotionPredictor | None
) -> None:
    labelled = [c for c in clips if c.label is not None]
    scored = [c for c in labelled if c.predicted is not None]
    if classifier is None:
        reason = "no emotion classifier given"
    elif not labelled:
        reason = "no clip has an emotion label (MEAD-layout path or 'label' in its .npz)"
    elif not scored:
        reason = "no labelled clip has predicted landmarks to classify"
    else:
        report.metrics["Emotion acc."] = 100.0 * float(
            np.mean([c.predicted == c.label for c in scored])
        )
        on_gt = [c for c in labelled if c.predicted_gt is not None]
        if on_gt:
            report.emotion_accuracy_gt = 100.0 * float(
                np.mean([c.predicted_gt == c.label for c in on_gt])
            )
        return
    report.metrics["Emotion acc."] = None
    report.notes["Emotion acc."] = reason


def _resolve_classifier(
    classifier: EmotionPredictor | str | Path | None,
) -> EmotionPredictor | None:
    if classifier is None or not isinstance(classifier, (str, Path)):
        return classifier
    from evp_studio.eval.emotion_classifier import EmotionClassifier  # noqa: PLC0415 - torch

    return EmotionClassifier.load(classifier)


def evaluate_dirs_job(
    pred_dir: str | Path,
    gt_dir: str | Path,
    *,
    extractor: str | FeatureExtractor = "dlib-face",
    classifier: EmotionPredictor | str | Path | None = None,
    landmarks_source: LandmarksSource = "npz",
) -> Job[EvalReport]:
    """:func:`evaluate_dirs` as a job: yields one :class:`Progress` per clip."""
    if landmarks_source not in _SOURCES:
        raise InvalidInputError(
            f"landmark source {landmarks_source!r} is not one of {', '.join(_SOURCES)}"
        )
    pred_path, gt_path = Path(pred_dir), Path(gt_dir)
    pairs, skipped = match_clips(pred_path, gt_path)
    net = get_extractor(extractor) if isinstance(extractor, str) else extractor
    predictor = _resolve_classifier(classifier)
    detector = LandmarkDetector() if landmarks_source != "npz" else None
    evals: list[ClipEvaluation] = []
    for i, pair in enumerate(pairs):
        yield Progress(f"Evaluating {pair.key}", i, len(pairs))
        try:
            evals.append(
                evaluate_clip(
                    pair,
                    extractor=net,
                    source=landmarks_source,
                    classifier=predictor,
                    detector=detector,
                )
            )
        except InvalidInputError as e:
            skipped.append((pair.key, str(e)))
    for key, reason in skipped:
        log.warning("%s: %s; skipped", key, reason)
    yield Progress("Pooling", len(pairs), len(pairs))
    return _build_report(pred_path, gt_path, evals, skipped, net, predictor, landmarks_source)


def _build_report(
    pred_dir: Path,
    gt_dir: Path,
    evals: list[ClipEvaluation],
    skipped: list[tuple[str, str]],
    net: FeatureExtractor,
    classifier: EmotionPredictor | None,
    source: str,
) -> EvalReport:
    clips = [e.result for e in evals]
    report = EvalReport(
        str(pred_dir),
        str(gt_dir),
        {c: None for c in COLUMNS},
        clips=clips,
        skipped=[key for key, _ in skipped],
        warnings=[f"{key}: {why}; skipped" for key, why in skipped]
        + [f"{c.key}: {note}" for c in clips for note in c.notes],
        settings={"fid_features": net.name, "landmarks_source": source},
    )
    _landmark_columns(report, clips)
    _image_columns(report, clips)
    _fid_column(report, evals, net)
    _emotion_column(report, clips, classifier)
    return report


def evaluate_dirs(
    pred_dir: str | Path,
    gt_dir: str | Path,
    *,
    extractor: str | FeatureExtractor = "dlib-face",
    classifier: EmotionPredictor | str | Path | None = None,
    landmarks_source: LandmarksSource = "npz",
    cancel: CancelToken | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> EvalReport:
    """Evaluate every clip of ``pred_dir`` against its counterpart in ``gt_dir``.

    Parameters
    ----------
    pred_dir, gt_dir
        Folders of clips (video and/or ``.npz`` landmarks), matched by relative path.
    extractor
        FID feature network: a registry name (``"dlib-face"``, ``"pixels"``) or an object.
    classifier
        Emotion classifier, or the path of a saved one; None leaves emotion accuracy out.
    landmarks_source
        ``"npz"``: the clips' landmark files; ``"detect"``: dlib 68-point landmarks measured
        on both videos (the paper's protocol); ``"auto"``: files where present, else detect.
    cancel
        Checked between clips.
    on_progress
        Called with a :class:`Progress` per clip.

    Returns
    -------
    EvalReport
        Pooled and per-clip metrics, with notes and warnings.

    Raises
    ------
    InvalidInputError
        When a folder is missing or holds no clip, no clip is in both, or an option is bad.
    Cancelled
        When ``cancel`` is set.
    """
    job = evaluate_dirs_job(
        pred_dir,
        gt_dir,
        extractor=extractor,
        classifier=classifier,
        landmarks_source=landmarks_source,
    )
    return run_job(job, cancel=cancel, on_progress=on_progress)
