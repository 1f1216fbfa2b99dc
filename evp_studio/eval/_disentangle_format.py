"""JSON and markdown forms of a :class:`~evp_studio.eval.disentangle.DisentangleReport`.

JSON has no NaN or infinity: such values (no pair to compare, a zero denominator) are
written as ``null``. Accuracies are fractions in JSON and percentages in markdown.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from evp_studio.project import EMOTIONS

if TYPE_CHECKING:
    from evp_studio.eval._disentangle_eval import DisentangleReport

_DASH = "—"


def finite(value: float | None) -> float | None:
    """The value, or None when it is None, NaN or infinite (JSON cannot hold those)."""
    return value if value is not None and math.isfinite(value) else None


def percent(value: float | None) -> str:
    """``"83.6 %"``, or a dash for a missing value."""
    v = finite(value)
    return f"{100 * v:.1f} %" if v is not None else _DASH


def number(value: float | None, digits: int = 3) -> str:
    """A float with ``digits`` decimals, ``∞`` for infinity, a dash when missing."""
    if value is not None and math.isinf(value):
        return "∞"
    v = finite(value)
    return f"{v:.{digits}f}" if v is not None else _DASH


def report_to_dict(report: DisentangleReport) -> dict[str, Any]:
    """Plain JSON-ready data of a report (the code sample is left out)."""
    inv = report.invariance
    return {
        "emotions": list(EMOTIONS),
        "n_clips": report.n_clips,
        "n_windows": report.n_windows,
        "window_accuracy": finite(report.window_accuracy),
        "clip_accuracy": finite(report.clip_accuracy),
        "per_class_window_accuracy": report.per_class_window_accuracy,
        "per_class_clip_accuracy": report.per_class_clip_accuracy,
        "window_confusion": report.window_confusion.tolist(),
        "clip_confusion": report.clip_confusion.tolist(),
        "invariance": {
            "distance": report.distance,
            "n_groups": report.n_groups,
            "same_content_window_pairs": inv.n_same,
            "different_content_window_pairs": inv.n_different,
            "content_same": finite(inv.content_same),
            "content_different": finite(inv.content_different),
            "content_ratio": finite(inv.content_ratio),
            "emotion_same": finite(inv.emotion_same),
            "emotion_different": finite(inv.emotion_different),
            "emotion_ratio": finite(inv.emotion_ratio),
        },
        "sample_size": int(report.sample_labels.shape[0]),
    }


def _confusion_table(counts: np.ndarray, what: str) -> list[str]:
    short = [name[:4] for name in EMOTIONS]
    lines = [
        f"Confusion ({what}; rows: true emotion, columns: predicted):",
        "",
        "| true \\ pred | " + " | ".join(short) + " |",
        "|---|" + "---:|" * len(short),
    ]
    lines += [
        f"| {name} | " + " | ".join(str(int(v)) for v in row) + " |"
        for name, row in zip(EMOTIONS, counts, strict=True)
    ]
    return [*lines, ""]


def report_to_markdown(report: DisentangleReport, title: str) -> str:
    """A markdown section of a report (see :meth:`DisentangleReport.to_markdown`)."""
    inv = report.invariance
    windows, clips = report.per_class_window_accuracy, report.per_class_clip_accuracy
    lines = [
        f"## {title}",
        "",
        f"{report.n_clips} held-out clips, {report.n_windows} windows; invariance over "
        f"{report.n_groups} DTW-aligned text groups ({inv.n_same} same-content and "
        f"{inv.n_different} different-content window pairs).",
        "",
        "### Emotion classification, Ce(Ee(window))",
        "",
        "| Emotion | Window acc. ↑ | Clip acc. ↑ |",
        "|---|---:|---:|",
        f"| **all** | {percent(report.window_accuracy)} | {percent(report.clip_accuracy)} |",
    ]
    lines += [f"| {e} | {percent(windows[e])} | {percent(clips[e])} |" for e in EMOTIONS]
    lines += ["", *_confusion_table(report.clip_confusion, "clips, by mean logits")]
    lines += _confusion_table(report.window_confusion, "windows")
    lines += [
        f"### Code invariance (mean {report.distance.upper()} distance between codes)",
        "",
        "| Codes | same text, other emotion | other text, same emotion | ratio ↓ |",
        "|---|---:|---:|---:|",
        f"| content Ec | {number(inv.content_same)} | {number(inv.content_different)} "
        f"| {number(inv.content_ratio)} (same / other text) |",
        f"| emotion Ee | {number(inv.emotion_same)} | {number(inv.emotion_different)} "
        f"| {number(inv.emotion_ratio)} (other / same text) |",
        "",
        "A ratio below 1 means the codes follow what they should encode (the text for Ec, "
        "the emotion for Ee) more than the other factor.",
        "",
    ]
    return "\n".join(lines)
