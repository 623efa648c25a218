"""Regenerate every file in figures/ from scratch (deterministic seeds).

    python figures/make.py            # about 9 minutes on 2 CPU cores

Writes, for the 8-mode ring under toygan.animate's slide configuration (seed 0):
``ring-OBJECTIVE.gif`` for every registered objective and ``ring-comparison.gif`` (bce, lsgan,
wgan, wgan-gp side by side; the same records as the single GIFs, so they agree frame for frame);
and the WGAN-GP paper's Figure 1: ``gradnorm.png``/``.json`` (toygan.gradnorm defaults) and
``surfaces.png``/``.npz`` (toygan.surfaces defaults).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from toygan import gradnorm, surfaces
from toygan.animate import ANIMATE_BASE, AnimateConfig, write_animation
from toygan.losses import OBJECTIVES
from toygan.render import Run
from toygan.train import TrainConfig, train

HERE = Path(__file__).resolve().parent
COMPARISON = ["bce", "lsgan", "wgan", "wgan-gp"]
FRAMES = 30
LOOK = AnimateConfig(frames=FRAMES, fps=6, size=480, arrows=64)


def ring_gifs(out: Path, seed: int = 0) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory(prefix="toygan-figures-") as tmp:
        runs = {}
        for loss in OBJECTIVES:
            cfg = TrainConfig(**dict(ANIMATE_BASE, loss=loss, seed=seed, snapshots=FRAMES))
            train(cfg, Path(tmp) / loss, progress=False)
            runs[loss] = Run.load(Path(tmp) / loss)
            path = out / f"ring-{loss}.gif"
            write_animation([runs[loss]], path, LOOK, progress=False)
            written.append(path)
            print(path, flush=True)
        path = out / "ring-comparison.gif"
        write_animation([runs[k] for k in COMPARISON], path, LOOK, progress=False)
        written.append(path)
        print(path, flush=True)
    return written


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE), help="folder to write (default: figures/)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ring_gifs(out)
    gradnorm.main(["--out", str(out / "gradnorm.png"), "--quiet", "--overwrite"])
    surfaces.main(["--out", str(out / "surfaces.png"), "--quiet", "--overwrite"])


if __name__ == "__main__":
    main()
