"""Published toy tables reproduced, with the papers' numbers printed beside ours.

    python -m toygan.reproduce --list
    python -m toygan.reproduce pacgan-ring                       # the full protocol (long)
    python -m toygan.reproduce pacgan-ring --steps 20000 --seeds 5   # shortened
    python -m toygan.reproduce pacgan-ring --resume              # continue after a stop
    python -m toygan.reproduce unrolled-mog --quick              # a smoke version, ~1 minute

Each entry of :data:`TABLES` is one published table: the paper's architecture, optimiser,
batch size, number of training iterations and number of trials (each value with where it comes
from), its metric definitions, and its numbers. The runs are a ``toygan.compare`` study (stacked
runs, resumable: a run that finished is never trained again), then ``table.md`` puts, per row,
ours (mean ± s.e. over trials, and median [interquartile range]) beside the paper's mean ± s.e.,
and how many of the paper's standard errors apart the two means are.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from toygan import files
from toygan.cli import Parser, comma_list, run_main
from toygan.cluster import ClusterConfig, checked_cluster, cluster_config
from toygan.compare import plot, run_configs, study
from toygan.config import BIG, add_config_flags, build, check, given, option
from toygan.errors import UserError
from toygan.metrics import kl_min_hq, uniform_kl
from toygan.presets import PRESETS
from toygan.study import (
    add_study_flags,
    command_line,
    fmt,
    groups,
    log_session,
    mean_se,
    median_iqr,
    open_study,
    read_done,
    write_csv,
)
from toygan.tables import markdown_table
from toygan.train import TrainConfig

PACGAN_CODE = "github.com/fjxmlzn/PacGAN, synthetic_data_experiments/2D{Ring,Grid}_GAN&PacGAN"
# Commit 97f07b7 of akashgit/VEEGAN is an unmerged pull request (refs/pull/5/head), not the
# authors' notebook (commit 1cf5017, whose blob the stored snapshot lacks); the settings are read
# from a port that links to it. The authors' notebook trains the 25-mode grid; the ring's settings
# are PacGAN's, and no GAN-baseline code was released.
VEEGAN_CODE = ("github.com/akashgit/VEEGAN's VEEGAN_2D_RING.ipynb as changed by an unmerged pull "
               "request (commit 97f07b7, refs/pull/5/head; the authors' own notebook, commit "
               "1cf5017, is not in the stored snapshot), as ported in "
               "github.com/radarsat1/latentspace veegan_normal_mixture_keras.py, commit 304e3e5")
NOTEBOOK = "github.com/poolio/unrolled_gan, 'Unrolled GAN demo.ipynb' (the paper's second author)"


@dataclass(frozen=True)
class Table:
    """One published table: how to train its rows, and what the paper reports."""

    title: str
    paper: str
    base: dict                      # TrainConfig fields every run starts from
    data: tuple[str, ...]
    variants: dict[str, str]        # our variant -> the paper's row name
    steps: int
    seeds: int
    provenance: dict[str, str]      # setting -> where its value comes from
    metric: str                     # the paper's metric definitions, in words
    numbers: dict = field(default_factory=dict)  # (variant, data) -> {metric: (mean, se)}
    overrides: dict = field(default_factory=dict)  # variant -> config fields of its own
    note: str = ""
    tests: tuple[tuple[str, str], ...] = ()  # (variant a, variant b): is a's coverage higher?
    eval_every: int | None = None   # steps between evaluations (None: twelve over the run)


def _pacgan(data: str, numbers: dict) -> Table:
    rows = {"bce": "GAN", "bce+pack=2": "PacGAN2", "bce+pack=3": "PacGAN3",
            "bce+pack=4": "PacGAN4"}
    return Table(
        title=f"PacGAN Table 1, {'2D-ring' if 'ring' in data else '2D-grid'}",
        paper="Lin, Khetan, Fanti, Oh. PacGAN: the power of two samples in generative "
              "adversarial networks. NeurIPS 2018, Table 1",
        base=dict(PRESETS["pacgan"], preset="pacgan", init="normal-0.02", cover_frac=0.0,
                  eval_samples=2500, snapshot_points=480, update="simultaneous",
                  train_set=100_000),
        data=(data,), variants=rows, steps=400_000, seeds=10,
        # A PacGAN batch is 100 packs of m samples (the packed stream of the authors' code).
        overrides={v: {"batch_size": 100 * m} for v, m in (("bce+pack=2", 2), ("bce+pack=3", 3),
                                                            ("bce+pack=4", 4))},
        provenance={
            "data": f"{PACGAN_CODE}/config.py: ring of 8 at radius 1, std 0.01; grid "
                    "{-4,-2,0,2,4}^2, std 0.05",
            "architecture": f"{PACGAN_CODE}/pacgan_task.py: G 4x400 ReLU + BatchNorm, z 2; D 3 "
                            "maxout(5) layers of 200, linear output; packing concatenates m "
                            "samples, each from its own z",
            "optimiser": f"{PACGAN_CODE}/config.py: Adam lr 1e-4, beta1 0.8; weights "
                         "N(0, 0.02), biases 0",
            "updates": f"{PACGAN_CODE}/pacgan_task.py: ali_algorithm, both players' gradients "
                       "at the same weights, then both steps (--update simultaneous); the "
                       "generator minimises softplus(-D(fake)) (non-saturating)",
            "generator BatchNorm": f"{PACGAN_CODE}/pacgan_task.py: the generator is applied "
                                   "once per pack slot, so each slot's 100 samples are "
                                   "normalised on their own (SlotBatchNorm1d)",
            "training set": f"{PACGAN_CODE}/config.py num_sample and pacgan/datasets.py: 100,000 "
                            "samples drawn once; each pack slot a resample of them "
                            "(--train-set 100000; here every batch resamples with replacement)",
            "noise": f"{PACGAN_CODE}/config.py: circle_gaussian_mixture with one mode, r 0, "
                     "std 1 = N(0, I) in 2 dims",
            "batch size": f"{PACGAN_CODE}/config.py: 100 (packs of m samples for PacGANm)",
            "iterations": f"{PACGAN_CODE}/config.py: 400 epochs of 100,000 samples at batch "
                          "100 = 400,000 generator updates",
            "trials": f"{PACGAN_CODE}/config.py: run range(0, 10) = 10 per row",
        },
        metric="2500 samples; high quality = within 3 std of the nearest mode; a mode is "
               "covered when it is the nearest mode of at least one high-quality sample (the "
               "released MetricLogger in PacGAN/pacgan/extensions.py: VEEGAN's measure, which "
               "Table 1 says it uses; --min-hq 20 counts >= 20 instead, the rule this table "
               "used before 2026-12-02); reverse KL of the high-quality samples' mode "
               "histogram to uniform",
        numbers=numbers,
    )


def _n(modes, hq, kl):
    return {"modes": modes, "hq": hq, "kl": kl}


TABLES: dict[str, Table] = {
    "pacgan-ring": _pacgan("ring-pacgan", {
        ("bce", "ring-pacgan"): _n((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
        ("bce+pack=2", "ring-pacgan"): _n((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
        ("bce+pack=3", "ring-pacgan"): _n((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
        ("bce+pack=4", "ring-pacgan"): _n((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    }),
    "pacgan-grid": _pacgan("grid-pacgan", {
        ("bce", "grid-pacgan"): _n((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
        ("bce+pack=2", "grid-pacgan"): _n((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
        ("bce+pack=3", "grid-pacgan"): _n((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
        ("bce+pack=4", "grid-pacgan"): _n((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
    }),
    "veegan-2d": Table(
        title="VEEGAN Table 1, 2D ring and grid: GAN and Unrolled GAN",
        paper="Srivastava, Valkov, Russell, Gutmann, Sutton. VEEGAN: reducing mode collapse in "
              "GANs using implicit variational learning. NeurIPS 2017, Table 1",
        base=dict(PRESETS["veegan"], preset="veegan", cover_frac=0.0, eval_samples=2500),
        data=("ring-pacgan", "grid-pacgan"),
        variants={"bce": "GAN", "minimax": "GAN (minimax generator loss; not in the paper)",
                  "minimax+unroll=5": "Unrolled GAN"},
        # VEEGAN ran the Unrolled GAN row with its authors' implementation (Section 5.1): that
        # row keeps the notebook's networks and optimiser; the table's steps apply to every row.
        overrides={"minimax+unroll=5": {
            k: v for k, v in dict(PRESETS["unrolled"], preset="unrolled", init="orthogonal-1.4",
                                  update="simultaneous").items() if k not in ("data", "steps")}},
        steps=100_000, seeds=5, eval_every=1_000,
        provenance={
            "data": "VEEGAN's 2D ring and grid, the ones PacGAN reuses (ring radius 1, std 0.01; "
                    "grid spacing 2, std 0.05)",
            "architecture": f"{VEEGAN_CODE}: generator ('inference_network') 2x128 ReLU, linear "
                            "output, on 254 + 1 Gaussian noise dims; discriminator "
                            "('data_network') one ReLU hidden layer of 128 (its n_layers is "
                            "unused), a logit output; Glorot-uniform weights, zero biases "
                            "(slim.fully_connected's default)",
            "optimiser": f"{VEEGAN_CODE}: one Adam(1e-3, beta1 0.5) for every network; the GAN "
                         "row trains the notebook's networks with the non-saturating GAN loss "
                         "(the notebook's own generator loss is VEEGAN's; the paper says the "
                         "baselines share its networks)",
            "updates": "VEEGAN_2D_RING.ipynb (TensorFlow 1) runs both train ops in one "
                       "sess.run([..., train_gen_op, train_disc_op]): both players from the same "
                       "weights (--update simultaneous; the Keras port alternates)",
            "batch size": f"{VEEGAN_CODE}: 500",
            "iterations": f"{VEEGAN_CODE}: 100 epochs x 1,000 batches = 100,000",
            "Unrolled GAN row": f"{NOTEBOOK}: G and D 2x128 tanh, z 256, orthogonal init (gain "
                                "1.4), Adam D 1e-4 / G 1e-3, beta1 0.5, batch 512, 5 unrolling "
                                "steps, simultaneous updates (VEEGAN, Section 5.1: the Unrolled "
                                "GAN authors' reference implementation)",
            "trials": "VEEGAN, Section 5.1: averaged over five runs",
            "what was not released": "the authors' notebook trains the 25-mode grid (the ring "
                                     "settings here are PacGAN's, which reuses VEEGAN's data); "
                                     "no code for the GAN baseline exists",
        },
        metric="2500 samples; high quality = within 3 std of the nearest mode; a mode is "
               "captured if it is the nearest mode of at least one high-quality sample (VEEGAN "
               "reports no reverse KL and no standard errors)",
        numbers={
            ("bce", "ring-pacgan"): {"modes": (1.0, None), "hq": (99.3, None)},
            ("minimax+unroll=5", "ring-pacgan"): {"modes": (7.6, None), "hq": (35.6, None)},
            ("bce", "grid-pacgan"): {"modes": (3.3, None), "hq": (0.5, None)},
            ("minimax+unroll=5", "grid-pacgan"): {"modes": (23.6, None), "hq": (16.0, None)},
        },
    ),
    "unrolled-mog": Table(
        title="Unrolled GAN, mixture of 8 Gaussians (Figure 1): plain, first- and second-order "
              "unrolling",
        paper="Metz, Poole, Pfau, Sohl-Dickstein. Unrolled generative adversarial networks. "
              "ICLR 2017, Section 3.1 and Figure 1",
        base=dict(PRESETS["unrolled"], preset="unrolled", init="orthogonal-1.4",
                  cover_frac=20 / 2500, eval_samples=2500, update="simultaneous"),
        data=("ring-notebook",),
        variants={"minimax": "GAN (0 unrolling steps)",
                  "minimax+unroll-fo=5": "5 steps, first order (not in the paper)",
                  "minimax+unroll=5": "Unrolled GAN, 5 steps (second order)"},
        steps=25_000, seeds=5, eval_every=1_000,
        provenance={
            "data": f"{NOTEBOOK}: sample_mog, ring of radius 1, std 0.01 (the scale its "
                    "hyper-parameters were tuned on; the paper's Section 3.1 text says radius 2, "
                    "std 0.02). Its np.linspace(0, 2*pi, 8) puts components 1 and 8 on the same "
                    "point (7 distinct modes); here the 8 are evenly spaced, as n_mixture=8 and "
                    "the paper's Figure 1 intend",
            "architecture": f"{NOTEBOOK}: G and D 2x128 tanh, z 256, orthogonal init (gain 1.4)",
            "optimiser": f"{NOTEBOOK}: Adam D 1e-4 / G 1e-3, beta1 0.5; 5 unrolling steps "
                         "through Adam, the same batch in every step (first order too)",
            "generator loss": f"{NOTEBOOK}: minimise -unrolled_loss, the full saddle objective "
                              "at the unrolled critic (its real-data term included; the paper's "
                              "eq. 12)",
            "updates": f"{NOTEBOOK}: sess.run([g_train_op, d_train_op]), both players from the "
                       "same weights and batch (--update simultaneous)",
            "batch size": f"{NOTEBOOK}: 512",
            "iterations": f"{NOTEBOOK}: max_iter 25,000",
            "trials": "the paper shows single runs; 5 seeds here",
        },
        metric="the paper's figure is qualitative (the unrolled GAN spreads over all 8 modes, "
               "the plain GAN visits them one at a time); a mode counts as covered with >= 20 "
               "of 2500 samples high-quality near it (stricter than PacGAN's released >= 1)",
        note="No numbers in the paper: the test is the ordering (second order >= first order "
             ">= plain) and the coverage curves.",
        tests=(("minimax+unroll=5", "minimax+unroll-fo=5"), ("minimax+unroll=5", "minimax")),
    ),
}


@dataclass
class ReproduceConfig:
    """How much of the protocol to run (defaults: the paper's)."""

    steps: int | None = option(None, "generator updates per run (default: the paper's)",
                               ge=1, le=BIG)
    seeds: int | None = option(None, "trials per row (default: the paper's)", ge=1, le=1000)
    quick: bool = option(False, "smoke version: 2 trials of 200 steps, to check the pipeline "
                         "(--seeds and --steps, when given, still apply)")
    rows: str | None = option(None, "comma-separated subset of the table's rows, as variant "
                              "strings (default: every row)")
    min_hq: int | None = option(None, "a mode counts as covered with at least this many "
                                "high-quality samples of the evaluation batch (default: the "
                                "table's own rule)", ge=1, le=10**6)


def _hq_count(r: dict) -> int | None:
    return None if r["hq_frac"] is None else int(round(r["hq_frac"] * r["eval_samples"]))


def _row_stats(group: list[dict]) -> dict:
    """Per metric: (mean, s.e.), (median, q1, q3) and how many trials it averages. Reverse KL
    averages only the trials with enough high-quality samples (:func:`kl_min_hq`)."""
    need = kl_min_hq(group[0]["n_modes"])
    kl = [r["reverse_kl"] for r in group
          if r["reverse_kl"] is not None and (_hq_count(r) or 0) >= need]
    vals = {"modes": [r["modes_covered"] for r in group],
            "hq": [None if r["hq_frac"] is None else 100 * r["hq_frac"] for r in group],
            "kl": kl}
    return {k: (mean_se(v), median_iqr(v), sum(x is not None for x in v))
            for k, v in vals.items()}


def _distance(ours, paper) -> str:
    """How many combined standard errors apart the two means are: |Δ| / √(se² + se_paper²)."""
    (m, se), (pm, pse) = ours, paper
    if pse is None or m != m:
        return "—"
    both = (pse ** 2 + (se if se == se else 0.0) ** 2) ** 0.5
    return f"{abs(m - pm) / both:.1f}" if both > 0 else "—"


def _kl_floor(group: list[dict]) -> str:
    """The reverse-KL floor at the row's median high-quality count, and how many trials are
    shown."""
    counts = sorted(c for c in (_hq_count(r) for r in group) if c is not None)
    if not counts:
        return ""
    median = counts[len(counts) // 2]
    mean, lo, hi = uniform_kl(median, group[0]["n_modes"])
    need = kl_min_hq(group[0]["n_modes"])
    return (f"median {median:,} HQ samples; a uniform generator there scores {mean:.2f} "
            f"[{lo:.2f}, {hi:.2f}]; shown for trials with ≥ {need} HQ samples")


def write_table(table: Table, rows: list[dict], out: Path, run: dict,
                evals: list[dict]) -> str:
    """table.md: ours beside the paper's (``evals``: :func:`evaluations` of ``rows``, for the
    over-training section), then the protocol with provenance."""
    lines = [f"# {table.title}", "", f"Paper: {table.paper}.", "",
             *_commands(rows, out, run),
             f"Runs: {run['seeds']} trials x {run['steps']:,} steps per row (paper: "
             f"{table.seeds} x {table.steps:,}); {_time_text(rows, out, run)}.", ""]
    cells = []
    names = {"modes": "modes covered", "hq": "% high quality", "kl": "reverse KL"}
    # The metrics the paper reports (every one when it reports none); a row the paper does not
    # have shows the same metrics.
    reported = {k for n in table.numbers.values() for k in n} or set(names)
    floors = []
    for (variant, data), group in groups(rows, "variant", "data").items():
        stats = _row_stats(group)
        paper = table.numbers.get((variant, data), {})
        for k, ((m, se), (med, q1, q3), n) in stats.items():
            if k not in (paper or reported):
                continue
            p = paper.get(k)
            pcell = "—" if p is None else (f"{p[0]:g}" if p[1] is None else f"{p[0]:g} ± {p[1]:g}")
            if n == 0:
                ours, median = "— (0 trials)", "—"
            else:
                ours, median = f"{fmt(m, se, 2)} ({n})", f"{med:.2f} [{q1:.2f}, {q3:.2f}]"
            cells.append([f"{table.variants[variant]} (`{variant}`)", data, names[k], ours,
                          median, pcell, _distance((m, se), p) if p and n else "—"])
            if k == "kl":
                floors.append(f"- `{variant}` ({data}): {_kl_floor(group)}")
    lines += markdown_table(["row", "data", "metric", "ours: mean ± s.e. (trials)",
                             "ours: median [IQR]", "paper", "Δ / combined s.e."], cells)
    if floors:
        lines += ["", "Reverse KL depends on how many high-quality samples it counts: at few, "
                  "even a perfectly uniform generator scores well above 0 (mean [5%, 95%] of "
                  "20,000 draws); the table averages the trials with enough of them:", *floors]
    lines += _trajectory(rows, evals)
    lines += _tests(table, rows)
    lines += ["", f"Metric: {table.metric}.", ""]
    if table.note:
        lines += [table.note, ""]
    lines += markdown_table(["setting", "value and source"],
                            [[k, v] for k, v in table.provenance.items()])
    text = "\n".join(lines) + "\n"
    files.write_text(out / "table.md", text)
    return text


def _commands(rows: list[dict], out: Path, run: dict) -> list[str]:
    """Every invocation that trained a row (recorded by each run), with the rows it trained;
    the study's first command for runs recorded before commands were."""
    by_command: dict[str, list[str]] = {}
    for r in rows:
        done = read_done(out / "runs" / r["run"]) or {}
        cmd = done.get("command") or run["command"]
        rows_of = by_command.setdefault(cmd, [])
        if r["variant"] not in rows_of:
            rows_of.append(r["variant"])
    if len(by_command) == 1:
        return [f"Command: `{next(iter(by_command))}`  "]
    return ["Commands (each with the rows it trained):", "",
            *(f"- `{c}`: {', '.join(f'`{v}`' for v in vs)}" for c, vs in by_command.items()),
            ""]


def compare_rows(a: list[float], b: list[float], n_boot: int = 10_000, seed: int = 0) -> dict:
    """Is ``a`` higher than ``b``? One-sided Mann-Whitney U, its p-value from the permutation
    distribution (exact enumeration for trial counts like 5 vs 5, ties included), and a
    bootstrap 95% interval of the difference in means (resampling each group)."""
    import numpy as np
    from scipy.stats import PermutationMethod, mannwhitneyu

    a, b = np.asarray(a, float), np.asarray(b, float)
    p = float(mannwhitneyu(a, b, alternative="greater", method=PermutationMethod()).pvalue)
    rng = np.random.default_rng(seed)
    diffs = (rng.choice(a, (n_boot, len(a))).mean(1) - rng.choice(b, (n_boot, len(b))).mean(1))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {"diff": float(a.mean() - b.mean()), "lo": float(lo), "hi": float(hi), "p": p}


def _tests(table: Table, rows: list[dict]) -> list[str]:
    """The table's stated tests: one line per pair of rows, on final modes covered."""
    out = []
    for a, b in table.tests:
        va = [r["modes_covered"] for r in rows if r["variant"] == a and r.get("status") != "failed"]
        vb = [r["modes_covered"] for r in rows if r["variant"] == b and r.get("status") != "failed"]
        if len(va) < 2 or len(vb) < 2:
            continue
        t = compare_rows(va, vb)
        out.append(f"- `{a}` vs `{b}`: modes covered {t['diff']:+.2f} (bootstrap 95% interval "
                   f"[{t['lo']:+.2f}, {t['hi']:+.2f}]); one-sided Mann-Whitney U p = {t['p']:.3f} "
                   f"({len(va)} vs {len(vb)} trials)")
    return ["", "Stated tests (is the first row's final coverage higher?):", *out] if out else []


def evaluations(rows: list[dict], out: Path) -> list[dict]:
    """Every evaluation of every trial (variant, data, seed, step, modes, high-quality share,
    reverse KL): the trajectories behind the table, small enough to keep beside it (runs/ is
    not)."""
    table = []
    for r in rows:
        if r.get("status") == "failed":
            continue
        for s in files.read_jsonl(out / "runs" / r["run"] / "stats.jsonl"):
            if s.get("hq_frac") is not None:
                table.append({"variant": r["variant"], "data": r["data"], "seed": r["seed"],
                              "step": s["step"], "modes_covered": s["modes_covered"],
                              "hq_frac": s["hq_frac"], "reverse_kl": s.get("reverse_kl")})
    return table


def _time_text(rows: list[dict], out: Path, run: dict) -> str:
    """The sessions' wall time, and every run's own training time summed (a run trained in a
    stacked group of n counts 1/n of the group's time; recorded as each finished, so it
    survives a session that was cut short)."""
    train_s, unknown, seen = 0.0, set(), set()
    for r in rows:
        done = read_done(out / "runs" / r["run"]) or {}
        if done.get("train_s") is None:
            unknown.add(r["variant"])
        elif "group_runs" in done:
            train_s += done["train_s"] / done["group_runs"]
        elif (r["variant"], done["train_s"]) not in seen:  # recorded before group sizes were:
            seen.add((r["variant"], done["train_s"]))      # a variant's group time, once
            train_s += done["train_s"]
    text = f"wall time {run['wall_s'] / 60:.1f} min on this machine over the logged sessions"
    if len(unknown) < len({r["variant"] for r in rows}):
        text += f"; training the runs took {train_s / 60:.1f} min, summed over runs"
    if unknown:
        text += f" (training time not recorded for {', '.join(sorted(unknown))})"
    return text


def _trajectory(rows: list[dict], evals: list[dict]) -> list[str]:
    """Mean modes and % high quality at each quarter of training (from :func:`evaluations`): is
    a row still improving?"""
    by_row = groups(evals, "variant", "data")
    marks, cells = None, []
    for (variant, data), group in groups(rows, "variant", "data").items():
        if all(r.get("status") == "failed" for r in group):
            continue
        rec = by_row.get((variant, data), [])
        steps = sorted({s["step"] for s in rec})
        if len(steps) < 2:
            return []
        if marks is None:  # the evaluation nearest each quarter of training
            marks = sorted({min(steps, key=lambda t, q=q: abs(t - q * steps[-1]))
                            for q in (0.25, 0.5, 0.75, 1.0)})
        row = []
        for t in marks:
            at = [s for s in rec if s["step"] == t]
            modes = sum(s["modes_covered"] for s in at) / max(len(at), 1)
            hq = 100 * sum(s["hq_frac"] for s in at) / max(len(at), 1)
            row.append(f"{modes:.1f} / {hq:.1f}%")
        cells.append([f"`{variant}`", data, *row])
    if not marks:
        return []
    return ["", "Over training (mean over trials, modes covered / % high quality, at the "
            "evaluation nearest each quarter of the steps): a row still rising at the end would "
            "gain from the paper's longer protocol.", "",
            *markdown_table(["row", "data", *(f"step {t:,}" for t in marks)], cells)]


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.reproduce", description=__doc__.split("\n\n")[0])
    p.add_argument("name", nargs="?", help=f"the table: {', '.join(TABLES)}")
    p.add_argument("--list", action="store_true", help="list the tables and their protocols")
    add_config_flags(p, ReproduceConfig)
    add_config_flags(p, ClusterConfig)
    add_study_flags(p, None)
    return p


def run(name: str, config: ReproduceConfig | None = None, cluster: ClusterConfig | None = None,
        *, out=None, resume: bool = False, overwrite: bool = False, quiet: bool = False,
        argv=None) -> Path:
    """``python -m toygan.reproduce NAME``: train the table's rows (``config``: how much of the
    protocol) on ``cluster``'s engine (serial by default) and write table.md beside the paper's
    numbers; returns the study folder. ``argv``: the command line recorded in study.json."""
    if name not in TABLES:
        raise UserError(f"unknown table {name!r}; choose from {', '.join(TABLES)}")
    table, rc = TABLES[name], config or ReproduceConfig()
    check(rc)
    cc = checked_cluster(cluster or ClusterConfig())
    steps = rc.steps if rc.steps is not None else 200 if rc.quick else table.steps
    seeds = rc.seeds if rc.seeds is not None else 2 if rc.quick else table.seeds
    base = dict(table.base, steps=steps)
    if rc.min_hq is not None:
        n_eval = base.get("eval_samples", TrainConfig.eval_samples)
        if rc.min_hq > n_eval:
            raise UserError(f"--min-hq {rc.min_hq} is more than the {n_eval} evaluated samples")
        base["cover_frac"] = rc.min_hq / n_eval
    variants = list(table.variants)
    if rc.rows is not None:
        asked = comma_list(rc.rows, name="--rows")
        unknown = [v for v in asked if v not in table.variants]
        if unknown:
            raise UserError(f"--rows: {', '.join(unknown)} is not a row of "
                            f"{name}; its rows are {', '.join(table.variants)}")
        variants = [v for v in variants if v in asked]
    for v in variants:  # checked before any folder is made
        run_configs(v, table.data, [0], dict(base, **table.overrides.get(v, {})))
    out = open_study(Path(out or f"runs/reproduce/{name}"), resume, overwrite)
    t0 = time.time()
    every = max(steps // 12, 1)  # twelve evaluations, or the table's spacing when denser
    every = min(every, table.eval_every) if table.eval_every else every
    rows = study(variants, list(table.data), list(range(seeds)), out, base,
                 progress=not quiet, overrides=table.overrides, cluster=cc, eval_every=every,
                 command=command_line("toygan.reproduce", argv))
    log = _session_log(out, argv, time.time() - t0, seeds, steps)
    write_csv(rows, out / "results.csv")
    evals = evaluations(rows, out)
    write_csv(evals, out / "evaluations.csv")
    write_table(table, rows, out, log, evals)
    plot(rows, out)
    return out


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.list or ns.name is None:
        for name, t in TABLES.items():
            print(f"{name}: {t.title} — {t.seeds} trials x {t.steps:,} steps")
        return 0
    out = run(ns.name, build(ReproduceConfig, given(ns, ReproduceConfig)), cluster_config(ns),
              out=ns.out, resume=ns.resume, overwrite=ns.overwrite, quiet=ns.quiet, argv=argv)
    if not ns.quiet:
        print((out / "table.md").read_text())
    print(out / "table.md")
    return 0


def _session_log(out: Path, argv, wall_s: float, seeds: int, steps: int) -> dict:
    """study.json: the command, and the wall time summed over every session of the study."""
    return log_session(out, "toygan.reproduce", argv, wall_s, seeds=seeds, steps=steps,
                       reproduce_config=dataclasses.asdict(ReproduceConfig()))


if __name__ == "__main__":
    run_main(main)
