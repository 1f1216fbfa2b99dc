"""Help ▸ Keyboard Shortcuts: every shortcut of the window, grouped by menu, searchable.

The list is built from the live window, never typed twice: the actions of every menu, the
actions widgets carry (``widget.actions()``, e.g. the emotion track's K, [ and ]) and buttons
with their own shortcut (the preview layers' 1-5). The same walk finds shortcut clashes and
actions or buttons without a tooltip, which the tests use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMenuBar,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

Context = Qt.ShortcutContext
_LOCAL = {Context.WidgetShortcut, Context.WidgetWithChildrenShortcut}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class ShortcutEntry:
    """One shortcut-carrying action or button as the list shows it."""

    group: str  # "File", "File ▸ Open Recent", "Emotion track"
    text: str  # the action's text without mnemonics
    keys: tuple[str, ...]  # each shortcut, portable text ("Ctrl+Shift+O")
    tip: str
    local: bool = False  # only active while its widget has focus (cannot clash window-wide)
    source: object = field(default=None, compare=False, repr=False)

    def native_keys(self) -> str:
        """The shortcuts as this platform writes them (``⌘O`` on macOS)."""
        return ", ".join(
            QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in self.keys
        )


def plain_text(text: str) -> str:
    """Menu text without its mnemonic ampersands (``&&`` stays one ``&``)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _has_tip(action: QAction) -> bool:
    """True when the action has a status tip, or a tooltip other than Qt's default (its text)."""
    default = QAction(action.text()).toolTip()  # Qt strips "&" and "..." for the default
    return bool(action.statusTip().strip()) or action.toolTip().strip() not in ("", default)


def _keys(sequences: list[QKeySequence]) -> tuple[str, ...]:
    texts = (s.toString(QKeySequence.SequenceFormat.PortableText) for s in sequences)
    return tuple(t for t in texts if t)


def menu_actions(window: QMainWindow) -> Iterator[tuple[str, QAction]]:
    """``(group, action)`` for every action in the window's menus, submenus included."""

    def walk(menu: QMenu, group: str) -> Iterator[tuple[str, QAction]]:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                yield from walk(sub, f"{group} ▸ {plain_text(sub.title())}")
            elif not action.isSeparator():
                yield group, action

    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            yield from walk(menu, plain_text(menu.title()))


def _group_of(widget: QWidget) -> str:
    """A readable name for the widget an action belongs to (its own or an ancestor's)."""
    w: QWidget | None = widget
    while w is not None:
        name = w.accessibleName() or (w.windowTitle() if not w.isWindow() else "")
        if name:
            return name
        if w.objectName() and not w.objectName().startswith("qt_"):
            words = _CAMEL.sub(" ", w.objectName()).lower()
            return words[:1].upper() + words[1:]
        w = w.parentWidget()
    return "Window"


def collect_shortcuts(window: QMainWindow) -> list[ShortcutEntry]:
    """Every action or button of ``window`` that has a keyboard shortcut.

    Parameters
    ----------
    window
        The main window.

    Returns
    -------
    list of ShortcutEntry
        Menu actions first (in menu order), then widget actions and buttons.
    """
    entries: list[ShortcutEntry] = []
    seen: set[int] = set()
    for group, action in menu_actions(window):
        seen.add(id(action))
        keys = _keys(action.shortcuts())
        if keys:
            tip = action.statusTip() or action.toolTip()
            entries.append(
                ShortcutEntry(group, plain_text(action.text()), keys, tip, False, action)
            )
    widgets = [window, *window.findChildren(QWidget)]
    for widget in widgets:
        if isinstance(widget, QMenu | QMenuBar):
            continue
        for action in widget.actions():
            keys = _keys(action.shortcuts())
            if not keys or id(action) in seen or action.menu() is not None:
                continue
            seen.add(id(action))
            local = action.shortcutContext() in _LOCAL
            tip = action.statusTip() or action.toolTip()
            group = "Window" if widget is window else _group_of(widget)
            entries.append(
                ShortcutEntry(group, plain_text(action.text()), keys, tip, local, action)
            )
        if isinstance(widget, QAbstractButton):
            keys = _keys([widget.shortcut()])
            if keys:
                text = plain_text(widget.text()) or widget.toolTip()
                group = _group_of(widget.parentWidget() or widget)
                entries.append(ShortcutEntry(group, text, keys, widget.toolTip(), False, widget))
    return entries


def find_clashes(entries: list[ShortcutEntry]) -> dict[str, list[ShortcutEntry]]:
    """Shortcuts that more than one window-wide entry uses: ``{key: entries}``."""
    users: dict[str, list[ShortcutEntry]] = defaultdict(list)
    for entry in entries:
        if not entry.local:
            for key in entry.keys:
                users[key].append(entry)
    return {key: found for key, found in users.items() if len(found) > 1}


def missing_tips(window: QMainWindow) -> list[str]:
    """Menu actions, toolbar actions and buttons of ``window`` that explain nothing.

    Returns
    -------
    list of str
        ``"group: text"`` for every action without a status tip or tooltip of its own, and
        every tool or push button without a tooltip (Qt's internal ``qt_*`` ones aside).
    """
    missing = [f"{g}: {plain_text(a.text())}" for g, a in menu_actions(window) if not _has_tip(a)]
    for button in window.findChildren(QAbstractButton):
        if not isinstance(button, QToolButton | QPushButton):
            continue
        if button.objectName().startswith("qt_"):
            continue
        action = button.defaultAction() if isinstance(button, QToolButton) else None
        if action is not None and _has_tip(action):
            continue
        if not (button.toolTip().strip() or button.statusTip().strip()):
            label = button.text() or button.objectName() or type(button).__name__
            missing.append(f"{_group_of(button)}: {label}")
    return missing


class ShortcutsDialog(QDialog):
    """A searchable tree of :func:`collect_shortcuts`, one branch per menu or widget."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(560, 620)
        self.entries = collect_shortcuts(window)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search actions or keys")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Shortcut"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        # group item -> [(row item, what a search matches: group, text, keys both ways)]
        self._rows: dict[QTreeWidgetItem, list[tuple[QTreeWidgetItem, str]]] = {}
        groups: dict[str, QTreeWidgetItem] = {}
        for entry in self.entries:
            parent = groups.get(entry.group)
            if parent is None:
                parent = QTreeWidgetItem(self.tree, [entry.group])
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                parent.setFirstColumnSpanned(True)
                groups[entry.group] = parent
                self._rows[parent] = []
            item = QTreeWidgetItem(parent, [entry.text, entry.native_keys()])
            item.setToolTip(0, entry.tip)
            hay = " ".join((entry.group, entry.text, *entry.keys, entry.native_keys()))
            self._rows[parent].append((item, hay.lower()))
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

    def filter(self, text: str) -> None:
        """Show only the rows whose group, text or keys contain every word of ``text``."""
        words = text.lower().split()
        for group, rows in self._rows.items():
            shown = 0
            for item, hay in rows:
                hide = not all(word in hay for word in words)
                item.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)

    def visible_texts(self) -> list[str]:
        """Texts of the rows on show (for tests)."""
        return [
            item.text(0)
            for group, rows in self._rows.items()
            if not group.isHidden()
            for item, _ in rows
            if not item.isHidden()
        ]
