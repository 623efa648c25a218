"""imagegan speed on this machine: training images/s, against a plain PyTorch loop of the same
model, and the image-cache build rate.

    python benchmarks/image_speed.py
    python benchmarks/image_speed.py --quick        # 32 px only, shorter timings
    python benchmarks/image_speed.py --tiny         # seconds: every timing once (CI)

The plain loop is the few lines a student writes (the same DCGAN G and D, BCE, Adam 2e-4,
betas (0.5, 0.999), batch 64, fake detached, no EMA, no logging): the ratio printed is our
trainer's generator steps/s over the plain loop's, timed in the same run, alternating.

Training: the homework model (width 64: G Linear -> 4x4x512 ..., D 64-128-256-512) at 32 and 64 px,
batch 64, BCE (1 critic step) and WGAN-GP (5 critic steps with the penalty). "Images/s" counts
every real and generated image that passes through a step: batch x (n_critic + 1); generator
steps/s is printed beside it. Cache: decoding, cropping and resizing a folder of 96 px JPEGs (the
Crypko faces' size) into the uint8 cache, single process.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from imagegan import data as imdata
from imagegan.train import TrainConfig, Trainer


def _rate(step, seconds: float) -> float:
    step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def train_rate(loss: str, size: int, seconds: float = 15.0, **kw) -> tuple[float, float]:
    t = Trainer(TrainConfig(loss=loss, data="digits", size=size, width=64, batch_size=64,
                            device="cpu", **kw), progress=False)
    steps_s = _rate(t.train_step, seconds)
    return steps_s, steps_s * 64 * (t.cfg.n_critic + 1)


def plain_step(size: int, width: int, batch: int, draw_real):
    """One step of the minimal BCE loop a student writes: the same DCGAN G and D, Adam, the fake
    batch detached for the critic and reused for the generator; ``draw_real()`` gives a batch."""
    from imagegan.models import Critic, Generator

    torch.manual_seed(0)
    G, D = Generator(size, width, 100), Critic(size, width)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def step():
        real = draw_real()
        fake = G(torch.randn(batch, 100))
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = bce(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

    return step


def plain_rate(size: int, seconds: float = 15.0) -> float:
    """Generator steps/s of a minimal BCE loop of the same model, same data and batch."""
    images = torch.from_numpy(imdata.load("digits", size).images)
    step = plain_step(size, 64, 64,
                      lambda: imdata.to_float(images[torch.randint(len(images), (64,))]))
    return _rate(step, seconds)


def cache_rate(n: int = 600) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "faces"
        folder.mkdir()
        rng = np.random.default_rng(0)
        base = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
        for i in range(n):
            noisy = np.clip(base.astype(int) + rng.integers(-20, 20, base.shape), 0, 255)
            Image.fromarray(noisy.astype(np.uint8)).save(folder / f"{i}.jpg", quality=90)
        t0 = time.perf_counter()
        imdata.load_folder(folder, 64, cache_dir=Path(tmp) / "cache", progress=False)
        return n / (time.perf_counter() - t0)


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="32 px only, 5 s per timing")
    p.add_argument("--tiny", action="store_true",
                   help="a smoke run of every timing (CI: 32 px, 0.2 s each; figures meaningless)")
    a = p.parse_args()
    sizes, secs = ((32,), 0.2) if a.tiny else ((32,), 5.0) if a.quick else ((32, 64), 15.0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    for size in sizes:
        plain = plain_rate(size, secs)
        for label, kw in (("ours", {}), ("ours, channels-last", {"channels_last": "on"})):
            steps_s, img_s = train_rate("bce", size, secs, **kw)
            print(f"bce      {size} px, batch 64, homework model, {label:20s}: {img_s:7.1f} "
                  f"images/s ({steps_s:.2f} steps/s) = {steps_s / plain:.2f}x the plain loop "
                  f"({plain:.2f} steps/s)")
        steps_s, img_s = train_rate("wgan-gp", size, secs)
        print(f"wgan-gp  {size} px, batch 64, homework model: {img_s:7.1f} images/s "
              f"({steps_s:.2f} generator steps/s)")
    print(f"cache build, 96 px JPEG -> 64 px: {cache_rate(20 if a.tiny else 600):.0f} images/s")


if __name__ == "__main__":
    main()
