"""Synthetic talking faces for the MEAD-layout corpus: 3D landmarks, speech, emotion, pose, pixels.

Pipeline: ``identity_shape`` -> ``mouth_track`` (phonemes) -> ``animate`` (expression, blinks,
``head_motion`` pose, projection) -> ``render_clip``. Units and conventions: ``shape`` (head
frame, mm), ``pose`` (rotation order, projection), ``expression`` (FACS units, MEAD levels).
"""

from evp_studio.data.face.articulation import (
    MOUTH_PARAMS,
    VISEMES,
    apply_mouth,
    apply_mouth_batch,
    inner_lip_gap,
    mouth_track,
)
from evp_studio.data.face.compose import AnimatedFace, animate, deform_face
from evp_studio.data.face.expression import (
    ACTION_UNITS,
    EMOTIONS,
    LEVEL_INTENSITY,
    PROTOTYPES,
    ActionUnit,
    expression_envelope,
    expression_mouth,
    expression_mouth_batch,
    expression_offsets,
    expression_offsets_batch,
    level_intensity,
)
from evp_studio.data.face.pose import (
    Pose,
    angles_from_rotation,
    apply_blink,
    blink_track,
    head_motion,
    posed_points,
    project,
    rotation_matrix,
    static_pose,
)
from evp_studio.data.face.render import (
    Appearance,
    appearance_for,
    make_background,
    render_clip,
    render_frame,
)
from evp_studio.data.face.shape import (
    IDENTITY_BASIS,
    IDENTITY_BASIS_NAMES,
    MEAN_SHAPE,
    MIRROR,
    FaceShape,
    identity_shape,
    shape_from_coefficients,
)

__all__ = [
    "ACTION_UNITS",
    "EMOTIONS",
    "IDENTITY_BASIS",
    "IDENTITY_BASIS_NAMES",
    "LEVEL_INTENSITY",
    "MEAN_SHAPE",
    "MIRROR",
    "MOUTH_PARAMS",
    "PROTOTYPES",
    "VISEMES",
    "ActionUnit",
    "AnimatedFace",
    "Appearance",
    "FaceShape",
    "Pose",
    "angles_from_rotation",
    "animate",
    "appearance_for",
    "apply_blink",
    "apply_mouth",
    "apply_mouth_batch",
    "blink_track",
    "deform_face",
    "expression_envelope",
    "expression_mouth",
    "expression_mouth_batch",
    "expression_offsets",
    "expression_offsets_batch",
    "head_motion",
    "identity_shape",
    "inner_lip_gap",
    "level_intensity",
    "make_background",
    "mouth_track",
    "posed_points",
    "project",
    "render_clip",
    "render_frame",
    "rotation_matrix",
    "shape_from_coefficients",
    "static_pose",
]
