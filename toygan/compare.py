"""The mode-collapse study: a grid of (objective or mitigation) x seed x data set, one folder.

    python -m toygan.compare --quick --out runs/study-quick       # smoke version
    python -m toygan.compare --out runs/study                     # the full default study
    python -m toygan.compare --variants bce,bce+unroll=5,wgan-gp --seeds 3 --data ring
    python -m toygan.compare --preset pacgan --variants bce,bce+pack=2 --steps 5000  # the paper's
    python -m toygan.compare --out runs/study --resume            # continue an interrupted study

A variant is ``LOSS[+MITIGATION[=VALUE]...]`` (``toygan.variants``): ``bce+unroll=5``,
``bce+unroll-fo=5`` (first-order unrolling), ``bce+pack=2``, ``bce+mbstd``, ``bce+sn``,
``bce+r1=1``. Every run trains with the ``study`` preset (``toygan.presets``: the slide
configuration, 3x128 MLPs, critic lr 2e-4 vs generator lr 1e-3, in which BCE collapses) plus the
variant's settings, and writes its records under ``OUT/runs/VARIANT-DATA-seedS``. Then, read from
those records:

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

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

from toygan import files, losses, metrics, pictures
from toygan import status as runstatus
from toygan.batched import train_runs
from toygan.cli import Parser, run_main
from toygan.cluster import ClusterConfig, Task, checked_cluster, cluster_config, run_tasks
from toygan.config import BIG, add_config_flags, build, given, option
from toygan.data import make_dataset
from toygan.errors import UserError
from toygan.metrics import kl_min_hq
from toygan.presets import PRESETS
from toygan.study import (
    add_study_flags,
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
from toygan.train import TrainConfig
from toygan.variants import parse_variant, parse_variants, run_name

OBJECTIVE_VARIANTS = list(losses.OBJECTIVES)
# First-order unrolling in the default study: it costs a third of the paper's second-order
# version, and did as well on the Unrolled-GAN ring (reproductions/unrolled-mog).
MITIGATION_VARIANTS = ["bce+unroll-fo=5", "bce+pack=2", "bce+mbstd", "bce+sn", "bce+r1=1"]
DEFAULT_VARIANTS = OBJECTIVE_VARIANTS + MITIGATION_VARIANTS
DEFAULT_DATA = ["ring", "grid"]
# With --preset, the study starts from a published configuration and its papers' data sets.
PRESET_DATA = {"pacgan": ["ring-pacgan", "grid-pacgan"], "unrolled": ["ring-unrolled"],
               "wgan-gp-toy": ["8gaussians", "25gaussians"]}
STUDY_BASE = dict(PRESETS["study"], preset="study")
# --quick: small enough for a test, and it shows what the full study shows (BCE collapses,
# unrolling restores modes, WGAN-GP keeps them all): see tests/test_compare.py.
QUICK = dict(variants="bce,bce+unroll-fo=5,wgan-gp", data="ring", seeds=2, steps=1000)


@dataclass
class StudyConfig:
    """What the study trains."""

    variants: str = option(",".join(DEFAULT_VARIANTS), "comma-separated LOSS[+mitigation[=value]] "
                           "(default: every objective and bce with each mitigation)")
    data: str | None = option(None, f"comma-separated data specs (default {','.join(DEFAULT_DATA)}"
                              ", or the preset's papers' data sets)")
    preset: str | None = option(None, "start every run from a published configuration "
                                "(toygan.presets) instead of the study configuration",
                                choices=list(PRESET_DATA))
    seeds: int = option(5, "seeds 0..N-1", ge=1, le=1000)
    steps: int | None = option(None, "generator updates per run (default: the configuration's)",
                               ge=1, le=BIG)
    quick: bool = option(False, f"smoke version: {QUICK['variants']} on the ring, "
                         f"{QUICK['seeds']} seeds, {QUICK['steps']} steps (for every one of these "
                         "options not given)")

    @classmethod
    def from_typed(cls, typed: dict) -> StudyConfig:
        """The config of what the user typed; ``quick`` fills only the options left unset."""
        if typed.get("quick"):
            typed = {**QUICK, **typed}
        return build(cls, typed)

    def plan(self) -> tuple[list[str], list[str], list[int], dict]:
        """(variants, data sets, seeds, base config) — checked, before anything is written."""
        variants = parse_variants(self.variants)
        default = PRESET_DATA[self.preset] if self.preset else DEFAULT_DATA
        data = [d.strip() for d in (self.data or ",".join(default)).split(",") if d.strip()]
        seeds = self.seeds
        base = dict(PRESETS[self.preset], preset=self.preset) if self.preset else STUDY_BASE
        if self.steps is not None:
            base = dict(base, steps=self.steps)
        if not data:
            raise UserError("no data set given")
        for d in data:
            make_dataset(d)
        return variants, data, list(range(seeds)), base


def run_configs(variant: str, data_sets, seeds, base: dict,
                eval_every: int | None = None) -> list[TrainConfig]:
    """The checked configs of one variant's runs (every data set and seed), evaluated every
    ``eval_every`` steps (twelve times over the run when None)."""
    steps = base.get("steps", TrainConfig.steps)
    every = max(steps // 12, 1) if eval_every is None else eval_every  # twelve by default
    cfgs = [build(TrainConfig, dict(base, data=d, seed=s, snapshots=2, eval_every=every,
                                    **parse_variant(variant)))
            for d in data_sets for s in seeds]
    for c in cfgs:
        c.resolved()
    return cfgs


def run_status(history, n_modes, diverged_at=None) -> str:
    """The run's status in the one vocabulary of 2D and image runs (kept, late, recovered, lost,
    never, diverged; ``n/a`` for data without known modes), each evaluation healthy when it
    covers every mode (:func:`toygan.status.coverage_status`, which also gives the onset)."""
    return runstatus.coverage_status(history, n_modes, diverged_at)["status"]


def result_row(variant: str, run_dir: Path, diverged_at) -> dict:
    """One results.csv row, read from a finished run's records."""
    import json

    cfg = json.loads((run_dir / "config.json").read_text())
    history = files.read_jsonl(run_dir / "stats.jsonl")
    n_modes = make_dataset(cfg["data"]).n_modes
    last = next((r for r in reversed(history) if "sliced_w1" in r), {})
    coverage = [r["modes_covered"] for r in history if r.get("modes_covered") is not None]
    health = runstatus.coverage_status(history, n_modes, diverged_at)
    status = health["status"]
    return {"variant": variant, "run": run_dir.name, **cfg,
            "modes_covered": last.get("modes_covered"), "n_modes": n_modes,
            "hq_frac": last.get("hq_frac"), "reverse_kl": last.get("reverse_kl"),
            "sliced_w1": last.get("sliced_w1"), "peak_modes": max(coverage, default=None),
            "diverged_at": diverged_at, "status": status,
            "collapse_onset": health["onset_step"] if status == "lost" else None}


