"""imagegan speed on this machine: training images/s and the image-cache build rate.

    python benchmarks/image_speed.py

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


def train_rate(loss: str, size: int, seconds: float = 15.0) -> tuple[float, float]:
    t = Trainer(TrainConfig(loss=loss, data="digits", size=size, width=64, batch_size=64,
                            device="cpu"), progress=False)
    t.train_step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        t.train_step()
        n += 1
    steps_s = n / (time.perf_counter() - t0)
    return steps_s, steps_s * 64 * (t.cfg.n_critic + 1)


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
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    for size in (32, 64):
        for loss in ("bce", "wgan-gp"):
            steps_s, img_s = train_rate(loss, size)
            print(f"{loss:8s} {size} px, batch 64, homework model: {img_s:7.1f} images/s "
                  f"({steps_s:.2f} generator steps/s)")
    print(f"cache build, 96 px JPEG -> 64 px: {cache_rate():.0f} images/s")


if __name__ == "__main__":
    main()
