"""Evaluation of a disentanglement model (see :mod:`evp_studio.eval.disentangle`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evp_studio.audio import frame_windows
from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip, emotion_pairs, scan_mead, split_clips
from evp_studio.errors import InvalidInputError
from evp_studio.eval._disentangle_format import report_to_dict, report_to_markdown
from evp_studio.eval._disentangle_metrics import (
    CodeSet,
    Invariance,
    class_accuracy,
    confusion,
    invariance,
    overall_accuracy,
)
from evp_studio.jobs import CancelToken, Job, Progress, run_job
from evp_studio.models import DisentangleModel
from evp_studio.train.pairs import _align_group, _clip_mfcc, _text_groups, pairing_mode

__all__ = [
    "SAMPLE_SIZE",
    "DisentangleReport",
    "evaluate_disentangle",
    "evaluate_disentangle_job",
    "held_out_clips",
]

log = logging.getLogger(__name__)

SAMPLE_SIZE = 2000  # emotion codes kept for the embedding plot
_BATCH = 512


@dataclass(frozen=True, eq=False)
class DisentangleReport:
    """Emotion accuracy and code invariance of one model on held-out clips."""

    n_clips: int  # clips classified
    n_windows: int  # windows classified
    window_confusion: np.ndarray  # (8, 8) int64, rows true, columns predicted, EMOTIONS order
    clip_confusion: np.ndarray  # (8, 8) int64, by the mean logits of each clip
    invariance: Invariance  # mean L2 code distances (see the module docstring)
    n_groups: int  # text groups DTW-aligned for the invariance
    sample_codes: np.ndarray  # (S, emotion_dim) float32 emotion codes, S <= SAMPLE_SIZE
    sample_labels: np.ndarray  # (S,) int64 emotion labels of sample_codes
    distance: str = "l2"

    @property
    def window_accuracy(self) -> float:
        """Fraction of windows classified correctly."""
        return overall_accuracy(self.window_confusion)

    @property
    def clip_accuracy(self) -> float:
        """Fraction of clips whose mean logits pick their emotion."""
        return overall_accuracy(self.clip_confusion)

    @property
    def per_class_window_accuracy(self) -> dict[str, float | None]:
        """Emotion -> fraction of its windows classified correctly (None: absent)."""
        return class_accuracy(self.window_confusion)

    @property
    def per_class_clip_accuracy(self) -> dict[str, float | None]:
        """Emotion -> fraction of its clips classified correctly (None: absent)."""
        return class_accuracy(self.clip_confusion)

    @property
    def content_ratio(self) -> float:
        """d_Ec(same text, other emotion) / d_Ec(other text, same emotion); lower is better."""
        return self.invariance.content_ratio

    @property
    def emotion_ratio(self) -> float:
        """d_Ee(other text, same emotion) / d_Ee(same text, other emotion); lower is better."""
        return self.invariance.emotion_ratio

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (fractions in [0, 1]; NaN and infinity as None); no sample."""
        return report_to_dict(self)

    def to_markdown(self, title: str = "Emotion disentanglement") -> str:
        """A markdown section: accuracy table, confusion matrices, invariance table."""
        return report_to_markdown(self, title)


def held_out_clips(data_root: str | Path, split: str = "paper") -> tuple[Clip, ...]:
    """Return the clips with audio an evaluation uses.

    Parameters
    ----------
    data_root
        MEAD-layout corpus.
    split
        ``"paper"``: the paper split's test sentences (001-009); ``"all"``: every clip.

    Returns
    -------
    tuple of Clip
        Sorted by ``Clip.sort_key``.

    Raises
    ------
    InvalidInputError
        When the folder has no usable clip, none is in the test split, or ``split`` is
        unknown.
    """
    if split not in ("paper", "all"):
        raise InvalidInputError(f"split {split!r} is not 'paper' or 'all'")
    clips = scan_mead(data_root, require=("audio",)).clips
    if split == "all":
        return clips
    test = tuple(split_clips(clips, scheme="paper")["test"])
    if not test:
        raise InvalidInputError(
            f"{data_root}: none of its {len(clips)} clips is in the paper split's test set "
            "(sentences 001-009); use split 'all' to evaluate every clip"
        )
    return test


