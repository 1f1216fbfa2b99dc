"""Training-free warp renderer: identity, known motions, mouth bank, stability, bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from evp_studio.data import face as F
from evp_studio.errors import InvalidInputError
from evp_studio.landmarks import DlibBackend, detect_landmarks
from evp_studio.media import ExportConfig, VideoReader, VideoWriter
from evp_studio.render.warp import INNER, WarpConfig, WarpRenderer, mouth_opening

SIZE = (256, 256)
Clip = tuple[np.ndarray, np.ndarray]
SENTENCE = [("sil", 0.0, 0.2), ("aa", 0.2, 0.5), ("PP", 0.5, 0.6), ("E", 0.6, 0.8),
            ("O", 0.8, 1.0), ("sil", 1.0, 1.2)]  # fmt: skip


@pytest.fixture(scope="module")
def synth() -> Clip:
    """30 frames of one synthetic actor speaking: (T, H, W, 3) uint8 and (T, 68, 2) px."""
    rng = np.random.default_rng(3)
    shape, ap = F.identity_shape(rng), F.appearance_for(rng)
    track = F.mouth_track(SENTENCE, 30, 25.0)
    anim = F.animate(shape, track, "neutral", 0.0, F.static_pose(30, size=SIZE))
    bg = F.make_background(ap, SIZE, rng)
    frames = [
        F.render_frame(p, ap, size=SIZE, background=bg, neutral=shape) for p in anim.landmarks2d
    ]
    return np.array(frames), anim.landmarks2d.astype(np.float64)


@pytest.fixture(scope="module")
def astronaut() -> Clip:
    image = skimage.data.astronaut()
    faces = detect_landmarks(image, backend=DlibBackend())
    return image, faces[0].points.astype(np.float64)


def _psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    err = np.mean((a.astype(np.float64) - b)[mask > 0] ** 2)
    return float(10 * np.log10(255.0**2 / max(err, 1e-10)))


def _poly_mask(shape: tuple[int, ...], pts: np.ndarray, shrink: float = 1.0) -> np.ndarray:
    centre = pts.mean(axis=0)
    poly = centre + shrink * (pts - centre)
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask


def _face_mask(shape: tuple[int, ...], lmk: np.ndarray) -> np.ndarray:
    hull = cv2.convexHull(lmk.astype(np.float32))[:, 0]
    return _poly_mask(shape, hull, 0.85)


def test_identity_warp_returns_the_frame(synth: Clip, astronaut: Clip) -> None:
    frames, lmk = synth
    r = WarpRenderer(list(frames), lmk)
    for i in (0, 8, 20):
        out = r.render(frames[i], lmk[i], lmk[i])
        assert out.dtype == np.uint8 and out.shape == frames[i].shape
        assert np.abs(out.astype(int) - frames[i]).max() <= 1
    image, points = astronaut
    r = WarpRenderer([image], points[None])
    assert np.abs(r.render(image, points, points).astype(int) - image).max() <= 1
    assert not r.last_passthrough


@pytest.mark.parametrize("shift, scale, angle", [((4.0, -3.0), 1.0, 0.0), ((0.0, 0.0), 1.06, 3.0)])
def test_global_motion_moves_the_face_like_warp_affine(
    astronaut: Clip, shift: tuple[float, float], scale: float, angle: float
) -> None:
    image, points = astronaut
    centre = tuple(points.mean(axis=0))
    mat = cv2.getRotationMatrix2D(centre, angle, scale)
    mat[:, 2] += np.asarray(shift)
    new = points @ mat[:, :2].T + mat[:, 2]
    expected = cv2.warpAffine(image, mat, image.shape[1::-1], flags=cv2.INTER_LINEAR)
    out = WarpRenderer([image], points[None]).render(image, points, new)
    mask = _face_mask(image.shape, new)
    assert _psnr(out, expected, mask) > 38.0
    assert _psnr(image, expected, mask) < 28.0  # the motion is visible: the test has teeth
    far = np.ones(image.shape[:2], np.uint8)
    far[50:300, 80:380] = 0  # well outside the ring: untouched background
    assert np.array_equal(out[far > 0], image[far > 0])


def test_opening_the_mouth_inserts_the_targets_own_interior(
    synth: Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames, lmk = synth
    opening = mouth_opening(lmk)
    closed, opened = int(np.argmin(opening)), int(np.argmax(opening))
    new = lmk[closed].copy()
    new[list(range(5, 12)) + list(range(48, 68))] = lmk[opened][
        list(range(5, 12)) + list(range(48, 68))
    ]
    r = WarpRenderer(list(frames), lmk)
    assert r.bank and all(opening[e.frame_index] >= r.config.bank_min_opening for e in r.bank)
    out = r.render(frames[closed], lmk[closed], new).astype(np.float64)
    inside = _poly_mask(out.shape, new[INNER], 0.7)
    real = frames[opened].astype(np.float64)  # the actor really opening this wide
    lips = _poly_mask(out.shape, lmk[closed][48:60]) > 0
    lip_colour = frames[closed][lips].mean(axis=0)
    r_plain = WarpRenderer(list(frames), lmk)
    monkeypatch.setattr(r_plain, "_insert_mouth", lambda *a: None)  # bare warp: stretched lips
    plain = r_plain.render(frames[closed], lmk[closed], new).astype(np.float64)
    err = np.abs(out - real)[inside > 0].mean()
    err_plain = np.abs(plain - real)[inside > 0].mean()
    assert err < 0.5 * err_plain
    assert out[inside > 0].mean() < lip_colour.mean() - 30  # dark interior, not lip colour
    mouth = _poly_mask(out.shape, new[INNER]) > 0
    assert (out[mouth].min(axis=1) > 150).mean() > 0.05  # some teeth show
    # a frame whose own mouth is already as open gets no bank pixels
    same = r.render(frames[opened], lmk[opened], lmk[opened])
    assert np.abs(same.astype(int) - frames[opened]).max() <= 1


def test_no_open_frame_gives_a_dark_interior(synth: Clip) -> None:
    frames, lmk = synth
    opening = mouth_opening(lmk)
    closed_idx = np.flatnonzero(opening < 0.02)
    r = WarpRenderer(list(frames[closed_idx]), lmk[closed_idx])
    assert not r.bank
    new = lmk[closed_idx[0]].copy()
    new[64:68] += [0, 0]
    new[65:68, 1] += 12
    new[56:59, 1] += 12
    out = r.render(frames[closed_idx[0]], lmk[closed_idx[0]], new)
    inside = _poly_mask(out.shape, new[INNER], 0.6)
    assert out[inside > 0].mean() < frames[closed_idx[0]][inside > 0].mean() - 40


def test_small_jitter_and_smooth_opening_give_small_changes(synth: Clip) -> None:
    frames, lmk = synth
    r = WarpRenderer(list(frames), lmk)
    rng = np.random.default_rng(0)
    base = frames[0]
    outs = [r.render(base, lmk[0], lmk[0] + rng.normal(0, 0.3, (68, 2))) for _ in range(5)]
    jitter = [np.abs(a.astype(int) - b).mean() for a, b in zip(outs, outs[1:])]
    assert max(jitter) < 0.5
    # open the mouth of frame 0 smoothly along the clip's own (smooth) mouth motion
    r.reset()
    outs, choices = [], []
    for t in range(30):
        new = lmk[0].copy()
        new[48:68] = lmk[t][48:68]
        outs.append(r.render(base, lmk[0], new).astype(np.float64))
        choices.append(r._current)
    y0, y1 = int(lmk[:, 48:68, 1].min()) - 5, int(lmk[:, 48:68, 1].max()) + 5
    x0, x1 = int(lmk[:, 48:68, 0].min()) - 5, int(lmk[:, 48:68, 0].max()) + 5
    steps = np.array([np.abs(a - b)[y0:y1, x0:x1].mean() for a, b in zip(outs, outs[1:])])
    real = frames[:, y0:y1, x0:x1].astype(np.float64)
    real_steps = np.abs(np.diff(real, axis=0)).mean(axis=(1, 2, 3))
    assert np.all(steps <= 1.5 * real_steps + 1.0)  # no pops beyond the actor's own motion
    assert np.corrcoef(steps, real_steps)[0, 1] > 0.8
    switch_at = [
        t
        for t in range(1, 30)
        if None not in choices[t - 1 : t + 1] and choices[t] != choices[t - 1]
    ]
    assert switch_at, "the mouth bank entry never changed: the test does not exercise switching"
    assert np.all(np.diff(switch_at) >= r.config.crossfade_frames)


def test_bad_landmarks_never_crash(synth: Clip) -> None:
    frames, lmk = synth
    r = WarpRenderer(list(frames), lmk)
    src = lmk[0]
    rng = np.random.default_rng(1)
    flipped_mouth = src.copy()
    flipped_mouth[65:68, 1] -= 15  # lower inner lip above the upper one
    collapsed = np.tile(src.mean(axis=0), (68, 1))
    cases = {
        "outside": (src, src + [400.0, -300.0]),
        "both outside": (src + [300.0, 0.0], src + [310.0, 0.0]),
        "collapsed": (src, collapsed),
        "collapsed source": (collapsed, src),
        "random": (src, rng.uniform(-50, 300, (68, 2))),
        "flipped mouth": (src, flipped_mouth),
        "mirrored": (src, src * [-1, 1] + [256, 0]),
    }
    pose = F.static_pose(1, size=SIZE, yaw=85.0)
    yawed = F.project(F.MEAN_SHAPE.points, pose)[0].astype(np.float64)
    cases["extreme yaw"] = (yawed, src)
    cases["extreme yaw both"] = (yawed, yawed + rng.normal(0, 2, (68, 2)))
    for name, (a, b) in cases.items():
        out = r.render(frames[0], a, b)
        assert out.shape == frames[0].shape and out.dtype == np.uint8, name
        assert not r.last_passthrough, name
    nan = src.copy()
    nan[30] = np.nan
    out = r.render(frames[0], src, nan)
    assert r.last_passthrough and np.array_equal(out, frames[0])
    r.render(frames[0], nan, src)
    assert r.last_passthrough
    with pytest.raises(InvalidInputError):
        r.render(frames[0], src, src[:60])
    with pytest.raises(InvalidInputError):
        r.render(frames[0].astype(np.float32), src, src)
    with pytest.raises(InvalidInputError):
        WarpRenderer([], np.full((3, 68, 2), np.nan))
    with pytest.raises(InvalidInputError):
        WarpConfig(hysteresis=0.0)


def test_streams_from_a_video_reader(tmp_path: Path, synth: Clip) -> None:
    frames, lmk = synth
    path = tmp_path / "target.mp4"
    with VideoWriter(
        path, width=256, height=256, frame_rate=Fraction(25), config=ExportConfig(crf=0)
    ) as w:
        for f in frames:
            w.write(f)
    with VideoReader(path) as reader:
        r = WarpRenderer(reader, lmk, config=WarpConfig(bank_size=5))
        assert len(r.bank) == 5
        new = lmk[3] + [2.0, 1.0]
        a = r.render_index(3, new)
        r.reset()
        b = r.render(reader.read(3), lmk[3], new)
        np.testing.assert_array_equal(a, b)
        with pytest.raises(InvalidInputError):
            r.render_index(30, new)
    with pytest.raises(InvalidInputError):
        WarpRenderer(list(frames), lmk).render_index(0, lmk[0])
