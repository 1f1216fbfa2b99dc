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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import scan_mead, split_clips
from evp_studio.errors import InvalidInputError
from evp_studio.eval.landmarks import landmark_distance, landmark_velocity_distance
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.models.audio2landmark_io import LandmarkPredictor
from evp_studio.paths import cache_dir
from evp_studio.project import EMOTIONS
from evp_studio.train._landmark_data import (
    ClipSeries,
    actor_identities,
    encode_windows,
    load_series,
)

__all__ = ["METRICS", "ROWS", "LandmarkPredictionReport", "evaluate_landmark_prediction"]

METRICS = ("M-LD", "M-LVD", "F-LD", "F-LVD")
ROWS = ("audio", "category", "example")


@dataclass(frozen=True)
class LandmarkPredictionReport:
    """Metrics of one evaluation (px of a 100 px outer-eye-corner face; LVD per frame)."""

    metrics: dict[str, dict[str, float]]  # row (ROWS) -> metric (METRICS) -> clip mean
    per_emotion: dict[str, dict[str, float]]  # emotion -> metric, the ``audio`` row
    clips: int
    frames: int
    split: str
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """A plain-text table, one row per ROWS entry."""
        lines = [f"{'':10}" + "".join(f"{m:>9}" for m in METRICS)]
        for row in ROWS:
            values = self.metrics.get(row)
            if values is not None:
                lines.append(f"{row:10}" + "".join(f"{values[m]:9.3f}" for m in METRICS))
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
    cache = FeatureCache(cache_dir() / "features")
    series = [s for s in load_series(clips, cache) if s.target.shape[0] >= 2]
    if not series:
        raise InvalidInputError(f"{data_root}: no clips of 2 frames or more in the {split!r} split")
    identities = actor_identities(series)
    rows: dict[str, list[dict[str, float]]] = {r: [] for r in ROWS}
    by_emotion: dict[str, list[dict[str, float]]] = {}
    for i, s in enumerate(series):
        if cancel is not None:
            cancel.check()
        for row, pred in _predict_rows(predictor, s, identities[s.clip.actor]).items():
            scores = _scores(pred, s.target)
            rows[row].append(scores)
            if row == "audio":
                by_emotion.setdefault(EMOTIONS[s.clip.label], []).append(scores)
        yield Progress("Predicting landmarks", i + 1, len(series))
    notes = [] if rows["category"] else ["no category codes: the 'category' row is missing"]
    return LandmarkPredictionReport(
        metrics={row: _mean(v) for row, v in rows.items() if v},
        per_emotion={e: _mean(v) for e, v in sorted(by_emotion.items())},
        clips=len(series),
        frames=int(sum(s.target.shape[0] for s in series)),
        split=split,
        notes=notes,
    )
