"""Training of the Cross-Reconstructed Emotion Disentanglement model (paper section 3.2).

Losses per batch of pseudo pairs (:mod:`evp_studio.train.pairs`), all batch means::

    L_cross = |D(Ec(x_im), Ee(x_jn)) - x_in|_1 + |D(Ec(x_jn), Ee(x_im)) - x_jm|_1    eq. 2
    L_self  = |D(Ec(x_im), Ee(x_im)) - x_im|_1 + |D(Ec(x_jn), Ee(x_jn)) - x_jn|_1    eq. 3
    L_cla   = CE(Ce(Ee(x_im)), m) + CE(Ce(Ee(x_jn)), n)                              eq. 4
    L_con   = |Ec(x_im) - Ec(x_in)|_1 + |Ec(x_jn) - Ec(x_jm)|_1                      eq. 5
    L       = L_cross + L_self + lambda_cla L_cla + lambda_con L_con                  eq. 6

The paper writes the reconstruction norms as ||.||_2; the official code uses L1 (as here).
Optimiser: Adam, lr 2e-4, betas (0.5, 0.999), batch 16 (official ``train_content+cla.py``).
Under ``torchrun`` (``torch.distributed`` initialised) the loss module is wrapped in
DistributedDataParallel, batches come from a DistributedSampler, and only rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip, scan_mead, split_clips
from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.models import DisentangleConfig, DisentangleModel
from evp_studio.paths import cache_dir
from evp_studio.project import EMOTIONS
from evp_studio.train._runs import (
    epoch_means,
    epoch_sampler,
    loss_row,
    rank_world,
    restore_run,
    steps_per_epoch,
    weighted_steps,
)
from evp_studio.train.checkpoint import (
    git_revision,
    read_loss_rows,
    resume_state,
    save_checkpoint,
    write_loss_rows,
)
from evp_studio.train.pairs import PairDataset, build_pair_windows
from evp_studio.train.pretrain import labelled_windows, pretrain_encoders

__all__ = ["LOSS_COLUMNS", "DisentangleTrainConfig", "TrainResult", "train_disentangle"]

log = logging.getLogger(__name__)

TERMS = ("cross", "self", "cla", "con")
LOSS_COLUMNS = ("step", "epoch", "total", *TERMS)
CHECKPOINT = "checkpoint.pt"
LOSSES = "losses.csv"
#: Fields that may change between a run and its resumption.
_RESUMABLE = frozenset({"epochs", "device"})


@dataclass(frozen=True)
class DisentangleTrainConfig:
    """Settings of one disentanglement training run.

    Parameters
    ----------
    size
        ``"small"`` or ``"paper"`` (:class:`DisentangleConfig`).
    lambda_cla, lambda_con
        Weights of L_cla and L_con (eq. 6; 1 in the official code).
    lr, batch_size
        Adam learning rate (betas (0.5, 0.999)) and batch size.
    epochs
        Passes over the pair dataset.
    seed
        Seeds weights, shuffling and partner choice.
    device
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    ablate
        Loss terms left out, from ``{"cross", "self", "cla", "con"}`` (their logged value is 0).
    max_steps_per_epoch
        Stop each epoch after this many batches (None: the whole dataset).
    window_stride
        Keep every n-th aligned window when building pairs.
    split
        ``"all"`` clips, or the ``"paper"`` scheme's train split (by sentence id).
    pretrain_steps
        Batches of encoder pretraining (:mod:`evp_studio.train.pretrain`: Ee + Ce on
        emotion, Ec on visemes) before cross-reconstruction; 0 skips it.
    """

    size: str = "small"
    lambda_cla: float = 1.0
    lambda_con: float = 1.0
    lr: float = 2e-4
    batch_size: int = 16
    epochs: int = 100
    seed: int = 0
    device: str = "cpu"
    ablate: frozenset[str] = frozenset()
    max_steps_per_epoch: int | None = None
    window_stride: int = 1
    split: str = "all"
    pretrain_steps: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.ablate) - set(TERMS)
        if unknown:
            raise InvalidInputError(f"ablate: unknown loss terms {sorted(unknown)}, use {TERMS}")
        if self.size not in ("small", "paper"):
            raise InvalidInputError(f"size {self.size!r} is not 'small' or 'paper'")
        if self.split not in ("all", "paper"):
            raise InvalidInputError(f"split {self.split!r} is not 'all' or 'paper'")
        if self.epochs < 1 or self.batch_size < 1:
            raise InvalidInputError("epochs and batch_size must be >= 1")
        if self.pretrain_steps < 0:
            raise InvalidInputError("pretrain_steps must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain data (``ablate`` as a sorted list)."""
        out = dataclasses.asdict(self)
        out["ablate"] = sorted(self.ablate)
        return out


@dataclass(frozen=True)
class TrainResult:
    """What a finished run left behind."""

    checkpoint: Path
    losses_csv: Path
    steps: int
    epochs: int
    last_losses: dict[str, float]  # mean of each LOSS_COLUMNS term over the last epoch
    category_codes: np.ndarray  # (8, emotion_dim) float32, NaN rows for absent emotions
    model: DisentangleModel  # the trained model (this rank's copy under DDP), eval mode


