"""Batched training (toygan.batched): K runs trained together equal K runs trained alone."""

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from toygan.batched import BatchedTrainer, StackedLinear, stack_modules, train_runs
from toygan.models import Critic, Generator
from toygan.train import Recorder, TrainConfig, train

TINY = dict(steps=16, g_width=32, d_width=32, batch_size=64, eval_every=8, log_every=4,
            snapshots=3, eval_samples=400, snapshot_points=64, grid_res=12)
RUNS = [(0, "ring"), (1, "grid"), (2, "ring")]  # seed, data: runs differ in both

CASES = {
    "bce": dict(loss="bce"),
    "minimax": dict(loss="minimax"),
    "lsgan": dict(loss="lsgan"),
    "wgan": dict(loss="wgan"),
    "wgan-gp": dict(loss="wgan-gp"),
    "dragan": dict(loss="dragan"),
    "ebgan-pt": dict(loss="ebgan", pt_weight=0.1),
    "unroll": dict(loss="bce", unroll=3),  # second order: through the unrolled updates
    "unroll-fo": dict(loss="bce", unroll=3, unroll_mode="first-order"),
    "pack": dict(loss="bce", pack=2),
    "mbstd": dict(loss="bce", mbstd=True),
    "sn": dict(loss="hinge", spectral_norm=True),
    "r1": dict(loss="bce", r1_weight=1.0),
    "pacgan-layers": dict(loss="bce", g_batchnorm=True, d_activation="maxout", z_dim=3),
    # PacGAN's released protocol: BatchNorm per pack slot, simultaneous updates, a fixed set.
    "pacgan-released": dict(loss="bce", pack=2, g_batchnorm=True, update="simultaneous",
                            train_set=500),
    "bug-batch-mean-grad": dict(loss="wgan-gp", bug="batch-mean-grad"),
    "bug-detached-generator": dict(loss="bce", bug="detached-generator"),
}


def _history_array(history, keys):
    return torch.tensor([[r.get(k, np.nan) for k in keys] for r in history], dtype=torch.float64)


# bce and wgan-gp stay on the fast path; the other cases are the same equality in depth.
FAST = ("bce", "wgan-gp")


@pytest.mark.parametrize("case", [c if c in FAST else pytest.param(c, marks=pytest.mark.slow)
                                  for c in CASES])
def test_batched_runs_equal_single_runs(case, tmp_path):
    cfgs = [TrainConfig(seed=s, data=d, **CASES[case], **TINY) for s, d in RUNS]
    recs = train_runs(cfgs, [tmp_path / f"b{i}" for i in range(len(cfgs))], progress=False)
    for i, (cfg, rec) in enumerate(zip(cfgs, recs, strict=True)):
        alone = train(cfg, tmp_path / f"s{i}", progress=False)
        assert rec.diverged_at is None
        assert [r["step"] for r in rec.history] == [r["step"] for r in alone]
        keys = sorted(set().union(*(r.keys() for r in alone)) - {"reverse_kl"})
        assert_close(_history_array(rec.history, keys), _history_array(alone, keys),
                     rtol=1e-4, atol=1e-5, equal_nan=True)
        b, s = np.load(tmp_path / f"b{i}" / "snapshots.npz"), np.load(tmp_path / f"s{i}" /
                                                                         "snapshots.npz")
        assert sorted(b.files) == sorted(s.files)
        # Spectral norm's power iteration amplifies float rounding (baddbmm against addmm):
        # measured up to 2.2e-4 on the samples over 16 steps, and a sample that sits on a
        # ReLU kink of the critic can then take the other side's gradient (4 of 384 numbers
        # of fake_grad, measured): allow those, and nothing else.
        # A BatchNorm generator is snapshotted with its population statistics, which do not
        # renormalise its layers: the two engines' rounding (baddbmm against addmm, measured
        # up to 5e-4 on samples of scale 2 after 16 steps) passes through, and the critic's
        # gradient at a sample beside a maxout kink can take the other side's (measured: 1 of
        # 384 numbers of fake_grad).
        bn = CASES[case].get("g_batchnorm", False)
        tol = 1e-3 if case == "sn" or bn else 1e-4
        for k in ("fake", "critic", "manifold", "fake_grad", "real", "extent", "steps"):
            x, y = torch.from_numpy(b[k]), torch.from_numpy(s[k])
            if (case == "sn" or bn) and k == "fake_grad":
                off = ~torch.isclose(x, y, rtol=tol, atol=tol)
                assert off.float().mean() <= 0.02
                x, y = x[~off], y[~off]
            assert_close(x, y, rtol=tol, atol=tol)
        assert (tmp_path / f"b{i}" / "config.json").read_text() == \
            (tmp_path / f"s{i}" / "config.json").read_text()


def test_stacked_models_compute_each_run_with_its_own_weights():
    torch.manual_seed(0)
    critics = [Critic(depth=2, width=16, spectral_norm=True) for _ in range(4)]
    stacked = stack_modules(critics)
    assert sum(isinstance(m, StackedLinear) for m in stacked.modules()) == 3
    x = torch.randn(4 * 10, 2)
    want = torch.cat([c(xi) for c, xi in zip(critics, x.chunk(4), strict=True)])
    assert_close(stacked(x), want, rtol=1e-5, atol=1e-6)
    # Spectral norm: each run's effective weight has largest singular value ~1.
    for layer in (m for m in stacked.modules() if isinstance(m, StackedLinear)):
        sigma = torch.linalg.matrix_norm(layer.effective_weight().detach(), ord=2)
        assert_close(sigma, torch.ones(4), rtol=0.05, atol=0.0)
    gens = [Generator(2, 2, 8, batchnorm=True) for _ in range(3)]
    z = torch.randn(3 * 12, 2)
    assert_close(stack_modules(gens)(z),
                 torch.cat([g(zi) for g, zi in zip(gens, z.chunk(3), strict=True)]),
                 rtol=1e-5, atol=1e-6)


def test_runs_must_share_everything_but_seed_and_data():
    with pytest.raises(ValueError, match="lr_g"):
        BatchedTrainer([TrainConfig(seed=0, **TINY), TrainConfig(seed=1, lr_g=1e-4, **TINY)])
    with pytest.raises(ValueError, match="cannot stack"):
        stack_modules([torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1))] * 2)


def test_a_diverged_run_ends_alone():
    cfgs = [TrainConfig(seed=s, loss="bce", **TINY) for s in range(3)]
    trainer = BatchedTrainer(cfgs)
    with torch.no_grad():
        next(trainer.D.parameters())[1].fill_(float("nan"))  # poison run 1's critic only
    from toygan.train import run_training

    recs = run_training(trainer, [None] * 3, progress=False, stop_on_nan=False)
    assert [r.diverged_at for r in recs] == [None, 1, None]
    assert recs[0].history[-1]["step"] == TINY["steps"]
    assert recs[1].history[-1]["step"] == 0  # nothing after the step that diverged
    assert np.isfinite(recs[2].history[-1]["g_loss"])
    assert isinstance(recs[0], Recorder)
