"""Training of the neural Edge-to-Video renderer on one target video (paper 3.3).

Data: the video's own frames, cropped to the face box of the first frame and resized to the
preset's size, with guidance maps made from the video's own landmarks (so the network learns
guidance -> this person's frames). The last ``holdout`` (10 %) of the frames are never
trained on; they give the preview images and the held-out PSNR/SSIM.

Generated sequences of growing length (vid2vid's ``n_frames_total``): at inference the
generator is fed its own previous outputs (:class:`evp_studio.render.neural.NeuralRenderer`),
so it is trained that way too. A training item is the sequence of frames t-R-1 .. t
(``R = rollout``); at a step whose current length is L (:func:`rollout_length`: 1 at the
start, growing linearly to R over the first ``rollout_ramp`` of the steps) the generator
starts from the real frames t-L, t-L-1, generates frames t-L+1 .. t-1 from its own outputs
without gradients, and the losses are taken on frame t, generated from two generated
frames (:func:`rollout_inputs`). L = 1 is teacher forcing: the previous frames are real.
The temporal discriminator sees (t-2, t-1, t) with the generated frames in the fake
sequence. The held-out score is measured as inference runs: two real frames, then every
frame generated from the previous generated ones.

Losses per step (LSGAN by default, ``gan="hinge"`` for hinge; each D term is averaged over
its scales)::

    L_D = adv_D(D_img(g, real), D_img(g, fake))
          + lambda_temporal * adv_D(D_tmp(real seq), D_tmp(fake seq))
    L_G = adv_G(D_img(g, fake)) + lambda_temporal * adv_G(D_tmp(fake seq))
          + lambda_feat * (FM_img + FM_tmp) + lambda_l1 * |fake - real|_1

FM is pix2pixHD's feature matching (L1 between D's intermediate features of the fake and
the real input, weighted 4 / (n_layers + 1) per layer). There is no perceptual (VGG) loss:
no package pinned by EVP Studio ships VGG weights (torchvision is not installed, and would
download them), and nothing is downloaded.

Optimiser: Adam, lr 2e-4, betas (0.5, 0.999) for G and D (pix2pixHD). AMP (float16 autocast
+ gradient scaling) on CUDA only. Under ``torchrun`` G and D are wrapped in
DistributedDataParallel (each D forward sees real and fake in one batch, so every forward
has exactly one backward); only rank 0 writes. Checkpoints are atomic and runs resume from
them (the data order restarts at the current epoch).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.landmarks import LandmarkTrack
from evp_studio.models.renderer import MultiscaleDiscriminator, RendererConfig, RendererGenerator
from evp_studio.render.neural import FORMAT, FORMAT_VERSION
from evp_studio.train._renderer_data import (
    GuidanceSource,
    RendererData,
    SequenceDataset,
    default_guidance,
    prepare_data,
)
from evp_studio.train._renderer_eval import held_out_scores, write_preview
from evp_studio.train._runs import epoch_sampler, loss_row, rank_world
from evp_studio.train.checkpoint import (
    git_revision,
    read_loss_rows,
    resume_state,
    save_checkpoint,
    write_loss_rows,
)

__all__ = [
    "RENDERER_LOSS_COLUMNS",
    "RendererTrainConfig",
    "RendererTrainResult",
    "rollout_inputs",
    "rollout_length",
    "train_renderer",
]

log = logging.getLogger(__name__)

TERMS = ("g_gan", "g_temporal", "feat", "l1", "d_image", "d_temporal")
RENDERER_LOSS_COLUMNS = ("step", "epoch", "total", *TERMS)
CHECKPOINT = "checkpoint.pt"
LOSSES = "losses.csv"
_RESUMABLE = frozenset(
    {
        "steps",
        "device",
        "amp",
        "preview_every",
        "checkpoint_every",
        "eval_frames",
        "rollout",
        "rollout_ramp",
    }
)


@dataclass(frozen=True)
class RendererTrainConfig:
    """Settings of one renderer training run.

    Parameters
    ----------
    preset
        ``"fast"`` (256 px), ``"quality"`` (512 px) or ``"tiny"`` (64 px, tests).
    steps
        Optimiser steps in all (one batch of G and D updates each).
    batch_size, lr
        Batch of frame triples; Adam learning rate of G and D.
    lambda_l1, lambda_feat, lambda_temporal
        Weights of the L1, feature-matching and temporal adversarial terms.
    gan
        ``"lsgan"`` (vid2vid's default) or ``"hinge"``.
    holdout
        Fraction of frames at the end of the video kept out of training.
    preview_every, checkpoint_every
        Steps between preview images and between checkpoints (the last step always does both).
    eval_frames
        Held-out frames scored at each checkpoint (streamed, from 2 real frames on).
    seed, device
        Random seed; ``"cpu"`` or ``"cuda"``.
    amp
        Mixed precision; CUDA only.
    rollout
        Longest generated sequence: frames generated from the generator's own previous
        outputs before the one the losses are taken on, plus one. 1 is teacher forcing.
    rollout_ramp
        Fraction of ``steps`` over which the sequence length grows from 1 to ``rollout``.
    """

    preset: str = "fast"
    steps: int = 20_000
    batch_size: int = 4
    lr: float = 2e-4
    lambda_l1: float = 10.0
    lambda_feat: float = 10.0
    lambda_temporal: float = 1.0
    gan: str = "lsgan"
    holdout: float = 0.1
    preview_every: int = 500
    checkpoint_every: int = 1000
    eval_frames: int = 50
    seed: int = 0
    device: str = "cpu"
    amp: bool = False
    rollout: int = 3
    rollout_ramp: float = 0.5

    def __post_init__(self) -> None:
        RendererConfig.of_preset(self.preset, 1)  # validates the name
        if self.gan not in ("lsgan", "hinge"):
            raise InvalidInputError(f"gan {self.gan!r} is not 'lsgan' or 'hinge'")
        if min(self.steps, self.batch_size, self.preview_every, self.checkpoint_every) < 1:
            raise InvalidInputError(
                "steps, batch_size, preview_every, checkpoint_every must be >= 1"
            )
        if not 0.0 < self.holdout < 0.9:
            raise InvalidInputError(f"holdout {self.holdout} is not in (0, 0.9)")
        if self.lr <= 0 or min(self.lambda_l1, self.lambda_feat, self.lambda_temporal) < 0:
            raise InvalidInputError("lr must be > 0 and the loss weights >= 0")
        if self.rollout < 1 or not 0.0 <= self.rollout_ramp <= 1.0:
            raise InvalidInputError(
                f"rollout must be >= 1 and rollout_ramp in [0, 1], got {self.rollout} and "
                f"{self.rollout_ramp}"
            )
        if self.amp and not self.device.startswith("cuda"):
            raise InvalidInputError(f"amp needs a CUDA device, the run is on {self.device!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain data."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RendererTrainResult:
    """What a finished run left behind."""

    checkpoint: Path
    losses_csv: Path
    previews: tuple[Path, ...]  # preview PNGs written by this call
    steps: int
    last_losses: dict[str, float]  # mean of each loss column over the last (up to) 50 steps
    metrics: dict[str, Any]  # held_out: frames, psnr (dB), ssim
    model: RendererGenerator  # eval mode


def _adv(logits: list[list[torch.Tensor]], real: bool, gan: str, for_d: bool) -> torch.Tensor:
    """Adversarial loss averaged over the scales of a multi-scale D's outputs."""
    total = torch.zeros((), device=logits[0][-1].device)
    for scale in logits:
        x = scale[-1].float()
        if gan == "lsgan":
            total = total + F.mse_loss(x, torch.full_like(x, 1.0 if real else 0.0))
        elif for_d:
            total = total + F.relu(1.0 - x if real else 1.0 + x).mean()
        else:
            total = total - x.mean()
    return total / len(logits)


def _feature_matching(
    fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]
) -> torch.Tensor:
    total = torch.zeros((), device=fake[0][-1].device)
    for f_scale, r_scale in zip(fake, real, strict=True):
        w = 4.0 / (len(f_scale) - 1) / len(fake)
        for f, r in zip(f_scale[:-1], r_scale[:-1], strict=True):
            total = total + w * F.l1_loss(f.float(), r.detach().float())
    return total


