"""The concepts a GAN course quizzes on, computed and drawn: ``python -m toygan.concepts``.

    python -m toygan.concepts --out figures/concepts        # all five, a few minutes on 2 cores
    python -m toygan.concepts --only js-vs-emd,lipschitz --out /tmp/c

1. ``js-vs-emd`` — the WGAN paper's Example 1: real samples on the line x = 0, generated ones on
   x = theta. The JS divergence is log 2 for every theta != 0 (so its gradient is 0), the
   Wasserstein-1 (earth mover's) distance is |theta| (gradient sign(theta)).
2. ``vanishing`` — a generator shifted further and further from the data (1D Gaussians, distance
   d); at each d a critic is trained to (near) optimality, and the magnitude of the generator's
   gradient is measured for the saturating minimax loss, the non-saturating BCE loss, LSGAN and a
   Lipschitz (gradient-penalised) WGAN critic. The saturating loss's gradient collapses by orders
   of magnitude with d; the Wasserstein one stays near 1.
3. ``interpolates`` — real and fake samples, the segments between paired samples, the interpolates
   on them, and the critic's gradient norm there, with and without the penalty: only where the
   penalty looks (the interpolates) is the norm pulled to 1.
4. ``lipschitz`` — ||grad_x D|| over the plane for a weight-clipped, a gradient-penalised and a
   spectrally normalised critic, with the ||grad D|| = 1 contour.
5. ``chase`` — a GIF: the BCE generator's samples hopping between the ring's modes while the
   critic's landscape follows them, each sample coloured by the mode it is nearest.

Each figure is a PNG (the chase a GIF) in ``--out``; ``concepts.json`` holds the numbers behind
every figure (``tests/test_concepts.py`` checks them).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from toygan import files, losses, pictures
from toygan.cli import Parser, add_output_flags, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import UserError
from toygan.metrics import js_divergence, wasserstein1_exact
from toygan.mitigations import spectral_norm_all

FIGURES = ("js-vs-emd", "vanishing", "interpolates", "lipschitz", "chase")


@dataclass
class ConceptsConfig:
    only: str = option(",".join(FIGURES), "comma-separated figures to make")
    critic_steps: int = option(600, "critic updates per trained critic", ge=1, le=10**6)
    chase_steps: int | None = option(None, "steps of the chase's BCE run (default: the slide "
                                     "configuration's 1,200)", ge=1, le=10**6)
    seed: int = option(0, "random seed", ge=0, le=2**32 - 1)

    def figures(self) -> list[str]:
        names = [n.strip() for n in self.only.split(",") if n.strip()]
        bad = [n for n in names if n not in FIGURES]
        if bad or not names:
            raise UserError(f"unknown figure {bad[0] if bad else ''!r}; choose from "
                            f"{', '.join(FIGURES)}")
        return names


# ----------------------------------------------------------------------------- 1: JS vs EMD


def js_vs_emd(thetas=None, n: int = 400, seed: int = 0) -> dict:
    """Example 1 of the WGAN paper, computed: P0 on x = 0, P_theta on x = theta, with the same
    uniform heights. JS from the two empirical distributions (disjoint supports unless theta = 0),
    W1 by optimal assignment."""
    thetas = np.linspace(-1, 1, 41) if thetas is None else np.asarray(thetas, float)
    z = np.random.default_rng(seed).uniform(0, 1, n)
    real = np.stack([np.zeros(n), z], 1)
    js, w1 = [], []
    for t in thetas:
        fake = np.stack([np.full(n, t), z], 1)
        support = np.unique(np.concatenate([real, fake]), axis=0)
        index = {tuple(p): i for i, p in enumerate(support)}
        p, q = np.zeros(len(support)), np.zeros(len(support))
        for pt in real:
            p[index[tuple(pt)]] += 1
        for pt in fake:
            q[index[tuple(pt)]] += 1
        js.append(js_divergence(p, q))
        w1.append(wasserstein1_exact(real, fake))
    js, w1 = np.array(js), np.array(w1)
    return {"theta": thetas.tolist(), "js": js.tolist(), "w1": w1.tolist(),
            "js_grad": one_sided_gradient(js, thetas).tolist(),
            "w1_grad": one_sided_gradient(w1, thetas).tolist()}


def one_sided_gradient(values: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """The derivative on each side of theta = 0 from that side's points only, NaN at 0: JS jumps
    there and W1 has a kink, so neither has a derivative at 0, and a difference across it
    would draw a spike that is not there."""
    out = np.full(len(thetas), np.nan)
    for side in (thetas < 0, thetas > 0):
        idx = np.flatnonzero(side)
        if len(idx) >= 2:
            out[idx] = np.gradient(values[idx], thetas[idx])
    return out


def sides(thetas, values) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (theta, value) pieces to draw as lines: theta < 0 and theta > 0, each reaching 0 at
    its own limit (its value next to 0), never joined across 0: a jump is drawn as a jump."""
    thetas, values = np.asarray(thetas, float), np.asarray(values, float)
    pieces = []
    for m, end in ((thetas < 0, -1), (thetas > 0, 0)):
        if m.any():
            x, y = thetas[m], values[m]
            x = np.append(x, 0.0) if end == -1 else np.insert(x, 0, 0.0)
            y = np.append(y, y[-1]) if end == -1 else np.insert(y, 0, y[0])
            pieces.append((x, y))
    return pieces


