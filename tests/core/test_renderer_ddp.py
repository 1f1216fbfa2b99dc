"""The renderer trainer under DistributedDataParallel: two CPU ranks (gloo) stay in step."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from evp_studio.jobs import run_job
from evp_studio.train.checkpoint import load_checkpoint
from evp_studio.train.renderer import RendererTrainConfig, train_renderer
from tests.core.renderer_clips import write_face_clip

CONFIG = RendererTrainConfig(
    preset="tiny", steps=4, batch_size=2, preview_every=4, checkpoint_every=4, eval_frames=4
)


def _worker(rank: int, port: int, video: str, lm_path: str, out: str, params: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        lm = np.load(lm_path)
        result = run_job(train_renderer(video, out, CONFIG, landmarks=lm, resume=False))
        torch.save(result.model.state_dict(), Path(params) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ddp_two_cpu_ranks(tmp_path: Path) -> None:
    video, lm = write_face_clip(tmp_path / "clip.mp4", 30)
    np.save(tmp_path / "lm.npy", lm)
    out, params = tmp_path / "run", tmp_path / "params"
    params.mkdir()
    args = (_free_port(), str(video), str(tmp_path / "lm.npy"), str(out), str(params))
    mp.spawn(_worker, args=args, nprocs=2)
    assert (out / "checkpoint.pt").exists() and (out / "previews" / "step_000004.png").exists()
    rank0 = torch.load(params / "rank0.pt", weights_only=True)
    rank1 = torch.load(params / "rank1.pt", weights_only=True)
    saved = load_checkpoint(out / "checkpoint.pt")["generator"]
    for key, value in rank0.items():
        torch.testing.assert_close(value, rank1[key], rtol=0, atol=0)
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0)
