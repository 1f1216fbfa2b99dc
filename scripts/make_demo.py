"""Regenerate the bundled demo project in resources/demo/.

    .venv/bin/python scripts/make_demo.py [--out resources/demo]

The target video is made from a real photograph that scikit-image ships (the astronaut,
Eileen Collins), cropped to her head and shoulders, 512x512 at 25 fps, with gentle head
motion: the head region turns and nods about the neck under a feathered mask while the
background stays put. The speech is spoken by espeak-ng (Debian package ``espeak-ng``).
The project names both by relative path and has a few emotion keyframes. Deterministic
for a seed; the files stay well under 2 MB.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from evp_studio.media import ExportConfig, VideoWriter, load_audio
from evp_studio.project import Document, Easing

log = logging.getLogger("make_demo")

SIZE = 512
RATE = Fraction(25)
SPEECH_RATE = 22050
TEXT = (
    "Hello, and welcome to E V P Studio. "
    "I say what you give me, with the emotion you choose: "
    "happy, a little sad, then surprised!"
)
# Crop of the 512x512 photograph around the head (rows, cols), and head geometry in it.
CROP = (slice(0, 300), slice(75, 375))
HEAD_CENTER = (150.0, 112.0)  # x, y in the crop: middle of face and hair
HEAD_AXES = (88.0, 118.0)  # half-width, half-height of the moving region
NECK_PIVOT = (150.0, 200.0)  # the head turns about this point


def speak(text: str, out_wav: Path) -> None:
    """Synthesise ``text`` with espeak-ng into a wav file."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed: run `bash scripts/dev.sh setup` as root")
    subprocess.run([exe, "-v", "en-us+f3", "-s", "150", "-w", str(out_wav), text], check=True)


def head_mask(size: int) -> np.ndarray:
    """Feathered elliptical mask of the head region, (size, size) float32 in [0, 1]."""
    scale = size / (CROP[0].stop - CROP[0].start)
    mask = np.zeros((size, size), np.float32)
    center = (int(HEAD_CENTER[0] * scale), int(HEAD_CENTER[1] * scale))
    axes = (int(HEAD_AXES[0] * scale), int(HEAD_AXES[1] * scale))
    cv2.ellipse(mask, center, axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=18 * scale)[..., None]


def smooth_motion(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 4) smooth head motion: roll degrees, dx px, dy px, scale factor - 1."""
    t = np.arange(n) / float(RATE)
    out = np.zeros((n, 4))
    amps = (2.2, 5.0, 2.5, 0.012)
    for k, amp in enumerate(amps):
        freqs = rng.uniform(0.08, 0.45, size=3)
        phases = rng.uniform(0, 2 * np.pi, size=3)
        out[:, k] = amp * np.mean(np.sin(2 * np.pi * freqs[None] * t[:, None] + phases), axis=1)
    return out


def render_frames(n: int, seed: int) -> np.ndarray:
    """(n, SIZE, SIZE, 3) uint8 frames of the moving head."""
    still = skimage.data.astronaut()[CROP]
    still = cv2.resize(still, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    mask = head_mask(SIZE)
    scale = SIZE / (CROP[0].stop - CROP[0].start)
    pivot = (NECK_PIVOT[0] * scale, NECK_PIVOT[1] * scale)
    motion = smooth_motion(n, np.random.default_rng(seed))
    frames = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for i, (roll, dx, dy, ds) in enumerate(motion):
        m = cv2.getRotationMatrix2D(pivot, roll, 1.0 + ds)
        m[:, 2] += (dx * scale / 1.7, dy * scale / 1.7)
        moved = cv2.warpAffine(
            still, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        moved_mask = cv2.warpAffine(mask[..., 0], m, (SIZE, SIZE))[..., None]
        frames[i] = (moved * moved_mask + still * (1.0 - moved_mask) + 0.5).astype(np.uint8)
    return frames


def build(out_dir: Path, seed: int) -> Path:
    """Write target.mp4, speech.wav and demo.evp into ``out_dir``; returns the project path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        speak(TEXT, raw)
        speech = load_audio(raw, sample_rate=SPEECH_RATE)
    speech_path = out_dir / "speech.wav"
    _write_wav(speech_path, speech, SPEECH_RATE)
    n_frames = int(np.ceil(len(speech) / SPEECH_RATE * float(RATE))) + 5
    video_path = out_dir / "target.mp4"
    config = ExportConfig(crf=30, preset="slow")
    with VideoWriter(video_path, width=SIZE, height=SIZE, frame_rate=RATE, config=config) as writer:
        for frame in render_frames(n_frames, seed):
            writer.write(frame)
    doc = Document.new(name="Demo — astronaut")
    doc.set_target(path=video_path, frame_rate=RATE, frame_count=n_frames, width=SIZE, height=SIZE)
    doc.set_speech(path=speech_path)
    third = n_frames // 3
    doc.add_keyframe(frame=0, emotion="happy", intensity=0.7, easing=Easing.EASE_IN_OUT)
    doc.add_keyframe(frame=third, emotion="happy", intensity=0.6, easing=Easing.EASE_IN_OUT)
    doc.add_keyframe(frame=third + 25, emotion="sad", intensity=0.6, easing=Easing.LINEAR)
    doc.add_keyframe(frame=2 * third + 10, emotion="surprised", intensity=0.9, easing=Easing.HOLD)
    project_path = out_dir / "demo.evp"
    doc.save(project_path)
    return project_path


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    import wave  # noqa: PLC0415

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "resources" / "demo"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    project = build(args.out, args.seed)
    sizes = {p.name: p.stat().st_size for p in args.out.iterdir()}
    log.info("wrote %s (%s)", project, ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
