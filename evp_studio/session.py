"""Opening media for an editing session: the jobs the editor runs when a file is opened.

Each function is a job (a generator of :class:`~evp_studio.jobs.Progress`) whose result is
a frozen bundle the views can use: a video reader with its timestamps, or a speech track's
waveform envelope and playback samples. They take only paths and numbers, so the GUI can
run them on a worker thread without sharing the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evp_studio.errors import NoVideoStreamError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.media import (
    MediaInfo,
    VideoReader,
    WaveformEnvelope,
    build_envelope,
    load_audio,
    probe,
)
from evp_studio.project import hash_media

PLAYBACK_RATE = 24_000  # Hz, mono float32 kept in memory for playback: 1 h ≈ 345 MB


@dataclass(frozen=True)
class LoadedVideo:
    """A target video ready for previewing.

    ``reader`` is not thread-safe: the editor hands it to one worker at a time.
    """

    path: Path
    info: MediaInfo
    reader: VideoReader
    timestamps: np.ndarray  # (N,) float64, s, presentation time of each frame index
    content_hash: str


@dataclass(frozen=True)
class LoadedAudio:
    """A speech track ready for the waveform view and playback."""

    path: Path
    info: MediaInfo
    envelope: WaveformEnvelope
    samples: np.ndarray  # (N,) float32 mono at ``sample_rate``
    sample_rate: int
    content_hash: str


def open_video(path: Path, *, cancel: CancelToken | None = None) -> Job[LoadedVideo]:
    """Probe, index and hash a video so it can be previewed frame-accurately.

    Raises
    ------
    MediaError
        If the file is not a readable video (names the file and the problem).
    """
    yield Progress(f"Opening {path.name}", 0, 3)
    info = probe(path)
    if info.video is None:
        raise NoVideoStreamError(path, "has no video stream")
    yield Progress(f"Indexing frames of {path.name}", 1, 3)
    reader = VideoReader(path)
    if cancel is not None:
        cancel.check()
    yield Progress(f"Hashing {path.name}", 2, 3)
    content_hash = hash_media(path)
    yield Progress(f"Opened {path.name}", 3, 3)
    return LoadedVideo(path, info, reader, reader.timestamps, content_hash)


def open_audio(path: Path, *, cancel: CancelToken | None = None) -> Job[LoadedAudio]:
    """Decode a speech track's waveform envelope and playback samples.

    Raises
    ------
    MediaError
        If the file has no readable audio (names the file and the problem).
    """
    yield Progress(f"Opening {path.name}", 0, 0)
    info = probe(path)
    envelope = yield from build_envelope(path, cancel=cancel)
    yield Progress(f"Decoding {path.name} for playback", 0, 0)
    samples = load_audio(path, sample_rate=PLAYBACK_RATE)
    content_hash = hash_media(path)
    return LoadedAudio(path, info, envelope, samples, PLAYBACK_RATE, content_hash)
