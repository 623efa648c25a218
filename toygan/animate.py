"""Animated critic landscapes for slides.

    python -m toygan.animate --loss bce                    # trains, writes a GIF, prints its path
    python -m toygan.animate --loss bce,wgan-gp,lsgan      # side by side, same data/seed/weights
    python -m toygan.animate --run runs/ring-wgan-gp       # render an existing run

Each frame shows the critic landscape (D(x) for sigmoid critics, the raw critic value for
WGAN-type critics, the energy for EBGAN) with contour lines and a labelled colour bar, real and
generated samples, arrows at generated samples along -grad_x of the generator loss (one length
scale per run, so vanishing gradients show as short arrows), optionally the generator manifold,
and below it the loss curves and modes covered with a marker at the current step.

With no other flag the run uses the 8-mode ring and the *slide configuration* ``ANIMATE_BASE``:
toygan.train's defaults with 3x128 MLPs, 1200 steps, and a critic that learns 5x slower than the
generator (lr 2e-4 vs 1e-3, the imbalance the Unrolled-GAN paper's 2D experiment uses). There BCE
collapses (measured: 0/8 modes at the end, seed 0) while WGAN-GP keeps all eight (8/8): every
objective shows its characteristic behaviour under the same settings, the same seed and the same
initial weights. For other settings train with ``python -m toygan.train`` and render with
``--run``. Training writes records (in a temporary folder, or ``--keep-run DIR``); rendering
reads only those records.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import imageio.v2 as imageio

from toygan import losses
from toygan.cli import Parser, UserError, run_main
from toygan.data import DataError, make_dataset
from toygan.train import TrainConfig, train

# The slide configuration: what the animation trains when only --loss is given.
ANIMATE_BASE = dict(data="ring", steps=1200, g_width=128, d_width=128, lr=None, lr_d=2e-4,
                    lr_g=1e-3, eval_every=50, log_every=10)


def _positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {v}")
    return v


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.animate", description=__doc__.split("\n\n")[0])
    p.add_argument("--loss", default="bce",
                   help="objective, or several separated by commas "
                        f"({', '.join(losses.OBJECTIVES)})")
    p.add_argument("--run", default=None,
                   help="render existing run folder(s) (comma-separated) instead of training")
    p.add_argument("--data", default=None, help="data spec (default: ring, 8 modes)")
    p.add_argument("--steps", type=_positive, default=None, help="generator updates (default 1200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--unroll", type=int, default=0, help="mitigation: unrolled critic steps")
    p.add_argument("--pack", type=_positive, default=1, help="mitigation: PacGAN packing m")
    p.add_argument("--mbstd", action="store_true", help="mitigation: minibatch-std feature")
    p.add_argument("--spectral-norm", action="store_true", help="mitigation: spectral norm")
    p.add_argument("--r1-weight", type=float, default=0.0, help="regulariser: R1 weight gamma")
    p.add_argument("--frames", type=_positive, default=40, help="frames in the GIF (default 40)")
    p.add_argument("--fps", type=_positive, default=8, help="frames per second (default 8)")
    p.add_argument("--size", type=_positive, default=640,
                   help="pixels per panel width (default 640)")
    p.add_argument("--manifold", action="store_true", help="draw the generator manifold")
    p.add_argument("--arrows", type=int, default=96, help="generator arrows per frame (0: none)")
    p.add_argument("--out", default=None, help="output GIF (default runs/animate/NAME.gif)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--mp4", action="store_true", help="also write an MP4 (needs imageio-ffmpeg)")
    p.add_argument("--last-png", action="store_true", help="also write the final frame as PNG")
    p.add_argument("--keep-run", default=None, help="keep the training records in this folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _check_writable(path: Path, overwrite: bool):
    if path.exists() and not overwrite:
        raise UserError(f"{path} exists; pass --overwrite to replace it")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {parent}: {e.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write to {parent}: permission denied")


def _train_runs(args, names, workdir: Path):
    from toygan.render import Run

    runs = []
    for name in names:
        base = dict(ANIMATE_BASE, loss=name, seed=args.seed, snapshots=args.frames,
                    unroll=args.unroll, pack=args.pack, mbstd=args.mbstd,
                    spectral_norm=args.spectral_norm, r1_weight=args.r1_weight)
        if args.data:
            base["data"] = args.data
        if args.steps:
            base["steps"] = args.steps
        out = workdir / name
        train(TrainConfig(**base), out, progress=not args.quiet, overwrite=True)
        runs.append(Run.load(out))
    return runs


def write_animation(runs, out: Path, frames: int, fps: int, size: int, manifold: bool,
                    arrows: int, mp4: bool, last_png: bool, progress: bool = True) -> dict:
    """Render ``runs`` side by side into ``out`` (GIF); returns timings and the paths written."""
    from tqdm import tqdm

    from toygan.render import Animation, frame_indices, save_gif

    anim = Animation(runs, size=size, manifold=manifold, arrows=arrows)
    idx = frame_indices(anim.n_frames, frames)
    t0 = time.perf_counter()
    images = [anim.frame(i) for i in tqdm(idx, desc="render", disable=not progress,
                                          file=sys.stderr)]
    render_s = time.perf_counter() - t0
    anim.close()
    written = [out]
    save_gif(out, images, fps)
    if last_png:
        png = out.with_suffix(".png")
        imageio.imwrite(png, images[-1])
        written.append(png)
    if mp4:
        if importlib.util.find_spec("imageio_ffmpeg") is None:
            print("note: --mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); "
                  "wrote the GIF only", file=sys.stderr)
        else:
            mp4_path = out.with_suffix(".mp4")
            even = [im[: im.shape[0] // 2 * 2, : im.shape[1] // 2 * 2] for im in images]
            imageio.mimsave(mp4_path, even, fps=fps, macro_block_size=1)
            written.append(mp4_path)
    return {"frames": len(images), "render_s": render_s, "written": written,
            "ms_per_frame": 1000 * render_s / max(len(images), 1)}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.arrows < 0:
        raise UserError("--arrows must be >= 0")
    if args.run:
        from toygan.render import Run

        try:
            runs = [Run.load(p) for p in args.run.split(",")]
        except ValueError as e:
            raise UserError(str(e)) from None
        label = "-".join(Path(p).name for p in args.run.split(","))
    else:
        names = [n.strip() for n in args.loss.split(",") if n.strip()]
        for n in names:
            if n not in losses.OBJECTIVES:
                raise UserError(f"unknown loss {n!r}; choose from {', '.join(losses.OBJECTIVES)}")
        if args.data:
            try:
                make_dataset(args.data)
            except DataError as e:
                raise UserError(str(e)) from None
        label = f"{'-'.join(names)}-{(args.data or 'ring').replace(':', '_')}-seed{args.seed}"
        tags = [f"unroll{args.unroll}" if args.unroll else "", f"pack{args.pack}" if args.pack > 1
                else "", "mbstd" if args.mbstd else "", "sn" if args.spectral_norm else "",
                f"r1-{args.r1_weight:g}" if args.r1_weight else ""]
        label += "".join(f"-{t}" for t in tags if t)
    out = Path(args.out or f"runs/animate/{label}.gif")
    if out.suffix.lower() != ".gif":
        raise UserError(f"--out must end in .gif, got {out.name}")
    _check_writable(out, args.overwrite)
    for extra, on in ((".png", args.last_png), (".mp4", args.mp4)):
        if on:
            _check_writable(out.with_suffix(extra), args.overwrite)

    if not args.run:
        if args.keep_run:
            workdir = Path(args.keep_run)
            if workdir.exists() and any(workdir.iterdir()) and not args.overwrite:
                raise UserError(f"{workdir} is not empty; pass --overwrite or another --keep-run")
            runs = _train_runs(args, names, workdir)
        else:
            with tempfile.TemporaryDirectory(prefix="toygan-") as tmp:
                runs = _train_runs(args, names, Path(tmp))
    result = write_animation(runs, out, args.frames, args.fps, args.size, args.manifold,
                             args.arrows, args.mp4, args.last_png, progress=not args.quiet)
    for path in result["written"]:
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main)
