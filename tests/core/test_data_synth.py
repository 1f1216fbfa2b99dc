"""The synthetic MEAD-layout corpus: layout, determinism, lip sync, resume, bad settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from evp_studio.data.mead import emotion_pairs, scan_mead
from evp_studio.data.synth import MANIFEST, PRESETS, SynthConfig, synth_corpus, with_overrides
from evp_studio.data.synth_clip import CLIP_KEYS, make_actors, write_clip
from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, run_job
from evp_studio.media import VideoReader, load_audio, probe
from evp_studio.project import EMOTIONS

SMALL = SynthConfig(actors=2, sentences=1, size=96, levels=(2, 3), crf=30, seed=3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    summary = run_job(synth_corpus(out, SMALL))
    assert summary.clips == 2 * (7 * 2 + 1)
    return out


def test_layout_and_reader(corpus: Path) -> None:
    scan = scan_mead(corpus, require=("video", "audio", "ground_truth"))
    assert len(scan.clips) == 30 and not scan.summary.skipped
    assert {c.emotion for c in scan.clips} == set(EMOTIONS)
    assert {c.level for c in scan.clips if c.emotion == "neutral"} == {1}
    assert {c.level for c in scan.clips if c.emotion == "happy"} == {2, 3}
    manifest = json.loads((corpus / MANIFEST).read_text())
    assert manifest["pairing"] == "same_id" and manifest["clips"] == 30
    assert len(manifest["actors"]) == 2 and manifest["actors"][0][0] in "MW"
    pairs = emotion_pairs(scan.clips, content=manifest["pairing"])
    assert pairs and all(a.sentence == b.sentence and a.actor == b.actor for a, b in pairs)


def test_clip_files_agree(corpus: Path) -> None:
    clip = next(c for c in scan_mead(corpus).clips if c.emotion == "angry" and c.level == 3)
    with np.load(clip.ground_truth) as gt:
        assert set(CLIP_KEYS) <= set(gt.files)
        frames = gt["lmk2d"].shape[0]
        assert gt["lmk3d"].shape == (frames, 68, 3) and gt["pose"].shape == (frames, 6)
        assert int(gt["label"]) == EMOTIONS.index("angry") and int(gt["level"]) == 3
        assert np.all(np.diff(gt["phoneme_times"][:, 0]) >= 0)
        duration = float(gt["phoneme_times"][-1, 1])
        lmk = gt["lmk2d"]
    info = probe(clip.video)
    assert info.video is not None and info.video.frame_count == frames
    assert (info.video.width, info.video.height) == (96, 96) and info.has_audio
    audio = load_audio(clip.audio, sample_rate=16000)
    assert abs(len(audio) / 16000 - duration) < 0.1
    assert abs(frames / 25 - duration) <= 1 / 25 + 1e-6
    # The landmarks sit on a rendered face: the box they span has facial detail in it.
    with VideoReader(clip.video) as reader:
        image = reader.read(frames // 2).astype(float).mean(axis=2)
    x0, y0 = lmk[frames // 2].min(axis=0).astype(int)
    x1, y1 = lmk[frames // 2].max(axis=0).astype(int)
    face_grad = np.abs(np.diff(image[y0:y1, x0:x1], axis=1)).mean()
    assert face_grad > 2.0


def test_lips_close_on_bilabials_and_open_on_vowels(corpus: Path) -> None:
    gaps_pp, gaps_aa = [], []
    for clip in scan_mead(corpus).clips:
        with np.load(clip.ground_truth) as gt:
            lmk, times, vis = gt["lmk2d"], gt["phoneme_times"], gt["visemes"]
        gap = np.linalg.norm(lmk[:, [61, 62, 63]] - lmk[:, [67, 66, 65]], axis=2).mean(axis=1)
        centres = ((times[:, 0] + times[:, 1]) / 2 * 25).round().astype(int)
        ok = centres < len(gap)
        gaps_pp += list(gap[centres[ok & (vis == "PP")]])
        gaps_aa += list(gap[centres[ok & (vis == "aa")]])
    assert gaps_pp and gaps_aa
    assert np.median(gaps_pp) < 0.5
    assert np.median(gaps_aa) > 2.0


def test_deterministic_whatever_the_worker_count(corpus: Path, tmp_path: Path) -> None:
    config = with_overrides(SMALL, actors=1, levels=(3,))
    run_job(synth_corpus(tmp_path / "parallel", config, jobs=2))
    for path in sorted((tmp_path / "parallel").rglob("*.npz")):
        ref = corpus / path.relative_to(tmp_path / "parallel")
        with np.load(path) as a, np.load(ref) as b:
            for key in ("lmk2d", "lmk3d", "pose", "mouth", "blink"):
                np.testing.assert_array_equal(a[key], b[key])
    same = tmp_path / "parallel/W001/audio/sad/level_3/001.m4a"
    np.testing.assert_array_equal(
        load_audio(same), load_audio(corpus / same.relative_to(tmp_path / "parallel"))
    )


def test_different_seed_gives_different_actors() -> None:
    a, b = make_actors(2, seed=1), make_actors(2, seed=2)
    assert not np.allclose(a[0].shape.points, b[0].shape.points)
    assert a[0].speaker != a[1].speaker


def test_resume_keeps_finished_clips(tmp_path: Path) -> None:
    config = with_overrides(SMALL, actors=1, levels=(3,), size=64)
    cancel = CancelToken()
    job = synth_corpus(tmp_path, config, cancel=cancel)
    for progress in job:
        if progress.done == 3:
            cancel.cancel()
            break
    job.close()
    assert not (tmp_path / MANIFEST).exists()
    written = sorted(tmp_path.rglob("*.npz"))
    assert 3 <= len(written) < 8
    stamp = {p: p.stat().st_mtime_ns for p in written}
    summary = run_job(synth_corpus(tmp_path, config))
    assert summary.clips == 8 and (tmp_path / MANIFEST).exists()
    assert all(p.stat().st_mtime_ns == t for p, t in stamp.items())


def test_refuses_foreign_or_mismatched_folders(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not empty"):
        run_job(synth_corpus(tmp_path, SMALL))
    other = tmp_path / "copy"
    shutil.copytree(corpus, other)
    with pytest.raises(InvalidInputError, match="other settings"):
        run_job(synth_corpus(other, with_overrides(SMALL, seed=99)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"actors": 0}, "actors"),
        ({"sentences": 41}, "sentences"),
        ({"size": 63}, "size"),
        ({"levels": (4,)}, "levels"),
        ({"crf": 60}, "crf"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        with_overrides(PRESETS["tiny"], **changes)


def test_write_clip_skips_finished_clip(corpus: Path) -> None:
    actors = make_actors(SMALL.actors, SMALL.seed)
    spec = SMALL.clip_specs()[0]
    gt = corpus / spec.relative("landmarks", actors[0].name, ".npz")
    before = gt.stat().st_mtime_ns
    frames, seconds = write_clip(corpus, SMALL, actors[0], spec)
    assert gt.stat().st_mtime_ns == before and frames > 0 and seconds == frames / 25


def test_emotion_classifier_trains_on_the_corpus(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evp_studio.cli import main
    from evp_studio.eval import EmotionClassifier

    out = tmp_path / "clf.pt"
    assert (
        main(
            ["train", "emotion-classifier", "--data", str(corpus), "-o", str(out), "--epochs", "30"]
        )
        == 0
    )
    assert "held-out clips (actors split" in capsys.readouterr().out
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["n_train"] == 15 and summary["n_test"] == 15
    assert np.asarray(summary["confusion"]).sum() == 15
    assert summary["train_accuracy"] > 0.9  # it learns its own actor's expressions
    clf = EmotionClassifier.load(out)
    clip = next(c for c in scan_mead(corpus).clips if c.emotion == "surprised")
    with np.load(clip.ground_truth) as gt:
        probs = clf.predict(gt["lmk2d"])
    assert probs.shape == (8,) and abs(float(probs.sum()) - 1) < 1e-5


def test_emotion_classifier_needs_ground_truth(tmp_path: Path) -> None:
    from evp_studio.eval.corpus_classifier import train_on_corpus

    (tmp_path / "M001/audio/angry/level_1").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match=str(tmp_path)):
        train_on_corpus(tmp_path)
