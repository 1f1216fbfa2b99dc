"""How well a disentanglement model separates emotion from content (paper section 3.2).

Imports torch. Public API::

    held_out_clips(data_root, split="paper") -> tuple[Clip, ...]
    evaluate_disentangle(model, data_root, clips, *, cache=None, device="cpu", seed=0)
        -> DisentangleReport                  (.to_dict(), .to_markdown())
    evaluate_disentangle_job(...) -> Job[DisentangleReport]      (the same, with progress)
    embedding_plot(panels, path, *, seed=0) -> Path               (paper Fig. 5, PCA)
    run_ablation(data_root, out_dir, *, steps, seed=0, size="small", terms=TERMS,
                 device="cpu", cancel=None) -> Job[AblationTable] (paper Table 2, audio)

What is measured
----------------
*Emotion accuracy* of Ce(Ee(window)) on every window of every clip (the clip's own MFCC
windows, as at inference): per window (argmax of the logits) and per clip (argmax of the
mean logits over its windows), per emotion, with 8x8 confusion matrices (rows true,
columns predicted, label order of :data:`~evp_studio.project.EMOTIONS`).

*Invariance* of the codes, from Euclidean (L2) distances between code vectors. Clips are
grouped by actor, view and spoken text as for training (:mod:`evp_studio.train.pairs`,
the corpus manifest's pairing mode) and every clip of a group is DTW-aligned onto the
group's reference clip, so window k says the same content in every emotion:

- same content: window k of two clips of one group with different emotions;
- different content: two clips of one actor, view, emotion and level saying different
  texts, at the same relative position (window k of n against window
  ``round(k (n' - 1) / (n - 1))`` of n'), both on their groups' aligned timelines.

``content ratio = d_Ec(same content) / d_Ec(different content)`` is below 1 when content
codes follow the text more than the emotion (lower is better); ``emotion ratio =
d_Ee(different content) / d_Ee(same content)`` is below 1 when emotion codes follow the
emotion more than the text (lower is better). Means are over all compared window pairs.
Under MEAD's pairing only sentences 001-003 of the test sentences form text groups
(:func:`evp_studio.data.mead.content_group`); accuracy uses every held-out clip.
"""

from __future__ import annotations

from evp_studio.eval._disentangle_ablation import (
    CSV_COLUMNS,
    TERMS,
    AblationRow,
    AblationTable,
    run_ablation,
)
from evp_studio.eval._disentangle_eval import (
    SAMPLE_SIZE,
    DisentangleReport,
    evaluate_disentangle,
    evaluate_disentangle_job,
    held_out_clips,
)
from evp_studio.eval._disentangle_metrics import Invariance, pca_2d
from evp_studio.eval._embedding_plot import EMOTION_COLOURS, embedding_plot, plot_size

__all__ = [
    "CSV_COLUMNS",
    "EMOTION_COLOURS",
    "SAMPLE_SIZE",
    "TERMS",
    "AblationRow",
    "AblationTable",
    "DisentangleReport",
    "Invariance",
    "embedding_plot",
    "evaluate_disentangle",
    "evaluate_disentangle_job",
    "held_out_clips",
    "pca_2d",
    "plot_size",
    "run_ablation",
]
