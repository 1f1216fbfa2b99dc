"""VideoReader: frame-accurate random access equals sequential decode, caches in bytes."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import Cancelled, InvalidInputError
from evp_studio.jobs import CancelToken
from evp_studio.media import VideoReader
from tests.core.media_fixtures import decode_index, write_test_video

NTSC = Fraction(30000, 1001)
RATES = [NTSC, Fraction(25), Fraction(60)]
# mp4 at each rate; Matroska (1 ms timestamps) and MPEG-TS (seeks land late) at 29.97
CLIPS = [
    (NTSC, ".mp4"),
    (Fraction(25), ".mp4"),
    (Fraction(60), ".mp4"),
    (NTSC, ".mkv"),
    (NTSC, ".ts"),
]
N_FRAMES = 60


@pytest.fixture(scope="module", params=CLIPS, ids=["29.97", "25", "60", "29.97-mkv", "29.97-ts"])
def short_gop_clip(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    rate, suffix = request.param
    path = tmp_path_factory.mktemp("video") / f"clip_{rate.numerator}_{rate.denominator}{suffix}"
    write_test_video(path, n_frames=N_FRAMES, rate=rate, gop=12)
    return path


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Fraction]]:
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    return path, write_test_video(path, n_frames=40, vfr=True, gop=10)


def test_sequential_decode_gives_every_frame_in_order(short_gop_clip: Path) -> None:
    with VideoReader(short_gop_clip) as reader:
        indices = [decode_index(frame) for frame in reader.iter_frames()]
    assert indices == list(range(N_FRAMES))


def test_timestamps_are_exact_multiples_of_the_period(short_gop_clip: Path) -> None:
    with VideoReader(short_gop_clip) as reader:
        rate = reader.info.frame_rate
        expected = np.array([float(i / rate) for i in range(N_FRAMES)])
        assert reader.info.frame_rate in RATES
        if short_gop_clip.suffix == ".mkv":  # Matroska stores whole milliseconds
            np.testing.assert_allclose(reader.timestamps, expected, rtol=0, atol=1e-3)
        else:
            assert np.array_equal(reader.timestamps, expected)
        assert reader.index_at_time(reader.timestamps[17]) == 17
        assert reader.index_at_time(reader.timestamps[17] - 1e-4) == 16
        assert reader.index_at_time(-1.0) == 0 and reader.index_at_time(1e6) == N_FRAMES - 1


@pytest.mark.parametrize("order", ["forward", "shuffled", "backward"])
def test_random_access_equals_sequential(short_gop_clip: Path, order: str) -> None:
    with VideoReader(short_gop_clip) as reader:
        sequential = list(reader.iter_frames())
    targets = list(range(0, N_FRAMES, 7))
    if order == "shuffled":
        random.Random(1).shuffle(targets)
    elif order == "backward":
        targets.reverse()
    with VideoReader(short_gop_clip, cache_bytes=0) as reader:
        for i in targets:
            assert np.array_equal(reader.read(i), sequential[i]), f"frame {i}"
        if order != "forward":
            assert reader.seek_count >= len(targets) // 2  # the reads really seek


def test_scrubbing_forward_does_not_seek(short_gop_clip: Path) -> None:
    with VideoReader(short_gop_clip, cache_bytes=0) as reader:
        reader.read(20)
        seeks = reader.seek_count
        for i in range(21, 50):
            assert decode_index(reader.read(i)) == i
        assert reader.seek_count == seeks


def test_frames_decoded_on_the_way_serve_backward_scrub(short_gop_clip: Path) -> None:
    with VideoReader(short_gop_clip) as reader:
        reader.read(23)  # seeks to the keyframe at 12, passes 12..22
        seeks = reader.seek_count
        for i in range(22, 11, -1):
            assert decode_index(reader.read(i)) == i
        assert reader.seek_count == seeks


def test_cache_limit_is_in_bytes(short_gop_clip: Path) -> None:
    frame_bytes = 64 * 48 * 3
    limit = 5 * frame_bytes + 100
    with VideoReader(short_gop_clip, cache_bytes=limit) as reader:
        for i in random.Random(2).sample(range(N_FRAMES), 40):
            reader.read(i)
            assert 0 < reader.cache_nbytes <= limit
        assert not reader.read(3).flags.writeable  # shared with the cache


def test_vfr_timestamps_and_random_access(vfr_clip: tuple[Path, list[Fraction]]) -> None:
    path, times = vfr_clip
    with VideoReader(path, cache_bytes=0) as reader:
        assert reader.info.vfr
        assert np.array_equal(reader.timestamps, [float(t) for t in times])
        for i in [39, 0, 17, 5, 33, 34, 10]:
            assert decode_index(reader.read(i)) == i
            assert reader.index_at_time(float(times[i])) == i


def test_iter_frames_range_and_cancel(short_gop_clip: Path) -> None:
    token = CancelToken()
    with VideoReader(short_gop_clip) as reader:
        assert [decode_index(f) for f in reader.iter_frames(30, 34)] == [30, 31, 32, 33]
        frames = reader.iter_frames(cancel=token)
        next(frames)
        token.cancel()
        with pytest.raises(Cancelled):
            next(frames)
        with pytest.raises(InvalidInputError, match="outside"):
            list(reader.iter_frames(5, N_FRAMES + 1))
        with pytest.raises(IndexError, match=str(N_FRAMES)):
            reader.read(N_FRAMES)
