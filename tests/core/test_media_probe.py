"""probe(): stream facts from real files, and clear errors for files that are not media."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import MediaError, NoAudioStreamError, NoVideoStreamError
from evp_studio.media import VideoReader, load_audio, probe
from tests.core.media_fixtures import (
    decode_index,
    index_frame,
    write_empty_wav,
    write_test_video,
    write_tone,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "clip.mp4"
    write_test_video(path, n_frames=45, rate=Fraction(30000, 1001), with_tone=440.0, gop=12)
    return path


def test_probe_h264_mp4(clip: Path) -> None:
    info = probe(clip)
    video = info.video
    assert video is not None
    assert (video.codec, video.width, video.height) == ("h264", 64, 48)
    assert video.frame_rate == Fraction(30000, 1001)
    assert video.frame_count == 45
    assert video.duration_s == pytest.approx(45 * 1001 / 30000, abs=1e-9)
    assert not video.vfr
    assert video.rotation == 0 and video.display_size == (64, 48)
    assert video.pixel_format == "yuv420p"
    assert info.has_audio and info.audio[0].codec == "aac"
    assert info.audio[0].sample_rate == 48000 and info.audio[0].channels == 1
    assert info.size_bytes == clip.stat().st_size


def test_to_dict_is_json_with_exact_rate(clip: Path) -> None:
    data = json.loads(json.dumps(probe(clip).to_dict()))
    assert data["video"]["frame_rate"] == "30000/1001"
    assert data["video"]["fps"] == pytest.approx(29.97, abs=1e-3)
    assert data["path"] == str(clip) and data["has_audio"] is True


def test_probe_vfr(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mkv"
    times = write_test_video(path, n_frames=30, vfr=True, gop=8)
    video = probe(path).video
    assert video is not None and video.vfr
    assert video.frame_count == 30
    # the average rate over the clip (the last frame lasts the nominal 1/25 s)
    assert float(video.frame_rate) == pytest.approx(30 / float(times[-1] + Fraction(1, 25)))


def test_cfr_in_millisecond_time_base_is_not_vfr(tmp_path: Path) -> None:
    path = tmp_path / "ms.mkv"  # Matroska stores 30000/1001 as 33/34 ms steps
    write_test_video(path, n_frames=30, rate=Fraction(30000, 1001))
    video = probe(path).video
    assert video is not None and not video.vfr
    assert video.frame_rate == Fraction(30000, 1001)


def test_rotation_from_display_matrix(tmp_path: Path) -> None:
    path = tmp_path / "portrait.mp4"
    write_test_video(path, n_frames=6, size=(64, 32), rotation=90)
    video = probe(path).video
    assert video is not None
    assert video.rotation == 90 and video.display_size == (32, 64)
    with VideoReader(path) as reader:
        frame = reader.read(3)
    expected = np.rot90(index_frame(3, 64, 32), k=-1)  # clockwise
    assert frame.shape == (64, 32, 3)
    assert np.abs(frame.astype(int) - expected).mean() < 3


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_tone(path, freq=440, seconds=0.5)
    info = probe(path)
    assert info.video is None and info.has_audio
    assert info.audio[0].duration_s == pytest.approx(0.5)
    with pytest.raises(NoVideoStreamError, match="tone.wav"):
        VideoReader(path)


def _bad_file(kind: str, folder: Path, clip: Path) -> Path:
    path = folder / f"{kind}.mp4"
    if kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text("this is a shopping list, not a video\n" * 20)
    elif kind == "truncated":
        data = clip.read_bytes()  # the index (moov) is at the end: cut off
        path.write_bytes(data[: int(len(data) * 0.6)])
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("missing", "does not exist"),
        ("empty", "empty"),
        ("text", "truncated or not a media file"),
        ("truncated", "truncated or not a media file"),
    ],
)
def test_bad_input_names_file_and_problem(
    kind: str, problem: str, clip: Path, tmp_path: Path
) -> None:
    path = _bad_file(kind, tmp_path, clip)
    for opener in (probe, VideoReader, load_audio):
        with pytest.raises(MediaError, match=problem) as caught:
            opener(path)
        assert caught.value.path == path
        assert str(path) in str(caught.value)


def test_truncated_file_with_index_first_reports_what_is_readable(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    write_test_video(whole, n_frames=100, size=(128, 96), gop=10, faststart=True)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    video = probe(cut).video
    assert video is not None and 10 < video.frame_count < 100
    with VideoReader(cut) as reader:
        last = reader.frame_count - 1
        assert decode_index(reader.read(last)) == last
        assert decode_index(reader.read(3)) == 3


def test_av_error_is_chained(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not media")
    with pytest.raises(MediaError) as caught:
        probe(path)
    assert caught.value.__cause__ is not None


def test_video_without_audio_to_load_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    write_test_video(path, n_frames=5)
    with pytest.raises(NoAudioStreamError, match="silent.mp4: file has no audio stream"):
        load_audio(path)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    write_empty_wav(path)
    with pytest.raises(MediaError, match="nothing.wav: audio stream has no samples"):
        load_audio(path)
