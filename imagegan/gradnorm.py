"""The homework's report plot: per-layer gradient norms of an image critic, clipping vs penalty.

    python -m imagegan.gradnorm --out gradnorm.png              # digits, 32 px
    python -m imagegan.gradnorm --data ~/faces --size 64 --width 64 --steps 1000 --out faces.png

Trains the DCGAN critic (4 conv layers at 32 px, 5 at 64 px) and generator with WGAN weight
clipping (``--clip``, RMSProp 5e-5) and with WGAN-GP (lambda 10, Adam 1e-4, betas (0.5, 0.9),
layer-norm critic), then measures with ``toygan.gradnorm.layer_grad_norms`` the norm of the
gradient of the critic loss E[D(fake)] - E[D(real)] with respect to each conv layer's output,
averaged over ``--batches`` batches, critic in eval mode. Writes ``PATH.png`` (x: layer, input side
first; y: log scale; both curves) and ``PATH.json`` (``{"clip": [...], "gp": [...]}``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imagegan.data import SIZES
from imagegan.train import TrainConfig, Trainer
from toygan import files, pictures
from toygan.cli import Parser, add_output_flags, run_main
from toygan.config import BIG, add_config_flags, build, check, given, option
from toygan.gradnorm import layer_grad_norms, wasserstein_loss


@dataclass
class ImageGradNormConfig:
    """Options of the per-layer gradient-norm measurement on images."""

    data: str = option("digits", "digits, stacked-digits, or an image folder")
    size: int = option(32, "image size", choices=SIZES)
    width: int = option(32, "channel multiplier", ge=1, le=4096)
    steps: int = option(200, "generator steps per setting", ge=1, le=BIG)
    clip: float = option(0.01, "weight-clipping bound c", gt=0, le=1e6)
    batches: int = option(5, "batches averaged per measurement", ge=1, le=10_000)
    batch_size: int = option(64, "images per batch", ge=2, le=65536)
    seed: int = option(0, "random seed", ge=0, le=2**63 - 1)
    cache_dir: str | None = option(None, "image cache folder")


def measure(cfg: ImageGradNormConfig, progress: bool = True) -> dict:
    results = {"config": dataclasses.asdict(cfg)}
    for name, loss in (("clip", "wgan"), ("gp", "wgan-gp")):
        tc = TrainConfig(loss=loss, data=cfg.data, size=cfg.size, width=cfg.width,
                         steps=cfg.steps, batch_size=cfg.batch_size, seed=cfg.seed,
                         clip=cfg.clip if loss == "wgan" else None, device="cpu",
                         eval_metrics=False, cache_dir=cfg.cache_dir)
        t = Trainer(tc, progress=progress)
        for _ in range(cfg.steps):
            t.train_step()
        t.D.eval()
        norms = []
        for _ in range(cfg.batches):
            real = t._real()
            with torch.no_grad():
                fake = t.G(t._z(len(real)))
            both = torch.cat([real, fake])
            sign = torch.cat([-torch.ones(len(real)), torch.ones(len(fake))])
            norms.append(layer_grad_norms(t.D, wasserstein_loss(both, sign)))
        results[name] = np.mean(norms, axis=0).tolist()
    return results


def plot(results: dict, path: Path) -> Path:
    pictures.use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    c = results["config"]
    for name, label, color in (("clip", f"weight clipping (c={c['clip']:g})", "#ff7f0e"),
                               ("gp", "gradient penalty (λ=10)", "#1f77b4")):
        norms = results[name]
        ax.plot(range(1, len(norms) + 1), norms, marker="o", label=label, color=color)
    ax.set_yscale("log")
    ax.set_xticks(range(1, len(results["gp"]) + 1))
    ax.set_xlabel("discriminator layer (1 = input side)")
    ax.set_ylabel("gradient norm (log scale)")
    ax.set_title(f"Critic gradient norm per layer — {Path(c['data']).name}, {c['size']} px, "
                 f"{c['steps']} steps", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return pictures.save_figure(fig, path, dpi=110)


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.gradnorm", description=__doc__.split("\n\n")[0])
    add_config_flags(p, ImageGradNormConfig)
    add_output_flags(p, "gradnorm.png", "output PNG (JSON beside it)")
    return p


def run(config: ImageGradNormConfig | None = None, *, out="gradnorm.png",
        overwrite: bool = False, quiet: bool = False) -> Path:
    """``python -m imagegan.gradnorm``: measure the critic's per-layer gradient norms under
    weight clipping and under the gradient penalty and plot them; returns the PNG (its numbers
    in the JSON beside it)."""
    cfg = config or ImageGradNormConfig()
    check(cfg)
    out = files.output_file(out, ".png", overwrite, companions=[".json"])
    results = measure(cfg, progress=not quiet)
    files.write_text(out.with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    return plot(results, out)


def execute(ns) -> Path:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(build(ImageGradNormConfig, given(ns, ImageGradNormConfig)), out=ns.out,
               overwrite=ns.overwrite, quiet=ns.quiet)


def main(argv=None) -> int:
    out = execute(build_parser().parse_args(argv))
    print(out)
    print(out.with_suffix(".json"))
    return 0


if __name__ == "__main__":
    run_main(main)
