"""A small ctypes binding to libespeak-ng (Debian ``libespeak-ng1``), synchronous mode only.

No C headers are needed: the declarations below follow the public ``speak_lib.h`` API, and
the layout of ``espeak_EVENT`` was checked on x86-64 (40 bytes, ``user_data`` at offset 24,
the ``id`` union at 32): ``audio_position`` rises through an utterance and the last event's
position equals the number of samples returned (e.g. 1705 ms for 37,602 samples at
22,050 Hz), and phoneme events carry espeak mnemonics such as ``h``, ``@``, ``l``, ``oU``.

Determinism: libespeak-ng 1.51 keeps wave-generator state in function statics (the pitch
"flutter" table index in ``AdvanceParameters``, among others) that survive
``espeak_Terminate``, so two identical ``espeak_Synth`` calls in one process differ by a
few samples in length and everywhere in value. We therefore load the library afresh for
every utterance (``dlopen`` → ``espeak_Initialize`` → synth → ``espeak_Terminate`` →
``dlclose``), which costs about 5 ms. Variants with a ``breath`` setting (f2, f3, f5 ...)
also draw aspiration noise from libc's ``rand()``, which we seed with ``srand`` right
before each synthesis. Together this makes output bit-identical. The library is a
process-global singleton and not thread-safe, so every call holds :data:`_LOCK`.
"""

from __future__ import annotations

import _ctypes
import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evp_studio.errors import EvpError, InvalidInputError

log = logging.getLogger(__name__)

# speak_lib.h constants.
AUDIO_OUTPUT_SYNCHRONOUS = 2  # PLAYBACK=0, RETRIEVAL=1, SYNCHRONOUS=2, SYNCH_PLAYBACK=3
INITIALIZE_PHONEME_EVENTS = 0x0001
POS_CHARACTER = 1
CHARS_UTF8 = 1
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
EVENT_SAMPLERATE = 8
PARAM_RATE = 1  # words per minute, 80..450
PARAM_VOLUME = 2  # amplitude 0..200, 100 = normal
PARAM_PITCH = 3  # base pitch 0..99, 50 = normal
PARAM_RANGE = 4  # pitch range 0..99, 50 = normal, 0 = monotone
PARAM_PUNCTUATION = 5
PARAM_CAPITALS = 6
PARAM_WORDGAP = 7  # extra pause between words, units of 10 ms at the default rate
EE_OK = 0

_LIB_NAMES = ("espeak-ng", "libespeak-ng.so.1")
_LOCK = threading.Lock()


class EspeakError(EvpError):
    """libespeak-ng is missing or failed; the message says what to install or check."""


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),  # phoneme mnemonic, NUL-terminated unless 8 bytes long
    ]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of this espeak_Synth call
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class EspeakParams:
    """Everything one ``espeak_Synth`` call is configured with (espeak's own units)."""

    voice: str  # voice name with optional variant, e.g. "en-us+m3"
    rate: int  # words per minute, 80..450
    pitch: int  # 0..99
    pitch_range: int  # 0..99
    volume: int  # 0..200
    word_gap: int  # units of 10 ms
    noise_seed: int = 1  # srand() seed for espeak's breath noise (uint32)


@dataclass(frozen=True)
class RawSynthesis:
    """What espeak-ng produced for one text, before any post-processing."""

    samples: np.ndarray  # (N,) int16, mono
    sample_rate: int  # Hz, as returned by espeak_Initialize (22050 for espeak-ng)
    phoneme_events: tuple[tuple[str, int], ...]  # (mnemonic, audio_position in ms), in order


