"""The landmark emotion classifier learns fabricated expressions and survives a save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.eval import EmotionClassifier, TrainReport, train_emotion_classifier
from tests.core.test_eval_support import N_CLASSES, emotion_clips, random_similarity


@pytest.fixture(scope="module")
def trained() -> tuple[EmotionClassifier, TrainReport]:
    clips, labels = emotion_clips(10, seed=0)
    return train_emotion_classifier(clips, labels, seed=0, epochs=40)


def test_it_learns_fabricated_expressions(trained: tuple[EmotionClassifier, TrainReport]) -> None:
    _, report = trained
    assert report.n_train == 64 and report.n_test == 16  # 2 of each class's 10 held out
    assert report.test_accuracy is not None and report.test_accuracy >= 0.9, report
    assert report.train_accuracy >= 0.9
    assert len(report.losses) == 40 and report.losses[-1] < 0.3 * report.losses[0]


def test_it_generalises_to_new_clips_and_head_poses(
    trained: tuple[EmotionClassifier, TrainReport],
) -> None:
    model, _ = trained
    clips, labels = emotion_clips(3, seed=99, frames=(20, 80))
    predicted = [int(np.argmax(model.predict(c))) for c in clips]
    assert np.mean(np.array(predicted) == labels) >= 0.9
    # moving the head again changes nothing: the features are aligned first
    moved = random_similarity(clips[0], np.random.default_rng(5))
    np.testing.assert_allclose(model.predict(moved), model.predict(clips[0]), atol=1e-5)


def test_predict_gives_8_probabilities_even_for_one_frame(
    trained: tuple[EmotionClassifier, TrainReport],
) -> None:
    model, _ = trained
    clip = emotion_clips(1, seed=3)[0][0]
    for sequence in (clip, clip[:1]):
        probs = model.predict(sequence)
        assert probs.shape == (N_CLASSES,) and probs.min() >= 0
        assert probs.sum() == pytest.approx(1.0)


def test_save_and_load_give_the_same_answers(
    trained: tuple[EmotionClassifier, TrainReport], tmp_path: Path
) -> None:
    model, _ = trained
    path = tmp_path / "emotion.pt"
    model.save(path)
    assert set(torch.load(path, weights_only=True)) == {"format", "config", "state_dict"}
    loaded = EmotionClassifier.load(path)
    assert loaded.config == model.config
    clip = emotion_clips(1, seed=4)[0][5]
    np.testing.assert_allclose(loaded.predict(clip), model.predict(clip), atol=1e-7)


def test_training_is_reproducible_and_leaves_torch_random_state_alone() -> None:
    clips, labels = emotion_clips(2, seed=1, frames=(26, 30))
    state = torch.random.get_rng_state()
    _, first = train_emotion_classifier(clips, labels, seed=3, epochs=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    _, second = train_emotion_classifier(clips, labels, seed=3, epochs=3)
    assert first.losses == second.losses


def test_bad_training_sets_and_files_are_refused(tmp_path: Path) -> None:
    clips, _ = emotion_clips(1, seed=2)
    with pytest.raises(InvalidInputError, match="8 sequences and 3 labels"):
        train_emotion_classifier(clips, [0, 1, 2])
    with pytest.raises(InvalidInputError, match=r"integers in 0\.\.7"):
        train_emotion_classifier(clips, [0, 1, 2, 3, 4, 5, 6, 8])
    with pytest.raises(InvalidInputError, match="does not exist"):
        EmotionClassifier.load(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(InvalidInputError, match="garbage.pt: not an emotion classifier"):
        EmotionClassifier.load(garbage)
    wrong = tmp_path / "wrong.pt"
    torch.save({"format": 99}, wrong)
    with pytest.raises(InvalidInputError, match="wrong.pt: classifier format 99"):
        EmotionClassifier.load(wrong)
