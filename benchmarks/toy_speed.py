"""Toy-trainer speed: iterations/s, FLOP rate against the machine's matmul rate, time to quality.

    python benchmarks/toy_speed.py                      # about 3 minutes on 2 cores
    python benchmarks/toy_speed.py --reference-steps 6000   # also the WGAN-GP toy port's TTQ (long)
    python benchmarks/toy_speed.py --compile on         # time to quality with the compiled step
    python benchmarks/toy_speed.py --tiny               # seconds: every eager timing once (CI)

Prints, for the WGAN-GP toy reference configuration (``--preset wgan-gp-toy``: 3x512 ReLU MLPs,
batch 256, 5 critic steps, lambda 0.1) and for toygan's default configuration:
generator iterations per second eager and with the compiled critic update (``--compile on``;
its compile time excluded, measured separately), matmul FLOPs per iteration (counted by
a dispatch-mode counter of every mm/addmm/bmm, double-backward of the penalty included) and the
fraction of the
machine's measured float32 ``torch.mm`` rate that this achieves.

Time to quality: wall seconds of training (evaluation excluded) until a ``wgan-gp`` run on the
``8gaussians`` preset first shows 8/8 modes with ``hq_frac`` >= 0.9 at three evaluations in a row
(evaluated every 100 iterations).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from toygan.presets import PRESETS
from toygan.train import TrainConfig, Trainer


def matmul_rate(n: int = 2048, reps: int = 20) -> float:
    """Measured float32 torch.mm FLOP/s on an n x n product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0)


class MatmulFlops(TorchDispatchMode):
    """Counts 2*m*n*k for every matmul kernel dispatched — mm, bmm and their fused forms with an
    added term (addmm, baddbmm: the stacked runs' layers, ``_addmm_activation``) — backward and
    double backward too."""

    def __init__(self):
        super().__init__()
        self.flops = 0
        self.shapes: list[tuple[tuple, tuple]] = []  # (A, B) of every counted kernel

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        aten = torch.ops.aten
        if func in (aten.mm.default, aten.bmm.default):
            a, b = args[0], args[1]
        elif func in (aten.addmm.default, aten.baddbmm.default, aten._addmm_activation.default):
            a, b = args[1], args[2]  # (bias or accumulator, A, B)
        else:
            return func(*args, **(kwargs or {}))
        self.flops += 2 * a.numel() * b.shape[-1]  # (..., m, k) @ (..., k, n): 2 * batch*m*k*n
        self.shapes.append((tuple(a.shape), tuple(b.shape)))
        return func(*args, **(kwargs or {}))


def step_rate(cfg: TrainConfig, seconds: float = 10.0) -> tuple[float, float, float]:
    """(generator iterations per second, matmul FLOPs per iteration (eager steps only), seconds
    of the first three steps — where a compiled step compiles)."""
    t = Trainer(cfg)
    t0 = time.perf_counter()
    for _ in range(3):
        t.train_step()
    warm = time.perf_counter() - t0
    flops = 0
    if t.gan.compiled is None:
        with MatmulFlops() as counter:
            t.train_step()
        flops = counter.flops
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        t.train_step()
        n += 1
    return n / (time.perf_counter() - t0), flops, warm


def time_to_quality(cfg: TrainConfig, max_steps: int, eval_every: int = 100, hold: int = 3):
    """Training seconds (evaluation excluded) and steps until 8/8 modes with hq >= 0.9 hold for
    ``hold`` evaluations in a row; (None, steps run) if never within ``max_steps``."""
    t = Trainer(cfg)
    n_modes = t.data.n_modes
    train_s, streak, first = 0.0, 0, None
    while t.step < max_steps:
        t0 = time.perf_counter()
        for _ in range(eval_every):
            t.train_step()
        train_s += time.perf_counter() - t0
        m = t.evaluate()
        if m["modes_covered"] == n_modes and m["hq_frac"] >= 0.9:
            streak += 1
            first = first if streak > 1 else (train_s, t.step)
            if streak == hold:
                return first
        else:
            streak = 0
    return None, t.step


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="timing window per configuration")
    p.add_argument("--seeds", type=int, default=3, help="seeds for the time-to-quality runs")
    p.add_argument("--compile", choices=["on", "off"], default="off",
                   help="the time-to-quality runs' critic update (its compile time counted)")
    p.add_argument("--reference-steps", type=int, default=0,
                   help="also run the reference port's time to quality up to this many steps")
    p.add_argument("--tiny", action="store_true", help="0.2 s timings, no compiling, one "
                   "50-step time-to-quality run (CI: the code runs; figures meaningless)")
    args = p.parse_args()
    if args.tiny:
        args.seconds, args.seeds = 0.2, 1

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    peak = matmul_rate()
    print(f"float32 torch.mm (2048^3): {peak / 1e9:.1f} GFLOP/s")

    ref = dict(PRESETS["wgan-gp-toy"])
    default = dict(loss="wgan-gp", data="8gaussians")
    slides = dict(PRESETS["slides"], loss="wgan-gp", preset="slides")
    for name, kw in (("reference wgan-gp-toy (3x512, B256, n_critic 5)", ref),
                     ("default wgan-gp (G 3x256, D 3x128, B256, n_critic 5)", default),
                     ("slides wgan-gp (G 3x128, D 3x128, B256, n_critic 5)", slides)):
        its, flops, _ = step_rate(TrainConfig(**kw, compile="off"), args.seconds)
        print(f"{name}: {its:.1f} it/s, {flops / 1e9:.2f} GFLOP/it, "
              f"{its * flops / 1e9:.1f} GFLOP/s = {its * flops / peak:.0%} of torch.mm")
        if args.tiny:
            continue
        c_its, _, warm = step_rate(TrainConfig(**kw, compile="on"), args.seconds)
        print(f"  compiled critic update: {c_its:.1f} it/s = {c_its / its:.2f}x eager "
              f"({c_its * flops / 1e9:.1f} GFLOP/s = {c_its * flops / peak:.0%} of torch.mm); "
              f"first 3 steps incl. compiling {warm:.1f} s")

    for seed in range(args.seeds):
        cfg = TrainConfig(loss="wgan-gp", data="8gaussians", seed=seed, compile=args.compile)
        secs, steps = time_to_quality(cfg, 50 if args.tiny else cfg.steps)
        verdict = f"{secs:.1f} s ({steps} it)" if secs is not None else f"not reached in {steps} it"
        print(f"time to quality, default wgan-gp on 8gaussians, seed {seed} (compile "
              f"{args.compile}): {verdict}")
    if args.reference_steps:
        cfg = TrainConfig(**dict(PRESETS["wgan-gp-toy"], steps=args.reference_steps))
        secs, steps = time_to_quality(cfg, args.reference_steps)
        verdict = f"{secs:.1f} s ({steps} it)" if secs is not None else f"not reached in {steps} it"
        print(f"time to quality, reference wgan-gp-toy port: {verdict}")


if __name__ == "__main__":
    main()
