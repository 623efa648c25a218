"""The homework's image experiments as one command: collapse across objectives, collapse induced
and mitigated, learning-rate sensitivity.

    python -m imagegan.compare --quick --out runs/img-quick          # the smoke study
    python -m imagegan.compare --out runs/img-study                  # the default study
    python -m imagegan.compare --variants bce,wgan-gp --lr 1e-4,1e-3 --seeds 3
    python -m imagegan.compare --data ~/faces --size 64 --width 64 --steps 20000 --out runs/faces
    python -m imagegan.compare --out runs/img-study --resume          # continue after a stop

Variants use ``toygan.compare``'s syntax (``bce+pack=2``, ``bce+mbstd``, ``bce+sn``, ``bce+r1=1``,
``bce+unroll=3``, ``wgan-gp+bug=per-pixel-eps``). Every run is an ``imagegan.train`` run under
``OUT/runs/`` (runs of one variant and seed share their initial weights and evaluation latents,
whatever the learning rate); a run that diverges ends alone and is reported. Then, read from the
runs' records:

* ``results.csv`` — one row per run: its config, final metrics with their real-data references,
  the collapse status (``imagegan.collapse``: kept / late / recovered / lost / never /
  diverged) and its onset step and epoch;
* ``table.md`` — the homework's layout (model · generator · discriminator · loss · optimizer ·
  step and epoch at which collapse started), then mean ± s.e. over seeds of the final metrics;
* ``curves.png`` — every metric over training, mean ± s.e. band per variant (seaborn);
* ``grids/VARIANT-seedS.png`` — 64 images of each final EMA generator;
* ``collapsed-vs-mitigated.png`` — the baseline (first variant) beside each mitigation of it, same
  seed, same learning rate;
* ``study.json`` — what was run.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagegan import checkpoint, collapse, fid
from imagegan import data as imdata
from imagegan.models import count_params, generate, make_critic
from imagegan.train import TrainConfig, train
from toygan import files, pictures
from toygan.cli import Parser, comma_list, run_main
from toygan.cluster import ClusterConfig, Task, checked_cluster, cluster_config, run_tasks
from toygan.config import BIG, add_config_flags, build, given, option
from toygan.errors import Diverged, UserError
from toygan.study import (
    add_study_flags,
    command_line,
    counts_text,
    fmt,
    groups,
    log_session,
    mark_done,
    mean_se,
    open_study,
    read_done,
    status_counts,
    write_csv,
)
from toygan.studyplots import plot_curves, theme
from toygan.tables import markdown_table
from toygan.variants import parse_variant, parse_variants, run_name

# The default study: plain BCE, which collapses under the study's learning-rate imbalance, and
# the mitigations that keep it (measured in BENCHMARKS.md, "Choosing the image study's protocol").
DEFAULT_VARIANTS = ["bce", "bce+mbstd"]
# Final metrics in results.csv (each also for the EMA generator, ``*_ema``), and those the table
# and the curves show. The raw generator (the one being trained) is the headline.
METRICS = ("precision", "duplicates", "coverage", "recall", "density", "stacked_modes",
           "stacked_kl", "ndb_k", "ndb_js", "ndb_missing", "ms_ssim")
SHOWN = ("precision", "duplicates", "ndb_missing", "coverage", "stacked_modes")
# Logged for the EMA generator with --inception-metrics (imagegan.fid), shown when present.
INCEPTION = fid.KEYS
# The quick study: seed 0, 1,000 steps at batch 32 — half the default study's batch, for cheaper
# steps and, over the seeds searched, a clearer contrast within 1,000 steps (BCE dropping modes,
# the minibatch-std critic healthy; BENCHMARKS.md, "The quick study", has the seeds and times).
# It is its own protocol, not the first steps of the default study's runs.
QUICK = dict(variants="bce,bce+mbstd", seeds=1, first_seed=0, steps=1000, batch_size=32,
             eval_every=100)


@dataclass
class ImageStudyConfig:
    """What the image study trains (defaults: the 20-minute study on 2 CPU cores)."""

    variants: str = option(",".join(DEFAULT_VARIANTS), "comma-separated variants")
    data: str = option("stacked-digits", "stacked-digits (1000 known modes), digits, or a folder")
    size: int = option(32, "image size", choices=imdata.SIZES)
    width: int = option(16, "channel multiplier of G and D (64 = the homework baseline)",
                        ge=1, le=4096)
    batch_size: int = option(64, "images per batch", ge=2, le=65536)
    steps: int = option(3500, "generator updates per run (7.5 epochs of stacked-digits)",
                        ge=1, le=BIG)
    epochs: float | None = option(None, "train this many epochs instead of --steps (epochs of "
                                  "images the critic reads)", gt=0, le=1e6)
    eval_every: int = option(100, "steps between evaluations", ge=1, le=BIG)
    seeds: int = option(3, "how many seeds: first_seed .. first_seed + N - 1", ge=1, le=1000)
    first_seed: int = option(0, "the first seed", ge=0, le=2**31)
    lr: str | None = option(None, "comma-separated critic learning rates, each variant at each "
                                  "(default: each objective's own)")
    g_lr_factor: float = option(5.0, "generator learning rate = this x the critic's (5: the "
                                "generator outpaces the critic, the knob that makes BCE collapse "
                                "here, as in the 2D study; 1: the objective's own balance)",
                                gt=0, le=1000)
    ckpt_every: int = option(500, "steps between checkpoints: --resume continues an unfinished "
                             "run from its last one", ge=1, le=BIG)
    cache_dir: str | None = option(None, "image cache folder")
    quick: bool = option(False, "smoke version: bce and bce+mbstd, seed 0, 1000 steps at batch "
                         "32 (for every one of these options not given)")
    device: str = option("cpu", "the runs' device: cpu (the measured default), cuda (under Ray: "
                         "one GPU per task), auto (CUDA when present; under Ray: a GPU per task "
                         "when the cluster has GPUs)", choices=("cpu", "cuda", "auto"))
    inception_metrics: str = option("", "comma list of fid, kid, pr logged at evaluations (needs "
                                    "the FID Inception weights; see imagegan.fid)")
    inception_weights: str | None = option(None, "the FID Inception weights file")
    fid_n: int | None = option(None, "images on each side for FID/KID/PR (default: 10000 or the "
                               "data set's size)", ge=2, le=10**6)

    @classmethod
    def from_typed(cls, typed: dict) -> ImageStudyConfig:
        """The config of what the user typed; ``quick`` fills only the options left unset."""
        if typed.get("quick"):
            typed = {**QUICK, **typed}
        return build(cls, typed)

    def plan(self) -> list[tuple[str, float | None, int, TrainConfig]]:
        """(variant, lr, seed, config) of every run, each config checked."""
        c = self
        variants = parse_variants(c.variants)
        lrs = comma_list(c.lr, float, "--lr") if c.lr else [None]
        for lr in lrs:
            if lr is not None and not 0 < lr <= 10:
                raise UserError(f"--lr values must be in (0, 10], got {lr:g}")
        runs = []
        for v in variants:
            for lr in lrs:
                for s in range(c.first_seed, c.first_seed + c.seeds):
                    base = dict(data=c.data, size=c.size, width=c.width,
                                batch_size=c.batch_size, steps=c.steps, epochs=c.epochs,
                                eval_every=c.eval_every, log_every=max(c.eval_every // 5, 1),
                                ckpt_every=min(c.ckpt_every, c.steps), seed=s,
                                cache_dir=c.cache_dir, device=c.device,
                                inception_metrics=c.inception_metrics,
                                inception_weights=c.inception_weights, fid_n=c.fid_n,
                                **parse_variant(v))
                    lr_d = lr if lr is not None else \
                        build(TrainConfig, base).resolve_objective().lr_d
                    cfg = build(TrainConfig, {**base, "lr_d": lr_d,
                                              "lr_g": min(c.g_lr_factor * lr_d, 10.0)})
                    cfg.resolved()
                    runs.append((v, lr, s, cfg))
        return runs


def _run_dir(out: Path, variant: str, lr, seed: int, data: str) -> Path:
    extra = f"-lr{lr:g}" if lr is not None else ""
    return out / "runs" / run_name(variant, Path(data).name or "data", seed, extra)


def _train_one(cfg: TrainConfig, run_dir: Path, resume: bool = False) -> dict:
    """Train (or skip, when done) one run; returns its done.json info. With ``resume`` an
    unfinished run continues from its last checkpoint (exactly: the records equal an
    uninterrupted run's on CPU); its ``wall_s`` is then the finishing session's."""
    info = read_done(run_dir)
    if info is not None:
        return info
    t0 = time.time()
    again = resume and (run_dir / "checkpoint.pt").exists()
    try:
        train(cfg, run_dir, resume=again, progress=False, overwrite=not again)
        diverged = None
    except Diverged as e:
        diverged = str(e)
    info = {"diverged": diverged, "wall_s": round(time.time() - t0, 1), "resumed": again}
    mark_done(run_dir, info)
    return info


def _steps(cfg: TrainConfig, n_images: int) -> int:
    """The steps a run will take (its ``--epochs`` turned into steps as the trainer does)."""
    if cfg.epochs is None:
        return cfg.steps
    per_epoch = max(n_images // cfg.batch_size, 1)
    return max(1, int(round(cfg.epochs * per_epoch / cfg.resolved().n_critic)))


def result_row(variant: str, lr, run_dir: Path, info: dict) -> dict:
    cfg = json.loads((run_dir / "config.json").read_text())
    history = files.read_jsonl(run_dir / "stats.jsonl")
    ref = next((r for r in history if "precision_real" in r or "ms_ssim_real" in r), {})
    ref = {k: v for k, v in ref.items() if k.endswith("_real")}
    last = next((r for r in reversed(history) if "ms_ssim" in r), {})
    diverged_at = None
    if info.get("diverged"):
        diverged_at = int(info["diverged"].split("step ")[1].split(":")[0])
    st = collapse.run_statuses(history, ref, diverged_at)
    raw = {m: last.get(collapse.RAW + m, last.get(m)) for m in METRICS}
    return {"variant": variant, "lr_asked": lr, "run": run_dir.name, **cfg, **raw,
            **{f"{m}_ema": last.get(m) for m in METRICS}, **ref,
            **{m: last.get(m) for m in INCEPTION + ("fid_n", "fid_features")},
            "final_step": last.get("step"), "final_epoch": last.get("epoch"), **st,
            **dict(zip(("modes_agree", "modes_evals"),
                       collapse.known_modes_agreement(history, ref), strict=True)),
            "wall_s": info.get("wall_s"), "resumed": bool(info.get("resumed")),
            "eval_s": (round(sum(r["eval_s"] for r in history if "eval_s" in r), 2)
                       if any("eval_s" in r for r in history) else None)}


def failed_row(variant: str, lr, run_dir: Path, cfg: TrainConfig, error: str) -> dict:
    """The results.csv row of a run whose training raised: its config, no metrics."""
    none = dict.fromkeys(("status", "status_ema"), "failed")
    for suffix in ("", "_ema"):
        none.update(dict.fromkeys((k + suffix for k in ("onset_step", "onset_epoch",
                                                        "recovered_step", "final", "kind")),
                                  None))
    return {"variant": variant, "lr_asked": lr, "run": run_dir.name,
            **dataclasses.asdict(cfg.resolved()), **dict.fromkeys(METRICS),
            **{f"{m}_ema": None for m in METRICS}, "final_step": None, "final_epoch": None,
            **none, "modes_agree": 0, "modes_evals": 0, "wall_s": None, "resumed": None,
            "eval_s": None,
            "error": error}


def _label(variant: str, lr) -> str:
    return f"{variant}{f' @ lr {lr:g}' if lr else ''}"


def write_table(rows: list[dict], path: Path, note: str | None = None) -> None:
    """The study's table.md; ``note``: a closing line (a partial study's, under --report)."""
    models = []
    for (variant, lr), group in groups(rows, "variant", "lr_asked").items():
        c = group[0]
        g_params, d_params = _param_counts(c)
        gen = f"DCGAN, {c['size']} px, width {c['width']}, z {c['z_dim']} ({g_params:,} params)"
        disc = (f"DCGAN conv, {c['d_norm']} norm{', spectral norm' if c['spectral_norm'] else ''}"
                f"{', pack ' + str(c['pack']) if c['pack'] > 1 else ''}"
                f"{', minibatch std' if c['mbstd'] else ''} ({d_params:,} params)")
        loss = c["loss"] + (f" + R1 {c['r1_weight']:g}" if c["r1_weight"] else "")
        loss += f", unrolled {c['unroll']}" if c["unroll"] else ""
        loss += f", bug {c['bug']}" if c["bug"] != "none" else ""
        opt = f"{c['optimizer']} lr {_lr_text(c)}, n_critic {c['n_critic']}"
        if c["optimizer"] == "adam":
            opt += f", betas ({c['betas'][0]:g}, {c['betas'][1]:g})"
        models.append([_label(variant, lr), gen, disc, loss, opt, _onset_text(group)])
    lines = markdown_table(["model", "generator", "discriminator", "loss", "optimizer",
                            "collapse started at (step / epoch)"], models)
    statuses = [[_label(variant, lr), counts_text(status_counts(group)),
                 counts_text(status_counts(group, "_ema")),
                 *(fmt(*mean_se([r[m] for r in group]), 0 if m == "stacked_modes" else 3)
                   for m in SHOWN)]
                for (variant, lr), group in groups(rows, "variant", "lr_asked").items()]
    lines += ["", *markdown_table(["variant", "raw G: kept / late / recovered / lost / never",
                                   "EMA G: same", *SHOWN], statuses)]
    lines += inception_lines(rows)
    ref = next((r for r in rows if r["status"] != "failed"), rows[0])
    refs = ", ".join(f"{m} {ref[m + '_real']:.3g}" for m in SHOWN
                     if ref.get(m + "_real") is not None)
    lines += ["", f"Raw generator's metrics at the last evaluation, mean ± s.e. over seeds "
              f"(ndb_missing: the share of the data in NDB bins the samples miss). Real images "
              f"against real: {refs}. {collapse.rule_text()}"]
    agree, total = sum(r["modes_agree"] for r in rows), sum(r["modes_evals"] for r in rows)
    if total:
        lines += ["", f"On stacked-digits the weight-free rule alone (precision, near-duplicates, "
                  f"missed bins) and the known-modes rule alone (digit triples) agree on {agree} "
                  f"of {total} evaluations ({100 * agree / total:.1f}%; both generators, after "
                  "step 0)."]
    # A resumed run's wall time is its last session's only: the share counts the runs trained in
    # one session.
    timed = [r for r in rows if r["status"] != "failed" and not r.get("resumed")]
    wall = sum(r["wall_s"] or 0.0 for r in timed)
    if wall > 0 and all(r.get("eval_s") is not None for r in timed):  # older runs: not timed
        share = sum(r["eval_s"] for r in timed) / wall
        which = ("" if len(timed) == len(rows) else
                 f" ({len(timed)} of {len(rows)} runs; the others were resumed)")
        lines += ["", "Evaluation (metrics of both generators, sample grids, best checkpoint) "
                  f"took {100 * share:.1f}% of the runs' {wall / 60:.1f} min of wall time"
                  f"{which}."]
    if note:
        lines += ["", note]
    files.write_text(path, "\n".join(lines) + "\n")


def inception_lines(rows: list[dict]) -> list[str]:
    """The table of FID / KID / PR (EMA generator, last evaluation) when the runs logged them;
    refused across different sample counts (FID's bias depends on N)."""
    have = [r for r in rows if any(r.get(m) is not None for m in INCEPTION)]
    if not have:
        return []
    ns = sorted({(r["fid_n"], r.get("fid_features")) for r in have}, key=str)
    if len(ns) > 1:
        raise UserError("the runs' FIDs were measured on different sample counts or networks "
                        f"({', '.join(f'N={n} {f}' for n, f in ns)}): FID is biased by N, so "
                        "they are not compared; re-run with one --fid-n")
    n, feats = ns[0]
    shown = [m for m in INCEPTION if any(r.get(m) is not None for r in have)]
    lines = ["", f"Inception metrics of the EMA generator at the last evaluation, mean ± s.e. over "
             f"seeds (N = {n:,} generated and {n:,} real images; features: {feats}):", ""]
    cells = [[_label(variant, lr), *(fmt(*mean_se([r[m] for r in group]), 4 if m == "kid" else 3)
                                     for m in shown)]
             for (variant, lr), group in groups(have, "variant", "lr_asked").items()]
    return lines + markdown_table(["variant", *shown], cells)


def _lr_text(c: dict) -> str:
    return f"{c['lr_d']:g}" if c["lr_d"] == c["lr_g"] else f"D {c['lr_d']:g} / G {c['lr_g']:g}"


def _param_counts(c: dict) -> tuple[int, int]:
    from imagegan.models import Generator
    from toygan.losses import OBJECTIVES

    G = Generator(c["size"], c["width"], c["z_dim"])
    D = make_critic(OBJECTIVES[c["loss"]].output, c["size"], c["width"], c["d_norm"],
                    c["spectral_norm"], pack=c["pack"], mbstd=c["mbstd"])
    return count_params(G), count_params(D)


def _onset_text(group: list[dict]) -> str:
    n = len(group)
    parts = []
    for word, what in (("lost", "collapsed"), ("recovered", "collapsed and recovered"),
                       ("never", "never became healthy")):
        hit = [r for r in group if r["status"] == word]
        if hit:
            s = mean_se([r["onset_step"] for r in hit])
            e = mean_se([r["onset_epoch"] for r in hit])
            each = ", ".join(f"{r['onset_step']:,} / {r['onset_epoch']:.2f}"
                             + (f" {r['kind']}" if r.get("kind") else "") for r in hit)
            parts.append(f"step {s[0]:,.0f} / epoch {e[0]:.2f} (mean of the {len(hit)}/{n} runs "
                         f"that {what}: {each})")
    for word, what in (("late", "became healthy only in the final stretch"),
                       ("diverged", "diverged"),
                       ("failed", "failed (results.csv has the error)")):
        k = sum(r["status"] == word for r in group)
        if k:
            parts.append(f"{k}/{n} runs {what}")
    kept = [r for r in group if r["status"] == "kept"]
    if kept and parts:
        parts.append(f"{len(kept)}/{n} kept")
    if parts:
        return "; ".join(parts)
    last = min((r["final_epoch"] for r in kept if r.get("final_epoch") is not None), default=None)
    through = f" through epoch {last:.2f}" if last is not None else ""
    return f"no collapse ({len(kept)}/{n} runs kept their variety{through})"


def write_figures(rows: list[dict], out: Path) -> None:
    pictures.use_agg()
    import matplotlib.pyplot as plt

    theme()
    metrics = [m for m in SHOWN if rows[0].get(m) is not None]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 4), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        # Against epochs: objectives with n_critic > 1 take fewer generator steps per epoch.
        curves = [{"variant": r["variant"] + (f" @ {r['lr_asked']:g}" if r["lr_asked"] else ""),
                   "seed": r["seed"], "epoch": s["epoch"],
                   "value": s.get(collapse.RAW + m, s.get(m))}
                  for r in rows for s in files.read_jsonl(out / "runs" / r["run"] / "stats.jsonl")
                  if s.get(m) is not None and s.get("epoch") is not None]
        plot_curves(ax, curves, m, f"{m} (raw generator)", x="epoch")
        ref = rows[0].get(m + "_real")
        if ref is not None:
            ax.axhline(ref, color="k", ls="--", lw=1, label="real data")
            line = _verdict_line(m, ref)
            if line is not None:
                ax.axhline(line, color="firebrick", ls=":", lw=1.2, label="verdict line")
            ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    pictures.save_figure(fig, out / "curves.png")
    (out / "grids").mkdir(exist_ok=True)
    for r in rows:
        for which, tag in (("G", "-raw"), ("G_ema", "")):
            G, _, _ = checkpoint.generator_from_run(out / "runs" / r["run"], weights=which)
            imdata.save_image(out / "grids" / f"{r['run']}{tag}.png",
                              imdata.grid_image(generate(G, 64, seed=0)))
    _collapsed_vs_mitigated(rows, out)
    _side_by_side(rows, out)
    _onsets(rows, out)