class _Collector:
    """Receives the synth callback's audio chunks and phoneme events."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.phonemes: list[tuple[str, int]] = []

    def __call__(self, wav: ctypes._Pointer, n_samples: int, events: ctypes._Pointer) -> int:
        # Runs inside espeak; an exception here would be swallowed by ctypes, so stay simple.
        if n_samples > 0 and wav:
            self.chunks.append(ctypes.string_at(wav, n_samples * 2))  # int16 → 2 bytes
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_PHONEME:
                name = ev.id.string.decode("utf-8", errors="replace")
                self.phonemes.append((name, int(ev.audio_position)))
            i += 1
        return 0  # 0 = go on synthesising


_collector = _Collector()
_callback = _CALLBACK_TYPE(_collector)  # kept alive at module level: espeak holds its pointer


def _library_path() -> str:
    for name in _LIB_NAMES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    fallback = Path("/usr/lib/x86_64-linux-gnu/libespeak-ng.so.1")
    if fallback.exists():
        return str(fallback)
    raise EspeakError(
        "libespeak-ng not found: install the Debian package libespeak-ng1 (or espeak-ng)"
    )


_checked_unload = False


def _warn_if_still_loaded() -> None:
    # Once per process, on Linux: if something else holds libespeak-ng, dlclose cannot
    # unload it, its statics persist and identical calls stop being bit-identical.
    global _checked_unload
    if _checked_unload:
        return
    _checked_unload = True
    maps = Path("/proc/self/maps")
    if maps.exists() and "libespeak-ng" in maps.read_text(errors="replace"):
        log.warning("libespeak-ng stays loaded after dlclose: synthesis is not reproducible")


def _seed_libc_rand(seed: int) -> None:
    # espeak's breath noise calls the C library's rand(); CDLL(None) is this process's libc
    # on Linux and macOS. Elsewhere the noise is left unseeded (not bit-reproducible).
    try:
        libc = ctypes.CDLL(None)
        srand = libc.srand
    except (OSError, TypeError, AttributeError):
        log.debug("libc srand not reachable; espeak breath noise is not seeded")
        return
    srand.argtypes = [ctypes.c_uint]
    srand.restype = None
    srand(seed & 0xFFFFFFFF)


def _declare(lib: ctypes.CDLL) -> None:
    c_int, c_uint, c_void_p = ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
    lib.espeak_Initialize.argtypes = [c_int, c_int, ctypes.c_char_p, c_int]
    lib.espeak_Initialize.restype = c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK_TYPE]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = c_int
    lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
    lib.espeak_SetParameter.restype = c_int
    # text, size, position, position_type, end_position, flags, unique_identifier*, user_data
    lib.espeak_Synth.argtypes = [
        c_void_p,
        ctypes.c_size_t,
        c_uint,
        c_int,
        c_uint,
        c_uint,
        c_void_p,
        c_void_p,
    ]
    lib.espeak_Synth.restype = c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = c_int
    lib.espeak_Terminate.argtypes = []
    lib.espeak_Terminate.restype = c_int


def _configure(lib: ctypes.CDLL, params: EspeakParams) -> None:
    status = lib.espeak_SetVoiceByName(params.voice.encode("utf-8"))
    if status != EE_OK:
        raise InvalidInputError(f"espeak-ng voice {params.voice!r} not found (status {status})")
    # Parameters after the voice: selecting a voice resets some of them.
    for key, value in (
        (PARAM_RATE, params.rate),
        (PARAM_VOLUME, params.volume),
        (PARAM_PITCH, params.pitch),
        (PARAM_RANGE, params.pitch_range),
        (PARAM_WORDGAP, params.word_gap),
    ):
        status = lib.espeak_SetParameter(key, int(value), 0)
        if status != EE_OK:
            raise EspeakError(f"espeak_SetParameter({key}, {value}) failed with {status}")


def synthesize_raw(text: str, params: EspeakParams) -> RawSynthesis:
    """Synthesise ``text`` with a freshly loaded libespeak-ng and collect audio and phonemes.

    Parameters
    ----------
    text
        Plain text; espeak reads its punctuation for intonation.
    params
        Voice and espeak parameters.

    Returns
    -------
    RawSynthesis
        int16 samples, the sample rate reported by ``espeak_Initialize`` and the phoneme
        events in the order espeak emitted them.

    Raises
    ------
    InvalidInputError
        If the voice is unknown.
    EspeakError
        If the library is missing or a call fails.
    """
    data = text.encode("utf-8")
    with _LOCK:
        _collector.chunks.clear()
        _collector.phonemes.clear()
        try:
            lib = ctypes.CDLL(_library_path())
        except OSError as e:
            raise EspeakError(f"cannot load libespeak-ng: {e}") from e
        try:
            _declare(lib)
            sample_rate = lib.espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_PHONEME_EVENTS
            )
            if sample_rate <= 0:
                raise EspeakError(
                    f"espeak_Initialize failed ({sample_rate}): is espeak-ng-data installed?"
                )
            lib.espeak_SetSynthCallback(_callback)
            _configure(lib, params)
            _seed_libc_rand(params.noise_seed)
            status = lib.espeak_Synth(
                data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None
            )
            if status != EE_OK:
                raise EspeakError(f"espeak_Synth failed with {status} for text {text[:60]!r}")
            lib.espeak_Synchronize()
            samples = np.frombuffer(b"".join(_collector.chunks), dtype=np.int16).copy()
            events = tuple(_collector.phonemes)
        finally:
            lib.espeak_Terminate()
            # Unload so the next call starts from clean wave-generator state (module doc).
            _ctypes.dlclose(lib._handle)  # type: ignore[attr-defined]
            _warn_if_still_loaded()
    log.debug("espeak-ng: %d samples, %d phoneme events", samples.size, len(events))
    return RawSynthesis(samples=samples, sample_rate=int(sample_rate), phoneme_events=events)