class _LossNet(nn.Module):
    """Computes the four loss terms in ``forward`` (so DistributedDataParallel sees it)."""

    def __init__(self, model: DisentangleModel, ablate: frozenset[str]) -> None:
        super().__init__()
        self.model = model
        self.ablate = ablate

    def forward(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x_im, x_jn, x_in, x_jm, label_m, label_n = batch
        m = self.model
        c_i, e_m = m.encode_content(x_im), m.encode_emotion(x_im)
        c_j, e_n = m.encode_content(x_jn), m.encode_emotion(x_jn)
        zero = x_im.new_zeros(())
        cross = self_ = cla = con = zero
        if "cross" not in self.ablate:  # eq. 2
            cross = F.l1_loss(m.decode(c_i, e_n), x_in) + F.l1_loss(m.decode(c_j, e_m), x_jm)
        if "self" not in self.ablate:  # eq. 3
            self_ = F.l1_loss(m.decode(c_i, e_m), x_im) + F.l1_loss(m.decode(c_j, e_n), x_jn)
        if "cla" not in self.ablate:  # eq. 4
            cla = F.cross_entropy(m.classify(e_m), label_m) + F.cross_entropy(
                m.classify(e_n), label_n
            )
        if "con" not in self.ablate:  # eq. 5, k = i and k = j
            con = F.l1_loss(c_i, m.encode_content(x_in)) + F.l1_loss(c_j, m.encode_content(x_jm))
        return torch.stack([cross, self_, cla, con])


def _training_clips(data_root: Path, config: DisentangleTrainConfig) -> tuple[Clip, ...]:
    clips = scan_mead(data_root, require=("audio",)).clips
    if config.split == "paper":
        clips = tuple(split_clips(clips, scheme="paper")["train"])
    return tuple(clips)


def _dataset(
    data_root: Path, clips: tuple[Clip, ...], config: DisentangleTrainConfig, cache: FeatureCache
) -> PairDataset:
    return build_pair_windows(
        data_root, clips, cache=cache, window_stride=config.window_stride, seed=config.seed
    )


def _weights(config: DisentangleTrainConfig) -> torch.Tensor:
    lam = {"cross": 1.0, "self": 1.0, "cla": config.lambda_cla, "con": config.lambda_con}
    return torch.tensor([0.0 if t in config.ablate else lam[t] for t in TERMS])


@torch.inference_mode()
def mean_emotion_codes(
    model: DisentangleModel, labelled: Iterable[tuple[int, np.ndarray]], device: str
) -> torch.Tensor:
    """Return the mean emotion code Ee(x) of each category over labelled windows.

    Parameters
    ----------
    model
        The encoder (put in eval mode here).
    labelled
        ``(label, (N, 28, 12) windows)`` per clip; every window counts once.
    device
        Torch device.

    Returns
    -------
    torch.Tensor
        (8, emotion_dim) float32; rows of emotions absent from the data are NaN.
    """
    model.eval()
    sums = torch.zeros(len(EMOTIONS), model.config.emotion_dim, dtype=torch.float64)
    counts = torch.zeros(len(EMOTIONS), dtype=torch.float64)
    for label, windows in labelled:
        for start in range(0, windows.shape[0], 256):
            x = torch.from_numpy(windows[start : start + 256]).unsqueeze(1).to(device)
            sums[label] += model.encode_emotion(x).double().sum(0).cpu()
            counts[label] += x.shape[0]
    return (sums / counts.unsqueeze(1)).float()  # 0 / 0 -> NaN for absent emotions


def category_codes(model: DisentangleModel, ds: PairDataset, device: str) -> torch.Tensor:
    """:func:`mean_emotion_codes` over a pair dataset (every aligned clip's windows once)."""
    return mean_emotion_codes(model, ds.source_windows(), device)


def train_disentangle(
    data_root: str | Path,
    out_dir: str | Path,
    config: DisentangleTrainConfig,
    *,
    cancel: CancelToken | None = None,
    resume: bool = True,
) -> Job[TrainResult]:
    """Train Ec, Ee, D and Ce with eqs. 2-6; yields Progress(done=step, total=all steps).

    Parameters
    ----------
    data_root
        MEAD-layout corpus (real or synthetic); MFCC is cached under ``cache_dir()/features``.
    out_dir
        Receives ``checkpoint.pt`` (saved atomically after each epoch) and ``losses.csv``.
    config
        Run settings.
    cancel
        Checked before every step; a cancelled run keeps its last epoch's checkpoint.
    resume
        Continue from ``out_dir/checkpoint.pt`` when it exists (finished epochs are not
        redone); False starts over and overwrites.

    Returns
    -------
    Job[TrainResult]
        The generator; its return value describes the run.

    Raises
    ------
    InvalidInputError
        When the corpus has no pairs, or a resumed checkpoint has other settings.
    Cancelled
        When ``cancel`` is set.
    """
    out, data_root = Path(out_dir), Path(data_root)
    rank, _ = rank_world()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    yield Progress("Building DTW pairs", 0, 0)
    clips = _training_clips(data_root, config)
    cache = FeatureCache(cache_dir() / "features")
    ds = _dataset(data_root, clips, config, cache)
    run = _Run(
        config, ds, out, resume_state(out / CHECKPOINT, config.to_dict(), resume, _RESUMABLE)
    )
    if run.step == 0 and config.pretrain_steps > 0 and "pretrain" not in run.metrics:
        yield Progress("Collecting labelled windows", 0, 0)
        run.metrics["pretrain"] = yield from pretrain_encoders(
            run.model,
            labelled_windows(clips, cache),
            steps=config.pretrain_steps,
            seed=config.seed,
            device=config.device,
            cancel=cancel,
        )
    total = config.epochs * run.steps_per_epoch
    for epoch in range(run.epoch, config.epochs):
        for _ in run.train_epoch(epoch, cancel):
            yield Progress(f"Training epoch {epoch + 1}/{config.epochs}", run.step, total)
        run.save(with_codes=epoch + 1 == config.epochs)
    if run.codes is None:
        run.save(with_codes=True)
    return run.result()


class _Run:
    """The mutable state of one training run: model, optimiser, counters, log rows."""

    def __init__(
        self,
        config: DisentangleTrainConfig,
        ds: PairDataset,
        out: Path,
        state: dict[str, Any] | None,
    ) -> None:
        self.config, self.ds, self.out = config, ds, out
        self.rank, world = rank_world()
        torch.manual_seed(config.seed)
        size = DisentangleConfig.small() if config.size == "small" else DisentangleConfig.paper()
        self.model = DisentangleModel(size).to(config.device)
        self.net: nn.Module = _LossNet(self.model, config.ablate)
        if world > 1:
            self.net = DistributedDataParallel(self.net, find_unused_parameters=bool(config.ablate))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=(0.5, 0.999))
        self.weights = _weights(config).to(config.device)
        self.steps_per_epoch = steps_per_epoch(ds, config.batch_size, config.max_steps_per_epoch)
        self.step, self.epoch = 0, 0
        self.codes: torch.Tensor | None = None
        self.metrics: dict[str, Any] = {"epoch_losses": []}
        if state is not None:
            self.step, self.epoch, self.metrics = restore_run(
                state, self.model, self.opt, self.metrics
            )
            codes = state.get("category_codes")
            self.codes = codes if self.epoch >= config.epochs else None
        self.rows: list[dict[str, Any]] = read_loss_rows(out / LOSSES, self.step)

    def train_epoch(self, epoch: int, cancel: CancelToken | None) -> Job[None]:
        """Run one epoch, yielding after every step."""
        torch.manual_seed(self.config.seed * 100_003 + epoch)
        self.ds.set_epoch(epoch)
        loader = DataLoader(
            self.ds,
            batch_size=self.config.batch_size,
            sampler=epoch_sampler(self.ds, self.config.seed, epoch),
        )
        self.model.train()
        steps = weighted_steps(
            self.net, self.opt, loader, self.weights,
            max_steps=self.steps_per_epoch, device=self.config.device, cancel=cancel,
        )  # fmt: skip
        for terms, loss in steps:
            self.step += 1
            self._log(epoch, terms, loss)
            yield Progress("step", self.step, 0)
        if dist.is_available() and dist.is_initialized():
            for buffer in self.model.buffers():  # batch-norm statistics: rank 0's, as DDP
                dist.broadcast(buffer, src=0)
        self.epoch = epoch + 1

    def _log(self, epoch: int, terms: torch.Tensor, loss: torch.Tensor) -> None:
        self.rows.append(loss_row(self.step, epoch, TERMS, loss, terms))

    def result(self) -> TrainResult:
        """Describe the finished run."""
        assert self.codes is not None
        return TrainResult(
            checkpoint=self.out / CHECKPOINT,
            losses_csv=self.out / LOSSES,
            steps=self.step,
            epochs=self.epoch,
            last_losses=self.last_losses(),
            category_codes=self.codes.numpy(),
            model=self.model.eval(),
        )

    def last_losses(self) -> dict[str, float]:
        """Mean of each loss column over the rows of the last finished epoch."""
        return epoch_means(self.rows, self.epoch - 1, ("total", *TERMS))

    def save(self, *, with_codes: bool) -> None:
        """Write the log and the checkpoint (rank 0), after computing category codes."""
        if with_codes:
            self.codes = category_codes(self.model, self.ds, self.config.device)
        self.metrics["epoch_losses"].append({"epoch": self.epoch, **self.last_losses()})
        if self.rank != 0:
            return
        write_loss_rows(self.out / LOSSES, LOSS_COLUMNS, self.rows)
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "config": self.config.to_dict(),
            "model_config": dataclasses.asdict(self.model.config),
            "data": self.ds.summary,
            "git_revision": git_revision(),
            "metrics": self.metrics,
            "category_codes": self.codes,
            "emotions": list(EMOTIONS),
        }
        save_checkpoint(self.out / CHECKPOINT, state)
        log.info("epoch %d, step %d: %s", self.epoch, self.step, self.last_losses())
