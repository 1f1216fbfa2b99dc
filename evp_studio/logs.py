"""Logging set-up shared by the CLI and the editor: a log file in the log folder."""

from __future__ import annotations

import logging
import logging.handlers

from evp_studio import paths


def setup_logging(level: int = logging.INFO, *, console: bool = True) -> None:
    """Log to ``<log_dir>/evp-studio.log`` (rotated) and, optionally, to stderr."""
    root = logging.getLogger()
    if getattr(root, "_evp_configured", False):
        return
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.handlers.RotatingFileHandler(
        paths.log_dir() / "evp-studio.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(fmt)
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stream.setLevel(logging.WARNING)
        root.addHandler(stream)
    root._evp_configured = True  # type: ignore[attr-defined]
