"""The mode-collapse study: python -m toygan.compare."""

import csv
import math
import re

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from torch.testing import assert_close

from toygan.cli import UserError
from toygan.compare import main, parse_variant, run_status
from toygan.status import coverage_status


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    assert main(["--quick", "--out", str(out), "--quiet"]) == 0
    return out


def _mean_se(values):
    v = np.array(values, dtype=float)
    return v.mean(), v.std(ddof=1) / math.sqrt(len(v))


@pytest.mark.long
@pytest.mark.slow
def test_quick_study_writes_all_outputs(quick):
    for name in ("results.csv", "table.md", "coverage.png", "final.png", "study.json"):
        assert (quick / name).stat().st_size > 0
    for name in ("coverage.png", "final.png"):
        img = imageio.imread(quick / name)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 400
    rows = list(csv.DictReader(open(quick / "results.csv")))
    assert len(rows) == 3 * 2  # variants x seeds on the ring
    assert {r["variant"] for r in rows} == {"bce", "wgan-gp", "bce+unroll-fo=5"}
    assert {r["unroll"] for r in rows if r["variant"] == "bce+unroll-fo=5"} == {"5"}
    for r in rows:
        assert r["status"] in ("kept", "late", "recovered", "lost", "never", "diverged")
        assert (quick / "runs" / r["run"] / "stats.jsonl").exists()
        assert 0 <= int(r["modes_covered"]) <= int(r["peak_modes"]) <= 8


@pytest.mark.long
@pytest.mark.slow
def test_table_means_and_standard_errors_match_results_csv(quick):
    rows = list(csv.DictReader(open(quick / "results.csv")))
    table = (quick / "table.md").read_text()
    pattern = re.compile(r"^\| (\S+) \| ring \| (\S+) ± (\S+) / 8 \| (\S+) ± (\S+) \| (.+?) \|",
                         re.M)
    parsed = {m[0]: m[1:] for m in pattern.findall(table)}
    assert set(parsed) == {"bce", "wgan-gp", "bce+unroll-fo=5"}
    for variant, (modes, modes_se, hq, hq_se, kl_cell) in parsed.items():
        group = [r for r in rows if r["variant"] == variant]
        m, se = _mean_se([float(r["modes_covered"]) for r in group])
        assert_close(torch.tensor([float(modes), float(modes_se)], dtype=torch.float64),
                     torch.tensor([m, se], dtype=torch.float64), rtol=0, atol=0.051)
        m, se = _mean_se([100 * float(r["hq_frac"]) for r in group])
        assert_close(torch.tensor([float(hq), float(hq_se)], dtype=torch.float64),
                     torch.tensor([m, se], dtype=torch.float64), rtol=0, atol=0.051)
        kls = [float(r["reverse_kl"]) for r in group if r["reverse_kl"]]
        if len(kls) == len(group):
            shown = [float(x) for x in kl_cell.split(" ± ")]
            assert_close(torch.tensor(shown, dtype=torch.float64),
                         torch.tensor(_mean_se(kls), dtype=torch.float64), rtol=0, atol=5.1e-4)
    # The homework's layout: one row per variant with all six columns.
    homework = [line for line in table.splitlines() if line.startswith("| bce (ring)")]
    assert len(homework) == 1 and homework[0].count("|") == 7


@pytest.mark.long
@pytest.mark.slow
def test_quick_study_teaches_what_the_full_study_shows(quick):
    # BCE collapses, unrolling restores modes, WGAN-GP keeps them all (measured: 0.0, 6.0 and
    # 8.0 of 8 over seeds 0-1, 1000 steps).
    rows = list(csv.DictReader(open(quick / "results.csv")))
    modes = {v: np.mean([float(r["modes_covered"]) for r in rows if r["variant"] == v])
             for v in ("bce", "bce+unroll-fo=5", "wgan-gp")}
    assert modes["bce"] <= 1 < modes["bce+unroll-fo=5"] <= modes["wgan-gp"] == 8


def test_variant_specs():
    assert parse_variant("bce") == {"loss": "bce"}
    assert parse_variant("wgan-gp+unroll=3+pack") == {"loss": "wgan-gp", "unroll": 3, "pack": 2,
                                                      "unroll_mode": "second-order"}
    assert parse_variant("bce+unroll-fo=2") == {"loss": "bce", "unroll": 2,
                                                "unroll_mode": "first-order"}
    assert parse_variant("bce+sn+mbstd+r1=0.5") == {"loss": "bce", "spectral_norm": True,
                                                   "mbstd": True, "r1_weight": 0.5}
    for bad in ("nope", "bce+dropout", "bce+unroll=x"):
        with pytest.raises(UserError):
            parse_variant(bad)


