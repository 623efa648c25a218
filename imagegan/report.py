"""A homework report assembled from the runs: ``python -m imagegan.report``.

    python -m imagegan.report runs/bce runs/wgan-gp --out report/
    python -m imagegan.report runs/bce runs/wgan --study runs/img-study --gradnorm gn.json --out r/

Writes ``report.md`` (with its images beside it) and ``report.html`` (one self-contained file, the
images embedded) that a student can hand in or paste from:

* per run: the generator's and the critic's architecture as tables computed from the models
  (layer, output shape, parameters; total), the loss, the optimiser and its settings, batch
  size, steps and epochs, a grid of 64 images from the final (or ``--checkpoint best``) EMA
  generator, the loss curves, and the collapse metrics beside their real-data references with
  the collapse rule's verdict (``imagegan.collapse``);
* with ``--study``: the collapse table and the collapsed-vs-mitigated grids of ``imagegan.compare``;
* with ``--gradnorm``: the per-layer gradient-norm plot (log scale) of ``imagegan.gradnorm``;
* "WGAN vs GAN": statements that cite the runs' own numbers (the critic's output range, its
  gradient norm on real images, its weights, whether the run collapsed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from imagegan import checkpoint, collapse, fid
from imagegan import data as imdata
from imagegan.models import Generator, generate, make_critic
from toygan import files, losses, pictures
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import UserError
from toygan.htmlpage import markdown_html
from toygan.tables import markdown_table


@dataclass
class ReportConfig:
    checkpoint: str = option("latest", "which generator to show: latest or best",
                             choices=tuple(checkpoint.NAMES))
    seed: int = option(0, "latent seed of the grids", ge=0, le=2**32 - 1)


# ----------------------------------------------------------------------------- measuring


def architecture(model: nn.Module, example: torch.Tensor) -> tuple[list[tuple], int]:
    """(layer, output shape, parameters) of every leaf module in forward order, and the total."""
    rows: list[tuple] = []
    hooks = []

    def hook(name):
        def fn(module, inputs, output):
            n = sum(p.numel() for p in module.parameters(recurse=False))
            if hasattr(module, "parametrizations"):
                n = sum(p.numel() for p in module.parameters())
            rows.append((f"{name} ({type(module).__name__})", tuple(output.shape[1:]), n))
        return fn

    for name, m in model.named_modules():
        leaf = not list(m.children()) or type(m).__name__.startswith("Parametrized")
        if leaf and name and not name.startswith("parametrizations") and \
                ".parametrizations" not in name:
            hooks.append(m.register_forward_hook(hook(name)))
    model.eval()
    with torch.no_grad():
        model(example)
    for h in hooks:
        h.remove()
    return rows, sum(p.numel() for p in model.parameters())


def models_of(cfg: dict, ckpt: dict) -> tuple[Generator, nn.Module]:
    G = Generator(cfg["size"], cfg["width"], cfg["z_dim"])
    G.load_state_dict(ckpt["G_ema"])
    D = make_critic(losses.OBJECTIVES[cfg["loss"]].output, cfg["size"], cfg["width"],
                    cfg["d_norm"], cfg["spectral_norm"], pack=cfg.get("pack", 1),
                    mbstd=cfg.get("mbstd", False))
    D.load_state_dict(ckpt["D"])
    return G.eval(), D.eval()


def critic_facts(cfg: dict, D: nn.Module, G: Generator) -> dict:
    """What the critic does on 64 real and 64 generated images: its output range, its mean input
    gradient norm on real images, its largest weight."""
    real = imdata.load(cfg["data"], cfg["size"], cfg.get("cache_dir"), progress=False)
    x = imdata.to_float(torch.from_numpy(real.images[:64 * cfg.get("pack", 1)]))
    from toygan.mitigations import pack

    x = pack(x, cfg.get("pack", 1))
    with torch.no_grad():
        fake = pack(G(torch.randn(len(x) * cfg.get("pack", 1), G.z_dim,
                                  generator=torch.Generator().manual_seed(1))), cfg.get("pack", 1))
        out_r, out_f = D(x).reshape(-1), D(fake).reshape(-1)
    norms = losses.grad_norms(D, x, create_graph=False)
    weights = torch.cat([p.detach().flatten() for n, p in D.named_parameters() if "weight" in n])
    return {"real_out": (float(out_r.min()), float(out_r.max())),
            "fake_out": (float(out_f.min()), float(out_f.max())),
            "grad_norm": float(norms.mean()), "max_abs_weight": float(weights.abs().max())}


# ----------------------------------------------------------------------------- writing


def _png(fig, path: Path) -> Path:
    pictures.save_figure(fig, path, dpi=100)
    return path


def loss_plot(history: list[dict], path: Path, title: str) -> Path:
    pictures.use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for key, label in (("d_loss", "critic loss"), ("g_loss", "generator loss")):
        pts = [(r["step"], r[key]) for r in history if r.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), label=label, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _png(fig, path)


def run_section(run_dir: Path, out: Path, rc: ReportConfig, index: int) -> tuple[list[str], dict]:
    ckpt = checkpoint.load(run_dir, rc.checkpoint)
    cfg = ckpt["config"]
    history = files.read_jsonl(run_dir / "stats.jsonl")
    G, D = models_of(cfg, ckpt)
    name = f"run{index}-{run_dir.name}"
    lines = [f"## Run {index}: `{run_dir}` — {cfg['loss']} on {cfg['data']}", ""]
    z = torch.zeros(2, cfg["z_dim"])
    g_rows, g_total = architecture(G, z)
    x = torch.zeros(2, 3 * cfg.get("pack", 1), cfg["size"], cfg["size"])
    d_rows, d_total = architecture(D, x)
    last = next((r for r in reversed(history) if "epoch" in r), {})
    steps, epoch = ckpt["step"], last.get("epoch")
    obj = losses.OBJECTIVES[cfg["loss"]]
    opt = f"{cfg['optimizer']} lr {cfg['lr_d']:g}"
    if cfg["optimizer"] == "adam":
        opt += f", betas ({cfg['betas'][0]:g}, {cfg['betas'][1]:g})"
    hp = ", ".join(f"{k} {cfg[k]:g}" for k in ("gp_weight", "clip", "margin") if
                   cfg.get(k) is not None and k in obj.hparams)
    lines += [f"- **Loss:** `{cfg['loss']}` — critic: {obj.critic_loss.__doc__.splitlines()[0]}; "
              f"generator: {obj.generator_loss.__doc__.splitlines()[0]}" + (f"; {hp}" if hp
                                                                           else ""),
              f"- **Optimiser:** {opt}, {cfg['n_critic']} critic update(s) per generator update",
              f"- **Batch size:** {cfg['batch_size']}; **steps:** {steps}" +
              (f"; **epochs:** {epoch:.2f}" if epoch is not None else ""),
              f"- **Images shown:** the {rc.checkpoint} checkpoint's EMA generator (step "
              f"{ckpt['step']})", "", f"### Generator ({g_total:,} parameters)", ""]
    lines += markdown_table(["layer", "output shape", "parameters"],
                    [[n, "×".join(map(str, s)), f"{p:,}"] for n, s, p in g_rows])
    lines += ["", f"Total: {g_total:,}", "", f"### Critic ({d_total:,} parameters)", ""]
    lines += markdown_table(["layer", "output shape", "parameters"],
                    [[n, "×".join(map(str, s)), f"{p:,}"] for n, s, p in d_rows])
    lines += ["", f"Total: {d_total:,}", ""]
    grid = out / f"{name}-grid.png"
    imdata.save_image(grid, imdata.grid_image(generate(G, 64, rc.seed)))
    curves = loss_plot(history, out / f"{name}-losses.png", f"{cfg['loss']}: losses")
    lines += ["### 64 generated images", "", f"![generated images]({grid.name})", "",
              "### Loss curves", "", f"![loss curves]({curves.name})", ""]
    ref = next((r for r in history if "precision_real" in r or "ms_ssim_real" in r), {})
    ref = {k: v for k, v in ref.items() if k.endswith("_real")}
    evals = [r for r in history if "ms_ssim" in r]
    st = collapse.run_statuses(history, ref)
    facts = critic_facts(cfg, D, G)
    facts.update(loss=cfg["loss"], status=collapse.describe(st), run=str(run_dir),
                 clip=cfg.get("clip"), optimizer=cfg["optimizer"], output=obj.output)
    if evals:
        e = evals[-1]
        metric_rows = [[m, _num(e.get(collapse.RAW + m)), _num(e.get(m)),
                        _num(ref.get(m + "_real"))]
                       for m in ("precision", "duplicates", "coverage", "stacked_modes",
                                 "stacked_kl", "ndb_k", "ndb_js", "ndb_missing", "ms_ssim")
                       if m in e]
        lines += [f"### Collapse metrics (step {e['step']})", ""]
        lines += markdown_table(["metric", "raw generator", "EMA generator", "real images"],
                        metric_rows)
        lines += ["", f"Verdict of the collapse rule (imagegan.collapse): raw generator "
                  f"**{collapse.describe(st)}**; EMA generator *{collapse.describe(st, '_ema')}*.",
                  ""]
    return lines + inception_section(history), facts


def inception_section(history: list[dict]) -> list[str]:
    """FID / KID / PR at the last evaluation that logged them, with their N (or nothing)."""
    inception = [r for r in history if r.get("fid_n") is not None]
    if not inception:
        return []
    e = inception[-1]
    shown = [m for m in fid.KEYS if m in e]
    lines = [f"### Inception metrics (step {e['step']}, EMA generator)", ""]
    lines += markdown_table(["metric", "value"], [[m, _num(e[m])] for m in shown])
    return lines + ["", f"N = {e['fid_n']:,} generated and {e['fid_n']:,} real images (FID is "
                    f"biased by N: compare only at equal N); features: {e['fid_features']}.", ""]


def _num(v) -> str:
    return "—" if v is None else f"{v:.4g}"


def wgan_vs_gan(facts: list[dict]) -> list[str]:
    """Differences between WGAN and GAN, each with the runs' own numbers where they have them."""
    lines = ["## WGAN vs GAN, from these runs", ""]
    sig = [f for f in facts if f["output"] == "probability"]
    was = [f for f in facts if f["loss"] in ("wgan", "wgan-gp")]

    def rng(f, key):
        lo, hi = f[key]
        return f"[{lo:.3g}, {hi:.3g}]"

    for f in sig:
        p = [1 / (1 + np.exp(-v)) for v in f["real_out"]]
        lines.append(f"- **Sigmoid output vs an unbounded critic.** `{f['run']}` ({f['loss']}) "
                     f"turns its logits {rng(f, 'real_out')} into probabilities D(x) in (0, 1): "
                     f"{p[0]:.3f} to {p[1]:.3f} on real images; its loss compares "
                     "distributions through the Jensen-Shannon divergence, which saturates when "
                     "they do not overlap.")
    for f in was:
        lines.append(f"- **Earth mover's distance.** `{f['run']}` ({f['loss']}) has no sigmoid "
                     f"and no log: its critic scores real images {rng(f, 'real_out')} and "
                     f"generated ones {rng(f, 'fake_out')}, an unbounded estimate of the "
                     "Wasserstein-1 distance E[D(real)] - E[D(fake)].")
    for f in was:
        if f["loss"] == "wgan":
            lines.append(f"- **1-Lipschitz by weight clipping.** `{f['run']}` clips every "
                         f"weight to ±{f['clip']:g} (largest now {f['max_abs_weight']:.3g}); "
                         f"its mean input-gradient norm on real images is {f['grad_norm']:.3g}, "
                         "far below 1: the critic is flattened.")
        else:
            lines.append(f"- **1-Lipschitz by gradient penalty.** `{f['run']}` penalises "
                         "(||grad D(x_hat)|| - 1)^2 on interpolates; its mean input-gradient "
                         f"norm on real images is {f['grad_norm']:.3g}.")
    for f in facts:
        lines.append(f"- **Optimiser.** `{f['run']}` ({f['loss']}) trained with "
                     f"{f['optimizer']}" + (" — RMSProp, as the WGAN paper recommends over "
                                            "momentum methods" if f["optimizer"] == "rmsprop"
                                            else "") + ".")
    for f in facts:
        lines.append(f"- **Mode collapse.** `{f['run']}` ({f['loss']}): the collapse rule says "
                     f"its raw generator was *{f['status']}*.")
    return lines + [""]


