"""Mode-collapse mitigations, each checked for doing what it should; the pacgan preset."""

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from toygan.errors import UserError
from toygan.presets import PRESETS
from toygan.train import TrainConfig, Trainer, build_parser, config_from_args, train

SMALL = dict(steps=20, g_width=32, d_width=32, batch_size=64, eval_every=10, eval_samples=500,
             snapshots=3, snapshot_points=64, grid_res=16)


def test_pacgan_critic_sees_m_times_2_inputs():
    t = Trainer(TrainConfig(loss="bce", pack=4, **SMALL))
    seen = []
    first = t.D.body[0]
    first.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    t.train_step()
    assert first.in_features == 8
    assert seen and all(s == (64 // 4, 8) for s in seen)


def test_unrolling_restores_the_critic_after_the_generator_update():
    plain = Trainer(TrainConfig(loss="bce", **SMALL))
    unrolled = Trainer(TrainConfig(loss="bce", unroll=3, unroll_mode="first-order", **SMALL))
    plain.train_step()
    unrolled.train_step()
    # The critic (and its optimiser) end where n_critic ordinary updates left them...
    for k, v in plain.D.state_dict().items():
        assert_close(unrolled.D.state_dict()[k], v, rtol=0, atol=0)
    sp, su = plain.opt_d.state_dict()["state"], unrolled.opt_d.state_dict()["state"]
    for i in sp:
        assert_close(su[i]["exp_avg"], sp[i]["exp_avg"], rtol=0, atol=0)
    # ...while the generator stepped against the unrolled critic.
    g_plain = torch.cat([p.flatten() for p in plain.G.parameters()])
    g_unrolled = torch.cat([p.flatten() for p in unrolled.G.parameters()])
    assert not torch.allclose(g_plain, g_unrolled)


def largest_singular_values(trainer):
    trainer.D.eval()  # reading the weight in train mode would run another power iteration
    return [torch.linalg.matrix_norm(m.weight.detach(), ord=2).item()
            for m in trainer.D.modules() if isinstance(m, torch.nn.Linear)]


def test_spectral_norm_keeps_largest_singular_value_near_one():
    # One power iteration per step lags the moving weights: measured 1.00-1.12 over 60 steps.
    sn = Trainer(TrainConfig(loss="hinge", spectral_norm=True, **SMALL))
    plain = Trainer(TrainConfig(loss="hinge", **SMALL))
    for _ in range(10):
        sn.train_step()
        plain.train_step()
    sigmas = largest_singular_values(sn)
    assert len(sigmas) == 4
    for s in sigmas:
        assert_close(s, 1.0, rtol=0.15, atol=0)
    assert any(abs(s - 1) > 0.15 for s in largest_singular_values(plain))


def test_minibatch_std_makes_the_critic_see_the_batch():
    torch.manual_seed(0)
    with_std = Trainer(TrainConfig(loss="bce", mbstd=True, **SMALL)).D
    without = Trainer(TrainConfig(loss="bce", **SMALL)).D
    x = torch.randn(16, 2)
    varied = torch.cat([x[:1], 3 * torch.randn(15, 2)])
    assert not torch.allclose(with_std(x)[0], with_std(varied)[0])
    assert_close(without(x)[0], without(varied)[0])


def test_r1_is_added_with_weight_gamma_over_two():
    history = train(TrainConfig(loss="bce", r1_weight=4.0, **SMALL), None, progress=False)
    last = history[-1]
    assert last["d_r1"] > 0
    assert_close(last["d_loss"], last["d_adv"] + 2.0 * last["d_r1"], rtol=1e-5, atol=1e-6)


def test_mitigations_combine_with_a_penalised_objective():
    cfg = TrainConfig(loss="dragan", pack=2, unroll=2, r1_weight=0.5, **SMALL)
    history = train(cfg, None, progress=False)
    assert np.isfinite([history[-1][k] for k in ("d_loss", "d_gp", "d_r1", "g_loss")]).all()


@pytest.mark.parametrize("cfg,words", [
    (dict(loss="wgan-gp", mbstd=True), "wgan-gp's gradient penalty"),
    (dict(loss="dragan", mbstd=True), "dragan's gradient penalty"),
    (dict(loss="bce", mbstd=True, r1_weight=1.0), "the R1 penalty"),
])
def test_minibatch_std_is_refused_under_a_per_sample_penalty(cfg, words):
    with pytest.raises(UserError, match=f"--mbstd with {words}"):
        TrainConfig(**cfg, **SMALL).resolved()
    # Without the penalty the same feature is fine.
    TrainConfig(**{**cfg, "r1_weight": 0.0, "gp_weight": 0.0}, **SMALL).resolved()


def test_pack_must_divide_the_batch(cli_inproc, tmp_path):
    r = cli_inproc("toygan.train", "--pack", "3", "--batch-size", "64", "--out", tmp_path / "x",
                   "--quiet")
    assert r.returncode == 2 and "multiple of --pack" in r.stderr


def test_pacgan_preset():
    ns = build_parser().parse_args(["--preset", "pacgan", "--pack", "2"])
    cfg = config_from_args(ns).resolved()
    assert (cfg.data, cfg.batch_size, cfg.betas, cfg.lr_d) == ("ring-pacgan", 100, (0.8, 0.999),
                                                                1e-4)
    t = Trainer(dataclass_replace(cfg, steps=1))
    assert t.D.body[0].in_features == 4 and t.D.body[0].out_features == 5 * 200
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in t.G.modules())
    t.train_step()


def dataclass_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


@pytest.mark.long
@pytest.mark.slow
def test_unrolling_mitigates_collapse_in_the_unrolled_gan_setting():
    """The Unrolled-GAN paper's 2D setting, 800 steps, seeds 0-2, each arm's seeds trained together
    (toygan.batched, which trains each run as it would alone). Without unrolling the generator
    covers at most a mode or two of 8 (it sits on one and hops) at every evaluation after the
    first modes appear; with 5 first-order unrolled critic steps it covers at least one more mode
    on average at the end."""
    from toygan.batched import train_runs

    histories = {}
    for k in (0, 5):
        cfgs = [TrainConfig(**dict(PRESETS["unrolled"], steps=800, seed=seed, unroll=k,
                                   unroll_mode="first-order"))
                for seed in range(3)]
        histories[k] = [r.history for r in train_runs(cfgs, [None] * 3, progress=False)]
    covered = {k: [[r for r in h if "modes_covered" in r][-1]["modes_covered"] for h in hs]
               for k, hs in histories.items()}
    plain = [r["modes_covered"] for h in histories[0] for r in h if "modes_covered" in r]
    assert max(plain) <= 2, plain
    assert np.mean(covered[5]) >= np.mean(covered[0]) + 1, covered


def test_slot_batchnorm_normalises_each_pack_slot_on_its_own():
    """PacGAN's code runs its generator once per pack slot: slot j (samples j, j+m, ... here)
    is normalised with its own batch statistics, and the running statistics move by the slots'
    mean update; in eval mode it is plain BatchNorm."""
    from toygan.models import SlotBatchNorm1d, slot_modules, slot_statistics

    torch.manual_seed(0)
    m, n, c = 3, 50, 4
    slot = (torch.arange(n * m) % m)[:, None]
    x = torch.randn(n * m, c) * torch.tensor([1.0, 2.0, 0.5, 3.0]) + slot
    bn = SlotBatchNorm1d(c)
    assert slot_modules(torch.nn.Sequential(bn, torch.nn.ReLU())) == [bn]
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        bn.bias.copy_(torch.tensor([0.5, 0.0, -0.5, 1.0]))
    plain = [torch.nn.BatchNorm1d(c) for _ in range(m)]
    for p in plain:
        p.load_state_dict({k: v for k, v in bn.state_dict().items()})
    with slot_statistics([bn], m):
        y = bn(x)
    assert bn.slots == 1  # outside a training step: one batch (snapshots of any size)
    for j in range(m):
        assert_close(y[j::m], plain[j](x[j::m]), rtol=1e-5, atol=1e-5)
    assert_close(bn.running_mean, torch.stack([p.running_mean for p in plain]).mean(0))
    assert_close(bn.running_var, torch.stack([p.running_var for p in plain]).mean(0))
    # One slot is ordinary BatchNorm; so is evaluation.
    one, ref = SlotBatchNorm1d(c), torch.nn.BatchNorm1d(c)
    assert_close(one(x), ref(x))
    bn.eval()
    assert_close(bn(x), (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
                 * bn.weight + bn.bias, rtol=1e-5, atol=1e-5)
    # Per-slot statistics differ from the whole batch's when the slots differ (they do here).
    assert not torch.allclose(y, torch.nn.BatchNorm1d(c).train()(x) * bn.weight.detach()
                              + bn.bias.detach(), atol=1e-3)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_a_packed_training_step_normalises_per_slot_and_snapshots_do_not(update):
    from toygan.models import slot_modules

    t = Trainer(TrainConfig(loss="bce", pack=2, g_batchnorm=True, update=update,
                            **dict(SMALL, steps=2)))
    seen = []
    for mod in slot_modules(t.G):
        mod.register_forward_pre_hook(lambda mod, _: seen.append(mod.slots))
    t.train_step()
    assert seen and set(seen) == {2}
    seen.clear()
    t.snapshot()  # a 441-point latent grid: no packs there
    assert seen and set(seen) == {1}


def test_blocks_population_statistics_against_a_hand_computation():
    """PacGAN's released code (Blocks): population mean and standard deviation move as
    0.95 * population + 0.05 * batch, the batch's standard deviation being sqrt(biased variance
    + 1e-4); evaluation divides by the population standard deviation."""
    from toygan.models import SlotBatchNorm1d

    x1 = torch.tensor([[0.0], [2.0], [4.0], [6.0]])   # mean 3, biased variance 5
    x2 = torch.tensor([[1.0], [1.0], [3.0], [3.0]])   # mean 2, biased variance 1
    bn = SlotBatchNorm1d(1, stats="blocks")
    assert (bn.momentum, bn.eps) == (0.05, 1e-4)
    y = bn(x1)
    assert_close(y, (x1 - 3.0) / (5.0 + 1e-4) ** 0.5)   # training: the batch's own statistics
    bn(x2)
    mean = 0.95 * (0.95 * 0.0 + 0.05 * 3.0) + 0.05 * 2.0
    std = 0.95 * (0.95 * 1.0 + 0.05 * (5.0 + 1e-4) ** 0.5) + 0.05 * (1.0 + 1e-4) ** 0.5
    assert_close(bn.running_mean, torch.tensor([mean]))
    assert_close(bn.running_std, torch.tensor([std]))
    bn.eval()
    assert_close(bn(x1), (x1 - mean) / std)


def test_a_batchnorm_generator_is_evaluated_with_its_population_statistics():
    """Evaluation and snapshots neither normalise by the evaluated samples nor move the running
    statistics; the batched engine (PacGAN's tables) evaluates the same samples."""
    from toygan.batched import BatchedTrainer

    cfg = TrainConfig(loss="bce", pack=2, g_batchnorm=True, g_bn_stats="blocks",
                      **dict(SMALL, steps=2))
    t = Trainer(cfg)
    t.train_step()
    before = {k: v.clone() for k, v in t.G.state_dict().items()}
    a = t.sample()
    t.snapshot()
    for k, v in t.G.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert t.G.training
    half = t.sample(t.z_eval[: len(t.z_eval) // 2])  # one sample's value does not depend on
    assert_close(half, a[: len(a) // 2])             # the others evaluated with it
    b = BatchedTrainer([cfg, cfg])
    b.train_step()
    fakes = b.eval_fakes()
    assert_close(fakes[0], fakes[1]) and assert_close(fakes[0], a)
