"""An objective is one registry entry: a new one registered in ``toygan.losses.OBJECTIVES``, with
no other edit, trains, animates, is checked by ``toygan.check``, is offered by the live page and
the study, and appears in ``--help``. The entry here is WGAN-LP (Petzka et al. 2018): the WGAN
critic with a one-sided penalty on the same interpolates as WGAN-GP,
lambda E[max(0, ||grad D(x_hat)|| - 1)^2]."""

import json

import pytest
import torch
from torch.testing import assert_close

from toygan import losses

NAME = "wgan-lp"


def lp_critic(critic, real, fake, gp_weight=10.0, runs=1, rand=None, keep_fake_graph=False, **_):
    """min_D E[D(fake)] - E[D(real)] + lambda E[max(0, ||grad D(x_hat)|| - 1)^2]."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = losses._mean(losses._out(critic, fake), runs) - losses._mean(losses._out(critic, real),
                                                                       runs)
    x_hat = losses.interpolates(real, fake, rand, keep_fake_graph)
    norms = losses.grad_norms(critic, x_hat, keep_graph=keep_fake_graph)
    lp = losses._mean(torch.relu(norms - 1) ** 2, runs)
    return losses._terms(adv + gp_weight * lp, adv=adv, gp=lp)


@pytest.fixture
def registered(monkeypatch):
    obj = losses.Objective(
        NAME, lp_critic, losses.wasserstein_generator, "score", "adam", 1e-4, (0.5, 0.9), 5,
        critic_real=losses.wasserstein_real, hparams={"gp_weight": 10.0}, penalty="interpolates",
        formula="D: D(fake) − D(real) + λ max(0, ‖∇D(x̂)‖ − 1)²; G: −D(fake)",
        source="Petzka et al. 2018 (WGAN-LP), WGAN-GP's optimiser and lambda")
    monkeypatch.setitem(losses.OBJECTIVES, NAME, obj)
    monkeypatch.setattr(losses, "lp_critic", lp_critic, raising=False)
    return obj


def test_the_new_entry_computes_its_formula(registered):
    """On a linear critic every gradient is w: the penalty is max(0, ||w|| - 1)^2."""
    for scale, lp in ((3.0, 4.0), (0.5, 0.0)):  # ||w|| = 3 and 0.5
        critic = torch.nn.Linear(2, 1)
        with torch.no_grad():
            critic.weight.copy_(torch.tensor([[0.6, 0.8]]) * scale)
        real, fake = torch.randn(16, 2), torch.randn(16, 2)
        adv = critic(fake).mean() - critic(real).mean()
        terms = registered.critic_loss(critic, real, fake, gp_weight=10.0)
        assert_close(terms["gp"], torch.tensor(lp))
        assert_close(terms["loss"], adv + 10.0 * lp)


@pytest.mark.slow
def test_a_new_objective_needs_no_other_edit(registered, cli_inproc, tmp_path):
    from toygan.check import Checks
    from toygan.live import validate
    from toygan.liveserver import serve
    from toygan.variants import parse_variant

    # --help of the commands that take an objective lists it.
    for module in ("toygan.train", "toygan.animate"):
        r = cli_inproc(module, "--help")
        assert r.returncode == 0 and NAME in r.stdout, module
    # It trains (one-line command, finite losses recorded) and animates.
    r = cli_inproc("toygan.train", "--loss", NAME, "--steps", "30", "--eval-every", "10",
                   "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["loss"] == NAME and cfg["optimizer"] == "adam" and cfg["lr"] is not None
    stats = [json.loads(line) for line in (tmp_path / "run" / "stats.jsonl").open()]
    assert stats and all(torch.isfinite(torch.tensor(s["d_loss"])) for s in stats if "d_loss" in s)
    r = cli_inproc("toygan.animate", "--loss", NAME, "--steps", "20", "--frames", "2",
                   "--size", "120", "--out", tmp_path / "a.gif", "--quiet")
    assert r.returncode == 0 and (tmp_path / "a.gif").stat().st_size > 0, r.stderr
    # toygan.check checks it, as the critic's and the generator's loss.
    for fn, generator in ((registered.critic_loss, False), (registered.generator_loss, True)):
        results = Checks(fn, NAME, generator).run()
        assert len(results) >= 2 and all(ok for _, ok, _ in results), results
    r = cli_inproc("toygan.check", "toygan.losses:lp_critic", "--as", NAME)
    assert r.returncode == 0, r.stdout + r.stderr
    # The study and the live page offer it.
    assert parse_variant(f"{NAME}+pack=2")["loss"] == NAME
    runs = validate({"variant": NAME, "data": "ring"}, tmp_path)
    assert [r.loss for r in runs] == [NAME]
    server, session = serve(0, threads=1)
    try:
        assert f'"{NAME}"' in server.RequestHandlerClass.html
    finally:
        session.close()
        server.server_close()