def to_html(md: str, folder: Path) -> str:
    """A self-contained HTML page from our own markdown (tables, lists, headings, images)."""
    body = markdown_html(md, folder)
    style = ("body{font-family:sans-serif;max-width:980px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:2px 8px;font-size:13px}img{max-width:100%}code{background:#f4f4f4}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>GAN homework report"
            f"</title><style>{style}</style></head><body>{body}</body></html>")


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.report", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run folders of imagegan.train")
    p.add_argument("--study", default=None, help="an imagegan.compare folder")
    p.add_argument("--gradnorm", default=None, help="the PATH.json of imagegan.gradnorm")
    add_config_flags(p, ReportConfig)
    p.add_argument("--out", default="report", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    return p


def run(runs, report: ReportConfig | None = None, *, study=None, gradnorm=None, out="report",
        overwrite: bool = False) -> Path:
    """``python -m imagegan.report RUN...``: the homework report of the run folders ``runs``
    (with an ``imagegan.compare`` ``study`` folder and an ``imagegan.gradnorm`` JSON when given)
    as report.md and report.html in ``out``; returns the folder."""
    rc = report or ReportConfig()
    check(rc)
    runs = [os.fspath(r) for r in runs]
    if not runs:
        raise UserError("give at least one run folder")
    for r in runs:
        checkpoint.load(r, rc.checkpoint)  # every run readable before anything is written
    study = Path(study) if study else None
    if study is not None and not (study / "table.md").exists():
        raise UserError(f"{study} is not an imagegan.compare study (no table.md)")
    grad = None
    if gradnorm:
        try:
            grad = json.loads(Path(gradnorm).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(f"cannot read {gradnorm}: {e}") from None
    out = Path(out)
    if (out / "report.md").exists() and not overwrite:
        raise UserError(f"{out} already holds a report; pass --overwrite")
    files.ensure_writable_dir(out)
    lines, facts = ["# GAN homework report", ""], []
    for i, r in enumerate(runs, start=1):
        sec, f = run_section(Path(r), out, rc, i)
        lines += sec
        facts.append(f)
    if study is not None:
        lines += ["## The collapse study (imagegan.compare)", ""]
        lines += (study / "table.md").read_text().splitlines() + [""]
        pic = study / "collapsed-vs-mitigated.png"
        if pic.exists():
            files.write_bytes(out / "study-collapsed-vs-mitigated.png", pic.read_bytes())
            lines += ["![collapsed vs mitigated](study-collapsed-vs-mitigated.png)", ""]
    if grad is not None:
        from imagegan.gradnorm import plot

        plot(grad, out / "gradnorm.png")
        lines += ["## Gradient norm of each critic layer (log scale)", "",
                  "![per-layer gradient norms](gradnorm.png)", ""]
    lines += wgan_vs_gan(facts)
    md = "\n".join(lines) + "\n"
    files.write_text(out / "report.md", md)
    files.write_text(out / "report.html", to_html(md, out))
    return out


def execute(ns) -> Path:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(ns.runs, build(ReportConfig, given(ns, ReportConfig)), study=ns.study,
               gradnorm=ns.gradnorm, out=ns.out, overwrite=ns.overwrite)


def main(argv=None) -> int:
    out = execute(build_parser().parse_args(argv))
    print(out / "report.md")
    print(out / "report.html")
    return 0


if __name__ == "__main__":
    run_main(main)
