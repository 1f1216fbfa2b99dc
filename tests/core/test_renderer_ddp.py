"""The renderer trainer under DistributedDataParallel: two CPU ranks (gloo) stay in step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evp_studio.jobs import run_job
from evp_studio.train.checkpoint import load_checkpoint
from evp_studio.train.renderer import RendererTrainConfig, train_renderer
from tests.core.ddp_support import assert_ranks_agree, train_on_two_ranks
from tests.core.renderer_clips import write_face_clip

CONFIG = RendererTrainConfig(
    preset="tiny", steps=4, batch_size=2, preview_every=4, checkpoint_every=4, eval_frames=4
)


def _train(video: str, lm_path: str, out: str) -> object:
    return run_job(train_renderer(video, out, CONFIG, landmarks=np.load(lm_path), resume=False))


def test_ddp_two_cpu_ranks(tmp_path: Path) -> None:
    video, lm = write_face_clip(tmp_path / "clip.mp4", 30)
    np.save(tmp_path / "lm.npy", lm)
    out, params = tmp_path / "run", tmp_path / "params"
    train_on_two_ranks(_train, params, str(video), str(tmp_path / "lm.npy"), str(out))
    assert (out / "checkpoint.pt").exists() and (out / "previews" / "step_000004.png").exists()
    assert_ranks_agree(params, load_checkpoint(out / "checkpoint.pt")["generator"])
