"""Build EVP Studio's standalone bundle and its installers.

    python packaging/build.py --target linux-tar --target linux-deb   # on Linux
    python packaging/build.py --target windows                        # on Windows (Inno Setup)
    python packaging/build.py --target macos                          # on macOS (hdiutil)

Each build freezes the app once with PyInstaller (``packaging/evp_studio.spec``, one folder:
``dist/evp-studio/``; on macOS ``dist/EVP Studio.app``), then wraps the folder for each
target. ``--reuse-bundle`` wraps an existing folder without freezing again. What the installers
say comes from ``packaging/app.toml``; the version is ``evp_studio.__version__``.
Outputs go to ``dist/``, intermediate files to ``build/``.
"""

from __future__ import annotations

import argparse
import ast
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("linux-tar", "linux-deb", "windows", "macos")
HICOLOR_SIZES = (16, 32, 48, 64, 128, 256, 512)  # px of the PNG icons installed on Linux
log = logging.getLogger("evp-build")


@dataclass(frozen=True)
class Config:
    """``packaging/app.toml`` plus the version, with paths resolved against ``root``."""

    root: Path
    version: str
    app: dict[str, Any]
    bundle: dict[str, Any]
    linux: dict[str, Any]
    windows: dict[str, Any]
    macos: dict[str, Any]

    @property
    def name(self) -> str:
        """The name users see, e.g. ``"EVP Studio"``."""
        return str(self.app["name"])

    @property
    def id(self) -> str:
        """Executable, package, desktop-file and icon name, e.g. ``"evp-studio"``."""
        return str(self.app["id"])

    def path(self, relative: str) -> Path:
        """A repository path named in the config."""
        return self.root / relative


def read_version(root: Path = ROOT) -> str:
    """``__version__`` of ``evp_studio/__init__.py``, read without importing the package."""
    tree = ast.parse((root / "evp_studio" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise ValueError(f"{root / 'evp_studio/__init__.py'} has no __version__")


def load_config(root: Path = ROOT) -> Config:
    """Read ``packaging/app.toml`` of the repository at ``root``."""
    data = tomllib.loads((root / "packaging" / "app.toml").read_text(encoding="utf-8"))
    sections = {k: data[k] for k in ("app", "bundle", "linux", "windows", "macos")}
    return Config(root=root, version=read_version(root), **sections)


def linux_arch() -> tuple[str, str]:
    """(Debian architecture, machine name) of this machine, e.g. ``("amd64", "x86_64")``."""
    machine = platform.machine()
    debian = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return debian, machine


# --- freezing -------------------------------------------------------------------------------


def freeze(cfg: Config, dist: Path, work: Path) -> Path:
    """Run PyInstaller on the spec; returns the bundle folder (or the macOS ``.app``)."""
    cmd = [
        sys.executable, "-m", "PyInstaller", str(cfg.root / "packaging" / "evp_studio.spec"),
        "--noconfirm", "--clean", "--log-level", "WARN",
        "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
    ]  # fmt: skip
    log.info("freezing: %s", " ".join(cmd))
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cfg.root)
    log.info("froze %s in %.0f s", bundle_path(cfg, dist), time.perf_counter() - started)
    return bundle_path(cfg, dist)


def bundle_path(cfg: Config, dist: Path) -> Path:
    """Where :func:`freeze` leaves the bundle on this platform."""
    return dist / f"{cfg.name}.app" if sys.platform == "darwin" else dist / cfg.id


# --- Linux ----------------------------------------------------------------------------------


def desktop_entry(cfg: Config) -> str:
    """The freedesktop ``.desktop`` file of the launcher (menu entry)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.5",
        f"Name={cfg.name}",
        f"GenericName={cfg.app['summary']}",
        f"Comment={cfg.app['summary']}",
        f"Exec={Path(cfg.linux['launcher']).name} %F",
        f"TryExec={Path(cfg.linux['launcher']).name}",
        f"Icon={cfg.id}",
        "Terminal=false",
        f"Categories={';'.join(cfg.linux['categories'])};",
        f"Keywords={';'.join(cfg.linux['keywords'])};",
        f"MimeType={cfg.app['project_mime']};",
        "StartupNotify=true",
        f"StartupWMClass={cfg.name}",
    ]
    return "\n".join(lines) + "\n"


def mime_xml(cfg: Config) -> str:
    """shared-mime-info definition of the project file type (``*.evp``)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">\n'
        f'  <mime-type type="{cfg.app["project_mime"]}">\n'
        f"    <comment>{cfg.name} project</comment>\n"
        '    <sub-class-of type="application/json"/>\n'
        f'    <glob pattern="*.{cfg.app["project_extension"]}"/>\n'
        f'    <icon name="{cfg.id}"/>\n'
        "  </mime-type>\n"
        "</mime-info>\n"
    )


