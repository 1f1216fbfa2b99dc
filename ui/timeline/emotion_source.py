"""Where the emotion comes from: keyframes, the speech itself, or a reference clip.

A compact combo in the emotion track's header switches the document's emotion source (one
undo step each). With "Speech" or "Ref. clip" the audio is analysed as a job on the window's queue
(the landmark model's own speech encoder, :mod:`evp_studio.pipeline.speech_emotion`), the
detected emotion is announced for the emotion track to draw, and "Convert to Keys" replaces
the keyframes with keys made from it and switches back to keyframes, as one undo step.
Analyses are kept per file, so undo, redo and moving the speech only re-map them to frames.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from evp_studio.errors import EvpError
from evp_studio.jobs import Progress
from evp_studio.pipeline.speech_emotion import (
    DetectedEmotion,
    EmotionProbs,
    analyse_emotion_audio,
    detect_emotion,
    detect_whole_clip,
    keys_from_detected,
)
from evp_studio.project import Changes, Document, EmotionSource, MediaStatus
from ui.errors import show_error
from ui.file_actions import AUDIO_FILTER
from ui.workers import JobQueue

log = logging.getLogger(__name__)

SOURCES: tuple[tuple[EmotionSource, str, str], ...] = (
    (EmotionSource.KEYFRAMES, "Keys", "Keyframes: the emotion follows the keys on the track"),
    (
        EmotionSource.SPEECH,
        "Speech",
        "From the speech: the emotion the speech itself carries, detected frame by frame and "
        "shown as a band under the keys, which you can convert into editable keys",
    ),
    (
        EmotionSource.REFERENCE,
        "Ref. clip",
        "From a reference clip: the emotion of another clip's speech (content from one audio, "
        "emotion from another)",
    ),
)
CONVERT_LABEL = "Convert detected emotion to keys"
NO_TARGET_FRAMES = 250  # frames a reference's emotion covers before a video is open
_CacheKey = tuple[str, str, bool]


def _analysis(path: Path, whole_clip: bool, device: str) -> Generator[Progress, None, Any]:
    """The analysis job (resolves ``"auto"`` to a torch device on the worker)."""
    if device == "auto":
        import torch  # noqa: PLC0415 - on the worker thread only

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return analyse_emotion_audio(path, whole_clip=whole_clip, device=device)


class EmotionSourceBar(QWidget):
    """Switches the emotion source of ``document`` and converts detected emotion to keys.

    Parameters
    ----------
    document
        The document to follow and edit.
    jobs
        The window's job queue; analyses run there.
    device
        Returns the device preference (``"auto"``, ``"cpu"``, ``"cuda"``) when a job starts.

    Signals
    -------
    detected_changed(object)
        The detection to draw on the emotion track (a :class:`DetectedEmotion`), or None.
    """

    detected_changed = Signal(object)

    def __init__(
        self,
        document: Document,
        jobs: JobQueue,
        parent: QWidget | None = None,
        *,
        device: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("emotionSource")
        self.setAccessibleName("Emotion source")
        self._jobs = jobs
        self._device = device or (lambda: "cpu")
        self._document: Document | None = None
        self._analyses: dict[_CacheKey, EmotionProbs] = {}
        self._pending: set[_CacheKey] = set()
        self._failed: set[_CacheKey] = set()  # not retried until the user picks a source again
        self.detected: DetectedEmotion | None = None

        self.combo = QComboBox(self)
        self.combo.setObjectName("emotionSourceCombo")
        self.combo.setToolTip("Where the emotion comes from")
        for i, (source, text, tip) in enumerate(SOURCES):
            self.combo.addItem(text, source)
            self.combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(5)
        self.combo.activated.connect(lambda i: self.choose(SOURCES[i][0]))

        self.convert_action = QAction("Convert Detected Emotion to Keys", self)
        self.convert_action.setIconText("To Keys")
        self.convert_action.setToolTip(
            "Replace the keyframes with keys made from the detected emotion and switch the "
            "source to keyframes (one undo step)"
        )
        self.convert_action.triggered.connect(lambda _c=False: self.convert_to_keys())
        self.reference_action = QAction("Choose Reference Clip…", self)
        self.reference_action.setIconText("Clip…")
        self.reference_action.setToolTip("Pick the clip whose speech gives the emotion")
        self.reference_action.triggered.connect(lambda _c=False: self.choose_reference())
        for action in (self.convert_action, self.reference_action):
            self.addAction(action)
        self.convert_button = QToolButton(self)
        self.convert_button.setObjectName("convertToKeysButton")
        self.convert_button.setDefaultAction(self.convert_action)
        self.reference_button = QToolButton(self)
        self.reference_button.setObjectName("referenceClipButton")
        self.reference_button.setDefaultAction(self.reference_action)
        self.status = QLabel()
        self.status.setObjectName("emotionSourceStatus")
        self.status.setWordWrap(True)
        small = self.status.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        self.status.setFont(small)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        for widget in (self.combo, self.convert_button, self.reference_button, self.status):
            column.addWidget(widget)
        for button in (self.convert_button, self.reference_button):
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_document(document)

    # -- document ---------------------------------------------------------------------------
    @property
    def document(self) -> Document:
        assert self._document is not None
        return self._document

    def set_document(self, document: Document) -> None:
        """Follow ``document``; the previous one's signal is disconnected."""
        if self._document is not None:
            self._document.changed.disconnect(self._on_document_changed)
        self._document = document
        document.changed.connect(self._on_document_changed)
        self.refresh()

    def _on_document_changed(self, changes: Changes) -> None:
        if changes.source or changes.media:
            self.refresh()

    # -- actions ----------------------------------------------------------------------------
    def choose(self, source: EmotionSource) -> None:
        """Switch the document's emotion source (asks for a clip when none is set)."""
        self._failed.clear()
        if source is EmotionSource.REFERENCE and self.document.project.reference is None:
            self.choose_reference(switch=True)
            return
        before = self.document.project.emotion_source
        self.document.set_emotion_source(source=source)
        if self.document.project.emotion_source == before:
            self.refresh()  # nothing changed: put the buttons back, retry a failed analysis

    def choose_reference(self, *, switch: bool = False, path: Path | None = None) -> None:
        """Ask for a reference clip (unless ``path`` is given) and set it; one undo step.

        With ``switch`` the emotion source becomes "reference" in the same step.
        """
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Reference Clip", "", AUDIO_FILTER)
            if not chosen:
                self.refresh()
                return
            path = Path(chosen)
        doc = self.document
        try:
            with doc.history.macro("Use reference clip emotion" if switch else "Set reference"):
                doc.set_reference(path=path)
                if switch:
                    doc.set_emotion_source(source=EmotionSource.REFERENCE)
        except EvpError as exc:
            show_error(parent=self, exc=exc)
            self.refresh()

    def convert_to_keys(self) -> None:
        """Replace the keys by the detected ones and switch to keyframes, as one undo step."""
        if self.detected is None or len(self.detected) == 0:
            return
        keys = keys_from_detected(self.detected)
        doc = self.document
        with doc.history.macro(CONVERT_LABEL):
            doc.replace_keyframes(keys=keys, label=CONVERT_LABEL)
            doc.set_emotion_source(source=EmotionSource.KEYFRAMES)

    # -- detection --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the document's source; detect (or re-map) the emotion the source needs."""
        source = self.document.project.emotion_source
        self.combo.setCurrentIndex(self.combo.findData(source))
        self.reference_action.setVisible(source is EmotionSource.REFERENCE)
        self._set_detected(self._detect(source))

    def _detect(self, source: EmotionSource) -> DetectedEmotion | None:
        """The detection to show for ``source`` (starting its job if needed); sets the status."""
        if source is EmotionSource.KEYFRAMES:
            self._say("", "")
            return None
        role = "speech" if source is EmotionSource.SPEECH else "reference"
        path, ref = self.document.media_path(role), self.document.project.media_ref(role)
        if path is None or ref is None:
            if role == "speech":
                self._say("No speech", "Open a speech track (File ▸ Open Speech) first")
            else:
                self._say("No clip", "Choose a reference clip (Clip…)")
            return None
        if self.document.media_status.get(role) == MediaStatus.MISSING:
            self._say("Missing", f"{path.name} is missing: use File ▸ Relink Missing Media")
            return None
        key = (str(path), ref.content_hash, role == "reference")
        analysis = self._analyses.get(key)
        if analysis is not None:
            return self._map(analysis)
        if key in self._failed:
            self._say("Failed", f"Could not detect the emotion in {path.name}")
            return None
        if key not in self._pending:
            self._start(key, path)
        self._say("Detecting…", f"Detecting the emotion in {path.name}…")
        return None

    def _start(self, key: _CacheKey, path: Path) -> None:
        whole_clip, device = key[2], self._device()
        self._pending.add(key)

        def done(result: EmotionProbs) -> None:
            self._pending.discard(key)
            self._analyses[key] = result
            self.refresh()

        def failed(exc: BaseException) -> None:  # shown by the window's error presenter
            self._pending.discard(key)
            self._failed.add(key)
            self.refresh()

        self._jobs.submit(
            f"Detecting the emotion in {path.name}",
            lambda: _analysis(path, whole_clip, device),
            on_result=done,
            on_error=failed,
        )

    def _map(self, analysis: EmotionProbs) -> DetectedEmotion:
        """Put an analysis on the target's frames and summarise it in the status line."""
        project = self.document.project
        target = project.target
        if analysis.whole_clip:
            n = target.frame_count if target is not None else NO_TARGET_FRAMES
            detected = detect_whole_clip(analysis.probs[0], n)
        else:
            detected = detect_emotion(
                analysis.probs,
                analysis.times_s,
                target.frame_rate if target is not None else 25,
                project.speech.offset_frames if project.speech is not None else 0,
                n_frames=target.frame_count if target is not None else None,
            )
        keys = keys_from_detected(detected)
        if not keys:
            self._say("Outside", "The speech lies outside the video's frames")
            return detected
        shown = " · ".join(f"{k.emotion} {round(100 * k.intensity)} %" for k in keys[:6])
        more = f" · … ({len(keys)} keys)" if len(keys) > 6 else ""
        short = keys[0].emotion if len(keys) == 1 else f"{len(keys)} changes"
        self._say(short, f"Detected in {analysis.path.name}: {shown}{more}")
        return detected

    def _say(self, short: str, full: str) -> None:
        self.status.setText(short)
        self.status.setToolTip(full)
        self.combo.setToolTip(f"Where the emotion comes from. {full}".strip())

    def _set_detected(self, detected: DetectedEmotion | None) -> None:
        self.detected = detected
        self.convert_action.setEnabled(detected is not None and len(detected) > 0)
        self.detected_changed.emit(detected)
