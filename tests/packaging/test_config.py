"""The packaging configuration agrees with itself, with the code and with the repository.

Fast checks (no build): every path the spec, the build helper, the Inno Setup script and the
macOS recipe refer to exists or is made by the build, names and versions agree with
``evp_studio.__version__``, and the Linux desktop entry and MIME type are valid.
"""

from __future__ import annotations

import ast
import importlib.util
import plistlib
import re
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from evp_studio import __version__
from tests.packaging._tools import desktop_entry_problems

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_one_version_everywhere(build: ModuleType) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__
    assert build.read_version(ROOT) == __version__
    assert build.load_config(ROOT).version == __version__


def test_package_extra_is_pinned() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = pyproject["project"]["optional-dependencies"]["package"]
    assert sorted(extra) == ["pyinstaller-hooks-contrib==2026.9", "pyinstaller==6.22.3"]


def test_every_configured_path_exists(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    paths = [
        cfg.app["entry"], cfg.app["icon_svg"], cfg.app["icon_png"], *cfg.bundle["resources"],
        *cfg.bundle["runtime_hooks"], cfg.windows["iss"], cfg.macos["info_plist"],
        cfg.macos["dmg_script"],
    ]  # fmt: skip
    missing = [p for p in paths if not cfg.path(p).exists()]
    assert not missing, f"packaging/app.toml names missing paths: {missing}"
    assert (ROOT / "resources" / "demo" / "demo.evp").is_file()  # what --self-test loads


def test_icons_exist_in_every_installed_size(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    folder = cfg.path(cfg.app["icon_png"]).parent
    for size in build.HICOLOR_SIZES:
        assert _png_size(folder / f"{cfg.id}-{size}.png") == (size, size)
    assert _png_size(cfg.path(cfg.app["icon_png"])) == (256, 256)
    svg = ET.parse(cfg.path(cfg.app["icon_svg"])).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("viewBox") == "0 0 256 256"


def test_bundled_packages_are_installed(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    for name in [*cfg.bundle["collect_data"], *cfg.bundle["collect_submodules"]]:
        assert importlib.util.find_spec(name) is not None, f"{name} is not installed"
    assert importlib.util.find_spec("face_alignment.detection.sfd") is not None


def test_spec_reads_only_keys_the_config_has(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    text = (PACKAGING / "evp_studio.spec").read_text(encoding="utf-8")
    ast.parse(text)  # the spec is Python
    sections = {"app": cfg.app, "windows": cfg.windows, "macos": cfg.macos, "linux": cfg.linux}
    used = re.findall(r"cfg\.(app|windows|macos|linux)\[\"(\w+)\"\]", text)
    used += [("bundle", k) for k in re.findall(r"\bB\[\"(\w+)\"\]", text)]
    sections["bundle"] = cfg.bundle
    assert used, "the spec should read its values from packaging/app.toml"
    missing = [f"{s}.{k}" for s, k in used if k not in sections[s]]
    assert not missing, f"the spec reads keys that app.toml lacks: {missing}"
    assert "build.load_config" in text


def _iss_symbols(text: str) -> set[str]:
    return set(re.findall(r"\{#(\w+)\}", text)) | set(re.findall(r"#ifndef (\w+)", text))


def test_inno_setup_script_matches_the_build(build: ModuleType, tmp_path: Path) -> None:
    cfg = build.load_config(ROOT)
    text = cfg.path(cfg.windows["iss"]).read_text(encoding="utf-8")
    bundle = build.bundle_path(cfg, tmp_path / "dist")
    defines = build.iss_defines(cfg, bundle, tmp_path / "dist", tmp_path / "evp.ico")
    assert _iss_symbols(text) == set(defines), "the .iss and build.iss_defines disagree"
    assert defines["AppVersion"] == __version__
    assert defines["AppName"] == cfg.name == "EVP Studio"
    assert defines["GuiExe"] == f"{cfg.windows['gui_exe']}.exe"
    assert defines["ConsoleExe"] == f"{cfg.windows['console_exe']}.exe"
    assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", defines["AppGuid"])
    assert "AppId={{{#AppGuid}}" in text  # {{ is Inno's escaped brace: AppId={GUID}
    # What the installer copies is the folder the build makes; the icon is made by make_ico.
    assert 'Source: "{#BundleDir}\\*"' in text
    assert defines["BundleDir"] == str(tmp_path / "dist" / cfg.id)
    sections = re.findall(r"^\[(\w+)\]", text, flags=re.M)
    assert {"Setup", "Files", "Icons", "Run"} <= set(sections)
    assert "{app}\\{#GuiExe}" in text


def test_windows_icon_is_made_from_the_png(build: ModuleType, tmp_path: Path) -> None:
    cfg = build.load_config(ROOT)
    ico = build.make_ico(cfg.path(cfg.app["icon_png"]), tmp_path / "evp.ico")
    assert ico.read_bytes()[:4] == b"\x00\x00\x01\x00"  # ICO header


def test_macos_plist_declares_the_project_type(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    plist = plistlib.loads(cfg.path(cfg.macos["info_plist"]).read_bytes())
    # set by the spec from app.toml and __version__, so they must not be written twice
    for key in ("CFBundleIdentifier", "CFBundleShortVersionString", "CFBundleVersion"):
        assert key not in plist
    (exported,) = plist["UTExportedTypeDeclarations"]
    extensions = exported["UTTypeTagSpecification"]["public.filename-extension"]
    assert extensions == [cfg.app["project_extension"]]
    (doc_type,) = plist["CFBundleDocumentTypes"]
    assert doc_type["LSItemContentTypes"] == [exported["UTTypeIdentifier"]]
    org = cfg.app["bundle_id"].rsplit(".", 1)[0]
    assert exported["UTTypeIdentifier"].startswith(org + ".")
    assert re.fullmatch(r"\d+\.\d+", cfg.macos["minimum_system_version"])


def test_macos_spec_branch_builds_a_bundle() -> None:
    text = (PACKAGING / "evp_studio.spec").read_text(encoding="utf-8")
    assert 'if sys.platform == "darwin":' in text and "BUNDLE(" in text
    assert "info_plist=plist" in text and "bundle_identifier=" in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_dmg_script_is_valid_bash(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    script = cfg.path(cfg.macos["dmg_script"])
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    assert "hdiutil create" in text and "/Applications" in text


def test_desktop_entry_is_valid(build: ModuleType, tmp_path: Path) -> None:
    cfg = build.load_config(ROOT)
    text = build.desktop_entry(cfg)
    assert desktop_entry_problems(text) == []
    assert "Categories=AudioVideo;Video;AudioVideoEditing;" in text
    assert f"MimeType={cfg.app['project_mime']};" in text
    validator = shutil.which("desktop-file-validate")
    if validator is not None:
        entry = tmp_path / f"{cfg.id}.desktop"
        entry.write_text(text, encoding="utf-8")
        done = subprocess.run([validator, str(entry)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_desktop_entry_checker_finds_problems() -> None:
    good = "[Desktop Entry]\nType=Application\nName=X\nExec=x %F\nCategories=AudioVideo;\n"
    assert desktop_entry_problems(good) == []
    assert desktop_entry_problems(good.replace("Exec=x %F\n", ""))
    assert desktop_entry_problems(good.replace("AudioVideo;", "AudioVideoEditing;"))
    assert desktop_entry_problems(good.replace("AudioVideo;", "AudioVideo"))
    assert desktop_entry_problems(good + "Icon=/usr/share/x.png\n")
    assert desktop_entry_problems(good + "Terminal=no\n")
    assert desktop_entry_problems(good + "Name=Y\n")


def test_mime_type_definition(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    root = ET.fromstring(build.mime_xml(cfg))
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    (mime,) = root.findall("m:mime-type", ns)
    assert mime.get("type") == cfg.app["project_mime"]
    assert mime.find("m:glob", ns).get("pattern") == "*.evp"  # type: ignore[union-attr]


def test_deb_control_fields(build: ModuleType) -> None:
    cfg = build.load_config(ROOT)
    text = build.deb_control(cfg, arch="amd64", installed_kib=123)
    fields = dict(line.split(": ", 1) for line in text.splitlines() if not line.startswith(" "))
    assert fields["Package"] == cfg.id and re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", cfg.id)
    assert fields["Version"] == __version__
    assert fields["Installed-Size"] == "123"
    assert re.fullmatch(r".+ <[^@ ]+@[^> ]+>", fields["Maintainer"])
    assert "libegl1" in fields["Depends"]  # the GL driver is the system's, never bundled
    description = text.split("Description: ", 1)[1].splitlines()
    assert len(description) == 2 and description[1].startswith(" ")
