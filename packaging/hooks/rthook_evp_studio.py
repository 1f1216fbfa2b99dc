"""PyInstaller runtime hook, run before the app: point numba's cache at a user folder.

The installed bundle is read-only (``/opt``, ``Program Files``, a signed ``.app``), and numba
(imported by face-alignment, the ``fan`` landmark backend) writes its cache next to the
source unless ``NUMBA_CACHE_DIR`` says otherwise.
"""

import os

from evp_studio.paths import cache_dir

os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
