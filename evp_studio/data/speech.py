"""Emotional synthetic speech with phoneme timings, for the synthetic MEAD-layout corpus.

libespeak-ng speaks the text with the speaker's voice and the emotion's espeak parameters
(:mod:`evp_studio.data.prosody`), reporting each phoneme's start through its synth callback;
numpy then adds jitter, tremor, aspiration noise and spectral tilt, and normalises the
loudness to the emotion's level. Output is bit-identical for identical arguments.

Phonemes: espeak-ng mnemonics (``h``, ``@``, ``l``, ``oU`` ...). A phoneme ends where the
next one starts; the last ends at the end of the audio. espeak's pause phonemes (``_``,
``_:``, ``_!`` ...) and any silence before the first phoneme are kept as one symbol ``_``
(adjacent pauses merged), so the phonemes tile ``[0, duration_s]`` and a face model sees the
silences it has to close the mouth for. Zero-length events are dropped.

Visemes: the MPEG-4 FBA viseme set (ISO/IEC 14496-2, 14 visemes + neutral) in the naming of
Oculus/Meta OVRLipSync (``sil PP FF TH DD kk CH SS nn RR aa E ih oh ou``), with ``nn``
(n, l) merged into ``DD`` (same tongue-tip closure, lips and jaw alike) and the vowels
written ``aa E I O U``. ``h`` and the glottal stop have no lip shape of their own: ``h``
goes to ``kk`` (open, unrounded), ``?`` to ``DD`` (it replaces /t/).

Public API::

    synthesize(text, *, speaker, emotion, level, seed=0) -> Utterance
    speakers_for(n, seed) -> list[Speaker]
    viseme_of(symbol) -> str;  phoneme_classes() -> {viseme: mnemonics};  VISEMES
    active_level_db(samples, sample_rate) -> float
    Phoneme, Utterance, Speaker
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass

import numpy as np

from evp_studio.data._espeak import EspeakParams, synthesize_raw
from evp_studio.data.prosody import (
    CONTOUR_PUNCTUATION,
    EMOTIONS,
    NEUTRAL_BASE,
    Prosody,
    apply_voice_quality,
    prosody_for,
)
from evp_studio.errors import InvalidInputError

log = logging.getLogger(__name__)

PAUSE = "_"
VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "RR", "aa", "E", "I", "O", "U"
)  # fmt: skip
# espeak-ng English mnemonics (en, en-us and regional voices) by viseme.
_CLASSES: dict[str, tuple[str, ...]] = {
    "sil": ("_", "_:", "_!", "_;", "_^_", "||", "|"),
    "PP": ("p", "b", "m"),
    "FF": ("f", "v"),
    "TH": ("T", "D"),
    "DD": ("t", "d", "n", "l", "t#", "d#", "t[", "d[", "n-", "l/", "@L", "?"),
    "kk": ("k", "g", "N", "x", "h"),
    "CH": ("tS", "dZ", "S", "Z"),
    "SS": ("s", "z"),
    "RR": ("r", "r-", "3", "IR", "VR"),
    "aa": ("a", "a#", "aa", "A:", "A@", "0", "V", "aI", "aI@", "aI3", "aI2", "aU", "aU@"),
    "E": ("E", "e", "e@", "eI", "@", "@2", "@5", "3:"),
    "I": ("I", "I2", "I#", "i", "i:", "i@", "i@3", "j"),
    "O": ("O", "O:", "O2", "O@", "o@", "oU", "OI", "02"),
    "U": ("U", "u:", "U@", "w", "w#", "W"),
}
_VISEME_OF: dict[str, str] = {p: v for v, ps in _CLASSES.items() for p in ps}
# Fallback for mnemonics not listed above, by their first character.
_BY_FIRST_CHAR: dict[str, str] = {
    **dict.fromkeys("_|", "sil"),
    **dict.fromkeys("pbm", "PP"),
    **dict.fromkeys("fv", "FF"),
    **dict.fromkeys("TD", "TH"),
    **dict.fromkeys("tdnlL?", "DD"),
    **dict.fromkeys("kgNxhqcX", "kk"),
    **dict.fromkeys("SZ", "CH"),
    **dict.fromkeys("sz", "SS"),
    **dict.fromkeys("rR", "RR"),
    **dict.fromkeys("aA0V", "aa"),
    **dict.fromkeys("eE@3", "E"),
    **dict.fromkeys("iIjy", "I"),
    **dict.fromkeys("oO", "O"),
    **dict.fromkeys("uUwW", "U"),
}


@dataclass(frozen=True)
class Phoneme:
    """One phoneme of an utterance: espeak-ng mnemonic (``_`` for a pause) and its span."""

    symbol: str
    start_s: float  # seconds from the start of the audio
    end_s: float


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech with its phoneme timings."""

    samples: np.ndarray  # (N,) float32 mono in [-1, 1]
    sample_rate: int  # Hz; espeak-ng's native 22050
    phonemes: tuple[Phoneme, ...]  # in order, tiling [0, duration_s]
    text: str  # the text as given

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return self.samples.size / self.sample_rate


