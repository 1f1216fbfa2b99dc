"""The audio track of an export: samples given up front, encoded alongside the frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import av.container
import numpy as np

from evp_studio.errors import InvalidInputError

# Input samples per encoder call; the encoder regroups them into its own frame size.
_CHUNK = 4096
_LAYOUTS = {1: "mono", 2: "stereo"}


def check_audio(audio: np.ndarray | None, audio_rate: int | None, path: Path) -> np.ndarray | None:
    """Validate export audio and return it as ``(N, C)`` float32, or None.

    Parameters
    ----------
    audio
        ``(N,)`` mono or ``(N, C)`` with C in {1, 2}, float, nominally in [-1, 1].
    audio_rate
        Hz; required with ``audio``.
    path
        The output, for messages.

    Returns
    -------
    np.ndarray | None
        ``(N, C)`` float32 (a view when already so), or None without audio.

    Raises
    ------
    InvalidInputError
        When the shape, dtype, rate or values are unusable.
    """
    if audio is None:
        return None
    if audio_rate is None or audio_rate <= 0:
        raise InvalidInputError(f"{path}: audio given without a valid audio_rate ({audio_rate})")
    if not np.issubdtype(audio.dtype, np.floating):
        raise InvalidInputError(f"{path}: audio must be float in [-1, 1], got {audio.dtype}")
    samples = audio[:, None] if audio.ndim == 1 else audio
    if samples.ndim != 2 or samples.shape[1] not in _LAYOUTS or samples.shape[0] == 0:
        raise InvalidInputError(
            f"{path}: audio must be (N,) or (N, 1|2) with N > 0, got shape {audio.shape}"
        )
    if not np.all(np.isfinite(samples)):
        raise InvalidInputError(f"{path}: audio contains NaN or infinite samples")
    return samples.astype(np.float32, copy=False)


class AudioTrack:
    """Encodes given samples into an output container, on demand up to a sample position.

    H.264 exports get AAC at ``config.audio_bitrate``; ProRes exports get 16-bit PCM, as
    editing software expects next to ProRes. The encoder resamples to its own rate.
    Timestamps count samples from 0, so audio and video both start at 0.

    Parameters
    ----------
    container
        Output container, before its header is written.
    samples
        ``(N, C)`` float32 from :func:`check_audio`.
    rate
        Rate of ``samples``, Hz.
    codec
        ``"aac"`` or ``"pcm_s16le"``.
    out_rate
        Encoded rate, Hz.
    bit_rate
        AAC bit rate, bit/s.
    """

    def __init__(
        self,
        container: av.container.OutputContainer,
        samples: np.ndarray,
        *,
        rate: int,
        codec: str,
        out_rate: int,
        bit_rate: int,
    ) -> None:
        self._container = container
        self._samples = samples
        self._rate = rate
        self._layout = _LAYOUTS[samples.shape[1]]
        self._stream = cast(
            av.AudioStream, container.add_stream(codec, rate=out_rate, layout=self._layout)
        )
        if codec == "aac":
            self._stream.bit_rate = bit_rate
        self._pushed = 0  # input samples handed to the encoder so far

    @property
    def n_samples(self) -> int:
        """Length of the track, input samples."""
        return int(self._samples.shape[0])

    def samples_until(self, t_s: Fraction) -> int:
        """Input samples that fall before time ``t_s``."""
        return min(self.n_samples, int(t_s * self._rate))

    def push_until(self, end: int) -> None:
        """Encode and mux input samples up to ``end`` (exclusive)."""
        end = min(end, self.n_samples)
        while self._pushed < end:
            stop = min(end, self._pushed + _CHUNK)
            # (C, n) planar copy; clip never writes into the caller's array
            planar = np.ascontiguousarray(np.clip(self._samples[self._pushed : stop].T, -1, 1))
            frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=self._layout)
            frame.sample_rate = self._rate
            frame.time_base = Fraction(1, self._rate)
            frame.pts = self._pushed
            self._container.mux(self._stream.encode(frame))
            self._pushed = stop

    def finish(self) -> None:
        """Encode every remaining sample and flush the encoder."""
        self.push_until(self.n_samples)
        self._container.mux(self._stream.encode(None))
