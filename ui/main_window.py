"""The editor's main window: wires the document, the views and the background jobs together."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QSplitter, QVBoxLayout, QWidget

from evp_studio.pipeline.speech_emotion import DetectedEmotion
from evp_studio.project import Changes, Document
from evp_studio.session import LoadedAudio, LoadedVideo
from evp_studio.settings import Preferences, load_preferences
from ui import dialogs
from ui.audio_output import AudioOutput
from ui.dialogs import Button
from ui.errors import show_error
from ui.file_actions import FileActions, classify_path
from ui.media_session import MediaSession
from ui.model_manager import ModelManagerDialog
from ui.playback import PlaybackClock
from ui.preferences import apply_preferences, show_preferences
from ui.preview.controller import PreviewController
from ui.preview.frame_view import FrameView
from ui.render_actions import RenderActions, find_or_add_menu
from ui.shortcuts_dialog import ShortcutsDialog
from ui.status_panel import JobStatusBar
from ui.timeline.emotion_source import EmotionSourceBar
from ui.timeline.emotion_track import EmotionTrackView
from ui.timeline.keyframe_inspector import KeyframeInspector
from ui.timeline.panel import TimelinePanel
from ui.timeline.waveform_view import WaveformView
from ui.transport_bar import TransportBar
from ui.workers import JobQueue

log = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 60_000


class MainWindow(QMainWindow):
    """Top-level window. Owns view state only; all edits go to the document's history."""

    def __init__(
        self, document: Document | None = None, *, preferences: Preferences | None = None
    ) -> None:
        super().__init__()
        self.preferences = preferences if preferences is not None else load_preferences()
        self.setObjectName("mainWindow")
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        self.jobs = JobQueue(self)
        self.media = MediaSession(self.jobs, self)
        self.clock = PlaybackClock(self)
        self.audio_out = AudioOutput()
        self.frame_view = FrameView()
        self.transport = TransportBar()
        self.waveform = WaveformView()
        self.status = JobStatusBar(self.jobs, self)
        self.setStatusBar(self.status)
        self.document: Document = document if document is not None else Document.new()
        self.previews = PreviewController(
            self.jobs,
            self,
            detector=lambda: (self.preferences.landmark_backend, self.preferences.device),
        )
        self.emotion_track = EmotionTrackView(self.document)
        self.timeline = TimelinePanel(self.document, self.waveform, self.emotion_track)
        self.emotion_source = EmotionSourceBar(
            self.document, self.jobs, device=lambda: self.preferences.device
        )
        self.timeline.add_header_widget(self.emotion_source)
        self.inspector = KeyframeInspector(self.document)
        self._build_layout()
        self.files = FileActions(self)
        self._build_playback_menu()
        self._build_preview_menu()
        self.timeline.fill_menu(self.menuBar().addMenu("&Timeline"))
        self.render_actions = RenderActions(self)
        self._build_tool_menus()
        self._connect()
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self._autosave_timer.timeout.connect(self.files.autosave)
        self._autosave_timer.start()
        apply_preferences(self, self.preferences)  # autosave interval, cache folder
        self._close_confirmed = False
        self.set_document(self.document)

    # -- layout and wiring ------------------------------------------------------------------
    def _build_layout(self) -> None:
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.previews.bar)
        top_layout.addWidget(self.frame_view, 1)
        top_layout.addWidget(self.transport)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.timeline)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([600, 400])  # the picture first; the tracks' size hints are tall
        self.setCentralWidget(splitter)
        dock = QDockWidget("Keyframe", self)
        dock.setObjectName("keyframeDock")
        dock.setWidget(self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _build_playback_menu(self) -> None:
        menu = self.menuBar().addMenu("&Playback")
        entries = (
            ("&Play / Pause", "Space", self.toggle_play, "Play from the playhead with sound"),
            ("&Next Frame", "Right", lambda: self.step(1), "Step one frame forward"),
            ("&Previous Frame", "Left", lambda: self.step(-1), "Step one frame back"),
            (
                "&Forward 1 Second",
                "Shift+Right",
                lambda: self.step(self._frames_per_second()),
                "Jump one second forward",
            ),
            (
                "&Back 1 Second",
                "Shift+Left",
                lambda: self.step(-self._frames_per_second()),
                "Jump one second back",
            ),
            ("Go to &Start", "Home", lambda: self.seek_frame(0), "Go to the first frame"),
            (
                "Go to &End",
                "End",
                lambda: self.seek_frame(self.media.frame_count - 1),
                "Go to the last frame",
            ),
        )
        for text, key, slot, tip in entries:
            action = QAction(text, self)
            action.setStatusTip(tip)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _c=False, f=slot: f())
            menu.addAction(action)

    def _build_preview_menu(self) -> None:
        menu = self.menuBar().addMenu("P&review")
        self.analyse_action = QAction("&Analyse Face and Speech", self)
        self.analyse_action.setShortcut(QKeySequence("Ctrl+Shift+L"))  # Ctrl+Shift+A: speech
        self.analyse_action.setToolTip(
            "Track the face, predict the new landmarks from the speech and the keyframes, and "
            "prepare the layers (detected, predicted, guidance, rendered)"
        )
        self.analyse_action.triggered.connect(lambda _c=False: self.previews.analyse())
        menu.addAction(self.analyse_action)

    def _build_tool_menus(self) -> None:
        """Edit ▸ Preferences, Tools ▸ Models and Help ▸ Keyboard Shortcuts."""
        entries = (
            (
                "&Edit",
                "&Preferences…",
                ("Ctrl+,",),
                self.show_preferences,
                "Device, face detector, cache folder and size, autosave interval, theme",
            ),
            (
                "&Tools",
                "&Models…",
                (),
                self.show_models,
                "Which model files are present, their sha256 check; import a checkpoint",
            ),
            (
                "&Help",
                "&Keyboard Shortcuts",
                ("F1", "Ctrl+/"),
                self.show_shortcuts,
                "Every keyboard shortcut of the editor, searchable",
            ),
        )
        made: list[QAction] = []
        for title, text, keys, slot, tip in entries:
            menu: QMenu = find_or_add_menu(self, title)
            if title == "&Edit":
                menu.addSeparator()
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.triggered.connect(lambda _c=False, f=slot: f())
            menu.addAction(action)
            made.append(action)
        self.preferences_action, self.models_action, self.shortcuts_action = made
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)

    def show_preferences(self) -> None:
        """Open Edit ▸ Preferences (window-modal); OK saves and applies."""
        show_preferences(self)

    def show_models(self) -> ModelManagerDialog:
        """Open Tools ▸ Models (window-modal, checks run in the background)."""
        dialog = ModelManagerDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        """Open Help ▸ Keyboard Shortcuts (non-modal)."""
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _show_detected_emotion(self, detected: DetectedEmotion | None) -> None:
        if detected is None:
            empty = np.zeros(0, np.int64)
            self.emotion_track.set_detected_band(empty, empty, np.zeros(0))
        else:
            self.emotion_track.set_detected_band(
                detected.frames, detected.category, detected.intensity
            )

    def _frames_per_second(self) -> int:
        target = self.document.project.target
        return max(1, round(target.frame_rate)) if target is not None else 25

    def _connect(self) -> None:
        self.transport.play_toggled.connect(self.toggle_play)
        self.transport.frame_changing.connect(self.seek_frame)
        self.transport.step_requested.connect(self.step)
        self.waveform.seek_changing.connect(self.seek_seconds)
        self.emotion_track.seek_requested.connect(self.seek_frame)
        self.timeline.seek_requested.connect(self.seek_frame)
        self.previews.track_ready.connect(self.timeline.set_face_track)
        self.emotion_track.selection_changed.connect(self.inspector.set_selection)
        self.emotion_source.detected_changed.connect(self._show_detected_emotion)
        self.clock.frame_due.connect(self._show_frame_index)
        self.clock.playing_changed.connect(self._on_playing_changed)
        self.media.video_loaded.connect(self._on_video_loaded)
        self.media.audio_loaded.connect(self._on_audio_loaded)
        self.media.frame_ready.connect(self._on_frame_ready)
        self.previews.frame_ready.connect(self._on_layer_frame_ready)
        self.previews.preview.failed.connect(lambda exc: show_error(parent=self, exc=exc))
        self.previews.bar.choice_changed.connect(
            lambda _c: self._show_frame_index(self.current_frame)
        )
        self.media.failed.connect(lambda exc: show_error(parent=self, exc=exc))
        self.jobs.job_failed.connect(lambda _h, exc: show_error(parent=self, exc=exc))

    def set_document(self, document: Document) -> None:
        """Show ``document``; the previous one's signals are disconnected."""
        old = getattr(self, "_bound_document", None)
        if old is not None:
            old.changed.disconnect(self._on_document_changed)
            old.dirty_changed.disconnect(self._update_title)
            old.path_changed.disconnect(self._update_title)
        self.document = document
        self._bound_document = document
        document.changed.connect(self._on_document_changed)
        document.dirty_changed.connect(self._update_title)
        document.path_changed.connect(self._update_title)
        self.files.bind_history(document)
        self.emotion_track.set_document(document)
        self.emotion_source.set_document(document)
        self.timeline.set_document(document)
        self.inspector.set_document(document)
        self.previews.bind(document)
        self._update_title()
        self.media.sync(document)

    def _on_document_changed(self, changes: Changes) -> None:
        self.previews.on_document_changed(
            keyframes=changes.keyframes or changes.source, media=changes.media
        )
        if changes.media:
            self.media.sync(self.document)
        self.files.update_undo_actions()

    def _update_title(self, *_: object) -> None:
        self.setWindowTitle(f"{self.document.title} — EVP Studio")

    # -- media ------------------------------------------------------------------------------
    def _on_video_loaded(self, video: LoadedVideo | None) -> None:
        self.clock.set_timestamps(video.timestamps if video is not None else np.zeros(0))
        self.timeline.set_video(video)
        if video is None:
            self.transport.set_media(0, Fraction(25))
            self.transport.set_enabled_media(False)
            self.frame_view.clear("Open a video (File ▸ Open Video, or drop it here)")
            return
        stream = video.info.video
        assert stream is not None  # open_video checked
        self.transport.set_media(len(video.timestamps), stream.frame_rate)
        self._refresh_waveform()
        self.seek_frame(0)

    def _on_audio_loaded(self, audio: LoadedAudio | None) -> None:
        self._refresh_waveform()

    def _refresh_waveform(self) -> None:
        audio = self.media.audio
        self.waveform.set_envelope(
            audio.envelope if audio is not None else None, self.media.speech_offset_s(self.document)
        )

    # -- seeking and playback --------------------------------------------------------------
    @property
    def current_frame(self) -> int:
        """The frame under the playhead."""
        return self.media.current_frame

    def seek_frame(self, frame: int) -> None:
        """Show ``frame`` (clamped); stops playback when the user scrubs."""
        if self.clock.playing and self.sender() is not self.clock:
            self.stop()
        self._show_frame_index(frame)

    def seek_seconds(self, seconds: float) -> None:
        """Show the frame on screen at ``seconds`` on the target's timeline."""
        self.seek_frame(self.media.frame_at_time(seconds))

    def step(self, delta: int) -> None:
        """Step ``delta`` frames from the current one."""
        self.seek_frame(self.current_frame + delta)

    def _show_frame_index(self, frame: int) -> None:
        frame = self.media.clamp_frame(frame)
        self.transport.show_frame(frame)
        self.timeline.set_playhead(frame, self.media.time_of_frame(frame))
        if self.previews.active:
            self.media.current_frame = frame
            self.previews.request(frame)
        else:
            self.media.request_frame(frame)

    def _on_frame_ready(self, frame: int, image: object) -> None:
        if not self.previews.active:
            self.frame_view.set_frame(image, frame)  # type: ignore[arg-type]

    def _on_layer_frame_ready(self, frame: int, image: object) -> None:
        if self.previews.active:
            self.frame_view.set_frame(image, frame)  # type: ignore[arg-type]

    def toggle_play(self) -> None:
        """Play from the playhead, or pause."""
        if self.clock.playing:
            self.stop()
            return
        if self.media.video is None:
            return
        start_s = self.clock.start(self.current_frame)
        sound = self.media.playback_audio(self.document)
        if sound is not None:
            samples, rate, offset_s = sound
            self.audio_out.play(samples, rate, start_s - offset_s)

    def stop(self) -> None:
        """Pause playback and sound."""
        self.clock.stop()
        self.audio_out.stop()

    def _on_playing_changed(self, playing: bool) -> None:
        self.transport.set_playing(playing)
        if not playing:
            self.audio_out.stop()

    # -- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls()
        if urls and all(classify_path(Path(u.toLocalFile())) is not None for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            self.files.open_any(Path(url.toLocalFile()))
        event.acceptProposedAction()

    # -- closing ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self._close_confirmed and not self._confirm_close():
            event.ignore()
            return
        self.stop()
        self._autosave_timer.stop()
        self.jobs.cancel_all()
        self.jobs.wait()
        self.previews.shutdown()
        self.render_actions.shutdown()
        self.timeline.shutdown()
        self.media.shutdown()
        self.files.discard_autosave()
        event.accept()

    def _confirm_close(self) -> bool:
        if not self.jobs.is_idle:
            answer = dialogs.ask(
                self,
                "Jobs are running",
                "Cancel the running jobs and close?",
                Button.Yes | Button.No,
                Button.No,
            )
            if answer != Button.Yes:
                return False
        return self.files.maybe_save()