@dataclass(frozen=True)
class Speaker:
    """A synthetic actor: an espeak-ng voice and its neutral prosody."""

    voice: str  # espeak voice name incl. variant, e.g. "en-us+m3"
    base: Prosody  # neutral prosody; emotions deviate from it
    gender: str = ""  # "female" | "male" from the espeak variant; "" = not known


def phoneme_classes() -> dict[str, tuple[str, ...]]:
    """The known espeak-ng English mnemonics of each viseme, in :data:`VISEMES` order.

    Returns
    -------
    dict[str, tuple[str, ...]]
        Viseme name → mnemonics. Mnemonics not listed map by :func:`viseme_of`'s fallback.
    """
    return dict(_CLASSES)


def viseme_of(symbol: str) -> str:
    """The viseme (one of :data:`VISEMES`) of an espeak-ng phoneme mnemonic.

    Parameters
    ----------
    symbol
        An espeak-ng mnemonic, e.g. ``"oU"``, or ``"_"`` for a pause.

    Returns
    -------
    str
        The listed viseme; for an unknown mnemonic, the class of its first character (or
        ``"sil"``), logged at debug level. Never raises.
    """
    found = _VISEME_OF.get(symbol)
    if found is not None:
        return found
    guess = _BY_FIRST_CHAR.get(symbol[:1], "sil")
    log.debug("viseme_of: unknown espeak mnemonic %r, using %s", symbol, guess)
    return guess


