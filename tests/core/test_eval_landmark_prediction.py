"""Placement (paper Fig. 7) and emotion accuracy of the audio-to-landmark evaluation."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from evp_studio.data.face.pose import rotation_matrix
from evp_studio.data.mead import scan_mead
from evp_studio.data.synth import PRESETS, synth_corpus, with_overrides
from evp_studio.eval.landmarks import landmark_distance
from evp_studio.geometry import fit_pose, from_canonical, reproject, to_canonical
from evp_studio.jobs import run_job
from evp_studio.paths import resource_path

MODEL = resource_path("models/audio2landmark_small.pt")  # shipped: a missing file fails
CLASSIFIER = resource_path("models/emotion_classifier.pt")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lp_corpus")
    run_job(synth_corpus(out, with_overrides(PRESETS["tiny"], video=False)))
    return out


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path_factory.getbasetemp() / "lp_cache"
    monkeypatch.setattr("evp_studio.eval.landmark_prediction.cache_dir", lambda: cache)


def _turned(lmk2d: np.ndarray, yaw: float) -> np.ndarray:
    """The same face, expression and pitch/roll as ``lmk2d``, the head at ``yaw`` deg."""
    fit = fit_pose(lmk2d)
    _, pitch, roll = fit.angles().T
    turned = dataclasses.replace(
        fit, rotation=rotation_matrix(np.full_like(pitch, yaw), pitch, roll)
    )
    return reproject(from_canonical(to_canonical(lmk2d, fit)), turned)


def test_report_has_placement_and_emotion(corpus: Path) -> None:
    from evp_studio.eval.landmark_prediction import (
        EMOTION_ROWS,
        METRICS,
        PLACEMENTS,
        evaluate_landmark_prediction,
    )

    report = run_job(evaluate_landmark_prediction(MODEL, corpus, split="paper"))
    assert set(report.placement) == set(PLACEMENTS)
    assert all(np.isfinite(v[m]) and v[m] >= 0 for v in report.placement.values() for m in METRICS)
    assert report.placement_by_yaw
    assert sum(v["frames"] for v in report.placement_by_yaw.values()) == report.frames
    assert set(report.emotion_accuracy) == set(EMOTION_ROWS)
    assert all(0 <= a <= 1 for a in report.emotion_accuracy.values())
    assert set(report.emotion_per_class["ground_truth"]) <= {
        "angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised"
    }  # fmt: skip
    assert report.emotion_accuracy["ground_truth_canonical"] >= 0.75
    assert report.emotion_accuracy["ground_truth"] >= 0.75
    text = report.format()
    assert "place 3d" in text and "emotion acc" in text and "|yaw|" in text

    bare = run_job(
        evaluate_landmark_prediction(MODEL, corpus, placement=False, emotion=False, max_clips=3)
    )
    assert bare.clips == 3 and not bare.placement and not bare.emotion_accuracy
    assert "subset of 3" in bare.format()


def test_3d_placement_reproduces_ground_truth_at_large_yaw(corpus: Path) -> None:
    from evp_studio.eval.landmark_prediction import place_both

    clip = scan_mead(corpus, require=("ground_truth",)).clips[0]
    with np.load(clip.ground_truth) as gt:  # type: ignore[arg-type]
        lmk2d = np.asarray(gt["lmk2d"], np.float64)
    turned = _turned(lmk2d, 35.0)
    assert np.abs(fit_pose(turned).angles()[:, 0]).min() > 25
    placed = place_both(to_canonical(turned), turned)
    ld3 = landmark_distance(placed["3d"], turned, "face")
    ld2 = landmark_distance(placed["2d"], turned, "face")
    # px of a 100 px face; what is left in 3D is mostly the default temporal smoothing
    assert ld3 < 1.5
    assert ld2 > 5 * ld3


def test_cli_eval_landmarks(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from evp_studio.cli import main

    out = tmp_path / "report.json"
    argv = ["eval", "landmarks", "--data", str(corpus), "--model", str(MODEL)]
    assert main([*argv, "--max-clips", "2", "--no-emotion", "-o", str(out)]) == 0
    assert "place 3d" in capsys.readouterr().out
    assert set(json.loads(out.read_text())["placement"]) == {"3d", "2d"}
