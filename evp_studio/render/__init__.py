"""Rendering: guidance (edge) maps for the Edge-to-Video renderer.

Public API::

    GuidanceConfig(distance_maps=False, edge_width=1, antialias=False, background=True, ...)
    n_channels(config) -> 1 | 15
    guidance_map(frame, landmarks, config) -> (C, H, W) float32 in [0, 1]
    draw_sketch(landmarks, shape, *, width, antialias) -> (H, W) uint8
    background_edges(frame_gray, mask, config) -> (H, W) uint8
    distance_maps(landmarks, shape, *, width) -> (14, H, W) float32
    face_region_mask(landmarks, shape) -> (H, W) bool; face_polygon(landmarks) -> (32, 2)
    face_crop_box(landmarks, frame_shape, scale=2.1) -> (x0, y0, x1, y1)
    PARTS / PART_NAMES: the 14 iBUG-68 part curves
"""

from evp_studio.render.guidance import (
    N_DISTANCE_MAPS,
    PART_NAMES,
    PARTS,
    GuidanceConfig,
    background_edges,
    check_landmarks,
    distance_maps,
    draw_sketch,
    face_crop_box,
    face_polygon,
    face_region_mask,
    guidance_map,
    n_channels,
)

__all__ = [
    "N_DISTANCE_MAPS",
    "PARTS",
    "PART_NAMES",
    "GuidanceConfig",
    "background_edges",
    "check_landmarks",
    "distance_maps",
    "draw_sketch",
    "face_crop_box",
    "face_polygon",
    "face_region_mask",
    "guidance_map",
    "n_channels",
]
