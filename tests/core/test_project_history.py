"""CommandStack: undo/redo, labels, signals, macros, depth limit and the clean index."""

from __future__ import annotations

import pytest

from evp_studio.errors import InvalidInputError
from evp_studio.project import (
    AddKeyframe,
    Changes,
    Command,
    CommandStack,
    Keyframe,
    Project,
    RemoveKeyframe,
    RenameProject,
    project_to_dict,
)


def state(project: Project) -> dict[str, object]:
    return project_to_dict(project)


def add(frame: int) -> AddKeyframe:
    return AddKeyframe(Keyframe(f"k{frame}", frame, "happy", 0.5))


class Boom(Command):
    """A command whose do fails."""

    label = "Boom"

    def do(self, doc: Project) -> Changes:
        raise InvalidInputError("boom")

    def undo(self, doc: Project) -> Changes:  # pragma: no cover - never done
        raise AssertionError("undo of a command that never ran")


@pytest.fixture
def project() -> Project:
    return Project.new("History")


@pytest.fixture
def stack(project: Project) -> CommandStack:
    return CommandStack(project, max_depth=5)


def frames(project: Project) -> list[int]:
    return [k.frame for k in project.emotion.keys]


def test_changes_merge_and_truthiness() -> None:
    assert not Changes()
    merged = Changes(keyframes=True) | Changes(media=True)
    assert merged == Changes(keyframes=True, media=True)
    assert merged
    assert all(vars(Changes.everything()).values())


def test_push_undo_redo_and_labels(stack: CommandStack, project: Project) -> None:
    assert not stack.can_undo and not stack.can_redo
    assert stack.undo_label == "" and stack.redo_label == ""
    assert stack.undo() == Changes() and stack.redo() == Changes()
    stack.push(add(1))
    stack.push(RenameProject("History", "Renamed", label="Rename"))
    assert stack.undo_label == "Rename"
    assert stack.undo() == Changes(name=True)
    assert project.name == "History"
    assert stack.redo_label == "Rename" and stack.undo_label == "Add keyframe"
    assert stack.redo() == Changes(name=True)
    assert project.name == "Renamed"
    assert stack.labels == ["Add keyframe", "Rename"]


def test_push_truncates_redo_tail(stack: CommandStack, project: Project) -> None:
    stack.push(add(1))
    stack.push(add(2))
    stack.undo()
    stack.push(add(3))
    assert not stack.can_redo
    assert len(stack) == 2
    assert frames(project) == [1, 3]


def test_failing_push_records_nothing(stack: CommandStack, project: Project) -> None:
    stack.push(add(1))
    with pytest.raises(InvalidInputError, match="frame 1"):
        stack.push(add(1))
    assert len(stack) == 1 and frames(project) == [1]


def test_signals(stack: CommandStack) -> None:
    seen: list[tuple[str, object]] = []
    stack.changed.connect(lambda changes: seen.append(("changed", changes)))
    stack.clean_changed.connect(lambda clean: seen.append(("clean", clean)))
    stack.index_changed.connect(lambda: seen.append(("index", None)))
    stack.push(add(1))
    assert seen == [("changed", Changes(keyframes=True)), ("index", None), ("clean", False)]
    seen.clear()
    stack.undo()
    assert seen == [("changed", Changes(keyframes=True)), ("index", None), ("clean", True)]


def test_macro_makes_one_entry(stack: CommandStack, project: Project) -> None:
    s0 = state(project)
    emitted: list[Changes] = []
    stack.changed.connect(emitted.append)
    with stack.macro("Add three"):
        stack.push(add(1))
        with stack.macro("inner"):  # folds into the outer macro
            stack.push(add(2))
            stack.push(RenameProject("History", "Three"))
        stack.push(add(3))
        assert emitted == []  # views see one consistent change at the end
    assert emitted == [Changes(keyframes=True, name=True)]
    assert len(stack) == 1 and stack.undo_label == "Add three"
    s1 = state(project)
    stack.undo()
    assert state(project) == s0
    stack.redo()
    assert state(project) == s1