def deb_control(cfg: Config, *, arch: str, installed_kib: int) -> str:
    """The ``DEBIAN/control`` file."""
    description = " ".join(str(cfg.app["description"]).split())
    fields = {
        "Package": cfg.id,
        "Version": cfg.version,
        "Architecture": arch,
        "Maintainer": cfg.app["maintainer"],
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(cfg.linux["deb_depends"]),
        "Recommends": ", ".join(cfg.linux["deb_recommends"]),
        "Section": cfg.linux["deb_section"],
        "Priority": "optional",
        "Description": f"{cfg.app['summary']}\n {description}",
    }
    return "".join(f"{k}: {v}\n" for k, v in fields.items())


def _tree_kib(folder: Path) -> int:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())
    return (total + 1023) // 1024


def _normalise_modes(folder: Path) -> None:
    """0755 for folders and executables, 0644 for other files (dpkg and tar keep modes)."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link (no second 1.5 GB copy of the bundle), or copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _install_icons(cfg: Config, share: Path) -> None:
    hicolor = share / "icons" / "hicolor"
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(cfg.path(cfg.app["icon_svg"]), hicolor / "scalable" / "apps" / f"{cfg.id}.svg")
    icons = cfg.path(cfg.app["icon_png"]).parent
    for size in HICOLOR_SIZES:
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        shutil.copy2(icons / f"{cfg.id}-{size}.png", folder / f"{cfg.id}.png")


def stage_deb(cfg: Config, bundle: Path, stage: Path) -> Path:
    """Lay out the Debian package's file tree in ``stage`` (emptied first).

    ``/opt/evp-studio`` holds the bundle; ``/usr/bin/evp-studio`` is a symlink to its
    executable; the desktop entry, icons (hicolor) and the ``.evp`` MIME type go under
    ``/usr/share``, where the triggers of desktop-file-utils, hicolor-icon-theme and
    shared-mime-info update their caches (so the package needs no maintainer scripts, and
    ``dpkg -r`` removes every file it installed).
    """
    if stage.exists():
        shutil.rmtree(stage)
    install_dir = stage / cfg.linux["install_dir"].lstrip("/")
    shutil.copytree(bundle, install_dir, symlinks=True, copy_function=_link_or_copy)
    launcher = stage / cfg.linux["launcher"].lstrip("/")
    launcher.parent.mkdir(parents=True)
    launcher.symlink_to(f"{cfg.linux['install_dir']}/{cfg.id}")  # absolute: across top dirs
    share = stage / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{cfg.id}.desktop").write_text(desktop_entry(cfg), "utf-8")
    (share / "mime" / "packages").mkdir(parents=True)
    (share / "mime" / "packages" / f"{cfg.id}.xml").write_text(mime_xml(cfg), "utf-8")
    _install_icons(cfg, share)
    doc = share / "doc" / cfg.id
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        f"{cfg.name} {cfg.version}\nCopyright: {cfg.app['publisher']}\n"
        f"License: {cfg.app['license']}\n",
        "utf-8",
    )
    _normalise_modes(stage)
    control = stage / "DEBIAN"
    control.mkdir(mode=0o755)
    arch, _ = linux_arch()
    (control / "control").write_text(
        deb_control(cfg, arch=arch, installed_kib=_tree_kib(stage)), "utf-8"
    )
    (control / "control").chmod(0o644)
    return stage


def deb_name(cfg: Config) -> str:
    """Debian's file name convention: ``evp-studio_0.1.0_amd64.deb``."""
    return f"{cfg.id}_{cfg.version}_{linux_arch()[0]}.deb"


def build_deb(cfg: Config, bundle: Path, dist: Path, work: Path) -> Path:
    """Build ``dist/evp-studio_<version>_<arch>.deb`` from the bundle folder."""
    stage = stage_deb(cfg, bundle, work / "deb" / cfg.id)
    out = dist / deb_name(cfg)
    tmp = out.with_name(out.name + ".partial")
    cmd = [
        "dpkg-deb", "--root-owner-group", f"-Z{cfg.linux['deb_compression']}",
        f"--threads-max={os.cpu_count() or 1}", "--build", str(stage), str(tmp),
    ]  # fmt: skip
    try:
        subprocess.run(cmd, check=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    shutil.rmtree(stage)  # hard links into the bundle; nothing else needs it
    log.info("wrote %s", out)
    return out


def tar_name(cfg: Config) -> str:
    """``evp-studio-0.1.0-linux-x86_64.tar.gz``."""
    return f"{cfg.id}-{cfg.version}-linux-{linux_arch()[1]}.tar.gz"


def build_tar(cfg: Config, bundle: Path, dist: Path) -> Path:
    """Build ``dist/evp-studio-<version>-linux-<machine>.tar.gz``: ``evp-studio-<version>/``
    holding the bundle (run ``evp-studio-<version>/evp-studio``), owned by root:root."""
    out = dist / tar_name(cfg)
    top = f"{cfg.id}-{cfg.version}"

    def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info

    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=top, filter=owner)
    tmp.replace(out)
    log.info("wrote %s", out)
    return out


