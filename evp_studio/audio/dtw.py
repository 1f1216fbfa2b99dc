"""Dynamic time warping of MFCC sequences: pseudo training pairs for the disentanglement.

The paper (EVP, section 3.2, "Build Pseudo Training Pairs") says:

    "DTW calculates a set of index coordinate pairs {(i, j), ...} by dynamic programming to
    force S_a[i] and S_b[j] to be similar. The optimal match between the given sequences is
    achieved by minimizing the sum of a distance cost between the aligned MFCC features:
    min sum_{(i,j) in P} d(S_a[i], S_b[j]) (1) [...] The path constraint is that, at (i, j),
    the valid steps are (i + 1, j), (i, j + 1), and (i + 1, j + 1), making sure that the
    alignment always moves forward each time for at least one of the signals."

So the step pattern is the standard symmetric one with unit weights: every cell on the path
adds its cost once, a diagonal step is not weighted twice, and there is no slope constraint
or band. This is also what the official ``MFCC_dtw.py`` gets from the ``dtw`` package it
bundles (``dtw(x, y, dist)``, off-diagonal weight 1): ``acc[i, j] = cost[i, j] +
min(acc[i-1, j-1], acc[i-1, j], acc[i, j-1])``, with ``d`` the L1 distance between frames of
the full 13-coefficient MFCC of the 1920-sample padded audio. The traceback breaks ties the
same way as that package: diagonal first, then a step back in ``x``, then in ``y``.

Aligning ``other`` onto ``ref`` follows the official loop ``aligned[b[l]] = other[a[l]]`` over
the path (``a`` into other, ``b`` into ref): each reference frame takes the *last* source
frame matched to it, so the result has the reference's length. One deliberate difference: the
official loop starts at path step 1 and so leaves reference frame 0 holding the reference's
own frame whenever only the first step maps to it; here frame 0 takes ``other``'s frame too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from scipy.spatial.distance import cdist

from evp_studio.audio.mfcc import padded_mfcc
from evp_studio.audio.windows import frame_windows
from evp_studio.errors import InvalidInputError
from evp_studio.media import load_audio
from evp_studio.pipeline.constants import N_MFCC, SAMPLE_RATE

MAX_CELLS: Final = 16_000_000  # cost-matrix cells (2 x 128 MB float64): ~40 s x 40 s of MFCC


@dataclass(frozen=True)
class DtwResult:
    """An optimal warping path between sequences ``x`` and ``y``."""

    path: np.ndarray  # (L, 2) int64, rows (i into x, j into y), from (0, 0) to (T_x-1, T_y-1)
    total_cost: float  # sum of the L1 frame distances along the path (eq. 1 of the paper)


def _check_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x`` and ``y`` as float64 ``(T, D)`` arrays or raise InvalidInputError."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InvalidInputError(
            f"DTW inputs of shapes {a.shape} and {b.shape}: expected (T_x, D) and (T_y, D)"
        )
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise InvalidInputError(f"DTW inputs of shapes {a.shape} and {b.shape}: empty sequence")
    if a.shape[0] * b.shape[0] > MAX_CELLS:
        raise InvalidInputError(
            f"DTW of {a.shape[0]} x {b.shape[0]} frames: more than {MAX_CELLS} cells; "
            "align sentence-length clips, not whole recordings"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInputError("DTW inputs contain NaN or inf")
    return a, b


def accumulate(cost: np.ndarray) -> np.ndarray:
    """Accumulate a cost matrix with the symmetric unit-weight step pattern.

    Parameters
    ----------
    cost
        ``(T_x, T_y)`` non-negative local costs.

    Returns
    -------
    np.ndarray
        ``(T_x + 1, T_y + 1)`` float64 with ``acc[0, 0] = 0``, ``inf`` on the rest of row and
        column 0, and ``acc[i + 1, j + 1] = cost[i, j] + min(acc[i, j], acc[i, j + 1],
        acc[i + 1, j])``. Computed one anti-diagonal at a time: each anti-diagonal depends
        only on the two before it, and is a strided slice of the flattened matrix.
    """
    c = np.ascontiguousarray(cost, dtype=np.float64)
    rows, cols = c.shape
    acc = np.full((rows + 1, cols + 1), np.inf)
    acc[0, 0] = 0.0
    flat, cflat, width = acc.reshape(-1), c.reshape(-1), cols + 1
    cstep = max(cols - 1, 1)  # anti-diagonal step in ``cost`` (unused when cols == 1)
    for k in range(rows + cols - 1):
        lo, hi = max(0, k - cols + 1), min(rows - 1, k)
        start = (lo + 1) * width + (k - lo + 1)  # acc cell of cost[lo, k - lo]
        stop = start + (hi - lo) * cols + 1  # successive cells are (i + 1, j - 1): +cols
        cstart = lo * cols + (k - lo)
        best = np.minimum(
            flat[start - width - 1 : stop - width - 1 : cols],
            flat[start - width : stop - width : cols],
        )
        np.minimum(best, flat[start - 1 : stop - 1 : cols], out=best)
        best += cflat[cstart : cstart + (hi - lo) * cstep + 1 : cstep]
        flat[start:stop:cols] = best
    return acc


def _backtrack(acc: np.ndarray) -> np.ndarray:
    """Walk back from the end of ``acc`` (from :func:`accumulate`) to ``(0, 0)``."""
    flat, width = acc.reshape(-1), acc.shape[1]
    i, j = acc.shape[0] - 2, acc.shape[1] - 2
    steps = [(i, j)]
    while i > 0 or j > 0:
        f = (i + 1) * width + (j + 1)
        diag, up, left = flat[f - width - 1], flat[f - width], flat[f - 1]
        if diag <= up and diag <= left:  # ties: diagonal, then back in x, then back in y
            i, j = i - 1, j - 1
        elif up <= left:
            i -= 1
        else:
            j -= 1
        steps.append((i, j))
    return np.asarray(steps[::-1], dtype=np.int64)


def dtw(x: np.ndarray, y: np.ndarray) -> DtwResult:
    """Align two feature sequences with DTW (L1 frame distance, symmetric unit steps).

    Parameters
    ----------
    x
        ``(T_x, D)`` features.
    y
        ``(T_y, D)`` features.

    Returns
    -------
    DtwResult
        The optimal path (monotone, steps (1, 0), (0, 1), (1, 1)) and its total cost.

    Raises
    ------
    InvalidInputError
        When the shapes disagree, a sequence is empty or has NaN/inf, or ``T_x * T_y``
        exceeds ``MAX_CELLS``.
    """
    a, b = _check_pair(x, y)
    acc = accumulate(cdist(a, b, "cityblock"))  # (T_x + 1, T_y + 1)
    return DtwResult(path=_backtrack(acc), total_cost=float(acc[-1, -1]))


def align_to_reference(ref_feats: np.ndarray, other_feats: np.ndarray) -> np.ndarray:
    """Map every reference frame to a frame of ``other`` (the official MFCC_dtw approach).

    Parameters
    ----------
    ref_feats
        ``(T_r, D)`` reference features (the angry clip in the official data).
    other_feats
        ``(T_o, D)`` features of the same sentence in another emotion.

    Returns
    -------
    np.ndarray
        ``(T_r,)`` int64, non-decreasing: ``other_feats[idx]`` is ``other`` warped onto the
        reference timeline. ``idx[j]`` is the last ``other`` frame the path matches to ``j``.

    Raises
    ------
    InvalidInputError
        As :func:`dtw`.
    """
    path = dtw(other_feats, ref_feats).path  # official order: dtw(other, ref)
    last = np.append(path[1:, 1] != path[:-1, 1], True)  # last step of each ref frame
    return path[last, 0]


def aligned_windows(
    ref_feats: np.ndarray, other_feats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cut matching 28x12 windows from a reference and another clip warped onto it.

    Parameters
    ----------
    ref_feats
        ``(T_r, 13)`` full MFCC of the padded reference audio (:func:`padded_mfcc`).
    other_feats
        ``(T_o, 13)`` full MFCC of the padded other audio.

    Returns
    -------
    tuple of np.ndarray
        ``(ref_windows, other_windows)``, each ``(N, 28, 12)`` float32 C-contiguous,
        ``N = (T_r - 28) // 4 + 1``: window ``i`` is rows ``4i ... 4i + 27``, c1..c12, of the
        reference and of ``other`` warped by :func:`align_to_reference` (DTW on all 13).

    Raises
    ------
    InvalidInputError
        When a sequence does not have 13 columns, or as :func:`dtw`.
    """
    ref, other = np.asarray(ref_feats), np.asarray(other_feats)
    if ref.ndim != 2 or other.ndim != 2 or ref.shape[1] != N_MFCC or other.shape[1] != N_MFCC:
        raise InvalidInputError(
            f"MFCC of shapes {ref.shape} and {other.shape}: expected (T, {N_MFCC}) each"
        )
    warped = other[align_to_reference(ref, other)]  # (T_r, 13)
    return (
        np.ascontiguousarray(frame_windows(ref[:, 1:]), dtype=np.float32),
        np.ascontiguousarray(frame_windows(warped[:, 1:]), dtype=np.float32),
    )


