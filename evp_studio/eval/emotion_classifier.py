"""Emotion classifier on landmark sequences, for the "emotion accuracy" metric.

The paper measures emotion accuracy with an off-the-shelf video emotion classifier trained on
MEAD's training set (their [28]; 90.2 % on MEAD's test set). Here the classifier reads the
landmarks of a clip instead of its pixels, so it can be trained on any corpus with landmarks
and labels (the synthetic MEAD-layout corpus, or MEAD) and judges only what the landmarks
show: brows, eyes, mouth and their motion.

Design: frames aligned onto a mean face, summarised per window of ``window`` frames by the
mean aligned positions of the expressive points and the mean and spread over time of 7
expression distances (:mod:`evp_studio.eval._emotion_features`), standardised with the
training set's statistics, then an MLP (two hidden ReLU layers with dropout) over the 8 labels of
:data:`evp_studio.project.EMOTIONS`. A clip's probabilities are the mean over its windows.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from evp_studio.errors import InvalidInputError
from evp_studio.eval._emotion_features import N_FEATURES, build_template, window_features
from evp_studio.project import EMOTIONS

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class EmotionClassifierConfig:
    """Shape of an emotion classifier (saved with its weights).

    Attributes
    ----------
    window
        Frames per feature window (25 = 1 s at the pipeline's 25 fps).
    hidden
        Widths of the hidden layers.
    dropout
        Dropout probability after each hidden layer, during training.
    labels
        Class names, in output order.
    """

    window: int = 25
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.2
    labels: tuple[str, ...] = EMOTIONS


class _Net(nn.Module):
    """Standardise features, then an MLP; the template and statistics are buffers."""

    template: torch.Tensor  # (68, 2) float64, face-frame px
    feat_mean: torch.Tensor  # (N_FEATURES,) float32
    feat_std: torch.Tensor  # (N_FEATURES,) float32

    def __init__(self, config: EmotionClassifierConfig) -> None:
        super().__init__()
        self.register_buffer("template", torch.zeros(68, 2, dtype=torch.float64))
        self.register_buffer("feat_mean", torch.zeros(N_FEATURES))
        self.register_buffer("feat_std", torch.ones(N_FEATURES))
        layers: list[nn.Module] = []
        width = N_FEATURES
        for h in config.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(config.dropout)]
            width = h
        layers.append(nn.Linear(width, len(config.labels)))
        self.mlp = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, N_FEATURES)`` features -> ``(N, n_labels)`` logits."""
        return self.mlp((features - self.feat_mean) / self.feat_std)


class EmotionClassifier:
    """A trained landmark emotion classifier.

    Parameters
    ----------
    config
        Its shape.
    net
        The module; a fresh untrained one when None.
    """

    def __init__(self, config: EmotionClassifierConfig, net: nn.Module | None = None) -> None:
        self.config = config
        self.net = net if net is not None else _Net(config)

    @property
    def template(self) -> np.ndarray:
        """``(68, 2)`` mean face the input is aligned onto, face-frame px."""
        return self.net.get_buffer("template").numpy()

    def features(self, sequence: np.ndarray) -> np.ndarray:
        """``(n_windows, N_FEATURES)`` features of a ``(T, 68, 2)`` px sequence."""
        return window_features(sequence, self.template, self.config.window)

    @torch.inference_mode()
    def predict(self, sequence: np.ndarray) -> np.ndarray:
        """Class probabilities of one clip.

        Parameters
        ----------
        sequence
            ``(T, 68, 2)`` landmarks, px, T >= 1.

        Returns
        -------
        np.ndarray
            ``(8,)`` float64 probabilities in the order of ``config.labels``, summing to 1.

        Raises
        ------
        InvalidInputError
            When the sequence is not a finite ``(T, 68, 2)`` array.
        """
        self.net.eval()
        logits = self.net(torch.from_numpy(self.features(sequence)))
        return torch.softmax(logits, dim=1).mean(dim=0).double().numpy()

    def save(self, path: str | Path) -> None:
        """Write the config and weights to ``path`` (a ``torch.save`` file)."""
        cfg = asdict(self.config)
        cfg["hidden"], cfg["labels"] = list(cfg["hidden"]), list(cfg["labels"])
        payload = {"format": _FORMAT_VERSION, "config": cfg, "state_dict": self.net.state_dict()}
        torch.save(payload, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> EmotionClassifier:
        """Read a classifier written by :meth:`save` (``torch.load(weights_only=True)``).

        Raises
        ------
        InvalidInputError
            When the file is missing, not a classifier file or from another version.
        """
        path = Path(path)
        if not path.is_file():
            raise InvalidInputError(f"{path}: emotion classifier file does not exist")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as e:
            raise InvalidInputError(f"{path}: not an emotion classifier file ({e})") from e
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT_VERSION:
            found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise InvalidInputError(
                f"{path}: classifier format {found!r}, expected {_FORMAT_VERSION}"
            )
        try:
            raw = payload["config"]
            config = EmotionClassifierConfig(
                window=int(raw["window"]),
                hidden=tuple(int(h) for h in raw["hidden"]),
                dropout=float(raw["dropout"]),
                labels=tuple(str(x) for x in raw["labels"]),
            )
            net = _Net(config)
            net.load_state_dict(payload["state_dict"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise InvalidInputError(f"{path}: emotion classifier file is damaged ({e})") from e
        return cls(config, net)


@dataclass
class TrainReport:
    """What training an emotion classifier gave.

    Attributes
    ----------
    train_accuracy, test_accuracy
        Clip-level accuracy (probabilities averaged over windows) on the training and the
        held-out clips; ``test_accuracy`` is None when nothing was held out.
    n_train, n_test
        Clips in each split.
    losses
        Mean training cross-entropy of each epoch.
    """

    train_accuracy: float
    test_accuracy: float | None
    n_train: int
    n_test: int
    losses: list[float] = field(default_factory=list)


def _split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of clip indices; a class with one clip stays in training."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    test: list[int] = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction)) if len(idx) > 1 else 0
        test += idx[:n_test].tolist()
        train += idx[n_test:].tolist()
    return np.array(sorted(train)), np.array(sorted(test), dtype=int)


def _check_training_set(
    sequences: list[np.ndarray], labels: list[int], n_labels: int
) -> np.ndarray:
    if len(sequences) != len(labels) or len(sequences) < 2:
        raise InvalidInputError(
            f"training needs matching sequences and labels (>= 2), got {len(sequences)} "
            f"sequences and {len(labels)} labels"
        )
    y = np.asarray(labels)
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= n_labels:
        raise InvalidInputError(f"emotion labels must be integers in 0..{n_labels - 1}")
    return y.astype(np.int64)


def _fit(
    model: EmotionClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
) -> list[float]:
    """Adam on cross-entropy over shuffled mini-batches; returns the mean loss per epoch."""
    net = model.net
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = loss_fn(net(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    net.eval()
    return losses


def _accuracy(model: EmotionClassifier, sequences: list[np.ndarray], labels: np.ndarray) -> float:
    predicted = np.array([int(np.argmax(model.predict(s))) for s in sequences])
    return float((predicted == labels).mean())


def train_emotion_classifier(
    sequences: list[np.ndarray],
    labels: list[int],
    *,
    seed: int = 0,
    epochs: int = 60,
    config: EmotionClassifierConfig = EmotionClassifierConfig(),  # noqa: B008 - frozen
    test_fraction: float = 0.2,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 1e-3,
) -> tuple[EmotionClassifier, TrainReport]:
    """Train a landmark emotion classifier on labelled clips, holding some out for testing.

    Parameters
    ----------
    sequences
        ``(T_i, 68, 2)`` px landmark clips.
    labels
        Label index of each clip into ``config.labels`` (default: EMOTIONS order).
    seed
        Seeds the split, the weight initialisation and the batch order (the global torch
        random state is left as it was).
    epochs
        Passes over the training windows.
    config
        Window length and network shape.
    test_fraction
        Share of each class's clips held out for ``TrainReport.test_accuracy``.
    lr, batch_size, weight_decay
        Adam learning rate, mini-batch size (windows) and L2 weight decay.

    Returns
    -------
    tuple
        ``(classifier, report)``.

    Raises
    ------
    InvalidInputError
        When sequences and labels do not match, a label is out of range or a sequence is
        not a finite ``(T, 68, 2)`` array.
    """
    y_all = _check_training_set(sequences, labels, len(config.labels))
    train_idx, test_idx = _split(y_all, test_fraction, seed)
    train_seqs = [sequences[i] for i in train_idx]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EmotionClassifier(config)
        model.net.get_buffer("template").copy_(torch.from_numpy(build_template(train_seqs)))
        per_clip = [model.features(s) for s in train_seqs]
        x = torch.from_numpy(np.concatenate(per_clip))
        y = torch.from_numpy(np.repeat(y_all[train_idx], [len(f) for f in per_clip]))
        model.net.get_buffer("feat_mean").copy_(x.mean(dim=0))
        model.net.get_buffer("feat_std").copy_(x.std(dim=0).clamp_min(1e-3))
        losses = _fit(
            model, x, y, epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay
        )
    test_seqs = [sequences[i] for i in test_idx]
    report = TrainReport(
        train_accuracy=_accuracy(model, train_seqs, y_all[train_idx]),
        test_accuracy=_accuracy(model, test_seqs, y_all[test_idx]) if len(test_idx) else None,
        n_train=len(train_idx),
        n_test=len(test_idx),
        losses=losses,
    )
    return model, report
