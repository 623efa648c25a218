"""Re-count a finished study's modes under other coverage rules, without retraining.

    python -m toygan.recount reproductions/pacgan-ring                 # rules: >= 1 and >= 20
    python -m toygan.recount reproductions/pacgan-grid --min-hq 1,5,20

Every run of a study keeps the samples of its fixed evaluation batch at each evaluation
(``runs/*/samples.npz``). This reads the last evaluation of each run and counts the modes that
received at least N high-quality samples (within 3 std of the mode), for each N of ``--min-hq``:
1 is PacGAN's and VEEGAN's released rule (any high-quality sample), 20 of 2,500 is toygan's
(``toygan.metrics.MIN_FRAC``). It prints one row per variant and data set — modes covered under
each rule (mean ± s.e. over trials), how many trials the rules disagree on, the high-quality
share — and writes it to ``recount.md`` in the study folder. Nothing is trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toygan import files, metrics
from toygan.cli import Parser, comma_list, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.data import make_dataset
from toygan.errors import UserError
from toygan.study import groups, mean_se
from toygan.tables import markdown_table
from toygan.variants import variant_label


@dataclass
class RecountConfig:
    """The coverage rules to count under."""

    min_hq: str = option("1,20", "comma-separated rules: a mode counts as covered with at least "
                         "this many high-quality samples of the last evaluation (1: PacGAN's "
                         "released rule; 20 of 2,500: toygan's)")


def run_counts(run: Path, rules: list[int]) -> dict:
    """One run's last evaluation: modes covered under each rule and the high-quality share."""
    cfg = json.loads((run / "config.json").read_text())
    data = make_dataset(cfg["data"])
    if data.centers is None:
        raise UserError(f"{run}: data {cfg['data']} has no known modes to count")
    z = np.load(run / "samples.npz")
    fake, step = z["fake"][-1], int(z["steps"][-1])
    hist = metrics.mode_histogram(fake, data.centers, data.std)
    return {"variant": variant_label(cfg), "data": cfg["data"], "seed": cfg["seed"],
            "step": step, "n": len(fake), "n_modes": len(data.centers),
            "hq": float(hist.sum() / len(fake)),  # the HQ samples are the histogram's
            **{f"modes_{k}": int((hist >= k).sum()) for k in rules}}


def recount(folder: Path, rules: list[int]) -> tuple[list[dict], list[dict]]:
    """(per-run counts, per-row summaries) of every finished run in ``folder/runs``."""
    runs = sorted(p.parent for p in (folder / "runs").glob("*/samples.npz"))
    if not runs:
        raise UserError(f"{folder}: no run with kept samples (runs/*/samples.npz); re-count "
                        "needs a study trained by this version")
    per_run = [run_counts(r, rules) for r in runs]
    rows = []
    for (variant, data), group in groups(per_run, "variant", "data").items():
        counts = {k: [r[f"modes_{k}"] for r in group] for k in rules}
        differ = sum(len({r[f"modes_{k}"] for k in rules}) > 1 for r in group)
        rows.append({"variant": variant, "data": data, "trials": len(group),
                     "step": max(r["step"] for r in group), "n_modes": group[0]["n_modes"],
                     **{f"modes_{k}": mean_se(v) for k, v in counts.items()},
                     "differ": differ, "hq": mean_se([100 * r["hq"] for r in group])})
    return per_run, rows


def table_text(rows: list[dict], rules: list[int], folder: Path) -> str:
    def pm(ms):
        return f"{ms[0]:.1f} ± {ms[1]:.1f}"

    header = ["row", "data", "trials", "step",
              *[f"modes, ≥ {k} HQ sample{'s' if k > 1 else ''}" for k in rules],
              "trials where the rules differ", "% high quality"]
    body = [[f"`{r['variant']}`", r["data"], r["trials"], f"{r['step']:,}",
             *[pm(r[f"modes_{k}"]) for k in rules], r["differ"], pm(r["hq"])] for r in rows]
    n = rows[0]["n_modes"] if rows else 0
    return "\n".join([
        f"# Modes re-counted: {folder.name}", "",
        f"`python -m toygan.recount {folder.as_posix()} --min-hq "
        f"{','.join(map(str, rules))}`: the last evaluation of each run (its kept samples, "
        f"`runs/*/samples.npz`), modes of {n} covered when they received at least N "
        "high-quality samples (within 3 std). Mean ± s.e. over trials.", "",
        *markdown_table(header, body)]) + "\n"


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.recount", description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a study folder (toygan.compare, toygan.reproduce)")
    add_config_flags(p, RecountConfig)
    return p


def run(folder, config: RecountConfig | None = None) -> Path:
    """``python -m toygan.recount FOLDER``: the study's last evaluations re-counted under each
    rule, written to FOLDER/recount.md; returns that file."""
    rc = config or RecountConfig()
    check(rc)
    rules = comma_list(rc.min_hq, int, "--min-hq")
    if any(k < 1 for k in rules):
        raise UserError("--min-hq: each rule must be at least 1 sample")
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such study folder")
    _, rows = recount(folder, rules)
    files.write_text(folder / "recount.md", table_text(rows, rules, folder))
    return folder / "recount.md"


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    out = run(ns.folder, build(RecountConfig, given(ns, RecountConfig)))
    print(out.read_text())
    print(out)
    return 0


if __name__ == "__main__":
    run_main(main)
