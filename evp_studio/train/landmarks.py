"""Training of the audio-to-landmark network (paper section 3.3, eq. 7).

Losses per batch of sequences (:mod:`evp_studio.train._landmark_data`), all batch means,
with landmarks in the canonical space (unit: outer eye-corner distance) and errors
reported in percent of it (hence the factor 100^2)::

    L_lm  = 1e4 * mean_t,p |l_hat_tp - l_tp|^2                         eq. 7, squared L2
    L_vel = 1e4 * mean_t,p |(l_hat_t+1 - l_hat_t) - (l_t+1 - l_t)|^2     temporal term
    L     = L_lm + lambda_vel * L_vel

``l_hat = l_a + basis @ d`` (:mod:`evp_studio.models.audio2landmark`). The paper writes eq. 7
as an L2 distance; the official code takes MSEs of the PCA coefficients and of the
reconstructed coordinates (for an orthonormal basis the two differ by a constant), so L_lm
is the coordinate MSE. The velocity term is ours: it keeps mouth motion from lagging.

Encoders: Ec and Ee come from a disentanglement model file (default: the registry's
``disentangle-small``) and are frozen by default (their codes are computed once per clip);
``finetune_encoders`` trains them too (the official code fine-tunes everything) with
``lr * encoder_lr_scale``, batch-norm statistics frozen. The emotion input is Ee of the
clip's own audio (the paper), or, with probability ``category_code_prob`` per sequence, the
clip category's mean code (what keyframed emotion feeds at inference).

Optimiser: Adam, lr 2e-4, betas (0.5, 0.999), batch 16 (official). Under ``torchrun`` the
loss module is wrapped in DistributedDataParallel, sequences come from a DistributedSampler
and only rank 0 writes. Checkpoints (:mod:`evp_studio.models.audio2landmark_io` format plus
optimiser and counters) are saved atomically after every epoch; runs resume from them.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip, scan_mead, split_clips
from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.models import DisentangleModel
from evp_studio.models.audio2landmark import Audio2Landmark, Audio2LandmarkConfig
from evp_studio.models.audio2landmark_io import (
    FORMAT,
    FORMAT_VERSION,
    landmark_state,
)
from evp_studio.models.io import inference_state, load_disentangle, model_from_state
from evp_studio.paths import cache_dir
from evp_studio.project import EMOTIONS
from evp_studio.train._landmark_data import (
    ClipSeries,
    SequenceDataset,
    actor_identities,
    category_means,
    code_stats,
    encode_windows,
    fit_basis,
    load_series,
)
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

__all__ = [
    "LANDMARK_LOSS_COLUMNS",
    "LandmarkTrainConfig",
    "LandmarkTrainResult",
    "train_landmarks",
]

log = logging.getLogger(__name__)

TERMS = ("landmark", "velocity")
LANDMARK_LOSS_COLUMNS = ("step", "epoch", "total", *TERMS)
CHECKPOINT = "checkpoint.pt"
LOSSES = "losses.csv"
LOSS_SCALE = 1e4  # canonical units -> (percent of the eye-corner distance)^2
#: Fields that may change between a run and its resumption (the encoder is in the checkpoint).
_RESUMABLE = frozenset({"epochs", "device", "encoder"})


@dataclass(frozen=True)
class LandmarkTrainConfig:
    """Settings of one audio-to-landmark training run.

    Parameters
    ----------
    size
        ``"small"`` or ``"paper"`` (:class:`Audio2LandmarkConfig`); the encoder's code sizes
        must match it.
    encoder
        Disentanglement model file the encoders start from; None: ``disentangle-small``
        from the registry.
    finetune_encoders
        Train Ec and Ee too (lr times ``encoder_lr_scale``); False keeps them frozen.
    encoder_lr_scale
        Learning-rate factor of the encoders when fine-tuned.
    n_coeffs
        Landmark basis size K (PCA of the training frames); None: the size's (16 paper,
        32 small); 136: raw coordinates, no PCA.
    lambda_vel
        Weight of the velocity term.
    category_code_prob
        Probability that a sequence's emotion input is its category's mean code.
    seq_len, seq_stride
        Frames per training sequence and spacing of their starts.
    lr, batch_size, epochs, seed, device, max_steps_per_epoch, split
        As in :class:`evp_studio.train.DisentangleTrainConfig`.
    """

    size: str = "small"
    encoder: str | None = None
    finetune_encoders: bool = False
    encoder_lr_scale: float = 0.1
    n_coeffs: int | None = None
    lambda_vel: float = 1.0
    category_code_prob: float = 0.25
    seq_len: int = 32
    seq_stride: int = 16
    lr: float = 2e-4
    batch_size: int = 16
    epochs: int = 50
    seed: int = 0
    device: str = "cpu"
    max_steps_per_epoch: int | None = None
    split: str = "all"

    def __post_init__(self) -> None:
        Audio2LandmarkConfig.of_size(self.size)  # validates the name
        if self.split not in ("all", "paper"):
            raise InvalidInputError(f"split {self.split!r} is not 'all' or 'paper'")
        if self.epochs < 1 or self.batch_size < 1 or self.seq_len < 2 or self.seq_stride < 1:
            raise InvalidInputError("epochs, batch_size, seq_stride must be >= 1, seq_len >= 2")
        if not 0.0 <= self.category_code_prob <= 1.0:
            raise InvalidInputError(f"category_code_prob {self.category_code_prob} not in [0, 1]")
        if self.lr <= 0 or self.encoder_lr_scale < 0 or self.lambda_vel < 0:
            raise InvalidInputError("lr must be > 0; encoder_lr_scale, lambda_vel >= 0")
        if self.n_coeffs is not None and not 0 < self.n_coeffs <= 136:
            raise InvalidInputError(f"n_coeffs {self.n_coeffs} is not in 1..136")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain data."""
        return dataclasses.asdict(self)

    def model_config(self, content_dim: int, emotion_dim: int) -> Audio2LandmarkConfig:
        """The network's sizes, checked against the encoder's code sizes.

        Raises
        ------
        InvalidInputError
            When the encoder's codes do not fit the size.
        """
        base = Audio2LandmarkConfig.of_size(self.size)
        if (base.content_dim, base.emotion_dim) != (content_dim, emotion_dim):
            raise InvalidInputError(
                f"size {self.size!r} takes content/emotion codes of {base.content_dim}/"
                f"{base.emotion_dim}, the encoder gives {content_dim}/{emotion_dim}: "
                "use the encoder of the same size"
            )
        return base if self.n_coeffs is None else base.with_coeffs(self.n_coeffs)