KIND_STYLE = {"modes dropped": ("v", "tab:orange"), "near-copies": ("X", "tab:red"),
              collapse.BOTH: ("D", "darkred"), None: ("o", "dimgrey")}


def _onsets(rows: list[dict], out: Path) -> None:
    """``onsets.png``: the onset table against epochs — each run's onset (marker: which collapse
    it began with), or a bar to the last epoch for a run that kept its variety."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(_label(r["variant"], r["lr_asked"]) for r in rows))
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(labels) + 2.2))
    seen = set()
    for r in rows:
        y = labels.index(_label(r["variant"], r["lr_asked"])) + 0.12 * (r["seed"] % 5 - 2)
        if r["status"] in ("lost", "recovered", "never") and r.get("onset_epoch") is not None:
            first = (r.get("kind") or "").split(", then ")[0] or None
            marker, color = KIND_STYLE.get(first, KIND_STYLE[None])
            label = f"onset: {first or 'unrealistic'}"
            ax.plot(r["onset_epoch"], y, marker, color=color, ms=8, ls="none",
                    label=None if label in seen else label)
            seen.add(label)
        elif r["status"] in ("kept", "late") and r.get("final_epoch") is not None:
            label = "no collapse through the last epoch"
            ax.plot([0, r["final_epoch"]], [y, y], color="tab:green", lw=2,
                    label=None if label in seen else label)
            ax.plot(r["final_epoch"], y, ">", color="tab:green", ms=7)
            seen.add(label)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("epoch (of the images the critic reads)")
    ax.set_title("When each run's collapse started (one row per model, one mark per seed)")
    # Below the axes, so no mark is hidden behind it.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    pictures.save_figure(fig, out / "onsets.png")


def _side_by_side(rows: list[dict], out: Path) -> None:
    """``grids.png``: every variant's final raw generator, first seed and learning rate, with
    its status — the onset table as pictures (up to 8 variants)."""
    import matplotlib.pyplot as plt

    first = rows[0]
    pick = [r for r in rows if r["seed"] == first["seed"] and r["lr_asked"] == first["lr_asked"]]
    if not 2 <= len(pick) <= 8:
        return
    fig, axes = plt.subplots(1, len(pick), figsize=(3.2 * len(pick), 4.1), squeeze=False)
    for ax, r in zip(axes[0], pick, strict=True):
        ax.imshow(imdata_read(out / "grids" / f"{r['run']}-raw.png"))
        ax.axis("off")
        score = (f"{r['stacked_modes']:.0f} digit triples" if r.get("stacked_modes") is not None
                 else f"coverage {r['coverage']:.2f}")
        word = collapse.describe(r)
        if r["status"] == "kept" and r.get("final_epoch") is not None:
            word = f"kept through epoch {r['final_epoch']:.2f}"
        ax.set_title(f"{r['variant']}\n{textwrap.fill(word, 34)}\n{score}", fontsize=9)
    fig.suptitle(f"Raw generators at the last step, seed {first['seed']}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    pictures.save_figure(fig, out / "grids.png")


def _verdict_line(metric: str, real: float) -> float | None:
    """Where the collapse rule draws its line on ``metric`` given the real images' value."""
    if metric == "precision":
        return collapse.PRECISION_FRACTION * real
    if metric == "duplicates":
        return collapse.duplicates_limit(real)
    if metric == "stacked_modes":
        return collapse.STACKED_FRACTION * real
    if metric == "ndb_missing":
        return collapse.missing_limit(real)
    return None


