"""The compiled critic update (``--compile``): the same numbers as the eager step, a clean
fallback, and ``auto`` only where compiling pays."""

import pytest
import torch
from torch.testing import assert_close

from toygan.batched import BatchedTrainer
from toygan.step import COMPILE_PAYS
from toygan.train import TrainConfig, Trainer

pytestmark = [pytest.mark.slow]

SMALL = dict(g_width=32, d_width=32, batch_size=64, steps=3, eval_samples=200)


def _weights(t):
    return {**{f"G.{k}": v for k, v in t.G.state_dict().items()},
            **{f"D.{k}": v for k, v in t.D.state_dict().items()}}


def _train(make, compile, steps=3):
    t = make(compile)
    for _ in range(steps):
        t.train_step()
    return t


@pytest.mark.parametrize("kind", ["single", "batched"])
def test_compiled_wgan_gp_matches_eager(kind):
    """The penalty's double derivative through torch.func, compiled: three generator updates
    (15 critic updates with fresh interpolation weights) equal to the eager ones."""
    def make(compile):
        cfg = dict(SMALL, loss="wgan-gp", compile=compile)
        if kind == "single":
            return Trainer(TrainConfig(**cfg))
        return BatchedTrainer([TrainConfig(**cfg, seed=s, data=d)
                               for s, d in ((0, "ring"), (1, "grid"))])

    eager, compiled = _train(make, "off"), _train(make, "on")
    assert eager.gan.compiled is None and compiled.gan.compiled is not None  # it did compile
    for k, v in _weights(eager).items():
        assert_close(_weights(compiled)[k], v, rtol=1e-4, atol=1e-5)
    start = _weights(make("off"))  # and training moved them
    assert all(not torch.equal(start[k], v) for k, v in _weights(eager).items()
               if k.endswith("weight"))


def test_a_step_that_cannot_compile_falls_back_in_one_line(monkeypatch, capsys):
    def broken(fn, **_):
        def call(*a, **k):
            raise RuntimeError("no C++ compiler\nmore lines")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    cfg = dict(SMALL, loss="dragan")
    fell_back = _train(lambda c: Trainer(TrainConfig(**cfg, compile=c)), "on")
    eager = _train(lambda c: Trainer(TrainConfig(**cfg, compile=c)), "off")
    err = capsys.readouterr().err
    assert err.count("note: --compile") == 1 and "no C++ compiler); training eagerly" in err
    assert fell_back.gan.compiled is None
    for k, v in _weights(eager).items():  # the same draws: bit for bit the eager run
        assert torch.equal(_weights(fell_back)[k], v), k


def test_auto_compiles_only_long_runs_and_on_says_why_not(capsys):
    def gan(**kw):
        return Trainer(TrainConfig(**{**SMALL, "loss": "wgan-gp", **kw})).gan

    assert gan(steps=COMPILE_PAYS // 5).compiled is not None  # n_critic 5
    assert gan(steps=COMPILE_PAYS // 5 - 1).compiled is None
    assert gan(steps=COMPILE_PAYS, compile="off").compiled is None
    assert gan(steps=COMPILE_PAYS, spectral_norm=True).compiled is None
    assert capsys.readouterr().err == ""  # auto: silent
    assert gan(compile="on", spectral_norm=True).compiled is None
    assert "spectral norm or BatchNorm" in capsys.readouterr().err
