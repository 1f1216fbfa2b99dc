"""Emotion → prosody and voice quality for synthetic speech, from published vocal correlates.

Each emotion is a deviation from the speaker's neutral :class:`Prosody`. Rows give the full
deviation (intensity level 3); the sources are these reviews: Murray & Arnott
(1993, JASA 93(2), Table I: "M&A"), Juslin & Laukka (2003, Psychol. Bull. 129(5), their
summary of cross-channel cue patterns: "J&L"), Scherer (2003, Speech Commun. 40, review
and predictions table, after Scherer 1986: "S03") and Banse & Scherer (1996, JPSP 70(3),
acoustic profiles of 14 portrayed emotions incl. contempt: "B&S"). M&A's original table
covers anger, happiness, sadness, fear and disgust only; surprise and contempt rest on
weaker evidence and are marked so.

========== ===== ===== ===== ==== ==== ====== ============ ====== ====== ========
emotion    rate  F0    range loud gap  jitter tremor       tilt   breath contour
           ×     st    ×     dB   10ms        Hz / depth   dB/oct
========== ===== ===== ===== ==== ==== ====== ============ ====== ====== ========
angry      1.12  +4.5  1.7   +6   0    .008   –            +3.0   .03    exclaim
contempt   0.85  -1.5  1.1   -3   2    .004   –            -1.0   0      falling
disgusted  0.72  -3.0  1.15  -3   3    .010   –            -1.5   0      falling
fear       1.35  +5.0  1.2   0    0    .020   6 / .03      +1.0   .02    falling
happy      1.08  +4.0  1.7   +4   0    0      –            +1.5   .04    exclaim
neutral    1     0     1     0    0    0      –            0      0      falling
sad        0.82  -2.0  0.6   -5   3    .008   –            -3.0   0      falling
surprised  1.10  +4.0  1.6   +3   0    0      –            +1.0   .03    rising
========== ===== ===== ===== ==== ==== ====== ============ ====== ====== ========

What each row rests on:

- angry: M&A slightly faster, pitch average very much higher, range much wider, intensity
  higher, voice quality "breathy, chest tone" (breath), pitch changes "abrupt on stressed
  syllables" (exclamation tune), articulation tense (positive tilt); J&L fast, loud, high F0,
  much F0 variability, much high-frequency energy, microstructural irregularity (jitter).
- contempt (weak evidence): not in M&A or J&L; B&S's contempt portrayals had a low-arousal
  profile (low F0 and energy), hence lower, quieter, slower, slightly darker.
- disgusted: M&A very much slower, very much lower, slightly wider, quieter, "grumbled chest
  tone" (jitter, negative tilt), "wide, downward terminal inflections" (statement fall made
  wider by the range). -3 st keeps low male voices inside espeak-ng's pitch parameter.
- fear: M&A much faster, very much higher, much wider, normal intensity, "irregular voicing"
  (jitter), precise articulation; J&L fast, high F0 but *little* F0 variability (so the range
  is widened only 1.2×), microstructural irregularity. The 6 Hz F0 tremor is our addition
  for "trembling" fearful/anxious voices, a common perceptual description (weak evidence).
- happy: M&A faster or slower (J&L: fast, so slightly faster), much higher, much wider,
  louder, "breathy, blaring" (breath, positive tilt), smooth upward inflections (exclamation
  tune); J&L medium-high high-frequency energy and microstructural regularity (no jitter).
- sad: M&A slightly slower, slightly lower, slightly narrower, quieter, "resonant" voice,
  downward inflections, slurring; J&L slow, low F0, little F0 variability, little
  high-frequency energy (negative tilt), long pauses (word gap), irregularity (jitter).
- surprised (weak evidence): not in M&A's original table; later reproductions of that table
  add surprise as much higher, much wider, louder, breathy, with a rising contour ("?").

Units: rate and range multiply the base; F0 is the shift of the mean F0 in semitones,
converted to espeak-ng's pitch parameter with a measured calibration (:func:`pitch_shift`:
the parameter's semitones per unit, and the rise of the mean F0 that a wider range brings);
loudness shifts the target active-speech level; gap adds pauses between words;
jitter/tremor/tilt/breath add to the base (see :class:`Prosody`). The exclamation tune adds
another 0.5–1 st to the mean F0 (measured); the question tune changes the shape, not the mean.

Intensity: level k applies the fraction :data:`LEVEL_SCALE` ``{1: 0.4, 2: 0.7, 3: 1.0}`` of
the deviation (multiplicative cues geometrically, additive ones linearly). The contour is
categorical: level 1 keeps the speaker's base contour, levels 2 and 3 use the row's.

Contours are realised with espeak-ng's own clause tunes by the terminal punctuation of the
sentence: ``falling`` → "." (statement fall), ``rising`` → "?" (question rise), ``exclaim``
→ "!" (higher, steeper accents and a rise-fall on the nucleus). SSML ``<prosody>`` was tried
and rejected: espeak-ng 1.51 ignores a pitch change on a single final word and speaks a "."
that follows the closing tag as "dot". J&L report rising contours for anger, fear and
happiness from few studies; "?" would turn statements into questions, so anger and happiness
use the exclamation tune and fear keeps M&A's "normal" pitch changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from evp_studio.errors import InvalidInputError
from evp_studio.project.emotion import EMOTIONS  # the one label order (DESIGN §3)

__all__ = [
    "CONTOURS",
    "CONTOUR_PUNCTUATION",
    "EMOTIONS",
    "LEVEL_SCALE",
    "NEUTRAL_BASE",
    "PROFILES",
    "EmotionProfile",
    "Prosody",
    "apply_voice_quality",
    "pitch_shift",
    "prosody_for",
    "validate_emotion",
]

LEVEL_SCALE: dict[int, float] = {1: 0.4, 2: 0.7, 3: 1.0}
CONTOURS: tuple[str, ...] = ("falling", "rising", "exclaim")
CONTOUR_PUNCTUATION: dict[str, str] = {"falling": ".", "rising": "?", "exclaim": "!"}
# espeak-ng 1.51, geometric-mean F0 of one sentence against the pitch parameter (variants
# m3, m5, f2, linda): 0.13–0.19 st per unit below 50 and 0.16–0.20 above; the range
# parameter 50 → 99 raises the mean by 1.1–2.4 st (the range extends upwards from the base).
ST_PER_PITCH_UNIT_LOW = 0.15  # semitones per pitch unit below 50
ST_PER_PITCH_UNIT_HIGH = 0.18  # semitones per pitch unit above 50
ST_PER_RANGE_UNIT = 0.035  # mean-F0 rise, semitones per unit of pitch range


@dataclass(frozen=True)
class Prosody:
    """How one utterance is spoken: espeak-ng parameters plus post-synthesis voice quality.

    Raises
    ------
    InvalidInputError
        If a field is outside its range (the message names field and value).
    """

    rate_wpm: float  # words per minute, espeak 80..450
    pitch: float  # espeak base pitch 0..99 (50 = the voice's default)
    pitch_range: float  # espeak pitch range 0..99 (50 = default, 0 = monotone)
    loudness_db: float  # target active-speech RMS level, dBFS (≤ 0)
    word_gap_10ms: int  # extra pause between words, units of 10 ms at the default rate
    jitter: float  # relative F0 perturbation per ~5 ms (≈ one glottal cycle), std; 0 = none
    tremor_hz: float  # rate of the sinusoidal F0 tremor, Hz
    tremor_depth: float  # relative F0 tremor amplitude, e.g. 0.03 = ±3 %
    tilt_db: float  # spectral tilt per octave above 1 kHz: < 0 breathier/lax, > 0 tenser
    breath: float  # aspiration noise (> 1 kHz) RMS relative to the speech RMS; 0 = none
    contour: str  # terminal contour, one of CONTOURS

    def __post_init__(self) -> None:
        for name, lo, hi in _LIMITS:
            value = getattr(self, name)
            if not lo <= value <= hi:  # also rejects NaN
                raise InvalidInputError(f"Prosody.{name}={value!r} is outside [{lo}, {hi}]")
        if self.contour not in CONTOURS:
            raise InvalidInputError(
                f"Prosody.contour={self.contour!r} is not one of {', '.join(CONTOURS)}"
            )


_LIMITS: tuple[tuple[str, float, float], ...] = (
    ("rate_wpm", 80.0, 450.0),
    ("pitch", 0.0, 99.0),
    ("pitch_range", 0.0, 99.0),
    ("loudness_db", -60.0, 0.0),
    ("word_gap_10ms", 0, 100),
    ("jitter", 0.0, 0.1),
    ("tremor_hz", 0.0, 20.0),
    ("tremor_depth", 0.0, 0.2),
    ("tilt_db", -12.0, 12.0),
    ("breath", 0.0, 1.0),
)

NEUTRAL_BASE = Prosody(
    rate_wpm=165.0,
    pitch=50.0,
    pitch_range=50.0,
    loudness_db=-23.0,  # the EBU R128 programme level, leaves ≥ 6 dB headroom for anger
    word_gap_10ms=0,
    jitter=0.004,  # healthy voices: roughly 0.2–1 % cycle-to-cycle
    tremor_hz=0.0,
    tremor_depth=0.0,
    tilt_db=0.0,
    breath=0.0,
    contour="falling",
)


@dataclass(frozen=True)
class EmotionProfile:
    """The full (level 3) deviation of one emotion from neutral, in the units of the table."""

    rate_factor: float
    f0_semitones: float
    range_factor: float
    loudness_db: float
    word_gap_10ms: int
    jitter: float
    tremor_hz: float
    tremor_depth: float
    tilt_db: float
    breath: float
    contour: str


def _p(*values: float, contour: str) -> EmotionProfile:
    rate, f0, rng, loud, gap, jit, trem_hz, trem_d, tilt, breath = values
    return EmotionProfile(
        rate, f0, rng, loud, int(gap), jit, trem_hz, trem_d, tilt, breath, contour
    )


# One row per emotion of the module docstring's table, same numbers.
PROFILES: dict[str, EmotionProfile] = {
    "angry": _p(1.12, 4.5, 1.7, 6, 0, 0.008, 0, 0, 3.0, 0.03, contour="exclaim"),
    "contempt": _p(0.85, -1.5, 1.1, -3, 2, 0.004, 0, 0, -1.0, 0, contour="falling"),
    "disgusted": _p(0.72, -3.0, 1.15, -3, 3, 0.010, 0, 0, -1.5, 0, contour="falling"),
    "fear": _p(1.35, 5.0, 1.2, 0, 0, 0.020, 6.0, 0.03, 1.0, 0.02, contour="falling"),
    "happy": _p(1.08, 4.0, 1.7, 4, 0, 0, 0, 0, 1.5, 0.04, contour="exclaim"),
    "neutral": _p(1, 0, 1, 0, 0, 0, 0, 0, 0, 0, contour="falling"),
    "sad": _p(0.82, -2.0, 0.6, -5, 3, 0.008, 0, 0, -3.0, 0, contour="falling"),
    "surprised": _p(1.10, 4.0, 1.6, 3, 0, 0, 0, 0, 1.0, 0.03, contour="rising"),
}


def _clamp(value: float, name: str) -> float:
    for field, lo, hi in _LIMITS:
        if field == name:
            return min(max(value, lo), hi)
    raise KeyError(name)


def pitch_shift(pitch: float, semitones: float) -> float:
    """The espeak-ng pitch parameter that moves F0 by ``semitones`` from ``pitch``.

    Parameters
    ----------
    pitch
        espeak pitch parameter, 0..99.
    semitones
        Wanted F0 change.

    Returns
    -------
    float
        The new parameter (not clamped), from the piecewise-linear calibration above.
    """

    def to_st(p: float) -> float:
        return (p - 50) * (ST_PER_PITCH_UNIT_LOW if p < 50 else ST_PER_PITCH_UNIT_HIGH)

    target = to_st(pitch) + semitones
    return 50 + target / (ST_PER_PITCH_UNIT_LOW if target < 0 else ST_PER_PITCH_UNIT_HIGH)


def validate_emotion(emotion: str, level: int) -> None:
    """Check an (emotion, level) pair against the MEAD conventions.

    Parameters
    ----------
    emotion
        One of :data:`EMOTIONS`.
    level
        Intensity 1–3; neutral has level 1 only.

    Raises
    ------
    InvalidInputError
        Naming the offending value.
    """
    if emotion not in PROFILES:
        raise InvalidInputError(
            f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}"
        )
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVEL_SCALE:
        raise InvalidInputError(f"emotion level {level!r} is not 1, 2 or 3")
    if emotion == "neutral" and level != 1:
        raise InvalidInputError(f"neutral has level 1 only, got level {level!r}")


def prosody_for(emotion: str, level: int, *, base: Prosody) -> Prosody:
    """The prosody of ``emotion`` at intensity ``level`` for a speaker whose neutral is ``base``.

    Parameters
    ----------
    emotion
        One of :data:`EMOTIONS`.
    level
        1, 2 or 3 (neutral: 1 only); scales the deviation by :data:`LEVEL_SCALE`.
    base
        The speaker's neutral prosody.

    Returns
    -------
    Prosody
        ``base`` moved towards the emotion's profile, clamped to espeak-ng's ranges.

    Raises
    ------
    InvalidInputError
        For an unknown emotion, a level outside 1–3, or neutral with a level other than 1.
    """
    validate_emotion(emotion, level)
    prof = PROFILES[emotion]
    s = LEVEL_SCALE[level]
    pitch_range = _clamp(base.pitch_range * prof.range_factor**s, "pitch_range")
    # The wider range lifts the mean F0 by itself; take that out of the base shift.
    semitones = s * prof.f0_semitones - ST_PER_RANGE_UNIT * (pitch_range - base.pitch_range)
    return replace(
        base,
        rate_wpm=_clamp(base.rate_wpm * prof.rate_factor**s, "rate_wpm"),
        pitch=_clamp(pitch_shift(base.pitch, semitones), "pitch"),
        pitch_range=pitch_range,
        loudness_db=_clamp(base.loudness_db + s * prof.loudness_db, "loudness_db"),
        word_gap_10ms=int(
            _clamp(base.word_gap_10ms + round(s * prof.word_gap_10ms), "word_gap_10ms")
        ),
        jitter=_clamp(base.jitter + s * prof.jitter, "jitter"),
        tremor_hz=prof.tremor_hz if prof.tremor_depth > 0 else base.tremor_hz,
        tremor_depth=_clamp(base.tremor_depth + s * prof.tremor_depth, "tremor_depth"),
        tilt_db=_clamp(base.tilt_db + s * prof.tilt_db, "tilt_db"),
        breath=_clamp(base.breath + s * prof.breath, "breath"),
        contour=prof.contour if level >= 2 else base.contour,
    )


def apply_voice_quality(
    samples: np.ndarray, *, sample_rate: int, prosody: Prosody, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add what espeak-ng cannot do: jitter, tremor, aspiration noise and spectral tilt.

    Jitter and tremor are F0 perturbations realised by a time-varying resampling: output
    sample ``i`` reads the input at ``src_pos[i]``, advancing by the local F0 ratio
    ``(1 + jitter·e_k)·(1 + depth·sin(2π·f·t))`` with a fresh ``e_k ~ N(0, 1)`` every 5 ms.
    Formants move with F0 by the same few per cent, and timing drifts by a few ms at most.

    Parameters
    ----------
    samples
        (N,) float32 mono in [-1, 1].
    sample_rate
        Hz.
    prosody
        Uses ``jitter``, ``tremor_hz``, ``tremor_depth``, ``breath`` and ``tilt_db``.
    rng
        Source of the jitter, tremor phase and noise; fixes the result.

    Returns
    -------
    out
        (M,) float32, before loudness normalisation.
    src_pos
        (M,) float64, the input position (in samples) each output sample was read from;
        monotonic, for mapping event times.
    """
    x = np.asarray(samples, dtype=np.float64)
    warped, src_pos = _perturb_f0(x, sample_rate, prosody, rng)
    coloured = _colour(warped, sample_rate, prosody.tilt_db, prosody.breath, rng)
    return coloured.astype(np.float32), src_pos


