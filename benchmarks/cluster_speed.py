"""A study serially against the same study on Ray workers, and the full PacGAN protocol projected.

    python benchmarks/cluster_speed.py                          # pacgan-ring, 1000 steps x 2 trials
    python benchmarks/cluster_speed.py --steps 200 --workers 2,4

Runs ``python -m toygan.reproduce TABLE --steps S --seeds T`` once serially (torch's own threads,
every core) and once per ``--workers N`` (a local Ray instance, one CPU thread per task, so N
tasks never oversubscribe N cores), each in a fresh folder, and prints each wall time, the
speed-up, and whether ``results.csv`` is identical. From the Ray run's per-task training
time on one core (``done.json``'s ``train_s``) it projects the table's full protocol (the
paper's trials x steps) on N single-core workers, with one task per row (the default) and
with ``--runs-per-task 1`` (one task per trial).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(table: str, steps: int, seeds: int, out: Path, workers: int | None) -> float:
    cmd = [sys.executable, "-m", "toygan.reproduce", table, "--steps", str(steps), "--seeds",
           str(seeds), "--out", str(out), "--quiet"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def rows(out: Path) -> list[dict]:
    return list(csv.DictReader(open(out / "results.csv")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", default="pacgan-ring")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--workers", default="2", help="comma list of worker counts")
    p.add_argument("--project", default="1,2,8,32,128", help="worker counts to project for")
    p.add_argument("--tiny", action="store_true",
                   help="20 steps x 1 trial, 2 workers (CI: the code runs; figures meaningless)")
    a = p.parse_args()
    if a.tiny:
        a.steps, a.seeds, a.workers = 20, 1, "2"
    from toygan.reproduce import TABLES

    table = TABLES[a.table]
    with tempfile.TemporaryDirectory() as tmp:
        serial = Path(tmp) / "serial"
        t_serial = run(a.table, a.steps, a.seeds, serial, None)
        print(f"{a.table}, {len(table.variants)} rows x {a.seeds} trials x {a.steps:,} steps")
        print(f"  serial:            {t_serial:7.1f} s")
        first = None
        for n in (int(x) for x in a.workers.split(",")):
            out = Path(tmp) / f"ray{n}"
            first = first or out
            t = run(a.table, a.steps, a.seeds, out, n)
            same = rows(out) == rows(serial)
            print(f"  --workers {n:<3}      {t:7.1f} s  speed-up {t_serial / t:.2f}x  "
                  f"results.csv identical: {same}")
        # A task's own training time on one core (a Ray worker's thread).
        groups = {r["variant"]: json.loads((first / "runs" / r["run"] / "done.json")
                                           .read_text())["train_s"] for r in rows(serial)}
    # One row's trials = one batched task (or --runs-per-task 1: one task per trial); a task's
    # time grows with its steps and at most linearly with its runs (batching K runs costs less
    # than K runs: BENCHMARKS.md), so the projection is an upper bound.
    step_scale = table.steps / a.steps
    print(f"  row tasks trained in {', '.join(f'{s:.0f}' for s in groups.values())} s each "
          f"on one core ({a.steps:,} steps x {a.seeds} trials)")
    print(f"full protocol ({table.seeds} trials x {table.steps:,} steps, {len(groups)} rows), "
          "projected wall time:")
    print("  workers   one task per row   --runs-per-task 1")
    for n in (int(x) for x in a.project.split(",")):
        whole = [s * step_scale * table.seeds / a.seeds / 3600 for s in groups.values()]
        single = [s * step_scale / a.seeds / 3600 for s in groups.values()
                  for _ in range(table.seeds)]
        print(f"  {n:>7}   {makespan(whole, n):14.1f} h   {makespan(single, n):15.1f} h")


def makespan(hours: list[float], workers: int) -> float:
    """Wall time of indivisible tasks on ``workers`` workers, longest task first."""
    load = [0.0] * min(workers, len(hours))
    for h in sorted(hours, reverse=True):
        load[load.index(min(load))] += h
    return max(load)

if __name__ == "__main__":
    main()
