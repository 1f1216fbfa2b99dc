"""Training data of the audio-to-landmark model: per-clip series and fixed-length sequences.

Per clip (``ClipSeries``): one 28x12 MFCC window per 25 fps frame
(``frame_windows(padded_mfcc[:, 1:])``) and the ground-truth landmarks of the same frames
in the canonical space (``geometry.to_canonical`` of the 2D ``lmk2d``, with a pose fitted
to ``MEAN_SHAPE``: the same path as detected landmarks of a target video take at
inference), truncated to the shorter of the two. Both are cached per clip.

The example landmark l_a of a clip is its actor's mean canonical shape over the actor's
neutral training clips (all of the actor's clips when there is no neutral one): the
official code uses the speaker mean shape, and at inference l_a is the mean of a target
video, which is usually neutral speech.

A ``SequenceDataset`` item is a window of ``seq_len`` frames of one clip (starts every
``stride`` frames, plus one ending at the clip's end); clips shorter than ``seq_len`` are
left out. With probability ``category_prob`` (drawn per item from (seed, epoch, index)) the
item's emotion input is the clip category's mean code for every frame instead of the
encoder's per-frame codes, so that keyframed emotion (category codes) works at inference.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from evp_studio.audio import frame_windows
from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip
from evp_studio.errors import InvalidInputError
from evp_studio.geometry import to_canonical
from evp_studio.models import DisentangleModel
from evp_studio.project import EMOTIONS
from evp_studio.train.disentangle import mean_emotion_codes
from evp_studio.train.pairs import _clip_mfcc

log = logging.getLogger(__name__)

_CANONICAL_NAME = "canonical_lmk68"
_CANONICAL_PARAMS = {"source": "lmk2d", "shape": "MEAN_SHAPE", "version": 1}
_NEUTRAL = EMOTIONS.index("neutral")
_ENCODE_BATCH = 512

#: (audio, override code (d_e,), use override (0/1), identity (68, 2), target (L, 68, 2)).
#: ``audio`` is (L, d_c + d_e) precomputed codes, or (L, 28, 12) windows when fine-tuning.
SequenceItem = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class ClipSeries:
    """One clip's frames: MFCC windows and canonical ground truth, the same length."""

    clip: Clip
    windows: np.ndarray  # (N, 28, 12) float32 MFCC windows, row k = frame k
    target: np.ndarray  # (N, 68, 2) float32 canonical landmarks (NaN: face lost)


def _canonical(clip: Clip, cache: FeatureCache | None) -> np.ndarray:
    def compute(c: Clip) -> dict[str, np.ndarray]:
        if c.ground_truth is None:
            raise InvalidInputError(f"clip {c.key} has no ground-truth landmarks")
        with np.load(c.ground_truth) as gt:
            lmk = np.asarray(gt["lmk2d"], dtype=np.float64)
        return {"canonical": to_canonical(lmk).astype(np.float32)}

    if cache is None:
        return compute(clip)["canonical"]
    got = cache.get_or_compute(
        clip, _CANONICAL_NAME, _CANONICAL_PARAMS, compute, uses=("ground_truth",)
    )
    return got["canonical"]


def load_series(clips: Sequence[Clip], cache: FeatureCache | None) -> Iterator[ClipSeries]:
    """Yield each clip's windows and canonical targets (see the module docstring).

    Parameters
    ----------
    clips
        Clips with audio and ground truth.
    cache
        Stores MFCC and canonical landmarks per clip when given.

    Yields
    ------
    ClipSeries
        In the order of ``clips``.

    Raises
    ------
    InvalidInputError
        When a clip's audio or ground truth cannot be read.
    """
    for clip in clips:
        windows = frame_windows(_clip_mfcc(clip, cache)[:, 1:])
        target = _canonical(clip, cache)
        n = min(windows.shape[0], target.shape[0])
        yield ClipSeries(clip, np.ascontiguousarray(windows[:n], np.float32), target[:n])


def actor_identities(series: Sequence[ClipSeries]) -> dict[str, np.ndarray]:
    """Each actor's example landmark: mean canonical shape of the neutral clips (or all).

    Returns
    -------
    dict
        ``{actor: (68, 2) float32}``.
    """
    out = {}
    for actor in sorted({s.clip.actor for s in series}):
        own = [s for s in series if s.clip.actor == actor]
        neutral = [s for s in own if s.clip.label == _NEUTRAL] or own
        frames = np.concatenate([s.target for s in neutral])
        out[actor] = np.nanmean(frames.astype(np.float64), axis=0).astype(np.float32)
    return out


