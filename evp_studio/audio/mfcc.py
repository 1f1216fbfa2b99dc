"""MFCC exactly as the official EVP code computes it (python_speech_features defaults).

The official code calls ``python_speech_features.mfcc(signal, 16000, winstep=0.01)`` on audio
padded with 1920 zeros at each end, and the models use coefficients 1..12. This module
re-implements that computation with vectorised numpy/scipy, step by step:

1. pre-emphasis ``y[n] = x[n] - 0.97 x[n-1]`` (``y[0] = x[0]``);
2. framing: 400-sample frames every 160 samples, rectangular window, the last frame zero
   padded; ``1`` frame when ``len <= 400``, else ``1 + ceil((len - 400) / 160)``;
3. power spectrum ``|rfft(frame, 512)|^2 / 512``;
4. 26 triangular mel filters on integer FFT bins ``floor(513 * mel2hz(m) / sr)``;
5. ``log`` of the filter energies, exact zeros replaced by ``np.finfo(float).eps`` first;
6. DCT-II (``norm="ortho"``), first 13 cepstra, lifter ``1 + 11 sin(pi n / 22)``;
7. c0 replaced by the log frame energy (sum of the power spectrum, zero -> eps).

Arithmetic is float64 throughout, as in the official pipeline (its ``np.append`` of the float64
padding upcasts librosa's float32 samples before python_speech_features sees them); results are
returned as float32. The test suite compares against python_speech_features itself.
"""

from __future__ import annotations

import decimal
import functools

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from evp_studio.errors import InvalidInputError
from evp_studio.pipeline.constants import N_MFCC, PAD_SAMPLES, SAMPLE_RATE

WIN_LENGTH_S = 0.025  # s, analysis frame length (python_speech_features default)
WIN_STEP_S = 0.01  # s, hop between frames (the official code's winstep)
N_FILTERS = 26  # mel filters
N_FFT = 512  # FFT size, samples (frames are zero padded from 400 to 512)
PREEMPHASIS = 0.97  # pre-emphasis coefficient
CEP_LIFTER = 22  # cepstral lifter parameter L
_BLOCK_FRAMES = 4096  # MFCC frames per block (41 s of audio; 8 MB of float64 frames)
_EPS = float(np.finfo(float).eps)  # replaces exact zeros before log (python_speech_features)


