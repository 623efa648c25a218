"""Is there a 2D run that covers the ring and then loses modes? A measured search.

    python benchmarks/onset_2d.py                  # 8 objectives x 3 protocols x 4 seeds (~15 min)
    python benchmarks/onset_2d.py --tiny           # bce, 2 seeds, 30 steps (CI)

Trains every objective (the ``toygan.losses.OBJECTIVES`` registry) on the 8-mode ring under
the slide protocol and its live-page variants, ``--seeds`` seeds each (stacked with
``toygan.batched``, one thread), evaluated every 50 steps. Each evaluation is *healthy* when the
page's bold modes line — the most modes covered at any of the last ``MODES_WINDOW``
evaluations (``toygan.metrics.recent_best``) — covers all 8, so a generator wobbling out of one
mode for one evaluation is not a loss; a run's status then follows the one vocabulary of
image and 2D runs (``toygan.status.coverage_status``): *lost* = covered every mode, then below
8 on the bold line from some evaluation to the end; its onset is the first evaluation after the
last one that covered all 8. Prints one row per protocol and objective (status counts,
onsets, peak and final modes) and every lost run's modes trace.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

PROTOCOLS = {  # name -> TrainConfig overrides on top of the slide preset
    "slides (decay, 1,200 steps)": dict(preset="slides"),
    "live page (no decay, 3,000 steps)": dict(preset="slides", lr_decay="none", steps=3000,
                                             eval_samples=1000),
    "live page, equal rates 1e-3 (no decay, 3,000 steps)": dict(
        preset="slides", lr_decay="none", steps=3000, eval_samples=1000, lr_d=1e-3, lr_g=1e-3),
}


def run_status(records: list[dict], n_modes: int) -> dict:
    """The status on the page's bold line, with each evaluation's counts and steps."""
    from toygan.status import MODES_WINDOW, coverage_status, recent_best

    counts = [r["modes_covered"] for r in records]
    return {**coverage_status(records, n_modes, window=MODES_WINDOW),
            "bold": recent_best(counts), "counts": counts, "steps": [r["step"] for r in records]}


def main(argv=None) -> int:
    from toygan.batched import train_runs
    from toygan.config import build
    from toygan.losses import OBJECTIVES
    from toygan.status import MODES_WINDOW, STATUSES
    from toygan.study import counts_text, status_counts
    from toygan.train import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--objectives", default=",".join(OBJECTIVES))
    p.add_argument("--protocols", default=None,
                   help="comma-separated words: train only the protocols whose name has one")
    p.add_argument("--tiny", action="store_true", help="bce, 2 seeds, 30 steps (CI)")
    a = p.parse_args(argv)
    objectives = a.objectives.split(",")
    protocols = dict(PROTOCOLS)
    if a.protocols:
        protocols = {k: v for k, v in protocols.items()
                     if any(w in k for w in a.protocols.split(","))}
    if a.tiny:
        objectives, a.seeds = ["bce"], 2
        protocols = {k: dict(v, steps=30, eval_every=10) for k, v in protocols.items()}
    torch.set_num_threads(1)
    shown = STATUSES[:-1]
    print(f"8-mode ring, seeds 0-{a.seeds - 1}, one thread; healthy = the bold line (best of the "
          f"last {MODES_WINDOW} evaluations) covers all 8")
    print(f"| protocol | objective | {' / '.join(shown)} | onsets (step) | peak bold | "
          "final modes (each seed) | s |")
    print("|---|---|---|---|---|---|---|")
    lost = []
    for proto, over in protocols.items():
        for name in objectives:
            t0 = time.perf_counter()
            cfgs = [build(TrainConfig, dict(over, loss=name, data="ring", seed=s,
                                            eval_every=over.get("eval_every", 50)))
                    for s in range(a.seeds)]
            recs = train_runs(cfgs, [None] * len(cfgs), progress=False)
            rows = []
            for seed, rec in enumerate(recs):
                evals = [r for r in rec.history if r.get("modes_covered") is not None]
                st = run_status(evals, 8) if rec.diverged_at is None else {
                    "status": "diverged", "bold": [0], "counts": [0], "onset_step": None}
                rows.append(st)
                if st["status"] == "lost":
                    lost.append((proto, name, seed, st))
            onsets = ", ".join(str(r["onset_step"]) for r in rows if r["status"] == "lost")
            print(f"| {proto} | {name} | {counts_text(status_counts(rows))} | "
                  f"{onsets or '-'} | {max(max(r['bold']) for r in rows)} | "
                  f"{', '.join(str(r['counts'][-1]) for r in rows)} | "
                  f"{time.perf_counter() - t0:.0f} |", flush=True)
    print(f"\n{len(lost)} lost runs (each evaluation's modes, every 50 steps; the onset's in "
          "brackets):")
    for proto, name, seed, st in lost:
        trace = "".join(f"[{c}]" if step == st["onset_step"] else str(c)
                        for c, step in zip(st["counts"], st["steps"], strict=True))
        print(f"- {proto}, {name}, seed {seed}: onset step {st['onset_step']}; bold "
              f"{''.join(str(b) for b in st['bold'])}; modes {trace}")
    print(f"\nany lost run: {bool(lost)}; mean peak bold line "
          f"{np.mean([max(st['bold']) for *_, st in lost]) if lost else float('nan'):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
