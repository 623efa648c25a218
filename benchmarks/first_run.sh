#!/usr/bin/env bash
# What a newcomer waits for: README's first block on a fresh clone in a fresh virtual
# environment (set-up, then the first `toygan.animate --loss bce`, then a second one with
# Python's bytecode and matplotlib's font cache warm). Prints the three times in seconds.
#   bash benchmarks/first_run.sh [TORCH_SPEC]        # default torch==2.13.0 (the CPU wheel)
#   bash benchmarks/first_run.sh --tiny   # CI: no install ($PYTHON's packages, the clone on
#                                          # PYTHONPATH), a tiny animation
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tiny=0
if [ "${1:-}" = "--tiny" ]; then tiny=1; shift; fi
torch_spec="${1:-torch==2.13.0}"
small=()
[ $tiny = 1 ] && small=(--steps 30 --frames 4 --size 120)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/repo"
cd "$work/repo"
now() { date +%s.%N; }
t0=$(now)
if [ $tiny = 1 ]; then
  python() { "${PYTHON:-python3}" "$@"; }
  export PYTHONPATH="$work/repo"
else
  python3 -m venv .venv && . .venv/bin/activate
  pip install -q "$torch_spec" && pip install -q -e .
fi
t1=$(now)
python -m toygan.animate --loss bce "${small[@]}" >/dev/null
t2=$(now)
python -m toygan.animate --loss bce --out runs/again.gif "${small[@]}" >/dev/null
t3=$(now)
"${PYTHON:-python3}" - "$t0" "$t1" "$t2" "$t3" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:])
print(f"set-up {t1 - t0:.1f} s   first animation {t2 - t1:.1f} s   second {t3 - t2:.1f} s")
PY