# ----------------------------------------------------------------------------- 2: vanishing


def _mlp(width=64, act=nn.ELU) -> nn.Module:
    return nn.Sequential(nn.Linear(1, width), act(), nn.Linear(width, width), act(),
                         nn.Linear(width, 1))


LOSSES_1D = {"minimax (saturating)": ("bce", losses.minimax_generator),
             "non-saturating BCE": ("bce", losses.bce_generator),
             "LSGAN": ("lsgan", losses.lsgan_generator),
             "WGAN (Lipschitz critic)": ("wgan-gp", losses.wasserstein_generator)}


def vanishing(distances=(0.5, 1, 2, 4, 8), steps: int = 600, seed: int = 0) -> dict:
    """|dL_G / d shift| against the distance between the real N(0, 0.25^2) and the generated
    N(d, 0.25^2), with a critic trained for ``steps`` Adam updates at each distance."""
    out = {"distance": list(distances)}
    for name, (objective, gen_loss) in LOSSES_1D.items():
        obj = losses.OBJECTIVES[objective]
        grads = []
        for d in distances:
            torch.manual_seed(seed)
            g = torch.Generator().manual_seed(seed)
            critic = _mlp()
            opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
            for _ in range(steps):
                real = 0.25 * torch.randn(256, 1, generator=g)
                fake = d + 0.25 * torch.randn(256, 1, generator=g)
                loss = obj.critic_loss(critic, real, fake, gp_weight=10.0)["loss"]
                opt.zero_grad()
                loss.backward()
                opt.step()
            shift = torch.tensor(float(d), requires_grad=True)
            fake = shift + 0.25 * torch.randn(2048, 1, generator=g)
            (grad,) = torch.autograd.grad(gen_loss(critic, None, fake)["loss"], [shift])
            grads.append(abs(float(grad)))
        out[name] = grads
    return out


# ----------------------------------------------------------------------------- 3 and 4: critics


def _critic2d(kind: str) -> nn.Module:
    net = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1))
    return spectral_norm_all(net) if kind == "sn" else net


def _toy_pair(n, g):
    real = torch.randn(n, 2, generator=g) * 0.2 + torch.tensor([-1.0, 0.5])
    fake = torch.randn(n, 2, generator=g) * 0.3 + torch.tensor([1.0, -0.5])
    return real, fake


