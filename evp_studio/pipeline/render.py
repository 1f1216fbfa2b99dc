"""The whole pipeline for one project: speech + keyframes + target video -> a finished file.

Stages (each a Job, so progress and cancel reach every one)::

    track_landmarks(target)            detected landmarks of the target (cached per video)
    predict_project_landmarks(...)     speech codes, emotion per frame, audio-to-landmark,
                                       silence, resampling, 3D-aware alignment (eq. 8)
    WarpRenderer per output frame      the training-free renderer, or
    NeuralRenderer.stream              the Edge-to-Video renderer trained on this target
                                       (guidance maps in its face crop; first two frames real)
    VideoWriter                        H.264 + AAC (or ProRes), speech muxed, atomic

Frames stream: one decoded target frame and one rendered frame are alive at a time (the warp
renderer's mouth bank holds small crops only), so a 10-minute clip does not fill memory.
The speech starts at the target frame ``speech.offset_frames`` (negative skips its start).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from evp_studio.errors import EvpError, InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.landmarks import LandmarkTrack, TrackerSettings, track_landmarks
from evp_studio.media import ExportConfig, VideoReader, VideoWriter, load_audio
from evp_studio.pipeline.constants import SAMPLE_RATE
from evp_studio.pipeline.landmarks import ProjectLandmarks, predict_project_landmarks
from evp_studio.project import Project
from evp_studio.project.model import EmotionSource
from evp_studio.render.neural import NeuralRenderer
from evp_studio.render.warp import WarpRenderer

__all__ = ["RenderResult", "project_landmarks", "render_project"]

log = logging.getLogger(__name__)

AUDIO_RATE = 48_000  # the muxed speech track


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render_project` wrote."""

    output: Path
    frames: int  # video frames written
    first_frame: int  # first output frame of the range
    renderer: str
    seconds: float  # wall time of the whole job
    warnings: tuple[str, ...] = ()

    @property
    def fps(self) -> float:
        """Frames written per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def _shifted(audio: np.ndarray, offset_frames: int, fps: float, rate: int) -> np.ndarray:
    """Place the speech on the target's timeline (pad or trim its start)."""
    shift = round(offset_frames / fps * rate)
    if shift >= 0:
        return np.concatenate([np.zeros(shift, dtype=np.float32), audio])
    return audio[-shift:]


def _frame_range(n: int, frame_range: tuple[int | None, int | None] | None) -> tuple[int, int]:
    start, stop = frame_range if frame_range is not None else (None, None)
    a = 0 if start is None else start
    b = n if stop is None else min(stop, n)
    if not 0 <= a < b:
        raise InvalidInputError(
            f"frame range {start}:{stop} is empty or outside the {n} output frames"
        )
    return a, b


