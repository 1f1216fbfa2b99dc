"""Pretraining of the two encoders before cross-reconstruction (paper section 3.2).

- **Ee and Ce** learn to classify the emotion of single windows (the official SER
  pretraining, ``train/emotion_pretrain``; Ce keeps its weights, as ``train_content+cla.py``
  initialises ``classify.last_fc`` from the SER head).
- **Ec** is initialised in the paper from a lip-reading network (ATVGnet's audio encoder,
  trained on LRW). The synthetic corpus has phoneme timings instead, so here Ec learns to
  classify the *viseme* under each window's centre (14 classes,
  :data:`evp_studio.data.speech.VISEMES`) through a temporary linear head that is thrown away
  afterwards. Visemes are what the mouth shows, which is the content the landmarks need.
  Clips without timings (real MEAD) only take part in the emotion half.

Window ``k`` covers padded MFCC rows 4k..4k+27, i.e. [0.04k - 0.12, 0.04k + 0.175] s of the
clip; its centre, where the viseme label is read, is at ``0.04 k + 0.0275`` s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn

from evp_studio.audio import frame_windows
from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip
from evp_studio.data.speech import VISEMES
from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.models import DisentangleModel
from evp_studio.pipeline.constants import FPS, HOP_LENGTH, PAD_SAMPLES, SAMPLE_RATE, WINDOW_FRAMES
from evp_studio.train.pairs import _clip_mfcc as clip_mfcc

__all__ = ["LabelledWindows", "labelled_windows", "pretrain_encoders", "window_centres_s"]

log = logging.getLogger(__name__)

_NO_VISEME = -1
_VISEME_INDEX = {v: i for i, v in enumerate(VISEMES)}


def window_centres_s(n_windows: int) -> np.ndarray:
    """Return the clip time (s) at the centre of each of ``n_windows`` windows.

    Parameters
    ----------
    n_windows
        Number of windows.

    Returns
    -------
    np.ndarray
        (n_windows,) float64, ``k / 25 + 0.0275``.
    """
    hop_s = HOP_LENGTH / SAMPLE_RATE
    span_s = (WINDOW_FRAMES - 1) * hop_s + 0.025  # first row's start to last row's end
    offset = span_s / 2 - PAD_SAMPLES / SAMPLE_RATE
    return np.arange(n_windows, dtype=np.float64) / FPS + offset


def viseme_labels(ground_truth: Path, n_windows: int) -> np.ndarray:
    """Return the viseme index under each window's centre, from a synthetic clip's npz.

    Parameters
    ----------
    ground_truth
        The clip's ground-truth npz with ``visemes`` (P,) and ``phoneme_times`` (P, 2) s.
    n_windows
        Number of windows of the clip's audio.

    Returns
    -------
    np.ndarray
        (n_windows,) int64 indices into ``VISEMES``; centres outside every phoneme are
        ``"sil"``; -1 everywhere when the file has no timings.

    Raises
    ------
    InvalidInputError
        When the file cannot be read or names an unknown viseme.
    """
    try:
        with np.load(ground_truth, allow_pickle=False) as npz:
            if "visemes" not in npz.files or "phoneme_times" not in npz.files:
                return np.full(n_windows, _NO_VISEME, dtype=np.int64)
            names, times = npz["visemes"], npz["phoneme_times"]
    except (OSError, ValueError) as e:
        raise InvalidInputError(f"{ground_truth}: cannot read phoneme timings: {e}") from e
    unknown = sorted(set(names.tolist()) - set(_VISEME_INDEX))
    if unknown or times.shape != (names.shape[0], 2):
        raise InvalidInputError(
            f"{ground_truth}: bad phoneme timings (visemes {unknown}, times {times.shape})"
        )
    codes = np.array([_VISEME_INDEX[v] for v in names.tolist()] + [_VISEME_INDEX["sil"]])
    centres = window_centres_s(n_windows)
    # The phoneme whose interval holds the centre; the extra last code is "sil" for misses.
    inside = (times[None, :, 0] <= centres[:, None]) & (centres[:, None] < times[None, :, 1])
    which = np.where(inside.any(axis=1), inside.argmax(axis=1), len(names))
    return codes[which].astype(np.int64)


@dataclass(frozen=True)
class LabelledWindows:
    """Every window of a set of clips, with its emotion and viseme label.

    Windows are views into per-clip MFCC arrays; ``index`` rows are (clip, window).
    """

    mfcc: tuple[np.ndarray, ...]  # per clip (T_mfcc, 13) float32, padded
    index: np.ndarray  # (N, 2) int64: clip number, window number
    emotion: np.ndarray  # (N,) int64 labels in EMOTIONS order
    viseme: np.ndarray  # (N,) int64 indices into VISEMES, -1 when unknown

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def batch(self, rows: np.ndarray) -> torch.Tensor:
        """Return windows ``rows`` as a (B, 1, 28, 12) float32 tensor."""
        out = np.empty((rows.shape[0], WINDOW_FRAMES, 12), dtype=np.float32)
        for i, (clip, k) in enumerate(self.index[rows]):
            start = 4 * int(k)
            out[i] = self.mfcc[clip][start : start + WINDOW_FRAMES, 1:]
        return torch.from_numpy(out).unsqueeze(1)


def labelled_windows(clips: Sequence[Clip], cache: FeatureCache | None) -> LabelledWindows:
    """Collect the windows of ``clips`` with emotion and (where known) viseme labels.

    Parameters
    ----------
    clips
        Clips with audio; synthetic ones carry phoneme timings in ``ground_truth``.
    cache
        Feature cache for the padded MFCC (shared with the pair builder), or None.

    Returns
    -------
    LabelledWindows

    Raises
    ------
    InvalidInputError
        When no clip gives a window.
    """
    mfcc: list[np.ndarray] = []
    index: list[np.ndarray] = []
    emotion: list[np.ndarray] = []
    viseme: list[np.ndarray] = []
    for clip in clips:
        feats = clip_mfcc(clip, cache)
        n = frame_windows(feats).shape[0]
        if n == 0:
            continue
        number = len(mfcc)
        mfcc.append(feats)
        index.append(np.stack([np.full(n, number), np.arange(n)], axis=1))
        emotion.append(np.full(n, clip.label, dtype=np.int64))
        if clip.ground_truth is not None:
            viseme.append(viseme_labels(clip.ground_truth, n))
        else:
            viseme.append(np.full(n, _NO_VISEME, dtype=np.int64))
    if not mfcc:
        raise InvalidInputError("pretraining: no clip is long enough for one window")
    return LabelledWindows(
        tuple(mfcc),
        np.concatenate(index).astype(np.int64),
        np.concatenate(emotion),
        np.concatenate(viseme),
    )


def pretrain_encoders(
    model: DisentangleModel,
    data: LabelledWindows,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
    cancel: CancelToken | None = None,
) -> Job[dict[str, float]]:
    """Pretrain Ee + Ce on emotion and Ec on visemes; yields Progress per step.

    Parameters
    ----------
    model
        Trained in place (its decoder is untouched).
    data
        Labelled windows of the training clips.
    steps
        Number of batches.
    batch_size, lr, seed, device
        Adam settings, sampling seed and torch device.
    cancel
        Checked before every step.

    Returns
    -------
    Job[dict[str, float]]
        Its return value: ``emotion_accuracy`` and ``viseme_accuracy`` over the last 20 %
        of steps' batches (NaN without viseme labels), and the final ``emotion_loss`` and
        ``viseme_loss``.

    Raises
    ------
    Cancelled
        When ``cancel`` is set.
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    has_visemes = bool((data.viseme >= 0).any())
    head = nn.Linear(model.config.content_dim, len(VISEMES)).to(device)
    params = [
        *model.emo_encoder.parameters(),
        *model.classify.parameters(),
        *(list(model.con_encoder.parameters()) + list(head.parameters()) if has_visemes else []),
    ]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    model.train()
    tallies = np.zeros(4)  # emotion right, emotion seen, viseme right, viseme seen
    emo_loss = vis_loss = torch.zeros(())
    for step in range(steps):
        if cancel is not None:
            cancel.check()
        rows = rng.integers(0, len(data), size=batch_size)
        x = data.batch(rows).to(device)
        emo = torch.from_numpy(data.emotion[rows]).to(device)
        logits = model.classify(model.encode_emotion(x))
        emo_loss = F.cross_entropy(logits, emo)
        loss = emo_loss
        vis = torch.from_numpy(data.viseme[rows]).to(device)
        known = vis >= 0
        vis_logits = None
        if has_visemes and bool(known.any()):
            vis_logits = head(model.encode_content(x))
            vis_loss = F.cross_entropy(vis_logits[known], vis[known])
            loss = loss + vis_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= steps * 0.8:
            with torch.no_grad():
                tallies[0] += float((logits.argmax(1) == emo).sum())
                tallies[1] += len(rows)
                if vis_logits is not None:
                    tallies[2] += float((vis_logits.argmax(1)[known] == vis[known]).sum())
                    tallies[3] += float(known.sum())
        yield Progress("Pretraining encoders", step + 1, steps)
    metrics = {
        "emotion_accuracy": float(tallies[0] / tallies[1]) if tallies[1] else float("nan"),
        "viseme_accuracy": float(tallies[2] / tallies[3]) if tallies[3] else float("nan"),
        "emotion_loss": float(emo_loss.detach()),
        "viseme_loss": float(vis_loss.detach()) if has_visemes else float("nan"),
    }
    log.info("pretraining: %s", metrics)
    return metrics
