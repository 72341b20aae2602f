#!/usr/bin/env bash
# Dependency drift check: would the newest versions that pyproject.toml allows still work?
#   bash scripts/check_latest.sh [pytest options]                  e.g. -x, or -k lora
#   bash scripts/check_latest.sh --ignore-caps [pytest options]    also past pyproject.toml's upper caps:
#       does a capped release (transformers 5.24+, PySide6 6.12) work now, so the cap can go?
# Builds a scratch venv with the newest allowed versions of the app's and the tests' dependencies (not
# the lock), runs the test suite there and prints what moved against requirements/test.txt, what newer
# releases pyproject.toml's caps hold back, and which tests broke. Outside CI's blocking path: it asks
# package registries for today's versions, so its answer changes from day to day. A clean run means
# `bash scripts/lock.sh` can move the lock forward; a failing one says what to cap or fix first.
# Exit code: 0 when the suite passes on the newest versions, 1 when something broke.
set -uo pipefail
cd "$(dirname "$0")/.."
ignore_caps=0
[ "${1:-}" = --ignore-caps ] && { ignore_caps=1; shift; }

TORCH_VERSION=$(sed -n 's/^TORCH_VERSION=//p' scripts/setup.sh)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hear2see-latest.XXXXXX")
keep=${HEAR2SEE_KEEP_SCRATCH:-0}
[ "$keep" = 1 ] || trap 'rm -rf "$scratch"' EXIT
venv=$scratch/venv
python=${PYTHON:-python3}

echo "Scratch venv: $venv"
"$python" -m venv "$venv" || exit 1
bash scripts/install_torch.sh "$venv/bin/python" "$TORCH_VERSION" || exit 1
# --upgrade-strategy eager: every dependency at the newest version the ranges allow, none kept back.
wanted=(-e ".[test]")
if [ $ignore_caps = 1 ]; then  # the project itself without its ranges, its requirements without upper caps
  "$python" - >"$scratch/uncapped.txt" <<'PY' || exit 1
import re
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
for text in project["dependencies"] + project["optional-dependencies"]["test"]:
    print(",".join(part for part in re.split(r"\s*,\s*", text) if not re.match(r"^\s*(<|<=|!=|==|~=)", part)))
PY
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e . || exit 1
  wanted=(-r "$scratch/uncapped.txt")
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager \
     "${wanted[@]}" "torch==$TORCH_VERSION" >"$scratch/install.log" 2>&1; then
  echo "BROKEN: the newest allowed versions do not install together:"
  tail -n 20 "$scratch/install.log"
  exit 1
fi

"$venv/bin/python" - requirements/test.txt <<'PY'
"""Print what the newest allowed versions change against the lock, and what the caps hold back."""
import re
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

env = default_environment()
locked = {}
for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines():
    match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
    if match and (not match[3] or Requirement(f"x; {match[3]}").marker.evaluate(env)):
        locked[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
installed = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in distributions()}

moved = [(name, locked[name], installed[name]) for name in sorted(locked)
         if name in installed and installed[name] != locked[name]]
added = sorted(set(installed) - set(locked) - {"pip", "hear2see-desktop", "torch"} -
               {n for n in installed if n.startswith(("nvidia-", "cuda-", "triton"))})
print("\nAgainst the lock (requirements/test.txt):")
for name, old, new in moved:
    print(f"  {name:28} {old:>14} -> {new}")
for name in added:
    print(f"  {name:28} {'(new)':>14} -> {installed[name]}")
if not moved and not added:
    print("  nothing moved: the lock already has the newest allowed versions")

try:
    import tomllib
except ImportError:  # Python 3.10
    raise SystemExit(0) from None
project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
capped = [Requirement(r) for r in project["dependencies"] + sum(project["optional-dependencies"].values(), [])]
capped = [r for r in capped if any(s.operator in ("<", "<=", "!=", "==", "~=") for s in r.specifier)]
print("\nHeld back by pyproject.toml's caps:")
held = 0
for req in capped:
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", req.name],
                         capture_output=True, text=True, check=False).stdout
    listed = next((line.split(":", 1)[1] for line in out.splitlines() if line.startswith("Available versions:")), "")
    released = [Version(v.strip()) for v in listed.split(",") if v.strip()]
    released = [v for v in released if not v.is_prerelease]
    if not released:
        continue
    newest = max(released)
    if newest not in req.specifier:
        held += 1
        print(f"  {req.name:28} {str(req.specifier):>14}    newest published: {newest}")
if not held:
    print("  nothing: every newest release fits the ranges")
PY

echo
echo "Running the test suite on the newest versions (the bundle test builds its own, in the scratch folder)..."
# -v: each test's result is in the log as it ends, so a run that crashes still says what failed before.
HEAR2SEE_BUNDLE_CACHE=$scratch/bundle "$venv/bin/python" -m pytest -v -p no:cacheprovider "$@" \
  >"$scratch/tests.log" 2>&1
status=$?
summary=$(grep -E "^=+ .*(passed|failed|error).* in [0-9.]+s.* =+$" "$scratch/tests.log" | tail -n 1 | tr -d '=')
if [ $status = 0 ]; then
  echo "PASS:$summary"
  echo "The newest allowed versions work: \`bash scripts/lock.sh\` can move the lock to them."
  exit 0
fi
if [ -z "$summary" ]; then  # killed before pytest could sum up (a native crash, an abort)
  running=$(grep -E "^tests/[^ ]+::" "$scratch/tests.log" | tail -n 1 | cut -d' ' -f1)
  echo "CRASHED on the newest allowed versions (exit $status) in $running:"
  grep -m 3 -E "Fatal Python error|Aborted|Segmentation fault" "$scratch/tests.log" | cut -c1-300
else
  echo "BROKEN on the newest allowed versions:$summary"
fi
echo "Failed tests:"
grep -E "^tests/[^ ]+ (FAILED|ERROR)" "$scratch/tests.log" | cut -d' ' -f1,2 | awk '!seen[$0]++'
echo "First errors:"
grep -E "^E   " "$scratch/tests.log" | awk '!seen[$0]++' | head -n 15 | cut -c1-300
[ "$keep" = 1 ] && echo "Full log: $scratch/tests.log"
exit 1