def _collapsed_vs_mitigated(rows: list[dict], out: Path) -> None:
    import matplotlib.pyplot as plt

    base = rows[0]["variant"]
    pick = [r for r in rows if r["seed"] == rows[0]["seed"] and r["lr_asked"] == rows[0]["lr_asked"]
            and (r["variant"] == base or r["variant"].startswith(base + "+"))]
    fig, axes = plt.subplots(1, len(pick), figsize=(3.2 * len(pick), 3.8), squeeze=False)
    for ax, r in zip(axes[0], pick, strict=True):
        ax.imshow(imdata_read(out / "grids" / f"{r['run']}-raw.png"))
        ax.axis("off")
        score = f"coverage {r['coverage']:.2f}" if r.get("coverage") is not None else ""
        if r.get("stacked_modes") is not None:
            score += f", {r['stacked_modes']:.0f} triples"
        ax.set_title(f"{r['variant']}\n{collapse.describe(r)}\n{score}", fontsize=8)
    fig.suptitle(f"{base} and its mitigations: raw generator at the last step, seed "
                 f"{rows[0]['seed']}, same optimiser and steps", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    pictures.save_figure(fig, out / "collapsed-vs-mitigated.png")


def imdata_read(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.compare", description=__doc__.split("\n\n")[0])
    add_config_flags(p, ImageStudyConfig)
    add_config_flags(p, ClusterConfig, skip=("runs_per_task",))  # one image run per task
    add_study_flags(p, "runs/imagegan-compare")
    p.add_argument("--report", action="store_true",
                   help="write the tables and figures from the runs finished so far and train "
                        "nothing (a long study still training, or stopped; --resume finishes it)")
    return p


def report(sc: ImageStudyConfig, plan, out: Path, argv=None) -> Path:
    """``--report``: results.csv, table.md and figures of the study's finished runs (those with
    ``done.json``), the rest named as still to train; the runs and study.json are not touched."""
    if not (out / "runs").is_dir():
        raise UserError(f"{out} holds no study runs to report (train them first)")
    rows = []
    for v, lr, s, cfg in plan:
        d = _run_dir(out, v, lr, s, cfg.data)
        info = read_done(d)
        if info is not None:
            rows.append(result_row(v, lr, d, info))
    if not rows:
        raise UserError(f"no run of {out} has finished yet: nothing to report")
    note = None
    if len(rows) < len(plan):
        study = command_line("imagegan.compare", [a for a in (argv or []) if a != "--report"])
        note = (f"{len(rows)} of the study's {len(plan)} runs have finished: this table covers "
                f"those (`{study} --resume` trains the rest).")
    write_csv(rows, out / "results.csv")
    write_table(rows, out / "table.md", note)
    finished = [r for r in rows if r["status"] != "failed"]
    if finished:
        write_figures(finished, out)
    return out


def run(typed: dict, cluster: ClusterConfig | None = None, *,
        out="runs/imagegan-compare", resume: bool = False, overwrite: bool = False,
        quiet: bool = False, report_only: bool = False, argv=None) -> Path:
    """``python -m imagegan.compare``: the study that the fields ``typed`` of
    :class:`ImageStudyConfig` ask for (``quick`` fills what they leave unset), one run per task
    on ``cluster``'s engine (serial by default), or with ``report_only`` the tables and figures
    of its runs finished so far; returns the study folder. ``argv``: the command line recorded
    in study.json."""
    sc = ImageStudyConfig.from_typed(typed)
    cc = checked_cluster(cluster or ClusterConfig())
    plan = sc.plan()
    if report_only:
        return report(sc, plan, Path(out), argv)
    n_images = len(imdata.load(plan[0][3].data, plan[0][3].size, sc.cache_dir,
                               progress=not quiet))
    out = open_study(Path(out), resume, overwrite)
    t0 = time.time()
    # One task per run, weighted by (n_critic + 1) updates per step so that the ETA is honest
    # across objectives; a run on CUDA asks Ray for a GPU.
    gpus = {"cpu": 0.0, "cuda": 1.0, "auto": None}[sc.device]
    dirs = [_run_dir(out, v, lr, s, cfg.data) for v, lr, s, cfg in plan]
    tasks = [Task(d.name, _train_one, (cfg, d, resume),
                  cost=_steps(cfg, n_images) * (cfg.resolved().n_critic + 1), gpus=gpus)
             for (*_, cfg), d in zip(plan, dirs, strict=True)]
    outcomes = run_tasks(tasks, cc, out, progress=not quiet, desc="image study",
                         unit="update")
    rows = [result_row(v, lr, d, o.value) if o.error is None
            else failed_row(v, lr, d, cfg, o.error)
            for (v, lr, _, cfg), d, o in zip(plan, dirs, outcomes, strict=True)]
    write_csv(rows, out / "results.csv")
    write_table(rows, out / "table.md")
    finished = [r for r in rows if r["status"] != "failed"]
    if finished:
        write_figures(finished, out)
    log_session(out, "imagegan.compare", argv, time.time() - t0,
                study_config=dataclasses.asdict(sc), runs=len(rows))
    return out


def execute(ns, argv=None) -> Path:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(given(ns, ImageStudyConfig), cluster_config(ns), out=ns.out, resume=ns.resume,
               overwrite=ns.overwrite, quiet=ns.quiet, report_only=ns.report, argv=argv)


def main(argv=None) -> int:
    out = execute(build_parser().parse_args(argv), argv)
    for name in ("results.csv", "table.md", "curves.png", "collapsed-vs-mitigated.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    run_main(main)
