"""A small project for export tests: a real face (the astronaut) that moves, and a tone."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from evp_studio.media import probe
from evp_studio.project import Document
from tests.core.landmark_clips import astronaut_patch, moving_transforms, place, write_clip

N_FRAMES = 30  # at 25 fps, 256 x 192
SPEECH_S = 1.0


def write_tone(path: Path, seconds: float = SPEECH_S, rate: int = 16000) -> Path:
    """A 16-bit mono wav of a 220 Hz tone."""
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def make_project(folder: Path, n_frames: int = N_FRAMES) -> Document:
    """A document with a moving-astronaut target video, a tone as speech and two keyframes."""
    patch, moves = astronaut_patch(), moving_transforms(n_frames)
    video = write_clip(folder / "target.mp4", n_frames, lambda i: place(patch, moves[i]))
    speech = write_tone(folder / "speech.wav")
    info = probe(video).video
    assert info is not None
    doc = Document.new("Export test")
    doc.set_target(
        path=video,
        frame_rate=info.frame_rate,
        frame_count=info.frame_count,
        width=info.width,
        height=info.height,
    )
    doc.set_speech(path=speech)
    doc.add_keyframe(frame=0, emotion="happy", intensity=0.8)
    doc.add_keyframe(frame=20, emotion="sad", intensity=0.5)
    return doc


def unwritable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no file can be created in: a read-only one, or ``/proc`` for root."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe_file = folder / "probe"
        probe_file.touch()  # root ignores permissions: use a folder no one can write in
        probe_file.unlink()
        yield Path("/proc")
    except OSError:
        yield folder
    finally:
        folder.chmod(0o755)
