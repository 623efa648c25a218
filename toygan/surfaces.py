"""Figure 1(a) of Gulrajani et al. 2017: value surfaces of critics trained to optimality.

    python -m toygan.surfaces --out figures/surfaces.png      # a few minutes on 2 cores

The generator is held fixed at real data plus unit-variance Gaussian noise (the WGAN-GP toy
code's ``FIXED_GENERATOR``), and a critic (3 ReLU hidden layers of ``--width``) is trained on
8gaussians, 25gaussians and the swiss roll: with weight clipping (c = 0.01, RMSProp 5e-5, WGAN's
settings) in the top row and with the gradient penalty (lambda 10 as the paper states for all its
experiments; Adam, betas (0.5, 0.9)) in the bottom row.

"Trained to optimality" is checked, not assumed: each critic trains until its Wasserstein estimate
E[D(real)] - E[D(fake)] on held-out samples has not improved by 0.5% for 2000 steps (at most
10,000 steps), and the figure shows that estimate next to an independent one, the exact W1
between 1500 real and 1500 fake samples (optimal assignment). The penalised critic learns at Adam
5e-4 (the paper's 1e-4 needs more steps per critic to get there: BENCHMARKS.md) with 256 units
(512 in the paper: same shape, half the time) so that the figure regenerates in minutes.
Clipping caps the critic far below W1 and flattens it (mean gradient norm far below 1); the
penalised critic reaches W1 and follows the data with gradient norm near 1.

Writes ``PATH.png`` and ``PATH.npz`` (surfaces, grids, real samples, every critic's estimate,
steps and estimate trace, the independent W1, and mean input-gradient norms on the grid and on
the samples — the numbers the figure is drawn from).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from toygan import files, losses, pictures
from toygan.cli import Parser, add_output_flags, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.data import make_dataset
from toygan.errors import UserError
from toygan.metrics import wasserstein1_exact
from toygan.models import Critic

DATASETS = ("8gaussians", "25gaussians", "swissroll")
METHODS = ("clip", "gp")


@dataclass
class SurfacesConfig:
    """How the critics are trained to optimality (the stopping rule in :func:`train_critic`)."""

    max_steps: int = option(10_000, "critic updates at most per surface", ge=1, le=10**7)
    eval_every: int = option(250, "steps between Wasserstein estimates on held-out samples",
                             ge=1, le=10**6)
    patience: int = option(2000, "stop when the best estimate has not improved by "
                           "--min-gain for this many steps", ge=1, le=10**7)
    min_gain: float = option(0.005, "relative improvement that counts", ge=0, le=1)
    width: int = option(256, "critic hidden units (3 ReLU layers)", ge=1, le=65536)
    batch_size: int = option(256, "samples per batch", ge=2, le=2**20)
    lr: float = option(5e-4, "Adam learning rate of the penalised critic (betas 0.5, 0.9)",
                       gt=0, le=1)
    clip_lr: float = option(5e-5, "RMSProp learning rate of the clipped critic (WGAN's)",
                            gt=0, le=1)
    clip: float = option(0.01, "clipping bound c", gt=0, le=1e6)
    gp_weight: float = option(10.0, "penalty weight (paper: 10)", ge=0, le=1e6)
    held_out: int = option(4096, "held-out real and fake samples for the estimates", ge=16,
                           le=10**6)
    w1_samples: int = option(1500, "samples per side of the exact (assignment) W1", ge=2,
                             le=5000)
    grid_res: int = option(96, "surface resolution", ge=2, le=2048)
    data: str = option(",".join(DATASETS), "comma-separated data sets (columns of the figure)")
    seed: int = option(0, "random seed", ge=0, le=2**63 - 1)

    def datasets(self) -> list[str]:
        names = [d.strip() for d in self.data.split(",") if d.strip()]
        for d in names:
            make_dataset(d)
        if not names:
            raise UserError("--data names no data set")
        return names


def _fixed_generator(data, n: int, rng: torch.Generator) -> torch.Tensor:
    """The WGAN-GP toy code's FIXED_GENERATOR: real data plus unit Gaussian noise."""
    return data.sample(n, rng) + torch.randn(n, 2, generator=rng)


def train_critic(cfg: SurfacesConfig, data, method: str, real_e, fake_e) -> tuple[Critic, dict]:
    """A critic trained against the fixed generator until its Wasserstein estimate
    E[D(real)] - E[D(fake)] on held-out samples stops improving: every ``eval_every`` steps the
    estimate is taken; training stops when the best one has not risen by a relative
    ``min_gain`` for ``patience`` steps (or at ``max_steps``), and the best critic is kept."""
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    critic = Critic(depth=3, width=cfg.width)
    obj = losses.OBJECTIVES["wgan" if method == "clip" else "wgan-gp"]
    opt = (torch.optim.RMSprop(critic.parameters(), lr=cfg.clip_lr) if method == "clip" else
           torch.optim.Adam(critic.parameters(), lr=cfg.lr, betas=(0.5, 0.9)))
    best, best_step, best_state, trace = -float("inf"), 0, None, []
    for step in range(1, cfg.max_steps + 1):
        real = data.sample(cfg.batch_size, rng)
        terms = obj.critic_loss(critic, real, _fixed_generator(data, cfg.batch_size, rng),
                                gp_weight=cfg.gp_weight)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        if method == "clip":
            losses.clip_weights(critic, cfg.clip)
        if step % cfg.eval_every and step != cfg.max_steps:
            continue
        with torch.no_grad():
            est = float(critic(real_e).mean() - critic(fake_e).mean())
        trace.append((step, est))
        if est > best + cfg.min_gain * abs(best):
            best_step = step
        if est > best:
            best, best_state = est, {k: v.clone() for k, v in critic.state_dict().items()}
        if step - best_step >= cfg.patience:
            break
    critic.load_state_dict(best_state)
    return critic, {"estimate": best, "steps": trace[-1][0], "trace": np.array(trace)}


