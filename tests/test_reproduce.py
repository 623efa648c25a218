"""Published results: second-order unrolling against its closed form, the paper tables' command,
and Figure 1(a)'s critics at optimality."""

import json

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from toygan.ganconfig import GANConfig
from toygan.losses import OBJECTIVES
from toygan.step import GANStep


class ConstantGenerator(nn.Module):
    """G(z) = theta: one parameter, whatever z."""

    def __init__(self, theta):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta]))

    def forward(self, z):
        return self.theta.expand(len(z), 1)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
@pytest.mark.parametrize("mode", ["second-order", "first-order"])
@pytest.mark.parametrize("k", [1, 3])
def test_unrolled_generator_gradient_matches_its_closed_form(mode, k, update):
    # WGAN critic D(x) = w x, generator G = theta, real data at mu, SGD with step eta. The
    # look-ahead starts from the critic after its own step, w1 = w0 - eta (theta - mu)
    # (alternating), or from w0 (simultaneous: both players from the same weights); K unrolled
    # steps give wK = w_start - K eta (theta - mu). The generator's loss is the full objective at
    # the unrolled critic, -wK theta + wK mu = -wK (theta - mu) (Metz et al. eq. 12: the real
    # term depends on theta through wK), with gradient
    #   second order: -wK + K eta (theta - mu)   (d wK / d theta = -K eta flows back; it
    #                                             vanishes with theta - mu, at the optimum)
    #   first order:  -wK                        (wK held fixed)
    w0, theta, mu, eta = 0.7, 0.3, 1.5, 0.1
    D = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        D.weight.fill_(w0)
    G = ConstantGenerator(theta)
    cfg = GANConfig(loss="wgan", optimizer="sgd", lr=eta, clip=1e6, n_critic=1, unroll=k,
                    unroll_mode=mode, update=update).resolve_objective()
    step = GANStep(cfg, OBJECTIVES["wgan"], G, D, torch.optim.SGD(G.parameters(), lr=1.0),
                   torch.optim.SGD(D.parameters(), lr=eta))
    step(lambda: torch.full((4, 1), mu), lambda n: torch.zeros(n, 1), 4)
    w1 = w0 - eta * (theta - mu)
    wk = (w1 if update == "alternating" else w0) - k * eta * (theta - mu)
    grad = -wk + (k * eta * (theta - mu) if mode == "second-order" else 0.0)
    assert_close(theta - G.theta.item(), grad, rtol=1e-5, atol=1e-6)  # G's SGD step, lr 1
    assert_close(D.weight.item(), w1, rtol=1e-6, atol=1e-7)  # the look-ahead left D alone


@pytest.mark.long
@pytest.mark.slow
def test_reproduce_quick_writes_the_table_with_the_papers_numbers(tmp_path):
    from toygan.reproduce import main

    out = tmp_path / "r"
    rows = ["--rows", "bce,bce+pack=2"]  # two of the four rows keep the test short
    assert main(["pacgan-ring", "--quick", "--out", str(out), "--quiet", *rows]) == 0
    table = (out / "table.md").read_text()
    assert "| GAN (`bce`) | ring-pacgan | modes covered |" in table
    assert "| 6.3 ± 0.5 |" in table and "| 7.9 ± 0.1 |" in table  # the paper's, beside ours
    assert "400,000" in table and "fjxmlzn/PacGAN" in table  # protocol with its source
    assert "(`bce+pack=3`)" not in table
    study = json.loads((out / "study.json").read_text())
    assert study["seeds"] == 2 and study["steps"] == 200 and study["wall_s"] > 0
    assert "| `bce+pack=2` | ring-pacgan | " in table  # the over-training section
    assert "training the runs took" in table and "Δ / combined s.e." in table
    assert "a uniform generator there scores" in table  # the reverse-KL floor
    done = json.loads((out / "runs" / "bce-ring-pacgan-seed0" / "done.json").read_text())
    assert done["train_s"] > 0 and done["group_runs"] == 2
    assert done["command"].startswith("python -m toygan.reproduce pacgan-ring --quick")
    assert f"Command: `{done['command']}`" in table
    # Resuming a finished reproduction trains nothing and gives the same table.
    assert main(["pacgan-ring", "--quick", "--out", str(out), "--quiet", "--resume", *rows]) == 0
    assert (out / "results.csv").exists()
    import csv
    evals = list(csv.DictReader((out / "evaluations.csv").open()))
    assert {(e["variant"], e["seed"]) for e in evals} == {(v, s) for v in ("bce", "bce+pack=2")
                                                         for s in ("0", "1")}
    assert {int(e["step"]) for e in evals} >= {0, 200}
    assert (out / "table.md").read_text().split("\n")[6:] == table.split("\n")[6:]
    # --rows tabulates a subset of the finished rows (a protocol cut short after some rows).
    assert main(["pacgan-ring", "--quick", "--out", str(out), "--quiet", "--resume",
                 "--rows", "bce"]) == 0
    table = (out / "table.md").read_text()
    assert "(`bce`)" in table and "(`bce+pack=2`)" not in table
    assert len(json.loads((out / "study.json").read_text())["sessions"]) == 3


