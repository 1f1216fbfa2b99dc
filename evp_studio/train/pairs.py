"""Pseudo training pairs for Cross-Reconstructed Emotion Disentanglement (paper Fig. 3).

Construction
------------
Clips are grouped by actor, view and spoken text (``emotion_pairs``; the pairing mode comes
from the corpus manifest's ``"pairing"`` when present, else ``"mead"``). In each group the
clip with the lowest emotion label (angry when present, as in the official code) is the
reference; every other clip is DTW-aligned onto the reference timeline
(:func:`evp_studio.audio.aligned_windows` on the padded 13-coefficient MFCC), so window
``k`` of every clip in the group says the same content. A *content unit* is one
(group, k).

For every emotion pair (a, b) of a group and every window k, the dataset has two items,
one per direction. An item with content i = (group, k), emotion m = a.label and emotion
n = b.label (m != n always) is::

    x_im        = window k of a            (content i, emotion m)   encoder input
    x_in_target = window k of b            (content i, emotion n)   DTW-aligned target
    x_jn        = window k' of b'          (content j, emotion n)   encoder input
    x_jm_target = window k' of a'          (content j, emotion m)   DTW-aligned target

where (a', b', k') is another item with the same ordered labels (m, n) and a different
content unit: another sentence, actor, or window of the same sentence. The partner j is
drawn by a generator seeded with (seed, epoch, index), so an epoch is reproducible; call
:meth:`PairDataset.set_epoch` to draw new partners.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import Dataset

from evp_studio.audio import aligned_windows, frame_windows, padded_mfcc
from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip, ContentMode, content_group, emotion_pairs
from evp_studio.data.synth import MANIFEST
from evp_studio.errors import InvalidInputError
from evp_studio.media import load_audio
from evp_studio.pipeline.constants import SAMPLE_RATE

__all__ = ["PairDataset", "PairItem", "build_pair_windows", "pairing_mode"]

log = logging.getLogger(__name__)

_MFCC_NAME = "padded_mfcc13"
_MFCC_PARAMS = {"sample_rate": SAMPLE_RATE, "pad": 1920, "version": 1}
_PARTNER_TRIES = 8

#: (x_im, x_jn, x_in_target, x_jm_target, label_m, label_n); windows (1, 28, 12) float32.
PairItem = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int, int]


def pairing_mode(root: str | Path) -> ContentMode:
    """Return the corpus manifest's ``"pairing"`` mode, or ``"mead"`` without a manifest.

    Parameters
    ----------
    root
        Corpus root folder.

    Returns
    -------
    ContentMode
        ``"same_id"`` or ``"mead"``.

    Raises
    ------
    InvalidInputError
        When the manifest is unreadable or names an unknown mode.
    """
    path = Path(root) / MANIFEST
    if not path.exists():
        return "mead"
    try:
        mode = json.loads(path.read_text(encoding="utf-8")).get("pairing", "mead")
    except (OSError, ValueError, AttributeError) as e:
        raise InvalidInputError(f"{path}: unreadable corpus manifest ({e})") from e
    if mode not in ("mead", "same_id"):
        raise InvalidInputError(f"{path}: unknown pairing mode {mode!r}")
    return cast(ContentMode, mode)


@dataclass(frozen=True)
class _Tables:
    windows: list[np.ndarray]  # per aligned clip: (N_g, 28, 12) float32
    labels: np.ndarray  # (n_sources,) int64, emotion label of each aligned clip
    items: np.ndarray  # (n_items, 4) int64: source m, source n, window k, group


class PairDataset(Dataset[PairItem]):
    """Torch dataset of pseudo training pairs (see the module docstring).

    Parameters
    ----------
    tables
        Windows and item table made by :func:`build_pair_windows`.
    summary
        Counts describing the data (JSON-friendly).
    seed
        Seeds the choice of the partner content j.
    """

    def __init__(self, tables: _Tables, summary: dict[str, Any], seed: int = 0) -> None:
        self._t = tables
        self.summary = summary
        self.seed = seed
        self.epoch = 0
        self._by_labels: dict[tuple[int, int], np.ndarray] = {}
        lab = tables.labels[tables.items[:, :2]]  # (n_items, 2)
        for key in {(int(m), int(n)) for m, n in lab}:
            self._by_labels[key] = np.flatnonzero((lab[:, 0] == key[0]) & (lab[:, 1] == key[1]))

    def set_epoch(self, epoch: int) -> None:
        """Draw the partners j of another epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return int(self._t.items.shape[0])

    def _partner(self, index: int) -> int:
        items = self._t.items
        src_m, src_n, k, group = (int(v) for v in items[index])
        labels = (int(self._t.labels[src_m]), int(self._t.labels[src_n]))
        pool = self._by_labels[labels]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        choice = index
        for _ in range(_PARTNER_TRIES):
            choice = int(pool[rng.integers(len(pool))])
            if (int(items[choice, 3]), int(items[choice, 2])) != (group, k):
                break
        return choice

    def __getitem__(self, index: int) -> PairItem:
        if not 0 <= index < len(self):
            raise IndexError(index)
        w, items = self._t.windows, self._t.items
        src_m, src_n, k, _ = (int(v) for v in items[index])
        j_m, j_n, kj, _ = (int(v) for v in items[self._partner(index)])

        def win(src: int, at: int) -> torch.Tensor:
            return torch.from_numpy(w[src][at]).unsqueeze(0)

        return (
            win(src_m, k),
            win(j_n, kj),
            win(src_n, k),
            win(j_m, kj),
            int(self._t.labels[src_m]),
            int(self._t.labels[src_n]),
        )

    def source_windows(self) -> list[tuple[int, np.ndarray]]:
        """Every aligned clip's windows with its emotion label, for per-category statistics.

        Returns
        -------
        list of (int, np.ndarray)
            ``(label, (N, 28, 12) float32)`` per clip.
        """
        return [(int(lab), w) for lab, w in zip(self._t.labels, self._t.windows, strict=True)]