def _perturb_f0(
    x: np.ndarray, sr: int, prosody: Prosody, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = x.size
    if n < 2 or (prosody.jitter <= 0 and prosody.tremor_depth <= 0):
        return x, np.arange(n, dtype=np.float64)
    # The slowest playback ratio bounds the output length: e clipped to ±3σ.
    slowest = (1 - 3 * prosody.jitter) * (1 - prosody.tremor_depth)
    m = int(n / max(slowest, 0.5)) + 2
    seg = max(1, round(0.005 * sr))  # 5 ms ≈ one glottal cycle at 200 Hz
    e = np.clip(rng.standard_normal(m // seg + 1), -3.0, 3.0)
    ratio = 1.0 + prosody.jitter * np.repeat(e, seg)[:m]
    if prosody.tremor_depth > 0 and prosody.tremor_hz > 0:
        phase = rng.uniform(0.0, 2 * np.pi)
        t = np.arange(m) / sr
        ratio *= 1.0 + prosody.tremor_depth * np.sin(2 * np.pi * prosody.tremor_hz * t + phase)
    src_pos = np.concatenate(([0.0], np.cumsum(ratio[:-1])))
    src_pos = src_pos[src_pos <= n - 1]
    out = ndimage.map_coordinates(x, src_pos[None, :], order=3, mode="nearest")
    return out, src_pos


def _colour(
    x: np.ndarray, sr: int, tilt_db: float, breath: float, rng: np.random.Generator
) -> np.ndarray:
    if x.size == 0 or (tilt_db == 0 and breath <= 0):
        return x
    n = x.size
    # Zero-padding to a 2·3·5-smooth length: FFTs of prime-ish lengths are 10× slower, and
    # the padding keeps the (zero-phase) filter's tails from wrapping round.
    nfft = sp_fft.next_fast_len(n + round(0.02 * sr), real=True)
    freqs = sp_fft.rfftfreq(nfft, d=1.0 / sr)
    spec = sp_fft.rfft(x, nfft)
    if breath > 0:
        # Aspiration: white noise shaped by the speech envelope (10 ms), above ~1 kHz.
        env = ndimage.uniform_filter1d(np.abs(x), size=max(1, round(0.010 * sr)))
        noise = sp_fft.rfft(rng.standard_normal(n) * env, nfft)
        noise *= np.clip((freqs - 800.0) / 800.0, 0.0, 1.0)  # ramp 800 → 1600 Hz
        # Parseval: scale the noise to `breath` × the speech RMS.
        power_x = float(np.sum(np.abs(spec) ** 2))
        power_n = float(np.sum(np.abs(noise) ** 2))
        if power_n > 0:
            spec = spec + noise * (breath * math.sqrt(power_x / power_n))
    if tilt_db != 0:
        octaves = np.log2(np.maximum(freqs, 1000.0) / 1000.0)
        spec = spec * 10.0 ** (tilt_db * octaves / 20.0)
    return sp_fft.irfft(spec, nfft)[:n]
