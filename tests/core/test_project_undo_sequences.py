"""Random edit sequences: undo walks back through every state, redo forward again."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from evp_studio.errors import InvalidInputError
from evp_studio.project import EMOTIONS, Document, Easing, EmotionSource, project_to_dict

frames = st.integers(0, 12)  # a small range, so that collisions happen
emotions = st.sampled_from(EMOTIONS)
intensities = st.sampled_from([0.0, 0.25, 0.5, 1.0])
easings = st.sampled_from(list(Easing))


def snapshot(doc: Document) -> dict[str, Any]:
    return project_to_dict(doc.project)


class DocumentEdits(RuleBasedStateMachine):
    """Mirrors the undo history as a list of expected states."""

    def __init__(self) -> None:
        super().__init__()
        self.doc = Document()
        self.states = [snapshot(self.doc)]
        self.position = 0

    def pick(self, index: int, count: int = 1) -> list[str]:
        keys = self.doc.project.emotion.keys
        if not keys:
            return []
        return [keys[(index + i) % len(keys)].id for i in range(count)]

    def edit(self, action: Any) -> None:
        before = snapshot(self.doc)
        depth = self.doc.history.index
        try:
            action()
        except InvalidInputError:
            assert snapshot(self.doc) == before  # a refused edit changes nothing
            assert self.doc.history.index == depth
            return
        if self.doc.history.index == depth:
            assert snapshot(self.doc) == before  # a no-op records nothing
            return
        assert self.doc.history.index == depth + 1  # one edit, one entry
        self.states = self.states[: self.position + 1] + [snapshot(self.doc)]
        self.position += 1

    @rule(frame=frames, emotion=emotions, intensity=intensities, easing=easings)
    def add(self, frame: int, emotion: str, intensity: float, easing: Easing) -> None:
        self.edit(
            lambda: self.doc.add_keyframe(
                frame=frame, emotion=emotion, intensity=intensity, easing=easing
            )
        )

    @rule(index=st.integers(0, 20), count=st.integers(1, 3))
    def remove(self, index: int, count: int) -> None:
        self.edit(lambda: self.doc.remove_keyframes(key_ids=self.pick(index, count)))

    @rule(index=st.integers(0, 20), count=st.integers(1, 3), delta=st.integers(-4, 4))
    def move(self, index: int, count: int, delta: int) -> None:
        self.edit(lambda: self.doc.move_keyframes(key_ids=self.pick(index, count), delta=delta))

    @precondition(lambda self: len(self.doc.project.emotion) > 0)
    @rule(index=st.integers(0, 20), frame=st.none() | frames, intensity=st.none() | intensities)
    def update(self, index: int, frame: int | None, intensity: float | None) -> None:
        key_id = self.pick(index)[0]
        self.edit(lambda: self.doc.update_keyframe(key_id=key_id, frame=frame, intensity=intensity))

    @rule(source=st.sampled_from(list(EmotionSource)))
    def source(self, source: EmotionSource) -> None:
        self.edit(lambda: self.doc.set_emotion_source(source=source))

    @rule()
    def undo(self) -> None:
        if self.doc.history.can_undo:
            self.doc.undo()
            self.position -= 1

    @rule()
    def redo(self) -> None:
        if self.doc.history.can_redo:
            self.doc.redo()
            self.position += 1

    @invariant()
    def matches_expected_state(self) -> None:
        assert self.doc.history.index == self.position
        assert snapshot(self.doc) == self.states[self.position]
        assert self.doc.is_dirty == (self.position != 0)

    def teardown(self) -> None:
        while self.doc.history.can_undo:
            self.doc.undo()
        assert snapshot(self.doc) == self.states[0]
        while self.doc.history.can_redo:
            self.doc.redo()
        assert snapshot(self.doc) == self.states[-1]


DocumentEdits.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestDocumentEdits = DocumentEdits.TestCase


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["add", "remove", "move", "source"]), frames, st.integers(-3, 3)),
        max_size=25,
    )
)
def test_undo_all_returns_to_start_and_redo_all_to_end(ops: list[tuple[str, int, int]]) -> None:
    doc = Document()
    start = snapshot(doc)
    for op, frame, delta in ops:
        keys = doc.project.emotion.keys
        try:
            if op == "add":
                doc.add_keyframe(frame=frame, emotion=EMOTIONS[frame % 8], intensity=0.5)
            elif op == "remove" and keys:
                doc.remove_keyframes(key_ids=[keys[frame % len(keys)].id])
            elif op == "move" and keys:
                doc.move_keyframes(key_ids=[k.id for k in keys[: frame % 3 + 1]], delta=delta)
            elif op == "source":
                doc.set_emotion_source(source=list(EmotionSource)[frame % 3])
        except InvalidInputError:
            pass
    end = snapshot(doc)
    while doc.history.can_undo:
        doc.undo()
    assert snapshot(doc) == start and not doc.is_dirty
    while doc.history.can_redo:
        doc.redo()
    assert snapshot(doc) == end
