"""Speech emotion per target frame, keys made from it, and replacing the keys in one step."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, run_job
from evp_studio.pipeline.speech_emotion import (
    analyse_emotion_audio,
    detect_emotion,
    detect_whole_clip,
    keys_from_detected,
    keys_from_speech,
)
from evp_studio.project import EMOTIONS, Document, Easing, EmotionSource, Keyframe

HAPPY, SAD, ANGRY, NEUTRAL = (EMOTIONS.index(e) for e in ("happy", "sad", "angry", "neutral"))
PS_RAW = Path("/usr/share/pocketsphinx/test/data/goforward.raw")  # 16 kHz s16le mono


def probs_of(*segments: tuple[int, int, float]) -> tuple[np.ndarray, np.ndarray]:
    """25 fps rows: each segment is (rows, category, probability of that category)."""
    rows = []
    for n, cat, p in segments:
        row = np.full(8, (1.0 - p) / 7.0)
        row[cat] = p
        rows.append(np.repeat(row[None], n, axis=0))
    probs = np.concatenate(rows).astype(np.float32)
    return probs, np.arange(len(probs)) / 25.0


def summary(keys: list[Keyframe]) -> list[tuple[int, str, float]]:
    return [(k.frame, k.emotion, k.intensity) for k in keys]


def test_a_key_at_each_change_of_category_with_mapped_intensity() -> None:
    probs, times = probs_of((50, HAPPY, 0.7), (50, SAD, 0.6), (25, NEUTRAL, 0.9))
    keys = keys_from_speech(probs, times, 25, 0)
    # intensity: probability mapped from chance (1/8) .. 1 onto 0 .. 1; neutral keys get 0
    assert summary(keys) == [(0, "happy", 0.66), (50, "sad", 0.54), (100, "neutral", 0.0)]
    assert all(k.easing == Easing.LINEAR for k in keys)
    assert len({k.id for k in keys}) == 3
    held = keys_from_speech(probs, times, 25, 0, easing="hold")
    assert {k.easing for k in held} == {Easing.HOLD}


def test_blips_and_near_ties_make_no_keys() -> None:
    # a 3-row spike of anger inside happiness: removed by the median filter
    spike, times = probs_of((40, HAPPY, 0.6), (3, ANGRY, 0.9), (40, HAPPY, 0.6))
    assert summary(keys_from_speech(spike, times, 25, 0)) == [(0, "happy", 0.54)]
    # happy and sad trade a 0.05 lead every 8 rows: below the hysteresis, no flip-flopping
    rows = []
    for i in range(12):
        lead, other = (HAPPY, SAD) if i % 2 == 0 else (SAD, HAPPY)
        row = np.full(8, 0.25 / 6)
        row[lead], row[other] = 0.4, 0.35
        rows.append(np.repeat(row[None], 8, axis=0))
    ties = np.concatenate(rows)
    keys = keys_from_speech(ties, np.arange(len(ties)) / 25.0, 25, 0, median_s=0.0)
    assert [k.emotion for k in keys] == ["happy"]
    # without hysteresis and minimum length every swap is a key
    jumpy = keys_from_speech(
        ties, np.arange(len(ties)) / 25.0, 25, 0, median_s=0, hysteresis=0, min_segment_s=0
    )
    assert len(jumpy) == 12


def test_short_segments_join_their_longer_neighbour() -> None:
    probs, times = probs_of((30, HAPPY, 0.8), (8, SAD, 0.8), (60, ANGRY, 0.8))
    detected = detect_emotion(probs, times, 25, 0, median_s=0.0, min_segment_s=0.5)
    assert set(detected.category[:30].tolist()) == {HAPPY}
    assert set(detected.category[30:].tolist()) == {ANGRY}  # the 8 sad rows went to anger


def test_target_frames_follow_rate_and_offset() -> None:
    probs, times = probs_of((50, HAPPY, 0.7), (50, SAD, 0.6))  # 4 s, change at 2 s
    rate = Fraction(30000, 1001)
    detected = detect_emotion(probs, times, rate, 10)
    assert detected.frames[0] == 10 and detected.frames[-1] == 10 + 119  # 4 s = 119.88 frames
    assert np.array_equal(detected.frames, np.arange(10, 130))
    keys = keys_from_detected(detected)
    assert [k.frame for k in keys] == [10, 70]  # 2 s after frame 10 is frame 69.94 -> 70
    # a negative offset cuts the start; n_frames cuts the end; outside the video: nothing
    cut = detect_emotion(probs, times, 25, -60, n_frames=30)
    assert cut.frames.tolist() == list(range(30))
    assert set(cut.category.tolist()) == {SAD}
    assert len(detect_emotion(probs, times, 25, 500, n_frames=400)) == 0
    assert keys_from_detected(detect_emotion(probs, times, 25, -200)) == []


def test_weights_mean_what_keys_mean() -> None:
    probs, times = probs_of((50, HAPPY, 0.7))
    detected = detect_emotion(probs, times, 25, 0)
    keys = keys_from_detected(detected)
    assert np.allclose(detected.weights()[0], keys[0].weights(), atol=0.01)
    assert np.allclose(detected.weights().sum(axis=1), 1.0)


def test_whole_clip_holds_one_emotion_over_the_video() -> None:
    row = np.full(8, 0.05, np.float32)
    row[SAD] = 0.65
    detected = detect_whole_clip(row, 40)
    assert detected.frames.tolist() == list(range(40))
    assert set(detected.category.tolist()) == {SAD}
    assert summary(keys_from_detected(detected)) == [(0, "sad", 0.6)]


@pytest.mark.parametrize(
    ("probs", "times", "rate", "match"),
    [
        (np.zeros((5, 7)), np.arange(5) / 25, 25, r"\(T, 8\)"),
        (np.zeros((0, 8)), np.zeros(0), 25, r"\(T, 8\)"),
        (np.full((5, 8), np.nan), np.arange(5) / 25, 25, "finite"),
        (np.full((5, 8), 0.125), np.zeros(5), 25, "increasing"),
        (np.full((5, 8), 0.125), np.arange(4) / 25, 25, "times_s"),
        (np.full((5, 8), 0.125), np.arange(5) / 25, 0, "frame_rate"),
    ],
)
def test_bad_input_is_refused(probs: np.ndarray, times: np.ndarray, rate: int, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        detect_emotion(probs, times, rate, 0)


def test_replace_keyframes_is_one_undo_step() -> None:
    doc = Document.new()
    doc.add_keyframe(frame=5, emotion="angry", intensity=0.5)
    doc.add_keyframe(frame=9, emotion="fear", intensity=0.3)
    doc.set_emotion_source(source=EmotionSource.SPEECH)
    before = list(doc.project.emotion.keys)
    probs, times = probs_of((50, HAPPY, 0.7), (50, SAD, 0.6))
    new = keys_from_speech(probs, times, 25, 0)
    depth = len(doc.history)
    with doc.history.macro("Convert speech emotion to keys"):
        doc.replace_keyframes(keys=new)
        doc.set_emotion_source(source=EmotionSource.KEYFRAMES)
    after = list(doc.project.emotion.keys)
    assert after == new and doc.project.emotion_source == EmotionSource.KEYFRAMES
    assert len(doc.history) == depth + 1
    assert doc.history.undo_label == "Convert speech emotion to keys"
    doc.undo()
    assert doc.project.emotion.keys == before
    assert doc.project.emotion_source == EmotionSource.SPEECH
    doc.redo()
    assert doc.project.emotion.keys == after
    assert doc.replace_keyframes(keys=after) == after and len(doc.history) == depth + 1  # no-op


def test_replace_keyframes_refuses_clashing_keys_and_changes_nothing() -> None:
    doc = Document.new()
    doc.add_keyframe(frame=5, emotion="angry", intensity=0.5)
    before, depth = list(doc.project.emotion.keys), len(doc.history)
    clash = [Keyframe("a1", 3, "happy", 1.0), Keyframe("b2", 3, "sad", 1.0)]
    with pytest.raises(InvalidInputError, match="frame 3"):
        doc.replace_keyframes(keys=clash)
    assert doc.project.emotion.keys == before and len(doc.history) == depth
    doc.replace_keyframes(keys=[])
    assert doc.project.emotion.keys == []
    doc.undo()
    assert doc.project.emotion.keys == before


@pytest.fixture(scope="module")
def real_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pocketsphinx's "go forward ten meters" recording as a wav file."""
    if not PS_RAW.exists():
        pytest.fail("pocketsphinx-testdata is not installed: run bash scripts/dev.sh setup")
    out = tmp_path_factory.mktemp("speech") / "goforward.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(PS_RAW.read_bytes())
    return out


