"""The homework's report plot: per-layer gradient norms of an image critic, clipping vs penalty.

    python -m imagegan.gradnorm --out gradnorm.png              # digits, 32 px, ~3 minutes CPU
    python -m imagegan.gradnorm --data ~/faces --size 64 --width 64 --steps 1000 --out faces.png

Trains the DCGAN critic (4 conv layers at 32 px, 5 at 64 px) and generator with WGAN weight
clipping (``--clip``, RMSProp 5e-5) and with WGAN-GP (lambda 10, Adam 1e-4, betas (0.5, 0.9),
layer-norm critic), then measures with ``toygan.gradnorm.layer_grad_norms`` the norm of the
gradient of the critic loss E[D(fake)] - E[D(real)] with respect to each conv layer's output,
averaged over ``--batches`` batches, critic in eval mode. Writes ``PATH.png`` (x: layer, input side
first; y: log scale; both curves) and ``PATH.json`` (``{"clip": [...], "gp": [...]}``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from imagegan.train import TrainConfig, Trainer
from toygan.cli import Parser, UserError, output_path, run_main
from toygan.gradnorm import layer_grad_norms, wasserstein_loss


def measure(data: str = "digits", size: int = 32, width: int = 32, steps: int = 200,
            clip: float = 0.01, batches: int = 5, batch_size: int = 64, seed: int = 0,
            cache_dir=None, progress: bool = True) -> dict:
    results = {"config": dict(data=data, size=size, width=width, steps=steps, clip=clip,
                              batches=batches, batch_size=batch_size, seed=seed)}
    for name, loss in (("clip", "wgan"), ("gp", "wgan-gp")):
        cfg = TrainConfig(loss=loss, data=data, size=size, width=width, steps=steps,
                          batch_size=batch_size, seed=seed, clip=clip if loss == "wgan" else None,
                          device="cpu", eval_metrics=False, cache_dir=cache_dir)
        t = Trainer(cfg, progress=progress)
        for _ in range(steps):
            t.train_step()
        t.D.eval()
        norms = []
        for _ in range(batches):
            real = t._real()
            with torch.no_grad():
                fake = t.G(t._z(len(real)))
            both = torch.cat([real, fake])
            sign = torch.cat([-torch.ones(len(real)), torch.ones(len(fake))])
            norms.append(layer_grad_norms(t.D, wasserstein_loss(both, sign)))
        results[name] = np.mean(norms, axis=0).tolist()
    return results


def plot(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = Parser(prog="python -m imagegan.gradnorm", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="digits")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--steps", type=int, default=200, help="generator steps per setting")
    p.add_argument("--clip", type=float, default=0.01)
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--out", default="gradnorm.png", help="output PNG (JSON beside it)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.steps < 1 or a.batches < 1:
        raise UserError("--steps and --batches must be >= 1")
    out = output_path(a.out, ".png")
    results = measure(a.data, a.size, a.width, a.steps, a.clip, a.batches, a.batch_size, a.seed,
                      a.cache_dir, progress=not a.quiet)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    print(plot(results, out))
    print(out.with_suffix(".json"))
    return 0


if __name__ == "__main__":
    run_main(main)
