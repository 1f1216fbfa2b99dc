#!/usr/bin/env bash
# Wrap the built .app in a compressed disk image with a link to /Applications (macOS only).
# Called by `python packaging/build.py --target macos` as: make_dmg.sh APP VOLUME_NAME OUT_DMG
# Signing: PyInstaller signs the bundle ad hoc, enough to run it on the machine that built it.
# For other Macs set CODESIGN_IDENTITY="Developer ID Application: ..." (hardened runtime), then
# notarise the .dmg: xcrun notarytool submit OUT_DMG --keychain-profile PROFILE --wait
#                    xcrun stapler staple OUT_DMG
set -euo pipefail

app=$1
volume=$2
out=$3
if [ "$(uname)" != Darwin ]; then
  echo "make_dmg.sh needs macOS (hdiutil, codesign)" >&2
  exit 2
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
ditto "$app" "$stage/$(basename "$app")"
ln -s /Applications "$stage/Applications"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" \
    "$stage/$(basename "$app")"
fi
codesign --verify --deep --strict "$stage/$(basename "$app")"
rm -f "$out"
hdiutil create -volname "$volume" -srcfolder "$stage" -fs HFS+ -format UDZO \
  -imagekey zlib-level=9 -ov "$out"
hdiutil verify "$out"
