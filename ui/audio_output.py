"""Sound during playback, through PortAudio (sounddevice) when the machine has an output.

Where PortAudio or an output device is missing (servers, CI), playback runs silent: the
first attempt logs why once, and later calls do nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class AudioOutput:
    """Plays a mono float32 buffer from a given time; stops on demand."""

    def __init__(self) -> None:
        self._sd: Any = None
        self._unavailable: str | None = None
        self._stream: Any = None

    @property
    def available(self) -> bool:
        """True when sound can be played on this machine."""
        return self._backend() is not None

    @property
    def unavailable_reason(self) -> str | None:
        """Why sound is off, or None while it works."""
        self._backend()
        return self._unavailable

    def _backend(self) -> Any:
        if self._sd is not None or self._unavailable is not None:
            return self._sd
        try:
            import sounddevice as sd  # noqa: PLC0415 - PortAudio is optional at run time
        except (OSError, ImportError) as exc:  # OSError: the PortAudio library is missing
            self._unavailable = f"no audio output ({exc})"
            log.info("playback is silent: %s", self._unavailable)
            return None
        try:
            sd.query_devices(kind="output")
        except (sd.PortAudioError, ValueError) as exc:  # no output device
            self._unavailable = f"no audio output device ({exc})"
            log.info("playback is silent: %s", self._unavailable)
            return None
        self._sd = sd
        return sd

    def play(self, samples: np.ndarray, sample_rate: int, start_s: float) -> None:
        """Play ``samples`` (mono float32) from ``start_s`` seconds; replaces what plays."""
        self.stop()
        sd = self._backend()
        if sd is None:
            return
        start = int(max(0.0, start_s) * sample_rate)
        if start >= len(samples):
            return
        try:
            sd.play(samples[start:], sample_rate, blocking=False)
        except (sd.PortAudioError, OSError, ValueError) as exc:
            self._unavailable = f"audio output failed ({exc})"
            log.warning("playback is silent: %s", self._unavailable)
            self._sd = None

    def stop(self) -> None:
        """Stop any sound."""
        if self._sd is not None:
            try:
                self._sd.stop()
            except (self._sd.PortAudioError, OSError, ValueError) as exc:
                log.debug("stopping audio: %s", exc)
