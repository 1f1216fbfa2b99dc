"""Loss-term ablation of the disentanglement (paper Table 2 and Fig. 5), trained and scored.

Each run trains on the paper split's train sentences (:func:`train_disentangle`, one folder
per run, finished runs resumed) and is scored on its test sentences
(:func:`~evp_studio.eval.disentangle.evaluate_disentangle`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evp_studio.data.cache import FeatureCache
from evp_studio.errors import InvalidInputError
from evp_studio.eval._disentangle_eval import (
    DisentangleReport,
    evaluate_disentangle_job,
    held_out_clips,
)
from evp_studio.eval._disentangle_format import finite, number, percent
from evp_studio.eval._embedding_plot import embedding_plot
from evp_studio.fileio import atomic_write_text
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.paths import cache_dir
from evp_studio.train import DisentangleTrainConfig, TrainResult, train_disentangle

T = TypeVar("T")

TERMS: tuple[str, ...] = ("cross", "self", "cla", "con")
CSV_COLUMNS = (
    "model",
    "window_accuracy",
    "clip_accuracy",
    "content_ratio",
    "emotion_ratio",
    "final_loss",
    "steps",
)


@dataclass(frozen=True, eq=False)
class AblationRow:
    """One trained and scored model of the ablation."""

    name: str  # run folder under out_dir: "full", "no_cross", ...
    label: str  # "full", "w/o L_cross", ...
    ablate: str | None  # the loss term left out, None for the full model
    steps: int  # training steps actually taken
    final_loss: float  # mean total loss over the last epoch (the left-out term counts 0)
    checkpoint: Path
    report: DisentangleReport


@dataclass(frozen=True, eq=False)
class AblationTable:
    """The scored runs, full model first."""

    rows: tuple[AblationRow, ...]

    def row(self, name: str) -> AblationRow:
        """The row of run folder ``name`` (``"full"``, ``"no_cross"``, ...).

        Raises
        ------
        KeyError
            When there is no such run.
        """
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: per run its numbers and full report."""
        return {
            "rows": [
                {**_csv_values(r), "label": r.label, "checkpoint": str(r.checkpoint),
                 "report": r.report.to_dict()}
                for r in self.rows
            ]
        }  # fmt: skip

    def to_csv(self) -> str:
        """CSV text, columns :data:`CSV_COLUMNS` (accuracies as fractions, NaN as empty)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({k: "" if v is None else v for k, v in _csv_values(r).items()})
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """The table in markdown, with a note on what the columns mean."""
        lines = [
            "## Loss ablation (EVP Table 2, audio side)",
            "",
            "| Model | Window acc. ↑ | Clip acc. ↑ | Content ratio ↓ | Emotion ratio ↓ "
            "| Final loss | Steps |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            rep = r.report
            lines.append(
                f"| {r.label} | {percent(rep.window_accuracy)} | {percent(rep.clip_accuracy)} "
                f"| {number(rep.content_ratio)} | {number(rep.emotion_ratio)} "
                f"| {number(r.final_loss, 2)} | {r.steps} |"
            )
        n_clips = self.rows[0].report.n_clips if self.rows else 0
        lines += [
            "",
            f"Scored on {n_clips} clips of the paper split's test sentences. Content ratio: "
            "L2 distance of Ec codes, same text/other emotion over other text/same emotion; "
            "emotion ratio: of Ee codes, other text/same emotion over same text/other "
            "emotion. Final loss: mean total training loss over the last epoch, without the "
            "left-out term.",
            "",
        ]
        return "\n".join(lines)


def _csv_values(r: AblationRow) -> dict[str, Any]:
    rep = r.report
    return {
        "model": r.label,
        "window_accuracy": finite(rep.window_accuracy),
        "clip_accuracy": finite(rep.clip_accuracy),
        "content_ratio": finite(rep.content_ratio),
        "emotion_ratio": finite(rep.emotion_ratio),
        "final_loss": finite(r.final_loss),
        "steps": r.steps,
    }


def _runs(terms: Sequence[str]) -> list[tuple[str, str, str | None]]:
    unknown = [t for t in terms if t not in TERMS]
    if unknown:
        raise InvalidInputError(f"ablation: unknown loss terms {unknown}; use {list(TERMS)}")
    chosen = [t for t in TERMS if t in terms]
    return [("full", "full", None)] + [(f"no_{t}", f"w/o L_{t}", t) for t in chosen]


def _train(
    data_root: Path, run_dir: Path, config: DisentangleTrainConfig, steps: int,
    cancel: CancelToken | None,
) -> Job[TrainResult]:  # fmt: skip
    """Train for ``steps`` steps; when one epoch is shorter, resume for more epochs.

    ``train_disentangle`` caps an epoch at one pass over the pairs, so ``epochs=1,
    max_steps_per_epoch=steps`` gives fewer steps on a small corpus. A resumed run may
    change only ``epochs``: the run goes on for ``ceil(steps / steps_per_epoch)`` epochs
    (up to one epoch more than ``steps``).
    """
    result = yield from train_disentangle(data_root, run_dir, config, cancel=cancel)
    if result.steps < steps:
        per_epoch = max(1, result.steps // max(1, result.epochs))
        more = dataclasses.replace(config, epochs=math.ceil(steps / per_epoch))
        result = yield from train_disentangle(data_root, run_dir, more, cancel=cancel)
    return result


def run_ablation(
    data_root: str | Path,
    out_dir: str | Path,
    *,
    steps: int,
    pretrain_steps: int = 0,
    seed: int = 0,
    size: str = "small",
    terms: Sequence[str] = TERMS,
    device: str = "cpu",
    cancel: CancelToken | None = None,
) -> Job[AblationTable]:
    """Train the full model and one without each loss term, score them, write the table.

    Writes ``out_dir/<run>/`` (checkpoint, losses.csv, report.json) per run, then
    ``ablation.md``, ``ablation.csv`` and ``embedding.png`` (emotion codes of the full
    model beside those of the model without L_cross, paper Fig. 5; the full model alone
    when ``"cross"`` is not in ``terms``).

    Parameters
    ----------
    data_root
        MEAD-layout corpus with train (013+) and test (001-009) sentences.
    out_dir
        Output folder; runs already trained there are resumed, not redone.
    steps
        Training steps per run (batch 16, paper optimiser); see :func:`_train` for small
        corpora.
    pretrain_steps
        Encoder pretraining batches before each run (the same for every run, so the table
        isolates the loss terms of eq. 6).
    seed
        Seeds weights, batches and the plot's code sample.
    size
        ``"small"`` or ``"paper"`` model.
    terms
        Loss terms to ablate one at a time, from ``("cross", "self", "cla", "con")``.
    device
        Torch device for training and scoring.
    cancel
        Checked between training steps and evaluated clips.

    Returns
    -------
    Job[AblationTable]
        The generator; yields Progress with the run in the stage name.

    Raises
    ------
    InvalidInputError
        When ``steps < 1``, a term is unknown, the corpus has no test or no train pairs, or
        a run folder holds a run with other settings.
    Cancelled
        When ``cancel`` is set (finished runs stay on disk and are reused next time).
    """
    if steps < 1:
        raise InvalidInputError(f"ablation: steps must be >= 1, got {steps}")
    runs = _runs(terms)
    out, root = Path(out_dir), Path(data_root)
    clips = held_out_clips(root, "paper")  # fail before training when there is no test set
    out.mkdir(parents=True, exist_ok=True)
    cache = FeatureCache(cache_dir() / "features")
    rows = []
    for i, (name, label, term) in enumerate(runs):
        stage = f"[{i + 1}/{len(runs)}] {label}"
        config = DisentangleTrainConfig(
            size=size, seed=seed, device=device, split="paper", epochs=1,
            max_steps_per_epoch=steps, ablate=frozenset({term} if term else ()),
            pretrain_steps=pretrain_steps,
        )  # fmt: skip
        result = yield from _relabel(_train(root, out / name, config, steps, cancel), stage)
        scoring = evaluate_disentangle_job(
            result.model, root, clips, cache=cache, device=device, seed=seed, cancel=cancel
        )
        report = yield from _relabel(scoring, stage)
        text = json.dumps({"run": label, "config": config.to_dict(), **report.to_dict()}, indent=2)
        atomic_write_text(out / name / "report.json", text + "\n")
        final = result.last_losses["total"]
        rows.append(AblationRow(name, label, term, result.steps, final, result.checkpoint, report))
    table = AblationTable(tuple(rows))
    atomic_write_text(out / "ablation.md", table.to_markdown())
    atomic_write_text(out / "ablation.csv", table.to_csv())
    titles = {"full": "full (with L_cross)", "no_cross": "w/o L_cross"}
    panels = [
        (titles[r.name], r.report.sample_codes, r.report.sample_labels)
        for r in rows
        if r.name in titles
    ]
    embedding_plot(panels, out / "embedding.png", seed=seed)
    return table


def _relabel(job: Job[T], stage: str) -> Job[T]:
    """Run ``job``, prefixing its stages with ``stage``."""
    try:
        while True:
            p = next(job)
            yield Progress(f"{stage}: {p.stage}", p.done, p.total)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        job.close()
