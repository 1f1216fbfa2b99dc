"""FID: the Fréchet distance itself, the registry, and the dlib face network on real faces."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest
import scipy.linalg
import skimage.data

from evp_studio.errors import InvalidInputError
from evp_studio.eval import (
    FeatureExtractor,
    PixelExtractor,
    extractor_names,
    fid,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    get_extractor,
    register_extractor,
)

# the package re-exports the function fid(), which shadows the module of the same name
fid_module = importlib.import_module("evp_studio.eval.fid")
N_SET = 16  # faces per set: dlib embeds ~12 frames/s on one core


def _lfw_faces(start: int, count: int, side: int = 100) -> np.ndarray:
    """Real LFW face crops (25x25 grey, the first 100 of lfw_subset) as RGB uint8."""
    grey = skimage.data.lfw_subset()[start : start + count]
    up = [
        cv2.resize((g * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
        for g in grey
    ]
    return np.repeat(np.stack(up)[..., None], 3, axis=-1)


def _noise_images(count: int, side: int = 100) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (count, side, side, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def dlib_face() -> FeatureExtractor:
    return get_extractor("dlib-face")


def test_identical_sets_are_0_apart() -> None:
    feats = np.random.default_rng(0).normal(size=(50, 6))
    mu, cov = gaussian_stats(feats)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n", [40, 5])  # full-rank and rank-deficient covariances (d = 8)
def test_mean_shift_with_equal_covariances_gives_squared_shift(n: int) -> None:
    rng = np.random.default_rng(n)
    feats = rng.normal(size=(n, 8)) @ rng.normal(size=(8, 8))
    for shift in (0.5, 2.0, 7.0):
        delta = shift * rng.normal(size=8)
        result = fid_from_features(feats + delta, feats)
        assert result.value == pytest.approx(float(delta @ delta), rel=1e-6, abs=1e-6)
        assert result.biased == (n < 8)


def test_frechet_distance_matches_the_sqrtm_formula() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 5)), 1.5 * rng.normal(size=(200, 5)) + 0.3
    (m1, c1), (m2, c2) = gaussian_stats(a), gaussian_stats(b)
    covmean = scipy.linalg.sqrtm(c1 @ c2).real
    expected = ((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean)
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-9)


def test_bad_statistics_and_too_few_frames_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="needs \\(d,\\) means"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(InvalidInputError, match="not finite"):
        frechet_distance(np.full(2, np.nan), np.eye(2), np.zeros(2), np.eye(2))
    with pytest.raises(InvalidInputError, match="at least 2 frames in each set"):
        fid_from_features(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(InvalidInputError, match=r"expected \(N, H, W, 3\) uint8"):
        fid(np.zeros((3, 8, 8, 3)), np.zeros((3, 8, 8, 3)), "pixels")


def test_registry_builds_named_extractors_and_accepts_new_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fid_module, "_REGISTRY", dict(fid_module._REGISTRY))  # undone after
    assert {"dlib-face", "pixels"} <= set(extractor_names())
    with pytest.raises(InvalidInputError, match="'inception' is not one of"):
        get_extractor("inception")

    class Means:
        name, dim, no_face_frames = "means", 3, 0

        def __call__(self, frames: np.ndarray) -> np.ndarray:
            return frames.mean(axis=(1, 2)).astype(np.float64)

    register_extractor("means", Means)
    frames = _noise_images(4, side=8)
    assert get_extractor("means")(frames).shape == (4, 3)
    assert fid(frames, frames, "means") == pytest.approx(0.0, abs=1e-9)


def test_pixels_extractor_tells_faces_from_noise() -> None:
    net = PixelExtractor()
    faces = _lfw_faces(0, 40)
    assert net(faces).shape == (40, 1024)
    assert fid(faces[:20], faces[20:], net) < fid(faces[:20], _noise_images(20), net)


def test_dlib_face_embeds_real_faces_identity_first(dlib_face: FeatureExtractor) -> None:
    faces = _lfw_faces(0, 8)
    same = dlib_face(faces)
    mirrored = dlib_face(np.ascontiguousarray(faces[:, :, ::-1]))
    assert dlib_face.name == "dlib-face" and same.shape == (8, dlib_face.dim) == (8, 128)
    norms = np.linalg.norm(same, axis=1)
    assert ((norms > 0.5) & (norms < 2.0)).all(), norms
    dist = np.linalg.norm(same[:, None] - mirrored[None], axis=-1)  # (face, mirrored face)
    off_diagonal = dist[~np.eye(8, dtype=bool)]
    assert np.diag(dist).max() < off_diagonal.min(), dist


def test_dlib_face_fid_is_smaller_between_faces_than_against_noise(
    dlib_face: FeatureExtractor,
) -> None:
    before = dlib_face.no_face_frames
    half_a, half_b = dlib_face(_lfw_faces(0, N_SET)), dlib_face(_lfw_faces(N_SET, N_SET))
    noise = dlib_face(_noise_images(N_SET))
    assert dlib_face.no_face_frames - before >= N_SET  # no face in any noise image
    faces_vs_faces = fid_from_features(half_a, half_b, extractor="dlib-face")
    faces_vs_noise = fid_from_features(half_a, noise, extractor="dlib-face")
    assert faces_vs_faces.biased and faces_vs_faces.extractor == "dlib-face"
    assert 0 < faces_vs_faces.value < faces_vs_noise.value


def test_dlib_face_aligns_the_astronaut_face(dlib_face: FeatureExtractor) -> None:
    img = skimage.data.astronaut()
    before = dlib_face.no_face_frames
    crops = np.stack(
        [cv2.resize(img[20:260, 100:340], (256, 256)), cv2.resize(img[0:300, 60:360], (256, 256))]
    )
    emb = dlib_face(crops)
    assert dlib_face.no_face_frames == before  # found in both framings
    assert np.linalg.norm(emb[0] - emb[1]) < 0.2  # same face, however framed
