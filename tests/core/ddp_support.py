"""Two CPU ranks (gloo) for the trainers' DistributedDataParallel tests."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank(
    rank: int, port: int, train: Callable[..., Any], params: str, args: tuple[Any, ...]
) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        result = train(*args)
        torch.save(result.model.state_dict(), Path(params) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def train_on_two_ranks(train: Callable[..., Any], params: Path, *args: Any) -> None:
    """Run ``train(*args)`` on two ranks; each saves its ``result.model`` into ``params``.

    ``train`` must be a module-level function (the ranks are spawned processes).
    """
    params.mkdir(parents=True, exist_ok=True)
    mp.spawn(_rank, args=(_free_port(), train, str(params), args), nprocs=2)


def assert_ranks_agree(params: Path, saved: dict[str, torch.Tensor]) -> None:
    """Both ranks' models and the saved checkpoint's weights are exactly equal."""
    rank0 = torch.load(params / "rank0.pt", weights_only=True)
    rank1 = torch.load(params / "rank1.pt", weights_only=True)
    for key, value in rank0.items():
        torch.testing.assert_close(value, rank1[key], rtol=0, atol=0)
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0)
