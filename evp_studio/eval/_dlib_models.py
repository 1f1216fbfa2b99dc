"""Moved to :mod:`evp_studio.landmarks` (``dlib_model_path``, ``largest_face``).

Kept as a re-export for callers of the old location (tests/core/test_eval_support.py).
"""

from evp_studio.landmarks import dlib_model_path, largest_face

__all__ = ["dlib_model_path", "largest_face"]
