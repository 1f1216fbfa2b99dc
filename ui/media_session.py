"""The media the editor has open for the current document, loaded off the GUI thread.

Follows the document: when its target video or speech track changes (open, undo, relink),
:meth:`MediaSession.sync` loads the new file as a background job and drops the old one.
Frames for the preview are decoded on a worker, newest request first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from evp_studio.project import Document, MediaStatus
from evp_studio.session import LoadedAudio, LoadedVideo, open_audio, open_video
from ui.workers import JobQueue, LatestWinsFetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _FrameRequest:
    video: LoadedVideo
    index: int


def _decode(req: _FrameRequest) -> np.ndarray:
    return req.video.reader.read(req.index)


class MediaSession(QObject):
    """Loaded target video and speech track, and the preview-frame fetcher.

    Signals
    -------
    video_loaded(LoadedVideo | None)
    audio_loaded(LoadedAudio | None)
    frame_ready(int, np.ndarray)
        A decoded frame of the current video (RGB uint8).
    failed(BaseException)
        Loading or decoding failed; the error presenter shows it.
    """

    video_loaded = Signal(object)
    audio_loaded = Signal(object)
    frame_ready = Signal(int, object)
    failed = Signal(object)

    def __init__(self, jobs: JobQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self.video: LoadedVideo | None = None
        self.audio: LoadedAudio | None = None
        self._times = np.zeros(0)  # s from the first frame, per frame index
        self._wanted: dict[str, Path | None] = {"target": None, "speech": None}
        self.current_frame = 0
        self._fetcher = LatestWinsFetcher(_decode, self)
        self._fetcher.result_ready.connect(self._on_frame)
        self._fetcher.failed.connect(lambda _req, exc: self.failed.emit(exc))

    # -- following the document -----------------------------------------------------------
    def sync(self, document: Document) -> None:
        """Load what the document names and is not loaded yet; unload what it dropped."""
        for role in ("target", "speech"):
            path = document.media_path(role)
            if path is not None and document.media_status.get(role) == MediaStatus.MISSING:
                path = None
            if path == self._wanted[role]:
                continue
            self._wanted[role] = path
            if path is None:
                self._set_loaded(role, None)
            else:
                opener = open_video if role == "target" else open_audio
                self._jobs.submit(
                    f"Opening {path.name}",
                    partial(opener, path),  # type: ignore[arg-type]
                    on_result=partial(self._on_loaded, role, path),
                    on_error=partial(self._on_load_failed, role),
                )

    def adopt(self, role: str, loaded: LoadedVideo | LoadedAudio) -> None:
        """Use media loaded elsewhere (File ▸ Open) for ``role`` before the document names it."""
        self._wanted[role] = loaded.path
        self._set_loaded(role, loaded)

    def _on_load_failed(self, role: str, exc: BaseException) -> None:
        # Forget the wish so that the next sync (an undo, a relink) tries again.
        self._wanted[role] = None

    def _on_loaded(self, role: str, path: Path, result: LoadedVideo | LoadedAudio) -> None:
        if self._wanted[role] != path:  # superseded while loading
            if isinstance(result, LoadedVideo):
                result.reader.close()
            return
        self._set_loaded(role, result)

    def _set_loaded(self, role: str, result: LoadedVideo | LoadedAudio | None) -> None:
        if role == "target":
            old = self.video
            self.video = result  # type: ignore[assignment]
            if old is not None and old is not result:
                self._fetcher.wait()
                old.reader.close()
            ts = self.video.timestamps if self.video is not None else np.zeros(0)
            self._times = ts - ts[0] if len(ts) else ts
            self.current_frame = 0
            self.video_loaded.emit(self.video)
        else:
            self.audio = result  # type: ignore[assignment]
            self.audio_loaded.emit(self.audio)

    # -- time and frames --------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        """Frames in the loaded video (0 when none)."""
        return len(self._times)

    def clamp_frame(self, frame: int) -> int:
        """``frame`` limited to the loaded video's range."""
        return int(min(max(frame, 0), max(self.frame_count - 1, 0)))

    def time_of_frame(self, frame: int) -> float:
        """Seconds from the first frame to ``frame``."""
        return float(self._times[frame]) if self.frame_count else 0.0

    def frame_at_time(self, seconds: float) -> int:
        """The frame on screen at ``seconds`` (the last one that started)."""
        if not self.frame_count:
            return 0
        return self.clamp_frame(int(np.searchsorted(self._times, seconds + 1e-9, side="right")) - 1)

    def request_frame(self, frame: int) -> None:
        """Decode ``frame`` for the preview; newer requests replace older pending ones."""
        self.current_frame = frame
        if self.video is not None:
            self._fetcher.request(_FrameRequest(self.video, frame))

    def _on_frame(self, req: _FrameRequest, image: np.ndarray) -> None:
        if req.video is self.video:
            self.frame_ready.emit(req.index, image)

    @property
    def busy(self) -> bool:
        """True while a frame is being decoded or waits to be."""
        return self._fetcher.busy

    # -- sound ------------------------------------------------------------------------------
    def speech_offset_s(self, document: Document) -> float:
        """Where the speech starts on the target's timeline, in seconds."""
        speech = document.project.speech
        target = document.project.target
        if speech is None or target is None:
            return 0.0
        return float(speech.offset_frames / target.frame_rate)

    def playback_audio(self, document: Document) -> tuple[np.ndarray, int, float] | None:
        """(samples, rate, offset_s) of the speech to play, or None when there is none."""
        if self.audio is None:
            return None
        return self.audio.samples, self.audio.sample_rate, self.speech_offset_s(document)

    def shutdown(self) -> None:
        """Wait for decoding to end and close the video (the window is closing)."""
        self._fetcher.wait()
        if self.video is not None:
            self.video.reader.close()
