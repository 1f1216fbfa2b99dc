"""Edit ▸ Preferences: device, detector, cache folder and size, autosave, theme.

The dialog edits a copy of the window's :class:`~evp_studio.settings.Preferences`; OK saves
the file and applies the new values to the running window (autosave timer, cache folder,
theme). Measuring and clearing the cache and looking for a CUDA GPU (which imports torch)
run on worker threads, so the dialog opens at once and never freezes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import create_worker

from evp_studio import paths, settings
from evp_studio.errors import EvpError
from evp_studio.jobs import Progress
from evp_studio.recent import MAX_RECENT
from evp_studio.settings import CACHE_KINDS, CacheUsage, Preferences
from ui import dialogs
from ui.dialogs import Button
from ui.errors import show_error
from ui.theme import apply_theme, current_theme

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)

DEVICE_LABELS = {"auto": "Automatic", "cpu": "CPU", "cuda": "CUDA GPU"}
BACKEND_LABELS = {
    "dlib": "dlib — 68 points, offline (default)",
    "fan": "FAN — more accurate, slower; needs its model files (Tools ▸ Models)",
}
THEME_LABELS = {"dark": "Dark", "light": "Light"}
NO_CUDA_TIP = "No CUDA GPU found (torch.cuda.is_available() is False): models run on the CPU"


def probe_cuda() -> bool:
    """True when torch finds a CUDA device (imports torch: call it off the GUI thread)."""
    import torch  # noqa: PLC0415 - torch only on a worker, never at UI start-up

    return bool(torch.cuda.is_available())


def human_size(n_bytes: int) -> str:
    """``n_bytes`` for people: ``"0 B"``, ``"12.3 MB"``, ``"1.20 GB"`` (powers of 1024)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} TB"  # pragma: no cover - loop returns