@pytest.mark.slow
def test_unknown_table_is_one_line(cli, cli_inproc, tmp_path):
    r = cli("toygan.reproduce", "nope")
    assert r.returncode == 2 and "unknown table 'nope'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli_inproc("toygan.reproduce", "pacgan-ring", "--rows", "bce,wgan", "--out",
                   str(tmp_path / "r"))
    assert r.returncode == 2 and "--rows: wgan is not a row of pacgan-ring" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_trajectory_reports_each_quarter_of_training(tmp_path):
    # Two trials of one row, evaluated every 100 of 400 steps: the section gives the mean of the
    # two trials at each quarter (modes / % high quality).
    from toygan.reproduce import _trajectory, evaluations

    rows = []
    for seed, (modes, hq) in enumerate([([1, 2, 4, 6, 8], [0, .1, .2, .3, .5]),
                                        ([1, 4, 4, 8, 8], [0, .3, .4, .5, .7])]):
        run = tmp_path / "runs" / f"r{seed}"
        run.mkdir(parents=True)
        recs = [{"step": 100 * i, "modes_covered": m, "hq_frac": h} for i, (m, h) in
                enumerate(zip(modes, hq, strict=True))]
        recs.insert(1, {"step": 10, "d_loss": 0.5})  # a loss record, not an evaluation
        (run / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        rows.append({"variant": "bce", "data": "ring", "run": run.name, "seed": seed})
    lines = _trajectory(rows, evaluations(rows, tmp_path))
    assert "| row | data | step 100 | step 200 | step 300 | step 400 |" in lines
    assert "| `bce` | ring | 3.0 / 20.0% | 4.0 / 30.0% | 7.0 / 40.0% | 8.0 / 60.0% |" in lines


def test_time_text_counts_rows_finished_in_sessions_that_were_cut_short(tmp_path):
    # A row's training time lives in its runs' done.json, so it counts even when the session
    # that trained it was killed before logging; a row trained before that was kept says so.
    from toygan.reproduce import _time_text

    # Each run's share of its group's time is summed: a group of two runs that took 60 s
    # (30 s each), two runs trained alone (45 s each); records from before group sizes were
    # kept hold the group's time in every run (counted once).
    rows = []
    for variant, done in [("bce", {"diverged_at": None, "train_s": 60.0, "group_runs": 2}),
                          ("bce+pack=2", {"diverged_at": None, "train_s": 45.0, "group_runs": 1}),
                          ("bce+pack=3", {"diverged_at": None, "train_s": 30.0}),
                          ("bce+pack=4", {"diverged_at": None})]:
        for seed in range(2):
            run = tmp_path / "runs" / f"{variant}-{seed}"
            run.mkdir(parents=True)
            (run / "done.json").write_text(json.dumps(done))
            rows.append({"variant": variant, "run": run.name})
    text = _time_text(rows, tmp_path, {"wall_s": 6.0})
    assert text == ("wall time 0.1 min on this machine over the logged sessions; training the "
                    "runs took 3.0 min, summed over runs (training time not recorded for "
                    "bce+pack=4)")


def test_the_stated_test_on_known_samples():
    """Mann-Whitney U and the bootstrap interval on samples whose answer is known."""
    from toygan.reproduce import compare_rows

    t = compare_rows([8, 8, 8, 8, 8], [1, 2, 3, 4, 5])
    assert_close(t["p"], 1 / 252, rtol=1e-6, atol=0)  # exact: one ordering of C(10, 5) is this
    assert t["diff"] == 5 and 3.5 <= t["lo"] <= t["hi"] <= 7
    same = compare_rows([3, 5, 7, 8, 8], [3, 5, 7, 8, 8])
    assert same["p"] > 0.4 and same["lo"] < 0 < same["hi"]


def test_simultaneous_updates_need_one_critic_step(cli_inproc):
    r = cli_inproc("toygan.train", "--loss", "wgan-gp", "--update", "simultaneous", "--steps", "2")
    assert r.returncode == 2 and "--n-critic 1" in r.stderr and "Traceback" not in r.stderr


def test_min_hq_names_the_coverage_rule(cli_inproc, tmp_path):
    """PacGAN's released metric covers a mode with one high-quality sample; --min-hq 20 asks
    for 20 of the 2500 (the rule this table used before); more than the batch is one line."""
    from toygan.reproduce import TABLES, main

    assert TABLES["pacgan-ring"].base["cover_frac"] == 0.0
    out = tmp_path / "r"
    assert main(["pacgan-ring", "--rows", "bce", "--seeds", "1", "--steps", "2", "--min-hq",
                 "20", "--out", str(out), "--quiet"]) == 0
    cfg = json.loads((out / "runs" / "bce-ring-pacgan-seed0" / "config.json").read_text())
    assert cfg["cover_frac"] == pytest.approx(20 / 2500) and cfg["train_set"] == 100_000
    assert cfg["update"] == "simultaneous"
    r = cli_inproc("toygan.reproduce", "pacgan-ring", "--min-hq", "3000", "--out",
                   str(tmp_path / "x"))
    assert r.returncode == 2 and "--min-hq 3000 is more than the 2500" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_a_row_the_paper_lacks_shows_the_metrics_the_paper_reports(tmp_path):
    """veegan-2d's minimax row is not in VEEGAN's table: it still gets modes and % high quality
    (VEEGAN's two metrics), no paper cell, and no reverse KL row."""
    from toygan.reproduce import TABLES, evaluations, write_table

    rows = []
    for variant, modes in (("bce", [1, 1]), ("minimax", [3, 5])):
        for seed, m in enumerate(modes):
            run = tmp_path / "runs" / f"{variant}-{seed}"
            run.mkdir(parents=True)
            (run / "stats.jsonl").write_text(json.dumps(
                {"step": 10, "modes_covered": m, "hq_frac": 0.5, "reverse_kl": 0.1}) + "\n")
            (run / "done.json").write_text(json.dumps({"train_s": 1.0}))
            rows.append({"variant": variant, "data": "ring-pacgan", "run": run.name,
                         "seed": seed, "modes_covered": m, "hq_frac": 0.5, "reverse_kl": 0.1,
                         "n_modes": 8, "eval_samples": 2500})
    text = write_table(TABLES["veegan-2d"], rows, tmp_path,
                       {"command": "x", "seeds": 2, "steps": 10, "wall_s": 1.0},
                       evaluations(rows, tmp_path))
    assert "| GAN (`bce`) | ring-pacgan | modes covered | 1.00 ± 0.00 (2) |" in text
    assert ("| GAN (minimax generator loss; not in the paper) (`minimax`) | ring-pacgan | modes "
            "covered | 4.00 ± 1.00 (2) | 4.00 [3.50, 4.50] | — | — |") in text
    assert "(`minimax`) | ring-pacgan | % high quality | 50.00" in text
    assert "reverse KL" not in text.split("Metric:")[0]


def test_comparisons_use_both_standard_errors_and_the_kl_floor_is_measured():
    from toygan.reproduce import _distance, kl_min_hq, uniform_kl

    # |7.6 - 7.9| / sqrt(0.2^2 + 0.1^2) = 0.3 / 0.2236 = 1.34
    assert _distance((7.6, 0.2), (7.9, 0.1)) == "1.3"
    assert _distance((7.6, float("nan")), (7.9, 0.1)) == "3.0"  # one trial: the paper's alone
    assert _distance((7.6, 0.2), (7.9, None)) == "—"
    # A uniform generator's reverse KL at n samples over M modes ~ (M - 1) / (2 n).
    mean, lo, hi = uniform_kl(800, 8)
    assert abs(mean - 7 / 1600) < 0.0008 and lo < mean < hi
    mean, _, _ = uniform_kl(43, 25)  # the pacgan-grid case the issue re-derived: ~0.32
    assert 0.25 < mean < 0.40
    assert kl_min_hq(8) == 80 and kl_min_hq(25) == 250


def _constructed_run(root, name, counts, seed, far=0):
    """A run folder whose last evaluation puts ``counts[j]`` samples on ring mode j (exactly at
    its centre) and ``far`` samples far from every mode."""
    import numpy as np

    from toygan.data import make_dataset

    data = make_dataset("ring")
    run = root / "runs" / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"loss": "bce", "data": "ring", "seed": seed,
                                                 "pack": 1, "unroll": 0}))
    pts = [np.repeat(data.centers[j][None], c, 0) for j, c in enumerate(counts)]
    pts.append(np.full((far, 2), 50.0))
    last = np.concatenate(pts).astype(np.float32)
    first = np.zeros_like(last)  # an earlier evaluation: never read
    np.savez(run / "samples.npz", steps=np.array([100, 200]), fake=np.stack([first, last]))


