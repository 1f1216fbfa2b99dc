#!/usr/bin/env bash
# One entry point for a fresh Debian machine with Python 3.11:
#   bash scripts/dev.sh run    set everything up, then open the editor on the demo project
#                              (no display: inspect the demo project headless instead)
#   bash scripts/dev.sh test   set everything up, then run the whole test suite; in CI (CI
#                              set) also build the Linux installers and test them (about 5
#                              minutes more on 2 cores; EVP_PACKAGING=1 or 0 forces it on/off)
#   bash scripts/dev.sh setup  only set up
# Set-up is idempotent: a second run checks stamps and reinstalls nothing that is current.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
py="$venv/bin/python"
log() { printf '[evp-studio] %s\n' "$*" >&2; }

# Debian packages the app and its tests need at run time.
#  espeak-ng, libespeak-ng1     speech synthesis for the demo and the synthetic corpus
#  pocketsphinx-testdata        real recorded speech used by tests
#  libportaudio2                sound output during playback (skipped silently when absent)
#  libegl1 ... libxcb-*         what Qt's xcb and offscreen platforms load
APT_PACKAGES=(espeak-ng libespeak-ng1 pocketsphinx-testdata libportaudio2
  libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0
  libxcb-image0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1)

setup_debian() {
  command -v dpkg-query >/dev/null || { log "not a Debian system: install the equivalents of: ${APT_PACKAGES[*]}"; return 0; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "these Debian packages are missing; install them as root, then run this again:"
    log "  sudo apt-get install ${missing[*]}"
    log "(continuing: features that need them will say so)"
  fi
}

find_python() {
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))'; then
      echo "$cand"; return 0
    fi
  done
  log "Python 3.11 or 3.12 is needed (apt-get install python3.11 python3.11-venv)"; exit 1
}

setup_python() {
  local extras=$1
  if [ ! -x "$py" ]; then
    log "creating virtual environment in .venv"
    "$(find_python)" -m venv "$venv"
  fi
  # torch first, the CPU build: a plain `torch` requirement would pull gigabytes of CUDA packages.
  if ! "$py" -c 'import importlib.metadata as m, sys; sys.exit(m.version("torch").split("+")[0] != "2.13.0")' 2>/dev/null; then
    log "installing torch==2.13.0"
    "$py" -m pip install -q --disable-pip-version-check "torch==2.13.0"
  fi
  local stamp="$venv/.evp-stamp-$extras"
  local want
  want=$(cat pyproject.toml scripts/dev.sh | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing EVP Studio and its pinned dependencies ($extras)"
    "$py" -m pip install -q --disable-pip-version-check -e ".[$extras]"
    # pyproject's [tool.evp-studio] no-deps: packages whose own requirements would clash
    local nodeps
    nodeps=$("$py" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["tool"]["evp-studio"]["no-deps"])')
    "$py" -m pip install -q --disable-pip-version-check --no-deps $nodeps
    echo "$want" >"$stamp"
  fi
}

# The installers' build + test (make package) runs in CI, where the CI variable is set, or
# with EVP_PACKAGING=1; not in local runs, which share dist/ and build/ with `make package`.
want_packaging() {
  case "${EVP_PACKAGING:-}" in 1) return 0 ;; 0) return 1 ;; esac
  [ -n "${CI:-}" ] && [ "${CI:-}" != false ]
}

has_display() {
  [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = Darwin ]
}

cmd=${1:-run}
case "$cmd" in
  setup)
    setup_debian; setup_python test ;;
  run)
    setup_debian; setup_python test
    demo="$root/resources/demo/demo.evp"
    if has_display; then
      exec "$py" main.py "$demo"
    fi
    # Headless: render the demo project with the default weights and the warp renderer.
    out="${EVP_DEMO_OUTPUT:-$root/demo_render.mp4}"
    log "no display found: rendering the demo project headless to $out (set DISPLAY to open the editor)"
    "$venv/bin/evp-studio" project show "$demo"
    exec "$venv/bin/evp-studio" render "$demo" -o "$out" ;;
  test)
    extras=test
    if want_packaging; then extras=test,package; fi
    setup_debian; setup_python "$extras"
    export QT_QPA_PLATFORM=offscreen
    log "checking the layering contracts"
    "$venv/bin/lint-imports" --no-cache
    "$venv/bin/ruff" check evp_studio ui tests bench scripts main.py packaging
    "$venv/bin/mypy" evp_studio ui
    log "running the test suite"
    shift || true
    if ! want_packaging; then
      exec "$py" -m pytest "$@"
    fi
    "$py" -m pytest "$@"
    log "building the Linux installers and testing them (packaging/README.md)"
    "$py" packaging/build.py --target linux-tar --target linux-deb
    exec "$py" -m pytest tests/packaging -m packaging -p no:cacheprovider ;;
  *)
    log "usage: scripts/dev.sh [run|test|setup]"; exit 2 ;;
esac
