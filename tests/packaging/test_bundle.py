"""The real installers, built here, installed here and started offscreen (``-m packaging``).

Uses ``dist/evp-studio-<version>-linux-<machine>.tar.gz`` and
``dist/evp-studio_<version>_<arch>.deb`` as ``make package`` just built them, or builds them
first when they are missing (a freeze takes minutes). The tarball is extracted and the .deb
is installed with dpkg into temporary roots; both then run ``--version`` and ``--self-test``
(demo project, warp and neural renderers) with their user folders in a temporary folder,
never write inside the installation, and the .deb leaves nothing behind after
``dpkg --purge``. Sizes and start-up times are written to ``build/packaging-report.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from evp_studio import __version__
from tests.packaging._tools import (
    Run,
    deb_contents,
    deb_fields,
    desktop_entry_problems,
    dpkg,
    evict,
    has_dpkg,
    leftovers,
    run,
    snapshot,
)

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(not has_dpkg(), reason="needs dpkg and dpkg-deb (Debian family)"),
]

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "build" / "packaging-report.json"
CHECKS = ("Qt", "user folders", "models", "fan backend", "demo project", "warp renderer")


def _record(key: str, value: object) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    data[key] = value
    REPORT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def artifacts(build: ModuleType) -> dict[str, Path]:
    cfg = build.load_config(ROOT)
    dist = ROOT / "dist"
    found = {
        "bundle": build.bundle_path(cfg, dist),
        "tar": dist / build.tar_name(cfg),
        "deb": dist / build.deb_name(cfg),
    }
    if not all(p.exists() for p in found.values()):
        build.main(["--target", "linux-tar", "--target", "linux-deb"])
    du = subprocess.run(["du", "-sm", str(found["bundle"])], capture_output=True, text=True)
    _record(
        "sizes_mib",
        {
            "bundle_folder": int(du.stdout.split()[0]),
            "tar_gz": round(found["tar"].stat().st_size / 2**20),
            "deb": round(found["deb"].stat().st_size / 2**20),
        },
    )
    return found


def _check_self_test(result: Run) -> None:
    assert result.returncode == 0, f"--self-test failed:\n{result.stdout}\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"EVP Studio {__version__} self-test")
    for name in CHECKS:
        assert any(line.startswith(f"ok    {name}: ") for line in lines), f"no ok line: {name}"
    neural = next(line for line in lines if line.startswith("ok    neural renderer: "))
    assert "tiny preset trained" in neural
    assert lines[-1] == "self-test passed"


def _start_up(exe: Path, home: Path, label: str) -> Run:
    """Time ``--version`` and ``--self-test``, cold and warm; returns the last self-test run.

    Cold: the installation's files are dropped from the page cache first (system libraries
    stay cached) and, for the self-test, the user folders are empty (no landmark cache).
    Warm: the same command again.
    """
    install = exe.resolve().parent
    times: dict[str, float] = {}
    for name in ("version_cold", "version_warm", "self_test_cold", "self_test_warm"):
        if name.endswith("cold"):
            evict(install)
        flag = "--version" if name.startswith("version") else "--self-test"
        result = run([str(exe), flag], home)
        if flag == "--version":
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == f"EVP Studio {__version__}", result.stdout
        else:
            _check_self_test(result)
        times[name] = round(result.seconds, 2)
    _record(f"start_up_s_{label}", times)
    return result


@pytest.fixture
def extracted(artifacts: dict[str, Path], tmp_path: Path) -> Iterator[Path]:
    """The tarball extracted into a temporary folder (1.4 GiB, removed afterwards)."""
    subprocess.run(["tar", "-xzf", str(artifacts["tar"]), "-C", str(tmp_path)], check=True)
    top = tmp_path / f"evp-studio-{__version__}"
    yield top
    shutil.rmtree(top, ignore_errors=True)


def test_tarball_runs(extracted: Path, tmp_path: Path) -> None:
    exe = extracted / "evp-studio"
    before = snapshot(extracted)
    home = tmp_path / "home"
    result = _start_up(exe, home, "tarball")
    assert f"numba cache {home / 'cache' / 'numba'};" in result.stdout  # the runtime hook's
    cli = run([str(exe), "cli", "--version"], home)
    assert cli.stdout.strip() == f"EVP Studio {__version__}"
    demo = extracted / "_internal" / "resources" / "demo" / "demo.evp"
    shown = run([str(exe), "cli", "project", "show", str(demo)], home)
    assert shown.returncode == 0 and "astronaut" in shown.stdout, shown.stderr
    assert snapshot(extracted) == before, "the installation was written to while running"


def test_deb_metadata(artifacts: dict[str, Path], build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    fields = deb_fields(artifacts["deb"])
    assert fields["Package"] == "evp-studio"
    assert fields["Version"] == __version__
    assert fields["Architecture"] == build.linux_arch()[0]
    assert fields["Depends"] == ", ".join(cfg.linux["deb_depends"])
    files = deb_contents(artifacts["deb"])
    assert files["usr/bin/evp-studio"] == "/opt/evp-studio/evp-studio"
    assert "opt/evp-studio/_internal/resources/models/audio2landmark_small.pt" in files
    assert "opt/evp-studio/_internal/resources/demo/demo.evp" in files
    assert any(
        p.endswith("face_recognition_models/models/shape_predictor_68_face_landmarks.dat")
        for p in files
    )
    assert "usr/share/icons/hicolor/scalable/apps/evp-studio.svg" in files
    assert not [p for p in files if p.startswith("opt/evp-studio/_internal/torch/test/")]


def test_deb_installs_runs_and_purges_cleanly(artifacts: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    dpkg(root, "--force-depends", "--install", str(artifacts["deb"]))
    listed = dpkg(root, "--listfiles", "evp-studio").split()
    for path in ("/opt/evp-studio/evp-studio", "/usr/bin/evp-studio",
                 "/usr/share/applications/evp-studio.desktop",
                 "/usr/share/mime/packages/evp-studio.xml"):  # fmt: skip
        assert path in listed
    desktop = (root / "usr/share/applications/evp-studio.desktop").read_text()
    assert desktop_entry_problems(desktop) == []
    assert re.search(r"^Exec=evp-studio %F$", desktop, flags=re.M)
    install = root / "opt" / "evp-studio"
    before = snapshot(install)

    home = tmp_path / "home"
    _start_up(install / "evp-studio", home, "deb")
    # /usr/bin/evp-studio is an absolute link to /opt, which here lies under the temporary
    # root: start through a link of the same kind to check the bundle finds itself.
    link = tmp_path / "bin" / "evp-studio"
    link.parent.mkdir()
    link.symlink_to(install / "evp-studio")
    via_link = run([str(link), "--version"], home)
    assert via_link.stdout.strip() == f"EVP Studio {__version__}", via_link.stderr
    assert snapshot(install) == before, "the installation was written to while running"

    dpkg(root, "--purge", "evp-studio")
    assert leftovers(root) == []
    shutil.rmtree(root)


# Libraries that may be absent: numba's optional TBB threading layer (it falls back to
# OpenMP), and the Wayland libraries of Qt's wayland plugin (declared in Depends, installed on
# Wayland desktops, not on this build machine).
MAY_BE_MISSING = {"libtbb.so.12", "libwayland-cursor.so.0", "libwayland-egl.so.1"}


def _owner(lib: str) -> str:
    """The Debian package of a library file (dpkg knows the path before usrmerge links)."""
    for path in (lib, str(Path(lib).resolve())):
        done = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":")[0]
    raise AssertionError(f"{lib} belongs to no Debian package")


def test_system_libraries_are_declared(artifacts: dict[str, Path], build: ModuleType) -> None:
    """Every library the bundle loads from the system belongs to a package the .deb depends on."""
    cfg = build.load_config(ROOT)
    bundle = artifacts["bundle"]
    internal = bundle / "_internal"
    env = dict(os.environ, LD_LIBRARY_PATH=str(internal))  # as the bootloader sets it
    elves = [str(bundle / "evp-studio")] + [
        str(p) for p in internal.rglob("*") if p.is_file() and re.search(r"\.so(\.|$)", p.name)
    ]
    system: set[str] = set()
    missing: set[str] = set()
    for i in range(0, len(elves), 50):
        out = subprocess.run(
            ["ldd", *elves[i : i + 50]], capture_output=True, text=True, env=env
        ).stdout
        missing.update(re.findall(r"^\s+(\S+) => not found", out, flags=re.M))
        for lib in re.findall(r"=> (/\S+)", out):
            if not Path(lib).resolve().is_relative_to(bundle.resolve()):
                system.add(lib)
    packages = {_owner(lib) for lib in system}
    declared = {d.split()[0] for d in cfg.linux["deb_depends"]}
    _record("system_packages", sorted(packages))
    assert packages <= declared, f"undeclared dependencies: {sorted(packages - declared)}"
    assert missing <= MAY_BE_MISSING, f"libraries found nowhere: {sorted(missing)}"
