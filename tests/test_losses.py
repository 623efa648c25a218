"""Each objective against hand-computed values; penalties and clipping."""

import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from toygan import losses
from toygan.losses import OBJECTIVES
from toygan.models import make_critic


class Linear(nn.Module):
    """critic(x) = <w, x.flatten(1)>: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32).flatten())

    def forward(self, x):
        return x.flatten(1) @ self.w


class FixedEnergy(nn.Module):
    """An 'auto-encoder' whose energy and code are looked up from the first coordinate."""

    def __init__(self, codes):
        super().__init__()
        self.codes = codes

    def forward(self, x):
        return x[:, 0]

    def embed(self, x):
        return self.codes[: len(x)]


REAL = torch.tensor([[1.0, 0.0], [0.5, 0.5]])  # scores under w=(1,1): 1.0, 1.0
FAKE = torch.tensor([[0.0, -2.0], [-1.0, 0.5]])  # scores: -2.0, -0.5
SR, SF = [1.0, 1.0], [-2.0, -0.5]


def softplus(v):
    return math.log1p(math.exp(v))


def mean(xs):
    return sum(xs) / len(xs)


def value(name, player, critic=None, **hp):
    obj = OBJECTIVES[name]
    fn = obj.critic_loss if player == "d" else obj.generator_loss
    return fn(critic or Linear([1.0, 1.0]), REAL, FAKE, **hp)


HAND = {
    ("bce", "d"): mean([softplus(-s) for s in SR]) + mean([softplus(s) for s in SF]),
    ("bce", "g"): mean([softplus(-s) for s in SF]),
    ("minimax", "d"): mean([softplus(-s) for s in SR]) + mean([softplus(s) for s in SF]),
    ("minimax", "g"): mean([math.log(1 - 1 / (1 + math.exp(-s))) for s in SF]),
    ("lsgan", "d"): 0.5 * mean([(s - 1) ** 2 for s in SR]) + 0.5 * mean([s**2 for s in SF]),
    ("lsgan", "g"): 0.5 * mean([(s - 1) ** 2 for s in SF]),
    ("hinge", "d"): mean([max(0, 1 - s) for s in SR]) + mean([max(0, 1 + s) for s in SF]),
    ("hinge", "g"): -mean(SF),
    ("wgan", "d"): mean(SF) - mean(SR),
    ("wgan", "g"): -mean(SF),
    ("wgan-gp", "g"): -mean(SF),
    ("dragan", "g"): mean([softplus(-s) for s in SF]),
}


@pytest.mark.parametrize("name,player", sorted(HAND))
def test_adversarial_terms_match_hand_computed(name, player):
    terms = value(name, player)
    assert_close(terms["loss"].item(), HAND[name, player], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["wgan-gp", "dragan"])
def test_penalised_critic_losses_add_lambda_times_penalty(name):
    # w = (1, 1) has norm sqrt2 everywhere, so the penalty is (sqrt2 - 1)^2 wherever evaluated.
    terms = value(name, "d", gp_weight=10.0)
    gp = (math.sqrt(2) - 1) ** 2
    adv = (mean(SF) - mean(SR)) if name == "wgan-gp" else HAND["bce", "d"]
    assert_close(terms["gp"].item(), gp, rtol=1e-5, atol=1e-6)
    assert_close(terms["adv"].item(), adv, rtol=1e-6, atol=1e-6)
    assert_close(terms["loss"].item(), adv + 10.0 * gp, rtol=1e-5, atol=1e-6)


def test_ebgan_margin_and_pull_away():
    codes = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    real = torch.tensor([[0.5], [1.5]])
    fake = torch.tensor([[0.2], [3.0], [0.7]])
    critic = FixedEnergy(codes)
    d = OBJECTIVES["ebgan"].critic_loss(critic, real, fake, margin=1.0)
    assert_close(d["loss"].item(), 1.0 + (0.8 + 0.0 + 0.3) / 3, rtol=1e-6, atol=1e-6)
    g = OBJECTIVES["ebgan"].generator_loss(critic, real, fake, pt_weight=0.5)
    # Ordered pairs i != j: cos^2 = 1 for (0,1),(1,0), 0 otherwise -> 2 / (3*2).
    assert_close(g["pt"].item(), 1 / 3, rtol=1e-6, atol=1e-6)
    assert_close(g["loss"].item(), (0.2 + 3.0 + 0.7) / 3 + 0.5 / 3, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(16, 2), (4, 3, 32, 32)])
def test_gradient_penalty_zero_for_unit_linear_critic_positive_otherwise(shape):
    torch.manual_seed(0)
    real, fake = torch.randn(shape), torch.randn(shape)
    d = real[0].numel()
    w = torch.randn(d)
    unit = Linear(w / w.norm())
    double = Linear(2 * w / w.norm())
    for points in (losses.interpolates(real, fake), losses.perturbed_real(real)):
        assert_close(losses.gradient_penalty(unit, points).item(), 0.0, atol=1e-8, rtol=0)
        assert_close(losses.gradient_penalty(double, points).item(), 1.0, rtol=1e-5, atol=1e-6)


def test_gradient_norms_are_per_sample():
    # critic(x) = sum_i x_i^2 / 2 has gradient x: per-sample norms are the rows' norms.
    x = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    norms = losses.grad_norms(lambda v: 0.5 * (v**2).sum(1), x)
    assert_close(norms, torch.tensor([5.0, 1.0]))
    assert_close(losses.r1_penalty(lambda v: 0.5 * (v**2).sum(1), x).item(), (25 + 1) / 2)


def test_penalty_is_differentiable_wrt_critic_weights():
    critic = Linear([3.0, 4.0])
    gp = losses.gradient_penalty(critic, torch.randn(8, 2))
    gp.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * (0.6, 0.8)
    assert_close(critic.w.grad, torch.tensor([4.8, 6.4]), rtol=1e-5, atol=1e-5)


def test_clip_weights_keeps_every_parameter_within_c():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
    losses.clip_weights(net, 0.01)
    for p in net.parameters():
        assert p.abs().max().item() <= 0.01 + 1e-12
    assert any((p.abs() == 0.01).any() for p in net.parameters())


def test_registry_holds_published_defaults():
    assert OBJECTIVES["wgan"].optimizer == "rmsprop" and OBJECTIVES["wgan"].lr == 5e-5
    assert OBJECTIVES["wgan"].clip == 0.01 and OBJECTIVES["wgan"].n_critic == 5
    gp = OBJECTIVES["wgan-gp"]
    assert (gp.optimizer, gp.lr, gp.betas, gp.n_critic) == ("adam", 1e-4, (0.5, 0.9), 5)
    assert gp.hparams["gp_weight"] == 10.0
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        losses.get_objective("nope")


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_critic_real_is_the_critic_losss_real_data_term(name):
    """Second-order unrolling adds the critic loss's real-data term: changing only the real batch
    changes the critic's (adversarial) loss by exactly the change of that term."""
    obj = OBJECTIVES[name]
    torch.manual_seed(0)
    critic = make_critic(obj.output, depth=2, width=16)
    real, real2, fake = torch.randn(32, 2), torch.randn(32, 2) + 1, torch.randn(32, 2) - 1
    hp = {k: v for k, v in obj.hparams.items() if k != "clip"}
    adv = lambda r: obj.critic_loss(critic, r, fake, **hp)["adv"]  # noqa: E731
    assert_close(adv(real) - adv(real2),
                 obj.critic_real(critic, real) - obj.critic_real(critic, real2))


def test_penalty_keeps_the_generators_graph_only_when_asked():
    """Inside a second-order unroll the penalty at interpolates depends on the generator."""
    torch.manual_seed(0)
    critic = make_critic("score", depth=2, width=16, activation="tanh")  # curved: ReLU's input
    real, fake = torch.randn(16, 2), torch.randn(16, 2).requires_grad_(True)  # gradient is flat
    rand = lambda shape, device: torch.full(shape, 0.5)  # noqa: E731
    kept = losses.gradient_penalty(critic, losses.interpolates(real, fake, rand, True),
                                   keep_graph=True)
    (g,) = torch.autograd.grad(kept, fake)
    assert g.abs().sum() > 0
    cut = losses.gradient_penalty(critic, losses.interpolates(real, fake, rand))
    assert_close(cut, kept)  # the same value, but no path back to the fakes
    with pytest.raises(RuntimeError):
        torch.autograd.grad(cut, fake)
