"""Speech + project emotion -> landmarks on the target frames (pipeline.landmarks)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from evp_studio.data import face as F
from evp_studio.errors import Cancelled, InvalidInputError
from evp_studio.jobs import CancelToken, Progress, run_job
from evp_studio.models.audio2landmark_io import LandmarkPredictor
from evp_studio.pipeline.encode import SpeechCodes
from evp_studio.pipeline.landmarks import (
    JAW_POINTS,
    MOUTH_POINTS,
    close_mouth,
    frame_emotion_codes,
    predict_project_landmarks,
    resample_to_times,
    silence_mask,
)
from evp_studio.project import EMOTIONS, EmotionTrack, Keyframe

PS_RAW = Path("/usr/share/pocketsphinx/test/data/goforward.raw")
HAPPY, SAD, NEUTRAL = EMOTIONS.index("happy"), EMOTIONS.index("sad"), EMOTIONS.index("neutral")


def speech() -> np.ndarray:
    if not PS_RAW.exists():
        pytest.fail(f"{PS_RAW} missing: install Debian pocketsphinx-testdata")
    return (np.fromfile(PS_RAW, dtype="<i2") / 32768.0).astype(np.float32)


def cats(d: int = 6) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(8, d)).astype(np.float32)


def key(frame: int, emotion: str, intensity: float = 1.0) -> Keyframe:
    return Keyframe(f"k{frame}", frame, emotion, intensity)


# -- emotion codes ------------------------------------------------------------------------------


def test_one_full_happy_key_gives_exactly_the_happy_code() -> None:
    c = cats()
    out = frame_emotion_codes(
        "keyframes", n_frames=10, category_codes=c, track=EmotionTrack([key(3, "happy")])
    )
    assert out.shape == (10, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.repeat(c[HAPPY][None], 10, 0), atol=1e-6)


def test_intensity_mixes_with_neutral_and_keys_interpolate() -> None:
    c = cats()
    half = frame_emotion_codes(
        "keyframes", n_frames=2, category_codes=c, track=EmotionTrack([key(0, "happy", 0.5)])
    )
    np.testing.assert_allclose(half[0], 0.5 * c[HAPPY] + 0.5 * c[NEUTRAL], atol=1e-6)
    track = EmotionTrack([key(0, "happy"), key(10, "sad")])
    out = frame_emotion_codes("keyframes", n_frames=11, category_codes=c, track=track)
    np.testing.assert_allclose(out[0], c[HAPPY], atol=1e-6)
    np.testing.assert_allclose(out[5], 0.5 * (c[HAPPY] + c[SAD]), atol=1e-6)
    np.testing.assert_allclose(out[10], c[SAD], atol=1e-6)
    # a 50 fps target: 25 fps frame k sits at target frame 2k, so frame 5 is already sad
    pos = 2.0 * np.arange(11)
    fast = frame_emotion_codes(
        "keyframes", n_frames=11, category_codes=c, track=track, target_frames=pos
    )
    np.testing.assert_allclose(fast[5], c[SAD], atol=1e-6)
    np.testing.assert_allclose(fast[2], 0.6 * c[HAPPY] + 0.4 * c[SAD], atol=1e-6)


def test_unknown_category_is_an_error_only_when_used() -> None:
    c = cats()
    c[EMOTIONS.index("contempt")] = np.nan
    with pytest.raises(InvalidInputError, match="contempt"):
        frame_emotion_codes(
            "keyframes", n_frames=5, category_codes=c, track=EmotionTrack([key(0, "contempt")])
        )
    ok = frame_emotion_codes(
        "keyframes", n_frames=5, category_codes=c, track=EmotionTrack([key(0, "happy")])
    )
    assert np.isfinite(ok).all()


def test_speech_and_reference_sources() -> None:
    c = cats()
    emo = np.arange(5 * 6, dtype=np.float32).reshape(5, 6)
    codes = SpeechCodes(np.zeros((5, 3)), emo, np.full((5, 8), 1 / 8))
    own = frame_emotion_codes("speech", n_frames=7, category_codes=c, speech=codes)
    np.testing.assert_array_equal(own[:5], emo)
    np.testing.assert_array_equal(own[5:], emo[[4, 4]])
    smooth = frame_emotion_codes(
        "speech", n_frames=5, category_codes=c, speech=codes, smooth_frames=3
    )
    np.testing.assert_allclose(smooth[2], emo[1:4].mean(0))
    ref = frame_emotion_codes("reference", n_frames=4, category_codes=c, reference=codes)
    np.testing.assert_allclose(ref, np.repeat(emo.mean(0, keepdims=True), 4, 0))
    with pytest.raises(InvalidInputError, match="reference"):
        frame_emotion_codes("reference", n_frames=4, category_codes=c)
    with pytest.raises(InvalidInputError, match="emotion source"):
        frame_emotion_codes("mood", n_frames=4, category_codes=c)


# -- silence ------------------------------------------------------------------------------------


def test_silence_mask_closes_padding_and_keeps_speech_open() -> None:
    pad = np.zeros(16000, np.float32)  # 1 s = 25 frames
    audio = np.concatenate([pad, speech(), pad])
    n = audio.size // 640
    mask = silence_mask(audio, n)
    assert mask.shape == (n,) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1
    np.testing.assert_array_equal(mask[:18], 1.0)  # deep in the leading padding
    np.testing.assert_array_equal(mask[-18:], 1.0)
    body = mask[25 + 8 : n - 25 - 8]
    assert np.mean(body == 0.0) > 0.9
    assert np.abs(np.diff(mask)).max() <= 0.2 + 1e-6  # ramps, no hard switches
    assert ((mask > 0) & (mask < 1)).sum() >= 8  # 4-frame ramps at both ends


def test_silence_mask_edge_cases() -> None:
    np.testing.assert_array_equal(silence_mask(np.zeros(3200), 5), 1.0)
    tone = 0.3 * np.sin(np.arange(6400) / 5.0)
    np.testing.assert_array_equal(silence_mask(tone, 10), 0.0)
    with pytest.raises(InvalidInputError, match="finite"):
        silence_mask(np.array([np.nan]), 3)


# -- mouth closing and resampling ---------------------------------------------------------------


def test_close_mouth_moves_only_mouth_and_jaw() -> None:
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(4, 68, 2)).astype(np.float32)
    example = rng.normal(size=(68, 2)).astype(np.float32)
    out = close_mouth(pred, example, np.array([0.0, 0.5, 1.0, 0.0]))
    moved = list(JAW_POINTS + MOUTH_POINTS)
    rest = [i for i in range(68) if i not in moved]
    np.testing.assert_array_equal(out[:, rest], pred[:, rest])
    np.testing.assert_array_equal(out[[0, 3]], pred[[0, 3]])
    np.testing.assert_allclose(out[2, moved], example[moved], atol=1e-6)
    np.testing.assert_allclose(out[1, moved], 0.5 * (pred[1, moved] + example[moved]), atol=1e-6)
    with pytest.raises(InvalidInputError, match="mask"):
        close_mouth(pred, example, np.full(4, 2.0))


def test_resample_is_exact_on_linear_data_and_vfr_times() -> None:
    k = np.arange(50, dtype=np.float64)
    frames = np.stack([3.0 * k + 1.0, -k], axis=1)[:, None, :]  # (50, 1, 2), linear in time
    times = np.array([0.0, 0.013, 0.04, 0.1001, 0.5, 1.9])  # irregular (VFR)
    out = resample_to_times(frames, 25, times_s=times)
    expect = np.stack([3.0 * 25 * times + 1.0, -25 * times], axis=1)[:, None, :]
    np.testing.assert_allclose(out, expect, atol=1e-9)
    ends = resample_to_times(frames, 25, times_s=[-1.0, 100.0])
    np.testing.assert_array_equal(ends, frames[[0, -1]])
    with pytest.raises(InvalidInputError, match="finite"):
        resample_to_times(frames, 25, times_s=[np.nan])


# -- end to end ---------------------------------------------------------------------------------


def target_track(n: int, times: np.ndarray) -> SimpleNamespace:
    """A LandmarkTrack-like synthetic target: a talking face turning its head a little."""
    rng = np.random.default_rng(7)
    pose = F.static_pose(n, size=(320, 240), yaw=10.0)
    pose = F.Pose(pose.yaw + np.linspace(-8, 8, n), pose.pitch, pose.roll, pose.tx, pose.ty,
                  pose.scale)  # fmt: skip
    mouth = F.mouth_track([("sil", 0.0, 0.2), ("aa", 0.2, 0.6), ("O", 0.6, 9.0)], n, 25.0)
    anim = F.animate(F.MEAN_SHAPE, mouth, "neutral", 0.0, pose, F.blink_track(n, 25.0, rng))
    lost = np.zeros(n, bool)
    lost[3] = True
    return SimpleNamespace(
        landmarks=anim.landmarks2d.astype(np.float32), lost=lost, timestamps=times
    )


@pytest.fixture(scope="module")
def predictor() -> LandmarkPredictor:
    return LandmarkPredictor.load()


def test_end_to_end_on_vfr_target_with_keyframes(predictor: LandmarkPredictor) -> None:
    audio = speech()  # ~2.9 s
    rng = np.random.default_rng(2)
    n = 120  # ~4.6 s of video at ~26 fps, jittered frame times (VFR)
    times = np.cumsum(np.r_[0.0, rng.uniform(0.03, 0.047, n - 1)])
    target = target_track(n, times)
    track = EmotionTrack([key(0, "happy"), key(60, "sad", 0.7)])
    reports: list[Progress] = []
    res = run_job(
        predict_project_landmarks(audio, target, predictor, track=track),
        on_progress=reports.append,
    )
    assert [r.stage for r in reports][:3] == [
        "Encoding speech", "Predicting landmarks", "Aligning to the target"
    ]  # fmt: skip
    assert res.landmarks.shape == (n, 68, 2) and np.isfinite(res.landmarks).all()
    np.testing.assert_array_equal(res.times_s, times)
    np.testing.assert_array_equal(res.target_index, np.arange(n))
    t = res.canonical.shape[0]
    assert t >= int(times[-1] * 25) and res.silence.shape == (t,)
    assert res.emotion_codes.shape == (t, predictor.emotion_dim)
    # speech shorter than the video: the tail is silence, the mouth closed
    assert res.speech_frames == audio.size // 640
    tail = res.silence[res.speech_frames + 8 :]  # + partial frame, hold 2, ramp 4
    assert tail.size > 20 and (tail == 1.0).all()
    # the face stays on the target's face
    err = np.linalg.norm(res.landmarks - target.landmarks, axis=-1)
    iod = np.linalg.norm(target.landmarks[:, 45] - target.landmarks[:, 36], axis=-1)
    assert np.median(err[:, :48] / iod[:, None]) < 0.2


def test_end_to_end_speech_longer_than_video_ping_pongs(predictor: LandmarkPredictor) -> None:
    n = 20  # 0.8 s of video, 2.9 s of speech
    target = target_track(n, np.arange(n) / 25.0)
    res = run_job(predict_project_landmarks(speech(), target, predictor, source="speech"))
    m = res.landmarks.shape[0]
    assert m * 0.04 >= res.speech_frames * 0.04 - 1e-9 and np.isfinite(res.landmarks).all()
    np.testing.assert_allclose(np.diff(res.times_s), 0.04, atol=1e-9)
    idx = res.target_index
    assert idx[:n].tolist() == list(range(n)) and idx[n : 2 * n - 2].tolist() == list(
        range(n - 2, 0, -1)
    )
    assert idx[2 * n - 2] == 0


def test_end_to_end_errors_and_cancel(predictor: LandmarkPredictor) -> None:
    target = target_track(10, np.arange(10) / 25.0)
    with pytest.raises(InvalidInputError, match="reference"):
        run_job(predict_project_landmarks(speech(), target, predictor, source="reference"))
    with pytest.raises(InvalidInputError, match="silent"):
        run_job(predict_project_landmarks(np.zeros(8000), target, predictor))
    bad = SimpleNamespace(landmarks=target.landmarks, lost=target.lost, timestamps=np.zeros(10))
    with pytest.raises(InvalidInputError, match="increasing"):
        run_job(predict_project_landmarks(speech(), bad, predictor))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(predict_project_landmarks(speech(), target, predictor), cancel=token)


def test_distance_to_the_nearest_voiced_frame_matches_brute_force() -> None:
    from evp_studio.pipeline.landmarks import _distance_to_true  # noqa: PLC0415

    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 50, 1000):
        for p in (0.01, 0.2, 0.9):
            mask = rng.random(n) < p
            mask[rng.integers(n)] = True
            brute = np.abs(np.arange(n)[:, None] - np.flatnonzero(mask)[None, :]).min(axis=1)
            np.testing.assert_array_equal(_distance_to_true(mask), brute)