def test_run_status():
    """The image runs' vocabulary, an evaluation healthy when it covers every mode."""
    def h(*counts):
        return [{"step": 100 * i, "modes_covered": c} for i, c in enumerate(counts)]

    assert run_status(h(1, 8, 5, 4), 8) == "lost"
    assert coverage_status(h(1, 8, 5, 4), 8)["onset_step"] == 200
    assert coverage_status(h(1, 8, 8, 5, 8, 4, 3), 8)["onset_step"] == 500
    assert run_status(h(1, 8, 8, 8), 8) == "kept"
    assert run_status(h(1, 8), 8) == "late"  # healthy only at the end: train longer to tell
    assert run_status(h(1, 8, 8, 7, 8, 8, 8, 8), 8) == "kept"  # one evaluation short: a blip
    assert run_status(h(1, 8, 8, 7, 6, 8, 8, 8), 8) == "recovered"
    assert coverage_status(h(1, 8, 8, 7, 6, 8, 8, 8), 8)["recovered_step"] == 500
    assert run_status(h(1, 2, 3, 4, 5, 6, 7, 8), 8) == "late"
    assert run_status(h(1), 8) == "never"
    assert run_status(h(1, 8), 8, diverged_at=150) == "diverged"
    assert run_status(h(1, 8), 0) == "n/a"
    # The live page's bold line (best of the last 3 evaluations): a wobble is not a loss, and a
    # loss's onset is the first evaluation after the last one with every mode.
    wobble = h(1, 8, 7, 8, 7, 8, 8, 6)
    assert run_status(wobble, 8) == "lost"
    assert coverage_status(wobble, 8, window=3)["status"] == "kept"
    drop = h(1, 8, 8, 8, 2, 1, 1, 1)
    assert coverage_status(drop, 8)["onset_step"] == 400
    st = coverage_status(drop, 8, window=3)
    assert st["status"] == "lost" and st["onset_step"] == 400 and st["kind"] == "modes dropped"


@pytest.mark.slow
def test_bad_flags_give_one_line_errors(cli, cli_inproc, tmp_path):
    """The first refusal from a process of its own, the others in this one."""
    study = tmp_path / "study"
    assert main(["--variants", "bce", "--data", "ring", "--seeds", "1", "--steps", "4",
                 "--out", str(study), "--quiet"]) == 0
    for args, words in ((["--variants", "bce+dropout"], "unknown mitigation"),
                        (["--data", "nope"], "nope"),
                        (["--seeds", "0"], "--seeds"),
                        (["--quick", "--out", study], "already holds a study")):
        run = cli if args[0] == "--variants" else cli_inproc
        out = [] if "--out" in args else ["--out", tmp_path / "s"]
        r = run("toygan.compare", *args, *out, "--quiet")
        assert r.returncode == 2, r.stderr
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_data_without_known_modes_reports_sliced_w1(tmp_path):
    out = tmp_path / "sw"
    assert main(["--variants", "bce", "--data", "swissroll,ring", "--seeds", "2", "--steps", "6",
                 "--out", str(out), "--quiet"]) == 0
    table = (out / "table.md").read_text()
    assert "| bce | swissroll | — (no known modes) |" in table
    rows = [r for r in csv.DictReader(open(out / "results.csv")) if r["data"] == "swissroll"]
    assert [r["status"] for r in rows] == ["n/a", "n/a"]
    w1 = re.search(r"\| bce \| swissroll \|[^|]*\|[^|]*\|[^|]*\| (\S+) ± (\S+) \|", table)
    m, se = _mean_se([float(r["sliced_w1"]) for r in rows])
    assert_close(torch.tensor([float(w1[1]), float(w1[2])], dtype=torch.float64),
                 torch.tensor([m, se], dtype=torch.float64), rtol=0, atol=5.1e-4)
    assert (out / "coverage.png").exists() and (out / "final.png").exists()


def test_a_single_seed_study_runs(tmp_path):
    """One seed makes groups of one run, trained by the batched engine: no checkpoint to save."""
    out = tmp_path / "one"
    assert main(["--variants", "bce", "--data", "ring", "--seeds", "1", "--steps", "4",
                 "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [(r["variant"], r["seed"]) for r in rows] == [("bce", "0")]
    assert not (out / "runs" / rows[0]["run"] / "checkpoint.pt").exists()


def test_a_data_set_no_variant_learned_is_said_in_words():
    """The table says so when no variant covers 80% of a data set's modes (the default study's
    grid at 1,000 steps), and says nothing when one does — on constructed summaries."""
    from toygan.compare import unlearned

    def g(variant, data, modes, n):
        return {"variant": variant, "data": data, "n_modes": n, "modes": (modes, 0.5),
                "example": {"steps": 1000}}

    lines = unlearned([g("bce", "ring", 3.0, 8), g("wgan-gp", "ring", 8.0, 8),
                       g("bce", "grid", 1.2, 25), g("wgan-gp", "grid", 1.8, 25),
                       g("x", "swissroll", float("nan"), 0)])
    assert len(lines) == 1 and "No variant learned `grid`" in lines[0]
    assert "best: 1.8 of 25 modes, wgan-gp" in lines[0] and "1,000 steps" in lines[0]
    assert "24.2" in lines[0]
    assert unlearned([g("wgan-gp", "grid", 20.0, 25), g("bce", "grid", 2.0, 25)]) == []
    assert unlearned([g("wgan-gp", "grid", 19.9, 25)]) != []
    ring = unlearned([g("bce", "ring", 1.0, 8)])
    assert "24.2" not in ring[0] and "`ring`" in ring[0]
