"""The toy trainer: records, reproducibility, published behaviour, bad input."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from toygan.metrics import collapse_onset
from toygan.presets import PRESETS
from toygan.train import TrainConfig, Trainer, build_parser, config_from_args, train

TINY = dict(steps=30, g_width=16, d_width=16, batch_size=32, eval_every=10, eval_samples=500,
            snapshots=4, snapshot_points=64, grid_res=16)


def final_eval(history):
    return [r for r in history if "modes_covered" in r][-1]


@pytest.mark.long
@pytest.mark.slow
def test_wgan_gp_covers_all_eight_ring_modes():
    # Default toy settings (lr 1e-3 decayed linearly, lambda 1, n_critic 5) over 1000 steps: all
    # 8 modes are covered from step ~700 on (seeds 0 and 1 measured; seed 0 is tested).
    history = train(TrainConfig(loss="wgan-gp", data="ring", steps=1000, seed=0), None,
                    progress=False)
    last = final_eval(history)
    assert last["modes_covered"] == 8
    assert last["hq_frac"] > 0.4 and last["reverse_kl"] < 0.1
    assert collapse_onset(history, 8) is None


def test_same_seed_same_numbers_different_seed_different_numbers():
    a = train(TrainConfig(loss="wgan-gp", seed=3, **TINY), None, progress=False)
    b = train(TrainConfig(loss="wgan-gp", seed=3, **TINY), None, progress=False)
    c = train(TrainConfig(loss="wgan-gp", seed=4, **TINY), None, progress=False)
    assert a == b
    assert a != c


def test_evaluation_frequency_does_not_change_training():
    a = train(TrainConfig(loss="bce", **TINY), None, progress=False)
    b = train(TrainConfig(loss="bce", **dict(TINY, eval_every=7)), None, progress=False)
    assert a[-1]["d_loss"] == b[-1]["d_loss"] and a[-1]["g_loss"] == b[-1]["g_loss"]


@pytest.mark.parametrize("loss", ["bce", "minimax", "lsgan", "hinge", "wgan", "wgan-gp",
                                  "dragan", "ebgan"])
def test_every_objective_writes_records(tmp_path, loss):
    out = tmp_path / loss
    history = train(TrainConfig(loss=loss, **TINY), out, progress=False)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["loss"] == loss and cfg["n_critic"] >= 1 and cfg["optimizer"] in ("adam", "rmsprop")
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert rows == json.loads(json.dumps(history))
    assert [r["step"] for r in rows if "g_loss" in r] == [10, 20, 30]
    evals = [r for r in rows if "modes_covered" in r]
    assert [r["step"] for r in evals] == [0, 10, 20, 30]
    assert {"modes_covered", "hq_frac", "reverse_kl", "sliced_w1"} <= set(evals[-1])
    assert {"d_loss", "d_adv", "g_loss", "g_adv"} <= set(rows[-1])
    snap = np.load(out / "snapshots.npz")
    assert list(snap["steps"]) == [0, 10, 20, 30]
    assert snap["fake"].shape == (4, 64, 2) and snap["fake_grad"].shape == (4, 64, 2)
    assert snap["critic"].shape == (4, 16, 16) and snap["manifold"].shape == (4, 441, 2)
    assert snap["real"].shape == (64, 2) and snap["centers"].shape == (8, 2)
    assert np.isfinite(snap["critic"]).all() and np.abs(snap["fake_grad"]).sum() > 0
    assert not np.allclose(snap["fake"][0], snap["fake"][-1])


def test_penalty_terms_are_logged_for_penalised_losses():
    history = train(TrainConfig(loss="wgan-gp", **TINY), None, progress=False)
    assert history[-1]["d_gp"] > 0


def test_weight_clipping_holds_during_training():
    from toygan.train import Trainer

    t = Trainer(TrainConfig(loss="wgan", **TINY))
    for _ in range(5):
        t.train_step()
    assert max(p.abs().max().item() for p in t.D.parameters()) <= 0.01 + 1e-9


def test_preset_then_flags_override():
    ns = build_parser().parse_args(["--preset", "wgan-gp-toy", "--steps", "5", "--seed", "2"])
    cfg = config_from_args(ns).resolved()
    assert (cfg.steps, cfg.seed, cfg.g_width, cfg.d_depth) == (5, 2, 512, 3)
    assert (cfg.gp_weight, cfg.batch_size, cfg.n_critic, cfg.data) == (0.1, 256, 5, "8gaussians")
    assert (cfg.lr_d, cfg.lr_g, cfg.betas) == (1e-4, 1e-4, (0.5, 0.9))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_config_built_in_python_resolves_its_preset_as_the_command_line_does(preset):
    """``Trainer(TrainConfig(preset=P))`` trains what ``--preset P`` trains; a field passed in
    Python wins over the preset even when it equals the dataclass default (256 is
    ``batch_size``'s default; the PacGAN preset's is 100)."""
    cli = config_from_args(build_parser().parse_args(["--preset", preset])).resolved()
    assert dataclasses.asdict(TrainConfig(preset=preset).resolved()) == dataclasses.asdict(cli)
    typed = TrainConfig(preset=preset, batch_size=256, steps=7).resolved()
    assert (typed.batch_size, typed.steps) == (256, 7)
    assert {k: v for k, v in dataclasses.asdict(typed).items()
            if k not in ("batch_size", "steps")} == \
        {k: v for k, v in dataclasses.asdict(cli).items() if k not in ("batch_size", "steps")}
    # A copy keeps every value it holds: the preset is not applied over it again.
    copy = dataclasses.replace(typed, seed=3).resolved()
    assert (copy.batch_size, copy.steps, copy.seed) == (256, 7, 3)
    if preset == "pacgan":
        t = Trainer(TrainConfig(preset=preset, steps=1))
        assert (t.cfg.g_width, t.cfg.d_activation, t.cfg.data) == (400, "maxout", "ring-pacgan")


def test_noise_distribution_and_per_player_optimiser():
    """GAN Lab's choices: uniform noise on [-1, 1] (its manifold drawn over that square), and
    the generator's optimiser apart from the critic's."""
    import torch

    from toygan.train import Trainer

    t = Trainer(TrainConfig(**TINY, loss="bce", noise="uniform", g_optimizer="sgd"))
    z = t._z(4096)
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.99 and z.max() > 0.99
    assert abs(float(z.mean())) < 0.03 and abs(float(z.var()) - 1 / 3) < 0.02
    assert t.z_eval.abs().max() <= 1
    assert torch.equal(t.latent_grid()[[0, -1]], torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
    assert (type(t.opt_g).__name__, type(t.opt_d).__name__) == ("SGD", "Adam")
    n = Trainer(TrainConfig(**TINY, loss="bce"))
    assert n.latent_grid().abs().max() == 2.5 and type(n.opt_g).__name__ == "Adam"
    assert float(n._z(4096).var()) > 0.9


@pytest.mark.slow
def test_cli_run_writes_outputs(cli, cli_inproc, tmp_path):
    out = tmp_path / "run"
    r = cli("toygan.train", "--loss", "bce", "--steps", "20", "--g-width", "16", "--d-width", "16",
            "--eval-every", "10", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert (out / "config.json").exists() and (out / "snapshots.npz").exists()
    assert str(out) in r.stdout
    # An existing run is never overwritten silently.
    again = cli_inproc("toygan.train", "--loss", "bce", "--steps", "20", "--out", out, "--quiet")
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "--overwrite" in again.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--loss", "nope"], "--loss: must be one of bce,"),
        (["--data", "nope"], "unknown data 'nope'"),
        (["--data", "file:/no/such.npy"], "not found"),
        (["--steps", "0"], "--steps: must be >= 1, got 0"),
        (["--preset", "nope"], "--preset: must be one of toy2d"),
        (["--steps", "many"], "invalid int value"),
    ],
)
def test_user_mistakes_give_one_line_and_exit_2(cli_inproc, tmp_path, args, needle):
    r = cli_inproc("toygan.train", *args, "--out", tmp_path / "x", "--quiet")
    assert r.returncode == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_malformed_point_file_is_a_one_line_error(cli_inproc, tmp_path):
    bad = tmp_path / "pts.csv"
    bad.write_text("1,2,3\n")
    r = cli_inproc("toygan.train", "--data", f"file:{bad}", "--out", tmp_path / "x", "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "N x 2" in r.stderr


def test_the_host_reads_the_losses_only_where_something_is_recorded(monkeypatch):
    """Finiteness is tracked on the device every step and read (a host sync) only at steps that
    record something; a run that diverges between two of them still reports its first bad
    step."""
    from toygan import train as train_mod

    reads = []
    orig = train_mod.ToyRecording.finite
    monkeypatch.setattr(train_mod.ToyRecording, "finite",
                        lambda self, watch: reads.append(self.t.step) or orig(self, watch))
    cfg = TrainConfig(**dict(TINY, steps=40, log_every=10, eval_every=20, snapshots=3,
                             ckpt_every=1000), loss="bce")
    train(cfg, None, progress=False)
    assert reads == [10, 20, 30, 40]
    from toygan.step import FiniteWatch

    watch = FiniteWatch(runs=2)
    import torch

    nan = torch.tensor([0.5, float("nan")])
    watch.track({"d_loss": torch.tensor([0.1, 0.2]), "g_loss": torch.tensor([1.0, 1.0])}, 3)
    watch.track({"d_loss": torch.tensor([0.1, 0.2]), "g_loss": nan}, 4)
    watch.track({"d_loss": nan, "g_loss": nan}, 5)
    assert watch.first.tolist() == [-1, 4]
    assert watch.bad.tolist() == [[False, False], [False, True]]  # g_loss went first
    assert watch.first_bad() == [None, (4, ["g_loss"])]


def test_diverged_run_stops_with_the_step_and_keeps_records(cli, tmp_path):
    pts = tmp_path / "huge.npy"
    np.save(pts, np.full((10, 2), 1e30))
    out = tmp_path / "div"
    r = cli("toygan.train", "--loss", "lsgan", "--data", f"file:{pts}", "--steps", "20",
            "--out", out, "--quiet")
    assert r.returncode == 1
    assert "diverged at step 1" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (out / "config.json").exists() and (out / "stats.jsonl").exists()


def test_train_set_draws_a_fixed_finite_set_once_per_seed():
    """--train-set N (PacGAN's 100,000): every real batch comes from N points drawn once from the
    seed, the same N after a restart; the evaluation's real samples still come from the
    distribution itself."""
    cfg = TrainConfig(data="ring", train_set=50, batch_size=64, steps=2, eval_samples=300)
    a, b = Trainer(cfg), Trainer(cfg)
    pool = a.train_data.sample(10_000, torch.Generator().manual_seed(1))
    assert len(torch.unique(pool, dim=0)) == 50  # 10,000 draws, 50 distinct points
    assert_close(torch.unique(pool, dim=0),
                 torch.unique(b.train_data.sample(10_000, torch.Generator().manual_seed(2)), dim=0))
    batch = a._real(64)
    assert (batch[:, None] == torch.unique(pool, dim=0)[None]).all(-1).any(1).all()
    assert len(torch.unique(a.real_eval, dim=0)) == 300  # evaluation: fresh draws
    other = Trainer(TrainConfig(data="ring", train_set=50, seed=1, batch_size=64, steps=2))
    assert not torch.equal(torch.unique(other.train_data.sample(10_000), dim=0),
                           torch.unique(pool, dim=0))
    plain = Trainer(TrainConfig(data="ring"))
    assert plain.train_data is plain.data  # default: a fresh draw every batch