def _split(outs: list[list[torch.Tensor]]) -> tuple[list[list[torch.Tensor]], ...]:
    """D outputs of ``cat([fake, real])`` -> (fake part, real part)."""
    fake = [[x.chunk(2)[0] for x in s] for s in outs]
    real = [[x.chunk(2)[1] for x in s] for s in outs]
    return fake, real


def rollout_length(step: int, config: RendererTrainConfig) -> int:
    """Generated-sequence length at 0-based ``step``: 1, growing linearly to ``rollout``.

    The length grows by one every ``rollout_ramp * steps / (rollout - 1)`` steps and stays at
    ``rollout`` from ``rollout_ramp * steps`` on (at once when ``rollout_ramp`` is 0).
    """
    if config.rollout == 1:
        return 1
    ramp = config.rollout_ramp * config.steps
    if ramp <= 0 or step >= ramp:
        return config.rollout
    return 1 + int((config.rollout - 1) * step / ramp)


def rollout_inputs(
    generator: nn.Module, guidance: torch.Tensor, frames: torch.Tensor, length: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs of the frame the losses are taken on, after ``length - 1`` generated frames.

    Parameters
    ----------
    generator
        Called as ``generator(guidance (B, C, S, S), prev (B, 6, S, S))``; its outputs are
        made without gradients here.
    guidance
        ``(B, R, C, S, S)``: the maps of frames t-R+1 .. t (:class:`SequenceDataset`).
    frames
        ``(B, R + 2, 3, S, S)``: real frames t-R-1 .. t.
    length
        ``1 <= length <= R``.

    Returns
    -------
    tuple
        ``(guidance_t, prev, real_t, real_seq)``: the map of frame t; ``prev`` = [t-1, t-2]
        (B, 6, S, S), generated where ``length`` > 1 (all of t-1 and, from ``length`` 3 on,
        t-2); real frame t; and the real (t-2, t-1, t) as (B, 9, S, S).
    """
    r = guidance.shape[1]
    if not 1 <= length <= r or frames.shape[1] != r + 2:
        raise ValueError(f"length {length} does not fit a rollout of {r} ({frames.shape})")
    last = r + 1  # index of frame t in `frames`; frame t-k is at last - k
    prev = torch.cat([frames[:, last - length], frames[:, last - length - 1]], dim=1)
    with torch.no_grad():
        for k in range(length - 1, 0, -1):  # generate frames t-k, k = length-1 .. 1
            out = generator(guidance[:, r - 1 - k], prev).detach()
            prev = torch.cat([out.to(prev.dtype), prev[:, :3]], dim=1)
    real_seq = torch.cat([frames[:, last - 2], frames[:, last - 1], frames[:, last]], dim=1)
    return guidance[:, r - 1], prev, frames[:, last], real_seq


def train_renderer(
    video: str | Path,
    out_dir: str | Path,
    config: RendererTrainConfig,
    *,
    landmarks: LandmarkTrack | np.ndarray | None = None,
    guidance: GuidanceSource | None = None,
    cancel: CancelToken | None = None,
    resume: bool = True,
) -> Job[RendererTrainResult]:
    """Train a renderer on one video's own frames; yields Progress(done=step, total=steps).

    Parameters
    ----------
    video
        The target video.
    out_dir
        Receives ``checkpoint.pt``, ``losses.csv``, ``previews/step_NNNNNN.png`` (guidance |
        generated | real, a held-out frame) and ``data/`` (the cropped frames).
    config
        Run settings.
    landmarks
        The video's landmark track (or ``(T, 68, 2)`` px); None tracks them with
        :func:`evp_studio.landmarks.track_landmarks` (cached by content hash).
    guidance
        How guidance maps are made; None: the official 15 channels
        (:func:`evp_studio.train._renderer_data.default_guidance`).
    cancel
        Checked before every step; a cancelled run keeps its last checkpoint.
    resume
        Continue from ``out_dir/checkpoint.pt`` when it exists; False starts over.

    Returns
    -------
    Job[RendererTrainResult]

    Raises
    ------
    InvalidInputError
        Bad media, landmarks that do not fit the video, a clip too short, or a checkpoint in
        ``out_dir`` of another video or with other settings.
    Cancelled
        When ``cancel`` is set.
    """
    from evp_studio.project import hash_media  # noqa: PLC0415

    out, video = Path(out_dir), Path(video)
    rank, world = rank_world()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    video_hash = hash_media(video)
    state = resume_state(out / CHECKPOINT, config.to_dict(), resume, _RESUMABLE)
    if state is not None and state.get("video", {}).get("hash") != video_hash:
        raise InvalidInputError(
            f"{out / CHECKPOINT} was trained on another video ({state['video'].get('path')}); "
            "use another output folder or restart"
        )
    if landmarks is None:
        from evp_studio.landmarks import track_landmarks  # noqa: PLC0415

        landmarks = yield from track_landmarks(video, cancel=cancel)
    lm, lost = _landmark_arrays(landmarks)
    size = RendererConfig.of_preset(config.preset, 1).size
    guidance = guidance or default_guidance(size)
    if rank != 0:
        dist.barrier()  # rank 0 writes the crops first; the others then reuse them
    data = yield from prepare_data(
        video, lm, lost, size=size, holdout=config.holdout, folder=out / "data",
        video_hash=video_hash, cancel=cancel,
    )  # fmt: skip
    if rank == 0 and world > 1:
        dist.barrier()
    run = _Run(config, data, guidance, out, state, {"path": str(video), "hash": video_hash})
    while run.step < config.steps:
        for _ in run.train_epoch(cancel):
            yield Progress("Training the renderer", run.step, config.steps)
    run.finish()
    return run.result()


def _landmark_arrays(landmarks: LandmarkTrack | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(landmarks, LandmarkTrack):
        return np.asarray(landmarks.landmarks, np.float32), np.asarray(landmarks.lost, bool)
    lm = np.asarray(landmarks, np.float32)
    if lm.ndim != 3:
        raise InvalidInputError(f"landmarks must be (T, 68, 2) px, got {lm.shape}")
    return lm, np.zeros(len(lm), bool)


class _Run:
    """The mutable state of one run: networks, optimisers, scalers, counters, log rows."""

    def __init__(
        self,
        config: RendererTrainConfig,
        data: RendererData,
        guidance: GuidanceSource,
        out: Path,
        state: dict[str, Any] | None,
        video: dict[str, str],
    ) -> None:
        self.config, self.data, self.guidance, self.out, self.video = (
            config,
            data,
            guidance,
            out,
            video,
        )
        self.rank, world = rank_world()
        dev = config.device
        if world > 1 and dev == "cuda":
            dev = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        self.device = dev
        torch.manual_seed(config.seed)
        self.model_config = RendererConfig.of_preset(config.preset, guidance.channels)
        self.g = RendererGenerator(self.model_config).to(dev)
        self.d_img = MultiscaleDiscriminator.image(self.model_config).to(dev)
        self.d_tmp = MultiscaleDiscriminator.temporal(self.model_config).to(dev)
        self.nets: list[nn.Module] = [self.g, self.d_img, self.d_tmp]
        if world > 1:
            self.nets = [DistributedDataParallel(n) for n in self.nets]
        betas = (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.lr, betas=betas)
        d_params = [*self.d_img.parameters(), *self.d_tmp.parameters()]
        self.opt_d = torch.optim.Adam(d_params, lr=config.lr, betas=betas)
        self.amp = config.amp and dev.startswith("cuda")
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=self.amp)
        targets = data.train_targets(config.rollout)
        if len(targets) == 0:
            raise InvalidInputError(
                f"no training sequences of {config.rollout + 2} frames: the training part is "
                "too short, or the face is lost in it; lower rollout"
            )
        self.ds = SequenceDataset(data, guidance, targets, config.rollout)
        self.step, self.epoch = 0, 0
        self.metrics: dict[str, Any] = {}
        self.previews: list[Path] = []
        if state is not None:
            self._load(state)
        self.rows: list[dict[str, Any]] = read_loss_rows(out / LOSSES, self.step)

    def _load(self, state: dict[str, Any]) -> None:
        try:
            self.g.load_state_dict(state["generator"])
            self.d_img.load_state_dict(state["d_image"])
            self.d_tmp.load_state_dict(state["d_temporal"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        except (KeyError, RuntimeError, ValueError) as e:
            raise InvalidInputError(f"{self.out / CHECKPOINT} cannot be resumed: {e}") from e
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.metrics = dict(state.get("metrics", {}))

    def train_epoch(self, cancel: CancelToken | None) -> Job[None]:
        """Run steps over one pass of the data (or until ``steps``), yielding after each."""
        c = self.config
        torch.manual_seed(c.seed * 100_003 + self.epoch)
        sampler = epoch_sampler(self.ds, c.seed, self.epoch)
        loader = DataLoader(self.ds, batch_size=c.batch_size, sampler=sampler, drop_last=False)
        for net in self.nets:
            net.train()
        for batch in loader:
            if self.step >= c.steps:
                return
            if cancel is not None:
                cancel.check()
            self._step([t.to(self.device, non_blocking=True) for t in batch])
            self.step += 1
            if self.step % c.preview_every == 0 or self.step == c.steps:
                self._preview()
            if self.step % c.checkpoint_every == 0 and self.step < c.steps:
                self.save()
            yield Progress("step", self.step, c.steps)
        self.epoch += 1

    def _step(self, batch: list[torch.Tensor]) -> None:
        g_net, d_img, d_tmp = self.nets
        c, gan = self.config, self.config.gan
        length = rollout_length(self.step, c)
        with torch.autocast("cuda", enabled=self.amp):
            guid, prev, real, seq_real = rollout_inputs(g_net, batch[0], batch[1], length)
            fake = g_net(guid, prev)
            seq_fake = torch.cat([prev[:, 3:], prev[:, :3], fake], dim=1)
            img_f, img_r = _split(
                d_img(torch.cat([torch.cat([guid, fake], 1), torch.cat([guid, real], 1)]))
            )
            tmp_f, tmp_r = _split(d_tmp(torch.cat([seq_fake, seq_real])))
        g_gan = _adv(img_f, True, gan, for_d=False)
        g_tmp = _adv(tmp_f, True, gan, for_d=False)
        feat = _feature_matching(img_f, img_r) + _feature_matching(tmp_f, tmp_r)
        l1 = F.l1_loss(fake.float(), real)
        loss_g = g_gan + c.lambda_temporal * g_tmp + c.lambda_feat * feat + c.lambda_l1 * l1
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss_g).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()

        fake = fake.detach()
        with torch.autocast("cuda", enabled=self.amp):
            img_f, img_r = _split(
                d_img(torch.cat([torch.cat([guid, fake], 1), torch.cat([guid, real], 1)]))
            )
            seq_fake = torch.cat([prev[:, 3:], prev[:, :3], fake], dim=1)
            tmp_f, tmp_r = _split(d_tmp(torch.cat([seq_fake, seq_real])))
        d_image = 0.5 * (_adv(img_r, True, gan, True) + _adv(img_f, False, gan, True))
        d_temporal = 0.5 * (_adv(tmp_r, True, gan, True) + _adv(tmp_f, False, gan, True))
        loss_d = d_image + c.lambda_temporal * d_temporal
        self.opt_d.zero_grad(set_to_none=True)  # also drops the grads the G step left in D
        self.scaler_d.scale(loss_d).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        terms = torch.stack([g_gan, g_tmp, feat, l1, d_image, d_temporal]).detach()
        self.rows.append(loss_row(self.step + 1, self.epoch, TERMS, loss_g.detach(), terms))
        if not torch.isfinite(loss_g.detach()):
            raise InvalidInputError(
                f"the renderer's loss became {loss_g.item()} at step {self.step + 1}: "
                "lower the learning rate, or train without amp"
            )

    def _preview(self) -> None:
        if self.rank != 0:
            return
        path = self.out / "previews" / f"step_{self.step:06d}.png"
        write_preview(path, self.g, self.data, self.guidance, self.device)
        self.previews.append(path)
        self.g.train()

    def last_losses(self) -> dict[str, float]:
        """Mean of each loss column over the last (up to) 50 logged steps."""
        last = self.rows[-50:]
        keys = ("total", *TERMS)
        return {
            k: float(np.mean([float(r[k]) for r in last])) if last else float("nan") for k in keys
        }

    def save(self) -> None:
        """Score the held-out frames, then write the log and the checkpoint (rank 0)."""
        if self.rank != 0:
            return
        scores = held_out_scores(
            self.g, self.data, self.guidance, self.device, self.config.eval_frames
        )
        self.g.train()
        self.metrics = {"held_out": scores, "step": self.step, "last_losses": self.last_losses()}
        write_loss_rows(self.out / LOSSES, RENDERER_LOSS_COLUMNS, self.rows)
        state = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_config": self.model_config.to_dict(),
            "generator": self.g.state_dict(),
            "d_image": self.d_img.state_dict(),
            "d_temporal": self.d_tmp.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "config": self.config.to_dict(),
            "video": {**self.video, **self.data.summary()},
            "guidance": {"channels": self.guidance.channels, "settings": self.guidance.settings},
            "git_revision": git_revision(),
            "metrics": self.metrics,
        }
        save_checkpoint(self.out / CHECKPOINT, state)
        log.info("renderer step %d: %s; held-out %s", self.step, self.last_losses(), scores)

    def finish(self) -> None:
        """Save the final checkpoint (a resumed run already at ``steps`` saves again)."""
        self.save()

    def result(self) -> RendererTrainResult:
        """Describe the finished run."""
        return RendererTrainResult(
            checkpoint=self.out / CHECKPOINT,
            losses_csv=self.out / LOSSES,
            previews=tuple(self.previews),
            steps=self.step,
            last_losses=self.last_losses(),
            metrics=self.metrics,
            model=self.g.eval(),
        )
