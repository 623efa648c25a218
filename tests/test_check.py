"""toygan.check: every project objective passes, every zoo bug is caught (mutation-style), and a
student's broken file gives one line, never our traceback."""

import json

import pytest
import torch

from toygan import bugs, losses
from toygan.check import Checks


@pytest.mark.parametrize("name", list(losses.OBJECTIVES))
@pytest.mark.parametrize("generator", [False, True])
def test_every_project_objective_passes_every_check(name, generator):
    obj = losses.OBJECTIVES[name]
    fn = obj.generator_loss if generator else obj.critic_loss
    results = Checks(fn, name, generator).run()
    assert len(results) >= 2
    assert [r for r in results if not r[1]] == []


def test_bare_penalty_and_unrolled_references_pass():
    gp = lambda c, r, f: losses.gradient_penalty(c, losses.interpolates(r, f))  # noqa: E731
    assert all(ok for _, ok, _ in Checks(gp, "gp").run())
    assert all(ok for _, ok, _ in Checks(bugs.unrolled_loss, "unrolled").run())


CAUGHT = {  # zoo bug -> (function, check that fails, words of its fix)
    "per-pixel-eps": (bugs.per_pixel_eps, "interpolation weights", "one per sample"),
    "batch-gradnorm": (bugs.batch_gradnorm, "value equals", "over the whole batch"),
    "flipped-sign": (bugs.flipped_sign, "sign", "sign is flipped"),
    "sqrt-nan": (bugs.sqrt_nan, "finite value", "sqrt(sum(g**2))"),
    "no-create-graph": (bugs.no_create_graph, "reaches the critic's weights", "create_graph=True"),
    "no-detach": (bugs.no_detach, "no gradient reaches the generator", "fake.detach()"),
    "batch-mean-grad": (bugs.batch_mean_grad, "each sample's own gradient",
                        "averaged over the batch before the norm"),
}


@pytest.mark.parametrize("bug", list(CAUGHT))
def test_every_zoo_bug_is_caught_with_the_right_message(bug):
    fn, check, fix = CAUGHT[bug]
    failed = [(n, f) for n, ok, f in Checks(fn, "wgan-gp").run() if not ok]
    assert any(check in n and fix in f for n, f in failed), failed


def test_batchnorm_critic_and_first_order_unrolling_are_caught():
    results = Checks(losses.wgan_gp_critic, "wgan-gp").run(bugs.batchnorm_critic)
    assert [n for n, ok, _ in results if not ok] == [
        "the critic judges each sample alone (no batch statistics)"]
    failed = [f for _, ok, f in Checks(bugs.first_order_unrolled_loss, "unrolled").run() if not ok]
    assert len(failed) == 1 and "not differentiated (first order)" in failed[0]
    failed = [f for _, ok, f in Checks(bugs.unrolled_loss_without_real_term, "unrolled").run()
              if not ok]
    assert len(failed) == 1 and "drops the real-data term" in failed[0]
    assert set(bugs.BUGS) - {"none"} == set(CAUGHT) | {"batchnorm-critic",
                                                       "detached-generator"}


@pytest.mark.parametrize("name", ["wgan-gp", "bce", "lsgan", "ebgan"])
def test_a_generator_loss_on_detached_fakes_is_caught(name):
    # The zoo's bug, and the way a student writes it (the critic's weights still requiring grad,
    # so the loss has a graph but none of it leads to the fakes).
    obj = losses.OBJECTIVES[name]
    student = lambda c, r, f, **hp: obj.generator_loss(c, r, f.detach(), **hp)  # noqa: E731
    for fn in (bugs.detached(obj.generator_loss), student):
        failed = [(n, f) for n, ok, f in Checks(fn, name, True).run() if not ok]
        assert [n for n, _ in failed] == ["the generator's loss sends gradient to the fakes"]
        assert "do not detach the fakes" in failed[0][1]


def test_the_mean_before_norm_penalty_passes_a_linear_critic_but_not_a_curved_one():
    # The blind spot: with a linear critic every sample's gradient is w, so the bug's value is
    # right; the curved critic's check is the one that catches it.
    results = dict((n, ok) for n, ok, _ in Checks(bugs.batch_mean_grad, "wgan-gp").run())
    assert results["value equals the wgan-gp formula on a linear critic (2D points)"]
    assert not results["the penalty uses each sample's own gradient (curved critic)"]


