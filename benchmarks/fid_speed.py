"""What FID, KID and precision/recall cost on this machine: how often a run can afford them.

    python benchmarks/fid_speed.py              # 1,000 images through the Inception, math at 10k
    python benchmarks/fid_speed.py --n 200      # a shorter timing
    python benchmarks/fid_speed.py --tiny       # seconds: the code runs (CI)

The FID Inception (torch-fidelity's network; weights of the published file's layout with random
values, which cost exactly what the real ones cost) turns 32 px images into 2048 features after
resizing them to 299 px, so its cost per image does not depend on the image size; it is timed on
``--n`` images at batch 100 and scales linearly with N. The metric math (means and covariances,
the Fréchet distance's symmetric square root, KID over 100 subsets of 1,000, k-NN precision and
recall) is timed at N = 1,000 and 10,000 on random 2048-d features. The seconds for 10k images
are the features' per-image time x 10,000 (both sides: generated and, once per data set, real)
plus the math at 10k. The download-free stand-in network (``--inception-weights random``) is
timed beside it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from imagegan import fid


def _time(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="images timed through the Inception")
    p.add_argument("--tiny", action="store_true",
                   help="8 images, the math at N = 100 (CI: the code runs; figures meaningless)")
    args = p.parse_args(argv)
    if args.tiny:
        args.n = 8
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(args.n, 32, 32, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        net = fid.InceptionFeatures(fid.write_untrained_weights(Path(tmp) / "w.pth"))
        net(images[:4])  # warm-up
        t_inc = _time(lambda: net(images))
    per_inc = t_inc / args.n
    stand_in = fid.RandomFeatures()
    stand_in(images[:4])
    per_rand = _time(lambda: stand_in(images), 2) / args.n
    print(f"FID Inception features: {args.n / t_inc:.1f} images/s ({1000 * per_inc:.1f} s per 1k)")
    print(f"stand-in random conv net: {1 / per_rand:.0f} images/s "
          f"({1000 * per_rand:.2f} s per 1k)")
    print()
    print("| N | features, one side (s) | FID math (s) | KID math (s) | PR math (s) | "
          "FID+KID+PR of a run, real side cached (s) |")
    print("|---|---|---|---|---|---|")
    for n in (100,) if args.tiny else (1000, 10_000):
        real = rng.standard_normal((n, 2048))
        fake = rng.standard_normal((n, 2048)) + 0.1
        t_fid = _time(lambda r=real, f=fake: fid.frechet_distance(*fid.statistics(r),
                                                                     *fid.statistics(f)))
        t_kid = _time(lambda r=real, f=fake: fid.kid(r, f))
        t_pr = _time(lambda r=real, f=fake: fid.precision_recall(r, f))
        feats = per_inc * n
        print(f"| {n:,} | {feats:.0f} | {t_fid:.1f} | {t_kid:.1f} | {t_pr:.1f} | "
              f"{feats + t_fid + t_kid + t_pr:.0f} |")


if __name__ == "__main__":
    main()
