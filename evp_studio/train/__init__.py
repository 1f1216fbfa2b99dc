"""Training of EVP Studio's networks (imports torch; the UI loads it from a worker).

Public API::

    build_pair_windows(root, clips, *, cache) -> PairDataset   # paper Fig. 3 pseudo pairs
    DisentangleTrainConfig(...)                                # frozen dataclass
    train_disentangle(data_root, out_dir, config, *, cancel=None, resume=True)
        -> Job[TrainResult]
    load_checkpoint(path) -> dict                              # torch.load(weights_only=True)
"""

from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint
from evp_studio.train.disentangle import (
    LOSS_COLUMNS,
    DisentangleTrainConfig,
    TrainResult,
    train_disentangle,
)
from evp_studio.train.pairs import PairDataset, build_pair_windows, pairing_mode

__all__ = [
    "LOSS_COLUMNS",
    "DisentangleTrainConfig",
    "PairDataset",
    "TrainResult",
    "build_pair_windows",
    "load_checkpoint",
    "pairing_mode",
    "save_checkpoint",
    "train_disentangle",
]
