"""The core runs without Qt: import every core module, run a small pipeline, in a new process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys, tempfile
    from fractions import Fraction
    from pathlib import Path

    import numpy as np
    import evp_studio

    for mod in pkgutil.walk_packages(evp_studio.__path__, "evp_studio."):
        importlib.import_module(mod.name)

    from evp_studio.media import VideoReader, VideoWriter, probe
    from evp_studio.project import Document, load_project

    tmp = Path(tempfile.mkdtemp())
    video = tmp / "clip.mp4"
    with VideoWriter(video, width=64, height=48, frame_rate=Fraction(25)) as w:
        for i in range(10):
            w.write(np.full((48, 64, 3), i * 20, np.uint8))
    info = probe(video)
    assert info.video.frame_count == 10, info
    with VideoReader(video) as r:
        assert r.read(7).shape == (48, 64, 3)
    doc = Document.new(name="layering")
    doc.set_target(path=video, frame_rate=Fraction(25), frame_count=10, width=64, height=48)
    doc.add_keyframe(frame=3, emotion="happy", intensity=0.5)
    doc.save(tmp / "p.evp")
    weights = load_project(tmp / "p.evp").emotion_weights(np.arange(10))
    assert weights.shape == (10, 8)
    qt = {"PySide6", "pyqtgraph", "superqt", "ui", "shiboken6"}
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in qt)
    print("QT_MODULES=" + ",".join(loaded))
    """
)


def test_core_runs_without_loading_qt(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "QT_MODULES=\n" in result.stdout, result.stdout