# English accents of espeak-ng 1.51 (names espeak_SetVoiceByName accepts) and its human-
# sounding variants; robot, whisper and klatt variants are left out.
_ACCENTS: tuple[str, ...] = (
    "en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)  # fmt: skip
_VARIANTS: dict[str, tuple[str, ...]] = {
    "female": ("f1", "f2", "f3", "f4", "f5", "linda", "steph", "belinda"),
    "male": ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"),
}
MAX_SPEAKERS = len(_ACCENTS) * sum(len(v) for v in _VARIANTS.values())


def speakers_for(n: int, seed: int) -> list[Speaker]:
    """``n`` distinct synthetic speakers, alternating female and male, deterministic in seed.

    Each gets its own (accent, variant) pair and its own neutral pitch (espeak 35–65), pitch
    range, rate (150–185 wpm), spectral tilt and jitter, so even speakers with similar
    variants differ.

    Parameters
    ----------
    n
        Number of speakers, 1..:data:`MAX_SPEAKERS`.
    seed
        Fixes the choice.

    Returns
    -------
    list[Speaker]

    Raises
    ------
    InvalidInputError
        If ``n`` is out of range.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SPEAKERS:
        raise InvalidInputError(f"speaker count {n!r} is not in 1..{MAX_SPEAKERS}")
    rng = np.random.default_rng([seed % 2**64, 0x5EA7])
    pools = {g: [(a, v) for a in _ACCENTS for v in variants] for g, variants in _VARIANTS.items()}
    for pool in pools.values():
        order = rng.permutation(len(pool))
        pool[:] = [pool[i] for i in order]
    speakers = []
    for i in range(n):
        gender = "female" if i % 2 == 0 else "male"
        accent, variant = pools[gender][i // 2]
        base = Prosody(
            rate_wpm=float(rng.uniform(150.0, 185.0)),
            pitch=float(rng.uniform(35.0, 65.0)),
            pitch_range=float(rng.uniform(40.0, 60.0)),
            loudness_db=NEUTRAL_BASE.loudness_db,
            word_gap_10ms=0,
            jitter=float(rng.uniform(0.003, 0.006)),
            tremor_hz=0.0,
            tremor_depth=0.0,
            tilt_db=float(rng.uniform(-1.0, 1.0)),
            breath=0.0,
            contour="falling",
        )
        speakers.append(Speaker(voice=f"{accent}+{variant}", base=base, gender=gender))
    return speakers


def _spoken_text(text: str, contour: str) -> str:
    if not isinstance(text, str):
        raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
    core = " ".join(text.split()).rstrip(".!?;:,… ")
    if not any(ch.isalnum() for ch in core):
        raise InvalidInputError(f"text {text[:60]!r} has nothing to speak")
    return core + CONTOUR_PUNCTUATION[contour]


def _rng_for(
    text: str, speaker: Speaker, emotion: str, level: int, seed: int
) -> np.random.Generator:
    # crc32, not hash(): str hashes differ between processes.
    key = [
        seed % 2**64,  # default_rng takes no negative entropy
        zlib.crc32(text.encode()),
        zlib.crc32(speaker.voice.encode()),
        EMOTIONS.index(emotion),
        level,
    ]
    return np.random.default_rng(key)


def synthesize(
    text: str, *, speaker: Speaker, emotion: str, level: int, seed: int = 0
) -> Utterance:
    """Speak ``text`` as ``speaker`` in ``emotion`` at intensity ``level``.

    Parameters
    ----------
    text
        An English sentence; its final punctuation is replaced by the emotion's contour
        (``.``, ``?`` or ``!``).
    speaker
        Voice and neutral prosody (see :func:`speakers_for`).
    emotion
        One of :data:`~evp_studio.data.prosody.EMOTIONS`.
    level
        1, 2 or 3 (neutral: 1).
    seed
        Varies jitter, tremor phase and breath noise; same arguments → identical samples.

    Returns
    -------
    Utterance
        float32 audio at espeak-ng's native rate (22050 Hz) with phoneme timings.

    Raises
    ------
    InvalidInputError
        For a bad emotion or level, text with nothing to speak, or an unknown voice.
    """
    prosody = prosody_for(emotion, level, base=speaker.base)
    rng = _rng_for(text, speaker, emotion, level, seed)
    params = EspeakParams(
        voice=speaker.voice,
        rate=round(prosody.rate_wpm),
        pitch=round(prosody.pitch),
        pitch_range=round(prosody.pitch_range),
        volume=100,  # loudness is set by normalisation below, espeak's gain stays nominal
        word_gap=prosody.word_gap_10ms,
        noise_seed=int(rng.integers(2**31)),  # breath noise of variants like f5
    )
    raw = synthesize_raw(_spoken_text(text, prosody.contour), params)
    if raw.samples.size == 0:
        raise InvalidInputError(f"espeak-ng produced no audio for text {text[:60]!r}")
    x = raw.samples.astype(np.float32) / 32768.0
    y, src_pos = apply_voice_quality(x, sample_rate=raw.sample_rate, prosody=prosody, rng=rng)
    y = _normalise_loudness(y, sample_rate=raw.sample_rate, target_db=prosody.loudness_db)
    phonemes = _phonemes(raw.phoneme_events, src_pos, raw.sample_rate, y.size)
    return Utterance(samples=y, sample_rate=raw.sample_rate, phonemes=phonemes, text=text)


def _phonemes(
    events: tuple[tuple[str, int], ...], src_pos: np.ndarray, sr: int, n_out: int
) -> tuple[Phoneme, ...]:
    """Phoneme spans in output seconds from (mnemonic, input ms) events."""
    duration = n_out / sr
    if not events:
        return (Phoneme(PAUSE, 0.0, duration),)
    symbols = [PAUSE if not name or name.startswith("_") else name for name, _ in events]
    in_samples = np.array([ms for _, ms in events], dtype=np.float64) * (sr / 1000.0)
    # Input position → output sample through the (monotonic) jitter/tremor time warp.
    starts = np.interp(in_samples, src_pos, np.arange(src_pos.size)) / sr
    starts = np.minimum(np.maximum.accumulate(starts), duration)
    bounds = [*starts.tolist(), duration]
    spans: list[Phoneme] = []
    if bounds[0] > 0:
        spans.append(Phoneme(PAUSE, 0.0, bounds[0]))
    for i, symbol in enumerate(symbols):
        start, end = bounds[i], bounds[i + 1]
        if end <= start:
            continue
        if symbol == PAUSE and spans and spans[-1].symbol == PAUSE:
            spans[-1] = Phoneme(PAUSE, spans[-1].start_s, end)
        else:
            spans.append(Phoneme(symbol, start, end))
    return tuple(spans)


def active_level_db(samples: np.ndarray, sample_rate: int) -> float:
    """Active speech level: RMS over 20 ms frames within 40 dB of the loudest, in dBFS.

    Parameters
    ----------
    samples
        (N,) float mono, full scale 1.0.
    sample_rate
        Hz.

    Returns
    -------
    float
        dBFS; ``-inf`` for silence.
    """
    x = np.asarray(samples, dtype=np.float64)
    frame = max(1, round(0.020 * sample_rate))
    n_frames = x.size // frame
    if n_frames == 0:
        power = np.array([np.mean(x**2)]) if x.size else np.zeros(1)
    else:
        power = np.mean(x[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1)
    peak = float(power.max())
    if peak <= 0:
        return -math.inf
    active = power[power >= peak * 1e-4]  # -40 dB
    return 10.0 * math.log10(float(np.mean(active)))


def _normalise_loudness(
    samples: np.ndarray, *, sample_rate: int, target_db: float, ceiling: float = 0.98
) -> np.ndarray:
    """Scale to an active speech level of ``target_db`` dBFS, never past ``ceiling``.

    Parameters
    ----------
    samples
        (N,) float mono.
    sample_rate
        Hz.
    target_db
        Wanted active level, dBFS.
    ceiling
        Largest allowed absolute sample value; the gain is lowered to respect it (no
        clipping) and the shortfall is logged at debug level.

    Returns
    -------
    np.ndarray
        (N,) float32.
    """
    x = np.asarray(samples, dtype=np.float64)
    level = active_level_db(x, sample_rate)
    if not math.isfinite(level):
        return x.astype(np.float32)
    gain = 10.0 ** ((target_db - level) / 20.0)
    peak = float(np.max(np.abs(x)))
    if peak * gain > ceiling:
        log.debug(
            "loudness: %.1f dBFS target limited by the peak ceiling by %.1f dB",
            target_db,
            20 * math.log10(peak * gain / ceiling),
        )
        gain = ceiling / peak
    return (x * gain).astype(np.float32)
