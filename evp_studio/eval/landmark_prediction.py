"""How well an audio-to-landmark model predicts held-out clips: M-LD, M-LVD, F-LD, F-LVD.

For every evaluated clip (by default the ``"paper"`` split's test clips: sentences 1-9) the
model predicts the whole clip from its audio, and the prediction is scored against the
clip's ground truth in the canonical space with :mod:`evp_studio.eval.landmarks` (each
frame normalised to a 100 px outer-eye-corner face, the prediction aligned on the rigid
points). Three rows make the numbers readable:

- ``audio``: emotion input = the encoder's per-frame codes of the clip's audio (the paper);
- ``category``: emotion input = the clip category's mean code (what a keyframe feeds);
- ``example``: no model, every frame is the example landmark l_a (the floor to beat).

The example landmark is each actor's mean canonical shape over the evaluated neutral clips
(all of the actor's evaluated clips when none is neutral), as in training.

Two more parts use the ``category`` prediction (the ``audio`` one without category codes):

- placement (paper Fig. 7): the canonical prediction is put into the clip's own frames in
  pixels by the 3D-aware alignment (``"3d"``: ``align_to_target`` with the pose fitted to
  the ground truth) and by the direct 2D baseline (``"2d"``: ``place_2d``), and both are
  scored against the ground-truth pixels with the same metrics; F-LD is also given per
  ``|yaw|`` bin of the recorded pose (frame-weighted means);
- emotion accuracy: the bundled (or given) landmark emotion classifier labels each clip's
  prediction placed in 3D in its frames (pixels, like the ground truth it was trained on)
  and, for reference, the ground truth itself; ``*_canonical`` rows classify the canonical
  sequences instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import scan_mead, split_clips
from evp_studio.errors import InvalidInputError
from evp_studio.eval.landmarks import align_pair, landmark_distance, landmark_velocity_distance
from evp_studio.geometry import align_to_target, fit_pose, place_2d
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.models.audio2landmark_io import LandmarkPredictor
from evp_studio.paths import cache_dir, resource_path
from evp_studio.project import EMOTIONS
from evp_studio.train._landmark_data import (
    ClipSeries,
    actor_identities,
    encode_windows,
    load_series,
)

__all__ = [
    "EMOTION_ROWS",
    "METRICS",
    "PLACEMENTS",
    "ROWS",
    "YAW_BINS",
    "LandmarkPredictionReport",
    "evaluate_landmark_prediction",
    "place_both",
]

METRICS = ("M-LD", "M-LVD", "F-LD", "F-LVD")
ROWS = ("audio", "category", "example")
#: Ways to put canonical predictions into the clip's frames: 3D-aware (eq. 8), direct 2D.
PLACEMENTS = ("3d", "2d")
#: |yaw| bins of the per-yaw F-LD, degrees: name -> [low, high).
YAW_BINS: dict[str, tuple[float, float]] = {
    "<10": (0.0, 10.0),
    "10-25": (10.0, 25.0),
    ">25": (25.0, float("inf")),
}
#: What the emotion classifier labels: prediction placed in 3D (px), ground truth (px),
#: and both in the canonical space.
EMOTION_ROWS = ("predicted", "ground_truth", "predicted_canonical", "ground_truth_canonical")
BUNDLED_CLASSIFIER = "models/emotion_classifier.pt"


@dataclass(frozen=True)
class LandmarkPredictionReport:
    """Metrics of one evaluation (px of a 100 px outer-eye-corner face; LVD per frame)."""

    metrics: dict[str, dict[str, float]]  # row (ROWS) -> metric (METRICS) -> clip mean
    per_emotion: dict[str, dict[str, float]]  # emotion -> metric, the ``audio`` row
    clips: int
    frames: int
    split: str
    notes: list[str] = field(default_factory=list)
    #: placement (PLACEMENTS) -> metric -> clip mean, ground-truth pixels (empty: not run)
    placement: dict[str, dict[str, float]] = field(default_factory=dict)
    #: yaw bin (YAW_BINS) -> {"3d": F-LD, "2d": F-LD, "frames": count}; empty bins left out
    placement_by_yaw: dict[str, dict[str, float]] = field(default_factory=dict)
    #: EMOTION_ROWS entry -> clip accuracy (empty: no classifier)
    emotion_accuracy: dict[str, float] = field(default_factory=dict)
    #: EMOTION_ROWS entry -> emotion -> accuracy over that emotion's clips
    emotion_per_class: dict[str, dict[str, float]] = field(default_factory=dict)

    def format(self) -> str:
        """A plain-text table, one row per ROWS entry."""
        lines = [f"{'':10}" + "".join(f"{m:>9}" for m in METRICS)]
        for row in ROWS:
            values = self.metrics.get(row)
            if values is not None:
                lines.append(f"{row:10}" + "".join(f"{values[m]:9.3f}" for m in METRICS))
        for name in PLACEMENTS:
            values = self.placement.get(name)
            if values is not None:
                label = f"place {name}"
                lines.append(f"{label:10}" + "".join(f"{values[m]:9.3f}" for m in METRICS))
        if self.placement_by_yaw:
            lines.append(f"{'|yaw| deg':10}{'frames':>9}{'F-LD 3d':>9}{'F-LD 2d':>9}")
            for name, v in self.placement_by_yaw.items():
                lines.append(f"{name:10}{int(v['frames']):9d}{v['3d']:9.3f}{v['2d']:9.3f}")
        if self.emotion_accuracy:
            names = sorted({e for v in self.emotion_per_class.values() for e in v})
            lines.append(f"{'emotion acc':24}{'all':>7}" + "".join(f"{e[:7]:>8}" for e in names))
            for row, acc in self.emotion_accuracy.items():
                per = self.emotion_per_class.get(row, {})
                cells = "".join(f"{per[e]:8.3f}" if e in per else f"{'-':>8}" for e in names)
                lines.append(f"{row:24}{acc:7.3f}" + cells)
        lines.append(f"{self.clips} clips, {self.frames} frames ({self.split} split)")
        return "\n".join([*lines, *self.notes])


def _scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    return {
        "M-LD": landmark_distance(pred, gt, "mouth"),
        "M-LVD": landmark_velocity_distance(pred, gt, "mouth"),
        "F-LD": landmark_distance(pred, gt, "face"),
        "F-LVD": landmark_velocity_distance(pred, gt, "face"),
    }


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {m: float(np.mean([r[m] for r in rows])) for m in METRICS}


def _frame_face_ld(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``(T,)`` F-LD of each frame (the mean over frames is ``landmark_distance``)."""
    p, g = align_pair(pred, gt)
    return np.linalg.norm(p - g, axis=-1).mean(axis=-1)


