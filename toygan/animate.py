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
collapses while WGAN-GP keeps all eight (``figures/ring-comparison.gif``; tested): every
objective shows its characteristic behaviour under the same settings, the same seed and the same
initial weights. For other settings train with ``python -m toygan.train`` and render with
``--run``. Training writes records (in a temporary folder, or ``--keep-run DIR``); rendering
reads only those records.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from toygan import files, pictures
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.data import make_dataset
from toygan.errors import UserError
from toygan.presets import PRESETS
from toygan.train import TrainConfig, train
from toygan.variants import parse_variant, parse_variants

# The slide configuration: what the animation trains when only --loss is given.
ANIMATE_BASE = dict(PRESETS["slides"], preset="slides")
# Training options the animation exposes (the rest: train with toygan.train, render with --run).
TRAIN_FLAGS = ("data", "steps", "seed", "unroll", "unroll_mode", "pack", "mbstd", "spectral_norm",
               "r1_weight")


@dataclass
class AnimateConfig:
    """How the GIF is drawn."""

    frames: int = option(40, "frames in the GIF", ge=1, le=10_000)
    fps: int = option(8, "frames per second", ge=1, le=100)
    size: int = option(640, "pixels per panel width", ge=64, le=4096)
    manifold: bool = option(False, "draw the generator manifold")
    arrows: int = option(96, "generator arrows per frame (0: none)", ge=0, le=10_000)
    mp4: bool = option(False, "also write an MP4 (needs imageio-ffmpeg)")
    last_png: bool = option(False, "also write the final frame as PNG")
    workers: int | None = option(None, "processes that train the runs side by side and render "
                                 "the frames (default: one per core; 1: all in this process)",
                                 ge=1, le=256)


