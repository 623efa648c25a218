"""How much can stacking K image runs into one computation gain on this machine? An upper bound.

    python benchmarks/image_stack_bound.py            # the default study's model, K = 1..16
    python benchmarks/image_stack_bound.py --width 64 # the homework's model

K runs of one architecture stacked into one computation (grouped convolutions, or ``vmap`` over
stacked weights) do the same arithmetic as *one* model trained on a K-times larger batch, with K
sets of weights instead of one. The single-model, K x 64 batch step is therefore the ceiling of
what stacking can reach: it has the same FLOPs, the largest convolutions, and one kernel launch
per layer, with none of the grouping's overheads. This script times that step (a plain BCE loop:
one critic and one generator update, Adam, the study's width-16 DCGAN at 32 px) at batch 64 x K
and prints the aggregate images/s against K separate batch-64 steps, and the FLOP rate reached
(``torch.utils.flop_counter``) beside a large matrix product's (the machine's practical peak).
"""

from __future__ import annotations

import argparse

import torch
from image_speed import _rate, plain_step  # benchmarks/ is on the path when run as a script
from torch.utils.flop_counter import FlopCounterMode


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--tiny", action="store_true", help="0.2 s per timing (CI; figures meaningless)")
    a = p.parse_args(argv)
    if a.tiny:
        a.seconds = 0.2
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, width {a.width}, 32 px")
    x = torch.randn(2048, 2048)
    mm = _rate(lambda: x @ x, min(2.0, a.seconds)) * 2 * 2048 ** 3 / 1e9
    print(f"practical peak: 2048x2048 matmul {mm:.0f} GFLOP/s")
    print("| K | batch | steps/s | images/s | aggregate vs K separate batch-64 steps | GFLOP/s |")
    print("|---|---|---|---|---|---|")
    base = None
    for k in (1, 2) if a.tiny else (1, 2, 4, 8, 16):
        real = torch.rand(64 * k, 3, 32, 32) * 2 - 1
        step = plain_step(32, a.width, 64 * k, lambda r=real: r)
        with FlopCounterMode(display=False) as fc:
            step()
        rate = _rate(step, a.seconds)
        base = base or rate
        img = rate * 64 * k * 2  # real and generated images through the critic step
        print(f"| {k} | {64 * k} | {rate:.2f} | {img:.0f} | {rate * k / base:.2f}x | "
              f"{fc.get_total_flops() * rate / 1e9:.1f} |")


if __name__ == "__main__":
    main()
