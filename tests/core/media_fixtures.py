"""Small media files generated in code for the media tests (PyAV only, no binaries).

Test frames carry their own index as a 4x4 grid of dark/bright cells (16 bits, one per
cell, least significant bit top-left), which survives any sane lossy codec, over a
gentle colour ramp so that the picture is not flat.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

_GRID = 4  # cells per side; 16 bits
_DARK, _BRIGHT = 50, 200
_CODECS = {
    ".wav": "pcm_s16le",
    ".mp3": "libmp3lame",
    ".m4a": "aac",
    ".flac": "flac",
    ".mka": "flac",
}


def index_frame(index: int, width: int, height: int) -> np.ndarray:
    """Return a ``(height, width, 3)`` uint8 RGB frame that encodes ``index``."""
    bits = (index >> np.arange(_GRID * _GRID)) & 1
    cells = np.where(bits.reshape(_GRID, _GRID) == 1, _BRIGHT, _DARK)
    rows = np.arange(height) * _GRID // height
    cols = np.arange(width) * _GRID // width
    lum = cells[rows[:, None], cols[None, :]].astype(np.int16)  # (H, W)
    ramp = (np.arange(width) * 20 // width).astype(np.int16)[None, :]  # 0..19 left to right
    rgb = np.stack([lum + ramp, lum, lum - ramp // 2], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def decode_index(frame: np.ndarray) -> int:
    """Read back the index from a (possibly lossy) frame made by :func:`index_frame`."""
    height, width = frame.shape[:2]
    value = 0
    for bit in range(_GRID * _GRID):
        r, c = divmod(bit, _GRID)
        y0, y1 = r * height // _GRID, (r + 1) * height // _GRID
        x0, x1 = c * width // _GRID, (c + 1) * width // _GRID
        # inner half of the cell: away from chroma and block edges
        dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
        cell = frame[y0 + dy : y1 - dy, x0 + dx : x1 - dx, 1]
        if cell.mean() > (_DARK + _BRIGHT) / 2:
            value |= 1 << bit
    return value


def vfr_times_ms(n_frames: int, seed: int = 0) -> list[int]:
    """Irregular frame start times, ms: steps drawn from 20..70 ms."""
    steps = np.random.default_rng(seed).integers(20, 71, size=n_frames - 1)
    return [0, *np.cumsum(steps).tolist()]


def write_test_video(
    path: Path,
    *,
    n_frames: int,
    size: tuple[int, int] = (64, 48),
    rate: Fraction = Fraction(25),
    with_tone: float | None = None,
    vfr: bool = False,
    gop: int | None = None,
    rotation: int = 0,
    faststart: bool = False,
) -> list[Fraction]:
    """Write an H.264 clip (B-frames on) whose frames encode their index.

    Parameters
    ----------
    path
        Output, .mp4/.mov/.mkv.
    n_frames
        Frame count.
    size
        ``(width, height)``.
    rate
        Exact frame rate (the nominal one when ``vfr``).
    with_tone
        Frequency of a 0.5-amplitude AAC sine track at 48 kHz as long as the video, Hz.
    vfr
        Irregular frame times from :func:`vfr_times_ms` in a 1/1000 time base.
    gop
        Keyframe interval, frames; None for x264's default.
    rotation
        Clockwise display rotation written as display-matrix side data, degrees.
    faststart
        mp4/mov only: put the index (moov) before the data.

    Returns
    -------
    list[Fraction]
        Start time of each frame, seconds.
    """
    width, height = size
    if vfr:
        times = [Fraction(t, 1000) for t in vfr_times_ms(n_frames)]
        time_base = Fraction(1, 1000)
    else:
        times = [i / rate for i in range(n_frames)]
        time_base = 1 / rate
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = _add_h264(container, size, rate, time_base, gop=gop, rotation=rotation)
        if vfr:
            stream.time_base = time_base
        audio = None
        if with_tone is not None:
            audio = container.add_stream("aac", rate=48000, layout="mono")
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(index_frame(i, width, height), format="rgb24")
            frame.pts = int(t / time_base)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None and with_tone is not None:
            end = times[-1] + (Fraction(1, 20) if vfr else 1 / rate)
            _mux_tone(container, audio, with_tone, end, amplitude=0.5)
    return times


def _add_h264(
    container: av.container.OutputContainer,
    size: tuple[int, int],
    rate: Fraction,
    time_base: Fraction,
    *,
    gop: int | None,
    rotation: int,
) -> av.VideoStream:
    stream = container.add_stream("libx264", rate=rate)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "18", "preset": "veryfast"}
    stream.codec_context.time_base = time_base
    if gop is not None:
        stream.codec_context.gop_size = gop
    if rotation:
        stream.set_display_rotation(-rotation)  # PyAV's angle is counter-clockwise
    return stream


def write_tone(
    path: Path,
    *,
    freq: float,
    seconds: float,
    rate: int = 16000,
    channels: int = 1,
    amplitude: float = 0.5,
) -> None:
    """Write a sine tone as wav/mp3/m4a/flac (by suffix), streaming in chunks.

    Parameters
    ----------
    path
        Output; the suffix picks the codec.
    freq
        Hz.
    seconds
        Length.
    rate
        Sample rate, Hz.
    channels
        1 or 2 (both channels carry the same tone).
    amplitude
        Peak value in (0, 1].
    """
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = cast(
            av.AudioStream, container.add_stream(_CODECS[path.suffix], rate=rate, layout=layout)
        )
        _mux_tone(container, stream, freq, Fraction(seconds), amplitude=amplitude)


def _mux_tone(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    freq: float,
    seconds: Fraction,
    *,
    amplitude: float,
) -> None:
    rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
    layout = stream.codec_context.layout.name
    total = int(seconds * rate)
    for start in range(0, total, 8192):
        t = np.arange(start, min(start + 8192, total)) / rate
        tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(
            np.tile(tone, (channels, 1)), format="fltp", layout=layout
        )
        frame.sample_rate, frame.pts = rate, start
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_empty_wav(path: Path) -> None:
    """Write a valid 16 kHz mono 16-bit wav header with zero samples."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"")


def tone_peak_hz(signal: np.ndarray, rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window, zero-padded to 1 s resolution/4)."""
    n = max(signal.shape[0], 4 * rate)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.shape[0]), n=n))
    return float(np.argmax(spectrum) * rate / n)


def rms_db(signal: np.ndarray) -> float:
    """Root-mean-square level, dBFS."""
    return float(20 * np.log10(np.sqrt(np.mean(np.square(signal, dtype=np.float64)))))