def compute(cfg: SurfacesConfig, progress: bool = True) -> dict[str, np.ndarray]:
    """Every surface on its data set's grid, with each critic's Wasserstein estimate, an
    independent W1 (exact assignment), the steps it took, and its mean gradient norms."""
    from tqdm.auto import tqdm

    out: dict[str, np.ndarray] = {}
    jobs = [(d, m) for m in METHODS for d in cfg.datasets()]
    for data_name, method in tqdm(jobs, desc="critics", disable=not progress):
        data = make_dataset(data_name)
        ev = torch.Generator().manual_seed(cfg.seed + 99)
        real_e, fake_e = data.sample(cfg.held_out, ev), _fixed_generator(data, cfg.held_out, ev)
        critic, fit = train_critic(cfg, data, method, real_e, fake_e)
        xmin, xmax, ymin, ymax = data.extent
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, cfg.grid_res),
                             np.linspace(ymin, ymax, cfg.grid_res))
        pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
        with torch.no_grad():
            values = critic(pts).reshape(cfg.grid_res, cfg.grid_res).numpy()
        n = min(cfg.w1_samples, cfg.held_out)
        key = f"{method}/{data_name}"
        out[f"{key}/values"] = values
        out[f"{key}/extent"] = np.array(data.extent)
        out[f"{key}/grad_norm"] = np.array(losses.grad_norms(critic, pts, False).mean().item())
        both = torch.cat([real_e[:n], fake_e[:n]])
        out[f"{key}/grad_norm_samples"] = np.array(
            losses.grad_norms(critic, both, False).mean().item())
        out[f"{key}/estimate"] = np.array(fit["estimate"])
        out[f"{key}/steps"] = np.array(fit["steps"])
        out[f"{key}/trace"] = fit["trace"]
        out[f"w1/{data_name}"] = np.array(wasserstein1_exact(real_e[:n], fake_e[:n]))
        out[f"real/{data_name}"] = data.sample(512, torch.Generator().manual_seed(1)).numpy()
    return out


def plot(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Draw the 2 x 3 figure from the arrays only (what ``PATH.npz`` holds)."""
    pictures.use_agg()
    import matplotlib.pyplot as plt

    datasets = [k.split("/", 1)[1] for k in arrays if k.startswith("w1/")]
    fig, axes = plt.subplots(2, len(datasets), figsize=(4 * len(datasets), 8.8), squeeze=False)
    titles = {"clip": "weight clipping", "gp": "gradient penalty"}
    for r, method in enumerate(METHODS):
        for c, data_name in enumerate(datasets):
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
            est, w1 = float(arrays[f"{key}/estimate"]), float(arrays[f"w1/{data_name}"])
            ax.set_title(f"{titles[method]} — {data_name}\nE[D(real)]−E[D(fake)] = {est:.3g} "
                         f"(W1 = {w1:.3g})\nmean ‖∇D‖ = {g:.3g}, "
                         f"{int(arrays[f'{key}/steps'])} steps", fontsize=9)
            fig.colorbar(cs, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=7)
    fig.suptitle("Critic value surfaces, generator fixed at real data + N(0, I)", fontsize=12)
    fig.tight_layout()
    return pictures.save_figure(fig, path, dpi=100)


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.surfaces", description=__doc__.split("\n\n")[0])
    add_config_flags(p, SurfacesConfig)
    add_output_flags(p, "figures/surfaces.png", "output PNG path")
    return p


def run(config: SurfacesConfig | None = None, *, out="figures/surfaces.png",
        overwrite: bool = False, quiet: bool = False) -> Path:
    """``python -m toygan.surfaces``: WGAN-GP's Figure 1(a), the critics' value surfaces; returns
    the PNG (its arrays in the .npz beside it)."""
    cfg = config or SurfacesConfig()
    check(cfg)
    cfg.datasets()
    out = files.output_file(out, ".png", overwrite, companions=[".npz"])
    arrays = compute(cfg, progress=not quiet)
    files.save_npz(out.with_suffix(".npz"), **arrays)
    return plot(arrays, out)


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    out = run(build(SurfacesConfig, given(ns, SurfacesConfig)), out=ns.out,
              overwrite=ns.overwrite, quiet=ns.quiet)
    print(out)
    print(out.with_suffix(".npz"))
    return 0


if __name__ == "__main__":
    run_main(main)
