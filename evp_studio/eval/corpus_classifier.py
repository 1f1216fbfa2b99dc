"""Training the landmark emotion classifier on a MEAD-layout corpus, with a held-out test.

The classifier behind the "emotion accuracy" metric has to be trusted before it scores
anything, so it is trained on clips of some actors (or sentences) and its own accuracy is
measured on the clips it never saw, as the paper reports 90.2 % for its classifier. The
landmarks are the corpus's ground truth (``lmk2d`` in each clip's npz); real MEAD has none
and needs tracked landmarks, which the landmark tracker provides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from evp_studio.data.mead import Clip, scan_mead, split_clips
from evp_studio.errors import InvalidInputError
from evp_studio.project import EMOTIONS

if TYPE_CHECKING:
    from evp_studio.eval.emotion_classifier import EmotionClassifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusClassifierReport:
    """Accuracy of a classifier trained on a corpus.

    ``confusion[i, j]`` counts held-out clips of emotion i classified as j (label order).
    """

    split: str
    n_train: int
    n_test: int
    train_accuracy: float
    test_accuracy: float
    confusion: np.ndarray  # (8, 8) int64
    final_loss: float

    def per_class_accuracy(self) -> dict[str, float]:
        """Recall of each emotion on the held-out clips."""
        rows = self.confusion.sum(axis=1)
        return {
            e: float(self.confusion[i, i] / rows[i]) if rows[i] else float("nan")
            for i, e in enumerate(EMOTIONS)
        }


def _load(clips: list[Clip]) -> tuple[list[np.ndarray], list[int]]:
    seqs, labels = [], []
    for clip in clips:
        assert clip.ground_truth is not None
        with np.load(clip.ground_truth) as gt:
            seqs.append(gt["lmk2d"].astype(np.float32))
        labels.append(clip.label)
    return seqs, labels


def train_on_corpus(
    root: Path,
    *,
    split: Literal["actors", "paper"] = "actors",
    seed: int = 0,
    epochs: int = 60,
) -> tuple[EmotionClassifier, CorpusClassifierReport]:
    """Train the emotion classifier on ``root``'s train split; test on its test split.

    Parameters
    ----------
    root
        A MEAD-layout corpus with ground-truth landmarks (the synthetic corpus).
    split
        ``"actors"``: test on unseen actors (identity generalisation, the default);
        ``"paper"``: test on unseen sentences (MEAD's 001-009).
    seed, epochs
        Training seed and passes.

    Raises
    ------
    InvalidInputError
        When the corpus has no ground-truth landmarks or a split comes out empty.
    """
    from evp_studio.eval.emotion_classifier import train_emotion_classifier  # noqa: PLC0415

    clips = scan_mead(root, require=("ground_truth",)).clips
    if not clips:
        raise InvalidInputError(
            f"{root}: no clip has ground-truth landmarks (<actor>/landmarks/...npz); "
            "train the classifier on the synthetic corpus"
        )
    parts = split_clips(clips, scheme=split, seed=seed)
    train, test = parts["train"] + parts["val"], parts["test"]
    if not train or not test:
        raise InvalidInputError(
            f"{root}: the {split!r} split leaves {len(train)} training and {len(test)} test "
            "clips; the corpus needs more actors or sentences"
        )
    seqs, labels = _load(train)
    model, report = train_emotion_classifier(
        seqs, labels, seed=seed, epochs=epochs, test_fraction=0
    )
    test_seqs, test_labels = _load(test)
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
    for seq, label in zip(test_seqs, test_labels, strict=True):
        confusion[label, int(np.argmax(model.predict(seq)))] += 1
    result = CorpusClassifierReport(
        split,
        len(train),
        len(test),
        report.train_accuracy,
        float(np.trace(confusion) / confusion.sum()),
        confusion,
        report.losses[-1] if report.losses else float("nan"),
    )
    log.info(
        "emotion classifier: %.1f %% on %d held-out clips (%s split)",
        100 * result.test_accuracy,
        result.n_test,
        split,
    )
    return model, result
