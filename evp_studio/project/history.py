"""Undo/redo without Qt: commands, a command stack with a clean index, and macros.

Every user edit is a :class:`Command` pushed on the document's :class:`CommandStack`. The
stack plays the role QUndoStack plays in Qt applications (PySide6 keeps QUndoStack in
QtGui, which the core must not import) and announces what changed with psygnal signals.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from psygnal import Signal

from evp_studio.errors import InvalidInputError

if TYPE_CHECKING:
    from evp_studio.project.model import Project

log = logging.getLogger(__name__)

DEFAULT_MAX_DEPTH = 200


@dataclass(frozen=True)
class Changes:
    """Which parts of the document an operation touched, so views refresh only those.

    Combine with ``|``; a ``Changes`` is truthy when any flag is set.
    """

    keyframes: bool = False
    media: bool = False  # target / speech / reference files or their fields
    settings: bool = False  # render settings
    source: bool = False  # emotion source
    name: bool = False  # project name

    def __or__(self, other: Changes) -> Changes:
        if not isinstance(other, Changes):
            return NotImplemented
        merged = {f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)}
        return Changes(**merged)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @classmethod
    def everything(cls) -> Changes:
        """Return a ``Changes`` with every flag set (e.g. after loading another project)."""
        return cls(**{f.name: True for f in fields(cls)})


class Command(ABC):
    """One undoable edit. Subclasses capture ``old`` and ``new`` values in ``__init__``.

    Commands refer to keyframes by stable id, never by object reference, so that they stay
    valid after other commands replaced the objects.
    """

    label: str = ""

    @abstractmethod
    def do(self, doc: Project) -> Changes:
        """Apply the edit to ``doc`` and return what changed."""

    @abstractmethod
    def undo(self, doc: Project) -> Changes:
        """Revert the edit on ``doc`` and return what changed."""


class MacroCommand(Command):
    """Several commands that undo and redo as one entry (made by ``CommandStack.macro``).

    Parameters
    ----------
    label
        Shown in the Undo menu.
    commands
        The steps, in the order they were done.
    """

    def __init__(self, label: str, commands: tuple[Command, ...]) -> None:
        self.label = label
        self.commands = commands

    def do(self, doc: Project) -> Changes:
        return _run_all(self.commands, doc, forward=True)

    def undo(self, doc: Project) -> Changes:
        return _run_all(tuple(reversed(self.commands)), doc, forward=False)


def _run_all(commands: tuple[Command, ...], doc: Project, *, forward: bool) -> Changes:
    """Run ``do`` (or ``undo``) of each command; on a failure revert the ones already run."""
    changes = Changes()
    for i, command in enumerate(commands):
        try:
            changes |= command.do(doc) if forward else command.undo(doc)
        except Exception:
            for done in reversed(commands[:i]):
                if forward:
                    done.undo(doc)
                else:
                    done.do(doc)
            raise
    return changes


@dataclass
class _OpenMacro:
    label: str
    steps: list[tuple[Command, Changes]] = field(default_factory=list)


class CommandStack:
    """A linear undo history of :class:`Command` entries over one project.

    Parameters
    ----------
    doc
        The project the commands edit.
    max_depth
        Most entries kept; the oldest are dropped beyond it.

    Signals
    -------
    changed(Changes)
        After a push, undo, redo or a finished macro, with what changed.
    clean_changed(bool)
        When :attr:`is_clean` flips.
    index_changed()
        When the position in the history or the entries changed (Undo/Redo menu texts).
    """

    changed = Signal(object)
    clean_changed = Signal(bool)
    index_changed = Signal()

    def __init__(self, doc: Project, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self._doc = doc
        self._entries: list[Command] = []
        self._index = 0  # entries[:index] are applied
        self._clean: int | None = 0  # None: the saved state is no longer reachable
        self._max_depth = _check_depth(max_depth)
        self._macro: _OpenMacro | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def doc(self) -> Project:
        """The project the commands edit."""
        return self._doc

    @property
    def max_depth(self) -> int:
        """Most entries kept; setting it lower drops the oldest entries at once."""
        return self._max_depth

    @max_depth.setter
    def max_depth(self, value: int) -> None:
        self._max_depth = _check_depth(value)
        if self._trim():
            self.index_changed.emit()

    @property
    def index(self) -> int:
        """Number of applied entries (the position between undo and redo entries)."""
        return self._index

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def labels(self) -> list[str]:
        """Labels of all entries, oldest first (for a history panel)."""
        return [entry.label for entry in self._entries]

    @property
    def can_undo(self) -> bool:
        """True when there is an entry to undo (and no macro is open)."""
        return self._index > 0 and self._macro is None

    @property
    def can_redo(self) -> bool:
        """True when there is an undone entry to redo (and no macro is open)."""
        return self._index < len(self._entries) and self._macro is None

    @property
    def undo_label(self) -> str:
        """Label of the entry :meth:`undo` would revert, or ``""``."""
        return self._entries[self._index - 1].label if self.can_undo else ""

    @property
    def redo_label(self) -> str:
        """Label of the entry :meth:`redo` would apply, or ``""``."""
        return self._entries[self._index].label if self.can_redo else ""

    @property
    def is_clean(self) -> bool:
        """True when the project is in the state last marked by :meth:`set_clean`."""
        return self._clean == self._index

    # -- operations --------------------------------------------------------------------------

    def push(self, command: Command) -> Changes:
        """Do ``command`` and record it, dropping the redo entries.

        Inside :meth:`macro` the command becomes a step of the macro's single entry.

        Returns
        -------
        Changes
            What the command changed.

        Raises
        ------
        Exception
            Whatever ``command.do`` raises; the command is not recorded then.
        """
        changes = command.do(self._doc)
        if self._macro is not None:
            self._macro.steps.append((command, changes))
        else:
            self._record(command, changes)
        return changes

    def undo(self) -> Changes:
        """Revert the last applied entry; returns what changed (nothing when none)."""
        self._refuse_in_macro("undo")
        if not self.can_undo:
            return Changes()
        was_clean = self.is_clean
        changes = self._entries[self._index - 1].undo(self._doc)
        self._index -= 1
        self._emit(changes, was_clean)
        return changes

    def redo(self) -> Changes:
        """Re-apply the next undone entry; returns what changed (nothing when none)."""
        self._refuse_in_macro("redo")
        if not self.can_redo:
            return Changes()
        was_clean = self.is_clean
        changes = self._entries[self._index].do(self._doc)
        self._index += 1
        self._emit(changes, was_clean)
        return changes

    def set_clean(self) -> None:
        """Mark the current state as saved."""
        self._set_clean_index(self._index)

    def reset_clean(self) -> None:
        """Forget the saved state: the project stays dirty until the next :meth:`set_clean`."""
        self._set_clean_index(None)

    def clear(self) -> None:
        """Drop every entry; the project keeps its state (and stays clean or dirty)."""
        self._refuse_in_macro("clear")
        self._clean = 0 if self.is_clean else None
        self._entries.clear()
        self._index = 0
        self.index_changed.emit()

    @contextmanager
    def macro(self, label: str) -> Iterator[None]:
        """Group the commands pushed inside the block into one undo entry.

        Nested macros fold into the outermost one. If the block raises, the steps it
        applied are undone in reverse order, nothing is recorded and the exception
        propagates: if it fails, nothing is modified.

        Parameters
        ----------
        label
            The entry's label (the outermost macro's label wins).
        """
        outer = self._macro is None
        if self._macro is None:
            self._macro = _OpenMacro(label)
        macro = self._macro
        start = len(macro.steps)
        try:
            yield
        except BaseException:
            try:
                for command, _ in reversed(macro.steps[start:]):
                    command.undo(self._doc)
                del macro.steps[start:]
            finally:
                if outer:
                    self._macro = None
            raise
        if not outer:
            return
        self._macro = None
        if macro.steps:
            changes = Changes()
            for _, step_changes in macro.steps:
                changes |= step_changes
            commands = tuple(command for command, _ in macro.steps)
            self._record(MacroCommand(macro.label, commands), changes)

    # -- internals ---------------------------------------------------------------------------

    def _record(self, command: Command, changes: Changes) -> None:
        was_clean = self.is_clean
        del self._entries[self._index :]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        self._entries.append(command)
        self._index += 1
        self._trim()
        self._emit(changes, was_clean)

    def _trim(self) -> bool:
        excess = len(self._entries) - self._max_depth
        if excess <= 0:
            return False
        # After a push there are no undone entries and the oldest ones go. When the depth
        # is lowered after some undos, the undone entries go first: undo matters more.
        undone = min(excess, len(self._entries) - self._index)
        del self._entries[len(self._entries) - undone :]
        if self._clean is not None and self._clean > len(self._entries):
            self._clean = None
        drop = excess - undone
        del self._entries[:drop]
        self._index -= drop
        if self._clean is not None:
            self._clean = self._clean - drop if self._clean >= drop else None
        return True

    def _emit(self, changes: Changes, was_clean: bool) -> None:
        self.changed.emit(changes)
        self.index_changed.emit()
        if self.is_clean != was_clean:
            self.clean_changed.emit(self.is_clean)

    def _set_clean_index(self, index: int | None) -> None:
        was_clean = self.is_clean
        self._clean = index
        if self.is_clean != was_clean:
            self.clean_changed.emit(self.is_clean)

    def _refuse_in_macro(self, what: str) -> None:
        if self._macro is not None:
            raise RuntimeError(f"cannot {what} while the macro {self._macro.label!r} is open")


def _check_depth(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"max_depth must be an integer >= 1, got {value!r}")
    return value
