"""Thumbnails: right frames, evenly spaced, right size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import InvalidInputError
from evp_studio.media import iter_thumbnails
from evp_studio.media.thumbnails import thumbnail_indices
from tests.core.media_fixtures import decode_index, write_test_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("thumbs") / "clip.mp4"
    write_test_video(path, n_frames=50, size=(128, 96), gop=10)
    return path


def test_count_gives_evenly_spaced_frames(clip: Path) -> None:
    thumbs = list(iter_thumbnails(clip, count=8, height=48))
    indices = [i for i, _ in thumbs]
    assert indices == [0, 7, 14, 21, 28, 35, 42, 49]
    for index, image in thumbs:
        assert image.shape == (48, 64, 3) and image.dtype == np.uint8
        assert decode_index(image) == index


def test_every_n(clip: Path) -> None:
    indices = [i for i, _ in iter_thumbnails(clip, every_n=12, height=24)]
    assert indices == [0, 12, 24, 36, 48]


def test_indices_rules() -> None:
    assert thumbnail_indices(5, every_n=None, count=20).tolist() == [0, 1, 2, 3, 4]
    assert thumbnail_indices(3, every_n=None, count=None).tolist() == [0, 1, 2]
    with pytest.raises(InvalidInputError, match="not both"):
        thumbnail_indices(10, every_n=2, count=3)
    with pytest.raises(InvalidInputError, match="positive"):
        thumbnail_indices(10, every_n=0, count=None)
