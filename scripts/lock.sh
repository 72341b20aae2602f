#!/usr/bin/env bash
# Refresh the committed dependency locks in requirements/ from pyproject.toml's ranges.
#   bash scripts/lock.sh                 re-resolve everything to the newest versions pyproject.toml allows
#   bash scripts/lock.sh --upgrade-package NAME   (any uv pip compile option) move one package only: with
#                                        options, every other package keeps its locked version where the
#                                        ranges allow (a package newly added to pyproject.toml comes in
#                                        at its newest fitting version without moving the rest)
# The locks are universal (Linux, macOS, Windows; every Python pyproject.toml accepts) and hashed, made
# with uv's pip compile. torch and the CUDA libraries only torch needs are left out: scripts/setup.sh
# installs torch==TORCH_VERSION itself, the CPU or the CUDA build for the machine.
# After a refresh: bash scripts/setup.sh --test && .venv/bin/python -m pytest -q (and see the README).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
TORCH_VERSION=$(sed -n 's/^TORCH_VERSION=//p' scripts/setup.sh)
tools=${HEAR2SEE_TOOLS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hear2see-tools}
if ! "$tools/bin/uv" --version 2>/dev/null | grep -q " $UV_VERSION"; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "torch==$TORCH_VERSION" >"$tmp/torch.txt"
# Packages that only torch's CUDA build pulls in: setup.sh lets torch bring them on NVIDIA machines.
no_emit=(--no-emit-package torch --no-emit-package triton)
# uv prefers the versions already in its output file: seed it with the committed lock, and ask for
# everything newest only when no options were given.
upgrade=(); [ $# -eq 0 ] && upgrade=(--upgrade)
compile() {  # compile OUTPUT [options...]
  local out=$1; shift
  if [ -f "$out" ]; then cp "$out" "$tmp/out.txt"; else rm -f "$tmp/out.txt"; fi
  "$tools/bin/uv" pip compile pyproject.toml --universal --python-version 3.10 --generate-hashes \
    --override "$tmp/torch.txt" "${no_emit[@]}" --no-header --quiet ${upgrade[@]+"${upgrade[@]}"} "$@" -o "$tmp/out.txt"
  # Drop the CUDA-only packages (their names are not known before resolving) from the output.
  python3 - "$tmp/out.txt" "$out" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.split(r"\n(?=\S)", text.strip())
cuda = re.compile(r"^(nvidia-|cuda-)")
kept = [b for b in blocks if not cuda.match(b)]
header = ("# Locked dependencies of HEAR2SEE Desktop: refresh with `bash scripts/lock.sh`, never by hand.\n"
          "# torch and its CUDA libraries are installed by scripts/setup.sh.\n")
open(sys.argv[2], "w", encoding="utf-8").write(header + "\n".join(kept) + "\n")
PY
}

# The widest set first, so the app and the packaging locks take exactly its versions: the tests test
# what users run, and the bundle is built from the same.
compile requirements/test.txt --extra test "$@"
compile requirements/app.txt --constraint requirements/test.txt
compile requirements/package.txt --extra package --constraint requirements/test.txt
# The cluster extra (Ray) on top of the app: scripts/setup.sh --cluster installs app.txt and this one.
compile requirements/cluster.txt --extra cluster --constraint requirements/test.txt
echo "Locked: requirements/app.txt, requirements/test.txt, requirements/package.txt, requirements/cluster.txt"
echo "Now run: bash scripts/setup.sh --test && .venv/bin/python -m pytest -q"
