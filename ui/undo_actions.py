"""Adapts the document's undo stack to menu actions."""

from __future__ import annotations

from dataclasses import dataclass

from evp_studio.project import CommandStack


@dataclass(frozen=True)
class UndoActionsInfo:
    """What the Undo and Redo menu items say and whether they are enabled."""

    undo_text: str
    redo_text: str
    can_undo: bool
    can_redo: bool


def undo_actions_info(history: CommandStack) -> UndoActionsInfo:
    """Menu texts such as "Undo Add Keyframe" for the stack's current state."""
    undo = f"&Undo {history.undo_label}" if history.can_undo else "&Undo"
    redo = f"&Redo {history.redo_label}" if history.can_redo else "&Redo"
    return UndoActionsInfo(undo, redo, history.can_undo, history.can_redo)
