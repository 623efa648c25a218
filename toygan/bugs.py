"""The bug zoo: the classic ways a GAN loss is written wrong, as named switches.

Each bug is a deliberately wrong piece of code, kept here so that a lecturer can train the correct
objective and the buggy one side by side (``--loss wgan-gp,wgan-gp+bug=per-pixel-eps`` in
``toygan.animate``, ``+bug=NAME`` in any study), and so that ``toygan.check`` is tested against
every one of them (it must catch each). Counted in public issue threads of the most used GAN code
bases (see ``../shared/USERS.md``):

``per-pixel-eps``  one random interpolation weight per pixel/coordinate instead of per sample: the
                   penalty is taken off the real-fake segments.
``batch-gradnorm`` the gradient norm over the whole batch instead of per sample: the penalty
                   pushes the batch's norm, sqrt(N) times a sample's, to 1.
``flipped-sign``   the critic's adversarial term with the wrong sign (``backward(mone)``
                   confusion): the critic learns to call fakes real.
``batchnorm-critic`` BatchNorm inside a gradient-penalised critic: each sample's score depends on
                   the others, so a per-sample input gradient is not the critic's gradient.
``sqrt-nan``       the norm as ``sqrt(sum(g**2))``: its derivative at an exactly zero gradient
                   (a dead-ReLU region) is 0/0, and NaN spreads into the weights.
``no-create-graph`` the penalty's ``autograd.grad`` without ``create_graph=True``: the penalty has
                   a value but no gradient, so it never constrains the critic.
``no-detach``      the fake batch not detached in the critic step, and the generator's gradients
                   not cleared before its own step: the critic's loss also trains the generator
                   (towards fakes the critic rejects).
``batch-mean-grad`` the penalty's input gradients averaged over the batch *before* the norm: a
                   linear critic gives every sample the same gradient, so only a curved critic
                   shows that the penalty no longer constrains each sample's slope.
``detached-generator`` the generator's loss computed on ``fake.detach()``: it has a value but sends
                   no gradient to the generator, which never moves.
An "unrolled" GAN that does not differentiate through the unrolled steps is the variant
``unroll-fo=K`` (first order) against ``unroll=K`` (the paper's second order).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toygan import losses
from toygan.losses import _mean, _out, _terms, _uniform

BUGS = {
    "none": "the correct implementation",
    "per-pixel-eps": "one interpolation weight per pixel instead of per sample",
    "batch-gradnorm": "gradient norm over the whole batch instead of per sample",
    "flipped-sign": "the critic's adversarial term with the wrong sign",
    "batchnorm-critic": "BatchNorm inside the penalised critic",
    "sqrt-nan": "the norm as sqrt(sum(g**2)), NaN at a zero gradient",
    "no-create-graph": "the penalty's gradient computed without create_graph",
    "no-detach": "the fake batch not detached in the critic step",
    "batch-mean-grad": "the penalty's gradients averaged over the batch before the norm",
    "detached-generator": "the generator's loss computed on detached fakes",
}
PENALTY_BUGS = ("per-pixel-eps", "batch-gradnorm", "sqrt-nan", "no-create-graph",
                "batch-mean-grad")


def _input_grad(critic, x: Tensor, create_graph: bool = True) -> Tensor:
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(_out(critic, x).sum(), x, create_graph=create_graph)
    return g.flatten(1)


def _gp_loss(critic, real, fake, gp_weight, runs, points, penalty):
    adv = _mean(_out(critic, fake), runs) - _mean(_out(critic, real), runs)
    gp = penalty(points)
    return _terms(adv + gp_weight * gp, adv=adv, gp=gp)


def per_pixel_eps(critic, real, fake, gp_weight=10.0, runs=1, rand=None, **_):
    """BUG: eps has the shape of the samples, not (N, 1, ...)."""
    fake = fake.detach()
    eps = _uniform(real.shape, real.device, rand)
    x = eps * real.detach() + (1 - eps) * fake
    return _gp_loss(critic, real, fake, gp_weight, runs, x,
                    lambda p: losses.gradient_penalty(critic, p, runs=runs))


def batch_gradnorm(critic, real, fake, gp_weight=10.0, runs=1, rand=None, **_):
    """BUG: one norm over the whole batch's gradient."""
    fake = fake.detach()
    x = losses.interpolates(real, fake, rand)
    return _gp_loss(critic, real, fake, gp_weight, runs, x,
                    lambda p: (_input_grad(critic, p).norm() - 1) ** 2)


def sqrt_nan(critic, real, fake, gp_weight=10.0, runs=1, rand=None, **_):
    """BUG: sqrt of the sum of squares, whose derivative at 0 is 0/0."""
    fake = fake.detach()
    x = losses.interpolates(real, fake, rand)
    return _gp_loss(critic, real, fake, gp_weight, runs, x,
                    lambda p: _mean((_input_grad(critic, p).pow(2).sum(1).sqrt() - 1) ** 2, runs))


def no_create_graph(critic, real, fake, gp_weight=10.0, runs=1, rand=None, **_):
    """BUG: the penalty's input gradient without create_graph: a constant to the optimiser."""
    fake = fake.detach()
    x = losses.interpolates(real, fake, rand)
    return _gp_loss(critic, real, fake, gp_weight, runs, x,
                    lambda p: _mean((_input_grad(critic, p, False).norm(dim=1) - 1) ** 2, runs))


def batch_mean_grad(critic, real, fake, gp_weight=10.0, runs=1, rand=None, **_):
    """BUG: the batch's mean input gradient, then one norm (per run)."""
    fake = fake.detach()
    x = losses.interpolates(real, fake, rand)

    def penalty(p):
        g = _input_grad(critic, p)
        g = g.reshape(runs, -1, g.shape[1]).mean(1)  # one mean gradient per run
        pen = (g.norm(dim=1) - 1) ** 2
        return pen if runs > 1 else pen[0]

    return _gp_loss(critic, real, fake, gp_weight, runs, x, penalty)


