"""Disentanglement evaluation (paper sec. 3.2): accuracy, code invariance, plot, ablation, CLI.

Oracle models read each MFCC row's clip from a lookup table, so their codes are known
exactly: a perfect model must score 100 % with both ratios 0, a shifted classifier puts
every clip one column off the diagonal, swapped encoders give infinite ratios.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import evp_studio.eval._disentangle_ablation as ablation_mod
import evp_studio.eval._disentangle_eval as eval_mod
from evp_studio.audio import frame_windows
from evp_studio.cli import main
from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import Clip, scan_mead
from evp_studio.data.synth import MANIFEST, PRESETS, synth_corpus, with_overrides
from evp_studio.errors import InvalidInputError
from evp_studio.eval._disentangle_ablation import _train
from evp_studio.eval._disentangle_metrics import CodeSet, invariance, relative_positions
from evp_studio.eval.disentangle import (
    CSV_COLUMNS,
    EMOTION_COLOURS,
    SAMPLE_SIZE,
    DisentangleReport,
    embedding_plot,
    evaluate_disentangle,
    held_out_clips,
    plot_size,
)
from evp_studio.jobs import Progress, run_job
from evp_studio.models import DisentangleConfig, DisentangleModel
from evp_studio.project import EMOTIONS
from evp_studio.train import DisentangleTrainConfig, TrainResult, train_disentangle
from evp_studio.train.pairs import _clip_mfcc

N_ACTORS, N_SENTENCES = 2, 2  # x 8 emotions at one level: 32 clips, 4 per emotion


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """EVP_STUDIO_HOME for module fixtures (the autouse one is per test)."""
    path = tmp_path_factory.mktemp("module_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVP_STUDIO_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Path:
    out = tmp_path_factory.mktemp("dis_corpus")
    config = with_overrides(PRESETS["tiny"], video=False, sentences=N_SENTENCES)
    run_job(synth_corpus(out, config))
    return out


@pytest.fixture(scope="module")
def clips(corpus: Path) -> tuple[Clip, ...]:
    return held_out_clips(corpus)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> FeatureCache:
    return FeatureCache(tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="module")
def trained(corpus: Path, home: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    config = DisentangleTrainConfig(batch_size=16, epochs=1, max_steps_per_epoch=25)
    return run_job(train_disentangle(corpus, tmp_path_factory.mktemp("run"), config))


class OracleModel(DisentangleModel):
    """Codes looked up per MFCC row: one-hot emotion label and one-hot sentence.

    ``classify`` is the real Linear layer with weights mapping code i to logit
    ``(i + shift) % 8``; ``swap`` exchanges the two encoders.
    """

    def __init__(self, clips: tuple[Clip, ...], *, shift: int = 0, swap: bool = False) -> None:
        super().__init__(DisentangleConfig.small())
        owners: dict[bytes, set[Clip]] = {}
        for clip in clips:
            for row in _clip_mfcc(clip, None)[:, 1:]:
                owners.setdefault(row.astype(np.float32).tobytes(), set()).add(clip)
        self.owner = {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}
        self.swap = swap
        with torch.no_grad():
            weight = torch.zeros(8, self.config.emotion_dim)
            weight[:, :8] = torch.roll(torch.eye(8), shift, dims=0)
            self.classify.last_fc.weight.copy_(weight)
            self.classify.last_fc.bias.zero_()

    def _clip_of(self, window: np.ndarray) -> Clip:
        votes = Counter(self.owner[r.tobytes()] for r in window if r.tobytes() in self.owner)
        return votes.most_common(1)[0][0]

    def _one_hot(self, x: torch.Tensor, what: str, dim: int) -> torch.Tensor:
        out = torch.zeros(x.shape[0], dim)
        for i, window in enumerate(x[:, 0].cpu().numpy()):
            clip = self._clip_of(window)
            out[i, clip.label if what == "emotion" else clip.sentence] = 1.0
        return out

    def encode_emotion(self, x: torch.Tensor) -> torch.Tensor:
        what = "sentence" if self.swap else "emotion"
        return self._one_hot(x, what, self.config.emotion_dim)

    def encode_content(self, x: torch.Tensor) -> torch.Tensor:
        return self._one_hot(x, "emotion" if self.swap else "sentence", 16)


class WindowContent(DisentangleModel):
    """Content code = the window itself (336 numbers): tells how well windows are aligned."""

    def __init__(self) -> None:
        super().__init__(DisentangleConfig.small())

    def encode_content(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def test_perfect_oracle_scores_100_percent_and_zero_ratios(
    corpus: Path, clips: tuple[Clip, ...], cache: FeatureCache
) -> None:
    report = evaluate_disentangle(OracleModel(clips), corpus, clips, cache=cache)
    per_emotion = len(clips) // 8
    assert report.n_clips == len(clips) == N_ACTORS * N_SENTENCES * 8
    assert report.window_accuracy == 1.0 and report.clip_accuracy == 1.0
    assert np.array_equal(report.clip_confusion, per_emotion * np.eye(8, dtype=np.int64))
    assert report.window_confusion.sum() == report.n_windows
    assert set(report.per_class_clip_accuracy) == set(EMOTIONS)
    assert report.n_groups == N_ACTORS * N_SENTENCES
    inv = report.invariance
    assert inv.n_same > 0 and inv.n_different > 0
    assert inv.content_same == 0.0 and inv.content_different == pytest.approx(math.sqrt(2))
    assert inv.emotion_different == 0.0 and inv.emotion_same == pytest.approx(math.sqrt(2))
    assert report.content_ratio == 0.0 and report.emotion_ratio == 0.0
    # the plot's sample keeps each code with its own label
    assert report.sample_codes.shape == (min(SAMPLE_SIZE, report.n_windows), 64)
    assert np.array_equal(report.sample_codes[:, :8].argmax(axis=1), report.sample_labels)
    assert set(report.sample_labels.tolist()) == set(range(8))


def test_shifted_classifier_puts_every_clip_one_column_right(
    corpus: Path, clips: tuple[Clip, ...], cache: FeatureCache
) -> None:
    report = evaluate_disentangle(OracleModel(clips, shift=1), corpus, clips, cache=cache)
    assert report.window_accuracy == 0.0 and report.clip_accuracy == 0.0
    expected = np.roll(np.eye(8, dtype=np.int64), 1, axis=1) * (len(clips) // 8)
    assert np.array_equal(report.clip_confusion, expected)  # row angry -> column contempt
    assert report.clip_confusion[EMOTIONS.index("surprised"), EMOTIONS.index("angry")] > 0
    assert all(v == 0.0 for v in report.per_class_window_accuracy.values())


def test_swapped_encoders_give_infinite_ratios_and_json_nulls(
    corpus: Path, clips: tuple[Clip, ...], cache: FeatureCache
) -> None:
    report = evaluate_disentangle(OracleModel(clips, swap=True), corpus, clips, cache=cache)
    assert report.content_ratio == math.inf and report.emotion_ratio == math.inf
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["invariance"]["content_ratio"] is None
    assert data["invariance"]["content_same"] == pytest.approx(math.sqrt(2))
    assert "| content Ec | 1.414 | 0.000 | ∞" in report.to_markdown()


_ALIGN = eval_mod._align_group


def _unaligned(
    group: list[tuple[Clip, Clip]], feats: dict[Clip, np.ndarray]
) -> dict[Clip, np.ndarray]:
    """Each clip's own windows cut or padded to the reference's count: no DTW."""
    aligned = _ALIGN(group, feats)
    n = next(iter(aligned.values())).shape[0]
    out = {}
    for clip in aligned:
        own = np.ascontiguousarray(frame_windows(feats[clip][:, 1:]), dtype=np.float32)
        out[clip] = own[np.minimum(np.arange(n), own.shape[0] - 1)]
    return out


def test_dtw_alignment_brings_same_text_windows_together(
    corpus: Path, clips: tuple[Clip, ...], cache: FeatureCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    aligned = evaluate_disentangle(WindowContent(), corpus, clips, cache=cache).invariance
    monkeypatch.setattr(eval_mod, "_align_group", _unaligned)
    unaligned = evaluate_disentangle(WindowContent(), corpus, clips, cache=cache).invariance
    assert aligned.n_same == unaligned.n_same
    assert aligned.content_ratio < 0.9 * unaligned.content_ratio
    assert aligned.content_ratio < 1.0


def _codes(group: int, speaker: str, emotion: int, level: int, c: float, e: float) -> CodeSet:
    """Constant codes over 3 windows (group 0) or 5 windows (other groups)."""
    n = 3 if group == 0 else 5
    return CodeSet(group, speaker, emotion, level, np.full((n, 2), c), np.full((n, 1), e))


def test_invariance_pairs_on_hand_made_codes() -> None:
    ramp = np.stack([np.arange(5.0), np.ones(5)], axis=1)  # content of c: (k, 1)
    codes = {
        "a": _codes(0, "M1", 0, 3, c=0.0, e=0.0),
        "b": _codes(0, "M1", 1, 3, c=3.0, e=4.0),  # same text as a: 3 windows
        "c": CodeSet(1, "M1", 0, 3, ramp, np.full((5, 1), 0.5)),  # other text, as a else
        "d": _codes(1, "M1", 1, 1, c=9.0, e=9.0),  # other level than b: no partner
        "e": _codes(2, "W2", 0, 3, c=7.0, e=7.0),  # other speaker: no partner
        "f": _codes(0, "M1", 0, 1, c=0.0, e=0.0),  # a's text and emotion: no pair with a
    }
    inv = invariance(codes.values())
    # same text: (a, b) and (f, b) over 3 windows, (c, d) over 5
    assert inv.n_same == 3 + 3 + 5
    c_d = sum(math.hypot(9 - k, 8) for k in range(5))
    assert inv.content_same == pytest.approx((2 * 3 * 3 * math.sqrt(2) + c_d) / 11)
    assert inv.emotion_same == pytest.approx((2 * 3 * 4 + 5 * 8.5) / 11)
    # other text: (a, c), a's windows 0, 1, 2 against c's windows 0, 2, 4
    assert inv.n_different == 3
    assert inv.content_different == pytest.approx((1 + math.sqrt(5) + math.sqrt(17)) / 3)
    assert inv.emotion_different == pytest.approx(0.5)
    assert inv.content_ratio == pytest.approx(inv.content_same / inv.content_different)
    assert inv.emotion_ratio == pytest.approx(0.5 / inv.emotion_same)
    assert math.isnan(invariance([]).content_ratio)


def test_clip_prediction_uses_mean_logits() -> None:
    clip = Clip("M1", "happy", 4, 1, 1, "", None, None, None)
    scores = eval_mod._Scores({clip: np.zeros((3, 28, 12))}, seed=0)
    logits = np.zeros((3, 8))
    logits[:2, 6], logits[2, 4] = 1.0, 10.0  # windows: sad, sad, happy; mean: happy
    scores.add(clip, np.eye(3, 4), logits)
    assert scores.clip_confusion()[4, 4] == 1
    assert scores.window_confusion()[4].tolist() == [0, 0, 0, 0, 1, 0, 2, 0]


def test_relative_positions() -> None:
    assert relative_positions(5, 9).tolist() == [0, 2, 4, 6, 8]
    assert relative_positions(3, 1).tolist() == [0, 0, 0]
    assert relative_positions(1, 7).tolist() == [0]
    assert relative_positions(4, 4).tolist() == [0, 1, 2, 3]


def test_trained_model_report(
    trained: TrainResult, corpus: Path, clips: tuple[Clip, ...], cache: FeatureCache
) -> None:
    report = evaluate_disentangle(trained.model, corpus, clips, cache=cache, seed=3)
    assert isinstance(report, DisentangleReport)
    assert 0.0 <= report.window_accuracy <= 1.0 and 0.0 <= report.clip_accuracy <= 1.0
    assert report.clip_confusion.sum() == len(clips)
    assert 0.0 < report.content_ratio < math.inf and 0.0 < report.emotion_ratio < math.inf
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["emotions"] == list(EMOTIONS) and data["invariance"]["distance"] == "l2"
    assert len(data["window_confusion"]) == 8
    markdown = report.to_markdown(title="trained")
    assert markdown.startswith("## trained") and "| **all** |" in markdown
    again = evaluate_disentangle(trained.model, corpus, clips, cache=cache, seed=3)
    assert np.array_equal(again.sample_codes, report.sample_codes)


def test_embedding_plot_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(8), 30)
    codes = rng.normal(size=(240, 16)) + 4 * np.eye(16)[labels]
    path = embedding_plot(
        [("with L_cross", codes, labels), ("w/o L_cross", codes[:50], labels[:50])],
        tmp_path / "fig5.png",
    )
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == plot_size(2) == (1120, 520)
        counted = image.convert("RGB").getcolors(1 << 20)
    assert counted is not None
    colours = {c for _, c in counted}
    assert set(EMOTION_COLOURS) <= colours
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(InvalidInputError, match="labels"):
        embedding_plot([("bad", codes, labels + 1)], tmp_path / "bad.png")
    with pytest.raises(InvalidInputError, match="at least one panel"):
        embedding_plot([], tmp_path / "none.png")


def test_held_out_clips_refuses_a_corpus_without_test_sentences(
    corpus: Path, tmp_path: Path
) -> None:
    late = _copy_as(corpus, tmp_path / "late", [(1, 13), (2, 14)])
    with pytest.raises(InvalidInputError, match=f"{late}: none of its 32 clips"):
        held_out_clips(late)
    assert len(held_out_clips(late, "all")) == 32


def _copy_as(
    corpus: Path, out: Path, sentences: list[tuple[int, int]], actors: int = N_ACTORS
) -> Path:
    """Hard-link the audio of the first ``actors`` actors into ``out``, (old, new) ids."""
    out.mkdir()
    shutil.copy(corpus / MANIFEST, out / MANIFEST)
    clips = scan_mead(corpus, require=("audio",)).clips
    kept = sorted({c.actor for c in clips})[:actors]
    for clip in clips:
        if clip.audio is None or clip.actor not in kept:
            continue
        for old, new in sentences:
            if clip.sentence == old:
                rel = clip.audio.relative_to(corpus).with_name(f"{new:03d}.m4a")
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.link(clip.audio, out / rel)
    return out


def test_cli_disentangle_writes_report_and_plot(
    trained: TrainResult, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = trained.checkpoint
    out = tmp_path / "dis"
    argv = ["eval", "disentangle", "--data", str(corpus), "--checkpoint", str(ckpt),
            "--compare", str(ckpt), "--compare-label", "again", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "again: emotion accuracy" in printed
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["split"] == "paper" and [m["label"] for m in data["models"]][1] == "again"
    assert data["models"][0]["checkpoint"] == str(ckpt)
    assert data["models"][0]["n_clips"] == 32
    assert "## again" in (out / "report.md").read_text(encoding="utf-8")
    with Image.open(out / "embedding.png") as image:
        assert image.size == plot_size(2)


def test_cli_disentangle_bad_data_exits_2_naming_the_folder(
    trained: TrainResult, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    late = _copy_as(corpus, tmp_path / "late", [(1, 13)])
    argv = ["eval", "disentangle", "--data", str(late), "--checkpoint",
            str(trained.checkpoint), "-o", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(late) in err and "test set" in err
    assert not (tmp_path / "out").exists()


def test_cli_eval_keeps_the_landmark_form(capsys: pytest.CaptureFixture[str]) -> None:
    from evp_studio.cli import build_parser  # noqa: PLC0415
    from evp_studio.cli_eval import cmd_eval  # noqa: PLC0415

    args = build_parser().parse_args(["eval", "--pred", "p", "--gt", "g"])
    assert args.func is cmd_eval and args.pred == Path("p")
    assert main(["eval", "--pred", "p"]) == 2
    assert "give --pred DIR and --gt DIR" in capsys.readouterr().err


def test_train_resumes_for_more_epochs_when_one_epoch_is_short(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[DisentangleTrainConfig] = []

    def fake(
        root: Path, out: Path, config: DisentangleTrainConfig, **_: object
    ) -> Generator[Progress, None, SimpleNamespace]:
        calls.append(config)
        yield from ()
        return SimpleNamespace(steps=7 * config.epochs, epochs=config.epochs)

    monkeypatch.setattr(ablation_mod, "train_disentangle", fake)
    config = DisentangleTrainConfig(epochs=1, max_steps_per_epoch=30)
    result = run_job(_train(tmp_path, tmp_path, config, 30, None))
    assert [c.epochs for c in calls] == [1, 5] and result.steps == 35
    calls.clear()
    assert run_job(_train(tmp_path, tmp_path, config, 5, None)).steps == 7
    assert [c.epochs for c in calls] == [1]


def test_cli_ablation_trains_scores_and_resumes(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one actor: test sentences 001-002, the same audio again as train sentences 013-014
    data = _copy_as(corpus, tmp_path / "data", [(1, 1), (2, 2), (1, 13), (2, 14)], actors=1)
    out = tmp_path / "ablation"
    argv = ["eval", "ablation", "--data", str(data), "-o", str(out), "--steps", "3",
            "--terms", "cross"]  # fmt: skip
    assert main(argv) == 0
    assert "| w/o L_cross |" in capsys.readouterr().out
    rows = (out / "ablation.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",") == list(CSV_COLUMNS)
    assert [r.split(",")[0] for r in rows[1:]] == ["full", "w/o L_cross"]
    assert [r.split(",")[-1] for r in rows[1:]] == ["3", "3"]
    assert "| full |" in (out / "ablation.md").read_text(encoding="utf-8")
    report = json.loads((out / "no_cross" / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["ablate"] == ["cross"] and report["config"]["split"] == "paper"
    with Image.open(out / "embedding.png") as image:
        assert image.size == plot_size(2)
    stamp = (out / "full" / "checkpoint.pt").stat().st_mtime_ns
    assert main(argv) == 0  # finished runs are reused, not trained again
    assert (out / "full" / "checkpoint.pt").stat().st_mtime_ns == stamp
