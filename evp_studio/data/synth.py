"""The synthetic MEAD-layout corpus: espeak-ng actors speaking in 8 emotions, rendered faces.

Every actor is a distinct espeak-ng voice with its own 3D face shape and appearance. Each
sentence is spoken in all 8 emotions, at levels 1-3 (neutral: level 1 only, as in MEAD).
Emotion is carried by the voice (``evp_studio.data.prosody``) and by the face (FACS
prototypes scaled by the level, ``evp_studio.data.face.expression``); the mouth follows the
speech's own phoneme timings with coarticulation; the head moves and the eyes blink.

Layout (MEAD's, front view only)::

    <actor>/video/front/<emotion>/level_<k>/<nnn>.mp4       H.264 + AAC, 25 fps
    <actor>/audio/<emotion>/level_<k>/<nnn>.m4a             AAC
    <actor>/landmarks/<emotion>/level_<k>/<nnn>.npz          ground truth (see ``CLIP_KEYS``)
    synth_manifest.json                                      config, counts, versions, time

Sentence ``k`` is the same text in every emotion (``HARVARD[k - 1]``), so emotion pairs are
formed with ``emotion_pairs(clips, content="same_id")``; the manifest says so. Every clip
is generated from its own seed (corpus seed, actor, sentence, emotion, level), so the
corpus is identical for a seed whatever the number of worker processes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from evp_studio import __version__
from evp_studio.data.sentences import HARVARD
from evp_studio.data.synth_clip import ActorSpec, ClipSpec, make_actors, write_clip
from evp_studio.errors import InvalidInputError
from evp_studio.fileio import atomic_write_text
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.project import EMOTIONS

log = logging.getLogger(__name__)

MANIFEST = "synth_manifest.json"


@dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    Parameters
    ----------
    actors
        Number of actors (voices + faces), 1-128.
    sentences
        Sentences per emotion and level, 1-40 (the Harvard sentences, in order).
    seed
        Corpus seed; the corpus is a pure function of the config.
    size
        Frame width and height, px (even).
    fps
        Video frame rate (MEAD and the models use 25).
    levels
        Intensity levels of the non-neutral emotions, a subset of (1, 2, 3).
    video
        Render and encode the videos; without it only audio and ground truth are written
        (enough to train the audio models, much faster).
    crf
        x264 quality of the clips.
    """

    actors: int = 2
    sentences: int = 2
    seed: int = 0
    size: int = 256
    fps: int = 25
    levels: tuple[int, ...] = (1, 2, 3)
    video: bool = True
    crf: int = 23

    def __post_init__(self) -> None:
        checks = [
            (1 <= self.actors <= 128, f"actors must be in 1..128, got {self.actors}"),
            (
                1 <= self.sentences <= len(HARVARD),
                f"sentences must be in 1..{len(HARVARD)}, got {self.sentences}",
            ),
            (
                self.size >= 64 and self.size % 2 == 0,
                f"size must be even and >= 64, got {self.size}",
            ),
            (1 <= self.fps <= 120, f"fps must be in 1..120, got {self.fps}"),
            (
                bool(self.levels) and set(self.levels) <= {1, 2, 3},
                f"levels must be a non-empty subset of 1, 2, 3, got {self.levels}",
            ),
            (0 <= self.crf <= 51, f"crf must be in 0..51, got {self.crf}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInputError(f"synthetic corpus: {message}")
        object.__setattr__(self, "levels", tuple(sorted(set(self.levels))))

    def clip_specs(self) -> list[ClipSpec]:
        """Every clip of the corpus, in a fixed order."""
        specs = []
        for actor in range(self.actors):
            for sentence in range(1, self.sentences + 1):
                for label, emotion in enumerate(EMOTIONS):
                    levels = (1,) if emotion == "neutral" else self.levels
                    for level in levels:
                        specs.append(ClipSpec(actor, sentence, emotion, label, level))
        return specs


PRESETS: dict[str, SynthConfig] = {
    # Seconds: 2 actors x 1 sentence x (7 emotions at level 3 + neutral), small frames.
    "tiny": SynthConfig(actors=2, sentences=1, size=128, levels=(3,), crf=28),
    # The default weights' corpus: see the closing note of issue 3 for size and build time.
    "train": SynthConfig(actors=8, sentences=20, size=256, levels=(1, 2, 3), crf=23),
}


@dataclass(frozen=True)
class SynthSummary:
    """What was written."""

    root: Path
    clips: int
    frames: int
    seconds_of_speech: float
    build_s: float
    config: SynthConfig
    actors: tuple[str, ...] = field(default=())


def synth_corpus(
    out: Path, config: SynthConfig, *, jobs: int = 1, cancel: CancelToken | None = None
) -> Job[SynthSummary]:
    """Generate the corpus into ``out`` (a job: yields Progress, returns a summary).

    Parameters
    ----------
    out
        Destination folder; created; must be empty or hold a corpus of the same config
        (finished clips are kept, so an interrupted build resumes).
    config
        What to generate.
    jobs
        Worker processes (clips are independent; results do not depend on this).
    cancel
        Checked between clips.

    Raises
    ------
    InvalidInputError
        When ``out`` holds something else.
    """
    out = Path(out)
    _prepare_out(out, config)
    actors = make_actors(config.actors, config.seed)
    specs = config.clip_specs()
    started = time.monotonic()
    frames = 0
    speech_s = 0.0
    yield Progress("Generating synthetic corpus", 0, len(specs))
    for done, (n_frames, seconds) in enumerate(_run(out, config, actors, specs, jobs, cancel), 1):
        frames += n_frames
        speech_s += seconds
        yield Progress("Generating synthetic corpus", done, len(specs))
    summary = SynthSummary(
        out,
        len(specs),
        frames,
        speech_s,
        time.monotonic() - started,
        config,
        tuple(a.name for a in actors),
    )
    _write_manifest(out, summary)
    log.info(
        "synthetic corpus: %d clips, %d frames, %.0f s of speech in %.1f s -> %s",
        summary.clips,
        frames,
        speech_s,
        summary.build_s,
        out,
    )
    return summary


def _run(
    out: Path,
    config: SynthConfig,
    actors: list[ActorSpec],
    specs: list[ClipSpec],
    jobs: int,
    cancel: CancelToken | None,
) -> Iterator[tuple[int, float]]:
    if jobs <= 1:
        for spec in specs:
            if cancel is not None:
                cancel.check()
            yield write_clip(out, config, actors[spec.actor], spec)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: list[Future[tuple[int, float]]] = [
            pool.submit(write_clip, out, config, actors[s.actor], s) for s in specs
        ]
        try:
            for fut in pending:
                if cancel is not None:
                    cancel.check()
                yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()


def _prepare_out(out: Path, config: SynthConfig) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))["config"]
        except (OSError, ValueError, KeyError) as e:
            raise InvalidInputError(f"{manifest}: unreadable corpus manifest ({e})") from e
        if old != _config_dict(config):
            raise InvalidInputError(
                f"{out}: holds a synthetic corpus made with other settings; use an empty folder"
            )
    elif any(p.name != MANIFEST for p in out.iterdir()):
        partial = out / ".synth_config.json"
        if not partial.exists() or json.loads(partial.read_text()) != _config_dict(config):
            raise InvalidInputError(f"{out}: is not empty; choose an empty folder")
    (out / ".synth_config.json").write_text(json.dumps(_config_dict(config)), encoding="utf-8")


def _config_dict(config: SynthConfig) -> dict[str, object]:
    data = asdict(config)
    data["levels"] = list(config.levels)
    return data


def _write_manifest(out: Path, summary: SynthSummary) -> None:
    data = {
        "generator": f"EVP Studio {__version__}",
        "config": _config_dict(summary.config),
        "pairing": "same_id",
        "layout": "MEAD, front view only",
        "ground_truth": "<actor>/landmarks/<emotion>/level_<k>/<nnn>.npz",
        "emotions": list(EMOTIONS),
        "actors": list(summary.actors),
        "clips": summary.clips,
        "frames": summary.frames,
        "seconds_of_speech": round(summary.seconds_of_speech, 2),
        "build_seconds": round(summary.build_s, 1),
        "fps": summary.config.fps,
        "frame_rate": str(Fraction(summary.config.fps)),
    }
    atomic_write_text(out / MANIFEST, json.dumps(data, indent=2))
    (out / ".synth_config.json").unlink(missing_ok=True)


def with_overrides(base: SynthConfig, **changes: object) -> SynthConfig:
    """``base`` with the given fields replaced (None values are ignored)."""
    return replace(base, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