def test_saturating_generator_is_identified():
    msgs = [n for n, ok, _ in Checks(losses.minimax_generator, "bce", True).run() if not ok]
    assert any("is saturating (minimax)" in m for m in msgs)


STUDENT = '''
import torch

def good(critic, real, fake, gp_weight=10.0, **_):
    fake = fake.detach()
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1))
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    g, = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    gp = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + gp_weight * gp

def per_pixel(critic, real, fake, gp_weight=10.0, **_):
    fake = fake.detach()
    eps = torch.rand(real.shape)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    g, = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    gp = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + gp_weight * gp

def mean_before_norm(critic, real, fake, gp_weight=10.0, **_):
    fake = fake.detach()
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1))
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    g, = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    gp = (g.flatten(1).mean(0).norm(2) - 1) ** 2
    return critic(fake).mean() - critic(real).mean() + gp_weight * gp

def g_detached(critic, real, fake, **_):
    return -critic(fake.detach()).mean()

def two_args(critic, real):
    return critic(real).mean()

def raises(critic, real, fake):
    raise ValueError("oops")
'''


@pytest.mark.slow
def test_cli_on_a_students_file(cli, cli_inproc, tmp_path):
    """The first check in a process of its own (exit status and output as a student sees
    them), the others in this one."""
    f = tmp_path / "hw.py"
    f.write_text(STUDENT)
    r = cli("toygan.check", f"{f}:good", "--as", "wgan-gp")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("✔") == 8 and "8/8 checks passed" in r.stdout
    r = cli_inproc("toygan.check", f"{f}:per_pixel", "--as", "wgan-gp", "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["passed"] is False
    assert [c["check"] for c in report["checks"] if not c["ok"]] == [
        "interpolation weights are one per sample, on the real-fake segments"]
    r = cli_inproc("toygan.check", f"{f}:mean_before_norm", "--as", "wgan-gp")
    assert r.returncode == 1 and "averaged over the batch before the norm" in r.stdout
    assert "7/8 checks passed" in r.stdout
    r = cli_inproc("toygan.check", f"{f}:g_detached", "--as", "wgan-gp", "--generator")
    assert r.returncode == 1 and "do not detach the fakes" in r.stdout
    bad = tmp_path / "broken.py"
    bad.write_text("def f(:\n")
    for spec, words in ((f"{bad}:f", "syntax error"), (f"{f}:nope", "has no function 'nope'"),
                        (f"{f}:two_args", "does not take the expected arguments"),
                        (f"{f}:raises", "raised ValueError: oops"),
                        (f"{tmp_path}/missing.py:f", "not found")):
        r = cli_inproc("toygan.check", spec, "--as", "wgan-gp")
        assert r.returncode == 2, (spec, r.stderr)
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_training_with_a_detached_generator_loss_never_moves_the_generator():
    from toygan.train import TrainConfig, Trainer

    t = Trainer(TrainConfig(loss="bce", bug="detached-generator", steps=5, batch_size=32))
    g0 = [p.detach().clone() for p in t.G.parameters()]
    d0 = [p.detach().clone() for p in t.D.parameters()]
    for _ in range(5):
        terms = t.train_step()
    assert all(torch.equal(a, p) for a, p in zip(g0, t.G.parameters(), strict=True))
    assert not all(torch.equal(a, p) for a, p in zip(d0, t.D.parameters(), strict=True))
    assert torch.isfinite(terms["g_loss"])


def test_the_flipped_sign_bug_flips_the_critics_gradient_not_only_its_value():
    """Training with bug flipped-sign must train a different critic: the loss's gradient is the
    penalty's minus the adversarial term's (a detached term would flip only the logged value)."""
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    real, fake = torch.randn(32, 2), torch.randn(32, 2) + 1

    def grads(fn, seed, **hp):  # the seed draws the penalty's interpolation weights
        critic.zero_grad()
        torch.manual_seed(seed)
        fn(critic, real, fake, **hp)["loss"].backward()
        return [p.grad.clone() for p in critic.parameters()]

    bugged = grads(bugs.flipped_sign, 1, gp_weight=10.0)
    adv = grads(losses.wgan_gp_critic, 2, gp_weight=0.0)
    full = grads(losses.wgan_gp_critic, 1, gp_weight=10.0)
    for b, a, f in zip(bugged, adv, full, strict=True):
        torch.testing.assert_close(b, f - 2 * a, rtol=1e-4, atol=1e-5)
    assert max((b - f).abs().max() for b, f in zip(bugged, full, strict=True)) > 1e-3
