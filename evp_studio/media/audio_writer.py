"""Writing audio-only files (m4a/AAC, wav, flac), atomically, like the video writer."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import cast

import av
import av.container
import numpy as np

from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.fileio import fsync_folder
from evp_studio.media._audio_track import AudioTrack, check_audio
from evp_studio.media._container import ffmpeg_reason
from evp_studio.media.writer import temp_path_for

log = logging.getLogger(__name__)

# extension -> (container format, codec, whether the encoder resamples to 48 kHz)
_FORMATS = {
    ".m4a": ("ipod", "aac", True),
    ".aac": ("adts", "aac", True),
    ".wav": ("wav", "pcm_s16le", False),
    ".flac": ("flac", "flac", False),
}


def write_audio(
    path: str | Path, samples: np.ndarray, rate: int, *, bit_rate: int = 128_000
) -> Path:
    """Encode ``samples`` into an audio file whose format follows the extension.

    Parameters
    ----------
    path
        Destination: ``.m4a`` (AAC, as MEAD ships), ``.aac``, ``.wav`` (16-bit PCM) or
        ``.flac``. Written under a temporary name and renamed when complete.
    samples
        ``(N,)`` or ``(N, C)`` float32 in [-1, 1], C in {1, 2}.
    rate
        Sample rate of ``samples``, Hz. AAC is encoded at 48 kHz; wav and flac keep ``rate``.
    bit_rate
        AAC bit rate, bit/s.

    Returns
    -------
    The path written.

    Raises
    ------
    InvalidInputError
        For an unknown extension or unusable samples.
    ExportError
        When writing fails; nothing is left behind.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise InvalidInputError(f"{path}: cannot write audio as {path.suffix!r} (use {known})")
    container_format, codec, resample = fmt
    audio = check_audio(samples, rate, path)
    assert audio is not None  # check_audio refuses empty or missing samples
    tmp = temp_path_for(path)
    try:
        container = cast(
            av.container.OutputContainer, av.open(str(tmp), "w", format=container_format)
        )
        try:
            track = AudioTrack(
                container,
                audio,
                rate=rate,
                codec=codec,
                out_rate=48_000 if resample else rate,
                bit_rate=bit_rate,
            )
            track.finish()
        finally:
            container.close()
        with open(tmp, "r+b") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (av.FFmpegError, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise ExportError(path, f"writing audio failed: {ffmpeg_reason(e)}") from e
    fsync_folder(path.parent)
    log.debug("wrote %s (%d samples at %d Hz)", path, len(audio), rate)
    return path
