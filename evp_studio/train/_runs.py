"""Pieces every trainer shares: ranks under torchrun, epoch samplers, loss-log rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler, RandomSampler, Sampler

from evp_studio.jobs import CancelToken


def rank_world() -> tuple[int, int]:
    """Return (rank, world size); (0, 1) outside ``torch.distributed``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def epoch_sampler(ds: Dataset[Any], seed: int, epoch: int) -> Sampler[int]:
    """A seeded shuffle of ``ds`` for ``epoch``; this rank's shard under DDP."""
    rank, world = rank_world()
    if world > 1:
        sampler: DistributedSampler[Any] = DistributedSampler(
            ds, num_replicas=world, rank=rank, seed=seed
        )
        sampler.set_epoch(epoch)
        return sampler
    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return RandomSampler(ds, generator=gen)  # type: ignore[arg-type]


def steps_per_epoch(ds: Sized, batch_size: int, cap: int | None) -> int:
    """Batches one rank takes per epoch, at most ``cap``."""
    _, world = rank_world()
    steps = math.ceil(math.ceil(len(ds) / world) / batch_size)
    return min(steps, cap or steps)


def loss_row(
    step: int, epoch: int, names: Sequence[str], loss: torch.Tensor, terms: torch.Tensor
) -> dict[str, Any]:
    """One ``losses.csv`` row: step, epoch, total and each term, averaged over ranks."""
    values = torch.cat([loss.reshape(1), terms]).cpu()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values)
        values /= dist.get_world_size()
    row: dict[str, Any] = {"step": step, "epoch": epoch}
    row.update(zip(("total", *names), values.tolist(), strict=True))
    return row


def epoch_means(
    rows: Sequence[dict[str, Any]], epoch: int, keys: Sequence[str]
) -> dict[str, float]:
    """Mean of each column ``keys`` over the rows of ``epoch`` (NaN without rows)."""
    last = [r for r in rows if int(r["epoch"]) == epoch]
    return {k: float(np.mean([float(r[k]) for r in last])) if last else math.nan for k in keys}


def weighted_steps(
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    loader: Iterable[Sequence[torch.Tensor]],
    weights: torch.Tensor,
    *,
    max_steps: int,
    device: str,
    cancel: CancelToken | None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of optimiser steps on a weighted sum of loss terms.

    ``net(batch)`` returns the loss terms; the step minimises ``(terms * weights).sum()``.
    After each step, yields ``(terms, loss)`` detached, with the terms of zero weight zeroed
    (the columns of the loss log). Stops after ``max_steps`` batches; ``cancel`` is checked
    before every step.
    """
    for i, batch in enumerate(loader):
        if i >= max_steps:
            return
        if cancel is not None:
            cancel.check()
        terms = net([t.to(device) for t in batch])
        loss = (terms * weights).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        yield terms.detach() * (weights > 0), loss.detach()


def restore_run(
    state: dict[str, Any], model: torch.nn.Module, opt: torch.optim.Optimizer, metrics: Any
) -> tuple[int, int, Any]:
    """Load a resumed run's model and optimiser; return its ``(step, epoch, metrics)``."""
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    return int(state["step"]), int(state["epoch"]), state.get("metrics", metrics)
