"""Tools ▸ Models: which weights files are present, their sha256 check, importing a file.

The table lists :data:`evp_studio.weights.REGISTRY`. Checking reads and hashes every file
(:func:`evp_studio.weights.status`), and importing validates a file by loading it (torch), so
both run on worker threads; the table says "checking…" meanwhile.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from evp_studio import weights
from evp_studio.weights import ModelStatus, WeightSpec
from ui.errors import show_error
from ui.preferences import human_size, in_thread

log = logging.getLogger(__name__)

FILTER = "Model files (*.pt *.pth *.tar *.dat);;All files (*)"
COLUMNS = ("Model", "Description", "Check", "Where", "Source")
NAME, DESCRIPTION, CHECK, WHERE, SOURCE = range(len(COLUMNS))
CHECK_TEXT = {
    "ok": "✓ verified",
    "custom": "custom file",
    "missing": "missing",
    "corrupt": "✗ damaged",
}
CHECK_TIP = {
    "ok": "The file's sha256 matches the registry",
    "custom": "Your own file: its sha256 is not the registry's; it is used as it is",
    "missing": "No file found",
    "corrupt": "The bundled file's sha256 differs from the registry: the installation is damaged",
}
CHECK_COLOR = {
    "ok": QColor(90, 190, 110),
    "custom": QColor(220, 170, 60),
    "missing": QColor(150, 150, 150),
    "corrupt": QColor(235, 90, 80),
}


def _source(spec: WeightSpec, status: ModelStatus) -> str:
    if status.path is None:
        return "ships with EVP Studio" if spec.bundled else "optional"
    if status.path.parent == weights.user_models_dir():
        return "user"
    return "bundled"


class ModelManagerDialog(QDialog):
    """The registry's files and their state; import a checkpoint for the selected entry.

    Signals
    -------
    status_shown(list)
        The checked :class:`ModelStatus` list is on screen.
    installed(Path)
        A file was imported into the user's models folder.
    """

    status_shown = Signal(list)
    installed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelManager")
        self.setWindowTitle("Models")
        self.resize(900, 380)
        self.specs = list(weights.REGISTRY.values())
        self.statuses: list[ModelStatus] | None = None
        self.table = QTableWidget(len(self.specs), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WHERE, QHeaderView.ResizeMode.Stretch)
        for row, spec in enumerate(self.specs):
            self._set(row, NAME, spec.name, spec.filename)
            self._set(row, DESCRIPTION, spec.description, spec.how_to_get)
            self._set(row, CHECK, "checking…", "Reading the file and checking its sha256")
        self.table.itemSelectionChanged.connect(self._update_buttons)

        folder = weights.user_models_dir()
        self.folder_label = QLabel(f"Your models folder: {folder}")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip(
            "Copy a weights file into your models folder for the selected model "
            "(it is checked first)"
        )
        self.import_button.clicked.connect(lambda: self.import_file())
        self.open_button = QPushButton("Open Folder")
        self.open_button.setToolTip(f"Show {folder} in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        self.refresh_button = QPushButton("Check Again")
        self.refresh_button.setToolTip("Read every file again and check its sha256")
        self.refresh_button.clicked.connect(self.refresh)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.open_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.folder_label)
        layout.addLayout(buttons)
        self._update_buttons()
        self.refresh()

    # -- state ------------------------------------------------------------------------------
    def selected_name(self) -> str | None:
        """Registry name of the selected row, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.specs[rows[0].row()].name if rows else None

    def select(self, name: str) -> None:
        """Select the row of ``name``."""
        self.table.selectRow(next(i for i, s in enumerate(self.specs) if s.name == name))

    def cell_text(self, name: str, column: int) -> str:
        """Text shown for ``name`` in ``column`` (for tests)."""
        row = next(i for i, s in enumerate(self.specs) if s.name == name)
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    # -- actions ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Check every file on a worker thread, then show the result."""
        self.refresh_button.setEnabled(False)
        for row in range(len(self.specs)):
            self._set(row, CHECK, "checking…", "Reading the file and checking its sha256")
        in_thread(self, weights.status, self._show_status, self._on_failed)

    def import_file(self, path: Path | None = None) -> None:
        """Install ``path`` (asked for when None) as the selected model, on a worker thread."""
        name = self.selected_name()
        if name is None:
            return
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, f"Import a file for {name}", "", FILTER)
            if not chosen:
                return
            path = Path(chosen)
        self.import_button.setEnabled(False)
        source = path

        def done(dest: Path) -> None:
            self.installed.emit(dest)
            self.refresh()

        in_thread(self, lambda: weights.install(name, source), done, self._on_failed)

    def open_folder(self) -> None:
        """Show the user's models folder in the file manager."""
        url = QUrl.fromLocalFile(str(weights.user_models_dir()))
        if not QDesktopServices.openUrl(url):
            log.warning("could not open %s", url.toLocalFile())

    # -- results ----------------------------------------------------------------------------
    def _show_status(self, statuses: list[ModelStatus]) -> None:
        self.statuses = statuses
        by_name = {status.name: status for status in statuses}
        for row, spec in enumerate(self.specs):
            status = by_name.get(spec.name)
            if status is None:
                continue
            tip = CHECK_TIP[status.state]
            if status.sha256_actual:
                tip += f"\nsha256 {status.sha256_actual}"
            if status.state != "ok" and status.sha256_expected:
                tip += f"\nregistry {status.sha256_expected}"
            if status.state == "missing":
                tip += f"\n{spec.how_to_get}"
            item = self._set(row, CHECK, CHECK_TEXT[status.state], tip)
            item.setForeground(CHECK_COLOR[status.state])
            where = str(status.path) if status.path is not None else "—"
            size = human_size(status.size) if status.size is not None else ""
            self._set(row, WHERE, where, f"{where}\n{size}".strip())
            self._set(row, SOURCE, _source(spec, status), "")
        self.refresh_button.setEnabled(True)
        self._update_buttons()
        self.status_shown.emit(statuses)

    def _on_failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self._update_buttons()
        show_error(parent=self, exc=exc)

    def _update_buttons(self) -> None:
        self.import_button.setEnabled(self.selected_name() is not None)

    def _set(self, row: int, column: int, text: str, tip: str) -> QTableWidgetItem:
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, column, item)
        item.setText(text)
        item.setToolTip(tip)
        return item
