"""Manifests of exported weights: ``<stem>.json`` beside the ``.pt`` that ships.

A manifest records what the registry checks (``sha256``) and what a reader needs to trust
the file: the model, the training data (the synthetic corpus's generator config when there
is one), the exact command, the seed, the git revision and the metrics.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evp_studio.fileio import atomic_write_text
from evp_studio.weights import file_sha256

__all__ = ["checkpoint_meta", "command_line", "write_weights_manifest"]

#: argparse fields that are not options of the training command itself
_NOT_OPTIONS = frozenset({"func", "command", "verb", "verbose", "export"})


def command_line(words: Iterable[str], args: argparse.Namespace) -> str:
    """Return the command with every option spelled out, as a shell line.

    Parameters
    ----------
    words
        The command's leading words, e.g. ``("evp-studio", "train", "disentangle")``.
    args
        The parsed arguments; options at None or False are left out, lists are expanded.

    Returns
    -------
    str
        A line that reproduces the run (``shlex`` quoted).
    """
    out = list(words)
    for key, value in vars(args).items():
        if key in _NOT_OPTIONS or value is None or value is False or value == []:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, list | tuple):
            out += [flag, *map(str, value)]
        else:
            out += [flag, str(value)]
    return shlex.join(out)


def checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The plain data of a training checkpoint a manifest records.

    Parameters
    ----------
    path
        The run's ``checkpoint.pt``.

    Returns
    -------
    dict
        ``config``, ``data``, ``git_revision`` and ``metrics`` (None when absent).
    """
    from evp_studio.train.checkpoint import load_checkpoint  # noqa: PLC0415 - imports torch

    state = load_checkpoint(path)
    return {k: state.get(k) for k in ("config", "data", "git_revision", "metrics")}


def write_weights_manifest(
    weights_file: str | Path,
    *,
    model: str,
    data_root: str | Path,
    command: str,
    meta: Mapping[str, Any],
    metrics: Mapping[str, Any],
) -> Path:
    """Write ``<stem>.json`` beside exported weights.

    Parameters
    ----------
    weights_file
        The exported ``.pt`` (its sha256 is recorded).
    model
        What the file is, for people.
    data_root
        The training corpus; its ``synth_manifest.json`` config is recorded when present.
    command
        The command line that trained the weights.
    meta
        The checkpoint's plain data (``config``, ``data``, ``git_revision``).
    metrics
        Numbers to record (training losses, held-out scores).

    Returns
    -------
    Path
        The manifest file.
    """
    weights_file, data_root = Path(weights_file), Path(data_root)
    corpus: dict[str, Any] = {"root": data_root.name}
    synth = data_root / "synth_manifest.json"
    if synth.is_file():
        corpus["synth_config"] = json.loads(synth.read_text(encoding="utf-8")).get("config")
    config = meta.get("config") or {}
    manifest = {
        "file": weights_file.name,
        "sha256": file_sha256(weights_file),
        "model": model,
        "data": {**corpus, **(meta.get("data") or {})},
        "command": command,
        "seed": config.get("seed"),
        "config": config,
        "git_revision": meta.get("git_revision"),
        "metrics": dict(metrics),
    }
    path = weights_file.with_suffix(".json")
    atomic_write_text(path, json.dumps(manifest, indent=2, default=_plain) + "\n")
    return path


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")