def evaluate_disentangle(
    model: DisentangleModel,
    data_root: str | Path,
    clips: Sequence[Clip],
    *,
    cache: FeatureCache | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> DisentangleReport:
    """Measure emotion accuracy and code invariance of a model on held-out clips.

    Parameters
    ----------
    model
        The model; it is put in eval mode and moved to ``device``.
    data_root
        The corpus root (its manifest decides which sentence ids speak the same text).
    clips
        Clips with audio, e.g. :func:`held_out_clips`.
    cache
        Stores each clip's MFCC (shared with training's cache when it is the same folder).
    device
        Torch device.
    seed
        Picks the sample of emotion codes kept for the plot.

    Returns
    -------
    DisentangleReport
        The numbers (see the module docstring).

    Raises
    ------
    InvalidInputError
        When there is no clip, or a clip's audio is missing, unreadable or too short.
    """
    return run_job(
        evaluate_disentangle_job(model, data_root, clips, cache=cache, device=device, seed=seed)
    )


def evaluate_disentangle_job(
    model: DisentangleModel,
    data_root: str | Path,
    clips: Sequence[Clip],
    *,
    cache: FeatureCache | None = None,
    device: str = "cpu",
    seed: int = 0,
    cancel: CancelToken | None = None,
) -> Job[DisentangleReport]:
    """:func:`evaluate_disentangle` as a job: yields Progress, checks ``cancel`` per clip.

    Raises
    ------
    InvalidInputError
        As :func:`evaluate_disentangle`.
    Cancelled
        When ``cancel`` is set.
    """
    ordered = sorted(set(clips), key=lambda c: c.sort_key)
    if not ordered:
        raise InvalidInputError(f"{data_root}: no clips to evaluate")
    model.eval().to(device)
    feats: dict[Clip, np.ndarray] = {}
    for i, clip in enumerate(ordered):
        _check(cancel)
        feats[clip] = _clip_mfcc(clip, cache)
        yield Progress("Reading MFCC", i + 1, len(ordered))
    windows = {c: frame_windows(feats[c][:, 1:]) for c in ordered}
    short = [c.key for c in ordered if windows[c].shape[0] == 0]
    if short:
        raise InvalidInputError(f"{data_root}: clips too short for one MFCC window: {short[:5]}")
    scores = _Scores(windows, seed)
    for i, clip in enumerate(ordered):
        _check(cancel)
        scores.add(clip, *_emotion_pass(model, windows[clip], device))
        yield Progress("Classifying emotions", i + 1, len(ordered))
    mode = pairing_mode(data_root)
    groups = _text_groups(emotion_pairs(ordered, content=mode), mode)
    codes: list[CodeSet] = []
    for g, group in enumerate(groups):
        _check(cancel)
        for clip, aligned in _align_group(group, feats).items():
            content, emotion = _code_pass(model, aligned, device)
            speaker = (clip.actor, clip.view)
            codes.append(CodeSet(g, speaker, clip.label, clip.level, content, emotion))
        yield Progress("Comparing aligned codes", g + 1, len(groups))
    stats = invariance(codes)
    log.info(
        "disentanglement: %d clips, window acc %.3f, content ratio %.3f, emotion ratio %.3f",
        len(ordered),
        overall_accuracy(scores.window_confusion()),
        stats.content_ratio,
        stats.emotion_ratio,
    )
    return DisentangleReport(
        n_clips=len(ordered),
        n_windows=scores.n_windows,
        window_confusion=scores.window_confusion(),
        clip_confusion=scores.clip_confusion(),
        invariance=stats,
        n_groups=len(groups),
        sample_codes=np.concatenate(scores.sample_codes).astype(np.float32),
        sample_labels=np.concatenate(scores.sample_labels).astype(np.int64),
    )


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


class _Scores:
    """Accumulates predictions and the sampled codes over the clips."""

    def __init__(self, windows: dict[Clip, np.ndarray], seed: int) -> None:
        counts = np.array([w.shape[0] for w in windows.values()])
        self.n_windows = int(counts.sum())
        size = min(SAMPLE_SIZE, self.n_windows)
        picked = np.sort(np.random.default_rng(seed).choice(self.n_windows, size, replace=False))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._sample = {
            clip: picked[(picked >= s) & (picked < s + n)] - s
            for clip, s, n in zip(windows, starts, counts, strict=True)
        }
        self._true: list[np.ndarray] = []
        self._pred: list[np.ndarray] = []
        self._clip_true: list[int] = []
        self._clip_pred: list[int] = []
        self.sample_codes: list[np.ndarray] = []
        self.sample_labels: list[np.ndarray] = []

    def add(self, clip: Clip, codes: np.ndarray, logits: np.ndarray) -> None:
        self._true.append(np.full(logits.shape[0], clip.label))
        self._pred.append(logits.argmax(axis=1))
        self._clip_true.append(clip.label)
        self._clip_pred.append(int(logits.mean(axis=0).argmax()))
        keep = self._sample[clip]
        self.sample_codes.append(codes[keep])
        self.sample_labels.append(np.full(len(keep), clip.label, dtype=np.int64))

    def window_confusion(self) -> np.ndarray:
        return confusion(np.concatenate(self._true), np.concatenate(self._pred))

    def clip_confusion(self) -> np.ndarray:
        return confusion(np.array(self._clip_true), np.array(self._clip_pred))


def _batches(windows: np.ndarray, device: str) -> list[torch.Tensor]:
    x = np.ascontiguousarray(windows, dtype=np.float32)
    return [
        torch.from_numpy(x[s : s + _BATCH]).unsqueeze(1).to(device)
        for s in range(0, x.shape[0], _BATCH)
    ]


@torch.inference_mode()
def _emotion_pass(
    model: DisentangleModel, windows: np.ndarray, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """(N, emotion_dim) emotion codes and (N, 8) logits of (N, 28, 12) windows."""
    codes, logits = [], []
    for x in _batches(windows, device):
        e = model.encode_emotion(x)
        codes.append(e.float().cpu().numpy())
        logits.append(model.classify(e).float().cpu().numpy())
    return np.concatenate(codes), np.concatenate(logits)


@torch.inference_mode()
def _code_pass(
    model: DisentangleModel, windows: np.ndarray, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """(N, content_dim) content and (N, emotion_dim) emotion codes of (N, 28, 12) windows."""
    content, emotion = [], []
    for x in _batches(windows, device):
        content.append(model.encode_content(x).float().cpu().numpy())
        emotion.append(model.encode_emotion(x).float().cpu().numpy())
    return np.concatenate(content), np.concatenate(emotion)
