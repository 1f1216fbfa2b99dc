"""Synthetic faces: 3D shape, speech articulation, FACS expressions, pose, blinks, rendering."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from evp_studio.data import face as F
from evp_studio.data.face.articulation import BITE, CLOSE, JAW, LOW, ROUND, UP, WIDTH
from evp_studio.errors import InvalidInputError

SIZE = (256, 256)
FPS = 25.0
SENTENCE = [
    ("sil", 0.0, 0.2), ("DD", 0.2, 0.28), ("E", 0.28, 0.4), ("aa", 0.4, 0.55), ("PP", 0.55, 0.62),
    ("aa", 0.62, 0.8), ("U", 0.8, 0.95), ("SS", 0.95, 1.05), ("I", 1.05, 1.2), ("FF", 1.2, 1.3),
    ("O", 1.3, 1.5),
]  # fmt: skip


def _eye_centres(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pts[..., 36:42, :].mean(axis=-2), pts[..., 42:48, :].mean(axis=-2)


def _mouth_width(pts: np.ndarray) -> np.ndarray:
    return pts[..., 54, 0] - pts[..., 48, 0]


def _single(viseme: str) -> np.ndarray:
    """Head-frame points of the mean face holding one viseme (middle of a 0.4 s segment)."""
    track = F.mouth_track([(viseme, 0.0, 0.4)], 10, FPS)
    return F.apply_mouth(F.MEAN_SHAPE.points, track[5])


# --- shape -----------------------------------------------------------------------------------


def test_mean_shape_is_symmetric_and_anatomical() -> None:
    p = F.MEAN_SHAPE.points
    assert p.shape == (68, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p[F.MIRROR] * [-1, 1, 1], p, atol=1e-6)
    assert np.argmax(p[:, 2]) == 30  # nose tip most forward
    assert np.argmin(p[:, 1]) == 8  # chin lowest
    left, right = _eye_centres(p)
    assert 60.0 <= np.linalg.norm(right - left) <= 65.0
    assert 130.0 <= p[17:27, 1].max() - p[8, 1] <= 150.0  # chin to brow ~140 mm
    assert p[8, 2] > p[5, 2] > p[3, 2] > p[0, 2]  # jaw curves back towards the ears
    assert p[36:48, 2].max() < p[27, 2] < p[30, 2]  # eyes recessed behind the nose bridge


def test_identity_shapes_differ_and_stay_plausible() -> None:
    shapes = [F.identity_shape(np.random.default_rng(s)).points for s in range(20)]
    np.testing.assert_array_equal(shapes[0], F.identity_shape(np.random.default_rng(0)).points)
    for i, a in enumerate(shapes):
        left, right = _eye_centres(a)
        assert 52.0 <= np.linalg.norm(right - left) <= 72.0
        assert 120.0 <= a[17:27, 1].max() - a[8, 1] <= 160.0
        assert np.argmax(a[:, 2]) == 30 and np.argmin(a[:, 1]) == 8
        assert np.abs(a[F.MIRROR] * [-1, 1, 1] - a).max() < 6.0  # mild asymmetry only
        for b in shapes[i + 1 :]:
            assert np.abs(a - b).mean() > 0.5


def test_face_shape_rejects_bad_points() -> None:
    with pytest.raises(InvalidInputError):
        F.FaceShape(np.zeros((67, 3)))
    with pytest.raises(InvalidInputError):
        F.shape_from_coefficients(np.zeros(3))


# --- articulation ----------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
@pytest.mark.parametrize("pp_len", [0.03, 0.07])
def test_bilabial_closes_lips_between_open_vowels(fps: float, pp_len: float) -> None:
    phon = [("aa", 0.0, 0.25), ("PP", 0.25, 0.25 + pp_len), ("aa", 0.25 + pp_len, 0.5)]
    track = F.mouth_track(phon, int(0.5 * fps), fps)
    gaps = F.inner_lip_gap(F.apply_mouth_batch(F.MEAN_SHAPE.points, track))
    centre = int(round((0.25 + pp_len / 2) * fps))
    assert gaps[centre] < 0.05
    assert gaps[int(0.1 * fps)] > 8.0  # wide open on the vowel before


def test_open_vowels_open_wider_and_rounded_are_narrower() -> None:
    gap = {v: float(F.inner_lip_gap(_single(v))) for v in F.VISEMES}
    width = {v: float(_mouth_width(_single(v))) for v in F.VISEMES}
    assert gap["aa"] > gap["E"] + 3.0 > gap["sil"] + 3.0
    assert gap["sil"] == pytest.approx(0.0, abs=1e-4)
    assert gap["PP"] == pytest.approx(0.0, abs=1e-4)
    assert max(width["U"], width["O"]) < min(width["I"], width["E"]) - 8.0
    ff = _single("FF")  # lower lip tucked under the upper teeth: nearly closed, lip pulled back
    gap = float(F.inner_lip_gap(ff))
    assert gap > 1.0 and gap < 4.0
    assert ff[66, 2] < F.MEAN_SHAPE.points[66, 2] - 2.0


def test_silence_gives_relaxed_closed_mouth() -> None:
    np.testing.assert_array_equal(F.mouth_track([], 20, FPS), 0.0)
    track = F.mouth_track([("aa", 0.2, 0.5)], 40, FPS)  # clip runs 1 s past the vowel
    assert track[10, JAW] > 0.5
    assert np.abs(track[int(0.85 * FPS) :]).max() < 0.01
    assert np.abs(track[:2]).max() < 0.01


def test_tracks_are_continuous_and_anticipate() -> None:
    rng = np.random.default_rng(3)
    phon, t = [], 0.2
    while t < 4.0:
        d = rng.uniform(0.04, 0.18)
        phon.append((F.VISEMES[rng.integers(1, len(F.VISEMES))], t, t + d))
        t += d
    smooth = [JAW, WIDTH, ROUND, UP, LOW]
    steps = {}
    for fps in (25.0, 100.0):
        track = F.mouth_track(phon, int(4.2 * fps), fps)
        steps[fps] = np.abs(np.diff(track, axis=0)).max(axis=0)
    assert (steps[25.0][[JAW, ROUND, UP, LOW]] < 0.35).all() and steps[25.0][WIDTH] < 0.7
    # a continuous curve: 4x the frame rate gives well under half the per-frame change
    assert (steps[100.0][smooth] < 0.5 * steps[25.0][smooth]).all()
    # anticipation: rounding starts during the consonant before /u/
    before_u = F.mouth_track([("DD", 0.0, 0.2), ("U", 0.2, 0.4)], 10, FPS)
    before_a = F.mouth_track([("DD", 0.0, 0.2), ("aa", 0.2, 0.4)], 10, FPS)
    assert before_u[4, ROUND] > 0.2 > before_a[4, ROUND] + 0.1
    bite = F.mouth_track([("aa", 0.0, 0.2), ("FF", 0.2, 0.3)], 8, FPS)
    assert bite[6, BITE] > 0.9 and bite[6, CLOSE] == 0.0


def test_mouth_track_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="viseme"):
        F.mouth_track([("zz", 0.0, 0.1)], 5, FPS)
    with pytest.raises(InvalidInputError):
        F.mouth_track([("aa", 0.3, 0.1)], 5, FPS)
    with pytest.raises(InvalidInputError):
        F.mouth_track([], 5, 0.0)


def test_apply_mouth_batch_matches_single_and_moves_only_mouth_and_jaw() -> None:
    track = F.mouth_track(SENTENCE, 38, FPS)
    batch = F.apply_mouth_batch(F.MEAN_SHAPE.points, track)
    for k in (0, 12, 20):
        np.testing.assert_allclose(
            batch[k], F.apply_mouth(F.MEAN_SHAPE.points, track[k]), atol=1e-5
        )
    still = np.r_[0:3, 14:48]
    np.testing.assert_array_equal(
        batch[:, still], np.broadcast_to(F.MEAN_SHAPE.points[still], (38, len(still), 3))
    )
    open_jaw = F.apply_mouth(F.MEAN_SHAPE.points, np.array([1, 0, 0, 0, 0, 0, 0.0]))
    drop = F.MEAN_SHAPE.points[8] - open_jaw[8]
    assert 15.0 < drop[1] < 30.0 and drop[2] > 0  # chin goes down and back (rotation)


# --- expression ------------------------------------------------------------------------------


def _expressed(emotion: str, intensity: float = 1.0, viseme: str = "sil") -> np.ndarray:
    track = F.mouth_track([(viseme, 0.0, 0.4)], 10, FPS)[5:6]
    return F.deform_face(F.MEAN_SHAPE, track, emotion, intensity)[0]


def test_emotion_prototypes_move_the_right_points() -> None:
    rest = F.MEAN_SHAPE.points
    d = {e: _expressed(e) - rest for e in F.EMOTIONS}
    out = np.sign(rest[:, 0])  # outward direction per point
    assert np.abs(d["neutral"]).max() == 0.0
    assert (d["happy"][[48, 54], 1] > 4).all() and (
        d["happy"][[48, 54], 0] * out[[48, 54]] > 4
    ).all()
    assert (d["sad"][[21, 22], 1] > 3).all() and (d["sad"][[48, 54], 1] < -3).all()
    assert (d["surprised"][17:27, 1] > 2).all() and d["surprised"][8, 1] < -5
    assert (d["angry"][[21, 22], 1] < -4).all() and (
        d["angry"][[21, 22], 0] * out[[21, 22]] < -2
    ).all()
    assert d["disgusted"][51, 1] > 1.5 and (d["disgusted"][31:36, 1] > 2).all()
    assert d["disgusted"][57, 1] < -2  # AU16 lower lip down
    assert d["contempt"][54, 1] > 3 * abs(d["contempt"][48, 1]) + 1  # one-sided (subject's left)
    assert (d["fear"][17:27, 1] > 1).all() and d["fear"][8, 1] < -3
    assert (d["fear"][[48, 54], 0] * out[[48, 54]] > 3).all()  # AU20 stretches the lips


@pytest.mark.parametrize("emotion", F.EMOTIONS)
def test_intensity_scales_linearly(emotion: str) -> None:
    half = F.expression_offsets(emotion, 0.5)
    np.testing.assert_allclose(2 * half, F.expression_offsets(emotion, 1.0), atol=1e-5)
    np.testing.assert_allclose(
        2 * F.expression_mouth(emotion, 0.5), F.expression_mouth(emotion, 1.0), atol=1e-6
    )
    per_frame = F.expression_offsets_batch(emotion, np.array([0.0, 0.35, 1.0]))
    np.testing.assert_allclose(per_frame[1], 0.35 * per_frame[2], atol=1e-5)
    assert np.abs(per_frame[0]).max() == 0.0
    # bilabial closure wins over every expression
    assert abs(float(F.inner_lip_gap(_expressed(emotion, 1.0, "PP")))) < 0.05


def test_expression_layers_on_speech() -> None:
    aa = float(F.inner_lip_gap(_expressed("neutral", 0.0, "aa")))
    assert float(F.inner_lip_gap(_expressed("surprised", 1.0, "aa"))) > aa + 3.0  # AU26 adds
    u_neutral, u_happy = _expressed("neutral", 0.0, "U"), _expressed("happy", 1.0, "U")
    assert _mouth_width(u_happy) > _mouth_width(u_neutral) + 8.0  # AU12 widens a rounded mouth
    env = F.expression_envelope(50, FPS, np.random.default_rng(0), 0.65)
    assert env[0] == 0.0 and np.abs(env[20:] - 0.65).max() < 0.05 and env.max() <= 1.0
    assert F.level_intensity(1) == 0.35 and F.level_intensity(3) == 1.0
    with pytest.raises(InvalidInputError):
        F.level_intensity(4)
    with pytest.raises(InvalidInputError):
        F.expression_offsets("bored", 1.0)
    with pytest.raises(InvalidInputError):
        F.expression_offsets("happy", 1.5)
    assert F.EMOTIONS == (
        "angry",
        "contempt",
        "disgusted",
        "fear",
        "happy",
        "neutral",
        "sad",
        "surprised",
    )


# --- pose, projection, blinks ----------------------------------------------------------------


def test_projection_conventions() -> None:
    pts = F.MEAN_SHAPE.points
    pose = F.static_pose(1, size=SIZE)
    tx, ty, s = pose.tx[0], pose.ty[0], pose.scale[0]
    np.testing.assert_allclose(
        F.project(pts, pose)[0], np.c_[tx + s * pts[:, 0], ty - s * pts[:, 1]], atol=1e-3
    )
    yawed = F.project(pts, F.static_pose(1, size=SIZE, yaw=30.0))[0]
    assert yawed[30, 0] - tx == pytest.approx(s * pts[30, 2] * np.sin(np.radians(30)), abs=1e-2)
    pitched = F.project(pts, F.static_pose(1, size=SIZE, pitch=10.0))[0]
    assert pitched[30, 1] < F.project(pts, pose)[0, 30, 1] - 5  # +pitch: nose up
    rolled = F.project(pts, F.static_pose(1, size=SIZE, roll=10.0))[0]
    assert rolled[45, 1] < rolled[36, 1]  # +roll: counter-clockwise on screen
    height = F.project(pts, pose)[0, 8, 1] - F.project(pts, pose)[0, 17:27, 1].min()
    assert 0.45 * SIZE[0] <= height <= 0.55 * SIZE[0]


def test_rotation_matrix_roundtrip_and_pose_array() -> None:
    rng = np.random.default_rng(0)
    angles = rng.uniform([-60, -40, -30], [60, 40, 30], (50, 3))
    rot = F.rotation_matrix(angles[:, 0], angles[:, 1], angles[:, 2])
    np.testing.assert_allclose(
        rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape), atol=1e-9
    )
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-9)
    np.testing.assert_allclose(F.angles_from_rotation(rot), angles, atol=1e-6)
    pose = F.head_motion(30, FPS, rng)
    np.testing.assert_array_equal(F.Pose.from_array(pose.as_array()).as_array(), pose.as_array())


def test_head_motion_is_smooth_bounded_and_centred() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        pose = F.head_motion(250, FPS, rng, size=SIZE)
        arr = pose.as_array()
        assert arr.shape == (250, 6)
        assert (np.abs(arr[:, :3]) <= [20.0, 10.0, 6.0]).all()
        assert (np.abs(np.diff(arr[:, :3], axis=0)) < 1.5).all()  # deg per frame
        lmk = F.project(F.MEAN_SHAPE.points, pose)
        assert (lmk > 0).all() and (lmk < SIZE[0]).all()
    still = F.head_motion(10, FPS, rng, amplitude=0.0)
    assert np.abs(still.as_array()[:, :3]).max() < 1e-6


def test_blinks_close_the_eyes() -> None:
    rng = np.random.default_rng(2)
    blink = F.blink_track(int(30 * FPS), FPS, rng)
    assert blink.dtype == np.float32 and 0.0 <= blink.min() and blink.max() <= 1.0
    closed = np.flatnonzero(blink == 1.0)
    starts = np.flatnonzero(np.diff((blink > 0).astype(int)) == 1) / FPS
    assert 4 <= len(starts) <= 15 and (np.diff(starts) > 2.0).all()
    assert len(closed) >= len(starts)  # every blink has a fully closed frame
    pts = F.deform_face(F.MEAN_SHAPE, np.zeros((len(blink), 7)), "angry", 1.0, blink)
    shut = pts[closed]
    np.testing.assert_allclose(shut[:, [37, 38, 43, 44]], shut[:, [41, 40, 47, 46]], atol=1e-4)
    assert (pts[blink == 0][:, 37, 1] - pts[blink == 0][:, 41, 1] > 5).all()


def test_animate_composes_the_steps() -> None:
    rng = np.random.default_rng(4)
    shape = F.identity_shape(rng)
    track = F.mouth_track(SENTENCE, 38, FPS)
    pose = F.head_motion(38, FPS, rng)
    blink = F.blink_track(38, FPS, rng)
    anim = F.animate(shape, track, "happy", 0.65, pose, blink)
    points3d, lmk2d, pose_arr = anim
    assert (
        points3d.shape == (38, 68, 3) and lmk2d.shape == (38, 68, 2) and pose_arr.shape == (38, 6)
    )
    head = F.deform_face(shape, track, "happy", 0.65, blink)
    np.testing.assert_allclose(lmk2d, F.project(head, pose), atol=1e-4)
    np.testing.assert_array_equal(pose_arr, pose.as_array())
    with pytest.raises(InvalidInputError):
        F.animate(shape, track, "happy", 0.65, F.static_pose(5), blink)


# --- rendering -------------------------------------------------------------------------------


def _frame(
    seed: int, viseme: str, **look: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, F.Appearance]:
    rng = np.random.default_rng(seed)
    shape, ap = F.identity_shape(rng), dataclasses.replace(F.appearance_for(rng), **look)
    track = F.mouth_track([(viseme, 0.0, 0.4)], 10, FPS)
    anim = F.animate(shape, track, "neutral", 0.0, F.static_pose(10, size=SIZE))
    bg = F.make_background(ap, SIZE, rng)
    return (
        F.render_frame(anim.landmarks2d[5], ap, size=SIZE, background=bg, neutral=shape),
        anim.landmarks2d[5],
        ap,
    )


def test_render_is_deterministic_rgb_uint8() -> None:
    a, _, _ = _frame(5, "aa")
    b, _, _ = _frame(5, "aa")
    c, _, _ = _frame(6, "aa")
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 5
    lmk = F.project(F.MEAN_SHAPE.points, F.static_pose(3, size=SIZE))
    ap = F.appearance_for(np.random.default_rng(0))
    frames = list(F.render_clip(lmk, ap, SIZE, np.random.default_rng(0)))
    assert len(frames) == 3 and all(f.shape == (256, 256, 3) for f in frames)
    with pytest.raises(InvalidInputError):
        F.render_frame(np.full((68, 2), np.nan), ap)


def test_mouth_interior_dark_when_open_absent_when_closed() -> None:
    for seed in range(3):
        for viseme, is_open in (("aa", True), ("PP", False), ("sil", False)):
            img, lmk, _ = _frame(
                seed, viseme, lip=(200.0, 110.0, 110.0), skin=(225.0, 180.0, 150.0)
            )
            x0, y0 = np.floor(lmk[48:60].min(axis=0)).astype(int)
            x1, y1 = np.ceil(lmk[48:60].max(axis=0)).astype(int)
            mouth = img[y0 : y1 + 1, x0 : x1 + 1].astype(np.float32)
            inner = np.zeros(img.shape[:2], np.uint8)
            cv2.fillPoly(inner, [np.round(lmk[60:68]).astype(np.int32)], 1)
            interior = np.linalg.norm(mouth - (52, 14, 18), axis=-1) < 30  # the mouth-dark colour
            if is_open:
                inside = (
                    np.linalg.norm(img[inner > 0].astype(np.float32) - (52, 14, 18), axis=-1) < 30
                )
                assert inside.mean() > 0.25
            else:
                assert interior.sum() == 0


def test_background_has_edges_outside_the_face() -> None:
    for seed in range(5):
        img, lmk, ap = _frame(seed, "E")
        edges = cv2.Canny(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 50, 150)
        head = np.zeros(img.shape[:2], np.uint8)
        cv2.fillConvexPoly(head, cv2.convexHull(np.round(lmk).astype(np.int32)), 1)
        head = cv2.dilate(head, np.ones((61, 61), np.uint8))  # hair, ears and neck around it
        assert (edges[head == 0] > 0).sum() > 150
        bg = F.make_background(ap, SIZE, np.random.default_rng(seed))
        assert (cv2.Canny(cv2.cvtColor(bg, cv2.COLOR_RGB2GRAY), 50, 150) > 0).mean() > 0.01


def test_dlib_finds_the_rendered_faces() -> None:
    import dlib  # noqa: PLC0415 - a pinned dependency (dlib-bin)
    detector = dlib.get_frontal_face_detector()
    rng = np.random.default_rng(11)
    track = F.mouth_track(SENTENCE, 38, FPS)
    hits = 0
    yaws = np.linspace(-25.0, 25.0, 20)
    for k, yaw in enumerate(yaws):
        shape, ap = F.identity_shape(rng), F.appearance_for(rng)
        pose = F.static_pose(
            38, size=SIZE, yaw=yaw, pitch=rng.uniform(-8, 8), roll=rng.uniform(-5, 5)
        )
        anim = F.animate(shape, track, F.EMOTIONS[k % 8], F.level_intensity(1 + k % 3), pose)
        bg = F.make_background(ap, SIZE, rng)
        img = F.render_frame(
            anim.landmarks2d[int(rng.integers(38))], ap, size=SIZE, background=bg, neutral=shape
        )
        boxes = detector(img, 0)
        if len(boxes) == 1:
            box = boxes[0]
            nose = anim.landmarks2d[0, 30]  # the box must hold this face's nose, roughly centred
            hits += box.left() < nose[0] < box.right() and box.top() < nose[1] < box.bottom()
    assert hits >= 0.8 * len(yaws)


def test_appearance_is_validated() -> None:
    ap = F.appearance_for(np.random.default_rng(0))
    with pytest.raises(InvalidInputError):
        dataclasses.replace(ap, hair_style="mohawk")


def test_expression_lines_follow_the_actor_neutral() -> None:
    rng = np.random.default_rng(8)
    shape, ap = F.identity_shape(rng), F.appearance_for(rng)
    track = np.zeros((1, len(F.MOUTH_PARAMS)), np.float32)
    pose = F.static_pose(1, size=SIZE)

    def forehead_edges(emotion: str, neutral: F.FaceShape | None) -> int:
        lmk = F.animate(shape, track, emotion, 1.0, pose).landmarks2d[0]
        img = F.render_frame(lmk, ap, size=SIZE, neutral=neutral)
        top = int(lmk[17:27, 1].min())
        band = img[top - 36 : top - 12, int(lmk[19, 0]) : int(lmk[24, 0])]  # above the brows
        return int((cv2.Canny(cv2.cvtColor(band, cv2.COLOR_RGB2GRAY), 20, 60) > 0).sum())

    assert forehead_edges("surprised", shape) > forehead_edges("surprised", None) + 20
    assert forehead_edges("neutral", shape) < 5