@dataclass(frozen=True)
class LandmarkTrainResult:
    """What a finished run left behind."""

    checkpoint: Path
    losses_csv: Path
    steps: int
    epochs: int
    last_losses: dict[str, float]  # mean of each loss column over the last epoch
    model: Audio2Landmark  # the trained model (this rank's copy under DDP), eval mode
    encoder: DisentangleModel  # the encoder it was trained with, eval mode
    category_codes: np.ndarray | None  # (8, d_e) of that encoder, NaN rows for absent ones


class _LossNet(nn.Module):
    """Computes L_lm and L_vel in ``forward`` (so DistributedDataParallel sees it)."""

    def __init__(self, model: Audio2Landmark, encoder: DisentangleModel | None) -> None:
        super().__init__()
        self.model = model
        self.con = encoder.con_encoder if encoder is not None else None
        self.emo = encoder.emo_encoder if encoder is not None else None

    def forward(self, batch: list[torch.Tensor]) -> torch.Tensor:
        audio, code, use, identity, target = batch
        b, t = audio.shape[:2]
        d_c = self.model.config.content_dim
        if self.con is not None and self.emo is not None:
            x = audio.reshape(b * t, 1, *audio.shape[2:])
            content = self.con(x).view(b, t, -1)
            emotion = self.emo(x).view(b, t, -1)
        else:
            content, emotion = audio[..., :d_c], audio[..., d_c:]
        emotion = torch.where(use[:, None, None] > 0, code[:, None, :].expand_as(emotion), emotion)
        pred = self.model(content, emotion, identity)
        lm = (pred - target).pow(2).sum(-1).mean()
        vel = (pred.diff(dim=1) - target.diff(dim=1)).pow(2).sum(-1).mean()
        return LOSS_SCALE * torch.stack([lm, vel])


def _training_clips(data_root: Path, config: LandmarkTrainConfig) -> tuple[Clip, ...]:
    try:
        clips = scan_mead(data_root, require=("audio", "ground_truth")).clips
    except InvalidInputError as e:
        raise InvalidInputError(
            f"{e} (audio-to-landmark training needs ground-truth landmarks per clip, "
            "<actor>/landmarks/<emotion>/level_<k>/<nnn>.npz, as the synthetic corpus has)"
        ) from e
    if config.split == "paper":
        clips = tuple(split_clips(clips, scheme="paper")["train"])
    if not clips:
        raise InvalidInputError(f"{data_root}: no training clips in the {config.split!r} split")
    return tuple(clips)


def _encoder_source(config: LandmarkTrainConfig) -> Path:
    if config.encoder is not None:
        return Path(config.encoder)
    from evp_studio.weights import resolve  # noqa: PLC0415 - registry on demand

    return resolve("disentangle-small")


