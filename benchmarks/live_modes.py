"""How often the live page's modes curve reads every mode on a run that keeps them all.

    python benchmarks/live_modes.py                 # 3,000 steps per run, one thread (~8 min)
    python benchmarks/live_modes.py --tiny          # 60 steps (CI: the code runs)

Trains the live page's own configuration (``toygan.live.validate``: the slide configuration, no
learning-rate decay, 1,000 samples per evaluation every 50 steps) on the 8-mode ring for each
case below, and over the evaluations of the last ``--tail`` steps prints the share that read all
8 modes — each evaluation's own count and the page's bold line, the most modes covered at any of
the last ``toygan.status.MODES_WINDOW`` evaluations — with the mean share of high-quality
samples. A hopping generator (minimax) shows what the window does to a run that is not covering
the modes: its best-of-window count against its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import torch

CASES = [  # (label, the page's settings)
    ("wgan-gp, the page's rates (critic 2e-4, generator 1e-3)", {"variant": "wgan-gp"}),
    ("wgan-gp, equal rates 2e-4", {"variant": "wgan-gp", "lr_g": "2e-4"}),
    ("minimax, the page's rates", {"variant": "minimax"}),
]


def run(settings: dict, steps: int, seed: int) -> list[dict]:
    from toygan.live import validate
    from toygan.train import Trainer

    with tempfile.TemporaryDirectory() as tmp:  # (drawn data would be written there)
        cfg = validate({**settings, "data": "ring"}, Path(tmp))[0]
    t = Trainer(dataclasses.replace(cfg, seed=seed))
    evals = []
    for step in range(1, steps + 1):
        t.train_step()
        if step % cfg.eval_every == 0:
            evals.append({"step": step, **t.evaluate()})
    return evals


def main(argv=None) -> int:
    from toygan.status import MODES_WINDOW, recent_best

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--tail", type=int, default=1000, help="steps at the end read (default 1000)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--tiny", action="store_true", help="60 steps, tail 50 (CI)")
    a = p.parse_args(argv)
    if a.tiny:
        a.steps, a.tail = 60, 50
    torch.set_num_threads(1)
    print(f"{a.steps:,} steps, evaluations of the last {a.tail:,}; bold line = best of the last "
          f"{MODES_WINDOW} evaluations; one thread")
    print("| run | seed | evaluations | all 8, each evaluation | all 8, bold line | "
          "modes, each (mean) | modes, bold (mean) | high-quality share |")
    print("|---|---|---|---|---|---|---|---|")
    for label, settings in CASES:
        for seed in range(a.seeds):
            evals = run(settings, a.steps, seed)
            counts = [e["modes_covered"] for e in evals]
            best = recent_best(counts)
            tail = [i for i, e in enumerate(evals) if e["step"] > a.steps - a.tail]
            raw8 = np.mean([counts[i] == 8 for i in tail])
            best8 = np.mean([best[i] == 8 for i in tail])
            print(f"| {label} | {seed} | {len(tail)} | {100 * raw8:.0f}% | {100 * best8:.0f}% | "
                  f"{np.mean([counts[i] for i in tail]):.1f} | "
                  f"{np.mean([best[i] for i in tail]):.1f} | "
                  f"{np.mean([evals[i]['hq_frac'] for i in tail]):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
