"""Figure 1(a) of Gulrajani et al. 2017: value surfaces of critics trained to optimality.

    python -m toygan.surfaces --out figures/surfaces.png      # about 2 minutes on 2 cores

The generator is held fixed at real data plus unit-variance Gaussian noise (the WGAN-GP toy
code's ``FIXED_GENERATOR``), and a critic (3 ReLU hidden layers of ``--width``) is trained for
``--critic-steps`` updates on 8gaussians, 25gaussians and the swiss roll: with weight clipping
(c = 0.01, RMSProp 5e-5) in the top row and with the gradient penalty (Adam 1e-4, betas
(0.5, 0.9), lambda 10 as the paper states for all its experiments; the toy script used 0.1, which
leaves the critic's gradient norm far above 1) in the bottom row. Clipping pushes the critic towards
the simplest functions its bounded weights can express; the penalised critic follows the data.

Writes ``PATH.png`` and ``PATH.npz`` (the surfaces, grids, real samples and the mean input-gradient
norm of every critic, which the figure is drawn from).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from toygan import files, losses
from toygan.cli import Parser, add_output_flags, run_main
from toygan.config import add_config_flags, build, given, option
from toygan.data import make_dataset
from toygan.models import Critic

DATASETS = ("8gaussians", "25gaussians", "swissroll")
METHODS = ("clip", "gp")


@dataclass
class SurfacesConfig:
    critic_steps: int = option(1000, "critic updates per surface", ge=1, le=10**7)
    width: int = option(512, "critic hidden units", ge=1, le=65536)
    batch_size: int = option(256, "samples per batch", ge=2, le=2**20)
    clip: float = option(0.01, "clipping bound c", gt=0, le=1e6)
    gp_weight: float = option(10.0, "penalty weight (paper: 10)", ge=0, le=1e6)
    grid_res: int = option(96, "surface resolution", ge=2, le=2048)
    seed: int = option(0, "random seed", ge=0, le=2**63 - 1)


def train_critic(cfg: SurfacesConfig, data_name: str, method: str) -> tuple[Critic, object]:
    """A critic trained against the fixed generator real + N(0, I)."""
    data = make_dataset(data_name)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    critic = Critic(depth=3, width=cfg.width)
    obj = losses.OBJECTIVES["wgan" if method == "clip" else "wgan-gp"]
    opt = losses.make_optimizer(obj.optimizer, critic.parameters(), obj.lr, obj.betas)
    for _ in range(cfg.critic_steps):
        real = data.sample(cfg.batch_size, rng)
        fake = data.sample(cfg.batch_size, rng) + torch.randn(cfg.batch_size, 2, generator=rng)
        terms = obj.critic_loss(critic, real, fake, gp_weight=cfg.gp_weight)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        if method == "clip":
            losses.clip_weights(critic, cfg.clip)
    return critic, data


def compute(cfg: SurfacesConfig, progress: bool = True) -> dict[str, np.ndarray]:
    """Every surface on its data set's grid, plus real samples and mean gradient norms."""
    from tqdm import tqdm

    out: dict[str, np.ndarray] = {}
    jobs = [(d, m) for m in METHODS for d in DATASETS]
    for data_name, method in tqdm(jobs, desc="critics", disable=not progress):
        critic, data = train_critic(cfg, data_name, method)
        xmin, xmax, ymin, ymax = data.extent
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, cfg.grid_res),
                             np.linspace(ymin, ymax, cfg.grid_res))
        pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
        with torch.no_grad():
            values = critic(pts).reshape(cfg.grid_res, cfg.grid_res).numpy()
        key = f"{method}/{data_name}"
        out[f"{key}/values"] = values
        out[f"{key}/extent"] = np.array(data.extent)
        out[f"{key}/grad_norm"] = np.array(losses.grad_norms(critic, pts, False).mean().item())
        out[f"real/{data_name}"] = data.sample(512, torch.Generator().manual_seed(1)).numpy()
    return out


def plot(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Draw the 2 x 3 figure from the arrays only (what ``PATH.npz`` holds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 8.2))
    titles = {"clip": "weight clipping", "gp": "gradient penalty"}
    for r, method in enumerate(METHODS):
        for c, data_name in enumerate(DATASETS):
            ax = axes[r, c]
            key = f"{method}/{data_name}"
            values, extent = arrays[f"{key}/values"], arrays[f"{key}/extent"]
            gx, gy = np.meshgrid(np.linspace(extent[0], extent[1], values.shape[1]),
                                 np.linspace(extent[2], extent[3], values.shape[0]))
            cs = ax.contourf(gx, gy, values, levels=14, cmap="viridis")
            ax.contour(gx, gy, values, levels=14, colors="k", linewidths=0.3, alpha=0.5)
            real = arrays[f"real/{data_name}"]
            ax.scatter(real[:, 0], real[:, 1], s=3, c="#ff7f0e", alpha=0.7, lw=0)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            g = float(arrays[f"{key}/grad_norm"])
            ax.set_title(f"{titles[method]} — {data_name}\nmean ‖∇D‖ = {g:.3g}", fontsize=10)
            fig.colorbar(cs, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=7)
    fig.suptitle("Critic value surfaces, generator fixed at real data + N(0, I)", fontsize=12)
    fig.tight_layout()
    return files.save_figure(fig, path, dpi=100)


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.surfaces", description=__doc__.split("\n\n")[0])
    add_config_flags(p, SurfacesConfig)
    add_output_flags(p, "figures/surfaces.png", "output PNG path")
    return p


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    cfg = build(SurfacesConfig, given(ns, SurfacesConfig))
    out = files.output_file(ns.out, ".png", ns.overwrite, companions=[".npz"])
    arrays = compute(cfg, progress=not ns.quiet)
    files.save_npz(out.with_suffix(".npz"), **arrays)
    print(plot(arrays, out))
    print(out.with_suffix(".npz"))
    return 0


if __name__ == "__main__":
    run_main(main)
