#!/usr/bin/env bash
# Install torch==VERSION into the venv of PYTHON, the build that fits this machine:
#   bash scripts/install_torch.sh PYTHON VERSION
# The CUDA build where nvidia-smi answers (with the CUDA libraries at the exact versions torch pins);
# elsewhere the CPU build (PyPI's Linux build pulls several GB of CUDA libraries such a machine cannot
# use): from a local wheel folder (PIP_FIND_LINKS) when it holds one, from PyPI on macOS, otherwise
# from PyTorch's CPU index. Does nothing when that version is already installed.
set -euo pipefail
python=$1 version=$2
installed=$("$python" -c "from importlib.metadata import version
try: print(version('torch').split('+')[0])
except Exception: pass")
[ "$installed" = "$version" ] && exit 0
pip=("$python" -m pip install --quiet --disable-pip-version-check)
if command -v nvidia-smi >/dev/null 2>&1; then
  "${pip[@]}" "torch==$version"
elif ls "${PIP_FIND_LINKS:-/nonexistent}"/torch-"$version"+cpu-* >/dev/null 2>&1 || [ "$(uname -s)" = Darwin ]; then
  "${pip[@]}" "torch==$version"
else
  "${pip[@]}" "torch==$version" --index-url https://download.pytorch.org/whl/cpu
fi
