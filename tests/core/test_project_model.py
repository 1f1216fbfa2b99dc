"""Document dataclasses: validation, keyframe track queries and emotion weights."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evp_studio.errors import InvalidInputError
from evp_studio.project import (
    EMOTIONS,
    NEUTRAL_INDEX,
    Easing,
    EmotionSource,
    EmotionTrack,
    Keyframe,
    MediaRef,
    MediaRole,
    Project,
    RenderSettings,
    SpeechTrack,
    TargetVideo,
)

HAPPY = EMOTIONS.index("happy")
SAD = EMOTIONS.index("sad")


def key(
    frame: int, emotion: str = "happy", intensity: float = 1.0, easing: str = "linear"
) -> Keyframe:
    return Keyframe(f"k{frame}", frame, emotion, intensity, Easing(easing))


def onehot(index: int) -> np.ndarray:
    vector = np.zeros(len(EMOTIONS), dtype=np.float32)
    vector[index] = 1.0
    return vector


# -- Keyframe ------------------------------------------------------------------------------


def test_emotion_order_is_the_official_one() -> None:
    assert EMOTIONS == (
        "angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised",
    )  # fmt: skip
    assert EMOTIONS[NEUTRAL_INDEX] == "neutral"


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"emotion": "joy"}, "'joy'"),
        ({"intensity": 1.5}, "1.5"),
        ({"intensity": -0.1}, "-0.1"),
        ({"intensity": float("nan")}, "nan"),
        ({"intensity": True}, "True"),
        ({"intensity": "high"}, "'high'"),
        ({"frame": -1}, "-1"),
        ({"frame": 2.0}, "2.0"),
        ({"frame": True}, "True"),
        ({"easing": "bounce"}, "'bounce'"),
        ({"id": ""}, "''"),
    ],
)
def test_keyframe_rejects_bad_values_naming_them(fields: dict[str, object], shown: str) -> None:
    values: dict[str, object] = {"id": "a", "frame": 0, "emotion": "happy", "intensity": 0.5}
    values.update(fields)
    with pytest.raises(InvalidInputError, match=f".*{shown}"):
        Keyframe(**values)  # type: ignore[arg-type]


def test_keyframe_normalises_types() -> None:
    k = Keyframe("a", np.int64(4), "sad", 1, "hold")  # type: ignore[arg-type]
    assert type(k.frame) is int and k.frame == 4
    assert type(k.intensity) is float
    assert k.easing is Easing.HOLD


def test_keyframe_is_frozen() -> None:
    k = key(1)
    with pytest.raises(AttributeError):
        k.frame = 3  # type: ignore[misc]


# -- EmotionTrack queries -------------------------------------------------------------------


def test_track_sorts_and_refuses_duplicates() -> None:
    track = EmotionTrack([key(9), key(2), key(5)])
    assert [k.frame for k in track.keys] == [2, 5, 9]
    with pytest.raises(InvalidInputError, match="frame 2"):
        EmotionTrack([key(2), Keyframe("other", 2, "sad", 0.2)])
    with pytest.raises(InvalidInputError, match="id"):
        EmotionTrack([key(2), Keyframe("k2", 3, "sad", 0.2)])


def test_track_queries() -> None:
    track = EmotionTrack([key(10), key(20), key(30)])
    assert track.key_at(20) is track.keys[1]
    assert track.key_at(21) is None
    assert track.key_by_id("k30") is track.keys[2]
    assert track.key_by_id("nope") is None
    assert track.next_key(20).frame == 30  # type: ignore[union-attr]
    assert track.next_key(5).frame == 10  # type: ignore[union-attr]
    assert track.next_key(30) is None
    assert track.prev_key(20).frame == 10  # type: ignore[union-attr]
    assert track.prev_key(10) is None
    assert track.prev_key(99).frame == 30  # type: ignore[union-attr]
    assert track.closest_key(14).frame == 10  # type: ignore[union-attr]
    assert track.closest_key(15).frame == 10  # type: ignore[union-attr] # tie -> earlier
    assert track.closest_key(16).frame == 20  # type: ignore[union-attr]
    assert track.closest_key(-50).frame == 10  # type: ignore[union-attr]
    assert track.closest_key(500).frame == 30  # type: ignore[union-attr]
    assert EmotionTrack().closest_key(3) is None


def test_track_edits_keep_order_and_refuse_collisions() -> None:
    track = EmotionTrack([key(10), key(20)])
    track.insert(key(15))
    assert [k.frame for k in track.keys] == [10, 15, 20]
    with pytest.raises(InvalidInputError, match="frame 15"):
        track.insert(Keyframe("x", 15, "sad", 0.1))
    before = list(track.keys)
    with pytest.raises(InvalidInputError, match="frame 20"):
        track.replace("k10", Keyframe("k10", 20, "sad", 0.1))
    assert track.keys == before
    old = track.replace("k10", Keyframe("k10", 25, "sad", 0.1))
    assert old.frame == 10
    assert [k.frame for k in track.keys] == [15, 20, 25]
    assert track.remove("k15").frame == 15
    with pytest.raises(InvalidInputError, match="nope"):
        track.remove("nope")


# -- emotion weights --------------------------------------------------------------------------


def test_no_keys_is_all_neutral() -> None:
    weights = EmotionTrack().emotion_weights(np.arange(5))
    assert weights.shape == (5, 8) and weights.dtype == np.float32
    np.testing.assert_array_equal(weights, np.tile(onehot(NEUTRAL_INDEX), (5, 1)))


def test_exact_values_at_keys_and_holding_outside() -> None:
    track = EmotionTrack([key(10, "happy", 0.8), key(20, "sad", 0.4)])
    weights = track.emotion_weights(np.array([0, 10, 20, 25, 1000]))
    at_first = 0.8 * onehot(HAPPY) + 0.2 * onehot(NEUTRAL_INDEX)
    at_last = 0.4 * onehot(SAD) + 0.6 * onehot(NEUTRAL_INDEX)
    np.testing.assert_allclose(weights[0], at_first, atol=1e-6)  # before the first key
    np.testing.assert_allclose(weights[1], at_first, atol=1e-6)
    np.testing.assert_allclose(weights[2], at_last, atol=1e-6)
    np.testing.assert_allclose(weights[3], at_last, atol=1e-6)  # after the last key
    np.testing.assert_allclose(weights[4], at_last, atol=1e-6)


def test_single_key_holds_everywhere() -> None:
    weights = EmotionTrack([key(50, "fear", 0.5)]).emotion_weights([0, 50, 99])
    expected = 0.5 * onehot(EMOTIONS.index("fear")) + 0.5 * onehot(NEUTRAL_INDEX)
    np.testing.assert_allclose(weights, np.tile(expected, (3, 1)), atol=1e-6)


def test_linear_midpoint() -> None:
    track = EmotionTrack([key(0, "happy", 1.0), key(10, "sad", 1.0)])
    np.testing.assert_allclose(
        track.emotion_weights([5])[0], 0.5 * onehot(HAPPY) + 0.5 * onehot(SAD), atol=1e-6
    )


def test_ease_in_out_matches_linear_at_midpoint_but_not_at_quarters() -> None:
    linear = EmotionTrack([key(0, "happy", 1.0), key(8, "sad", 1.0)])
    eased = EmotionTrack([key(0, "happy", 1.0, "ease-in-out"), key(8, "sad", 1.0)])
    frames = np.array([2, 4, 6])
    lin, ease = linear.emotion_weights(frames), eased.emotion_weights(frames)
    np.testing.assert_allclose(ease[1], lin[1], atol=1e-6)
    smooth = 3 * 0.25**2 - 2 * 0.25**3  # 0.15625
    assert ease[0, SAD] == pytest.approx(smooth) and lin[0, SAD] == pytest.approx(0.25)
    assert ease[2, SAD] == pytest.approx(1 - smooth) and lin[2, SAD] == pytest.approx(0.75)


def test_easing_is_taken_from_the_earlier_key() -> None:
    track = EmotionTrack([key(0, "happy", 1.0), key(8, "sad", 1.0, "hold"), key(16, "angry")])
    weights = track.emotion_weights([4, 12])
    assert weights[0, SAD] == pytest.approx(0.5)  # linear from key 0
    np.testing.assert_allclose(weights[1], onehot(SAD))  # hold from key 8


def test_hold_keeps_value_until_next_key() -> None:
    track = EmotionTrack([key(0, "happy", 1.0, "hold"), key(10, "sad", 1.0)])
    weights = track.emotion_weights(np.array([0, 1, 9, 9.99, 10]))
    np.testing.assert_allclose(weights[:4], np.tile(onehot(HAPPY), (4, 1)))
    np.testing.assert_allclose(weights[4], onehot(SAD))


def test_rows_sum_to_one_and_large_input_is_vectorised() -> None:
    keys = [key(i * 997, EMOTIONS[i % 8], (i % 5) / 4, list(Easing)[i % 3]) for i in range(1, 101)]
    frames = np.arange(100_000)
    weights = EmotionTrack(keys).emotion_weights(frames)
    assert weights.shape == (100_000, 8) and weights.dtype == np.float32
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert (weights >= 0).all()


@pytest.mark.parametrize("frames", [np.zeros((2, 2)), np.array([0.0, np.nan]), 3])
def test_bad_frame_arrays_are_refused(frames: object) -> None:
    with pytest.raises(InvalidInputError):
        EmotionTrack([key(0)]).emotion_weights(frames)  # type: ignore[arg-type]


def _reference_weights(track: EmotionTrack, frame: float) -> np.ndarray:
    """Per-frame, loop-based version of the interpolation rule, to check the vectorised one."""
    keys = track.keys
    if not keys:
        return onehot(NEUTRAL_INDEX).astype(np.float64)
    if frame <= keys[0].frame:
        return keys[0].weights()
    for a, b in zip(keys, keys[1:]):
        if a.frame <= frame < b.frame:
            t = (frame - a.frame) / (b.frame - a.frame)
            if a.easing is Easing.EASE_IN_OUT:
                t = t * t * (3 - 2 * t)
            elif a.easing is Easing.HOLD:
                t = 0.0
            return (1 - t) * a.weights() + t * b.weights()
    return keys[-1].weights()


key_lists = st.lists(
    st.tuples(
        st.integers(0, 60),
        st.sampled_from(EMOTIONS),
        st.floats(0, 1),
        st.sampled_from(list(Easing)),
    ),
    max_size=6,
    unique_by=lambda entry: entry[0],
)


@settings(max_examples=60, deadline=None)
@given(entries=key_lists, frames=st.lists(st.floats(-10, 80), min_size=1, max_size=20))
def test_vectorised_weights_match_reference(
    entries: list[tuple[int, str, float, Easing]], frames: list[float]
) -> None:
    track = EmotionTrack([Keyframe(f"k{f}", f, e, a, s) for f, e, a, s in entries])
    got = track.emotion_weights(np.array(frames))
    expected = np.stack([_reference_weights(track, f) for f in frames])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


# -- media holders, settings, project ----------------------------------------------------------

REF = MediaRef("/media/clip.mp4", "")


def test_target_video_keeps_an_exact_rate() -> None:
    ntsc = TargetVideo(REF, "30000/1001", 10, 64, 48)  # type: ignore[arg-type]
    assert ntsc.frame_rate == Fraction(30000, 1001)
    assert TargetVideo(REF, 25, 10, 64, 48).frame_rate == 25  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="29.97"):
        TargetVideo(REF, 29.97, 10, 64, 48)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'29.97'"):
        TargetVideo(REF, "29.97", 10, 64, 48)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="frame_count"):
        TargetVideo(REF, Fraction(25), 0, 64, 48)
    assert TargetVideo(REF, Fraction(25), 50, 64, 48).duration == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"renderer": "magic"},
        {"crf": 52},
        {"crf": -1},
        {"preset": "warp-speed"},
        {"width": 0},
        {"in_frame": -1},
        {"in_frame": 10, "out_frame": 10},
    ],
)
def test_render_settings_validation(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        RenderSettings(**fields)  # type: ignore[arg-type]


def test_media_ref_validation() -> None:
    with pytest.raises(InvalidInputError, match="content_hash"):
        MediaRef("/a.wav", "md5:abc")
    with pytest.raises(InvalidInputError, match="media path"):
        MediaRef("", "")


def test_project_new_and_media_slots() -> None:
    project = Project.new()
    assert project.name == "Untitled"
    assert project.emotion_source is EmotionSource.KEYFRAMES
    assert project.emotion_weights([0]).shape == (1, 8)
    assert project.media_refs() == {}
    with pytest.raises(InvalidInputError, match="no speech"):
        project.set_media_ref("speech", REF)
    project.speech = SpeechTrack(REF, offset_frames=-3)
    moved = MediaRef("/elsewhere/clip.mp4", "")
    project.set_media_ref(MediaRole.SPEECH, moved)
    assert project.speech == SpeechTrack(moved, -3)
    assert project.media_ref("speech") == moved
    with pytest.raises(InvalidInputError, match="role"):
        project.media_ref("subtitles")
    with pytest.raises(InvalidInputError, match="emotion_source"):
        Project("x", emotion_source="vibes")  # type: ignore[arg-type]
