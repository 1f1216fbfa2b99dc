"""3D-aware keypoint alignment (paper sec. 3.3): head pose, pose-invariant landmarks, eq. 8.

Typical use on a target clip and predicted canonical landmarks::

    shape, fit = fit_shape(target_points)           # or fit_pose(target_points) with MEAN_SHAPE
    canonical = to_canonical(target_points, fit, shape)   # what audio-to-landmark learns from
    placed = align_to_target(predicted_canonical, fit, target_points, shape3d=shape)

Conventions: landmarks are iBUG-68, pixels, image y down; 3D shapes are head-frame points
(x right, y up, z towards the camera; mm for ``MEAN_SHAPE``); rotations follow
``evp_studio.data.face.pose`` (``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)``). The canonical space
is described in ``evp_studio.geometry.lift``.
"""

from evp_studio.geometry._arrays import RIGID_WEIGHTS
from evp_studio.geometry.align import ANCHOR_WEIGHTS, CONTOUR_PROFILE, align_to_target, place_2d
from evp_studio.geometry.lift import from_canonical, frontalise, reproject, to_canonical
from evp_studio.geometry.pose_fit import PoseFit, fit_pose
from evp_studio.geometry.shape_fit import fit_shape
from evp_studio.geometry.smoothing import OneEuro, one_euro

__all__ = [
    "ANCHOR_WEIGHTS",
    "CONTOUR_PROFILE",
    "RIGID_WEIGHTS",
    "OneEuro",
    "PoseFit",
    "align_to_target",
    "fit_pose",
    "fit_shape",
    "from_canonical",
    "frontalise",
    "one_euro",
    "place_2d",
    "reproject",
    "to_canonical",
]
