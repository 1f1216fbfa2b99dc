"""packaging/build.py wraps a bundle folder into a .tar.gz and a .deb: checked on a dummy bundle.

The dummy bundle is a shell script in place of the frozen app, so these tests take a second;
tests/packaging/test_bundle.py does the same with the real bundle (``-m packaging``).
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from evp_studio import __version__
from tests.packaging._tools import (
    deb_contents,
    deb_fields,
    desktop_entry_problems,
    dpkg,
    has_dpkg,
    leftovers,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dummy_bundle(tmp_path: Path, build: ModuleType) -> Path:
    cfg = build.load_config(ROOT)
    bundle = tmp_path / "dist" / cfg.id
    (bundle / "_internal" / "resources").mkdir(parents=True)
    (bundle / "_internal" / "resources" / "note.txt").write_text("bundled\n")
    exe = bundle / cfg.id
    exe.write_text(f'#!/bin/sh\necho "EVP Studio {__version__}"\n')
    exe.chmod(0o700)  # modes are normalised by the build
    return bundle


def test_tarball(build: ModuleType, dummy_bundle: Path, tmp_path: Path) -> None:
    cfg = build.load_config(ROOT)
    out = build.build_tar(cfg, dummy_bundle, tmp_path / "dist")
    assert out.name == f"evp-studio-{__version__}-linux-{build.linux_arch()[1]}.tar.gz"
    top = f"{cfg.id}-{__version__}"
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert all(m.uid == 0 and m.gid == 0 for m in members.values())
        assert members[f"{top}/{cfg.id}"].mode == 0o755
        assert members[f"{top}/_internal/resources/note.txt"].mode == 0o644
        tar.extractall(tmp_path / "x", filter="data")
    done = subprocess.run([tmp_path / "x" / top / cfg.id], capture_output=True, text=True)
    assert done.stdout.strip() == f"EVP Studio {__version__}"


@pytest.mark.skipif(not has_dpkg(), reason="needs dpkg-deb (a Debian-family system)")
def test_deb_layout(build: ModuleType, dummy_bundle: Path, tmp_path: Path) -> None:
    cfg = build.load_config(ROOT)
    deb = build.build_deb(cfg, dummy_bundle, tmp_path / "dist", tmp_path / "work")
    assert deb.name == f"evp-studio_{__version__}_{build.linux_arch()[0]}.deb"
    fields = deb_fields(deb)
    assert (fields["Package"], fields["Version"]) == (cfg.id, __version__)
    assert fields["Architecture"] == build.linux_arch()[0]
    files = deb_contents(deb)
    assert files["usr/bin/evp-studio"] == "/opt/evp-studio/evp-studio"
    for path in (
        "opt/evp-studio/evp-studio",
        "opt/evp-studio/_internal/resources/note.txt",
        "usr/share/applications/evp-studio.desktop",
        "usr/share/icons/hicolor/scalable/apps/evp-studio.svg",
        "usr/share/icons/hicolor/256x256/apps/evp-studio.png",
        "usr/share/icons/hicolor/16x16/apps/evp-studio.png",
        "usr/share/mime/packages/evp-studio.xml",
        "usr/share/doc/evp-studio/copyright",
    ):
        assert path in files, f"{path} is not in the package"
    control = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    names = subprocess.run(["tar", "-t"], input=control, capture_output=True).stdout.decode()
    scripts = {"preinst", "postinst", "prerm", "postrm"} & {Path(n).name for n in names.split()}
    assert not scripts, "caches are updated by dpkg triggers; no maintainer scripts"


@pytest.mark.skipif(not has_dpkg(), reason="needs dpkg (a Debian-family system)")
def test_deb_installs_runs_and_removes_cleanly(
    build: ModuleType, dummy_bundle: Path, tmp_path: Path
) -> None:
    cfg = build.load_config(ROOT)
    deb = build.build_deb(cfg, dummy_bundle, tmp_path / "dist", tmp_path / "work")
    root = tmp_path / "root"
    dpkg(root, "--force-depends", "--install", str(deb))  # no dependencies in an empty root
    listed = dpkg(root, "--listfiles", cfg.id).split()
    assert "/usr/share/applications/evp-studio.desktop" in listed
    desktop = (root / "usr/share/applications/evp-studio.desktop").read_text()
    assert desktop_entry_problems(desktop) == []
    exe = root / "opt" / "evp-studio" / "evp-studio"
    done = subprocess.run([exe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"EVP Studio {__version__}"

    dpkg(root, "--purge", cfg.id)
    assert leftovers(root) == []