def emotion_pair_windows(
    clips: Mapping[str, str | Path | np.ndarray], *, reference: str = "angry"
) -> dict[str, np.ndarray]:
    """Window one sentence spoken in several emotions on the reference clip's timeline.

    Parameters
    ----------
    clips
        Emotion name -> media file (loaded at 16 kHz mono) or ``(n,)`` samples at 16 kHz.
    reference
        The emotion whose timeline all others are warped onto (the official code uses angry).

    Returns
    -------
    dict of str to np.ndarray
        Emotion -> ``(N, 28, 12)`` float32 windows; ``N`` is the same for every emotion and
        window ``k`` holds the same content in all of them.

    Raises
    ------
    InvalidInputError
        When ``reference`` is not among ``clips``, or a clip is unusable (as :func:`dtw`).
    """
    if reference not in clips:
        raise InvalidInputError(f"reference emotion {reference!r} not among {sorted(clips)}")
    feats = {name: _clip_mfcc(name, src) for name, src in clips.items()}
    ref = feats[reference]
    ref_windows = np.ascontiguousarray(frame_windows(ref[:, 1:]))
    return {
        name: ref_windows if name == reference else aligned_windows(ref, mfcc_13)[1]
        for name, mfcc_13 in feats.items()
    }


def _clip_mfcc(name: str, src: str | Path | np.ndarray) -> np.ndarray:
    """Padded 13-d MFCC of one clip; sample errors are prefixed with the emotion's name.

    Media errors already name their file and keep their type (``MediaError`` etc.).
    """
    audio = src if isinstance(src, np.ndarray) else load_audio(src, sample_rate=SAMPLE_RATE)
    try:
        return padded_mfcc(audio)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{name} clip: {exc}") from exc