def failed_row(variant: str, run_dir: Path, cfg: TrainConfig, error: str) -> dict:
    """The results.csv row of a run whose training raised: its config, no metrics."""
    return {"variant": variant, "run": run_dir.name, **dataclasses.asdict(cfg.resolved()),
            "modes_covered": None, "n_modes": make_dataset(cfg.data).n_modes, "hq_frac": None,
            "reverse_kl": None, "sliced_w1": None, "peak_modes": None, "diverged_at": None,
            "status": "failed", "collapse_onset": None, "error": error}


def train_group(cfgs: list[TrainConfig], run_dirs: list[Path],
                command: str | None = None) -> list[dict]:
    """Train one variant's runs together, mark each done; returns their ``done.json`` infos.
    (A study's unit of work, serially or as a Ray task: ``toygan.cluster``.)"""
    t0 = time.time()
    recs = train_runs(cfgs, run_dirs, progress=False, overwrite=True)
    # train_s: the group's wall time, kept with each run (with the group's size and the command
    # that trained it) so that a table knows which invocation made each row and how long it took.
    done = [{"diverged_at": r.diverged_at, "train_s": round(time.time() - t0, 1),
             "group_runs": len(cfgs), "command": command} for r in recs]
    for d, info in zip(run_dirs, done, strict=True):
        mark_done(d, info)
    return done


