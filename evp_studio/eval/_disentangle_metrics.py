"""Numpy core of the disentanglement evaluation: confusion counts and code distances.

Kept free of torch so the arithmetic can be tested on hand-made codes. Distances are
Euclidean (L2) between code vectors; every mean is taken over all compared window pairs
(a long sentence counts more than a short one).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

from evp_studio.project import EMOTIONS

N_EMOTIONS = len(EMOTIONS)


def confusion(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Count predictions per true class.

    Parameters
    ----------
    true, pred
        (N,) int labels in the order of :data:`EMOTIONS`.

    Returns
    -------
    np.ndarray
        (8, 8) int64; row = true emotion, column = predicted emotion.
    """
    out = np.zeros((N_EMOTIONS, N_EMOTIONS), dtype=np.int64)
    np.add.at(out, (np.asarray(true, np.int64), np.asarray(pred, np.int64)), 1)
    return out


def class_accuracy(counts: np.ndarray) -> dict[str, float | None]:
    """Per-emotion accuracy (recall) from a confusion matrix; None for absent emotions."""
    totals = counts.sum(axis=1)
    return {
        name: (float(counts[i, i] / totals[i]) if totals[i] else None)
        for i, name in enumerate(EMOTIONS)
    }


def overall_accuracy(counts: np.ndarray) -> float:
    """Fraction on the diagonal of a confusion matrix (NaN when it is empty)."""
    total = counts.sum()
    return float(np.trace(counts) / total) if total else float("nan")


@dataclass(frozen=True)
class CodeSet:
    """One clip's codes on a shared timeline, with what identifies its content and emotion."""

    group: Hashable  # the spoken text of one speaker: equal = same content
    speaker: Hashable  # (actor, view); every pair compared shares it
    emotion: int  # label
    level: int  # intensity; different-content partners share it too
    content: np.ndarray  # (N, content_dim) float32, window k aligned onto the group reference
    emotion_codes: np.ndarray  # (N, emotion_dim) float32, same windows


@dataclass(frozen=True)
class Invariance:
    """Mean L2 code distances over two kinds of window pairs.

    "Same content" pairs are window k of two clips of one text group with different
    emotions (DTW-aligned, so k says the same thing); "different content" pairs are two
    clips of one speaker, emotion and level saying different texts, compared at the same
    relative position. NaN when there is no such pair.
    """

    content_same: float  # Ec distance, same text / other emotion
    content_different: float  # Ec distance, other text / same emotion
    emotion_same: float  # Ee distance, same text / other emotion
    emotion_different: float  # Ee distance, other text / same emotion
    n_same: int  # window pairs of the same text
    n_different: int  # window pairs of different texts

    @property
    def content_ratio(self) -> float:
        """content_same / content_different; lower = content codes ignore emotion more."""
        return _ratio(self.content_same, self.content_different)

    @property
    def emotion_ratio(self) -> float:
        """emotion_different / emotion_same; lower = emotion codes ignore content more."""
        return _ratio(self.emotion_different, self.emotion_same)


def _ratio(num: float, den: float) -> float:
    if np.isnan(num) or np.isnan(den) or (num == 0 and den == 0):
        return float("nan")
    return float(num / den) if den else float("inf")


def relative_positions(n_from: int, n_to: int) -> np.ndarray:
    """Index into a sequence of ``n_to`` windows at the relative position of each of ``n_from``.

    Returns
    -------
    np.ndarray
        (n_from,) int64, ``round(k * (n_to - 1) / (n_from - 1))`` (0 for a single window).
    """
    if n_from <= 1:
        return np.zeros(n_from, dtype=np.int64)
    return np.rint(np.arange(n_from) * ((n_to - 1) / (n_from - 1))).astype(np.int64)


def _l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a.astype(np.float64) - b.astype(np.float64)) ** 2).sum(axis=1))


class _Sums:
    def __init__(self) -> None:
        self.content = 0.0
        self.emotion = 0.0
        self.n = 0

    def add(self, ca: np.ndarray, cb: np.ndarray, ea: np.ndarray, eb: np.ndarray) -> None:
        self.content += float(_l2(ca, cb).sum())
        self.emotion += float(_l2(ea, eb).sum())
        self.n += ca.shape[0]

    def means(self) -> tuple[float, float]:
        if not self.n:
            return float("nan"), float("nan")
        return self.content / self.n, self.emotion / self.n


def invariance(codes: Iterable[CodeSet]) -> Invariance:
    """Compare codes of same-text/other-emotion and other-text/same-emotion window pairs.

    Parameters
    ----------
    codes
        One entry per clip. Clips of one ``group`` must have equally many windows (they
        are aligned onto one reference).

    Returns
    -------
    Invariance
        The four mean distances and the pair counts.
    """
    same, different = _Sums(), _Sums()
    by_speaker: dict[Hashable, list[CodeSet]] = {}
    for item in codes:
        by_speaker.setdefault(item.speaker, []).append(item)
    for items in by_speaker.values():
        for a, b in itertools.combinations(items, 2):
            if a.group == b.group and a.emotion != b.emotion:
                same.add(a.content, b.content, a.emotion_codes, b.emotion_codes)
            elif a.group != b.group and (a.emotion, a.level) == (b.emotion, b.level):
                at = relative_positions(a.content.shape[0], b.content.shape[0])
                different.add(a.content, b.content[at], a.emotion_codes, b.emotion_codes[at])
    cs, es = same.means()
    cd, ed = different.means()
    return Invariance(cs, cd, es, ed, same.n, different.n)


def pca_2d(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project codes on their first two principal components (numpy SVD).

    Parameters
    ----------
    codes
        (N, d) float.

    Returns
    -------
    tuple of np.ndarray
        ``(points, explained)``: (N, 2) float64 coordinates (each axis' sign fixed so its
        largest loading is positive; a missing second component is 0) and (2,) fractions of
        the variance explained.
    """
    x = np.asarray(codes, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    points = np.zeros((x.shape[0], 2))
    explained = np.zeros(2)
    if x.shape[0] < 2 or not np.any(x):
        return points, explained
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(2, vt.shape[0])
    signs = np.sign(vt[np.arange(k), np.abs(vt[:k]).argmax(axis=1)])
    points[:, :k] = x @ (vt[:k] * signs[:, None]).T
    explained[:k] = s[:k] ** 2 / float((s**2).sum())
    return points, explained
