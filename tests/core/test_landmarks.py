"""Face tracking on real faces: photos, clips made from them, and the bad inputs of a clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

from evp_studio.errors import Cancelled, InvalidInputError
from evp_studio.jobs import CancelToken, Progress, run_job
from evp_studio.landmarks import (
    DlibBackend,
    LandmarkCache,
    LandmarkTrack,
    NoFaceError,
    TrackerSettings,
    detect_landmarks,
    finish_track,
    track_landmarks,
)
from evp_studio.landmarks._cache import RawTrack
from tests.core.landmark_clips import (
    CANVAS,
    affine,
    apply,
    astronaut_patch,
    lfw_face,
    moving_transforms,
    noisy,
    place,
    write_clip,
    write_rotated_clip,
)

STILL = affine(1.0, 32.0, 0.0)


@pytest.fixture(scope="module")
def dlib() -> DlibBackend:
    return DlibBackend()


@pytest.fixture(scope="module")
def patch_points(dlib: DlibBackend) -> np.ndarray:
    """The astronaut's landmarks in patch coordinates, found on the still frame."""
    faces = detect_landmarks(place(astronaut_patch(), STILL), backend=dlib)
    return faces[0].points - STILL[:, 2]


def _track(path: Path, **kw: object) -> LandmarkTrack:
    settings = kw.pop("settings", TrackerSettings())
    return run_job(track_landmarks(path, settings=settings, use_cache=False, **kw))  # type: ignore[arg-type]


def _eye_centres(points: np.ndarray) -> np.ndarray:
    return np.stack([points[..., 36:42, :].mean(-2), points[..., 42:48, :].mean(-2)], -2)


def test_detects_the_astronaut_at_its_known_eye_positions(dlib: DlibBackend) -> None:
    faces = detect_landmarks(skimage.data.astronaut(), backend=dlib)
    assert len(faces) >= 1  # searching from 40 px also finds a weak false face in her suit
    assert all(f.confidence < 0.2 for f in faces[1:])
    right, left = _eye_centres(faces[0].points)
    # eye centres read off the photo (512 x 512): image-left eye first
    np.testing.assert_allclose(right, [203, 102], atol=4)
    np.testing.assert_allclose(left, [247, 104], atol=4)
    assert faces[0].points.shape == (68, 2) and 0.5 < faces[0].confidence <= 1.0


def test_detects_most_lfw_faces_with_eyes_where_the_crops_put_them(dlib: DlibBackend) -> None:
    found = [detect_landmarks(lfw_face(i), backend=dlib) for i in range(30)]
    faces = [f[0].points for f in found if f]
    assert len(faces) >= 26  # 93 of the first 100 are found
    eyes = _eye_centres(np.stack(faces))
    # LFW crops are aligned: eyes near (6, 9) and (15, 9) of the 25-px crop
    assert np.median(np.abs(eyes[:, 0] - [55, 66]), axis=0).max() < 6
    assert np.median(np.abs(eyes[:, 1] - [89, 64]), axis=0).max() < 6
    non_faces = [detect_landmarks(lfw_face(i), backend=dlib) for i in range(100, 110)]
    assert not any(non_faces)


def test_tracks_a_moving_zooming_face_to_subpixel_accuracy(
    tmp_path: Path, patch_points: np.ndarray
) -> None:
    mats = moving_transforms(24)
    patch = astronaut_patch()
    clip = write_clip(tmp_path / "moving.mp4", 24, lambda i: place(patch, mats[i]))
    track = _track(clip, settings=TrackerSettings(smooth=False))
    truth = np.stack([apply(m, patch_points) for m in mats])
    err = np.linalg.norm(track.landmarks - truth, axis=-1)
    assert track.detection_rate == 1.0 and not track.lost.any()
    assert np.median(err) < 1.0 and err.mean() < 1.5
    assert track.landmarks.shape == (24, 68, 2) and track.pose.shape == (24, 6)
    np.testing.assert_allclose(track.timestamps, np.arange(24) / 25, atol=1e-6)
    # the pose's scale (px/mm) follows the zoom
    zoom = np.array([m[0, 0] for m in mats])
    assert np.corrcoef(track.pose[:, 5], zoom)[0, 1] > 0.95
    smooth = finish_track(_raw(track), TrackerSettings(), backend="dlib")
    assert np.linalg.norm(smooth.landmarks - truth, axis=-1).mean() < 2.0  # little lag