def train_critic2d(kind: str, steps: int, seed: int = 0) -> nn.Module:
    """A WGAN critic between two blobs: ``gp`` (lambda 10, Adam), ``clip`` (c 0.01, RMSProp),
    ``sn`` (spectral norm, no penalty, Adam) or ``none`` (unconstrained, Adam)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    critic = _critic2d(kind)
    opt = (torch.optim.RMSprop(critic.parameters(), lr=5e-5) if kind == "clip" else
           torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)))
    loss_fn = losses.wgan_gp_critic if kind == "gp" else losses.wgan_critic
    for _ in range(steps):
        real, fake = _toy_pair(256, g)
        loss = loss_fn(critic, real, fake, gp_weight=10.0)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if kind == "clip":
            losses.clip_weights(critic, 0.01)
    return critic.eval()


def interpolates_figure(steps: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed + 1)
    real, fake = _toy_pair(24, g)
    eps = torch.rand(24, 1, generator=g)
    x_hat = eps * real + (1 - eps) * fake
    out = {"real": real.tolist(), "fake": fake.tolist(), "interpolates": x_hat.tolist()}
    for kind in ("none", "gp"):
        critic = train_critic2d(kind, steps, seed)
        out[f"norm_{kind}"] = losses.grad_norms(critic, x_hat, False).tolist()
        far = torch.tensor([[2.5, 2.5], [-2.5, -2.5], [2.5, -2.5], [-2.5, 2.5]])
        out[f"norm_far_{kind}"] = losses.grad_norms(critic, far, False).tolist()
    return out


def lipschitz(steps: int, seed: int = 0, res: int = 48) -> dict:
    t = torch.linspace(-2.5, 2.5, res)
    gx, gy = torch.meshgrid(t, t, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    out = {"extent": [-2.5, 2.5, -2.5, 2.5]}
    for kind in ("clip", "gp", "sn"):
        critic = train_critic2d(kind, steps, seed)
        out[kind] = losses.grad_norms(critic, pts, False).reshape(res, res).tolist()
    return out


# ----------------------------------------------------------------------------- 5: the chase


def chase(out_dir: Path, seed: int = 0, steps: int | None = None) -> dict:
    """A BCE run under the slide configuration, recorded; the GIF colours samples by their
    nearest mode. Returns the share of samples at each mode per frame."""
    import tempfile

    from toygan.metrics import mode_assignment
    from toygan.presets import PRESETS
    from toygan.render import Run
    from toygan.train import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        steps = PRESETS["slides"]["steps"] if steps is None else steps
        train(TrainConfig(preset="slides", loss="bce", seed=seed, snapshots=min(40, steps),
                          steps=steps), Path(tmp) / "r", progress=False)
        run = Run.load(Path(tmp) / "r")
    centers, std = run.snap["centers"], 0.02
    shares = []
    for fake in run.snap["fake"]:
        nearest, _ = mode_assignment(fake, centers, std)
        shares.append(np.bincount(nearest, minlength=len(centers)) / len(fake))
    _chase_gif(run, out_dir / "chase.gif")
    return {"steps": run.snap["steps"].tolist(), "shares": np.array(shares).tolist()}


def _chase_gif(run, path: Path) -> None:
    pictures.use_agg()
    import matplotlib.pyplot as plt

    from toygan.metrics import mode_assignment

    snap, centers = run.snap, run.snap["centers"]
    colors = plt.get_cmap("tab10")(np.arange(len(centers)) % 10)
    frames = []
    fig, ax = plt.subplots(figsize=(4.8, 4.8), dpi=90)
    xmin, xmax, ymin, ymax = snap["extent"]
    for i in range(len(snap["steps"])):
        ax.clear()
        d = 1 / (1 + np.exp(-np.clip(snap["critic"][i], -60, 60)))
        ax.imshow(d, origin="lower", extent=(xmin, xmax, ymin, ymax), cmap="RdBu_r", vmin=0,
                  vmax=1, alpha=0.8)
        ax.scatter(*centers.T, s=120, c=colors, marker="x", lw=2)
        nearest, _ = mode_assignment(snap["fake"][i], centers, 0.02)
        ax.scatter(*snap["fake"][i].T, s=6, c=colors[nearest], lw=0)
        ax.set_title(f"BCE: samples chase the critic — step {int(snap['steps'][i])}\n"
                     "colour = nearest mode; background = D(x)", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    pictures.save_gif(path, frames, fps=5)


# ----------------------------------------------------------------------------- drawing


def plot_js(res: dict, path: Path) -> None:
    """Each curve drawn on either side of θ = 0 and never across it; the value at 0 as a dot,
    the limits it jumps from as open circles, and no derivative at 0."""
    import matplotlib.pyplot as plt

    theta = np.asarray(res["theta"], float)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = {"js": "tab:blue", "w1": "tab:orange"}
    labels = {"js": "JS divergence", "w1": "W1 (earth mover's)"}
    a.plot(theta, res["w1"], "-", color=colors["w1"], lw=2, label=labels["w1"])  # continuous
    for i, (x, y) in enumerate(sides(theta, res["js"])):
        a.plot(x, y, "-", color=colors["js"], lw=2, label=labels["js"] if i == 0 else None)
    at0 = np.flatnonzero(theta == 0)
    if len(at0):
        js0 = res["js"][at0[0]]
        a.plot([0], [js0], "o", color=colors["js"], ms=6)  # JS(0) = 0: the supports coincide
        a.plot([0], [math.log(2)], "o", mfc="white", color=colors["js"], ms=6)
        a.annotate("JS(0) = 0: a jump, not a slope", (0, js0), (0.08, 0.18), fontsize=8,
                   color=colors["js"], arrowprops=dict(arrowstyle="->", color=colors["js"]))
    a.axhline(math.log(2), color="gray", ls=":", lw=1)
    a.text(0.02, math.log(2) + 0.03, "log 2", color="gray", transform=a.get_yaxis_transform())
    a.set_xlabel("θ (offset of the generated line)")
    a.set_title("Distance between P₀ (x = 0) and P_θ (x = θ)")
    a.legend(loc="lower left")
    for key, name in (("js_grad", "d JS / dθ"), ("w1_grad", "d W1 / dθ")):
        color = colors[key[:-5]]
        for i, (x, y) in enumerate(sides(theta, res[key])):
            b.plot(x, y, "-", color=color, lw=2, label=name if i == 0 else None)
            end = 0 if x[0] == 0 else -1
            b.plot([0], [y[end]], "o", mfc="white", color=color, ms=6, zorder=3)  # undefined
    b.axvline(0, color="gray", ls=":", lw=1)
    b.text(0.52, 0.72, "no derivative\nat θ = 0", fontsize=8, color="gray",
           transform=b.transAxes)
    b.set_ylim(-1.5, 1.5)
    b.set_xlabel("θ")
    b.set_title("The gradient each gives the generator (0 for JS)")
    b.legend(loc="lower right")
    fig.tight_layout()
    pictures.save_figure(fig, path, dpi=110)


def plot_vanishing(res: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in LOSSES_1D:  # an exact 0 (below float precision) is drawn at 1e-12
        ax.plot(res["distance"], np.maximum(res[name], 1e-12), "o-", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("distance between real and generated distributions")
    ax.set_ylabel("|generator gradient| (log scale)")
    ax.set_title("Critic trained to optimality at each distance", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    pictures.save_figure(fig, path, dpi=110)


def plot_interpolates(res: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    real, fake, xh = (np.array(res[k]) for k in ("real", "fake", "interpolates"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    for ax, kind, title in ((axes[0], "none", "no penalty"), (axes[1], "gp", "gradient penalty")):
        for r, f in zip(real, fake, strict=True):
            ax.plot([r[0], f[0]], [r[1], f[1]], color="gray", lw=0.6, alpha=0.6)
        ax.scatter(*real.T, c="#1b9e77", s=18, label="real")
        ax.scatter(*fake.T, c="#d95f02", s=18, label="fake")
        sc = ax.scatter(*xh.T, c=res[f"norm_{kind}"], cmap="viridis", s=40, marker="D",
                        edgecolor="k", lw=0.4, label="interpolates")
        fig.colorbar(sc, ax=ax, label="‖∇ₓD‖ at the interpolate")
        mean = float(np.mean(res[f"norm_{kind}"]))
        ax.set_title(f"{title}: mean ‖∇D‖ on interpolates = {mean:.2f}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
        ax.set_aspect("equal")
    fig.tight_layout()
    pictures.save_figure(fig, path, dpi=110)


def plot_lipschitz(res: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    titles = {"clip": "weight clipping (c = 0.01)", "gp": "gradient penalty (λ = 10)",
              "sn": "spectral normalisation"}
    for ax, kind in zip(axes, ("clip", "gp", "sn"), strict=True):
        v = np.array(res[kind])
        im = ax.imshow(v, origin="lower", extent=res["extent"], cmap="magma")
        if v.min() < 1 < v.max():
            ax.contour(v, levels=[1.0], colors="cyan", extent=res["extent"], linewidths=1.5)
        fig.colorbar(im, ax=ax, label="‖∇ₓD‖")
        ax.set_title(f"{titles[kind]}\nmax ‖∇D‖ = {v.max():.3g} (cyan: ‖∇D‖ = 1)", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    pictures.save_figure(fig, path, dpi=110)


def make(cfg: ConceptsConfig, out: Path) -> dict:
    pictures.use_agg()
    numbers: dict = {}
    steps, seed = cfg.critic_steps, cfg.seed
    for name in cfg.figures():
        if name == "js-vs-emd":
            numbers[name] = js_vs_emd(seed=seed)
            plot_js(numbers[name], out / "js-vs-emd.png")
        elif name == "vanishing":
            numbers[name] = vanishing(steps=steps, seed=seed)
            plot_vanishing(numbers[name], out / "vanishing.png")
        elif name == "interpolates":
            numbers[name] = interpolates_figure(steps, seed)
            plot_interpolates(numbers[name], out / "interpolates.png")
        elif name == "lipschitz":
            numbers[name] = lipschitz(steps, seed)
            plot_lipschitz(numbers[name], out / "lipschitz.png")
        else:
            numbers[name] = chase(out, seed, cfg.chase_steps)
    files.write_text(out / "concepts.json", json.dumps(numbers) + "\n")
    return numbers


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.concepts", description=__doc__.split("\n\n")[0])
    add_config_flags(p, ConceptsConfig)
    add_output_flags(p, "figures/concepts", "output folder")
    return p


def run(config: ConceptsConfig | None = None, *, out="figures/concepts",
        overwrite: bool = False) -> Path:
    """``python -m toygan.concepts``: the concept figures (and concepts.json, their numbers) in
    the folder ``out``; returns it."""
    cfg = config or ConceptsConfig()
    check(cfg)
    cfg.figures()
    out = files.ensure_writable_dir(out)
    if not overwrite and (out / "concepts.json").exists():
        raise UserError(f"{out} already holds concept figures; pass --overwrite")
    make(cfg, out)
    return out


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    print(run(build(ConceptsConfig, given(ns, ConceptsConfig)), out=ns.out,
              overwrite=ns.overwrite))
    return 0


if __name__ == "__main__":
    run_main(main)