def _load_encoder(
    config: LandmarkTrainConfig, state: dict[str, Any] | None
) -> tuple[DisentangleModel, np.ndarray | None, dict[str, Any]]:
    """The encoder, its category codes and where it came from (a resumed run's own copy)."""
    if state is not None:
        raw = state["encoder"]
        model, _ = model_from_state(raw, "checkpoint encoder")
        codes = raw.get("category_codes")
        return model, None if codes is None else codes.numpy(), dict(raw.get("source", {}))
    path = _encoder_source(config)
    from evp_studio.weights import file_sha256  # noqa: PLC0415

    loaded = load_disentangle(path)
    return loaded.model, loaded.category_codes, {"path": str(path), "sha256": file_sha256(path)}


def train_landmarks(
    data_root: str | Path,
    out_dir: str | Path,
    config: LandmarkTrainConfig,
    *,
    cancel: CancelToken | None = None,
    resume: bool = True,
) -> Job[LandmarkTrainResult]:
    """Train the audio-to-landmark network; yields Progress(done=step, total=all steps).

    Parameters
    ----------
    data_root
        MEAD-layout corpus with ground-truth landmarks (the synthetic corpus); MFCC and
        canonical landmarks are cached under ``cache_dir()/features``.
    out_dir
        Receives ``checkpoint.pt`` (saved atomically after each epoch) and ``losses.csv``.
    config
        Run settings.
    cancel
        Checked before every step and clip; a cancelled run keeps its last checkpoint.
    resume
        Continue from ``out_dir/checkpoint.pt`` when it exists (finished epochs are not
        redone; the encoder comes from the checkpoint); False starts over.

    Returns
    -------
    Job[LandmarkTrainResult]
        The generator; its return value describes the run.

    Raises
    ------
    InvalidInputError
        When the corpus has no usable clips, the encoder does not fit the size, or a
        resumed checkpoint has other settings.
    ModelNotFoundError
        When no encoder file is given and the default one is missing.
    Cancelled
        When ``cancel`` is set.
    """
    out, data_root = Path(out_dir), Path(data_root)
    rank, _ = rank_world()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    state = resume_state(out / CHECKPOINT, config.to_dict(), resume, _RESUMABLE)
    encoder, codes, source = _load_encoder(config, state)
    config.model_config(encoder.config.content_dim, encoder.config.emotion_dim)  # fail early
    clips = _training_clips(data_root, config)
    cache = FeatureCache(cache_dir() / "features")
    series: list[ClipSeries] = []
    for s in load_series(clips, cache):
        if cancel is not None:
            cancel.check()
        series.append(s)
        yield Progress("Reading clips", len(series), len(clips))
    run = _Run(config, series, encoder, codes, source, out, state)
    total = config.epochs * run.steps_per_epoch
    for epoch in range(run.epoch, config.epochs):
        for _ in run.train_epoch(epoch, cancel):
            yield Progress(f"Training epoch {epoch + 1}/{config.epochs}", run.step, total)
        run.save()
    return run.result()


