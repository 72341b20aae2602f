#!/usr/bin/env bash
# Set up HEAR2SEE Desktop in ./.venv on a fresh machine.
#   bash scripts/setup.sh          the app and everything the main job needs
#   bash scripts/setup.sh --test   also the test tools and the system programs the tests use
# torch: the CPU build on machines without an NVIDIA GPU (the default PyPI build pulls several GB
# of CUDA libraries that such a machine cannot use).
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if [ "$with_tests" = 1 ] && command -v apt-get >/dev/null; then
  need=()
  command -v espeak-ng >/dev/null || need+=(espeak-ng)
  command -v sox >/dev/null || need+=(sox)
  command -v Xvfb >/dev/null || need+=(xvfb)
  ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
  for lib in libEGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libdbus-1.so.3 libGL.so.1; do
    ldconfig -p 2>/dev/null | grep -q "$lib" || need+=("$(case $lib in
      libEGL*) echo libegl1;; libxkbcommon*) echo libxkbcommon0;; libfontconfig*) echo libfontconfig1;;
      libdbus*) echo libdbus-1-3;; libGL.so*) echo libgl1;; esac)")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "Installing system packages: ${need[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet)

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    "${pip[@]}" "torch==2.13.0"
  elif ls "${PIP_FIND_LINKS:-/nonexistent}"/torch-2.13.0+cpu-* >/dev/null 2>&1 || [ "$(uname -s)" = Darwin ]; then
    "${pip[@]}" "torch==2.13.0"
  else
    "${pip[@]}" "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

if [ "$with_tests" = 1 ]; then
  "${pip[@]}" -e ".[test]"
else
  "${pip[@]}" -e .
fi
echo "HEAR2SEE Desktop is set up in .venv (run .venv/bin/hear2see --help)."
