"""GPU-only code paths run on the CPU: bf16 autocast, channels-last, and DDP with a penalty."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from torch.testing import assert_close

from imagegan.train import TrainConfig, Trainer
from toygan.device import Precision, use_channels_last

TINY = dict(size=32, width=8, batch_size=16, log_every=1, eval_every=100, ckpt_every=100,
            device="cpu", eval_metrics=False)


def _losses(cfg, steps):
    t = Trainer(cfg, progress=False)
    out = []
    for _ in range(steps):
        terms = t.train_step()
        out.append([float(terms["d_loss"]), float(terms["g_loss"])])
    return t, torch.tensor(out, dtype=torch.float64)


@pytest.mark.slow
def test_amp_on_cpu_is_honoured_and_bf16_stays_close_to_fp32():
    assert Precision("auto", torch.device("cpu")).dtype is None
    assert Precision("bf16", torch.device("cpu")).dtype is torch.bfloat16
    for loss in ("bce", "wgan-gp"):
        t16, bf16 = _losses(TrainConfig(loss=loss, amp="bf16", **TINY), 6)
        _, fp32 = _losses(TrainConfig(loss=loss, amp="off", **TINY), 6)
        assert torch.isfinite(bf16).all()
        # The convolutions really ran in bfloat16 (autocast on), yet the losses track fp32's:
        # measured within 3% over 6 steps (bce) and 6% (wgan-gp's small critic loss).
        with t16.precision.autocast():
            y = t16.G(torch.randn(2, 100))
        assert y.dtype == torch.bfloat16
        assert_close(bf16, fp32, rtol=0.15, atol=0.05)
        assert not torch.equal(bf16, fp32)


def test_channels_last_on_cpu_equals_contiguous():
    assert use_channels_last("auto", torch.device("cpu")) is False
    t_cl, cl = _losses(TrainConfig(loss="bce", channels_last="on", **TINY), 4)
    assert t_cl.channels_last
    w = next(m.weight for m in t_cl.D.modules() if isinstance(m, torch.nn.Conv2d))
    assert w.is_contiguous(memory_format=torch.channels_last)
    assert t_cl._real().is_contiguous(memory_format=torch.channels_last)
    _, plain = _losses(TrainConfig(loss="bce", channels_last="off", **TINY), 4)
    assert_close(cl, plain, rtol=1e-5, atol=1e-6)  # measured: 2.4e-7 apart over 4 steps
    # The penalty's double backward through channels-last convolutions: the same loss and the
    # same critic gradients as contiguous memory on one step (measured 1.2e-6 apart; later
    # steps drift further as Adam's first steps magnify rounding in near-zero gradients).
    grads = []
    for switch in ("on", "off"):
        t = Trainer(TrainConfig(loss="wgan-gp", channels_last=switch, **TINY), progress=False)
        real = t._real()
        fake = t.G(t._z(len(real))).detach()
        terms = t.obj.critic_loss(t.D, real, fake, **t.gan.hp)
        terms["loss"].backward()
        grads.append(torch.cat([terms["loss"].detach().reshape(1)] +
                               [p.grad.flatten() for p in t.D.parameters()]))
    assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")
@pytest.mark.slow
def test_ddp_with_a_gradient_penalty_matches_one_process(tmp_path):
    # The penalty's autograd.grad runs through the DDP-wrapped critic.
    common = ["--loss", "wgan-gp", "--width", "8", "--steps", "3", "--n-critic", "2",
              "--log-every", "1", "--eval-every", "3", "--no-eval-metrics", "--quiet",
              "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd())
    runs = {}
    for name, launch, batch in (("two", ["-m", "torch.distributed.run", "--nproc_per_node=2"],
                                 16), ("one", [], 32)):
        out = tmp_path / name
        r = subprocess.run([sys.executable, *launch, "-m", "imagegan.train", *common,
                            "--batch-size", str(batch), "--out", str(out)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        runs[name] = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    for a, b in zip(runs["one"], runs["two"], strict=True):
        assert a["step"] == b["step"] and b["d_gp"] > 0
        # Layer-norm critic, so only the generator's BatchNorm differs between the two
        # (each process normalises its half on CPU): measured within 5%.
        assert_close(b["d_loss"], a["d_loss"], rtol=0.15, atol=0.05)
        assert_close(b["g_loss"], a["g_loss"], rtol=0.15, atol=0.05)
