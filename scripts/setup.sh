#!/usr/bin/env bash
# Set up HEAR2SEE Desktop in ./.venv on a fresh machine, from the committed locks in requirements/.
#   bash scripts/setup.sh            the app, and the system libraries its window and recording need
#   bash scripts/setup.sh --test     also the test tools and the system programs the tests use
#   bash scripts/setup.sh --package  also PyInstaller, to build the app bundle (packaging/build.py)
#   bash scripts/setup.sh --cluster  also Ray, to render on a Ray cluster (every machine of the cluster too)
# Python packages come from the hashed lock (scripts/lock.sh refreshes it); torch is installed here, at
# TORCH_VERSION: the CPU build on machines without an NVIDIA GPU (the default PyPI build pulls several
# GB of CUDA libraries that such a machine cannot use), the CUDA build where nvidia-smi answers.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
mode=app
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  --package) mode=package ;;
  --cluster) mode=cluster ;;  # requirements/cluster.txt: the app's lock and Ray, at the versions the tests use
  *) echo "setup.sh: unknown option '$1'; use --test, --package, --cluster or nothing." >&2; exit 2 ;;
esac
python=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

# --- System packages (Linux) ------------------------------------------------------------------------
# The window (Qt's xcb plugin) and recording (PortAudio) need the distribution's libraries; the tests
# also speak (espeak-ng), convert audio (sox), draw on a virtual screen (Xvfb) and inspect the bundle
# (objdump from binutils). hear2see_desktop/qt_libraries.py holds the library -> package table.
if [ "$(uname -s)" = Linux ]; then
  app_missing=$("$python" hear2see_desktop/qt_libraries.py)
  test_missing=()
  if [ "$mode" = test ]; then
    command -v espeak-ng >/dev/null || test_missing+=(espeak-ng)
    command -v sox >/dev/null || test_missing+=(sox)
    command -v Xvfb >/dev/null || test_missing+=(xvfb)
  fi
  if [ "$mode" = test ] || [ "$mode" = package ]; then  # PyInstaller reads libraries' dependencies with objdump
    command -v objdump >/dev/null || test_missing+=(binutils)
  fi
  # shellcheck disable=SC2206 # the package names are words
  need=($app_missing ${test_missing[@]+"${test_missing[@]}"})
  if [ ${#need[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null && echo "Installing system packages: ${need[*]}" &&
       as_root apt-get update -qq &&
       as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
      :
    elif [ ${#test_missing[@]} -gt 0 ]; then
      echo "setup.sh: the tests or the bundle need these system packages: ${need[*]}; install them and run again." >&2
      exit 1
    else
      names=$("$python" hear2see_desktop/qt_libraries.py --names)
      echo "Note: the window and recording need system libraries that are missing here ($names)." >&2
      echo "      Install them (Debian/Ubuntu: sudo apt-get install $app_missing); the app names them too." >&2
    fi
  fi
fi

# --- Python packages, from the lock -----------------------------------------------------------------
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --require-hashes --no-deps -r "requirements/$mode.txt"

bash scripts/install_torch.sh .venv/bin/python "$TORCH_VERSION"
"${pip[@]}" --no-deps -e .
if ! problems=$(.venv/bin/python -m pip check 2>&1); then
  echo "setup.sh: the installed packages do not fit together:" >&2
  echo "$problems" >&2
  exit 1
fi
echo "HEAR2SEE Desktop is set up in .venv (run .venv/bin/hear2see --help)."
