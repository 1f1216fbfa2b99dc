"""File and Edit menus: new/open/save, media import, recent files, relink, autosave, undo."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from evp_studio import recent
from evp_studio.errors import EvpError
from evp_studio.project import Autosaver, Document, MediaStatus
from evp_studio.session import LoadedAudio, LoadedVideo, open_audio, open_video
from ui import dialogs
from ui.dialogs import Button
from ui.errors import show_error
from ui.undo_actions import undo_actions_info

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)

PROJECT_EXT = ".evp"
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".mts"}
AUDIO_EXTS = {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma", ".aif", ".aiff"}
VIDEO_FILTER = "Video (" + " ".join(f"*{e}" for e in sorted(VIDEO_EXTS)) + ")"
AUDIO_FILTER = "Audio (" + " ".join(f"*{e}" for e in sorted(AUDIO_EXTS | VIDEO_EXTS)) + ")"
PROJECT_FILTER = f"EVP Studio project (*{PROJECT_EXT})"
#: Status-bar help of each menu entry, by its text.
_TIPS = {
    "&New Project": "Start an empty project (asks to save this one first)",
    "&Open…": "Open a project, or import a video or a speech file",
    "Open &Video…": "Import the target video: the face that will say the new speech",
    "Open &Speech…": "Import the speech track the face will say",
    "Re&link Missing Media…": "Point the project at media files that were moved or renamed",
    "&Save": "Save the project",
    "Save &As…": "Save the project under another name",
    "&Quit": "Close EVP Studio (asks to save unsaved changes)",
    "&Undo": "Undo the last edit",
    "&Redo": "Redo the edit last undone",
}


def classify_path(path: Path) -> str | None:
    """'project', 'video', 'audio' by extension, or None when we cannot open it."""
    ext = path.suffix.lower()
    if ext == PROJECT_EXT:
        return "project"
    if ext in VIDEO_EXTS:
        return "video"
    if ext in AUDIO_EXTS:
        return "audio"
    return None


class FileActions:
    """Builds the File and Edit menus of ``window`` and carries out their actions."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.autosaver = Autosaver()
        bar = window.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(
            file_menu, "&New Project", QKeySequence.StandardKey.New, self.new_project
        )
        self.open_action = self._action(
            file_menu, "&Open…", QKeySequence.StandardKey.Open, self.open_dialog
        )
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        self.open_video_action = self._action(
            file_menu, "Open &Video…", "Ctrl+Shift+O", self.open_video_dialog
        )
        self.open_speech_action = self._action(
            file_menu, "Open &Speech…", "Ctrl+Shift+A", self.open_speech_dialog
        )
        self.relink_action = self._action(
            file_menu, "Re&link Missing Media…", None, self.relink_missing
        )
        file_menu.addSeparator()
        self.save_action = self._action(
            file_menu, "&Save", QKeySequence.StandardKey.Save, self.save
        )
        self.save_as_action = self._action(
            file_menu, "Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, window.close)
        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self._action(
            edit_menu, "&Undo", QKeySequence.StandardKey.Undo, self.undo
        )
        self.redo_action = self._action(edit_menu, "&Redo", "Ctrl+Shift+Z", self.redo)

    def _action(self, menu: QMenu, text: str, shortcut: object, slot: object) -> QAction:
        action = QAction(text, self.window)
        action.setStatusTip(_TIPS.get(text, ""))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        menu.addAction(action)
        return action

    # -- undo -------------------------------------------------------------------------------
    def bind_history(self, document: Document) -> None:
        """Follow ``document``'s undo stack in the Edit menu."""
        document.history.index_changed.connect(self.update_undo_actions)
        self.update_undo_actions()

    def update_undo_actions(self) -> None:
        """Refresh the texts and enabled state of Undo and Redo."""
        info = undo_actions_info(self.window.document.history)
        self.undo_action.setText(info.undo_text)
        self.undo_action.setEnabled(info.can_undo)
        self.redo_action.setText(info.redo_text)
        self.redo_action.setEnabled(info.can_redo)

    def undo(self) -> None:
        self._guard(self.window.document.undo)

    def redo(self) -> None:
        self._guard(self.window.document.redo)

    def _guard(self, func: object, *args: object) -> bool:
        """Run ``func``; show an EvpError in a dialog instead of raising it."""
        try:
            func(*args)  # type: ignore[operator]
        except EvpError as exc:
            show_error(parent=self.window, exc=exc)
            return False
        return True

    # -- projects ---------------------------------------------------------------------------
    def new_project(self) -> None:
        """Replace the document with an empty one (asks to save first)."""
        if self.maybe_save():
            self.discard_autosave()
            self.window.set_document(Document.new())

    def open_dialog(self) -> None:
        """Ask for a project or media file and open it."""
        filters = ";;".join([PROJECT_FILTER, VIDEO_FILTER, AUDIO_FILTER, "All files (*)"])
        path, _ = QFileDialog.getOpenFileName(self.window, "Open", "", filters)
        if path:
            self.open_any(Path(path))

    def open_any(self, path: Path) -> None:
        """Open a project, or import a video (target) or audio file (speech)."""
        kind = classify_path(path)
        if kind == "project":
            self.open_project(path)
        elif kind == "video":
            self.open_video(path)
        elif kind == "audio":
            self.open_speech(path)
        else:
            show_error(
                parent=self.window, exc=EvpError(f"{path}: not a project, video or audio file")
            )

    def open_project(self, path: Path) -> bool:
        """Open the project at ``path`` (asks to save the current one first)."""
        if not self.maybe_save():
            return False
        try:
            document = Document.open(path)
        except EvpError as exc:
            show_error(parent=self.window, exc=exc)
            return False
        self.discard_autosave()
        self.window.set_document(document)
        recent.add_recent(path)
        missing = [r for r, s in document.media_status.items() if s == MediaStatus.MISSING]
        if missing:
            self.window.statusBar().showMessage(
                f"Media moved or missing ({', '.join(missing)}): use File ▸ Relink Missing Media",
                10_000,
            )
        return True

    def save(self) -> bool:
        """Save to the project's file, or ask for one."""
        if self.window.document.path is None:
            return self.save_as()
        return self._save_to(self.window.document.path)

    def save_as(self) -> bool:
        """Ask for a file name and save there."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Project", "", PROJECT_FILTER)
        if not path:
            return False
        target = Path(path)
        if target.suffix.lower() != PROJECT_EXT:
            target = target.with_suffix(PROJECT_EXT)
        return self._save_to(target)

    def _save_to(self, path: Path) -> bool:
        if not self._guard(self.window.document.save, path):
            return False
        recent.add_recent(path)
        self.discard_autosave()
        self.window.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self.window.document.is_dirty:
            return True
        answer = dialogs.ask(
            self.window,
            "Unsaved changes",
            f"Save changes to “{self.window.document.project.name}”?",
            Button.Save | Button.Discard | Button.Cancel,
            Button.Save,
        )
        if answer == Button.Save:
            return self.save()
        return answer == Button.Discard

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = recent.recent_files()[: self.window.preferences.recent_count]
        for path in items:
            action = self.recent_menu.addAction(str(path))
            action.setEnabled(path.exists())
            action.triggered.connect(lambda _c=False, p=path: self.open_any(p))
        if not items:
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- media ------------------------------------------------------------------------------
    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Video", "", VIDEO_FILTER)
        if path:
            self.open_video(Path(path))

    def open_speech_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Speech", "", AUDIO_FILTER)
        if path:
            self.open_speech(Path(path))

    def open_video(self, path: Path) -> None:
        """Load ``path`` off the GUI thread; once it reads, make it the target video."""
        path = path.resolve()
        self.window.jobs.submit(
            f"Opening {path.name}", lambda: open_video(path), on_result=self._adopt_video
        )

    def open_speech(self, path: Path) -> None:
        """Load ``path`` off the GUI thread; once it reads, make it the speech track."""
        path = path.resolve()
        self.window.jobs.submit(
            f"Opening {path.name}", lambda: open_audio(path), on_result=self._adopt_audio
        )

    def _adopt_video(self, video: LoadedVideo) -> None:
        stream = video.info.video
        assert stream is not None  # open_video raised otherwise
        self.window.media.adopt("target", video)
        w, h = stream.display_size
        self._guard(
            lambda: self.window.document.set_target(
                path=video.path,
                frame_rate=stream.frame_rate,
                frame_count=len(video.timestamps),
                width=w,
                height=h,
            )
        )

    def _adopt_audio(self, audio: LoadedAudio) -> None:
        self.window.media.adopt("speech", audio)
        self._guard(lambda: self.window.document.set_speech(path=audio.path))

    def relink_missing(self) -> None:
        """Ask for the new location of each missing media file."""
        doc = self.window.document
        missing = [r for r, s in doc.media_status.items() if s == MediaStatus.MISSING]
        if not missing:
            self.window.statusBar().showMessage("No media is missing.", 4000)
            return
        for role in missing:
            old = doc.media_path(role)
            path, _ = QFileDialog.getOpenFileName(
                self.window,
                f"Where is the {role} file {old.name if old else ''}?",
                "",
                VIDEO_FILTER if role == "target" else AUDIO_FILTER,
            )
            if path:
                self._guard(lambda r=role, p=path: doc.relink_media(role=r, new_path=Path(p)))

    # -- autosave ---------------------------------------------------------------------------
    def autosave(self) -> None:
        """Write the autosave file if there are unsaved changes."""
        doc = self.window.document
        if doc.is_dirty:
            try:
                self.autosaver.write(doc)
            except EvpError as exc:
                log.warning("autosave failed: %s", exc)

    def discard_autosave(self) -> None:
        """Remove the current document's autosave (after a save, or on close)."""
        try:
            self.autosaver.discard(self.window.document)
        except OSError as exc:
            log.warning("could not remove autosave: %s", exc)
