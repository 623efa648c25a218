"""The mode-collapse study: a grid of (objective or mitigation) x seed x data set, one folder.

    python -m toygan.compare --quick --out runs/study-quick       # smoke version, ~1-2 minutes
    python -m toygan.compare --out runs/study                     # the full default study
    python -m toygan.compare --variants bce,bce+unroll=5,wgan-gp --seeds 3 --data ring
    python -m toygan.compare --preset pacgan --variants bce,bce+pack=2 --steps 5000  # the paper's

A variant is ``LOSS[+MITIGATION[=VALUE]...]``: ``bce+unroll=5``, ``bce+pack=2``, ``bce+mbstd``,
``bce+sn`` (spectral norm), ``bce+r1=1``. Every run trains with the study configuration
(``toygan.animate``'s slide configuration: 3x128 MLPs, critic lr 2e-4 vs generator lr 1e-3, in
which BCE collapses) plus the variant's settings, and writes its records under
``OUT/runs/VARIANT-DATA-seedS``. Then, read from those records:

* ``results.csv`` — one row per run: every config field, final metrics, collapse onset step;
* ``table.md`` — per variant and data set, mean ± standard error over seeds of modes covered,
  % high-quality samples and reverse KL (PacGAN's columns) and the collapse onset; then the
  homework's layout: model · generator · critic · loss · optimizer · step at which collapse began;
* ``coverage.png`` — modes covered over training, mean over seeds with a ±1 s.e. band;
* ``final.png`` — final samples of seed 0, variants x data sets.

The runs of one variant (every data set and seed) are trained together as one stacked
computation (``toygan.batched``), with the same results as training each alone. A run whose loss
turns NaN/Inf stops there (``diverged_at`` in results.csv) while the others go on.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from toygan import losses
from toygan.animate import ANIMATE_BASE
from toygan.batched import train_runs
from toygan.cli import Parser, UserError, run_main
from toygan.data import DataError, make_dataset
from toygan.metrics import collapse_onset
from toygan.presets import PRESETS
from toygan.train import TrainConfig

OBJECTIVE_VARIANTS = list(losses.OBJECTIVES)
MITIGATION_VARIANTS = ["bce+unroll=5", "bce+pack=2", "bce+mbstd", "bce+sn", "bce+r1=1"]
DEFAULT_VARIANTS = OBJECTIVE_VARIANTS + MITIGATION_VARIANTS
DEFAULT_DATA = ["ring", "grid"]
# With --preset, the study starts from a published configuration and its papers' data sets.
PRESET_DATA = {"pacgan": ["ring-pacgan", "grid-pacgan"], "unrolled": ["ring-unrolled"],
               "wgan-gp-toy": ["8gaussians", "25gaussians"]}
# The study configuration: the slide configuration (in which BCE collapses and WGAN-GP keeps
# every mode) with batch 128 and 1000 steps, so that the default study (130 runs) takes under
# ten minutes on 2 CPU cores; evaluated 12 times per run.
STUDY_BASE = dict(ANIMATE_BASE, batch_size=128, steps=1000)
MITIGATIONS = {  # name -> (config field, value parser, value when given bare)
    "unroll": ("unroll", int, 5),
    "pack": ("pack", int, 2),
    "mbstd": ("mbstd", bool, True),
    "sn": ("spectral_norm", bool, True),
    "r1": ("r1_weight", float, 1.0),
}


def parse_variant(spec: str) -> dict:
    """``bce+unroll=5`` -> {"loss": "bce", "unroll": 5}."""
    loss, *mods = spec.split("+")
    if loss not in losses.OBJECTIVES:
        raise UserError(f"unknown loss {loss!r} in variant {spec!r}; choose from "
                        f"{', '.join(losses.OBJECTIVES)}")
    out: dict = {"loss": loss}
    for mod in mods:
        name, eq, value = mod.partition("=")
        if name not in MITIGATIONS:
            raise UserError(f"unknown mitigation {name!r} in {spec!r}; choose from "
                            f"{', '.join(MITIGATIONS)}")
        field_name, kind, bare = MITIGATIONS[name]
        try:
            out[field_name] = (value.lower() in ("1", "true", "yes") if kind is bool
                               else kind(value)) if eq else bare
        except ValueError:
            raise UserError(f"bad value {value!r} for {name} in {spec!r}") from None
    return out


def run_name(variant: str, data: str, seed: int) -> str:
    return f"{variant.replace('=', '')}-{data.replace(':', '_')}-seed{seed}"


def run_status(history, n_modes, diverged_at=None) -> str:
    """``kept`` (covers every mode at the end), ``lost`` (covered every mode at an evaluation,
    not at the end: collapsed; its onset is ``collapse_onset``), ``never`` (never covered every
    mode), ``diverged`` (NaN/Inf loss), or ``n/a`` for data without known modes."""
    if diverged_at is not None:
        return "diverged"
    coverage = [r["modes_covered"] for r in history if r.get("modes_covered") is not None]
    if not n_modes or not coverage:
        return "n/a"
    if coverage[-1] >= n_modes:
        return "kept"
    return "lost" if max(coverage) >= n_modes else "never"


def mean_se(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if x is not None and not np.isnan(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan")
    se = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0
    return float(v.mean()), float(se)


def study(variants, data_sets, seeds, steps, out: Path, progress=True, base=None) -> list[dict]:
    """Train every run (records under out/runs) and return one result row per run.

    The runs of one variant (every data set and seed) share an architecture, so they are
    trained together as one stacked computation (``toygan.batched``).
    """
    from tqdm import tqdm

    base = STUDY_BASE if base is None else base
    rows = []
    total = len(variants) * len(data_sets) * len(seeds)
    bar = tqdm(total=total, desc="runs", unit="run", disable=not progress, dynamic_ncols=True)
    for variant in variants:
        jobs = [(d, s) for d in data_sets for s in seeds]
        cfgs = [TrainConfig(**dict(base, data=d, seed=s, snapshots=2, steps=steps,
                                   eval_every=max(steps // 12, 1), **parse_variant(variant)))
                for d, s in jobs]
        run_dirs = [out / "runs" / run_name(variant, d, s) for d, s in jobs]
        bar.set_postfix_str(f"{variant} ({len(jobs)} runs together)")
        recs = train_runs(cfgs, run_dirs, progress=False, overwrite=True)
        bar.update(len(jobs))
        for (data, _seed), run_dir, rec in zip(jobs, run_dirs, recs, strict=True):
            n_modes = make_dataset(data).n_modes
            history = rec.history
            last = next((r for r in reversed(history) if "sliced_w1" in r), {})
            coverage = [r["modes_covered"] for r in history if r.get("modes_covered") is not None]
            peak = max(coverage, default=None)
            resolved = json.loads((run_dir / "config.json").read_text())
            rows.append({"variant": variant, "run": run_dir.name, **resolved,
                         "modes_covered": last.get("modes_covered"), "n_modes": n_modes,
                         "hq_frac": last.get("hq_frac"), "reverse_kl": last.get("reverse_kl"),
                         "sliced_w1": last.get("sliced_w1"), "peak_modes": peak,
                         "diverged_at": rec.diverged_at,
                         "status": run_status(history, n_modes, rec.diverged_at),
                         "collapse_onset": (collapse_onset(history, n_modes)
                                            if run_status(history, n_modes, rec.diverged_at)
                                            == "lost" else None)})
    bar.close()
    return rows


def write_csv(rows, path: Path) -> None:
    keys = list(rows[0])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else r[k]) for k in keys})


def _fmt(m, se, digits=2, scale=1.0):
    if np.isnan(m):
        return "—"
    return f"{m * scale:.{digits}f} ± {se * scale:.{digits}f}"


def summary(rows) -> list[dict]:
    """Per (variant, data): mean and s.e. of the final metrics over seeds."""
    out = []
    for variant in dict.fromkeys(r["variant"] for r in rows):
        for data in dict.fromkeys(r["data"] for r in rows):
            group = [r for r in rows if r["variant"] == variant and r["data"] == data]
            if not group:
                continue
            collapsed = [r["collapse_onset"] for r in group if r["status"] == "lost"]
            count = {k: sum(r["status"] == k for r in group) for k in
                     ("kept", "lost", "never", "diverged")}
            out.append({
                "variant": variant, "data": data, "seeds": len(group),
                "n_modes": group[0]["n_modes"],
                "modes": mean_se([r["modes_covered"] for r in group]),
                "hq": mean_se([r["hq_frac"] for r in group]),
                "kl": mean_se([r["reverse_kl"] for r in group]),
                "w1": mean_se([r["sliced_w1"] for r in group]),
                "collapsed": len(collapsed), "count": count,
                "onset": mean_se(collapsed) if collapsed else (float("nan"), float("nan")),
                "example": group[0],
            })
    return out


def write_table(rows, path: Path) -> None:
    s = summary(rows)
    lines = ["| variant | data | modes covered | % high-quality | reverse KL | sliced W1 | "
             "runs kept / lost / never all modes | collapse onset (step) |",
             "|---|---|---|---|---|---|---|---|"]
    for g in s:
        modes = f"{_fmt(*g['modes'], 1)} / {g['n_modes']}" if g["n_modes"] else "— (no known modes)"
        lines.append(
            f"| {g['variant']} | {g['data']} | {modes} | {_fmt(*g['hq'], 1, 100)} | "
            f"{_fmt(*g['kl'], 3)} | {_fmt(*g['w1'], 3)} | {_counts(g)} | "
            f"{_fmt(*g['onset'], 0)} |")
    lines += ["", "Mean ± standard error over seeds, at the last step. *kept*: covers every mode "
              "at the end; *lost*: covered every mode at an evaluation, then lost modes (mode "
              "collapse; onset = the first evaluation after which coverage stays below the mode "
              "count); *never*: never covered every mode. Reverse KL is undefined (—) when no "
              "sample is high-quality. Sliced W1: sliced Wasserstein-1 distance between 2500 "
              "real and generated samples (any data set).", "",
              "| model | generator | critic | loss | optimizer | step at which collapse began |",
              "|---|---|---|---|---|---|"]
    for g in s:
        c = g["example"]
        gen = f"MLP {c['g_depth']}x{c['g_width']} {c['activation']}, z {c['z_dim']}"
        critic = f"MLP {c['d_depth']}x{c['d_width']} {c.get('d_activation') or c['activation']}"
        extras = [k for k in ("unroll", "pack") if c.get(k) and c[k] > (1 if k == "pack" else 0)]
        critic += "".join(f", {k} {c[k]}" for k in extras)
        critic += ", minibatch std" if c.get("mbstd") else ""
        critic += ", spectral norm" if c.get("spectral_norm") else ""
        loss = c["loss"] + (f" + R1 {c['r1_weight']:g}" if c.get("r1_weight") else "")
        opt = (f"{c['optimizer']} lr D {c['lr_d']:g} / G {c['lr_g']:g}, n_critic {c['n_critic']}")
        cnt, n = g["count"], g["seeds"]
        parts = []
        if cnt["lost"]:
            parts.append(f"{g['onset'][0]:.0f} (mean of the {cnt['lost']}/{n} runs that "
                         "collapsed)")
        if cnt["never"]:
            parts.append(f"{cnt['never']}/{n} runs never covered all {g['n_modes']} modes")
        if cnt["diverged"]:
            parts.append(f"{cnt['diverged']}/{n} runs diverged")
        onset = "; ".join(parts) or (
            f"no collapse ({cnt['kept']}/{n} runs keep every mode)" if g["n_modes"]
            else "n/a: no known modes (see sliced W1)")
        lines.append(f"| {g['variant']} ({g['data']}) | {gen} | {critic} | {loss} | {opt} | "
                     f"{onset} |")
    path.write_text("\n".join(lines) + "\n")


def _counts(g) -> str:
    c = g["count"]
    text = f"{c['kept']} / {c['lost']} / {c['never']}"
    return text + (f" ({c['diverged']} diverged)" if c["diverged"] else "")


def plot(rows, out: Path) -> None:
    """coverage.png and final.png, drawn from the run records."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toygan.render import FAKE_COLOR, REAL_COLOR, Run

    variants = list(dict.fromkeys(r["variant"] for r in rows))
    datas = list(dict.fromkeys(r["data"] for r in rows))
    fig, axes = plt.subplots(1, len(datas), figsize=(6.5 * len(datas), 4.5), squeeze=False)
    cmap = plt.get_cmap("tab20")
    for ax, data in zip(axes[0], datas, strict=True):
        # Mixtures: modes covered; data without known modes: the sliced W1 distance.
        has_modes = any(r["n_modes"] for r in rows if r["data"] == data)
        key, label = (("modes_covered", "modes covered") if has_modes
                      else ("sliced_w1", "sliced W1 to the data"))
        for i, v in enumerate(variants):
            curves = []
            for r in rows:
                if r["variant"] == v and r["data"] == data:
                    run = Run.load(out / "runs" / r["run"])
                    ev = [(s["step"], s[key]) for s in run.stats if s.get(key) is not None]
                    if ev:
                        curves.append(np.array(ev, dtype=float))
            n = min((len(c) for c in curves), default=0)  # a diverged run stops early
            curves = [c[:n] for c in curves]
            if not n:
                continue
            steps = curves[0][:, 0]
            cov = np.stack([c[:, 1] for c in curves])
            mean = cov.mean(0)
            se = cov.std(0, ddof=1) / np.sqrt(len(cov)) if len(cov) > 1 else 0 * mean
            color = cmap((2 * i) % 20 + (2 * i) // 20 % 2)  # the ten dark hues, then the light
            ax.plot(steps, mean, color=color, lw=1.6, label=v)
            ax.fill_between(steps, mean - se, mean + se, color=color, alpha=0.15)
        ax.set_title(f"{label} — {data}")
        ax.set_xlabel("step")
        ax.set_ylabel(f"{label} (mean ± s.e. over seeds)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(out / "coverage.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(len(datas), len(variants),
                             figsize=(2.2 * len(variants), 2.4 * len(datas)), squeeze=False)
    for i, data in enumerate(datas):
        for j, v in enumerate(variants):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            first = min((r for r in rows if r["variant"] == v and r["data"] == data),
                        key=lambda r: r["seed"], default=None)
            if first is None:
                continue
            run = Run.load(out / "runs" / first["run"])
            xmin, xmax, ymin, ymax = run.snap["extent"]
            ax.scatter(*run.snap["real"].T, s=2, c=REAL_COLOR, alpha=0.5, lw=0)
            ax.scatter(*run.snap["fake"][-1].T, s=2, c=FAKE_COLOR, alpha=0.8, lw=0)
            ax.set_xlim(xmin, xmax)
            ax.set_ylim(ymin, ymax)
            ax.set_aspect("equal")
            score = (f"{first['modes_covered']}/{first['n_modes']}" if first["n_modes"]
                     else f"W1 {first['sliced_w1']:.3f}" if first["sliced_w1"] is not None
                     else "diverged")
            ax.set_title(f"{v}\n{data}: {score}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "final.png", dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    p = Parser(prog="python -m toygan.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help="comma-separated LOSS[+mitigation[=value]] (default: every objective and "
                        "bce with each mitigation)")
    p.add_argument("--data", default=None,
                   help=f"comma-separated data specs (default {','.join(DEFAULT_DATA)}, or the "
                        "preset's papers' data sets)")
    p.add_argument("--preset", default=None, choices=list(PRESET_DATA),
                   help="start every run from a published configuration (toygan.presets) "
                        "instead of the study configuration")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    p.add_argument("--steps", type=int, default=STUDY_BASE["steps"],
                   help="generator updates per run")
    p.add_argument("--quick", action="store_true",
                   help="smoke version: bce, wgan-gp, bce+unroll=5 on the ring, 2 seeds, 400 steps")
    p.add_argument("--out", default="runs/compare", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing study")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.quick:
        variants, data_sets, seeds, steps = ["bce", "wgan-gp", "bce+unroll=5"], ["ring"], 2, 400
    else:
        variants = [v.strip() for v in a.variants.split(",") if v.strip()]
        data = a.data or ",".join(PRESET_DATA[a.preset] if a.preset else DEFAULT_DATA)
        data_sets = [d.strip() for d in data.split(",") if d.strip()]
        seeds, steps = a.seeds, a.steps
    if seeds < 1 or steps < 1 or not variants or not data_sets:
        raise UserError("--seeds and --steps must be >= 1, with at least one variant and data set")
    for v in variants:
        parse_variant(v)
    for d in data_sets:
        try:
            make_dataset(d)
        except DataError as e:
            raise UserError(str(e)) from None
    out = Path(a.out)
    if (out / "results.csv").exists() and not a.overwrite:
        raise UserError(f"{out} already holds a study; pass --overwrite or another --out")
    out.mkdir(parents=True, exist_ok=True)
    base = dict(PRESETS[a.preset], preset=a.preset) if a.preset and not a.quick else STUDY_BASE
    rows = study(variants, data_sets, list(range(seeds)), steps, out, progress=not a.quiet,
                 base=base)
    write_csv(rows, out / "results.csv")
    write_table(rows, out / "table.md")
    plot(rows, out)
    (out / "study.json").write_text(json.dumps(
        {"variants": variants, "data": data_sets, "seeds": seeds, "steps": steps,
         "base": base,
         "train_config_defaults": dataclasses.asdict(TrainConfig())}, indent=2) + "\n")
    for name in ("results.csv", "table.md", "coverage.png", "final.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    run_main(main)
