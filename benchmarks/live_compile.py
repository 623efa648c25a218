"""Why the live page trains eagerly: what the compiled critic update would cost and gain there.

    python benchmarks/live_compile.py            # bce and wgan-gp, compiled (fresh cache) and eager
    python benchmarks/live_compile.py --tiny     # eager only, a few steps (CI: the code runs)

Each row is one live-page run (``toygan.live.validate``: the page's configuration, 100,000
steps, where ``--compile auto`` would compile) trained by its own ``Trainer``: the time of each of
its first three steps, its steady rate over ``--steps`` steps (no snapshots: training alone), and
the time of the first step after a new penalty weight (the page's λ box, WGAN-GP only). Compiled
rows start from an empty inductor cache (a fresh machine; ``TORCHINDUCTOR_CACHE_DIR`` is set to a
new folder before torch is imported), so the first step pays the whole compile.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import shutil
import tempfile
import time

os.environ["TORCHINDUCTOR_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="inductor-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

from pathlib import Path  # noqa: E402

from toygan import live, threads  # noqa: E402
from toygan.train import Trainer  # noqa: E402


def measure(variant: str, compile_mode: str, steps: int) -> dict:
    threads.apply()  # torch's threads chosen as the live page chooses them at a new run
    with tempfile.TemporaryDirectory() as tmp:
        (cfg,) = live.validate({"data": "ring", "variant": variant}, Path(tmp))
    t = Trainer(dataclasses.replace(cfg, compile=compile_mode))
    first = []
    for _ in range(3):
        t0 = time.perf_counter()
        t.train_step()
        first.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.train_step()
    rate = steps / (time.perf_counter() - t0)
    new_gp = None
    if variant == "wgan-gp":
        live.LiveRun(t).apply_settings({"gp_weight": 2.0})  # as the page's λ box applies it
        t0 = time.perf_counter()
        t.train_step()
        new_gp = time.perf_counter() - t0
    return {"first": first, "rate": rate, "new_gp": new_gp, "threads": threads.chosen()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300, help="steps timed for the steady rate")
    p.add_argument("--tiny", action="store_true", help="eager only, 5 steps (CI)")
    a = p.parse_args()
    modes = ("off",) if a.tiny else ("on", "off")
    steps = 5 if a.tiny else a.steps
    import torch

    print(f"torch {torch.__version__}; live page runs, {steps} steps timed")
    print("| objective | critic update | threads | steps 1, 2, 3 (s) | steady steps/s | "
          "first step after a new λ (s) |")
    print("|---|---|---|---|---|---|")
    for variant in ("bce", "wgan-gp"):
        for mode in modes:
            r = measure(variant, mode, steps)
            gp = "—" if r["new_gp"] is None else f"{r['new_gp']:.2f}"
            print(f"| {variant} | {'compiled' if mode == 'on' else 'eager'} | {r['threads']} | "
                  f"{', '.join(f'{x:.2f}' for x in r['first'])} | {r['rate']:.0f} | {gp} |")


if __name__ == "__main__":
    main()
