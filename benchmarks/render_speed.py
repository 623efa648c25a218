"""Rendering speed of toygan.animate: milliseconds per frame, GIF encoding, the default command.

    python benchmarks/render_speed.py

Trains one small record per objective shown (bce, wgan-gp), then times drawing frames from the
records (1 and 4 panels at 640 px per panel, as the defaults), encoding the GIF, and the whole
default command ``python -m toygan.animate --loss bce`` (training + rendering) end to end, and the
four-loss slide ``--loss bce,lsgan,wgan,wgan-gp``. ``--skip-commands``: frames and encoding only;
``--tiny``: every timing on tiny records, frames and commands (CI; figures meaningless).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toygan.animate import ANIMATE_BASE
from toygan.pictures import save_gif
from toygan.render import Animation, Run, frame_indices
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


def command_seconds(loss: str, out: Path, extra: tuple[str, ...] = ()) -> float:
    """Wall seconds of ``python -m toygan.animate --loss LOSS`` in a fresh process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toygan.animate", "--loss", loss, "--quiet",
                    "--out", str(out), *extra], check=True, capture_output=True)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--skip-commands", action="store_true", help="no end-to-end commands")
    p.add_argument("--tiny", action="store_true", help="tiny records, frames and commands (CI)")
    args = p.parse_args()
    steps, frames, size = (30, 4, 160) if args.tiny else (300, 40, 640)
    extra = ("--steps", "30", "--frames", "4", "--size", "160") if args.tiny else ()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = []
        for loss in ("bce", "wgan-gp"):
            train(TrainConfig(**dict(ANIMATE_BASE, loss=loss, steps=steps)), tmp / loss,
                  progress=False)
            runs.append(Run.load(tmp / loss))
        for label, rs in (("1 panel", runs[:1]), ("4 panels", runs * 2)):
            ms, images = time_frames(rs, frames, size)
            t0 = time.perf_counter()
            save_gif(tmp / "x.gif", images, fps=8)
            enc = 1000 * (time.perf_counter() - t0) / len(images)
            size_mb = (tmp / "x.gif").stat().st_size / 1e6
            print(f"{label} at {size} px/panel: {ms:.0f} ms/frame drawing, {enc:.0f} ms/frame GIF "
                  f"encoding ({len(images)} frames, {size_mb:.2f} MB)")
        if args.skip_commands:
            return
        for loss, aim in (("bce", 10), ("bce,lsgan,wgan,wgan-gp", 30))[:1 if args.tiny else 2]:
            out = tmp / f"{loss.replace(',', '-')}.gif"
            wall = command_seconds(loss, out, extra)
            print(f"`python -m toygan.animate --loss {loss}`: {wall:.1f} s end to end "
                  f"(issue 28's aim {aim} s: {wall / aim:.2f}x), GIF "
                  f"{out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