def test_recount_counts_modes_under_each_rule_on_known_samples(tmp_path, cli_inproc):
    from toygan.recount import recount

    # Trial 0: modes with 100, 20, 5 and 1 samples; trial 1: 30 samples on each of 8 modes.
    _constructed_run(tmp_path, "bce-ring-seed0", [100, 20, 5, 1, 0, 0, 0, 0], 0, far=74)
    _constructed_run(tmp_path, "bce-ring-seed1", [30] * 8, 1, far=60)
    per_run, rows = recount(tmp_path, [1, 5, 20])
    assert [(r["modes_1"], r["modes_5"], r["modes_20"]) for r in per_run] == [(4, 3, 2),
                                                                            (8, 8, 8)]
    assert_close(per_run[0]["hq"], 126 / 200)
    assert_close(per_run[1]["hq"], 240 / 300)
    (row,) = rows
    assert row["trials"] == 2 and row["differ"] == 1 and row["step"] == 200
    assert_close(row["modes_1"], (6.0, 2.0))
    assert_close(row["modes_20"], (5.0, 3.0))
    r = cli_inproc("toygan.recount", tmp_path, "--min-hq", "1,20")
    assert r.returncode == 0
    assert "| `bce` | ring | 2 | 200 | 6.0 ± 2.0 | 5.0 ± 3.0 | 1 |" in r.stdout
    assert (tmp_path / "recount.md").read_text() in r.stdout
    for folder, args, words in ((tmp_path, ["--min-hq", "0"], "at least 1"),
                                (tmp_path / "runs", [], "no run with kept samples"),
                                (tmp_path / "nowhere", [], "no such study folder")):
        r = cli_inproc("toygan.recount", folder, *args)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.splitlines()) == 1
