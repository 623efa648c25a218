"""Figure 1(b) of Gulrajani et al. 2017: per-layer critic gradient norms, clipping vs penalty.

    python -m toygan.gradnorm --out figures/gradnorm.png        # minutes on a CPU

Trains WGAN on the swiss roll with weight clipping c in {0.1, 0.01, 0.001} and WGAN-GP, with
12-layer ReLU MLP generator and critic (11 hidden layers of ``--width`` units, no batch norm), the
papers' optimisers (RMSProp 5e-5 for clipping; Adam 1e-4, betas (0.5, 0.9), lambda 10 for the
penalty; 5 critic steps per generator step). Then measures, for each critic, the norm of the
gradient of the critic loss E[D(fake)] - E[D(real)] with respect to the output of each successive
critic layer (first layer first), averaged over ``--batches`` batches, and writes

* ``PATH.png`` (``--formats`` adds svg/pdf): per-layer norms on a log scale, one curve per setting;
  beside it the histogram of critic weights under clipping (c = 0.01) and under the penalty,
* ``PATH.json``: ``{"clip=0.1": [...], "clip=0.01": [...], "clip=0.001": [...], "gp": [...]}``
  with the per-layer norms, plus ``"weights"`` (fractions at the clipping bound) and ``"config"``.

The measurement, :func:`layer_grad_norms`, works on any critic: it hooks every ``nn.Linear`` and
``nn.Conv2d`` (the image critics use it too).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from toygan import files, pictures
from toygan.cli import Parser, add_output_flags, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.data import make_dataset
from toygan.errors import UserError

LAYER_TYPES = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def layer_grad_norms(critic: nn.Module, loss_fn: Callable[[nn.Module], torch.Tensor],
                     layer_types=LAYER_TYPES) -> list[float]:
    """||d loss / d a_l|| for the output a_l of every layer of ``layer_types`` in ``critic``.

    Layers are listed in the order the forward pass runs them (first layer first); the norm is the
    Frobenius norm of the gradient over the whole batch. ``loss_fn(critic)`` must run the critic
    once per layer (e.g. on a concatenated real + fake batch) and return a scalar.
    """
    grads: list[torch.Tensor | None] = []
    handles = []

    def hook(module, inputs, output):
        slot = len(grads)
        grads.append(None)

        def save(g):
            grads[slot] = g.detach()

        output.register_hook(save)

    for m in critic.modules():
        if isinstance(m, layer_types):
            handles.append(m.register_forward_hook(hook))
    try:
        params = [p for p in critic.parameters() if p.requires_grad]
        loss = loss_fn(critic)
        # Gradients w.r.t. activations only: the hooks see them, parameters keep their .grad.
        torch.autograd.grad(loss, params or [loss], allow_unused=True, retain_graph=False)
    finally:
        for h in handles:
            h.remove()
    if any(g is None for g in grads):
        raise ValueError("some hooked layer did not receive a gradient from the loss")
    return [float(g.norm()) for g in grads]


def wasserstein_loss(both: torch.Tensor, sign: torch.Tensor):
    """The critic loss E[D(fake)] - E[D(real)] on one concatenated batch (sign -1 real, +1 fake),
    as a function of the critic (for :func:`layer_grad_norms`)."""
    n_real = int((sign < 0).sum())
    return lambda critic: (critic(both).reshape(-1) * sign).sum() / n_real


def fraction_at_bound(critic: nn.Module, clip: float, tol: float = 0.01) -> float:
    """Fraction of critic weights (not biases) within ``tol`` * clip of +-clip."""
    w = torch.cat([m.weight.detach().flatten() for m in critic.modules()
                   if isinstance(m, LAYER_TYPES)])
    return float(((w.abs() - clip).abs() <= tol * clip).float().mean())


def critic_weights(critic: nn.Module) -> np.ndarray:
    return torch.cat([m.weight.detach().flatten() for m in critic.modules()
                      if isinstance(m, LAYER_TYPES)]).cpu().numpy()


@dataclass
class GradNormConfig:
    """Options of the Figure 1(b) experiment."""

    steps: int = option(100, "generator updates per setting", ge=0, le=10**7)
    layers: int = option(12, "linear layers in G and D", ge=2, le=64)
    width: int = option(512, "hidden units", ge=1, le=65536)
    batch_size: int = option(256, "samples per batch", ge=1, le=2**20)
    batches: int = option(10, "batches averaged per measurement", ge=1, le=10_000)
    gp_weight: float = option(10.0, "penalty weight lambda", ge=0, le=1e6)
    seed: int = option(0, "random seed", ge=0, le=2**63 - 1)
    data: str = option("swissroll", "data spec")
    clips: tuple[float, float, float] = option((0.1, 0.01, 0.001), "clipping bounds", gt=0,
                                               le=1e6)


def _train_config(cfg: GradNormConfig, loss: str, clip: float | None):
    from toygan.train import TrainConfig

    return TrainConfig(
        loss=loss, data=cfg.data, steps=cfg.steps, batch_size=cfg.batch_size, z_dim=2,
        g_depth=cfg.layers - 1, g_width=cfg.width, d_depth=cfg.layers - 1, d_width=cfg.width,
        preset="none", clip=clip, gp_weight=cfg.gp_weight if loss == "wgan-gp" else None,
        seed=cfg.seed, eval_samples=max(cfg.batch_size, 2), snapshot_points=8, grid_res=4,
    )


def measure(cfg: GradNormConfig, progress: bool = True) -> dict:
    """Train every setting and measure it. Returns the JSON-ready results."""
    from tqdm.auto import tqdm

    from toygan.train import Trainer

    settings = [(f"clip={c:g}", "wgan", c) for c in cfg.clips] + [("gp", "wgan-gp", None)]
    results: dict = {"config": asdict(cfg), "weights": {}, "histograms": {}}
    bins = np.linspace(-0.05, 0.05, 101)
    results["histograms"]["bins"] = bins.tolist()
    for name, loss, clip in tqdm(settings, desc="settings", disable=not progress):
        t = Trainer(_train_config(cfg, loss, clip))
        for _ in range(cfg.steps):
            t.train_step()
        norms = []
        rng = torch.Generator().manual_seed(cfg.seed + 1)
        for _ in range(cfg.batches):
            real = t.data.sample(cfg.batch_size, rng).to(t.device)
            with torch.no_grad():
                fake = t.G(torch.randn(cfg.batch_size, 2, generator=rng).to(t.device))
            both = torch.cat([real, fake])
            sign = torch.cat([-torch.ones(len(real)), torch.ones(len(fake))]).to(t.device)
            norms.append(layer_grad_norms(t.D, wasserstein_loss(both, sign)))
        results[name] = np.mean(norms, axis=0).tolist()
        results["weights"][name] = fraction_at_bound(t.D, clip if clip else 0.01)
        results["histograms"][name] = np.histogram(critic_weights(t.D), bins=bins)[0].tolist()
    return results


def plot(results: dict, path: Path, formats=("png",)) -> list[Path]:
    """Draw the figure from the results dict only (what ``PATH.json`` holds)."""
    pictures.use_agg()
    import matplotlib.pyplot as plt

    fig, (ax, hx) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
    colors = {"clip=0.1": "#d62728", "clip=0.01": "#ff7f0e", "clip=0.001": "#9467bd",
              "gp": "#1f77b4"}
    for name in [k for k in results if k.startswith("clip=")] + ["gp"]:
        norms = results[name]
        label = f"weight clipping (c={name[5:]})" if name != "gp" else "gradient penalty"
        ax.plot(range(1, len(norms) + 1), norms, marker="o", ms=4, label=label,
                color=colors.get(name))
    ax.set_yscale("log")
    ax.set_xlabel("critic layer (1 = input side)")
    ax.set_ylabel("gradient norm of critic loss w.r.t. layer output (log scale)")
    ax.set_title("Gradient norms: clipping explodes or vanishes, the penalty does not", fontsize=10)
    n = len(results["gp"])
    ax.set_xticks(range(1, n + 1))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)

    bins = np.asarray(results["histograms"]["bins"])
    centers = 0.5 * (bins[1:] + bins[:-1])
    clip_name = "clip=0.01" if "clip=0.01" in results else next(k for k in results
                                                                if k.startswith("clip="))
    for name, label, color in ((clip_name, f"weight clipping ({clip_name[5:]})", "#ff7f0e"),
                               ("gp", "gradient penalty", "#1f77b4")):
        h = np.asarray(results["histograms"][name], dtype=float)
        hx.bar(centers, h / h.sum(), width=bins[1] - bins[0], alpha=0.6, label=label, color=color)
    hx.set_xlabel("critic weight value")
    hx.set_ylabel("fraction of weights")
    hx.set_title("Critic weights: clipping piles them at ±c", fontsize=10)
    hx.legend(fontsize=8)
    fig.tight_layout()
    written = []
    for fmt in formats:
        out = path.with_suffix("." + fmt)
        with files.atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110, format=fmt)
        written.append(out)
    plt.close(fig)  # several formats from one figure: closed once all are written
    return written


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.gradnorm", description=__doc__.split("\n\n")[0])
    add_config_flags(p, GradNormConfig)
    add_output_flags(p, "figures/gradnorm.png", "output PNG path")
    p.add_argument("--formats", default="png", help="comma-separated: png,svg,pdf")
    return p


def run(config: GradNormConfig | None = None, *, out="figures/gradnorm.png",
        overwrite: bool = False, quiet: bool = False, formats="png") -> list[Path]:
    """``python -m toygan.gradnorm``: measure and plot WGAN-GP's Figure 1(b); returns the files
    written (the PNG first, the JSON of its numbers last)."""
    cfg = config or GradNormConfig()
    check(cfg)
    formats = [f.strip().lower() for f in formats.split(",") if f.strip()]
    if not set(formats) <= {"png", "svg", "pdf"} or "png" not in formats:
        raise UserError("--formats takes png plus optionally svg and pdf")
    make_dataset(cfg.data)
    out = files.output_file(out, ".png", overwrite,
                            companions=[".json"] + [f".{f}" for f in formats if f != "png"])
    results = measure(cfg, progress=not quiet)
    files.write_text(out.with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    return [*plot(results, out, formats), out.with_suffix(".json")]


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    for path in run(build(GradNormConfig, given(ns, GradNormConfig)), out=ns.out,
                    overwrite=ns.overwrite, quiet=ns.quiet, formats=ns.formats):
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main)