def _resize(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _output_size(project: Project, width: int, height: int) -> tuple[int, int] | None:
    w, h = project.render.width, project.render.height
    if w is None and h is None:
        return None
    if w is None:
        w = round(width * h / height)  # type: ignore[operator]
    if h is None:
        h = round(height * w / width)
    return int(w) // 2 * 2, int(h) // 2 * 2  # H.264 4:2:0 needs even sizes


def project_landmarks(
    project: Project,
    target: LandmarkTrack,
    fps: float,
    *,
    speech: np.ndarray | None = None,
    predictor_path: str | Path | None = None,
    cancel: CancelToken | None = None,
) -> Job[ProjectLandmarks]:
    """Predict and place the project's landmarks on its target (a Job).

    Parameters
    ----------
    project
        With a speech track; its emotion source, keyframes, reference clip and speech
        offset are used.
    target
        The target's tracked landmarks.
    fps
        The target's frame rate (for the speech offset).
    speech
        The speech at 16 kHz when already loaded; None loads it.
    predictor_path
        Audio-to-landmark model file; None uses the bundled default.
    cancel
        Checked at every stage.

    Returns
    -------
    Job[ProjectLandmarks]

    Raises
    ------
    InvalidInputError
        When the project has no speech track or its audio is unusable.
    """
    from evp_studio.models.audio2landmark_io import LandmarkPredictor  # noqa: PLC0415

    if project.speech is None:
        raise InvalidInputError(f"project {project.name!r} has no speech track")
    if speech is None:
        speech = load_audio(project.speech.media.resolve(), sample_rate=SAMPLE_RATE)
    predictor = LandmarkPredictor.load(predictor_path)
    reference = None
    if project.emotion_source == EmotionSource.REFERENCE and project.reference is not None:
        reference = load_audio(project.reference.media.resolve(), sample_rate=SAMPLE_RATE)
    return (
        yield from predict_project_landmarks(
            _shifted(speech, project.speech.offset_frames, fps, SAMPLE_RATE),
            target,
            predictor,
            source=project.emotion_source,
            track=project.emotion,
            reference_audio=reference,
            cancel=cancel,
        )
    )


def render_project(
    project: Project,
    output: str | Path,
    *,
    renderer: str | None = None,
    frame_range: tuple[int | None, int | None] | None = None,
    export: ExportConfig | None = None,
    tracker: TrackerSettings | None = None,
    predictor_path: str | Path | None = None,
    neural_checkpoint: str | Path | None = None,
    device: str = "cpu",
    cancel: CancelToken | None = None,
    overlay: Callable[[int, np.ndarray], np.ndarray] | None = None,
    placed: ProjectLandmarks | None = None,
) -> Job[RenderResult]:
    """Render ``project`` to ``output`` (a Job yielding Progress).

    Parameters
    ----------
    project
        With a target video and a speech track (absolute media paths, as loaded).
    output
        The video file; written atomically (nothing is left on failure or cancel).
    renderer
        ``"warp"`` or ``"neural"``; None uses the project's render setting.
    frame_range
        Half-open ``(start, stop)`` of output frames; None entries mean the ends. Default:
        the project's in/out points.
    export
        Encoding; default H.264 with the project's CRF and preset (mp4) or ProRes (mov).
    tracker
        Landmark detection settings (default: dlib).
    predictor_path
        Audio-to-landmark model file; None uses the bundled default.
    neural_checkpoint
        The renderer trained on this target (``evp-studio train renderer``), for
        ``renderer="neural"``; one trained on another video renders with a warning.
    device
        Torch device of the neural renderer.
    cancel
        Checked at every stage and frame.
    overlay
        Burned-in overlay: called as ``overlay(output_frame_index, frame)`` with each
        rendered ``(H, W, 3)`` uint8 frame at the target's size, before any resize, and
        returns the frame to encode (e.g. landmarks or timecode drawn on it).
    placed
        The project's predicted and placed landmarks when the caller made them already
        (:func:`project_landmarks` of this project and target); None predicts them here.

    Returns
    -------
    Job[RenderResult]

    Raises
    ------
    InvalidInputError
        When the project has no target or speech, or the range is empty.
    EvpError
        For the neural renderer without a checkpoint.
    ExportError
        When the output cannot be written (nothing half-written is left).
    """
    started = time.perf_counter()
    output = Path(output)
    if project.target is None or project.speech is None:
        raise InvalidInputError(
            f"project {project.name!r} needs a target video and a speech track to render"
        )
    name = renderer or project.render.renderer
    if name == "neural" and neural_checkpoint is None:
        raise EvpError(
            f"project {project.name!r}: the neural renderer needs a renderer trained on this "
            "target: `evp-studio train renderer --video TARGET --out RUN`, then "
            "--neural-checkpoint RUN/checkpoint.pt (or use --renderer warp)"
        )
    if name not in ("warp", "neural"):
        raise InvalidInputError(f"renderer {name!r} is not 'warp' or 'neural'")
    video = project.target.media.resolve()
    speech_path = project.speech.media.resolve()
    speech = load_audio(speech_path, sample_rate=SAMPLE_RATE)  # bad speech fails early

    warnings: list[str] = []
    target = yield from track_landmarks(video, settings=tracker or TrackerSettings(), cancel=cancel)
    with VideoReader(video) as reader:
        fps = float(reader.info.frame_rate)
        offset = project.speech.offset_frames
        if placed is None:
            placed = yield from project_landmarks(
                project, target, fps, speech=speech, predictor_path=predictor_path, cancel=cancel
            )
        elif int(placed.target_index.max(initial=0)) >= reader.frame_count:
            raise InvalidInputError(
                f"the landmarks given for {project.name!r} refer to target frame "
                f"{int(placed.target_index.max())}, but {video} has {reader.frame_count} frames"
            )
        warnings += placed.warnings
        default_range = (project.render.in_frame, project.render.out_frame)
        a, b = _frame_range(placed.landmarks.shape[0], frame_range or default_range)

        t0 = float(placed.times_s[a])
        t1 = float(placed.times_s[b - 1]) + 1.0 / fps
        audio = _shifted(load_audio(speech_path, sample_rate=AUDIO_RATE), offset, fps, AUDIO_RATE)
        audio = audio[round(t0 * AUDIO_RATE) : round(t1 * AUDIO_RATE)]
        size = _output_size(project, reader.info.width, reader.info.height)
        width, height = size or (reader.info.width, reader.info.height)
        config = export or ExportConfig(crf=project.render.crf, preset=project.render.preset)
        if name == "warp":
            yield Progress("Building the mouth bank", 0, 0)
            frames = _warped(WarpRenderer(reader, target.landmarks), reader, target, placed, a, b)
        else:
            assert neural_checkpoint is not None
            neural = NeuralRenderer.load(
                neural_checkpoint, video_hash=project.target.media.content_hash, device=device
            )
            warnings += neural.warnings
            frames = _neural(neural, reader, placed, a, b)
        with VideoWriter(
            output,
            width=width,
            height=height,
            frame_rate=Fraction(reader.info.frame_rate),
            config=config,
            audio=audio if audio.size else None,
            audio_rate=AUDIO_RATE,
        ) as writer:
            for i, frame in enumerate(frames, start=1):
                if cancel is not None:
                    cancel.check()
                if overlay is not None:
                    frame = overlay(a + i - 1, frame)
                writer.write(_resize(frame, size))
                yield Progress("Rendering", i, b - a)
    seconds = time.perf_counter() - started
    log.info("rendered %d frames to %s in %.1f s", b - a, output, seconds)
    return RenderResult(output, b - a, a, name, seconds, tuple(warnings))


def _warped(
    warp: WarpRenderer,
    reader: VideoReader,
    target: LandmarkTrack,
    placed: ProjectLandmarks,
    a: int,
    b: int,
) -> Iterator[np.ndarray]:
    for i in range(a, b):
        j = int(placed.target_index[i])
        yield warp.render(reader.read(j), target.landmarks[j], placed.landmarks[i])


def _neural(
    neural: NeuralRenderer, reader: VideoReader, placed: ProjectLandmarks, a: int, b: int
) -> Iterator[np.ndarray]:
    """Stream the neural renderer: guidance of the new landmarks in its face crop."""
    from evp_studio.train._renderer_data import default_guidance  # noqa: PLC0415

    guide = default_guidance(neural.size)
    pending: deque[np.ndarray] = deque()

    def frames() -> Iterator[np.ndarray]:
        for i in range(a, b):
            frame = reader.read(int(placed.target_index[i]))
            pending.append(
                guide.make(neural.crop_frame(frame), neural.crop_landmarks(placed.landmarks[i]))
            )
            yield frame

    def guidance() -> Iterator[np.ndarray]:
        while pending:
            yield pending.popleft()

    yield from neural.stream(frames(), guidance())