def fit_basis(
    series: Sequence[ClipSeries], n_coeffs: int, *, max_frames: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the training frames (the official per-speaker PCA, over all actors here).

    Parameters
    ----------
    series
        Training clips.
    n_coeffs
        Components K; ``136`` returns the identity basis (raw coordinates).
    max_frames
        Frames used at most (an even subsample of longer corpora).

    Returns
    -------
    tuple of np.ndarray
        Mean (136,) and orthonormal components (136, K), float32.
    """
    frames = np.concatenate([s.target.reshape(-1, 136) for s in series]).astype(np.float64)
    frames = frames[np.isfinite(frames).all(axis=1)]
    if frames.shape[0] > max_frames:
        frames = frames[np.linspace(0, frames.shape[0] - 1, max_frames).astype(np.int64)]
    mean = frames.mean(axis=0)
    if n_coeffs >= frames.shape[1]:
        return mean.astype(np.float32), np.eye(frames.shape[1], dtype=np.float32)
    _, _, vt = np.linalg.svd(frames - mean, full_matrices=False)
    comps = vt[:n_coeffs].T
    comps *= np.where(comps.sum(axis=0) < 0, -1.0, 1.0)  # a fixed sign per component
    return mean.astype(np.float32), comps.astype(np.float32)


@torch.inference_mode()
def encode_windows(encoder: DisentangleModel, windows: np.ndarray, device: str) -> np.ndarray:
    """Return ``[Ec, Ee]`` codes, (N, d_c + d_e) float32, of (N, 28, 12) windows."""
    encoder.eval()
    out = []
    for start in range(0, windows.shape[0], _ENCODE_BATCH):
        x = torch.from_numpy(windows[start : start + _ENCODE_BATCH]).unsqueeze(1).to(device)
        c, e = encoder(x)
        out.append(torch.cat([c, e], dim=1).float().cpu())
    return torch.cat(out).numpy()


def code_stats(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale (std; 1 for constant features) of (N, d) code arrays."""
    frames = np.concatenate(codes).astype(np.float64)
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    scale = np.where(std > 1e-6 * max(1.0, float(std.max())), std, 1.0)
    return mean.astype(np.float32), scale.astype(np.float32)


def category_means(
    encoder: DisentangleModel, series: Sequence[ClipSeries], device: str
) -> np.ndarray:
    """(8, d_e) mean emotion code per category over every frame; NaN rows for absent ones."""
    labelled = ((s.clip.label, s.windows) for s in series)
    return mean_emotion_codes(encoder, labelled, device).numpy()


class SequenceDataset(Dataset[SequenceItem]):
    """Fixed-length training sequences (see the module docstring).

    Parameters
    ----------
    series
        Training clips.
    audio
        Per clip, (N, d_c + d_e) precomputed codes or the (N, 28, 12) windows.
    identities
        Example landmark per actor.
    seq_len, stride
        Sequence length and start spacing, frames.
    emotion_dim
        d_e, the size of the override code.
    seed
        Seeds the per-item choice of the category code.
    """

    def __init__(
        self,
        series: Sequence[ClipSeries],
        audio: Sequence[np.ndarray],
        identities: dict[str, np.ndarray],
        *,
        seq_len: int,
        stride: int,
        emotion_dim: int,
        seed: int,
    ) -> None:
        self.series, self.audio, self.seq_len = list(series), list(audio), seq_len
        self.identities = {k: torch.from_numpy(v) for k, v in identities.items()}
        self.emotion_dim, self.seed, self.epoch = emotion_dim, seed, 0
        self.category_prob = 0.0
        self.codes: np.ndarray | None = None
        rows = []
        for i, s in enumerate(self.series):
            for start in _starts(s.target, seq_len, stride):
                rows.append((i, start))
        self.items = np.asarray(rows, dtype=np.int64).reshape(-1, 2)

    def set_epoch(self, epoch: int) -> None:
        """Draw another epoch's category-code choices."""
        self.epoch = epoch

    def set_category_codes(self, codes: np.ndarray | None, prob: float) -> None:
        """Use ``codes`` (8, d_e) as the emotion input of an item with probability ``prob``."""
        self.codes, self.category_prob = codes, prob

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def _override(self, index: int, label: int) -> tuple[torch.Tensor, torch.Tensor]:
        none = torch.zeros(self.emotion_dim), torch.zeros(())
        if self.codes is None or self.category_prob <= 0.0:
            return none
        code = self.codes[label]
        draw = np.random.default_rng((self.seed, self.epoch, index)).random()
        if draw >= self.category_prob or not np.isfinite(code).all():
            return none
        return torch.from_numpy(code.astype(np.float32)), torch.ones(())

    def __getitem__(self, index: int) -> SequenceItem:
        if not 0 <= index < len(self):
            raise IndexError(index)
        i, start = (int(v) for v in self.items[index])
        s, span = self.series[i], slice(start, start + self.seq_len)
        code, use = self._override(index, s.clip.label)
        return (
            torch.from_numpy(self.audio[i][span]),
            code,
            use,
            self.identities[s.clip.actor],
            torch.from_numpy(s.target[span]),
        )

    def summary(self) -> dict[str, Any]:
        """Counts describing the data (JSON-friendly)."""
        return {
            "clips": len(self.series),
            "actors": sorted(self.identities),
            "sequences": len(self),
            "frames": int(sum(s.target.shape[0] for s in self.series)),
            "emotions": sorted({s.clip.label for s in self.series}),
            "seq_len": self.seq_len,
        }


def _starts(target: np.ndarray, seq_len: int, stride: int) -> list[int]:
    """Starts of the windows of a clip whose frames all have landmarks."""
    n = target.shape[0]
    if n < seq_len:
        return []
    starts = list(range(0, n - seq_len + 1, stride))
    if starts[-1] != n - seq_len:
        starts.append(n - seq_len)
    good = np.isfinite(target).all(axis=(1, 2))
    return [s for s in starts if good[s : s + seq_len].all()]