def in_thread(
    owner: QObject,
    func: Callable[[], Any],
    on_result: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> None:
    """Run ``func`` on a worker thread; its result or error goes to ``owner``'s callbacks.

    The callbacks are skipped once ``owner`` is deleted (a dialog closed meanwhile).
    """

    def guarded(callback: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda value: callback(value) if shiboken6.isValid(owner) else None

    create_worker(
        func,
        _connect={"returned": guarded(on_result), "errored": guarded(on_error)},
        _ignore_errors=True,
    )


class PreferencesDialog(QDialog):
    """Edits a copy of ``prefs``; :meth:`preferences` reads the values back.

    Signals
    -------
    cache_measured(object)
        The cache folder was measured (a :class:`CacheUsage`), after opening and clearing.
    """

    cache_measured = Signal(object)

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self._prefs = prefs
        self._cuda: bool | None = None
        form = QFormLayout()
        form.addRow("Run models on", self._build_device_row(prefs.device))
        self.backend_box = QComboBox()
        for value, label in BACKEND_LABELS.items():
            self.backend_box.addItem(label, value)
        self.backend_box.setCurrentIndex(self.backend_box.findData(prefs.landmark_backend))
        self.backend_box.setToolTip("Which face landmark detector tracks the target video")
        form.addRow("Face detector", self.backend_box)
        form.addRow("Cache folder", self._build_cache_row(prefs))
        self.cache_limit = QSpinBox()
        self.cache_limit.setRange(0, 1_000_000)
        self.cache_limit.setSingleStep(256)
        self.cache_limit.setSuffix(" MB")
        self.cache_limit.setSpecialValueText("No limit")
        self.cache_limit.setValue(prefs.cache_limit_mb)
        self.cache_limit.setToolTip("The oldest cached files go when the cache grows past this")
        form.addRow("Cache size limit", self.cache_limit)
        self.autosave = QSpinBox()
        self.autosave.setRange(0, settings.MAX_AUTOSAVE_S)
        self.autosave.setSingleStep(15)
        self.autosave.setSuffix(" s")
        self.autosave.setSpecialValueText("Off")
        self.autosave.setValue(prefs.autosave_interval_s)
        self.autosave.setToolTip("Seconds between autosaves of unsaved changes (0: off)")
        form.addRow("Autosave every", self.autosave)
        self.theme_box = QComboBox()
        for value, label in THEME_LABELS.items():
            self.theme_box.addItem(label, value)
        self.theme_box.setCurrentIndex(self.theme_box.findData(prefs.theme))
        self.theme_box.setToolTip("Dark suits judging video; the timeline stays dark in both")
        form.addRow("Theme", self.theme_box)
        self.recent = QSpinBox()
        self.recent.setRange(1, MAX_RECENT)
        self.recent.setValue(prefs.recent_count)
        self.recent.setToolTip("Entries kept in File ▸ Open Recent")
        form.addRow("Recent projects", self.recent)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._on_ok)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        in_thread(self, probe_cuda, self._on_cuda_probed, self._on_cuda_failed)
        self.refresh_cache_size()

    # -- rows -------------------------------------------------------------------------------
    def _build_device_row(self, device: str) -> QWidget:
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        self.device_group = QButtonGroup(self)
        self.device_buttons: dict[str, QRadioButton] = {}
        tips = {
            "auto": "Use a CUDA GPU when there is one, else the CPU",
            "cpu": "Always run the models on the CPU",
            "cuda": "Checking for a CUDA GPU…",
        }
        for value, label in DEVICE_LABELS.items():
            button = QRadioButton(label)
            button.setToolTip(tips[value])
            self.device_group.addButton(button)
            self.device_buttons[value] = button
            box.addWidget(button)
        self.device_buttons["cuda"].setEnabled(False)  # until the probe finds one
        self.device_buttons[device].setChecked(True)
        box.addStretch(1)
        return row

    def _build_cache_row(self, prefs: Preferences) -> QWidget:
        row = QWidget()
        grid = QVBoxLayout(row)
        grid.setContentsMargins(0, 0, 0, 0)
        line = QHBoxLayout()
        self.cache_edit = QLineEdit(str(prefs.cache_folder or ""))
        self.cache_edit.setPlaceholderText(str(paths.default_cache_dir()))
        self.cache_edit.setToolTip(
            "Where tracked landmarks, features and thumbnails are kept; empty: the default"
        )
        self.cache_edit.editingFinished.connect(self.refresh_cache_size)
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose another cache folder")
        browse.clicked.connect(self._browse_cache)
        line.addWidget(self.cache_edit, 1)
        line.addWidget(browse)
        size_line = QHBoxLayout()
        self.cache_size_label = QLabel("Measuring…")
        self.cache_size_label.setObjectName("cacheSizeLabel")
        self.clear_button = QPushButton("Clear Cache…")
        self.clear_button.setToolTip(
            "Delete EVP Studio's cached data in this folder (it is rebuilt when needed)"
        )
        self.clear_button.clicked.connect(self.clear_cache)
        size_line.addWidget(self.cache_size_label, 1)
        size_line.addWidget(self.clear_button)
        grid.addLayout(line)
        grid.addLayout(size_line)
        return row

    # -- values -----------------------------------------------------------------------------
    def cache_folder(self) -> Path:
        """The folder the cache row shows (the default one when the field is empty)."""
        text = self.cache_edit.text().strip()
        return Path(text).expanduser() if text else paths.default_cache_dir()

    def preferences(self) -> Preferences:
        """The values in the dialog.

        Raises
        ------
        InvalidInputError
            When a value is not acceptable (the message names it).
        """
        device = next(v for v, b in self.device_buttons.items() if b.isChecked())
        text = self.cache_edit.text().strip()
        return Preferences(
            device=device,
            landmark_backend=str(self.backend_box.currentData()),
            cache_folder=Path(text).expanduser() if text else None,
            cache_limit_mb=self.cache_limit.value(),
            autosave_interval_s=self.autosave.value(),
            theme=str(self.theme_box.currentData()),
            recent_count=self.recent.value(),
        )

    @property
    def cuda_available(self) -> bool | None:
        """What the CUDA probe found; None until it has run."""
        return self._cuda

    # -- actions ----------------------------------------------------------------------------
    def refresh_cache_size(self) -> None:
        """Measure the cache folder on a worker thread and show the size."""
        folder = self.cache_folder()
        self.cache_size_label.setText("Measuring…")
        in_thread(
            self,
            lambda: settings.cache_usage(folder),
            lambda usage: self._show_usage(folder, usage),
            self._on_failed,
        )

    def clear_cache(self) -> None:
        """Ask, then delete the cached data in the folder shown (on a worker thread)."""
        folder = self.cache_folder()
        answer = dialogs.ask(
            self,
            "Clear the cache?",
            f"Delete EVP Studio's cached landmark tracks, features, thumbnails and compiled "
            f"code in {folder}? Other files there are kept. They are rebuilt when needed.",
            Button.Yes | Button.No,
            Button.No,
        )
        if answer != Button.Yes:
            return
        self.clear_button.setEnabled(False)
        self.cache_size_label.setText("Clearing…")

        def cleared(_freed: int) -> None:
            self.clear_button.setEnabled(True)
            self.refresh_cache_size()

        in_thread(self, lambda: settings.clear_cache(folder), cleared, self._on_failed)

    def _on_failed(self, exc: BaseException) -> None:
        self.clear_button.setEnabled(True)
        self.cache_size_label.setText("")
        show_error(parent=self, exc=exc)

    def _show_usage(self, folder: Path, usage: CacheUsage) -> None:
        if folder != self.cache_folder():
            return  # the field changed while measuring; a newer measurement follows
        parts = [f"{CACHE_KINDS[k].lower()} {human_size(n)}" for k, n in usage.by_kind.items() if n]
        detail = f" ({', '.join(parts)})" if parts else ""
        self.cache_size_label.setText(f"{human_size(usage.total)} used{detail}")
        self.cache_measured.emit(usage)

    def _browse_cache(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Cache Folder", str(self.cache_folder()))
        if folder:
            self.cache_edit.setText(folder)
            self.refresh_cache_size()

    def _on_cuda_probed(self, available: bool) -> None:
        self._cuda = available
        button = self.device_buttons["cuda"]
        button.setEnabled(available)
        button.setToolTip("Run the models on the CUDA GPU" if available else NO_CUDA_TIP)

    def _on_cuda_failed(self, exc: BaseException) -> None:
        log.warning("could not look for a CUDA GPU: %s", exc)
        self._on_cuda_probed(False)

    def _on_ok(self) -> None:
        try:
            self.preferences()
        except EvpError as exc:
            show_error(parent=self, exc=exc)
            return
        self.accept()


# -- the window's side -------------------------------------------------------------------------


def apply_preferences(window: MainWindow, prefs: Preferences) -> None:
    """Make the running window follow ``prefs`` (autosave timer, cache folder, theme).

    The theme is changed only when one was applied before (by ``ui.app.main``), so tests
    that build windows keep the platform's look.
    """
    window.preferences = prefs
    paths.set_cache_override(prefs.cache_folder)
    timer = window._autosave_timer
    if prefs.autosave_interval_s > 0:
        timer.setInterval(prefs.autosave_interval_s * 1000)
        timer.start()
    else:
        timer.stop()
    app = QApplication.instance()
    if isinstance(app, QApplication):
        theme = current_theme(app)
        if theme is not None and theme != prefs.theme:
            apply_theme(app, prefs.theme)


def _trim_job(limit_bytes: int) -> Generator[Progress, None, int]:
    yield Progress("Trimming the cache", 0, 1)
    freed = settings.trim_cache(limit_bytes)
    yield Progress("Trimming the cache", 1, 1)
    return freed


def schedule_cache_trim(window: MainWindow, prefs: Preferences) -> None:
    """Queue a job that trims the cache to the preference's limit (nothing when unlimited)."""
    if prefs.cache_limit_mb > 0:
        limit = prefs.cache_limit_mb * 2**20
        window.jobs.submit("Trimming the cache", lambda: _trim_job(limit))


def show_preferences(window: MainWindow) -> PreferencesDialog:
    """Open the dialog (window-modal); OK saves the file and applies the new preferences."""
    dialog = PreferencesDialog(window.preferences, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def accepted() -> None:
        new, old = dialog.preferences(), window.preferences
        try:
            settings.save_preferences(new)
        except EvpError as exc:
            show_error(parent=window, exc=exc)
        apply_preferences(window, new)
        if new.cache_limit_mb and (
            new.cache_limit_mb != old.cache_limit_mb or new.cache_folder != old.cache_folder
        ):
            schedule_cache_trim(window, new)
        window.statusBar().showMessage("Preferences saved", 3000)

    dialog.accepted.connect(accepted)
    dialog.open()
    return dialog
