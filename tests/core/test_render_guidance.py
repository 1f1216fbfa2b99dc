"""Guidance maps: sketch, face region, background edges, distance maps, face crop, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from skimage import feature

from evp_studio.errors import InvalidInputError
from evp_studio.landmarks import MEAN_FACE_2D, DlibBackend, detect_landmarks
from evp_studio.render import (
    N_DISTANCE_MAPS,
    PART_NAMES,
    PARTS,
    GuidanceConfig,
    background_edges,
    distance_maps,
    draw_sketch,
    face_crop_box,
    face_polygon,
    face_region_mask,
    guidance_map,
    n_channels,
)

SIZE = 128


def _face(size: int = SIZE, lo: float = 0.25, hi: float = 0.75) -> np.ndarray:
    """``(68, 2)`` px: the mean face scaled into ``[lo, hi]`` of a square frame."""
    m = MEAN_FACE_2D
    unit = (m - m.min(axis=0)) / np.ptp(m, axis=0)
    return (lo + (hi - lo) * unit) * size


def _checker_frame(size: int = SIZE, cell: int = 8) -> np.ndarray:
    """``(size, size, 3)`` uint8 checkerboard: strong edges everywhere, face included."""
    yy, xx = np.mgrid[:size, :size] // cell
    grey = np.where((yy + xx) % 2 == 0, 40, 210).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _window(img: np.ndarray, p: np.ndarray, r: int) -> np.ndarray:
    x, y = np.round(p).astype(int)
    return img[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    """A real 256 px frame and its dlib landmarks."""
    img = cv2.resize(skimage.data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    faces = detect_landmarks(img, backend=DlibBackend())
    return img, faces[0].points[:, :2].astype(np.float64)


def test_channel_counts_and_output_types() -> None:
    assert n_channels(GuidanceConfig()) == 1
    assert n_channels(GuidanceConfig(distance_maps=True)) == 1 + N_DISTANCE_MAPS == 15
    assert len(PART_NAMES) == 14
    assert sorted({i for idx in PARTS.values() for i in idx}) == list(range(68))
    for cfg in (GuidanceConfig(), GuidanceConfig(distance_maps=True, antialias=True)):
        g = guidance_map(_checker_frame(), _face(), cfg)
        assert g.shape == (n_channels(cfg), SIZE, SIZE) and g.dtype == np.float32
        assert 0.0 <= g.min() and g.max() <= 1.0


def test_sketch_passes_through_every_landmark_of_every_part() -> None:
    pts = _face()
    sketch = draw_sketch(pts, (SIZE, SIZE), width=1)
    assert set(np.unique(sketch)) == {0, 255}
    for name, idx in PARTS.items():
        for i in idx:
            assert _window(sketch, pts[i], 1).any(), f"{name}: no ink near point {i}"
    far = np.ones_like(sketch, bool)
    far[16:-16, 16:-16] = False  # the face lies in the middle half of the frame
    assert not sketch[far].any()


def test_wider_and_antialiased_sketches() -> None:
    pts = _face()
    thin = draw_sketch(pts, (SIZE, SIZE), width=1)
    thick = draw_sketch(pts, (SIZE, SIZE), width=3)
    soft = draw_sketch(pts, (SIZE, SIZE), antialias=True)
    assert (thick > 0).sum() > 1.8 * (thin > 0).sum()
    assert ((soft > 0) & (soft < 255)).any()


def test_face_region_covers_the_face_and_is_mirrored_above_the_jaw_line() -> None:
    pts = _face()
    mask = face_region_mask(pts, (SIZE, SIZE))
    assert mask.dtype == bool and mask.shape == (SIZE, SIZE)
    for i in range(17, 68):  # brows, nose, eyes, mouth
        x, y = np.round(pts[i]).astype(int)
        assert mask[y, x], f"point {i} outside the face region"
    assert not mask[:4].any() and not mask[:, :4].any()
    poly = face_polygon(pts)
    assert poly.shape == (32, 2)
    line_y = (pts[0, 1] + pts[16, 1]) / 2
    upper = poly[17:]
    assert (upper[:, 1] < line_y).all()  # mirrored above the 0-16 line
    depth = pts[8, 1] - line_y
    assert upper[:, 1].min() == pytest.approx(line_y - 2 / 3 * depth, abs=0.15 * depth)


def test_face_region_follows_head_roll() -> None:
    pts, c = _face(), SIZE / 2
    rot = cv2.getRotationMatrix2D((c, c), 30.0, 1.0)
    rolled = pts @ rot[:, :2].T + rot[:, 2]
    expected = cv2.warpAffine(
        face_region_mask(pts, (SIZE, SIZE)).astype(np.uint8), rot, (SIZE, SIZE),
        flags=cv2.INTER_NEAREST,
    ) > 0  # fmt: skip
    got = face_region_mask(rolled, (SIZE, SIZE))
    assert (got & expected).sum() / (got | expected).sum() > 0.95


def test_face_interior_edges_are_removed_and_background_edges_kept() -> None:
    frame, pts = _checker_frame(), _face()
    mask = face_region_mask(pts, (SIZE, SIZE))
    gray = frame[..., 0]
    allowed = background_edges(gray)
    masked = background_edges(gray, mask)
    assert allowed[mask].any() and not masked[mask].any()
    assert np.array_equal(masked[~mask], allowed[~mask])

    g = guidance_map(frame, pts, GuidanceConfig())[0]
    sketch = cv2.dilate(draw_sketch(pts, (SIZE, SIZE)), np.ones((3, 3), np.uint8)) > 0
    inside = mask & ~sketch
    assert not g[inside].any()  # the face interior shows the sketch only
    outside = ~cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (g[outside] > 0).sum() >= 0.9 * (allowed[outside] > 0).sum() > 200


def test_background_off_gives_the_sketch_alone() -> None:
    frame, pts = _checker_frame(), _face()
    g = guidance_map(frame, pts, GuidanceConfig(background=False))[0]
    assert np.array_equal(g > 0, draw_sketch(pts, (SIZE, SIZE)) > 0)


def test_canny_matches_skimage_defaults_within_one_pixel() -> None:
    gray = cv2.cvtColor(
        cv2.resize(skimage.data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA),
        cv2.COLOR_RGB2GRAY,
    )
    ours = background_edges(gray) > 0
    ref = feature.canny(gray)  # the official call: skimage defaults on a uint8 grey frame
    grow = np.ones((3, 3), np.uint8)
    near_ref = cv2.dilate(ref.astype(np.uint8), grow) > 0
    near_ours = cv2.dilate(ours.astype(np.uint8), grow) > 0
    assert (ours & near_ref).sum() / ours.sum() > 0.97
    assert (ref & near_ours).sum() / ref.sum() > 0.97
    assert 0.9 < ours.sum() / ref.sum() < 1.1


def test_distance_maps_are_zero_on_each_curve_and_grow_away_from_it() -> None:
    pts = _face()
    maps = distance_maps(pts, (SIZE, SIZE))
    assert maps.shape == (14, SIZE, SIZE) and maps.dtype == np.float32
    for k, (name, idx) in enumerate(PARTS.items()):
        for i in idx:
            assert _window(maps[k], pts[i], 1).min() == 0.0, f"{name}: not 0 at point {i}"
    chin = np.round(pts[8]).astype(int)
    ramp = [maps[0, chin[1] + d, chin[0]] for d in (0, 4, 8, 16, 24)]
    assert ramp[0] == 0.0 and np.all(np.diff(ramp) > 0)
    # official scale: L1 distance / 3 / 255 (24 px below the chin, straight down)
    assert ramp[-1] == pytest.approx(24 / 765, abs=2 / 765)
    g = guidance_map(_checker_frame(), pts, GuidanceConfig(distance_maps=True))
    assert np.array_equal(g[1:], maps)


def test_real_face_guidance(astronaut: tuple[np.ndarray, np.ndarray]) -> None:
    img, pts = astronaut
    g = guidance_map(img, pts, GuidanceConfig(distance_maps=True))
    mask = face_region_mask(pts, img.shape)
    assert 0.02 < mask.mean() < 0.2  # the face, not the frame
    lips = PARTS["lip_outer_upper"]
    assert all(_window(g[0], pts[i], 1).max() == 1.0 for i in lips)
    hair_and_suit = ~cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (g[0][hair_and_suit] > 0).mean() > 0.05
    x0, y0, x1, y1 = face_crop_box(pts, img.shape)
    assert x0 <= pts[:, 0].min() and pts[:, 0].max() <= x1
    assert y0 <= pts[:, 1].min() and pts[:, 1].max() <= y1


def test_crop_box_formula_and_clamping() -> None:
    pts = _face(512, 0.4, 0.6)  # width 102.4, x 204.8-307.2, y 204.8-307.2
    w = pts[:, 0].max() - pts[:, 0].min()
    side = round(2.1 * w)
    yc = (3 * pts[:, 1].min() + pts[:, 1].max()) / 4
    xc = (pts[:, 0].min() + pts[:, 0].max()) / 2
    assert face_crop_box(pts, (512, 512)) == (
        round(xc - side / 2), round(yc - side / 2),
        round(xc - side / 2) + side, round(yc - side / 2) + side,
    )  # fmt: skip
    near_corner = pts - pts.min(axis=0) + 3.0
    x0, y0, x1, y1 = face_crop_box(near_corner, (512, 640, 3), scale=2.5)
    assert (x0, y0) == (0, 0) and x1 - x0 == y1 - y0 == round(2.5 * w)
    x0, y0, x1, y1 = face_crop_box(pts, (300, 400), scale=10.0)
    assert (y0, y1 - y0, x1 - x0) == (0, 300, 300) and 0 <= x0 <= x1 <= 400


def test_landmarks_outside_the_frame_draw_safely() -> None:
    frame, pts = _checker_frame(), _face()
    half_out = guidance_map(frame, pts + [SIZE / 2, 0.0], GuidanceConfig(distance_maps=True))
    assert half_out[0].any()
    far = guidance_map(frame, pts * 1e9, GuidanceConfig())
    assert np.isfinite(far).all()
    assert face_region_mask(pts - 1e6, (SIZE, SIZE)).sum() == 0
    assert draw_sketch(pts + 1e6, (SIZE, SIZE)).sum() == 0


@pytest.mark.parametrize(
    ("pts", "match"),
    [
        (np.full((68, 2), 50.0), "degenerate"),
        (np.zeros((67, 2)), r"\(68, 2\)"),
        (np.where(np.arange(68)[:, None] == 30, np.nan, _face()), r"points \[30\]"),
        (np.where(np.arange(68)[:, None] == 7, np.inf, _face()), r"points \[7\]"),
    ],
)
def test_bad_landmarks_raise_clear_errors(pts: np.ndarray, match: str) -> None:
    for call in (
        lambda: guidance_map(_checker_frame(), pts),
        lambda: draw_sketch(pts, (SIZE, SIZE)),
        lambda: face_region_mask(pts, (SIZE, SIZE)),
        lambda: face_crop_box(pts, (SIZE, SIZE)),
    ):
        with pytest.raises(InvalidInputError, match=match):
            call()


def test_bad_frames_and_configs_raise() -> None:
    pts = _face()
    with pytest.raises(InvalidInputError, match="uint8"):
        guidance_map(_checker_frame().astype(np.float32), pts)
    with pytest.raises(InvalidInputError, match=r"\(H, W, 3\)"):
        guidance_map(np.zeros((SIZE, SIZE, 4), np.uint8), pts)
    with pytest.raises(InvalidInputError, match="differs"):
        background_edges(np.zeros((8, 8), np.uint8), np.zeros((4, 4), bool))
    with pytest.raises(InvalidInputError, match="edge_width"):
        GuidanceConfig(edge_width=0)
    with pytest.raises(InvalidInputError, match="low=0.5"):
        GuidanceConfig(canny_low=0.5, canny_high=0.2)
    with pytest.raises(InvalidInputError, match="scale"):
        face_crop_box(pts, (SIZE, SIZE), scale=0.0)
