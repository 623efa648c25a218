"""Batched training speed: K runs trained together (toygan.batched) against K separate runs.

    python benchmarks/batched_speed.py                        # bce and wgan-gp, ~1.5 minutes
    python benchmarks/batched_speed.py --loss bce --ks 1,4,16,64 --steps 20

Configuration: the mode-collapse study's (``toygan.compare.STUDY_BASE``: 3x128 ReLU MLPs,
batch 128 per run), runs alternating between the ring and the grid. For each K, "separate"
trains K single runs one after another (``toygan.train.Trainer``) and "batched" trains them as
one stacked computation (``toygan.batched.BatchedTrainer``); each prints aggregate model-steps
per second (a model-step is one generator update of one run, with its critic updates) and the
speed-up. Training only: no evaluation or snapshots. The batched step's matmul FLOPs are counted
(``toy_speed.MatmulFlops``: mm, bmm, addmm, baddbmm, forward, backward and the penalty's double
backward) and its FLOP rate is printed against ``torch.bmm`` / ``torch.mm`` replaying exactly
the step's matmul shapes in the same run — the rate those kernels reach on this machine.
"""

from __future__ import annotations

import argparse
import time

import torch
from toy_speed import MatmulFlops

from toygan.batched import BatchedTrainer
from toygan.compare import STUDY_BASE
from toygan.train import TrainConfig, Trainer


def model_steps_per_s(trainers, steps: int, warmup: int = 2) -> float:
    """Aggregate run-steps/s of ``trainers`` (each trained ``steps`` generator updates)."""
    for t in trainers:
        for _ in range(warmup):
            t.train_step()
    t0 = time.perf_counter()
    for t in trainers:
        for _ in range(steps):
            t.train_step()
    elapsed = time.perf_counter() - t0
    return sum(t.runs for t in trainers) * steps / elapsed


def step_flops(trainer) -> tuple[float, list]:
    """Matmul FLOPs of one train_step and the (A, B) shapes of its matmul kernels."""
    with MatmulFlops() as counter:
        trainer.train_step()
    return counter.flops, counter.shapes


def replay_rate(shapes: list, reps: int = 10) -> float:
    """FLOP/s of torch.mm / torch.bmm on exactly ``shapes`` (fresh tensors, one call each)."""
    pairs = [(torch.randn(a), torch.randn(b)) for a, b in shapes]
    flops = sum(2 * x.numel() * y.shape[-1] for x, y in pairs)
    for x, y in pairs:  # warm-up
        (torch.bmm if x.dim() == 3 else torch.mm)(x, y)
    t0 = time.perf_counter()
    for _ in range(reps):
        for x, y in pairs:
            (torch.bmm if x.dim() == 3 else torch.mm)(x, y)
    return reps * flops / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--loss", default="bce,wgan-gp")
    p.add_argument("--ks", default="1,4,16,64")
    p.add_argument("--steps", type=int, default=20, help="timed generator updates per run")
    p.add_argument("--tiny", action="store_true",
                   help="K 1 and 2, 2 steps (CI; figures meaningless)")
    a = p.parse_args()
    if a.tiny:
        a.ks, a.steps = "1,2", 2
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; study configuration "
          f"(3x128 MLPs, batch {STUDY_BASE['batch_size']} per run), {a.steps} timed steps")
    print(f"{'loss':8s} {'K':>3s} {'separate':>14s} {'batched':>14s} {'speed-up':>9s} "
          f"{'batched GFLOP/s':>16s} {'same-shape mm/bmm':>18s} {'share':>6s}")
    for loss in a.loss.split(","):
        for K in map(int, a.ks.split(",")):
            cfgs = [TrainConfig(**dict(STUDY_BASE, loss=loss, seed=s, data=("ring", "grid")[s % 2]))
                    for s in range(K)]
            separate = model_steps_per_s([Trainer(c) for c in cfgs], a.steps)
            trainer = BatchedTrainer(cfgs)
            batched = model_steps_per_s([trainer], a.steps)
            flops, shapes = step_flops(trainer)
            rate = batched / K * flops  # batched steps/s x FLOPs per batched step
            ref = replay_rate(shapes)
            print(f"{loss:8s} {K:3d} {separate:9.0f} st/s {batched:9.0f} st/s "
                  f"{batched / separate:8.2f}x {rate / 1e9:16.2f} {ref / 1e9:18.2f} "
                  f"{rate / ref:6.0%}", flush=True)


if __name__ == "__main__":
    main()