class _Run:
    """The mutable state of one training run: models, optimiser, counters, log rows."""

    def __init__(
        self,
        config: LandmarkTrainConfig,
        series: list[ClipSeries],
        encoder: DisentangleModel,
        codes: np.ndarray | None,
        source: dict[str, Any],
        out: Path,
        state: dict[str, Any] | None,
    ) -> None:
        self.config, self.out, self.source, self.codes = config, out, source, codes
        self.rank, world = rank_world()
        dev = config.device
        self.series = series
        self.encoder = encoder.to(dev).eval()
        self.encoder.requires_grad_(config.finetune_encoders)
        torch.manual_seed(config.seed)
        d_c, d_e = encoder.config.content_dim, encoder.config.emotion_dim
        self.model = Audio2Landmark(config.model_config(d_c, d_e))
        mean, comps = fit_basis(series, self.model.config.n_coeffs)
        self.model.set_basis(torch.from_numpy(mean), torch.from_numpy(comps))
        codes_per_clip = [encode_windows(self.encoder, s.windows, dev) for s in series]
        mean, scale = code_stats(codes_per_clip)
        self.model.set_code_stats(torch.from_numpy(mean), torch.from_numpy(scale))
        self.model.to(dev)
        self.ds = self._dataset(d_e, codes_per_clip)
        self.net: nn.Module = _LossNet(self.model, encoder if config.finetune_encoders else None)
        if world > 1:
            self.net = DistributedDataParallel(self.net)
        groups = [{"params": list(self.model.parameters()), "lr": config.lr}]
        if config.finetune_encoders:
            enc = [*encoder.con_encoder.parameters(), *encoder.emo_encoder.parameters()]
            groups.append({"params": enc, "lr": config.lr * config.encoder_lr_scale})
        self.opt = torch.optim.Adam(groups, lr=config.lr, betas=(0.5, 0.999))
        self.weights = torch.tensor([1.0, config.lambda_vel], device=dev)
        self.steps_per_epoch = steps_per_epoch(
            self.ds, config.batch_size, config.max_steps_per_epoch
        )
        self.step, self.epoch = 0, 0
        self.metrics: dict[str, Any] = {"epoch_losses": []}
        if state is not None:
            self.step, self.epoch, self.metrics = restore_run(
                state, self.model, self.opt, self.metrics
            )
        self.rows: list[dict[str, Any]] = read_loss_rows(out / LOSSES, self.step)

    def _dataset(self, emotion_dim: int, codes: list[np.ndarray]) -> SequenceDataset:
        c = self.config
        audio = [s.windows for s in self.series] if c.finetune_encoders else codes
        ds = SequenceDataset(
            self.series,
            audio,
            actor_identities(self.series),
            seq_len=c.seq_len,
            stride=c.seq_stride,
            emotion_dim=emotion_dim,
            seed=c.seed,
        )
        if len(ds) == 0:
            raise InvalidInputError(
                f"no training sequences: every clip is shorter than seq_len {c.seq_len} frames"
            )
        if self.codes is None and c.category_code_prob > 0:
            log.warning("the encoder has no category codes: emotion input is always Ee(audio)")
        ds.set_category_codes(self.codes, c.category_code_prob)
        return ds

    def train_epoch(self, epoch: int, cancel: CancelToken | None) -> Job[None]:
        """Run one epoch, yielding after every step."""
        c = self.config
        torch.manual_seed(c.seed * 100_003 + epoch)
        self.ds.set_epoch(epoch)
        loader = DataLoader(
            self.ds, batch_size=c.batch_size, sampler=epoch_sampler(self.ds, c.seed, epoch)
        )
        self.net.train()
        self.encoder.eval()  # batch-norm statistics stay those of the disentanglement run
        steps = weighted_steps(
            self.net, self.opt, loader, self.weights,
            max_steps=self.steps_per_epoch, device=c.device, cancel=cancel,
        )  # fmt: skip
        for terms, loss in steps:
            self.step += 1
            self._log(epoch, terms, loss)
            yield Progress("step", self.step, 0)
        self.epoch = epoch + 1

    def _log(self, epoch: int, terms: torch.Tensor, loss: torch.Tensor) -> None:
        self.rows.append(loss_row(self.step, epoch, TERMS, loss, terms))

    def last_losses(self) -> dict[str, float]:
        """Mean of each loss column over the rows of the last finished epoch."""
        return epoch_means(self.rows, self.epoch - 1, ("total", *TERMS))

    def save(self) -> None:
        """Write the log and the checkpoint (rank 0); fine-tuning refreshes category codes."""
        if self.config.finetune_encoders:
            self.codes = category_means(self.encoder, self.series, self.config.device)
            self.ds.set_category_codes(self.codes, self.config.category_code_prob)
        self.metrics["epoch_losses"].append({"epoch": self.epoch, **self.last_losses()})
        if self.rank != 0:
            return
        write_loss_rows(self.out / LOSSES, LANDMARK_LOSS_COLUMNS, self.rows)
        encoder = inference_state(self.encoder, self.codes, half=False)
        encoder.update(source=self.source, finetuned=self.config.finetune_encoders)
        state = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_config": dataclasses.asdict(self.model.config),
            "model": landmark_state(self.model, half=False),
            "seq_len": self.config.seq_len,
            "encoder": encoder,
            "emotions": list(EMOTIONS),
            "optimizer": self.opt.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "config": self.config.to_dict(),
            "data": {**self.ds.summary(), "encoder": self.source},
            "git_revision": git_revision(),
            "metrics": self.metrics,
        }
        save_checkpoint(self.out / CHECKPOINT, state)
        log.info("epoch %d, step %d: %s", self.epoch, self.step, self.last_losses())

    def result(self) -> LandmarkTrainResult:
        """Describe the finished run."""
        return LandmarkTrainResult(
            checkpoint=self.out / CHECKPOINT,
            losses_csv=self.out / LOSSES,
            steps=self.step,
            epochs=self.epoch,
            last_losses=self.last_losses(),
            model=self.model.eval(),
            encoder=self.encoder.eval(),
            category_codes=self.codes,
        )
