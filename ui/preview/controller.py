"""Preview layers in the main window: the analysis job, the layer bar and re-prediction.

"Analyse Face and Speech" runs :func:`evp_studio.pipeline.preview.build_preview_session` as a
job (landmark tracking, speech, audio-to-landmark, 3D alignment, warp renderer's mouth bank).
Once it is done the layer bar offers every layer the session can make. Keyframe edits re-run
only the prediction (debounced) and drop the cached frames whose landmarks changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from evp_studio.pipeline.preview import CompareMode, LayerChoice, PreviewSession
from ui.preview.layers import LayerBar, LayerPreview
from ui.workers import JobQueue

if TYPE_CHECKING:
    from evp_studio.jobs import Job
    from evp_studio.project import Document

log = logging.getLogger(__name__)

REPREDICT_DELAY_MS = 400


def _analyse(project: object, backend: str, device: str) -> Job[PreviewSession]:
    """The analysis job with the preferences' detector backend and device (on the worker)."""
    from evp_studio.landmarks import TrackerSettings  # noqa: PLC0415 - dlib
    from evp_studio.pipeline.preview import build_preview_session  # noqa: PLC0415 - torch

    if device == "auto":
        import torch  # noqa: PLC0415

        device = "cuda" if torch.cuda.is_available() else "cpu"
    tracker = TrackerSettings(backend=backend, device=device)
    return build_preview_session(project, tracker=tracker)  # type: ignore[arg-type]


def _repredict(project: object, session: PreviewSession) -> Job[object]:
    from evp_studio.pipeline.render import project_landmarks  # noqa: PLC0415 - torch

    track = session.target_track
    times = np.asarray(getattr(track, "timestamps", ()), dtype=np.float64)
    fps = 1.0 / float(np.median(np.diff(times))) if times.size > 1 else 25.0
    return project_landmarks(project, track, fps)  # type: ignore[arg-type]


class PreviewController(QObject):
    """Owns the preview session and routes frame requests to the layers when one is shown.

    Parameters
    ----------
    jobs
        The window's job queue (analysis and re-prediction run there).
    parent
        Qt parent.
    detector
        Returns the face detector backend (``"dlib"``/``"fan"``) and device preference
        (``"auto"``/``"cpu"``/``"cuda"``) when an analysis starts; None: dlib on the CPU.

    Signals
    -------
    frame_ready(int, object)
        A composed (H, W, 3) uint8 frame for the frame view.
    session_changed(bool)
        Whether a session with layers is now available.
    track_ready(object)
        The target's :class:`~evp_studio.landmarks.LandmarkTrack` of a new session
        (``confidence``, ``lost``), for the timeline's face track.
    """

    frame_ready = Signal(int, object)
    session_changed = Signal(bool)
    track_ready = Signal(object)

    def __init__(
        self,
        jobs: JobQueue,
        parent: QObject | None = None,
        *,
        detector: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self._detector = detector or (lambda: ("dlib", "cpu"))
        self.bar = LayerBar()
        self.preview = LayerPreview(self)
        self.session: PreviewSession | None = None
        self._document: Document | None = None
        self._frame = 0
        self._timer = QTimer(self, singleShot=True, interval=REPREDICT_DELAY_MS)
        self._timer.timeout.connect(self._start_repredict)
        self.bar.set_available({"source"})
        self.bar.choice_changed.connect(self._on_choice)
        self.preview.frame_ready.connect(self.frame_ready)

    @property
    def active(self) -> bool:
        """True when frames should come from the layers rather than the plain decoder."""
        choice = self.bar.choice()
        plain = choice.layer == "source" and choice.mode == CompareMode.SINGLE
        return self.session is not None and not plain

    def bind(self, document: Document) -> None:
        """Follow ``document``: its keyframe edits re-predict; new media drop the session."""
        self._document = document
        self.drop_session()

    def analyse(self) -> None:
        """Queue the analysis job for the bound document's project."""
        if self._document is None or self._document.project.target is None:
            return
        project = self._document.project
        backend, device = self._detector()
        self.jobs.submit(
            "Analysing face and speech",
            lambda: _analyse(project, backend, device),
            on_result=self._set_session,
        )

    def on_document_changed(self, keyframes: bool, media: bool) -> None:
        """React to document edits: media drop the session, keys re-predict."""
        if media:
            self.drop_session()
        elif keyframes and self.session is not None and "predicted" in self.session.available:
            self._timer.start()

    def request(self, frame: int) -> None:
        """Show ``frame`` through the layers."""
        self._frame = frame
        self.preview.request(frame)

    def drop_session(self) -> None:
        """Forget the session (its reader is closed once no request uses it)."""
        old, self.session = self.session, None
        self.preview.set_session(None)
        self.bar.set_available({"source"})
        if old is not None:
            old.close()  # set_session(None) waited for the running request
        self.session_changed.emit(False)

    def shutdown(self) -> None:
        """Stop the worker and close the session."""
        self._timer.stop()
        self.preview.shutdown()
        if self.session is not None:
            self.session.close()
            self.session = None

    def _set_session(self, session: PreviewSession) -> None:
        self.drop_session()
        self.session = session
        self.preview.set_session(session)
        self.bar.set_available(session.available)
        self.session_changed.emit(True)
        self.track_ready.emit(session.target_track)
        self.preview.set_choice(self.bar.choice())
        self.request(self._frame)

    def _on_choice(self, choice: LayerChoice) -> None:
        self.preview.set_choice(choice)
        if self.session is not None:
            self.request(self._frame)

    def _start_repredict(self) -> None:
        session, document = self.session, self._document
        if session is None or document is None:
            return
        project = document.project

        def apply(placed: object) -> None:
            if self.session is session:
                changed = session.update_predictions(placed)  # type: ignore[arg-type]
                log.info("re-predicted: %d frames changed", int(np.size(changed)))
                self.request(self._frame)

        self.jobs.submit(
            "Updating the predicted face", lambda: _repredict(project, session), on_result=apply
        )