def place_both(pred: np.ndarray, lmk2d: np.ndarray) -> dict[str, np.ndarray]:
    """Canonical ``pred`` put into the frames of ``lmk2d`` (px) both ways (PLACEMENTS).

    ``"3d"``: ``align_to_target(pred, fit_pose(lmk2d), lmk2d)`` (paper eq. 8, default
    settings); ``"2d"``: ``place_2d(pred, lmk2d)``. Both ``(T, 68, 2)`` float64 px, NaN in
    frames that could not be placed.
    """
    return {"3d": align_to_target(pred, fit_pose(lmk2d), lmk2d), "2d": place_2d(pred, lmk2d)}


@dataclass
class _Placement:
    """Running sums of the placement comparison."""

    scores: dict[str, list[dict[str, float]]] = field(
        default_factory=lambda: {name: [] for name in PLACEMENTS}
    )
    by_yaw: dict[str, list[np.ndarray]] = field(default_factory=dict)  # bin -> (n, 2) F-LD
    skipped: int = 0

    def add(self, pred: np.ndarray, lmk2d: np.ndarray, yaw: np.ndarray) -> np.ndarray | None:
        """Place ``pred`` both ways into ``lmk2d``'s frames and score; return the 3D one."""
        placed = place_both(pred, lmk2d)
        ok = np.isfinite(lmk2d).all(axis=(1, 2)) & np.isfinite(pred).all(axis=(1, 2))
        for p in placed.values():
            ok &= np.isfinite(p).all(axis=(1, 2))
        if ok.sum() < 2:
            self.skipped += 1
            return None
        frame_ld = []
        for name, p in placed.items():
            self.scores[name].append(_scores(p[ok], lmk2d[ok]))
            frame_ld.append(_frame_face_ld(p[ok], lmk2d[ok]))
        both = np.stack(frame_ld, axis=1)
        yaw_ok = np.abs(yaw[ok])
        for name, (low, high) in YAW_BINS.items():
            in_bin = (yaw_ok >= low) & (yaw_ok < high)
            if in_bin.any():
                self.by_yaw.setdefault(name, []).append(both[in_bin])
        return np.where(ok[:, None, None], placed["3d"], np.nan)

    def summary(self) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
        placement = {name: _mean(v) for name, v in self.scores.items() if v}
        by_yaw = {}
        for name in YAW_BINS:
            if name in self.by_yaw:
                ld = np.concatenate(self.by_yaw[name])
                by_yaw[name] = {"3d": float(ld[:, 0].mean()), "2d": float(ld[:, 1].mean())}
                by_yaw[name]["frames"] = float(ld.shape[0])
        return placement, by_yaw