def test_real_speech_gives_keys_on_the_timeline(real_speech: Path) -> None:
    reports = []
    result = run_job(analyse_emotion_audio(real_speech), on_progress=reports.append)
    duration_s = PS_RAW.stat().st_size / 2 / 16000
    assert result.path == real_speech and not result.whole_clip
    assert result.probs.shape[1] == 8 and abs(result.probs.shape[0] - duration_s * 25) <= 2
    assert np.allclose(result.probs.sum(axis=1), 1.0, atol=1e-4)
    assert np.allclose(np.diff(result.times_s), 0.04)
    assert [r.done for r in reports] == [0, 1, 2, 3]
    keys = keys_from_speech(result.probs, result.times_s, Fraction(30000, 1001), 12, n_frames=200)
    assert keys and keys[0].frame == 12 and all(12 <= k.frame < 200 for k in keys)
    assert all(k.emotion in EMOTIONS and 0.0 <= k.intensity <= 1.0 for k in keys)

    clip = run_job(analyse_emotion_audio(real_speech, whole_clip=True))
    assert clip.whole_clip and clip.probs.shape == (1, 8)
    assert np.isclose(clip.probs.sum(), 1.0, atol=1e-5)


def test_analysis_can_be_cancelled(real_speech: Path) -> None:
    from evp_studio.errors import Cancelled

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(analyse_emotion_audio(real_speech, cancel=token))
