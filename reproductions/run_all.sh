#!/usr/bin/env bash
# The measured reproductions committed in this folder, one after another on one core
# (OMP_NUM_THREADS=1), each resumable: rerun this script after a stop and finished runs are
# skipped. Shortened protocols (--steps/--seeds) are what a 2-core machine affords; each
# table.md states the protocol it ran and the paper's.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
export OMP_NUM_THREADS=1
run() {  # FOLDER TABLE ARGS...: start, or resume when the folder exists
  local folder=$1 name=$2; shift 2
  local flag=""
  [ -f "reproductions/$folder/study.json" ] || [ -d "reproductions/$folder/runs" ] && flag="--resume"
  python -m toygan.reproduce "$name" "$@" --out "reproductions/$folder" $flag --quiet
}
run unrolled-mog unrolled-mog --seeds 5 --steps 25000 --runs-per-task 1
run pacgan-ring pacgan-ring --seeds 5 --steps 5000
run pacgan-grid pacgan-grid --seeds 3 --steps 5000
# VEEGAN's own protocol at its full 100,000 iterations: the GAN row (the Unrolled GAN row, on
# its authors' implementation, costs ~6x a GAN step; add it with --rows).
run veegan-2d veegan-2d --seeds 5 --steps 100000 --rows bce
