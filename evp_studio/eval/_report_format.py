"""JSON and markdown forms of an :class:`~evp_studio.eval.report.EvalReport`.

JSON has no infinity: a PSNR of ``inf`` (every frame identical to the ground truth) is
written as ``null`` and its note says why. The markdown table has the paper's columns with
their arrows (lower or higher is better); a value that cannot be computed shows "—", and a
footnote under the units line says why (or what to know about a value that is shown).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from evp_studio.eval._clip_eval import ClipResult
from evp_studio.eval.landmarks import FACE_SIZE_PX
from evp_studio.project import EMOTIONS

if TYPE_CHECKING:
    from evp_studio.eval.report import EvalReport

#: The table's columns: the paper's Table 1 plus its emotion accuracy (sec. 4.2).
COLUMNS: tuple[str, ...] = ("M-LD", "M-LVD", "F-LD", "F-LVD", "SSIM", "PSNR", "FID", "Emotion acc.")
_ARROWS = {"SSIM": "↑", "PSNR": "↑", "Emotion acc.": "↑"}  # the others: lower is better
_DECIMALS = {"SSIM": 3}  # the paper's 2 elsewhere
_SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹"
_CLIP_FIELDS = {
    "M-LD": "m_ld",
    "M-LVD": "m_lvd",
    "F-LD": "f_ld",
    "F-LVD": "f_lvd",
    "SSIM": "ssim",
    "PSNR": "psnr",
}


def units(report: EvalReport) -> dict[str, str]:
    """Column -> unit, in words."""
    face = f"px of a face whose outer-eye-corner distance is {FACE_SIZE_PX:g} px"
    return {
        "M-LD": face,
        "M-LVD": f"{face}, per frame",
        "F-LD": face,
        "F-LVD": f"{face}, per frame",
        "SSIM": "unitless (1 = identical)",
        "PSNR": "dB",
        "FID": f"squared '{report.settings.get('fid_features', '?')}' feature units",
        "Emotion acc.": "% of labelled clips",
    }


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _label(index: int | None) -> str | None:
    return EMOTIONS[index] if index is not None else None


def _clip_dict(clip: ClipResult) -> dict[str, object]:
    out: dict[str, object] = {
        "key": clip.key,
        "image_frames": clip.image_frames,
        "landmark_frames": clip.landmark_frames,
    }
    out.update({col: _number(getattr(clip, attr)) for col, attr in _CLIP_FIELDS.items()})
    notes = list(clip.notes)
    if clip.psnr is not None and not math.isfinite(clip.psnr):
        notes.append("PSNR is infinite: every frame is identical to the ground truth")
    out.update(
        identical_frames=clip.identical_frames,
        filled_frames=clip.filled_frames,
        label=_label(clip.label),
        predicted=_label(clip.predicted),
        predicted_gt=_label(clip.predicted_gt),
        notes=notes,
    )
    return out


def report_to_dict(report: EvalReport) -> dict[str, object]:
    """JSON-ready form of a report (see the module notes)."""
    fid = report.fid
    return {
        "pred_dir": report.pred_dir,
        "gt_dir": report.gt_dir,
        "columns": list(COLUMNS),
        "metrics": {c: _number(report.metrics.get(c)) for c in COLUMNS},
        "units": units(report),
        "notes": dict(report.notes),
        "fid": None
        if fid is None
        else {
            "value": fid.value,
            "feature_network": fid.extractor,
            "dim": fid.dim,
            "frames_pred": fid.n_pred,
            "frames_gt": fid.n_gt,
            "biased": fid.biased,
            "no_face_frames": report.fid_no_face_frames,
        },
        "emotion_accuracy_gt": report.emotion_accuracy_gt,
        "settings": {**report.settings, "face_size_px": FACE_SIZE_PX},
        "clips": [_clip_dict(c) for c in report.clips],
        "skipped": list(report.skipped),
        "warnings": list(report.warnings),
    }


def _cell(value: float | None, column: str) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:.{_DECIMALS.get(column, 2)}f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _main_table(report: EvalReport, columns: tuple[str, ...]) -> list[str]:
    footnotes: list[str] = []
    cells = []
    for col in columns:
        cell = _cell(report.metrics.get(col), col)
        if col in report.notes:
            mark = _SUPERSCRIPTS[len(footnotes)]
            footnotes.append(f"{mark} {col}: {report.notes[col]}.")
            cell += mark
        cells.append(cell)
    header = ["Method/Score"] + [f"{c} {_ARROWS.get(c, '↓')}" for c in columns]
    net = report.settings.get("fid_features", "?")
    unit_text = (
        f"M-/F-LD px and M-/F-LVD px per frame, of a face whose outer-eye-corner distance is "
        f"{FACE_SIZE_PX:g} px; SSIM unitless (1 = identical); PSNR dB; FID squared '{net}' "
        "feature units (not Inception features: not comparable with published FIDs); "
        "Emotion acc. % of labelled clips"
    )
    return [
        _row(header),
        _row(["---"] + ["---:"] * len(columns)),
        _row([_name(report.pred_dir), *cells]),
        "",
        f"Units: {unit_text}.",
        "",
        *footnotes,
    ]


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or path


def _clip_table(clips: list[ClipResult]) -> list[str]:
    lines = [
        _row(["Clip", "Frames (image / landmarks)", *_CLIP_FIELDS, "Emotion (predicted / label)"]),
        _row(["---", "---:"] + ["---:"] * len(_CLIP_FIELDS) + ["---"]),
    ]
    for c in clips:
        values = [_cell(getattr(c, attr), col) for col, attr in _CLIP_FIELDS.items()]
        emotion = f"{_label(c.predicted) or '—'} / {_label(c.label) or '—'}"
        lines.append(_row([c.key, f"{c.image_frames} / {c.landmark_frames}", *values, emotion]))
    return lines


def report_to_markdown(report: EvalReport) -> str:
    """Markdown: the paper-style table, units, footnotes, per-clip table, warnings."""
    lines = [f"# Evaluation of {report.pred_dir} against {report.gt_dir}", ""]
    lines += _main_table(report, COLUMNS)
    if report.emotion_accuracy_gt is not None:
        lines += ["", f"Emotion acc. of the ground truth: {report.emotion_accuracy_gt:.2f} %."]
    lines += ["", f"Clips: {len(report.clips)} compared, {len(report.skipped)} skipped."]
    lines += ["", "## Per clip", "", *_clip_table(report.clips)]
    if report.warnings:
        lines += ["", "## Warnings", "", *(f"- {w}" for w in report.warnings)]
    return "\n".join(lines) + "\n"
