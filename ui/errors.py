"""The one error presenter: every worker's ``errored`` signal and every failed action ends here."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from evp_studio.errors import Cancelled, EvpError

log = logging.getLogger(__name__)


def error_text(exc: BaseException) -> tuple[str, str]:
    """Return (title, message) for an exception as the user should read it."""
    if isinstance(exc, EvpError):
        return type(exc).__name__.replace("Error", " error").strip(), str(exc)
    return "Unexpected error", f"{type(exc).__name__}: {exc}\n\nDetails are in the log."


def show_error(*, parent: QWidget | None, exc: BaseException) -> QMessageBox | None:
    """Show an error dialog for ``exc``; cancellations are ignored.

    Parameters
    ----------
    parent
        Window the dialog belongs to.
    exc
        The error. Anything that is not an :class:`EvpError` is logged with its traceback.

    Returns
    -------
    The (non-modal, already shown) message box, or None for a cancellation.
    """
    if isinstance(exc, Cancelled):
        return None
    if not isinstance(exc, EvpError):
        log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
    else:
        log.warning("%s", exc)
    title, text = error_text(exc)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.setModal(False)
    box.show()
    return box
