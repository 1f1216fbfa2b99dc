"""The Render menu (Export…, Train Neural Renderer…) and the jobs dock of the main window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from ui.export_dialog import ExportDialog
from ui.jobs_panel import JobsPanel
from ui.train_dialog import TrainRendererDialog, prefer_device

if TYPE_CHECKING:
    from ui.main_window import MainWindow

EXPORT_SHORTCUT = "Ctrl+M"  # Premiere's and Resolve's "Export Media"


def find_or_add_menu(window: QMainWindow, title: str) -> QMenu:
    """The menu bar's menu called ``title`` (ignoring ``&``), added when there is none."""
    plain = title.replace("&", "")
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == plain:
            return menu
    return window.menuBar().addMenu(title)


class RenderActions:
    """Builds the Render menu and the jobs dock of ``window`` and opens their dialogs."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.jobs_panel = JobsPanel(window.jobs)
        self.jobs_dock = QDockWidget("Jobs", window)
        self.jobs_dock.setObjectName("jobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        window.addDockWidget(
            Qt.DockWidgetArea.RightDockWidgetArea, self.jobs_dock, Qt.Orientation.Vertical
        )
        self.export_dialog: ExportDialog | None = None
        self.train_dialog: TrainRendererDialog | None = None
        menu = window.menuBar().addMenu("&Render")
        self.export_action = QAction("&Export…", window)
        self.export_action.setShortcut(QKeySequence(EXPORT_SHORTCUT))
        self.export_action.setToolTip("Render the project to a video file, with side outputs")
        self.export_action.triggered.connect(lambda _c=False: self.open_export())
        self.train_action = QAction("&Train Neural Renderer…", window)
        self.train_action.setToolTip(
            "Train the Edge-to-Video renderer on the target video (a background job)"
        )
        self.train_action.triggered.connect(lambda _c=False: self.open_train())
        menu.addAction(self.export_action)
        menu.addAction(self.train_action)
        self.jobs_toggle = self.jobs_dock.toggleViewAction()
        self.jobs_toggle.setText("&Jobs Panel")
        self.jobs_toggle.setStatusTip("Show or hide the list of running and finished jobs")
        find_or_add_menu(window, "&View").addAction(self.jobs_toggle)

    def open_export(self) -> ExportDialog:
        """Open the export dialog (window-modal, not blocking)."""
        dialog = ExportDialog(
            self.window.document, self.window.jobs, self.window, note=self.jobs_panel.set_note
        )
        dialog.form.preferred_device = self.window.preferences.device
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.jobs_dock.show)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    def open_train(self) -> TrainRendererDialog:
        """Open the renderer-training dialog (window-modal, not blocking)."""
        dialog = TrainRendererDialog(self.window.document, self.window.jobs, self.window)
        prefer_device(dialog.device, self.window.preferences.device)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.jobs_dock.show)
        self.train_dialog = dialog
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        """Stop the panel's polling (the window is closing)."""
        self.jobs_panel.shutdown()