def study(variants, data_sets, seeds, out: Path, base: dict, progress=True,
          overrides: dict[str, dict] | None = None,
          cluster: ClusterConfig | None = None, eval_every: int | None = None,
          command: str | None = None) -> list[dict]:
    """Train every run not yet done (records under out/runs) and return one row per run.

    The runs of one variant share an architecture, so they are trained together as one stacked
    computation (``toygan.batched``): one task, serially or on Ray (``cluster``). A variant whose
    runs all hold ``done.json`` is skipped. A group that raises gives rows with status
    ``failed`` and the others go on. ``overrides``: config fields of particular variants
    (PacGAN's batch of 100 packs).
    """
    overrides = overrides or {}
    plan = []
    for v in variants:
        cfgs = run_configs(v, data_sets, seeds, dict(base, **overrides.get(v, {})), eval_every)
        plan.append((v, cfgs, [out / "runs" / run_name(v, c.data, c.seed) for c in cfgs]))
    cluster = cluster or ClusterConfig()
    todo = []  # (variant, configs, folders) of each task: a variant's group, or a slice of it
    for v, cfgs, dirs in plan:
        size = cluster.runs_per_task or len(cfgs)
        todo += [(v, cfgs[i:i + size], dirs[i:i + size]) for i in range(0, len(cfgs), size)
                 if not all(read_done(d) for d in dirs[i:i + size])]
    tasks = [Task(f"{v} ({len(cfgs)} runs)", train_group, (cfgs, dirs, command), cost=len(cfgs))
             for v, cfgs, dirs in todo]
    outcomes = run_tasks(tasks, cluster, out, progress)
    errors = {d: o.error for (_, _, dirs), o in zip(todo, outcomes, strict=True) if o.error
              for d in dirs}
    rows = []
    for variant, cfgs, run_dirs in plan:
        for cfg, d in zip(cfgs, run_dirs, strict=True):
            info = read_done(d)
            rows.append(failed_row(variant, d, cfg, errors.get(d, "not finished"))
                        if info is None else result_row(variant, d, info["diverged_at"]))
    return rows


def summary(rows) -> list[dict]:
    """Per (variant, data): mean and s.e. of the final metrics over seeds."""
    out = []
    for (variant, data), group in groups(rows, "variant", "data").items():
        collapsed = [r["collapse_onset"] for r in group if r["status"] == "lost"]
        out.append({
            "variant": variant, "data": data, "seeds": len(group),
            "n_modes": group[0]["n_modes"],
            "modes": mean_se([r["modes_covered"] for r in group]),
            "hq": mean_se([r["hq_frac"] for r in group]),
            # Reverse KL of the trials with enough high-quality samples (metrics.kl_min_hq).
            "kl": mean_se(kl := [r["reverse_kl"] for r in group if _kl_counts(r)]),
            "kl_trials": len(kl),
            "w1": mean_se([r["sliced_w1"] for r in group]),
            "count": status_counts(group),
            "onset": mean_se(collapsed),
            "example": group[0],
        })
    return out


def _homework_row(g) -> list[str]:
    c, cnt, n = g["example"], g["count"], g["seeds"]
    gen = f"MLP {c['g_depth']}x{c['g_width']} {c['activation']}, z {c['z_dim']}"
    critic = f"MLP {c['d_depth']}x{c['d_width']} {c.get('d_activation') or c['activation']}"
    critic += f", pack {c['pack']}" if c["pack"] > 1 else ""
    critic += ", minibatch std" if c.get("mbstd") else ""
    critic += ", spectral norm" if c.get("spectral_norm") else ""
    loss = c["loss"] + (f" + R1 {c['r1_weight']:g}" if c.get("r1_weight") else "")
    loss += f", unrolled {c['unroll']} ({c['unroll_mode']})" if c.get("unroll") else ""
    opt = f"{c['optimizer']} lr D {c['lr_d']:g} / G {c['lr_g']:g}, n_critic {c['n_critic']}"
    parts = []
    if cnt["lost"]:
        parts.append(f"{g['onset'][0]:.0f} (mean of the {cnt['lost']}/{n} runs that collapsed)")
    if cnt["recovered"]:
        parts.append(f"{cnt['recovered']}/{n} runs lost modes and covered them all again")
    if cnt["late"]:
        parts.append(f"{cnt['late']}/{n} runs covered every mode only in the last quarter")
    if cnt["never"]:
        parts.append(f"{cnt['never']}/{n} runs never covered all {g['n_modes']} modes")
    if cnt["diverged"]:
        parts.append(f"{cnt['diverged']}/{n} runs diverged")
    if cnt["failed"]:
        parts.append(f"{cnt['failed']}/{n} runs failed (see results.csv's error)")
    onset = "; ".join(parts) or (f"no collapse ({cnt['kept']}/{n} runs keep every mode)"
                                 if g["n_modes"] else "n/a: no known modes (see sliced W1)")
    return [f"{g['variant']} ({g['data']})", gen, critic, loss, opt, onset]