def _raw(track: LandmarkTrack) -> RawTrack:
    n = track.n_frames
    return RawTrack(
        track.landmarks_raw, track.confidence, np.zeros((n, 4)), track.timestamps, (256, 192)
    )


def _jitter(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=-1).mean())


def test_smoothing_lowers_the_jitter_of_a_still_face(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = place(astronaut_patch(), STILL)
    clip = write_clip(tmp_path / "still.mp4", 30, lambda i: noisy(frame, rng))
    raw = _track(clip, settings=TrackerSettings(smooth=False))
    smooth = finish_track(_raw(raw), TrackerSettings(), backend="dlib")
    assert _jitter(raw.landmarks) > 0.05  # the noise does move the points
    assert _jitter(smooth.landmarks[5:]) < 0.5 * _jitter(raw.landmarks[5:])


def test_a_lost_stretch_is_interpolated_and_flagged(tmp_path: Path) -> None:
    patch = astronaut_patch()
    blank = np.full((CANVAS[1], CANVAS[0], 3), 128, np.uint8)
    mats = [affine(1.0, 20 + 2.0 * i, 0.0) for i in range(30)]

    def frame(i: int) -> np.ndarray:
        return blank if 10 <= i < 16 else place(patch, mats[i])

    clip = write_clip(tmp_path / "gap.mp4", 30, frame)
    track = _track(clip, settings=TrackerSettings(smooth=False, max_gap_frames=8))
    assert track.lost[10:16].all() and track.lost.sum() <= 6 + 2
    assert (track.confidence[track.lost] == 0).all() and (track.confidence[~track.lost] > 0).all()
    # the face moves 2 px a frame: the filled frames follow the same line
    nose = track.landmarks[:, 30, 0]
    np.testing.assert_allclose(np.diff(nose[9:17]), 2.0, atol=0.6)
    assert np.isnan(track.landmarks_raw[12]).all()
    assert any("lost in" in w for w in track.warnings)
    held = finish_track(_raw(track), TrackerSettings(smooth=False, max_gap_frames=2), backend="d")
    first = int(np.flatnonzero(track.lost)[0])
    np.testing.assert_array_equal(held.landmarks[first], track.landmarks_raw[first - 1])


def _two_faces(i: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame i of a clip where the astronaut moves right and a smaller LFW face moves left."""
    t = i / (n - 1)
    big = affine(1.15, -50 + 110 * t, -10.0)
    small = affine(0.55, 150 - 150 * t, 70.0)
    frame = place(lfw_face(0), small, place(astronaut_patch(), big))
    return frame, big, small


def test_of_two_crossing_faces_the_largest_is_kept(
    tmp_path: Path, patch_points: np.ndarray
) -> None:
    n = 24
    clip = write_clip(tmp_path / "two.mp4", n, lambda i: _two_faces(i, n)[0])
    track = _track(clip, settings=TrackerSettings(smooth=False))
    truth = np.stack([apply(_two_faces(i, n)[1], patch_points) for i in range(n)])
    ok = ~track.lost
    assert ok[:6].all() and ok[-4:].all()  # lost only while the small face hides it
    err = np.linalg.norm(track.landmarks_raw[ok] - truth[ok], axis=-1).mean(axis=1)
    assert err.max() < 4.0  # never jumps to the other face
    assert any("2 faces" in w for w in track.warnings)
    # choosing the other face by a point on it keeps that one instead
    lfw_centre = apply(_two_faces(0, n)[2], np.array([80.0, 80.0]))
    other = _track(clip, settings=TrackerSettings(smooth=False, select_point=tuple(lfw_centre)))
    assert np.linalg.norm(other.landmarks[0, 30] - truth[0, 30]) > 50


def test_tiny_faces_are_refused_with_their_size(tmp_path: Path) -> None:
    small = affine(0.4, 90.0, 60.0)  # face ~25 px
    clip = write_clip(tmp_path / "tiny.mp4", 4, lambda i: place(astronaut_patch(), small))
    with pytest.raises(NoFaceError, match=r"tiny.mp4: the only faces found are about 2\d px"):
        _track(clip)


def test_a_clip_without_a_face_names_the_clip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clip = write_clip(
        tmp_path / "noface.mp4", 6, lambda i: rng.integers(0, 255, (96, 128, 3), np.uint8)
    )
    with pytest.raises(NoFaceError, match=r"noface.mp4: no face found in any of its 6 frames"):
        _track(clip)


def test_display_rotation_is_applied(tmp_path: Path, patch_points: np.ndarray) -> None:
    frames = [place(astronaut_patch(), STILL)] * 3
    clip = write_rotated_clip(tmp_path / "portrait.mp4", frames, rotation=90)
    track = _track(clip, settings=TrackerSettings(smooth=False))
    assert track.frame_size == CANVAS
    err = np.linalg.norm(track.landmarks - apply(STILL, patch_points), axis=-1)
    assert err.mean() < 1.5


def test_a_corrupt_or_missing_model_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from evp_studio import weights
    from evp_studio.errors import ModelNotFoundError

    clip = write_clip(tmp_path / "c.mp4", 2, lambda i: place(astronaut_patch(), STILL))
    bad = weights.user_models_dir() / "shape_predictor_68_face_landmarks.dat"
    bad.write_bytes(b"not a dlib model" * 100)
    with pytest.raises(
        InvalidInputError, match="shape_predictor_68_face_landmarks.dat: not a usable"
    ):
        _track(clip)
    bad.unlink()
    gone = replace(weights.REGISTRY["dlib-68"], package="no_such_package_here")
    monkeypatch.setitem(weights.REGISTRY, "dlib-68", gone)
    with pytest.raises(ModelNotFoundError, match="shape_predictor_68_face_landmarks.dat"):
        _track(clip)


def test_detections_are_cached_per_content_and_detector_settings(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", 12, lambda i: place(astronaut_patch(), STILL))
    cache = LandmarkCache(tmp_path / "cache")
    first = run_job(track_landmarks(clip, cache=cache))
    stages: list[str] = []
    again = run_job(
        track_landmarks(clip, cache=cache), on_progress=lambda p: stages.append(p.stage)
    )
    assert stages == ["Landmarks from the cache"]
    np.testing.assert_array_equal(first.landmarks, again.landmarks)
    # smoothing is not part of the key; the minimum face size is
    softer = TrackerSettings(min_cutoff=0.2)
    assert cache.path_for(clip, softer, "m") == cache.path_for(clip, TrackerSettings(), "m")
    assert cache.path_for(clip, TrackerSettings(min_face_px=60), "m") != cache.path_for(
        clip, TrackerSettings(), "m"
    )
    # a damaged entry is discarded and computed again
    entry = next((tmp_path / "cache").rglob("*.npz"))
    entry.write_bytes(b"garbage")
    stages.clear()
    redone = run_job(
        track_landmarks(clip, cache=cache), on_progress=lambda p: stages.append(p.stage)
    )
    assert stages[0].startswith("Finding the face")
    np.testing.assert_array_equal(redone.landmarks, first.landmarks)


def test_cancel_stops_at_a_frame_boundary(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", 20, lambda i: place(astronaut_patch(), STILL))
    token = CancelToken()
    seen: list[Progress] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        if p.done >= 5:
            token.cancel()

    with pytest.raises(Cancelled):
        run_job(
            track_landmarks(clip, use_cache=False, cancel=token),
            cancel=token,
            on_progress=on_progress,
        )
    assert seen[-1].done < 20