def _round_half_up(value: float) -> int:
    """Round like python_speech_features' ``round_half_up`` (decimal, ties away from zero)."""
    return int(decimal.Decimal(value).quantize(decimal.Decimal("1"), decimal.ROUND_HALF_UP))


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return np.asarray(2595 * np.log10(1 + np.asarray(hz) / 700.0))


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return np.asarray(700 * (10 ** (mel / 2595.0) - 1))


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Return python_speech_features' mel filterbank (``get_filterbanks``), transposed.

    Parameters
    ----------
    sample_rate
        Sample rate, Hz; the filters span 0 Hz to ``sample_rate / 2``.

    Returns
    -------
    np.ndarray
        ``(N_FFT // 2 + 1, N_FILTERS)`` float64, read-only: column j is filter j. Edges lie on
        integer bins ``floor((N_FFT + 1) * mel2hz(m) / sample_rate)``; a filter rises from 0 at
        its left edge to 1 at its centre bin and falls to 0 at its right edge (exclusive).
    """
    mel_points = np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), N_FILTERS + 2)
    edges = np.floor((N_FFT + 1) * _mel_to_hz(mel_points) / sample_rate)  # (N_FILTERS + 2,)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (F, 1) each
    bins = np.arange(N_FFT // 2 + 1, dtype=np.float64)[None, :]  # (1, K)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty ramps are masked out below
        rising = np.where((bins >= left) & (bins < centre), (bins - left) / (centre - left), 0.0)
        falling = np.where(
            (bins >= centre) & (bins < right), (right - bins) / (right - centre), 0.0
        )
    bank = np.ascontiguousarray((rising + falling).T)  # (K, F)
    bank.flags.writeable = False
    return bank


@functools.lru_cache(maxsize=1)
def _lifter() -> np.ndarray:
    lift = 1 + (CEP_LIFTER / 2.0) * np.sin(np.pi * np.arange(N_MFCC) / CEP_LIFTER)  # (13,)
    lift.flags.writeable = False
    return lift


def _emphasised(x: np.ndarray, frame_len: int, step: int) -> tuple[np.ndarray, int]:
    """Pre-emphasise ``x`` like ``sigproc.framesig``'s input; return it and the frame count.

    The tail is zero padded to a whole number of frames, as python_speech_features does.
    """
    n = x.shape[0]
    n_frames = 1 if n <= frame_len else 1 + -(-(n - frame_len) // step)  # ceil division
    emphasised = np.zeros((n_frames - 1) * step + frame_len, dtype=np.float64)
    emphasised[0] = x[0]
    np.multiply(x[:-1], -PREEMPHASIS, out=emphasised[1:n])
    emphasised[1:n] += x[1:]  # y[n] = x[n] - 0.97 x[n - 1], same rounding as the reference
    return emphasised, n_frames


def _frame_block(
    emphasised: np.ndarray, first: int, stop: int, frame_len: int, step: int
) -> np.ndarray:
    """Frames ``first .. stop-1`` of the emphasised signal, zero padded to ``N_FFT``.

    Returns a ``(stop - first, N_FFT)`` float64 array ready for ``rfft`` without a further
    copy; columns past ``frame_len`` are zero (what ``rfft(frames, N_FFT)`` pads), and frames
    longer than ``N_FFT`` are truncated (what it truncates).
    """
    framed = sliding_window_view(emphasised, frame_len)[first * step : stop * step : step]
    width = min(frame_len, N_FFT)
    out = np.empty((stop - first, N_FFT), dtype=np.float64)
    out[:, :width] = framed[:, :width]
    out[:, width:] = 0.0
    return out


def _check_signal(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """Return ``signal`` as 1-D float64 or raise InvalidInputError naming what is wrong."""
    if sample_rate <= 0 or _round_half_up(WIN_STEP_S * sample_rate) < 1:
        raise InvalidInputError(f"sample rate {sample_rate} Hz: too low for a 10 ms hop")
    arr = np.asarray(signal)
    if arr.ndim != 1:
        raise InvalidInputError(f"audio of shape {arr.shape}: expected 1-D mono samples")
    if arr.shape[0] == 0:
        raise InvalidInputError("audio has 0 samples: nothing to compute MFCC from")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InvalidInputError(f"audio of dtype {arr.dtype}: expected real numbers")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"audio has {int((~np.isfinite(arr)).sum())} NaN/inf samples")
    return arr


def mfcc(signal: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Compute ``python_speech_features.mfcc(signal, sample_rate, winstep=0.01)``.

    Parameters
    ----------
    signal
        ``(N,)`` mono samples, any real dtype (computed in float64), ``N >= 1``.
    sample_rate
        Sample rate of ``signal``, Hz.

    Returns
    -------
    np.ndarray
        ``(T, 13)`` float32; ``T = 1`` when ``N <= frame_len`` else
        ``1 + ceil((N - frame_len) / hop)`` with ``frame_len = round(0.025 sr)`` and
        ``hop = round(0.01 sr)`` (400 and 160 at 16 kHz). Column 0 is the log frame energy.

    Raises
    ------
    InvalidInputError
        When ``signal`` is empty, not 1-D, not real, or has NaN/inf; or the rate is below 50 Hz.
    """
    return _mfcc(_check_signal(signal, sample_rate), sample_rate)


def _mfcc(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """:func:`mfcc` of a checked, non-empty, finite 1-D float64 signal.

    Frames are processed in blocks of ``_BLOCK_FRAMES``, so that the float64 spectra of long
    speech (10 minutes: 60,000 frames) never sit in memory at once; every frame's result is
    the same as in one block.
    """
    frame_len = _round_half_up(WIN_LENGTH_S * sample_rate)
    step = _round_half_up(WIN_STEP_S * sample_rate)
    emphasised, n_frames = _emphasised(x, frame_len, step)
    bank = mel_filterbank(sample_rate)
    out = np.empty((n_frames, N_MFCC), dtype=np.float32)
    for first in range(0, n_frames, _BLOCK_FRAMES):
        stop = min(n_frames, first + _BLOCK_FRAMES)
        frames = _frame_block(emphasised, first, stop, frame_len, step)  # (B, 512)
        spectrum = scipy.fft.rfft(frames, axis=1)  # (B, 257) complex128
        power = spectrum.real**2  # (B, 257) |X|^2 / N_FFT, built in place
        power += spectrum.imag**2
        power *= 1.0 / N_FFT
        energy = power.sum(axis=1)  # (B,) total (unwindowed) frame energy
        energy[energy == 0] = _EPS
        mel = power @ bank  # (B, 26)
        mel[mel == 0] = _EPS
        cepstra = scipy.fft.dct(np.log(mel), type=2, axis=1, norm="ortho")[:, :N_MFCC]
        cepstra *= _lifter()
        cepstra[:, 0] = np.log(energy)
        out[first:stop] = cepstra
    return out


def padded_mfcc(audio: np.ndarray) -> np.ndarray:
    """Return the full 13-coefficient MFCC of 16 kHz audio padded as the official code does.

    Parameters
    ----------
    audio
        ``(N,)`` mono samples at 16 kHz.

    Returns
    -------
    np.ndarray
        ``(T_mfcc, 13)`` float32: :func:`mfcc` of ``audio`` with ``PAD_SAMPLES`` (1920) zeros
        put before and after it; ``T_mfcc = 1 + ceil((N + 3440) / 160)``.

    Raises
    ------
    InvalidInputError
        When ``audio`` is empty, not 1-D, not real, or has NaN/inf.
    """
    x = _check_signal(audio, SAMPLE_RATE)
    padded = np.zeros(x.shape[0] + 2 * PAD_SAMPLES, dtype=np.float64)
    padded[PAD_SAMPLES : PAD_SAMPLES + x.shape[0]] = x
    return _mfcc(padded, SAMPLE_RATE)


def evp_features(audio: np.ndarray) -> np.ndarray:
    """Return the models' MFCC features: padded MFCC with c0 dropped, not normalised.

    Parameters
    ----------
    audio
        ``(N,)`` mono samples at 16 kHz.

    Returns
    -------
    np.ndarray
        ``(T_mfcc, 12)`` float32, coefficients c1..c12 of :func:`padded_mfcc` (a view).

    Raises
    ------
    InvalidInputError
        When ``audio`` is empty, not 1-D, not real, or has NaN/inf.
    """
    return padded_mfcc(audio)[:, 1:]