GRID_NOTE = " (published WGAN-GP covers 24.2 of the 25-Gaussian grid's modes, GDPP's table)"
LEARNED = 0.8  # a data set is learned by a variant covering 80% of its modes (20 of 25)


def unlearned(summaries) -> list[str]:
    """A sentence for each data set with known modes that no variant learned (mean coverage
    below ``LEARNED`` of its modes): its rows say what the budget did, not what the objectives
    can do."""
    out = []
    for data in dict.fromkeys(g["data"] for g in summaries):
        gs = [g for g in summaries if g["data"] == data and g["n_modes"]
              and math.isfinite(g["modes"][0])]
        if not gs or any(g["modes"][0] >= LEARNED * g["n_modes"] for g in gs):
            continue
        best = max(gs, key=lambda g: g["modes"][0])
        out.append(f"**No variant learned `{data}` within this study's budget** (best: "
                   f"{best['modes'][0]:.1f} of {best['n_modes']} modes, {best['variant']}; "
                   f"learned = {LEARNED:.0%} of the modes covered): its rows show what "
                   f"{best['example']['steps']:,} steps do, not what the objectives can do on "
                   f"it{GRID_NOTE if data.startswith('grid') else ''} — give it more `--steps`.")
    return out


def _kl_cell(g: dict) -> str:
    if g["kl_trials"] == 0:
        return "—"
    text = fmt(*g["kl"], 3)
    return text if g["kl_trials"] == g["seeds"] else f"{text} ({g['kl_trials']}/{g['seeds']})"


def _kl_counts(r: dict) -> bool:
    """Does this run's reverse KL count (defined, from enough high-quality samples)?"""
    if r["reverse_kl"] is None or r["hq_frac"] is None or not r["n_modes"]:
        return False
    return r["hq_frac"] * r["eval_samples"] >= kl_min_hq(r["n_modes"])


def write_table(rows, path: Path) -> None:
    s = summary(rows)
    cells = []
    for g in s:
        modes = f"{fmt(*g['modes'], 1)} / {g['n_modes']}" if g["n_modes"] else "— (no known modes)"
        cells.append([g["variant"], g["data"], modes, fmt(*g["hq"], 1, 100), _kl_cell(g),
                      fmt(*g["w1"], 3), counts_text(g["count"]), fmt(*g["onset"], 0)])
    lines = markdown_table(["variant", "data", "modes covered", "% high-quality", "reverse KL",
                            "sliced W1", "runs kept / late / recovered / lost / never",
                            "collapse onset (step)"], cells)
    lines += ["", "Mean ± standard error over seeds, at the last step. A run's status "
              "(toygan.status, the image study's vocabulary), an evaluation being healthy when it "
              "covers every mode: *kept* = every mode over the last quarter of the steps, never "
              "missing one for two evaluations in a row since it first covered them all; *late* "
              "= every mode only within that last quarter; *recovered* = missed modes for two or "
              "more evaluations in a row, every mode at the end; *lost* = covered every mode, "
              "then missed some to the end (mode collapse; onset = the first evaluation of that "
              "final stretch); *never* = never covered every mode. Reverse KL averages the runs "
              f"with at least {metrics.KL_MIN_HQ_PER_MODE} high-quality samples per mode (how "
              "many, when not all; — when none): at fewer, even a uniform generator scores well "
              "above 0. Sliced W1: sliced Wasserstein-1 distance between 2500 "
              "real and generated samples (any data set)."]
    lines += [f"\n{line}" for line in unlearned(s)]
    lines += ["", *markdown_table(["model", "generator", "critic", "loss", "optimizer",
                                   "step at which collapse began"], [_homework_row(g) for g in s])]
    files.write_text(path, "\n".join(lines) + "\n")