def _clip_mfcc(clip: Clip, cache: FeatureCache | None) -> np.ndarray:
    def compute(c: Clip) -> dict[str, np.ndarray]:
        if c.audio is None:
            raise InvalidInputError(f"clip {c.key} has no audio file")
        return {"mfcc": padded_mfcc(load_audio(c.audio, sample_rate=SAMPLE_RATE))}

    if cache is None:
        return compute(clip)["mfcc"]
    return cache.get_or_compute(clip, _MFCC_NAME, _MFCC_PARAMS, compute, uses=("audio",))["mfcc"]


def _align_group(
    group: list[tuple[Clip, Clip]], feats: dict[Clip, np.ndarray]
) -> dict[Clip, np.ndarray]:
    clips = sorted({c for pair in group for c in pair}, key=lambda c: c.sort_key)
    ref = min(clips, key=lambda c: (c.label, c.level))
    ref_feats = feats[ref]
    out = {ref: np.ascontiguousarray(frame_windows(ref_feats[:, 1:]), dtype=np.float32)}
    for clip in clips:
        if clip != ref:
            out[clip] = aligned_windows(ref_feats, feats[clip])[1]
    return out


def build_pair_windows(
    root: str | Path,
    clips: Sequence[Clip],
    *,
    cache: FeatureCache | None,
    window_stride: int = 1,
    seed: int = 0,
) -> PairDataset:
    """Build the pseudo training pairs of a corpus (see the module docstring).

    Parameters
    ----------
    root
        Corpus root; its manifest's ``"pairing"`` decides which sentence ids match.
    clips
        Clips with audio, e.g. ``scan_mead(root, require=("audio",)).clips``.
    cache
        Stores each clip's padded 13-coefficient MFCC when given.
    window_stride
        Keep every ``window_stride``-th aligned window (1 keeps all).
    seed
        Seeds the choice of partner content j.

    Returns
    -------
    PairDataset
        The dataset.

    Raises
    ------
    InvalidInputError
        When no emotion pair can be formed, or a clip's audio is unusable.
    """
    if window_stride < 1:
        raise InvalidInputError(f"window_stride must be >= 1, got {window_stride}")
    mode = pairing_mode(root)
    pairs = emotion_pairs(clips, content=mode)
    if not pairs:
        raise InvalidInputError(f"no emotion pairs among {len(clips)} clips (pairing {mode!r})")
    feats = {c: _clip_mfcc(c, cache) for c in sorted({c for p in pairs for c in p}, key=_key)}
    windows: list[np.ndarray] = []
    labels: list[int] = []
    rows: list[np.ndarray] = []
    groups = _text_groups(pairs, mode)
    for g, group in enumerate(groups):
        aligned = _align_group(group, feats)
        index: dict[Clip, int] = {}
        for clip, w in aligned.items():
            index[clip] = len(windows)
            windows.append(w)
            labels.append(clip.label)
        n_windows = next(iter(aligned.values())).shape[0]
        rows.extend(_item_rows(group, index, np.arange(0, n_windows, window_stride), g))
    items = np.concatenate(rows).astype(np.int64)
    tables = _Tables(windows=windows, labels=np.asarray(labels, dtype=np.int64), items=items)
    counts = {"pairing": mode, "clips": len(feats), "groups": len(groups), "pairs": len(pairs)}
    summary = {**counts, **_table_counts(tables), "window_stride": window_stride}
    log.info("pair windows: %s", summary)
    return PairDataset(tables, summary, seed=seed)


def _table_counts(tables: _Tables) -> dict[str, Any]:
    return {
        "items": int(tables.items.shape[0]),
        "windows": int(sum(w.shape[0] for w in tables.windows)),
        "emotions": sorted({int(lab) for lab in tables.labels}),
    }


def _item_rows(
    group: list[tuple[Clip, Clip]], index: dict[Clip, int], ks: np.ndarray, g: int
) -> list[np.ndarray]:
    """(n, 4) item rows (source m, source n, window k, group) of a group, both directions."""
    rows = []
    for a, b in group:
        for src_m, src_n in ((index[a], index[b]), (index[b], index[a])):
            cols = [np.full_like(ks, src_m), np.full_like(ks, src_n), ks, np.full_like(ks, g)]
            rows.append(np.stack(cols, axis=1))
    return rows


def _key(clip: Clip) -> tuple[str, int, int, int, int, str]:
    return clip.sort_key


def _text_groups(
    pairs: Sequence[tuple[Clip, Clip]], mode: ContentMode
) -> list[list[tuple[Clip, Clip]]]:
    """Split pairs by (actor, view, text): the clips DTW-aligned onto one reference."""
    by_group: dict[tuple[str, str, int], list[tuple[Clip, Clip]]] = {}
    for a, b in pairs:
        group = content_group(a, content=mode)
        if group is not None:
            by_group.setdefault((a.actor, a.view, group), []).append((a, b))
    return [by_group[k] for k in sorted(by_group)]