def detached(generator_loss):
    """BUG: ``generator_loss`` on detached fakes. (``0 * fake.sum()`` keeps the graph alive so
    training runs, as it does in a student's loop where the critic is not frozen: the generator
    receives exactly zero gradient.)"""

    def loss(critic, real, fake, **hp):
        terms = generator_loss(critic, real, fake.detach(), **hp)
        zero = 0.0 * _mean(fake.flatten(1).sum(1), hp.get("runs", 1))  # per run, like the loss
        return dict(terms, loss=terms["loss"] + zero)

    return loss


def flipped(critic_loss):
    """BUG: the adversarial term of ``critic_loss`` with the wrong sign (penalties kept)."""

    def loss(critic, real, fake, **hp):
        terms = critic_loss(critic, real, fake, **hp)
        # The adversarial term with its graph (the returned "adv" is detached: subtracting it
        # would change the logged value and leave the gradient, and training, as they were).
        adv = critic_loss(critic, real, fake, **dict(hp, gp_weight=0.0))["loss"]
        return dict(terms, loss=terms["loss"] - 2 * adv, adv=-terms["adv"])

    return loss


def not_detached(critic_loss):
    """BUG: the critic loss keeps the fake batch's graph."""

    def loss(critic, real, fake, **hp):
        return critic_loss(critic, real, fake, **dict(hp, keep_fake_graph=True))

    return loss


# The zoo's wrong functions with the project's loss signature (toygan.check's test subjects).
flipped_sign = flipped(losses.wgan_gp_critic)
no_detach = not_detached(losses.wgan_gp_critic)
detached_generator = detached(losses.wasserstein_generator)
BUGGY_GP = {"per-pixel-eps": per_pixel_eps, "batch-gradnorm": batch_gradnorm,
            "sqrt-nan": sqrt_nan, "no-create-graph": no_create_graph,
            "batch-mean-grad": batch_mean_grad}


def check_applicable(loss: str, bug: str) -> str | None:
    """Why ``bug`` cannot be shown with objective ``loss``, or None."""
    if bug in PENALTY_BUGS and losses.OBJECTIVES[loss].penalty != "interpolates":
        with_it = [n for n, o in losses.OBJECTIVES.items() if o.penalty == "interpolates"]
        return f"bug {bug} is a wrong gradient penalty: use it with {' or '.join(with_it)}"
    if bug == "batchnorm-critic" and losses.OBJECTIVES[loss].output == "energy":
        return "bug batchnorm-critic needs a critic that is not ebgan's auto-encoder"
    return None


def critic_loss(obj: losses.Objective, bug: str):
    """The critic loss the (buggy) variant trains with."""
    if bug in BUGGY_GP:
        return BUGGY_GP[bug]
    if bug == "flipped-sign":
        return flipped(obj.critic_loss)
    if bug == "no-detach":
        return not_detached(obj.critic_loss)
    return obj.critic_loss


def generator_loss(obj: losses.Objective, bug: str):
    """The generator loss the (buggy) variant trains with."""
    return detached(obj.generator_loss) if bug == "detached-generator" else obj.generator_loss


def batchnorm_critic(depth: int = 3, width: int = 128, in_dim: int = 2) -> nn.Module:
    """BUG: an MLP critic with BatchNorm after every hidden layer."""
    from toygan.models import Critic

    critic = Critic(depth=depth, width=width, in_dim=in_dim)
    layers = []
    for m in critic.body:
        layers.append(m)
        if isinstance(m, nn.Linear):
            layers.append(nn.BatchNorm1d(m.out_features))
    critic.body = nn.Sequential(*layers)
    return critic


def _unrolled(critic, real, fake, steps, lr, differentiate: bool, real_term: bool = True):
    """K SGD steps of the WGAN critic on copies of its weights, then the generator's surrogate:
    the full objective at the unrolled critic, -E[D_K(fake)] + E[D_K(real)] (or without the
    real term)."""
    from torch.func import functional_call

    params = {k: p.detach().clone().requires_grad_(True) for k, p in critic.named_parameters()}
    for _ in range(steps):
        loss = (functional_call(critic, params, (fake if differentiate else fake.detach(),))
                .mean() - functional_call(critic, params, (real,)).mean())
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=differentiate)
        params = {k: p - lr * g for (k, p), g in zip(params.items(), grads, strict=True)}
        if not differentiate:
            params = {k: p.detach().requires_grad_(True) for k, p in params.items()}
    out = -functional_call(critic, params, (fake,)).mean()
    return out + functional_call(critic, params, (real,)).mean() if real_term else out


def first_order_unrolled_loss(critic, real, fake, steps, lr):
    """BUG (for ``toygan.check --as unrolled``): the unrolled steps on *detached* weights, so no
    gradient flows through them (first order)."""
    return _unrolled(critic, real, fake, steps, lr, differentiate=False)


def unrolled_loss_without_real_term(critic, real, fake, steps, lr):
    """BUG (for ``toygan.check --as unrolled``): differentiated through the steps, but the
    surrogate is only the generator's loss -E[D_K(fake)]: the real-data term, which depends on
    the generator through the unrolled steps, is dropped."""
    return _unrolled(critic, real, fake, steps, lr, differentiate=True, real_term=False)


def unrolled_loss(critic, real, fake, steps, lr):
    """The correct version: the full objective at the unrolled critic, differentiable in
    ``fake`` through the steps."""
    return _unrolled(critic, real, fake, steps, lr, differentiate=True)
