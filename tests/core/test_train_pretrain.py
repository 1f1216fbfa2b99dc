"""Encoder pretraining: viseme labels under window centres, labelled windows, learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evp_studio.audio import audio_windows
from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import scan_mead
from evp_studio.data.speech import VISEMES
from evp_studio.data.synth import PRESETS, synth_corpus, with_overrides
from evp_studio.errors import Cancelled, InvalidInputError
from evp_studio.jobs import CancelToken, run_job
from evp_studio.models import DisentangleConfig, DisentangleModel
from evp_studio.train import DisentangleTrainConfig, load_checkpoint, train_disentangle
from evp_studio.train.pretrain import (
    labelled_windows,
    pretrain_encoders,
    viseme_labels,
    window_centres_s,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pretrain_corpus")
    run_job(synth_corpus(out, with_overrides(PRESETS["tiny"], video=False)))
    return out


def test_window_centres_follow_the_padding() -> None:
    centres = window_centres_s(3)
    # rows 4k..4k+27 of the padded MFCC: [0.04k, 0.04k + 0.295] s padded, minus 0.12 s
    np.testing.assert_allclose(centres, [0.0275, 0.0675, 0.1075])


def test_viseme_labels_read_the_phoneme_under_each_centre(tmp_path: Path) -> None:
    npz = tmp_path / "gt.npz"
    np.savez(
        npz,
        visemes=np.array(["sil", "PP", "aa"]),
        phoneme_times=np.array([[0.0, 0.05], [0.05, 0.1], [0.1, 0.2]]),
    )
    labels = viseme_labels(npz, 6)  # centres 0.0275 ... 0.2275
    idx = {v: i for i, v in enumerate(VISEMES)}
    assert labels.tolist() == [idx["sil"], idx["PP"], idx["aa"], idx["aa"], idx["aa"], idx["sil"]]
    bare = tmp_path / "bare.npz"
    np.savez(bare, lmk2d=np.zeros((2, 68, 2)))
    assert (viseme_labels(bare, 4) == -1).all()
    bad = tmp_path / "bad.npz"
    np.savez(bad, visemes=np.array(["zz"]), phoneme_times=np.array([[0.0, 1.0]]))
    with pytest.raises(InvalidInputError, match="bad.npz"):
        viseme_labels(bad, 2)


def test_labelled_windows_cover_every_clip(corpus: Path, tmp_path: Path) -> None:
    clips = scan_mead(corpus, require=("audio",)).clips
    data = labelled_windows(clips, FeatureCache(tmp_path / "cache"))
    assert len(data.mfcc) == len(clips)
    assert len(data) == int(data.index.shape[0]) == data.emotion.shape[0]
    assert set(data.emotion.tolist()) == {c.label for c in clips}
    assert (data.viseme >= 0).all()  # the synthetic corpus times every phoneme
    sil = VISEMES.index("sil")
    assert 0.02 < np.mean(data.viseme == sil) < 0.6  # speech, with pauses at both ends
    assert len(set(data.viseme.tolist())) >= 8
    # batch() gives the same windows as the audio front end
    first = clips[0]
    from evp_studio.media import load_audio  # noqa: PLC0415

    ref = audio_windows(load_audio(first.audio, sample_rate=16000))
    rows = np.flatnonzero(data.index[:, 0] == 0)[:5]
    np.testing.assert_allclose(data.batch(rows)[:, 0].numpy(), ref[:5], atol=1e-4)


def test_pretraining_learns_emotion_and_visemes(corpus: Path, tmp_path: Path) -> None:
    clips = scan_mead(corpus, require=("audio",)).clips
    data = labelled_windows(clips, FeatureCache(tmp_path / "cache"))
    torch.manual_seed(0)
    model = DisentangleModel(DisentangleConfig.small())
    decoder_before = [p.detach().clone() for p in model.decoder.parameters()]
    metrics = run_job(pretrain_encoders(model, data, steps=150, batch_size=32, seed=0))
    chance_emotion = np.bincount(data.emotion).max() / len(data)
    majority_viseme = np.bincount(data.viseme).max() / len(data)
    assert metrics["emotion_accuracy"] > chance_emotion + 0.25, metrics
    assert metrics["viseme_accuracy"] > majority_viseme + 0.15, metrics
    # the decoder is not part of pretraining
    for before, after in zip(decoder_before, model.decoder.parameters(), strict=True):
        assert torch.equal(before, after)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(pretrain_encoders(model, data, steps=5, cancel=token))


def test_train_disentangle_records_pretraining(corpus: Path, tmp_path: Path) -> None:
    config = DisentangleTrainConfig(
        batch_size=8, epochs=1, max_steps_per_epoch=3, window_stride=4, pretrain_steps=10
    )
    result = run_job(train_disentangle(corpus, tmp_path / "run", config))
    state = load_checkpoint(result.checkpoint)
    pre = state["metrics"]["pretrain"]
    assert set(pre) == {"emotion_accuracy", "viseme_accuracy", "emotion_loss", "viseme_loss"}
    assert state["config"]["pretrain_steps"] == 10
    with pytest.raises(InvalidInputError, match="pretrain_steps"):
        DisentangleTrainConfig(pretrain_steps=-1)