def plot(rows, out: Path) -> None:
    """coverage.png and final.png, drawn from the run records."""
    pictures.use_agg()
    import matplotlib.pyplot as plt

    from toygan.render import Run

    theme()
    datas = list(dict.fromkeys(r["data"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    rows = [r for r in rows if r["status"] != "failed"]  # no records to draw
    fig, axes = plt.subplots(1, len(datas), figsize=(6.5 * len(datas), 4.5), squeeze=False)
    for ax, data in zip(axes[0], datas, strict=True):
        # Mixtures: modes covered; data without known modes: the sliced W1 distance.
        has_modes = any(r["n_modes"] for r in rows if r["data"] == data)
        key, label = (("modes_covered", "modes covered") if has_modes
                      else ("sliced_w1", "sliced W1 to the data"))
        curves = [{"variant": r["variant"], "seed": r["seed"], "step": s["step"], "value": s[key]}
                  for r in rows if r["data"] == data
                  for s in files.read_jsonl(out / "runs" / r["run"] / "stats.jsonl")
                  if s.get(key) is not None]
        plot_curves(ax, curves, label, f"{label} — {data}")
    fig.tight_layout()
    pictures.save_figure(fig, out / "coverage.png")

    fig, axes = plt.subplots(len(datas), len(variants),
                             figsize=(2.2 * len(variants), 2.4 * len(datas)), squeeze=False)
    firsts = {k: min(g, key=lambda r: r["seed"]) for k, g in groups(rows, "data", "variant")
              .items()}
    for i, data in enumerate(datas):
        for j, v in enumerate(variants):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            first = firsts.get((data, v))
            if first is None:
                ax.set_title(f"{v}\n{data}: failed", fontsize=8)
                continue
            run = Run.load(out / "runs" / first["run"])
            _final_samples(ax, run)
            score = (f"{first['modes_covered']}/{first['n_modes']}" if first["n_modes"]
                     else f"W1 {first['sliced_w1']:.3f}" if first["sliced_w1"] is not None
                     else "diverged")
            ax.set_title(f"{v}\n{data}: {score}", fontsize=8)
    fig.tight_layout()
    pictures.save_figure(fig, out / "final.png")


def _final_samples(ax, run) -> None:
    from toygan.render import FAKE_COLOR, REAL_COLOR

    xmin, xmax, ymin, ymax = run.snap["extent"]
    ax.scatter(*run.snap["real"].T, s=2, c=REAL_COLOR, alpha=0.5, lw=0)
    ax.scatter(*run.snap["fake"][-1].T, s=2, c=FAKE_COLOR, alpha=0.8, lw=0)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.compare", description=__doc__.split("\n\n")[0])
    add_config_flags(p, StudyConfig)
    add_config_flags(p, ClusterConfig)
    add_study_flags(p, "runs/compare")
    return p


def run(typed: dict, cluster: ClusterConfig | None = None, *, out="runs/compare",
        resume: bool = False, overwrite: bool = False, quiet: bool = False,
        argv=None) -> Path:
    """``python -m toygan.compare``: the study that the fields ``typed`` of :class:`StudyConfig`
    ask for (``quick`` fills what they leave unset), on ``cluster``'s engine (serial by default);
    returns the study folder. ``argv``: the command line recorded in study.json."""
    sc = StudyConfig.from_typed(typed)
    cc = checked_cluster(cluster or ClusterConfig())
    variants, data_sets, seeds, base = sc.plan()
    for v in variants:  # every config checked before a folder is made
        run_configs(v, data_sets, seeds[:1], base)
    out = open_study(Path(out), resume, overwrite)
    t0 = time.time()
    rows = study(variants, data_sets, seeds, out, base, progress=not quiet, cluster=cc)
    write_csv(rows, out / "results.csv")
    write_table(rows, out / "table.md")
    plot(rows, out)
    log_session(out, "toygan.compare", argv, time.time() - t0, variants=variants, data=data_sets,
                seeds=len(seeds), base=base, study_config=dataclasses.asdict(sc),
                train_config_defaults=dataclasses.asdict(TrainConfig()))
    return out


def execute(ns, argv=None) -> Path:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(given(ns, StudyConfig), cluster_config(ns), out=ns.out, resume=ns.resume,
               overwrite=ns.overwrite, quiet=ns.quiet, argv=argv)


def main(argv=None) -> int:
    out = execute(build_parser().parse_args(argv), argv)
    for name in ("results.csv", "table.md", "coverage.png", "final.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    run_main(main)