def build_parser() -> Parser:
    from toygan.losses import OBJECTIVES

    p = Parser(prog="python -m toygan.animate", description=__doc__.split("\n\n")[0])
    p.add_argument("--loss", default="bce",
                   help="a variant LOSS[+mitigation[=value]], or several separated by commas "
                        "(side by side, same data, seed and initial weights); LOSS one of "
                        f"{', '.join(OBJECTIVES)}")
    p.add_argument("--run", default=None,
                   help="render existing run folder(s) (comma-separated) instead of training")
    add_config_flags(p, TrainConfig, only=TRAIN_FLAGS,
                     help={"data": "data spec (default: ring, 8 modes)",
                           "steps": "generator updates (default: 1200)"})
    add_config_flags(p, AnimateConfig)
    p.add_argument("--out", default=None, help="output GIF (default runs/animate/NAME.gif)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--keep-run", default=None, help="keep the training records in this folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _pool(workers: int):
    """A process pool; forked workers start at once (the parent has run no parallel torch
    work yet), elsewhere they are spawned."""
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


def _train_one(name: str, cfg: TrainConfig, out: Path, threads: int) -> str:
    """One run in a worker process, with its share of the cores."""
    import torch

    torch.set_num_threads(threads)
    train(cfg, out, progress=False, overwrite=True)
    return name


def _relative_cost(cfg: TrainConfig) -> float:
    """A run's training cost in critic-step units, to start the longest runs first: each
    generator step costs its critic steps (twice for a penalty's double backward) and one
    generator step, times the unrolled look-ahead."""
    c = cfg.resolved()
    return c.steps * (1 + c.n_critic * (2 if c.penalties() else 1)) * (1 + c.unroll)


def _train_runs(configs: dict[str, TrainConfig], workdir: Path, progress: bool,
                workers: int | None = None):
    """Train each config into ``workdir``; several runs train in parallel processes (at most
    one per core, the cores split between them so that torch's threads do not oversubscribe),
    one run in this process; longest runs start first."""
    from tqdm.auto import tqdm

    from toygan.render import Run

    outs = {name: workdir / name.replace("=", "") for name in configs}
    w = min(len(configs), cores() if workers is None else workers)
    if w <= 1:
        for name, cfg in configs.items():
            train(cfg, outs[name], progress=progress, overwrite=True)
    else:
        threads = max(1, cores() // w)
        with _pool(w) as pool, tqdm(total=len(configs), disable=not progress, file=sys.stderr,
                                    desc=f"train {len(configs)} runs in {w} processes",
                                    unit="run") as bar:
            # Longest first, so that the last run to finish starts as early as it can.
            order = sorted(configs, key=lambda n: -_relative_cost(configs[n]))
            futures = [pool.submit(_train_one, name, configs[name], outs[name], threads)
                       for name in order]
            for f in futures:
                f.result()  # a run's error (a diverged run) is raised here, as in series
                bar.update()
    return [Run.load(outs[name]) for name in configs]


def _render_chunk(runs, indices: list[int], size: int, manifold: bool, arrows: int,
                  progress: bool = False) -> list:
    """Frames ``indices`` of ``runs`` side by side, drawn by one figure (built once)."""
    from tqdm.auto import tqdm

    from toygan.render import Animation

    anim = Animation(runs, size=size, manifold=manifold, arrows=arrows)
    try:
        return [anim.frame(i) for i in tqdm(indices, desc="render", disable=not progress,
                                            file=sys.stderr)]
    finally:
        anim.close()


def render_frames(runs, idx: list[int], a: AnimateConfig, progress: bool = True) -> list:
    """The frames ``idx``: in this process, or split in contiguous chunks over worker
    processes when there are enough of them to pay (8 or more per process)."""
    from tqdm.auto import tqdm

    w = min(cores() if a.workers is None else a.workers, len(idx) // 8)
    if w <= 1:
        return _render_chunk(runs, idx, a.size, a.manifold, a.arrows, progress)
    chunks = [c.tolist() for c in np.array_split(np.array(idx), w)]
    with _pool(w) as pool, tqdm(total=len(idx), desc=f"render in {w} processes", unit="frame",
                                disable=not progress, file=sys.stderr) as bar:
        futures = [pool.submit(_render_chunk, runs, c, a.size, a.manifold, a.arrows)
                   for c in chunks]
        images = []
        for f, c in zip(futures, chunks, strict=True):
            images += f.result()
            bar.update(len(c))
    return images


def write_animation(runs, out: Path, a: AnimateConfig, progress: bool = True) -> dict:
    """Render ``runs`` side by side into ``out`` (GIF); returns timings and the paths written."""
    from toygan.render import frame_indices

    n_frames = {len(r.snap["steps"]) for r in runs}
    if len(n_frames) != 1:
        raise UserError("runs side by side need the same number of snapshots")
    idx = frame_indices(n_frames.pop(), a.frames)
    t0 = time.perf_counter()
    images = render_frames(runs, idx, a, progress)
    render_s = time.perf_counter() - t0
    written = [out]
    pictures.save_gif(out, images, a.fps)
    if a.last_png:
        png = out.with_suffix(".png")
        with files.atomic_path(png) as tmp:
            imageio.imwrite(tmp, images[-1], format="png")
        written.append(png)
    if a.mp4:
        if importlib.util.find_spec("imageio_ffmpeg") is None:
            print("note: --mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); "
                  "wrote the GIF only", file=sys.stderr)
        else:
            mp4_path = out.with_suffix(".mp4")
            even = [im[: im.shape[0] // 2 * 2, : im.shape[1] // 2 * 2] for im in images]
            imageio.mimsave(mp4_path, even, fps=a.fps, macro_block_size=1)
            written.append(mp4_path)
    return {"frames": len(images), "render_s": render_s, "written": written,
            "ms_per_frame": 1000 * render_s / max(len(images), 1)}


def _configs(loss: str, typed: dict, frames: int) -> tuple[dict[str, TrainConfig], str]:
    """One training config per variant of ``loss``, checked; and the output's base name."""
    variants = parse_variants(loss)
    configs = {}
    for v in variants:
        cfg = build(TrainConfig, {**ANIMATE_BASE, "snapshots": frames, **typed,
                                  **parse_variant(v)})
        configs[v] = cfg
        cfg.resolved()
    data = typed.get("data", ANIMATE_BASE["data"])
    make_dataset(data)
    label = f"{'-'.join(v.replace('=', '') for v in variants)}-{data.replace(':', '_')}"
    label += f"-seed{typed.get('seed', 0)}"
    mods = [f"unroll{typed['unroll']}" if typed.get("unroll") else "",
            f"pack{typed['pack']}" if typed.get("pack", 1) > 1 else "",
            "mbstd" if typed.get("mbstd") else "", "sn" if typed.get("spectral_norm") else "",
            f"r1-{typed['r1_weight']:g}" if typed.get("r1_weight") else ""]
    return configs, label + "".join(f"-{t}" for t in mods if t)


def run(loss: str = "bce", typed: dict | None = None, animate: AnimateConfig | None = None, *,
        runs=None, out=None, overwrite: bool = False, keep_run=None,
        quiet: bool = False) -> tuple[dict, list]:
    """``python -m toygan.animate``: train each variant of ``loss`` (comma-separated, side by side)
    on the slide configuration with the training fields ``typed`` on top, or render the existing
    run folders ``runs``, and write the GIF; returns ``write_animation``'s result and the runs
    (``toygan.render.Run``) it drew."""
    a = animate or AnimateConfig()
    check(a)
    if runs:
        from toygan.render import Run

        try:
            drawn = [Run.load(p) for p in runs]
        except ValueError as e:
            raise UserError(str(e)) from None
        label = "-".join(Path(p).name for p in runs)
    else:
        configs, label = _configs(loss, typed or {}, a.frames)
    out = files.output_file(out or f"runs/animate/{label}.gif", ".gif", overwrite,
                            companions=[s for s, on in ((".png", a.last_png), (".mp4", a.mp4))
                                        if on])
    if not runs:
        progress = not quiet
        if keep_run:
            workdir = files.prepare_dir(keep_run, overwrite,
                                        hint="pass --overwrite or another --keep-run")
            drawn = _train_runs(configs, workdir, progress, a.workers)
        else:
            with tempfile.TemporaryDirectory(prefix="toygan-") as tmp:
                drawn = _train_runs(configs, Path(tmp), progress, a.workers)
    return write_animation(drawn, out, a, progress=not quiet), drawn


def execute(ns) -> tuple[dict, list]:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(ns.loss, given(ns, TrainConfig), build(AnimateConfig, given(ns, AnimateConfig)),
               runs=ns.run.split(",") if ns.run else None, out=ns.out, overwrite=ns.overwrite,
               keep_run=ns.keep_run, quiet=ns.quiet)


def main(argv=None) -> int:
    result, _ = execute(build_parser().parse_args(argv))
    for path in result["written"]:
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main)
