"""One clip of the synthetic corpus: speech, face animation, rendering, files.

Runs in worker processes, so everything it needs travels in small picklable specs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evp_studio.data import face
from evp_studio.data.sentences import HARVARD
from evp_studio.data.speech import Speaker, Utterance, speakers_for, synthesize, viseme_of
from evp_studio.media import ExportConfig, VideoWriter, write_audio

if TYPE_CHECKING:
    from evp_studio.data.synth import SynthConfig

# Arrays in each ground-truth npz (one row per video frame unless said otherwise).
CLIP_KEYS = (
    "lmk2d",  # (T, 68, 2) float32, px in the rendered frame
    "lmk3d",  # (T, 68, 3) float32: u, v px (= lmk2d), depth px (nearer is larger)
    "pose",  # (T, 6) float32: yaw, pitch, roll (deg), tx, ty (px), scale (px/mm)
    "mouth",  # (T, P) float32 articulatory parameters
    "blink",  # (T,) float32 eyelid closure 0..1
    "phonemes",  # (K,) str espeak-ng mnemonics
    "phoneme_times",  # (K, 2) float64 start, end in s
    "visemes",  # (K,) str viseme class per phoneme
)


@dataclass(frozen=True)
class ActorSpec:
    """An actor: a voice, a face shape and an appearance."""

    name: str
    speaker: Speaker
    shape: face.FaceShape
    appearance: face.Appearance


@dataclass(frozen=True)
class ClipSpec:
    """One clip: who says which sentence with which emotion at which level."""

    actor: int
    sentence: int  # 1-based, MEAD's <nnn>
    emotion: str
    label: int
    level: int

    def relative(self, kind: str, actor_name: str, suffix: str) -> Path:
        """MEAD-layout path of this clip's ``kind`` file ("video", "audio", "landmarks")."""
        parts = [actor_name, kind] + (["front"] if kind == "video" else [])
        parts += [self.emotion, f"level_{self.level}", f"{self.sentence:03d}{suffix}"]
        return Path(*parts)


def make_actors(n: int, seed: int) -> list[ActorSpec]:
    """``n`` distinct actors, deterministic for ``seed``; names follow MEAD (M003, W009)."""
    actors = []
    for i, speaker in enumerate(speakers_for(n, seed)):
        rng = np.random.default_rng([seed, 7919, i])
        prefix = "W" if speaker.gender == "female" else "M"
        actors.append(
            ActorSpec(
                f"{prefix}{i + 1:03d}", speaker, face.identity_shape(rng), face.appearance_for(rng)
            )
        )
    return actors


def _clip_rng(config: SynthConfig, spec: ClipSpec) -> np.random.Generator:
    return np.random.default_rng([config.seed, spec.actor, spec.sentence, spec.label, spec.level])


def write_clip(
    out: Path, config: SynthConfig, actor: ActorSpec, spec: ClipSpec
) -> tuple[int, float]:
    """Generate one clip's files (skipped when already complete); returns (frames, seconds)."""
    gt_path = out / spec.relative("landmarks", actor.name, ".npz")
    video_path = out / spec.relative("video", actor.name, ".mp4")
    audio_path = out / spec.relative("audio", actor.name, ".m4a")
    if gt_path.exists() and audio_path.exists() and (video_path.exists() or not config.video):
        with np.load(gt_path) as done:
            n = int(done["lmk2d"].shape[0])
        return n, n / config.fps
    rng = _clip_rng(config, spec)
    utt = synthesize(
        HARVARD[spec.sentence - 1],
        speaker=actor.speaker,
        emotion=spec.emotion,
        level=spec.level,
        seed=int(rng.integers(2**31)),
    )
    n_frames = max(1, math.ceil(utt.duration_s * config.fps))
    track = animate_clip(actor, spec, utt, n_frames, config, rng)
    for path in (gt_path, video_path, audio_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(audio_path, utt.samples, utt.sample_rate)
    if config.video:
        _write_video(video_path, track["lmk2d"], actor, config, utt, rng)
    _save_npz(gt_path, track, spec, utt, config)
    return n_frames, utt.duration_s


def animate_clip(
    actor: ActorSpec,
    spec: ClipSpec,
    utt: Utterance,
    n_frames: int,
    config: SynthConfig,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Landmark tracks of a clip: mouth from phonemes, expression, blinks, head motion."""
    visemes = [(viseme_of(p.symbol), p.start_s, p.end_s) for p in utt.phonemes]
    mouth = face.mouth_track(visemes, n_frames, float(config.fps))
    level = 0.0 if spec.emotion == "neutral" else face.level_intensity(spec.level)
    intensity = face.expression_envelope(n_frames, float(config.fps), rng, level)
    pose = face.head_motion(n_frames, float(config.fps), rng, size=(config.size, config.size))
    blink = face.blink_track(n_frames, float(config.fps), rng)
    lmk3d, lmk2d, pose6 = face.animate(actor.shape, mouth, spec.emotion, intensity, pose, blink)
    return {
        "lmk2d": lmk2d.astype(np.float32),
        "lmk3d": lmk3d.astype(np.float32),
        "pose": pose6.astype(np.float32),
        "mouth": mouth.astype(np.float32),
        "blink": blink.astype(np.float32),
        "phonemes": np.array([p.symbol for p in utt.phonemes]),
        "phoneme_times": np.array([(p.start_s, p.end_s) for p in utt.phonemes], np.float64),
        "visemes": np.array([v for v, _, _ in visemes]),
    }


def _write_video(
    path: Path,
    lmk2d: np.ndarray,
    actor: ActorSpec,
    config: SynthConfig,
    utt: Utterance,
    rng: np.random.Generator,
) -> None:
    size = (config.size, config.size)
    export = ExportConfig(crf=config.crf, preset="veryfast")
    with VideoWriter(
        path,
        width=config.size,
        height=config.size,
        frame_rate=Fraction(config.fps),
        config=export,
        audio=utt.samples,
        audio_rate=utt.sample_rate,
    ) as writer:
        for frame in face.render_clip(lmk2d, actor.appearance, size, rng, neutral=actor.shape):
            writer.write(frame)


def _save_npz(
    path: Path, track: dict[str, np.ndarray], spec: ClipSpec, utt: Utterance, config: SynthConfig
) -> None:
    tmp = path.with_name(f".{path.stem}.partial.npz")
    arrays: dict[str, np.ndarray] = {
        **track,
        "label": np.array(spec.label, np.int64),
        "level": np.array(spec.level, np.int64),
        "sentence": np.array(spec.sentence, np.int64),
        "emotion": np.array(spec.emotion),
        "text": np.array(utt.text),
        "fps": np.array(config.fps, np.float64),
    }
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)
