"""Rendering speed of toygan.animate: milliseconds per frame, GIF encoding, the default command.

    python benchmarks/render_speed.py

Trains one small record per objective shown (bce, wgan-gp), then times drawing frames from the
records (1 and 4 panels at 640 px per panel, as the defaults), encoding the GIF, and the whole
default command ``python -m toygan.animate --loss bce`` (training + rendering) end to end.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toygan.animate import ANIMATE_BASE
from toygan.render import Animation, Run, frame_indices, save_gif
from toygan.train import TrainConfig, train


def time_frames(runs, frames=40, size=640):
    anim = Animation(runs, size=size)
    anim.frame(0)  # first draw builds caches
    idx = frame_indices(anim.n_frames, frames)
    t0 = time.perf_counter()
    images = [anim.frame(i) for i in idx]
    ms = 1000 * (time.perf_counter() - t0) / len(idx)
    anim.close()
    return ms, images


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = []
        for loss in ("bce", "wgan-gp"):
            train(TrainConfig(**dict(ANIMATE_BASE, loss=loss, steps=300)), tmp / loss,
                  progress=False)
            runs.append(Run.load(tmp / loss))
        for label, rs in (("1 panel", runs[:1]), ("4 panels", runs * 2)):
            ms, images = time_frames(rs)
            t0 = time.perf_counter()
            save_gif(tmp / "x.gif", images, fps=8)
            enc = 1000 * (time.perf_counter() - t0) / len(images)
            size_mb = (tmp / "x.gif").stat().st_size / 1e6
            print(f"{label} at 640 px/panel: {ms:.0f} ms/frame drawing, {enc:.0f} ms/frame GIF "
                  f"encoding ({len(images)} frames, {size_mb:.2f} MB)")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "toygan.animate", "--loss", "bce", "--quiet",
                        "--out", str(tmp / "default.gif")], check=True, capture_output=True)
        wall = time.perf_counter() - t0
        size_mb = (tmp / "default.gif").stat().st_size / 1e6
        print(f"default command `python -m toygan.animate --loss bce`: {wall:.1f} s end to end, "
              f"GIF {size_mb:.2f} MB")


if __name__ == "__main__":
    main()