# --- Windows and macOS (run on those systems) ------------------------------------------------


def iss_defines(cfg: Config, bundle: Path, dist: Path, icon: Path) -> dict[str, str]:
    """The ``/D`` symbols ``packaging/windows/evp_studio.iss`` expects from this script."""
    return {
        "AppName": cfg.name,
        "AppId": cfg.id,
        "AppVersion": cfg.version,
        "AppPublisher": cfg.app["publisher"],
        "AppGuid": cfg.windows["app_guid"],
        "GuiExe": f"{cfg.windows['gui_exe']}.exe",
        "ConsoleExe": f"{cfg.windows['console_exe']}.exe",
        "ProjectExt": cfg.app["project_extension"],
        "BundleDir": str(bundle),
        "OutputDir": str(dist),
        "OutputBase": f"{cfg.id}-{cfg.version}-windows-x64-setup",
        "SetupIcon": str(icon),
    }


def make_ico(png: Path, out: Path) -> Path:
    """A multi-size Windows ``.ico`` from the 256 px PNG icon (Pillow)."""
    from PIL import Image  # noqa: PLC0415 - only the Windows build needs it

    out.parent.mkdir(parents=True, exist_ok=True)
    sizes = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
    Image.open(png).save(out, format="ICO", sizes=sizes)
    return out


def build_windows(cfg: Config, bundle: Path, dist: Path, work: Path) -> Path:
    """Compile the Inno Setup installer (needs ``ISCC.exe`` on PATH or ``INNO_SETUP``)."""
    iscc = os.environ.get("INNO_SETUP") or shutil.which("ISCC") or shutil.which("iscc")
    if iscc is None:
        raise SystemExit("Inno Setup's ISCC.exe not found: install Inno Setup 6 or set INNO_SETUP")
    icon = make_ico(cfg.path(cfg.app["icon_png"]), work / "windows" / f"{cfg.id}.ico")
    defines = iss_defines(cfg, bundle, dist, icon)
    args = [f"/D{k}={v}" for k, v in defines.items()]
    subprocess.run([iscc, *args, str(cfg.path(cfg.windows["iss"]))], check=True)
    out = dist / f"{defines['OutputBase']}.exe"
    log.info("wrote %s", out)
    return out


def build_macos(cfg: Config, app: Path, dist: Path) -> Path:
    """Wrap the ``.app`` in a compressed disk image (``packaging/macos/make_dmg.sh``)."""
    out = dist / f"{cfg.id}-{cfg.version}-macos-{platform.machine()}.dmg"
    script = cfg.path(cfg.macos["dmg_script"])
    subprocess.run(["bash", str(script), str(app), cfg.name, str(out)], check=True)
    log.info("wrote %s", out)
    return out


def render_icons(cfg: Config) -> list[Path]:
    """Render the SVG icon to ``<id>-<size>.png`` beside the 256 px PNG (QtSvg, offscreen).

    Run by hand after editing the SVG; the PNGs are committed, so builds need no renderer.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt  # noqa: PLC0415 - only this maintenance step needs Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - needed by QPainter
    svg = cfg.path(cfg.app["icon_svg"])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    folder = cfg.path(cfg.app["icon_png"]).parent
    written = []
    for size in HICOLOR_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        out = folder / f"{cfg.id}-{size}.png"
        if not image.save(str(out)):
            raise OSError(f"cannot write {out}")
        written.append(out)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and build the targets asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=TARGETS)
    parser.add_argument(
        "--render-icons", action="store_true", help="re-render the PNG icons from the SVG"
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="temporary files")
    parser.add_argument(
        "--reuse-bundle", action="store_true", help="wrap the existing bundle, do not freeze"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[build] %(message)s")
    cfg = load_config()
    if args.render_icons:
        for path in render_icons(cfg):
            log.info("wrote %s", path)
    if not args.target:
        if not args.render_icons:
            parser.error("give --target (or --render-icons)")
        return 0
    native = {"linux-tar": "linux", "linux-deb": "linux", "windows": "win32", "macos": "darwin"}
    for target in args.target:
        if not sys.platform.startswith(native[target]):
            parser.error(f"--target {target} builds on {native[target]}, not {sys.platform}")
    args.dist.mkdir(parents=True, exist_ok=True)
    bundle = bundle_path(cfg, args.dist)
    if not (args.reuse_bundle and bundle.exists()):
        bundle = freeze(cfg, args.dist, args.work)
    for target in dict.fromkeys(args.target):
        started = time.perf_counter()
        if target == "linux-tar":
            out = build_tar(cfg, bundle, args.dist)
        elif target == "linux-deb":
            out = build_deb(cfg, bundle, args.dist, args.work)
        elif target == "windows":
            out = build_windows(cfg, bundle, args.dist, args.work)
        else:
            out = build_macos(cfg, bundle, args.dist)
        seconds = time.perf_counter() - started
        log.info("%s: %.0f MiB in %.0f s", out.name, out.stat().st_size / 2**20, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
