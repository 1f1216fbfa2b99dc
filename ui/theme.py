"""Look of the application: Fusion with a neutral dark palette, or Fusion's own light one.

Video is judged by eye, so the dark palette is neutral grey (no blue cast that would tint the
picture next to it), with one accent colour for selection and disabled text that stays
readable. The timeline plots (pyqtgraph) keep a dark canvas in both themes: their pens (the
white intensity curve, the selection outline, the emotion colours) are drawn for it, as NLE
timelines are. :func:`apply_theme` sets pyqtgraph's defaults, so call it before any plot is
made; :func:`configure_high_dpi` must run before the QApplication exists.
"""

from __future__ import annotations

import logging

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

THEMES = ("dark", "light")
ACCENT = QColor(64, 140, 214)  # selection, focus, links
CANVAS_BACKGROUND = (30, 30, 34)  # timeline plots, both themes (as the tracks draw it)
CANVAS_FOREGROUND = (200, 200, 200)  # axis lines and labels on the canvas

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

_DARK: dict[QPalette.ColorRole, tuple[int, int, int]] = {
    Role.Window: (45, 45, 45),
    Role.WindowText: (220, 220, 220),
    Role.Base: (30, 30, 30),
    Role.AlternateBase: (38, 38, 38),
    Role.ToolTipBase: (60, 60, 60),
    Role.ToolTipText: (230, 230, 230),
    Role.PlaceholderText: (140, 140, 140),
    Role.Text: (220, 220, 220),
    Role.Button: (56, 56, 56),
    Role.ButtonText: (220, 220, 220),
    Role.BrightText: (255, 90, 80),
    Role.Light: (80, 80, 80),
    Role.Midlight: (66, 66, 66),
    Role.Mid: (40, 40, 40),
    Role.Dark: (24, 24, 24),
    Role.Shadow: (10, 10, 10),
    Role.HighlightedText: (255, 255, 255),
    Role.Link: (110, 170, 230),
    Role.LinkVisited: (160, 140, 220),
}
_DISABLED_TEXT = (140, 140, 140)  # contrast 4:1 on the window grey


def dark_palette() -> QPalette:
    """The dark palette: neutral greys, :data:`ACCENT` for selection."""
    palette = QPalette()
    for role, rgb in _DARK.items():
        palette.setColor(role, QColor(*rgb))
    palette.setColor(Role.Highlight, ACCENT)
    for role in (Role.WindowText, Role.Text, Role.ButtonText, Role.PlaceholderText):
        palette.setColor(Group.Disabled, role, QColor(*_DISABLED_TEXT))
    palette.setColor(Group.Disabled, Role.Highlight, QColor(80, 80, 80))
    palette.setColor(Group.Disabled, Role.HighlightedText, QColor(*_DISABLED_TEXT))
    palette.setColor(Group.Disabled, Role.Button, QColor(50, 50, 50))
    return palette


# Fusion draws a checked tool button only a shade darker; layer and emotion toggles must read
# at a glance, so checked ones take the accent colour (both themes). Set on those bars only:
# an application-wide style sheet would put Qt's style-sheet style in front of Fusion.
CHECKED_BUTTON_STYLE = (
    f"QToolButton:checked {{ background-color: {ACCENT.name()}; color: white; "
    f"border: 1px solid {ACCENT.name()}; border-radius: 3px; }}"
)


def configure_plots() -> None:
    """pyqtgraph's default colours for plots made from now on (the timeline canvas)."""
    pg.setConfigOptions(background=CANVAS_BACKGROUND, foreground=CANVAS_FOREGROUND)


def apply_theme(app: QApplication, theme: str) -> None:
    """Use the Fusion style with the ``"dark"`` or ``"light"`` palette; set plot colours.

    Parameters
    ----------
    app
        The application.
    theme
        ``"dark"`` or ``"light"`` (Fusion's standard palette); anything else is logged and
        treated as dark.
    """
    if theme not in THEMES:
        log.warning("unknown theme %r; using dark", theme)
        theme = "dark"
    app.setStyle("Fusion")
    style = app.style()
    palette = dark_palette() if theme == "dark" else style.standardPalette()
    app.setPalette(palette)
    app.setProperty("evpTheme", theme)
    configure_plots()


def current_theme(app: QApplication) -> str | None:
    """The theme :func:`apply_theme` last set, or None."""
    value = app.property("evpTheme")
    return value if isinstance(value, str) else None


def configure_high_dpi() -> None:
    """Scale by the screen's exact factor (150 % stays 1.5, not 2); before the app exists.

    Qt 6 is per-monitor DPI aware already; the default rounding policy would round the
    fractional factors of laptop screens. Does nothing once a QGuiApplication exists (Qt
    refuses the change then).
    """
    if QGuiApplication.instance() is not None:
        log.debug("high-DPI policy not changed: the application exists already")
        return
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