def _load_classifier(classifier: str | Path | None) -> tuple[object | None, list[str]]:
    """The classifier (None: the bundled one, skipped with a note when it is missing)."""
    from evp_studio.eval.emotion_classifier import EmotionClassifier  # noqa: PLC0415

    if classifier is None:
        bundled = resource_path(BUNDLED_CLASSIFIER)
        if not bundled.is_file():
            return None, [f"no bundled emotion classifier ({BUNDLED_CLASSIFIER}): no accuracy"]
        classifier = bundled
    return EmotionClassifier.load(classifier), []


def _classify(model: object, sequence: np.ndarray) -> int | None:
    """Arg-max label of the finite frames of ``sequence``; None when none is finite."""
    finite = np.isfinite(sequence).all(axis=(1, 2))
    if not finite.any():
        return None
    return int(np.argmax(model.predict(sequence[finite])))  # type: ignore[attr-defined]


def _accuracies(
    hits: dict[str, list[tuple[int, bool]]],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    overall, per_class = {}, {}
    for row in EMOTION_ROWS:
        if not hits.get(row):
            continue
        labels = np.array([lab for lab, _ in hits[row]])
        right = np.array([ok for _, ok in hits[row]])
        overall[row] = float(right.mean())
        per_class[row] = {
            EMOTIONS[c]: float(right[labels == c].mean()) for c in sorted(set(labels.tolist()))
        }
    return overall, per_class


def _ground_truth_px(s: ClipSeries) -> tuple[np.ndarray, np.ndarray]:
    """The clip's ``lmk2d`` (px) and per-frame yaw (deg), cut to the series' frames."""
    assert s.clip.ground_truth is not None  # scan_mead(require=ground_truth)
    n = s.target.shape[0]
    with np.load(s.clip.ground_truth) as gt:
        lmk = np.asarray(gt["lmk2d"], dtype=np.float64)[:n]
        yaw = np.asarray(gt["pose"], dtype=np.float64)[:n, 0] if "pose" in gt.files else None
    if yaw is None:
        yaw = fit_pose(lmk).angles()[:, 0]
    return lmk, yaw


def _predict_rows(
    predictor: LandmarkPredictor, s: ClipSeries, identity: np.ndarray
) -> dict[str, np.ndarray]:
    encoder = predictor.encoder
    assert encoder is not None  # checked by the caller
    d_c = encoder.model.config.content_dim
    codes = encode_windows(encoder.model, s.windows, predictor.device)
    content, emotion = codes[:, :d_c], codes[:, d_c:]
    out = {"audio": predictor.predict(content, emotion, identity)}
    category = encoder.category_codes
    if category is not None and np.isfinite(category[s.clip.label]).all():
        keyed = np.repeat(category[[s.clip.label]], content.shape[0], axis=0)
        out["category"] = predictor.predict(content, keyed, identity)
    out["example"] = np.repeat(identity[None], content.shape[0], axis=0)
    return out


def evaluate_landmark_prediction(
    model_path: str | Path | None,
    data_root: str | Path,
    *,
    split: str = "paper",
    device: str = "cpu",
    cancel: CancelToken | None = None,
    placement: bool = True,
    classifier: str | Path | None = None,
    emotion: bool = True,
    max_clips: int | None = None,
    seed: int = 0,
) -> Job[LandmarkPredictionReport]:
    """Score a model on a corpus with ground-truth landmarks; yields Progress per clip.

    Parameters
    ----------
    model_path
        Training checkpoint or exported weights; None: the registry's default.
    data_root
        MEAD-layout corpus with ground-truth landmarks (the synthetic corpus).
    split
        ``"paper"``: the test clips (sentences 1-9); ``"all"``: every clip.
    device
        Torch device.
    cancel
        Checked before every clip.
    placement
        Also place the prediction in the clip's frames, 3D-aware and direct 2D, and score
        both in pixels (``report.placement``, ``report.placement_by_yaw``).
    classifier
        Landmark emotion classifier file; None: the bundled one (skipped with a note when
        it is not installed).
    emotion
        Measure the emotion accuracy (``report.emotion_accuracy``).
    max_clips
        Evaluate a random subset of this many clips (drawn with ``seed``; noted in the
        report); None: all.
    seed
        Seeds the subset.

    Returns
    -------
    Job[LandmarkPredictionReport]

    Raises
    ------
    InvalidInputError
        For an unknown split, a split without clips (or none of at least 2 frames), or a
        model file without its speech encoder.
    Cancelled
        When ``cancel`` is set.
    """
    if split not in ("paper", "all"):
        raise InvalidInputError(f"split {split!r} is not 'paper' or 'all'")
    predictor = LandmarkPredictor.load(model_path, device)
    if predictor.encoder is None:
        raise InvalidInputError(f"{model_path}: the model file carries no speech encoder")
    clips = scan_mead(data_root, require=("audio", "ground_truth")).clips
    if split == "paper":
        clips = tuple(split_clips(clips, scheme="paper")["test"])
    subset_note = []
    if max_clips is not None and 0 < max_clips < len(clips):
        keep = np.sort(np.random.default_rng(seed).choice(len(clips), max_clips, replace=False))
        subset_note = [f"a random subset of {max_clips} of {len(clips)} clips (seed {seed})"]
        clips = tuple(clips[i] for i in keep)
    model, notes = _load_classifier(classifier) if emotion else (None, [])
    cache = FeatureCache(cache_dir() / "features")
    series = [s for s in load_series(clips, cache) if s.target.shape[0] >= 2]
    if not series:
        raise InvalidInputError(f"{data_root}: no clips of 2 frames or more in the {split!r} split")
    identities = actor_identities(series)
    rows: dict[str, list[dict[str, float]]] = {r: [] for r in ROWS}
    by_emotion: dict[str, list[dict[str, float]]] = {}
    placed = _Placement()
    hits: dict[str, list[tuple[int, bool]]] = {}
    for i, s in enumerate(series):
        if cancel is not None:
            cancel.check()
        predicted = _predict_rows(predictor, s, identities[s.clip.actor])
        for row, pred in predicted.items():
            scores = _scores(pred, s.target)
            rows[row].append(scores)
            if row == "audio":
                by_emotion.setdefault(EMOTIONS[s.clip.label], []).append(scores)
        if placement or model is not None:
            keyed = predicted.get("category", predicted["audio"]).astype(np.float64)
            lmk2d, yaw = _ground_truth_px(s)
            in_frames = placed.add(keyed, lmk2d, yaw) if placement else None
            sequences = {
                "predicted": in_frames,
                "ground_truth": lmk2d,
                "predicted_canonical": keyed,
                "ground_truth_canonical": s.target,
            }
            for row, seq in sequences.items():
                label = None if model is None or seq is None else _classify(model, seq)
                if label is not None:
                    hits.setdefault(row, []).append((s.clip.label, label == s.clip.label))
        yield Progress("Predicting landmarks", i + 1, len(series))
    if not rows["category"]:
        notes.append(
            "no category codes: the 'category' row is missing; placement and "
            "emotion use the 'audio' prediction"
        )
    if placed.skipped:
        notes.append(f"placement: {placed.skipped} clip(s) without 2 placeable frames left out")
    placement_scores, by_yaw = placed.summary()
    accuracy, per_class = _accuracies(hits)
    return LandmarkPredictionReport(
        metrics={row: _mean(v) for row, v in rows.items() if v},
        per_emotion={e: _mean(v) for e, v in sorted(by_emotion.items())},
        clips=len(series),
        frames=int(sum(s.target.shape[0] for s in series)),
        split=split,
        notes=[*subset_note, *notes],
        placement=placement_scores,
        placement_by_yaw=by_yaw,
        emotion_accuracy=accuracy,
        emotion_per_class=per_class,
    )
