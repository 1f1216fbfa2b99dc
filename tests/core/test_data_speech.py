"""Emotional speech from libespeak-ng: phoneme timing, determinism, prosody, visemes.

Everything here runs the real library (Debian libespeak-ng1); nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from evp_studio.data.prosody import EMOTIONS, NEUTRAL_BASE, PROFILES, Prosody, prosody_for
from evp_studio.data.speech import (
    VISEMES,
    Speaker,
    Utterance,
    phoneme_classes,
    speakers_for,
    synthesize,
    viseme_of,
)
from evp_studio.errors import InvalidInputError

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please put the book back on the shelf near the window.",
)
VARIED = (
    "Hello, how are you today?",
    "She sells sea shells by the sea shore.",
    "Judge the measure of each vision with a thoughtful azure gaze.",
    "Thank you, mother, for these three thin things.",
    "Why would you ever choose orange juice over milk?",
    "Our boy enjoyed the noisy toy, then paused for a while.",
    "Few huge cubes were sure to cure the poor tourist.",
    "Church bells rang as George arrived at the village.",
    "Eight men took a boat around the bay at dawn.",
    "The bottle and the little button were often unusual.",
)
SPEAKERS = speakers_for(6, seed=7)
MALE = next(s for s in SPEAKERS if s.gender == "male")


def mean_f0(x: np.ndarray, sr: int, fmin: float = 50.0, fmax: float = 500.0) -> float:
    """Geometric mean F0 (Hz) of voiced frames, by autocorrelation (Boersma 1993).

    Each 40 ms Hann-windowed frame's autocorrelation is divided by the window's own, so
    long periods are not penalised; a frame is voiced when its best peak exceeds 0.5.
    """
    n, hop = int(0.040 * sr), int(0.010 * sr)
    window = np.hanning(n)
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), n)[::hop] * window
    rms = np.sqrt(np.mean(frames**2, axis=1))
    frames = frames[rms > 0.05 * rms.max()]  # skip silence: within 26 dB of the loudest

    def autocorr(a: np.ndarray) -> np.ndarray:
        r = np.fft.irfft(np.abs(np.fft.rfft(a, 2 * n, axis=-1)) ** 2, axis=-1)[..., :n]
        return r / np.maximum(r[..., :1], 1e-12)

    lo, hi = int(sr / fmax), int(sr / fmin)
    ac = autocorr(frames)[:, lo:hi] / autocorr(window)[lo:hi]
    # The first lag reaching 90 % of the best: multiples of the period score alike.
    best = ac.max(axis=1)
    first = np.argmax(ac >= 0.9 * best[:, None], axis=1)
    # Climb from there to the local peak (at most a few samples away).
    lag = np.array([f + np.argmax(row[f : f + 8]) for f, row in zip(first, ac)]) + lo
    voiced = best > 0.5
    assert voiced.sum() > 10, "too few voiced frames to measure F0"
    return float(np.exp(np.mean(np.log(sr / lag[voiced]))))


def speech_rate(u: Utterance) -> float:
    """Phonemes per second from the first to the last non-pause phoneme (pauses count)."""
    spoken = [p for p in u.phonemes if p.symbol != "_"]
    return len(spoken) / (spoken[-1].end_s - spoken[0].start_s)


def rms_db(u: Utterance) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(u.samples.astype(np.float64) ** 2))))


@functools.cache
def utter(text: str, speaker: Speaker, emotion: str, level: int, seed: int = 0) -> Utterance:
    return synthesize(text, speaker=speaker, emotion=emotion, level=level, seed=seed)


def measure(speaker: Speaker, emotion: str, level: int) -> tuple[float, float, float]:
    """(mean F0 Hz, phonemes/s, RMS dBFS) averaged over SENTENCES."""
    us = [utter(s, speaker, emotion, level) for s in SENTENCES]
    f0 = float(np.exp(np.mean([np.log(mean_f0(u.samples, u.sample_rate)) for u in us])))
    return f0, float(np.mean([speech_rate(u) for u in us])), float(np.mean([rms_db(u) for u in us]))


def semitones(a: float, b: float) -> float:
    return float(12 * np.log2(a / b))


@pytest.mark.parametrize(("emotion", "level"), [("neutral", 1), ("fear", 3), ("sad", 3)])
def test_phonemes_tile_the_audio_and_cover_speech(emotion: str, level: int) -> None:
    u = utter("Well, maybe. I don't know, Sam; it's over.", MALE, emotion, level)
    assert u.sample_rate == 22050
    assert u.samples.dtype == np.float32 and u.samples.ndim == 1
    assert np.abs(u.samples).max() <= 1.0
    ph = u.phonemes
    assert ph[0].start_s == 0.0 and ph[-1].end_s == pytest.approx(u.duration_s)
    for a, b in zip(ph, ph[1:]):
        assert a.start_s < a.end_s == b.start_s  # in order, contiguous, never overlapping
        assert not (a.symbol == "_" and b.symbol == "_")  # pauses merged
    # Loud 20 ms frames lie inside non-pause phonemes, and pauses are quiet.
    sr, frame = u.sample_rate, int(0.02 * u.sample_rate)
    speech = np.zeros(u.samples.size, bool)
    for p in ph:
        if p.symbol != "_":
            speech[int(p.start_s * sr) : int(p.end_s * sr)] = True
    n = u.samples.size // frame
    energy = np.mean(u.samples[: n * frame].reshape(n, frame) ** 2, axis=1)
    inside = speech[: n * frame].reshape(n, frame).mean(axis=1) > 0.5
    loud = energy > 1e-3 * energy.max()
    assert (loud & inside).sum() / loud.sum() > 0.9
    assert inside.sum() / n > 0.6  # speech phonemes cover most of the clip


def test_hello_yields_expected_mnemonics() -> None:
    u = utter("hello", MALE, "neutral", 1)
    symbols = [p.symbol for p in u.phonemes]
    assert symbols[0] == "_" or symbols[0] == "h"
    assert "h" in symbols and "l" in symbols
    assert any(viseme_of(s) in {"aa", "E", "I", "O", "U"} for s in symbols)
    assert symbols.index("h") < symbols.index("l")


def test_same_arguments_give_identical_samples_and_seed_varies_jitter() -> None:
    speaker, text = SPEAKERS[0], SENTENCES[0]
    a = synthesize(text, speaker=speaker, emotion="fear", level=2, seed=3)
    synthesize(VARIED[0], speaker=SPEAKERS[1], emotion="angry", level=3)  # state in between
    b = synthesize(text, speaker=speaker, emotion="fear", level=2, seed=3)
    assert np.array_equal(a.samples, b.samples) and a.phonemes == b.phonemes
    c = synthesize(text, speaker=speaker, emotion="fear", level=2, seed=4)
    assert not np.array_equal(a.samples, c.samples)
    # Jitter moves timing by milliseconds only: the phoneme sequence is the same.
    assert [p.symbol for p in a.phonemes] == [p.symbol for p in c.phonemes]
    starts_a = np.array([p.start_s for p in a.phonemes])
    starts_c = np.array([p.start_s for p in c.phonemes])
    assert np.max(np.abs(starts_a - starts_c)) < 0.02


@pytest.mark.parametrize("speaker", [SPEAKERS[0], MALE], ids=["female", "male"])
def test_emotions_move_f0_rate_and_loudness_the_published_way(speaker: Speaker) -> None:
    f0_n, rate_n, _ = measure(speaker, "neutral", 1)
    for emotion in ("angry", "happy", "fear", "surprised"):
        assert semitones(measure(speaker, emotion, 3)[0], f0_n) > 2.0, emotion
    assert semitones(measure(speaker, "sad", 3)[0], f0_n) < -1.0
    for emotion in ("fear", "angry"):
        assert measure(speaker, emotion, 3)[1] > 1.05 * rate_n, emotion
    for emotion in ("sad", "disgusted"):
        assert measure(speaker, emotion, 3)[1] < 0.9 * rate_n, emotion
    assert measure(speaker, "angry", 3)[2] > measure(speaker, "sad", 3)[2] + 6.0


@pytest.mark.parametrize("emotion", ["angry", "fear", "sad", "disgusted"])
def test_level_one_deviates_less_than_level_three(emotion: str) -> None:
    f0_n = measure(MALE, "neutral", 1)[0]
    dev1 = abs(semitones(measure(MALE, emotion, 1)[0], f0_n))
    dev3 = abs(semitones(measure(MALE, emotion, 3)[0], f0_n))
    assert dev1 < dev3
    p1, p3 = (prosody_for(emotion, k, base=MALE.base) for k in (1, 3))
    assert abs(p1.pitch - MALE.base.pitch) < abs(p3.pitch - MALE.base.pitch)
    assert abs(p1.rate_wpm - MALE.base.rate_wpm) < abs(p3.rate_wpm - MALE.base.rate_wpm)


def test_speakers_are_distinct_deterministic_and_span_pitch() -> None:
    assert speakers_for(6, seed=7) == SPEAKERS
    assert speakers_for(6, seed=8) != SPEAKERS
    assert len({s.voice for s in SPEAKERS}) == 6
    assert {s.gender for s in SPEAKERS} == {"female", "male"}
    assert len({round(s.base.pitch, 3) for s in SPEAKERS}) == 6
    f0 = [
        mean_f0(u.samples, u.sample_rate)
        for u in (utter(SENTENCES[0], s, "neutral", 1) for s in SPEAKERS)
    ]
    # Both high (female) and low (male) voices, spread over more than an octave's half.
    assert min(f0) < 130.0 < 170.0 < max(f0)
    assert semitones(max(f0), min(f0)) > 7.0
    assert len({round(f) for f in f0}) == 6
    big = speakers_for(60, seed=1)
    assert len({s.voice for s in big}) == 60


def test_bad_emotion_level_and_text_raise_naming_the_value() -> None:
    cases = [("joy", 1, "joy"), ("angry", 4, "4"), ("angry", 0, "0"), ("neutral", 2, "2")]
    for emotion, level, named in cases:
        with pytest.raises(InvalidInputError, match=named):
            synthesize("Hi.", speaker=MALE, emotion=emotion, level=level)
        with pytest.raises(InvalidInputError, match=named):
            prosody_for(emotion, level, base=NEUTRAL_BASE)
    with pytest.raises(InvalidInputError, match="nothing to speak"):
        synthesize(" ?! ", speaker=MALE, emotion="neutral", level=1)
    with pytest.raises(InvalidInputError, match="xx-nowhere"):
        synthesize("Hi.", speaker=Speaker("xx-nowhere", NEUTRAL_BASE), emotion="sad", level=1)
    with pytest.raises(InvalidInputError, match="0"):
        speakers_for(0, seed=1)


def test_concurrent_calls_match_serial_ones() -> None:
    jobs = [(VARIED[i], SPEAKERS[i % 6], EMOTIONS[i % 8]) for i in range(8)]
    serial = [synthesize(t, speaker=s, emotion=e, level=1, seed=5).samples for t, s, e in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(synthesize, t, speaker=s, emotion=e, level=1, seed=5) for t, s, e in jobs
        ]
        threaded = [f.result().samples for f in futures]
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded))


def test_every_emotion_has_a_profile_and_prosody_is_validated() -> None:
    assert set(PROFILES) == set(EMOTIONS)
    assert prosody_for("neutral", 1, base=NEUTRAL_BASE) == NEUTRAL_BASE
    with pytest.raises(InvalidInputError, match="rate_wpm=20"):
        dataclasses.replace(NEUTRAL_BASE, rate_wpm=20.0)
    with pytest.raises(InvalidInputError, match="wobbly"):
        Prosody(**{**dataclasses.asdict(NEUTRAL_BASE), "contour": "wobbly"})
    # Extreme bases are clamped into espeak's ranges, never rejected.
    high = dataclasses.replace(NEUTRAL_BASE, pitch=95.0, rate_wpm=420.0)
    assert prosody_for("fear", 3, base=high).pitch == 99.0
    assert prosody_for("fear", 3, base=high).rate_wpm == 450.0


def test_visemes_cover_what_espeak_produces(caplog: pytest.LogCaptureFixture) -> None:
    known = {p for members in phoneme_classes().values() for p in members}
    assert set(phoneme_classes()) == set(VISEMES)
    voices = [Speaker(v, NEUTRAL_BASE) for v in ("en-us+m3", "en+f2", "en-gb-scotland+m1")]
    symbols = [p.symbol for s in voices for t in VARIED for p in utter(t, s, "neutral", 1).phonemes]
    assert all(viseme_of(s) in VISEMES for s in symbols)
    fallbacks = [s for s in symbols if s not in known]
    assert len(fallbacks) <= 0.03 * len(symbols), sorted(set(fallbacks))
    # Unknown mnemonics never fail: nearest class by first character, else silence.
    assert viseme_of("pX") == "PP" and viseme_of("o#") == "O" and viseme_of("") == "sil"
    with caplog.at_level(logging.DEBUG, logger="evp_studio.data.speech"):
        assert viseme_of("%%") == "sil"
    assert "%%" in caplog.text


def test_a_three_second_sentence_synthesises_fast() -> None:
    text = "Please put the book back on the shelf near the window, then close the door quietly."
    synthesize(text, speaker=MALE, emotion="fear", level=3)  # warm caches
    start = time.perf_counter()
    u = synthesize(text, speaker=MALE, emotion="angry", level=2, seed=1)
    elapsed = time.perf_counter() - start
    assert u.duration_s > 2.5
    assert elapsed < 0.5
