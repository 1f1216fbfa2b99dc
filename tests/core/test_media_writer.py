"""VideoWriter: exact round trips through H.264 and ProRes, atomic files, clear errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.media import ExportConfig, VideoReader, VideoWriter, load_audio, probe
from tests.core.media_fixtures import decode_index, index_frame, rms_db, tone_peak_hz

W, H = 128, 96
TONE_HZ, AMPLITUDE = 440.0, 0.5


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def _export(path: Path, n: int, rate: Fraction, config: ExportConfig, audio_rate: int) -> None:
    audio = _tone(float(n / rate), audio_rate)
    with VideoWriter(
        path, width=W, height=H, frame_rate=rate, config=config, audio=audio, audio_rate=audio_rate
    ) as writer:
        for i in range(n):
            writer.write(index_frame(i, W, H))


@pytest.mark.parametrize(
    "rate", [Fraction(30000, 1001), Fraction(25), Fraction(60)], ids=["29.97", "25", "60"]
)
def test_h264_round_trip(tmp_path: Path, rate: Fraction) -> None:
    path = tmp_path / "out.mp4"
    _export(path, 30, rate, ExportConfig(crf=18, preset="veryfast"), audio_rate=44100)
    with VideoReader(path) as reader:
        assert reader.info.frame_rate == rate and reader.frame_count == 30
        assert np.array_equal(reader.timestamps, [float(i / rate) for i in range(30)])
        errors = []
        for i, frame in enumerate(reader.iter_frames()):
            assert decode_index(frame) == i
            errors.append(np.abs(frame.astype(np.int16) - index_frame(i, W, H)).mean())
    assert max(errors) < 3
    audio = load_audio(path, sample_rate=16000)
    assert abs(tone_peak_hz(audio, 16000) - TONE_HZ) < 2
    assert abs(rms_db(audio[1600:-1600]) - rms_db(_tone(1.0, 16000))) < 1
    assert probe(path).audio[0].codec == "aac"


def test_ten_seconds_at_ntsc_rate_do_not_drift(tmp_path: Path) -> None:
    rate = Fraction(30000, 1001)
    path = tmp_path / "long.mp4"
    n = 300  # 10.01 s
    audio = _tone(float(n / rate), 48000)
    with VideoWriter(
        path,
        width=64,
        height=48,
        frame_rate=rate,
        audio=audio,
        audio_rate=48000,
        config=ExportConfig(preset="ultrafast"),
    ) as writer:
        for i in range(n):
            writer.write(index_frame(i, 64, 48))
    info = probe(path)
    assert info.video is not None
    assert info.video.frame_count == n
    assert info.video.duration_s == pytest.approx(float(n / rate), abs=1e-9)
    audio_s = load_audio(path, sample_rate=48000).shape[0] / 48000
    assert abs(audio_s - info.video.duration_s) < float(1 / rate)
    assert abs(info.audio[0].duration_s - info.video.duration_s) < float(1 / rate)


def test_prores_mov_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "master.mov"
    config = ExportConfig(container="mov", video_codec="prores")
    _export(path, 8, Fraction(24000, 1001), config, audio_rate=48000)
    info = probe(path)
    assert info.video is not None
    assert info.video.codec == "prores" and info.video.pixel_format == "yuv422p10le"
    assert info.video.frame_rate == Fraction(24000, 1001) and info.video.frame_count == 8
    assert info.audio[0].codec == "pcm_s16le"
    with VideoReader(path) as reader:
        frame = reader.read(5)
    assert np.abs(frame.astype(np.int16) - index_frame(5, W, H)).mean() < 2
    assert abs(tone_peak_hz(load_audio(path), 16000) - TONE_HZ) < 2


def test_exception_in_with_block_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with (
        pytest.raises(RuntimeError, match="boom"),
        VideoWriter(path, width=64, height=48, frame_rate=Fraction(25)) as writer,
    ):
        writer.write(index_frame(0, 64, 48))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_abort_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous export")
    writer = VideoWriter(path, width=64, height=48, frame_rate=Fraction(25))
    writer.write(index_frame(0, 64, 48))
    assert (tmp_path / ".out.partial.mp4").exists()
    writer.abort()
    assert path.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_unwritable_destination_raises_export_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    path = blocker / "out.mp4"
    with pytest.raises(ExportError, match="not_a_folder/out.mp4") as caught:
        VideoWriter(path, width=64, height=48, frame_rate=Fraction(25))
    assert caught.value.path == path
    assert caught.value.__cause__ is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_close_without_frames_is_an_export_error(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "empty.mp4", width=64, height=48, frame_rate=Fraction(25))
    with pytest.raises(ExportError, match="no video frames"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("width", "height"), [(63, 48), (64, 47), (0, 48)])
def test_odd_size_is_rejected(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(InvalidInputError, match=f"{width}x{height}"):
        VideoWriter(tmp_path / "odd.mp4", width=width, height=height, frame_rate=Fraction(25))
    assert list(tmp_path.iterdir()) == []


def test_wrong_frame_shape_is_rejected(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "o.mp4", width=64, height=48, frame_rate=Fraction(25)) as writer:
        with pytest.raises(InvalidInputError, match=r"\(48, 64, 3\) uint8"):
            writer.write(np.zeros((48, 64, 3), np.float32))
        writer.write(index_frame(0, 64, 48))


def test_audio_without_rate_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="audio_rate"):
        VideoWriter(
            tmp_path / "o.mp4",
            width=64,
            height=48,
            frame_rate=Fraction(25),
            audio=np.zeros(100, np.float32),
        )


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"container": "avi"}, "'avi'"),
        ({"video_codec": "vp9"}, "'vp9'"),
        ({"container": "mp4", "video_codec": "prores"}, "'mp4'"),
        ({"crf": 52}, "52"),
        ({"crf": -1}, "-1"),
        ({"preset": "warp"}, "'warp'"),
        ({"prores_profile": 9}, "9"),
        ({"audio_sample_rate": 4000}, "4000"),
    ],
)
def test_export_config_validation(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        ExportConfig(**kwargs)  # type: ignore[arg-type]


def test_export_config_accepts_h264_in_mov() -> None:
    assert ExportConfig(container="mov").pixel_format == "yuv420p"


def test_saturated_colours_survive_the_round_trip(tmp_path: Path) -> None:
    # 16x16 blocks of saturated colours: catches a BT.601/709 or range mix-up (error ~ 4+)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]])
    blocks = colours[np.arange(48)[:, None] % 5].reshape(6, 8, 3)  # (6, 8) blocks
    frame = np.repeat(np.repeat(blocks, 16, axis=0), 16, axis=1).astype(np.uint8)  # (96, 128, 3)
    path = tmp_path / "colour.mp4"
    with VideoWriter(path, width=W, height=H, frame_rate=Fraction(25)) as writer:
        writer.write(frame)
    with VideoReader(path) as reader:
        decoded = reader.read(0).astype(np.int16)
    interior = np.s_[4:-4, 4:-4]  # 4:2:0 chroma bleeds across block edges
    for by in range(6):
        for bx in range(8):
            block = np.s_[by * 16 : (by + 1) * 16, bx * 16 : (bx + 1) * 16]
            err = np.abs(decoded[block][interior] - frame[block][interior]).mean()
            assert err < 3, f"block {by},{bx}: {err}"


@pytest.mark.parametrize("suffix", [".m4a", ".wav", ".flac"])
def test_write_audio_round_trip(tmp_path: Path, suffix: str) -> None:
    from evp_studio.media import load_audio, probe, write_audio

    rate = 22050
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = write_audio(tmp_path / f"tone{suffix}", tone, rate)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    info = probe(out)
    assert info.video is None and len(info.audio) == 1
    back = load_audio(out, sample_rate=16000)
    assert abs(len(back) - 16000) <= 160
    spectrum = np.abs(np.fft.rfft(back[2000:14000]))
    assert abs(np.argmax(spectrum) * 16000 / 12000 - 440) < 2


def test_write_audio_refuses_unknown_extension_and_empty_audio(tmp_path: Path) -> None:
    from evp_studio.media import write_audio

    with pytest.raises(InvalidInputError, match=r"\.ogg"):
        write_audio(tmp_path / "a.ogg", np.zeros(100, np.float32), 16000)
    with pytest.raises(InvalidInputError, match=r"a\.wav: audio must be .* N > 0"):
        write_audio(tmp_path / "a.wav", np.zeros(0, np.float32), 16000)
    assert list(tmp_path.iterdir()) == []