def test_failing_macro_step_changes_nothing(stack: CommandStack, project: Project) -> None:
    stack.push(add(0))
    s0 = state(project)
    with pytest.raises(InvalidInputError, match="boom"), stack.macro("Doomed"):
        stack.push(add(1))
        stack.push(RemoveKeyframe("k0"))
        stack.push(RenameProject("History", "Half"))
        stack.push(Boom())
    assert state(project) == s0
    assert len(stack) == 1 and stack.undo_label == "Add keyframe"


def test_exception_in_macro_body_rolls_back(stack: CommandStack, project: Project) -> None:
    s0 = state(project)
    with pytest.raises(KeyError), stack.macro("Doomed"):
        stack.push(add(1))
        raise KeyError("not a command failure")
    assert state(project) == s0 and len(stack) == 0


def test_caught_inner_failure_keeps_outer_steps(stack: CommandStack, project: Project) -> None:
    with stack.macro("Outer"):
        stack.push(add(1))
        with pytest.raises(InvalidInputError), stack.macro("Inner"):
            stack.push(add(2))
            stack.push(Boom())
        stack.push(add(3))
    assert frames(project) == [1, 3]
    assert len(stack) == 1
    stack.undo()
    assert frames(project) == []


def test_empty_macro_records_nothing(stack: CommandStack) -> None:
    with stack.macro("Nothing"):
        pass
    assert len(stack) == 0 and stack.is_clean


def test_undo_inside_macro_is_refused(stack: CommandStack) -> None:
    stack.push(add(1))
    with stack.macro("Open"):
        assert not stack.can_undo
        with pytest.raises(RuntimeError, match="Open"):
            stack.undo()


def test_dirty_after_edit_clean_after_undo_to_saved_point(stack: CommandStack) -> None:
    assert stack.is_clean
    stack.push(add(1))
    stack.set_clean()
    stack.push(add(2))
    assert not stack.is_clean
    stack.undo()
    assert stack.is_clean
    stack.undo()
    assert not stack.is_clean
    stack.redo()
    assert stack.is_clean


def test_branching_off_before_the_saved_point_makes_it_unreachable(stack: CommandStack) -> None:
    stack.push(add(1))
    stack.set_clean()
    stack.undo()
    stack.push(add(2))
    stack.undo()
    assert not stack.is_clean  # index 0 again, but the saved state was on the dropped branch


def test_max_depth_drops_oldest_and_shifts_clean_index(
    stack: CommandStack, project: Project
) -> None:
    for frame in range(3):
        stack.push(add(frame))
    stack.set_clean()  # after 3 entries
    for frame in range(3, 7):
        stack.push(add(frame))  # 7 pushed, depth 5: the 2 oldest are gone
    assert len(stack) == 5 and stack.index == 5
    assert stack.labels == ["Add keyframe"] * 5
    for _ in range(4):
        stack.undo()
    assert stack.is_clean and frames(project) == [0, 1, 2]
    stack.undo()
    assert not stack.can_undo and frames(project) == [0, 1]


def test_clean_state_dropped_by_depth_is_unreachable(stack: CommandStack) -> None:
    stack.push(add(0))
    stack.set_clean()
    for frame in range(1, 7):
        stack.push(add(frame))
    while stack.can_undo:
        stack.undo()
        assert not stack.is_clean


def test_lowering_depth_after_undos_drops_undone_entries_first(
    stack: CommandStack, project: Project
) -> None:
    for frame in range(5):
        stack.push(add(frame))
    stack.undo()
    stack.undo()  # 3 applied, 2 undone
    stack.max_depth = 2
    assert len(stack) == 2 and stack.index == 2 and not stack.can_redo
    stack.undo()
    stack.undo()
    assert not stack.can_undo and frames(project) == [0]
    with pytest.raises(InvalidInputError):
        stack.max_depth = 0


def test_clear_keeps_state_and_cleanliness(stack: CommandStack, project: Project) -> None:
    stack.push(add(1))
    stack.clear()
    assert frames(project) == [1] and not stack.can_undo and not stack.is_clean
    stack.set_clean()
    stack.clear()
    assert stack.is_clean


def test_reset_clean_makes_dirty(stack: CommandStack) -> None:
    flips: list[bool] = []
    stack.clean_changed.connect(flips.append)
    stack.reset_clean()
    assert not stack.is_clean and flips == [False]
