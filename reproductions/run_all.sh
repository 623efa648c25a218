#!/usr/bin/env bash
# The measured reproductions committed in this folder, one after another on one core
# (OMP_NUM_THREADS=1), each resumable: rerun this script after a stop and finished runs are
# skipped. Shortened protocols (--steps/--seeds) are what a 2-core machine affords; each
# table.md states the protocol it ran and the paper's.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
export OMP_NUM_THREADS=1
run() {  # NAME ARGS...: start, or resume when the folder exists
  local name=$1; shift
  local flag=""
  [ -f "reproductions/$name/study.json" ] || [ -d "reproductions/$name/runs" ] && flag="--resume"
  python -m toygan.reproduce "$name" "$@" --out "reproductions/$name" $flag --quiet
}
run unrolled-mog --seeds 5 --steps 5000
run pacgan-ring --seeds 5 --steps 5000
run pacgan-grid --seeds 5 --steps 5000
run veegan-2d --seeds 3 --steps 2000
