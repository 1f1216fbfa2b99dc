"""Preview layers: each layer's pixels, the cache, invalidation and the compare helpers."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import InvalidInputError
from evp_studio.media import VideoReader
from evp_studio.pipeline.landmarks import ProjectLandmarks
from evp_studio.pipeline.preview import (
    LAYERS,
    CompareMode,
    LayerChoice,
    PreviewSession,
    blend,
    side_by_side,
    wipe,
)
from evp_studio.render.guidance import face_region_mask
from evp_studio.render.warp import WarpRenderer
from tests.core.renderer_clips import write_face_clip

N = 12


@dataclasses.dataclass(frozen=True)
class Track:
    landmarks: np.ndarray
    lost: np.ndarray


def placed_from(points: np.ndarray) -> ProjectLandmarks:
    n = len(points)
    return ProjectLandmarks(
        canonical=np.zeros((n, 68, 2), np.float32),
        landmarks=points.astype(np.float32),
        times_s=np.arange(n) / 25.0,
        target_index=np.arange(n),
        silence=np.zeros(n, np.float32),
        emotion_codes=np.zeros((n, 4), np.float32),
        speech_frames=n,
    )


def moved_mouth(points: np.ndarray) -> np.ndarray:
    out = points.copy()
    out[:, 57:60, 1] += 6.0  # open the mouth
    out[:, 65:68, 1] += 6.0
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    return write_face_clip(tmp_path_factory.mktemp("preview") / "face.mp4", n_frames=N)


@pytest.fixture
def session(clip: tuple[Path, np.ndarray]) -> PreviewSession:
    path, lm = clip
    reader = VideoReader(path)
    renderer = WarpRenderer(reader, lm)
    s = PreviewSession(reader, Track(lm, np.zeros(N, bool)), placed_from(moved_mouth(lm)), renderer)
    yield s
    reader.close()


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 0


def test_every_layer_has_the_frame_shape_and_differs(session: PreviewSession) -> None:
    got = session.layers(3, LAYERS)
    assert set(got) == set(LAYERS)
    for img in got.values():
        assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    for a in LAYERS:
        for b in LAYERS:
            if a < b:
                assert changed(got[a], got[b]).any(), (a, b)


def test_landmark_layers_draw_near_their_points(
    session: PreviewSession, clip: tuple[Path, np.ndarray]
) -> None:
    _, lm = clip
    got = session.layers(5, {"source", "detected", "predicted"})
    for name, pts in (("detected", lm[5]), ("predicted", moved_mouth(lm)[5])):
        ys, xs = np.nonzero(changed(got[name], got["source"]))
        assert len(xs) > 100
        dist = np.hypot(xs[:, None] - pts[None, :, 0], ys[:, None] - pts[None, :, 1]).min(axis=1)
        assert np.median(dist) < 2.5 and dist.max() < 8.0, name  # lines between neighbours
    colours = {n: np.unique(got[n][changed(got[n], got["source"])], axis=0) for n in got}
    assert len(colours["source"]) == 0
    assert not np.array_equal(colours["detected"], colours["predicted"])


def test_guidance_is_black_with_white_edges(session: PreviewSession) -> None:
    g = session.layers(2, {"guidance"})["guidance"]
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 0] == g[..., 2]).all()
    lit = g[..., 0] > 0
    assert 0.005 < lit.mean() < 0.2
    assert g[..., 0].max() == 255


def test_rendered_equals_source_when_predicted_is_detected(
    clip: tuple[Path, np.ndarray],
) -> None:
    path, lm = clip
    with VideoReader(path) as reader:
        s = PreviewSession(
            reader, Track(lm, np.zeros(N, bool)), placed_from(lm), WarpRenderer(reader, lm)
        )
        got = s.layers(4, {"source", "rendered"})
    diff = np.abs(got["rendered"].astype(int) - got["source"].astype(int))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 8


def test_rendered_moves_the_mouth(session: PreviewSession, clip: tuple[Path, np.ndarray]) -> None:
    _, lm = clip
    got = session.layers(4, {"source", "rendered"})
    diff = changed(got["rendered"], got["source"])
    assert diff.any()
    ys, xs = np.nonzero(diff)
    mouth = lm[4, 48:68].mean(axis=0)
    assert np.hypot(xs - mouth[0], ys - mouth[1]).max() < 30  # the rest stays put
    assert face_region_mask(lm[4], (128, 128))[ys, xs].mean() > 0.9


def test_cache_hit_returns_the_same_array_fast(session: PreviewSession) -> None:
    first = session.layers(7, {"rendered"})["rendered"]
    assert session.cache_nbytes > 0
    t0 = time.perf_counter()
    again = session.layers(7, {"rendered"})["rendered"]
    assert time.perf_counter() - t0 < 0.005
    assert again is first and not first.flags.writeable


def test_cache_is_bounded_in_bytes(clip: tuple[Path, np.ndarray]) -> None:
    path, lm = clip
    one = 128 * 128 * 3
    with VideoReader(path) as reader:
        s = PreviewSession(reader, Track(lm, np.zeros(N, bool)), cache_bytes=3 * one)
        for i in range(N):
            s.layers(i, {"source"})
        assert s.cache_nbytes == 3 * one
        first = s.layers(N - 1, {"source"})["source"]
        assert s.layers(N - 1, {"source"})["source"] is first  # the newest stayed


def test_invalidate_drops_only_the_given_frames_and_layers(session: PreviewSession) -> None:
    before = {i: session.layers(i, {"source", "rendered"}) for i in range(4)}
    assert session.invalidate(range(1, 3), layers={"rendered"}) == 2
    for i in range(4):
        now = session.layers(i, {"source", "rendered"})
        assert now["source"] is before[i]["source"]
        assert (now["rendered"] is before[i]["rendered"]) == (i not in (1, 2))
    session.invalidate()
    assert session.cache_nbytes == 0


def test_update_predictions_rerenders_only_changed_frames(
    session: PreviewSession, clip: tuple[Path, np.ndarray]
) -> None:
    _, lm = clip
    before = {i: session.layers(i, {"source", "rendered"}) for i in range(N)}
    new = moved_mouth(lm)
    new[6:8, 48:68, 1] += 3.0
    assert session.update_predictions(placed_from(new)).tolist() == [6, 7]
    for i in range(N):
        now = session.layers(i, {"source", "rendered"})
        assert now["source"] is before[i]["source"]
        assert (now["rendered"] is before[i]["rendered"]) == (i not in (6, 7))


def test_unavailable_layers_and_frames_are_refused(clip: tuple[Path, np.ndarray]) -> None:
    path, lm = clip
    with VideoReader(path) as reader:
        s = PreviewSession(reader, Track(lm, np.zeros(N, bool)))
        assert s.available == {"source", "detected", "guidance"}
        assert s.layers(0, {"guidance"})["guidance"].shape == (128, 128, 3)
        with pytest.raises(InvalidInputError, match="rendered"):
            s.layers(0, {"rendered"})
        with pytest.raises(InvalidInputError, match="outside"):
            s.layers(N, {"source"})
        with pytest.raises(InvalidInputError, match="fit"):
            PreviewSession(reader, Track(lm[:3], np.zeros(3, bool)))


def test_compose_follows_the_choice(session: PreviewSession) -> None:
    got = session.layers(1, {"source", "rendered"})
    single = session.compose(1, LayerChoice("rendered"))
    assert single is got["rendered"]
    sbs = session.compose(1, LayerChoice("source", "rendered", CompareMode.SIDE_BY_SIDE))
    assert np.array_equal(sbs, side_by_side(got["source"], got["rendered"]))
    mix = session.compose(1, LayerChoice("source", "rendered", CompareMode.BLEND, 0.25))
    assert np.array_equal(mix, blend(got["source"], got["rendered"], 0.25))
    cut = session.compose(1, LayerChoice("source", "rendered", CompareMode.WIPE, 0.5))
    assert (cut[:, 64] == 255).all()
    assert np.array_equal(cut[:, :64], got["source"][:, :64])
    with pytest.raises(InvalidInputError):
        LayerChoice("edges")


def test_compare_helpers_are_exact() -> None:
    a = np.zeros((2, 4, 3), np.uint8)
    b = np.full((2, 4, 3), 200, np.uint8)
    assert side_by_side(a, b).shape == (2, 8, 3)
    assert (side_by_side(a, b)[:, :4] == 0).all() and (side_by_side(a, b)[:, 4:] == 200).all()
    w = wipe(a, b, 0.25)
    assert (w[:, :1] == 0).all() and (w[:, 1:] == 200).all()
    assert np.array_equal(wipe(a, b, 0.0), b) and np.array_equal(wipe(a, b, 1.0), a)
    assert np.array_equal(blend(a, b, 0.0), a) and np.array_equal(blend(a, b, 1.0), b)
    assert (blend(a, b, 0.5) == 100).all() and (blend(a, b, 0.25) == 50).all()
    with pytest.raises(InvalidInputError):
        blend(a, b[:, :3], 0.5)
    with pytest.raises(InvalidInputError):
        wipe(a, b, 1.5)
