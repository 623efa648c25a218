"""The one objective library: every GAN loss, for any input shape.

Sign convention (the only place it is stated)
---------------------------------------------
``critic(x)`` returns one raw number per sample, shape ``(N,)`` or ``(N, 1)``.

* For every objective except EBGAN, **higher means "more real"**. For the sigmoid-based
  objectives (``bce``, ``minimax``, ``dragan``) the number is a logit and D(x) = sigmoid(critic(x))
  is the probability that x is real; for ``lsgan`` it is the least-squares regression target
  (real -> 1, fake -> 0); for ``hinge``, ``wgan`` and ``wgan-gp`` it is an unbounded score.
* For ``ebgan`` the critic is an auto-encoder whose output is an **energy**
  (per-sample reconstruction error): **lower means "more real"**. Such a critic also has
  ``critic.embed(x)`` returning its code, used by the pull-away term.

Both players *minimise* the ``"loss"`` entry of their dict. Every loss function is a small pure
function ``f(critic, real, fake, **hparams) -> dict`` whose ``"loss"`` is the scalar to minimise
and whose other entries (``"adv"``, ``"gp"``, ``"pt"``, ...) are the named terms, detached, for
logging. Gradient norms are per sample (``flatten(1)``), so the same code serves ``(N, 2)`` points
and ``(N, 3, H, W)`` images.

A critic loss never sends gradient into the generator: it detaches ``fake`` itself (the caller
need not remember to), unless ``keep_fake_graph=True`` — what second-order unrolling needs, where
the critic's look-ahead updates are functions of the generator.

Several runs at once (``toygan.batched``): every loss also accepts ``runs=K`` for a batch that
holds K independent runs' samples stacked run-major (K blocks of N/K); then every term is a
per-run mean of shape ``(K,)`` and the caller minimises ``loss.sum()``, which gives each run
exactly its own gradient. Random draws inside a loss (interpolation and perturbation weights)
come from ``rand(shape, device)`` when given, so each run can draw from its own stream.

The registry ``OBJECTIVES`` maps a name to an :class:`Objective` holding both losses and the
recommended optimiser, learning rate, betas, ``n_critic`` and hyper-parameters from the paper or
reference code that introduced it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _out(critic: nn.Module, x: Tensor) -> Tensor:
    """Critic output flattened to shape (N,)."""
    return critic(x).reshape(-1)


def _mean(v: Tensor, runs: int = 1) -> Tensor:
    """Mean over samples: a scalar, or one mean per run, shape (runs,), for stacked runs."""
    return v.mean() if runs == 1 else v.reshape(runs, -1).mean(1)


def _uniform(shape, device, rand=None) -> Tensor:
    """U[0, 1) noise from ``rand(shape, device)`` if given, else from torch's global generator."""
    return rand(tuple(shape), device) if rand is not None else torch.rand(shape, device=device)


def _terms(loss: Tensor, **terms: Tensor) -> dict[str, Tensor]:
    """The dict a loss returns: ``loss`` keeps its graph, the named terms are detached."""
    out = {"loss": loss}
    out.update({k: v.detach() for k, v in terms.items()})
    return out


# ----------------------------------------------------------------------------- penalties


def grad_norms(critic: nn.Module, x: Tensor, create_graph: bool = True,
               keep_graph: bool = False) -> Tensor:
    """Per-sample norm ||grad_x critic(x)||_2, shape (N,), for inputs of any shape.

    Computed in full precision (autocast off) with ``autograd.grad`` so the result can itself be
    differentiated (``create_graph=True``) for a penalty. ``x`` is detached unless
    ``keep_graph`` (second-order unrolling: the points are functions of the generator, and so is
    the penalty at them).
    """
    input_grad = getattr(critic, "input_grad", None)
    if input_grad is not None:  # a critic differentiated by torch.func (toygan.step's compiled
        return input_grad(x.detach().float()).flatten(1).norm(2, dim=1)  # critic update)
    x = x.float() if keep_graph and x.requires_grad else x.detach().float().requires_grad_(True)
    with torch.autocast(device_type=x.device.type, enabled=False):
        out = critic(x).float().sum()
    (grad,) = torch.autograd.grad(out, x, create_graph=create_graph)
    return grad.flatten(1).norm(2, dim=1)


def interpolates(real: Tensor, fake: Tensor, rand=None, keep_fake_graph: bool = False) -> Tensor:
    """Random points on the segments between paired real and fake samples (WGAN-GP).

    One uniform epsilon per sample: x_hat = eps * real + (1 - eps) * fake (``fake`` detached
    unless ``keep_fake_graph``).
    """
    eps = _uniform((real.shape[0],) + (1,) * (real.dim() - 1), real.device, rand)
    return eps * real.detach() + (1 - eps) * (fake if keep_fake_graph else fake.detach())


def perturbed_real(real: Tensor, runs: int = 1, rand=None) -> Tensor:
    """DRAGAN's points: real samples moved part-way towards a noisy copy of themselves.

    x_p = x + 0.5 * std(x) * u, u ~ U[0, 1) elementwise (as in the DRAGAN reference code), then a
    random point between x and x_p (one alpha per sample). std(x) is over the whole batch (of
    each run, for stacked runs).
    """
    real = real.detach()
    if runs == 1:
        std = real.std()
    else:
        std = real.reshape(runs, -1).std(1).repeat_interleave(real.shape[0] // runs)
        std = std.reshape((-1,) + (1,) * (real.dim() - 1))
    noisy = real + 0.5 * std * _uniform(real.shape, real.device, rand)
    alpha = _uniform((real.shape[0],) + (1,) * (real.dim() - 1), real.device, rand)
    return real + alpha * (noisy - real)


def gradient_penalty(critic: nn.Module, x: Tensor, center: float = 1.0, runs: int = 1,
                     keep_graph: bool = False) -> Tensor:
    """Two-sided penalty mean((||grad critic(x)|| - center)^2) over the samples x."""
    return _mean((grad_norms(critic, x, keep_graph=keep_graph) - center) ** 2, runs)


def r1_penalty(critic: nn.Module, real: Tensor, runs: int = 1) -> Tensor:
    """Zero-centred penalty on real data, mean ||grad critic(real)||^2 (Mescheder et al. 2018)."""
    return _mean(grad_norms(critic, real) ** 2, runs)


@torch.no_grad()
def clip_weights(critic: nn.Module, clip: float) -> None:
    """WGAN weight clipping: clamp every parameter of the critic to [-clip, clip]."""
    for p in critic.parameters():
        p.clamp_(-clip, clip)


def pull_away(embedding: Tensor, runs: int = 1) -> Tensor:
    """EBGAN's pull-away term: mean squared cosine similarity between distinct samples' codes
    (within each run, for stacked runs)."""
    n = embedding.shape[0] // runs
    if n < 2:
        return embedding.new_zeros(()) if runs == 1 else embedding.new_zeros(runs)
    e = F.normalize(embedding.flatten(1), dim=1).reshape(runs, n, -1)
    cos2 = (e @ e.transpose(1, 2)) ** 2
    pt = (cos2.sum((1, 2)) - cos2.diagonal(dim1=1, dim2=2).sum(1)) / (n * (n - 1))
    return pt[0] if runs == 1 else pt


# ----------------------------------------------------------------------------- objectives
# Critic losses take (critic, real, fake) and generator losses take (critic, real, fake) too
# (most ignore real). Unused hyper-parameters are accepted and ignored (**_).


def bce_critic(critic, real, fake, runs=1, keep_fake_graph=False, **_):
    """min_D  -E[log D(real)] - E[log(1 - D(fake))],  D = sigmoid(critic)."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = (_mean(F.softplus(-_out(critic, real)), runs)
           + _mean(F.softplus(_out(critic, fake)), runs))
    return _terms(adv, adv=adv)


def bce_generator(critic, real, fake, runs=1, **_):
    """Non-saturating (DCGAN):  min_G  -E[log D(G(z))]."""
    adv = _mean(F.softplus(-_out(critic, fake)), runs)
    return _terms(adv, adv=adv)


def minimax_generator(critic, real, fake, runs=1, **_):
    """Original saturating minimax:  min_G  E[log(1 - D(G(z)))]."""
    adv = -_mean(F.softplus(_out(critic, fake)), runs)
    return _terms(adv, adv=adv)


def lsgan_critic(critic, real, fake, runs=1, keep_fake_graph=False, **_):
    """min_D  1/2 E[(D(real) - 1)^2] + 1/2 E[D(fake)^2]  (Mao et al., a=0, b=c=1)."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = (0.5 * _mean((_out(critic, real) - 1) ** 2, runs)
           + 0.5 * _mean(_out(critic, fake) ** 2, runs))
    return _terms(adv, adv=adv)


def lsgan_generator(critic, real, fake, runs=1, **_):
    """min_G  1/2 E[(D(G(z)) - 1)^2]."""
    adv = 0.5 * _mean((_out(critic, fake) - 1) ** 2, runs)
    return _terms(adv, adv=adv)


def hinge_critic(critic, real, fake, runs=1, keep_fake_graph=False, **_):
    """min_D  E[relu(1 - D(real))] + E[relu(1 + D(fake))]."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = (_mean(F.relu(1 - _out(critic, real)), runs)
           + _mean(F.relu(1 + _out(critic, fake)), runs))
    return _terms(adv, adv=adv)


def wasserstein_generator(critic, real, fake, runs=1, **_):
    """min_G  -E[D(G(z))]  (WGAN, WGAN-GP, hinge)."""
    adv = -_mean(_out(critic, fake), runs)
    return _terms(adv, adv=adv)


def wgan_critic(critic, real, fake, runs=1, keep_fake_graph=False, **_):
    """min_D  E[D(fake)] - E[D(real)]; Lipschitz by weight clipping after each step.

    ``adv`` is the negated estimate of the Wasserstein-1 distance (critic loss = -W).
    """
    fake = fake if keep_fake_graph else fake.detach()
    adv = _mean(_out(critic, fake), runs) - _mean(_out(critic, real), runs)
    return _terms(adv, adv=adv)


def wgan_gp_critic(critic, real, fake, gp_weight=10.0, runs=1, rand=None, keep_fake_graph=False,
                   **_):
    """min_D  E[D(fake)] - E[D(real)] + lambda E[(||grad D(x_hat)|| - 1)^2] on interpolates."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = _mean(_out(critic, fake), runs) - _mean(_out(critic, real), runs)
    gp = gradient_penalty(critic, interpolates(real, fake, rand, keep_fake_graph), runs=runs,
                          keep_graph=keep_fake_graph)
    return _terms(adv + gp_weight * gp, adv=adv, gp=gp)


def dragan_critic(critic, real, fake, gp_weight=10.0, runs=1, rand=None, keep_fake_graph=False,
                  **_):
    """BCE critic loss + lambda E[(||grad D(x_p)|| - 1)^2] on perturbed real samples (DRAGAN)."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = (_mean(F.softplus(-_out(critic, real)), runs)
           + _mean(F.softplus(_out(critic, fake)), runs))
    gp = gradient_penalty(critic, perturbed_real(real, runs, rand), runs=runs)
    return _terms(adv + gp_weight * gp, adv=adv, gp=gp)


def ebgan_critic(critic, real, fake, margin=1.0, runs=1, keep_fake_graph=False, **_):
    """min_D  E[E(real)] + E[relu(m - E(fake))];  E = the auto-encoder's reconstruction energy."""
    fake = fake if keep_fake_graph else fake.detach()
    adv = _mean(_out(critic, real), runs) + _mean(F.relu(margin - _out(critic, fake)), runs)
    return _terms(adv, adv=adv)


def ebgan_generator(critic, real, fake, pt_weight=0.0, runs=1, **_):
    """min_G  E[E(G(z))] + w_pt * PT(embed(G(z)))  (pull-away term optional, EBGAN-PT)."""
    adv = _mean(_out(critic, fake), runs)
    if pt_weight == 0:
        return _terms(adv, adv=adv)
    pt = pull_away(critic.embed(fake), runs)
    return _terms(adv + pt_weight * pt, adv=adv, pt=pt)


# The critic loss's real-data term, per objective (penalties excluded). Second-order unrolling
# adds it, sign flipped, to the generator's loss at the unrolled critic: the surrogate is then the
# full objective at the look-ahead critic (Metz et al. 2017, eq. 12), whose real-data term
# depends on the generator through the unrolled updates. For minimax it is exactly the value
# function V(G, D_K) the authors' notebook minimises (``-unrolled_loss``); for the others, the
# objective's own generator loss plus the same real-data term of the critic's game.


def bce_real(critic, real, runs=1, **_):
    """-E[log D(real)]  (bce, minimax, dragan)."""
    return _mean(F.softplus(-_out(critic, real)), runs)


def lsgan_real(critic, real, runs=1, **_):
    """1/2 E[(D(real) - 1)^2]."""
    return 0.5 * _mean((_out(critic, real) - 1) ** 2, runs)


def hinge_real(critic, real, runs=1, **_):
    """E[relu(1 - D(real))]."""
    return _mean(F.relu(1 - _out(critic, real)), runs)


def wasserstein_real(critic, real, runs=1, **_):
    """-E[D(real)]  (wgan, wgan-gp)."""
    return -_mean(_out(critic, real), runs)


def ebgan_real(critic, real, runs=1, **_):
    """E[E(real)]."""
    return _mean(_out(critic, real), runs)


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Hparam:
    """An objective hyper-parameter: its help text and range (the ``--flag`` of every program
    derives from it, ``toygan.ganconfig``), and whether the loss functions take it as a keyword
    (weight clipping is applied by the training step instead)."""

    help: str
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    loss_keyword: bool = True
    noted: bool = True  # a value other than the published one is named in the run's note


HPARAMS: dict[str, Hparam] = {
    "gp_weight": Hparam("gradient-penalty weight lambda", ge=0, le=1e6),
    "clip": Hparam("weight-clipping bound c", gt=0, le=1e6, loss_keyword=False),
    "margin": Hparam("EBGAN margin m", gt=0, le=1e6),
    # 0 is plain EBGAN and 0.1 EBGAN-PT, both published: not a departure worth a note.
    "pt_weight": Hparam("EBGAN pull-away weight", ge=0, le=1e6, noted=False),
}


@dataclass(frozen=True)
class Objective:
    """A named GAN objective and the training settings its authors recommend."""

    name: str
    critic_loss: Callable[..., dict]
    generator_loss: Callable[..., dict]
    output: str  # how to read the critic: "probability" (logit), "score", or "energy"
    optimizer: str  # "adam" or "rmsprop"
    lr: float
    betas: tuple[float, float]
    n_critic: int
    # The critic loss's real-data term (second-order unrolling differentiates it): required.
    critic_real: Callable[..., Tensor]
    # What the two players minimise, in one line (the live page's overview strip).
    formula: str
    hparams: dict = field(default_factory=dict)  # gp_weight, clip, margin, pt_weight
    # Where its gradient penalty is taken: "interpolates" (between real and fake points), "real"
    # (near real points), or None (no penalty). toygan.check, the page and the bug zoo read it.
    penalty: str | None = None
    source: str = ""

    def __post_init__(self):
        unknown = set(self.hparams) - set(HPARAMS)
        if unknown:
            raise ValueError(f"objective {self.name}: unknown hyper-parameter(s) "
                             f"{', '.join(sorted(unknown))}; declare them in HPARAMS and as "
                             "GANConfig fields")
        if self.penalty not in (None, "interpolates", "real"):
            raise ValueError(f"objective {self.name}: penalty must be None, 'interpolates' or "
                             f"'real', got {self.penalty!r}")

    @property
    def clip(self) -> float | None:
        return self.hparams.get("clip")


OBJECTIVES: dict[str, Objective] = {
    "bce": Objective(
        "bce", bce_critic, bce_generator, "probability", "adam", 2e-4, (0.5, 0.999), 1,
        source="Radford et al. 2016 (DCGAN): Adam 2e-4, beta1 0.5",
        critic_real=bce_real,
        formula="D: −log σ(D(real)) − log(1 − σ(D(fake))); G (non-saturating): −log σ(D(fake))",
    ),
    "minimax": Objective(
        "minimax", bce_critic, minimax_generator, "probability", "adam", 2e-4, (0.5, 0.999), 1,
        source="Goodfellow et al. 2014 saturating loss; DCGAN's optimiser for comparability",
        critic_real=bce_real,
        formula="D: −log σ(D(real)) − log(1 − σ(D(fake))); G (minimax): log(1 − σ(D(fake)))",
    ),
    "lsgan": Objective(
        "lsgan", lsgan_critic, lsgan_generator, "score", "adam", 2e-4, (0.5, 0.999), 1,
        source="Mao et al. 2017 (LSGAN): a=0, b=c=1, Adam 2e-4, beta1 0.5",
        critic_real=lsgan_real,
        formula="D: (D(real) − 1)² + D(fake)²; G: (D(fake) − 1)²",
    ),
    "hinge": Objective(
        "hinge", hinge_critic, wasserstein_generator, "score", "adam", 2e-4, (0.0, 0.9), 5,
        source="Lim & Ye 2017; Miyato et al. 2018 (SN-GAN): Adam 2e-4, betas (0, 0.9), n_dis 5",
        critic_real=hinge_real,
        formula="D: relu(1 − D(real)) + relu(1 + D(fake)); G: −D(fake)",
    ),
    "wgan": Objective(
        "wgan", wgan_critic, wasserstein_generator, "score", "rmsprop", 5e-5, (0.0, 0.0), 5,
        hparams={"clip": 0.01},
        source="Arjovsky et al. 2017 (WGAN): RMSProp 5e-5, clip 0.01, n_critic 5",
        critic_real=wasserstein_real,
        formula="D: D(fake) − D(real), weights clipped to ±c; G: −D(fake)",
    ),
    "wgan-gp": Objective(
        "wgan-gp", wgan_gp_critic, wasserstein_generator, "score", "adam", 1e-4, (0.5, 0.9), 5,
        hparams={"gp_weight": 10.0},
        source="Gulrajani et al. 2017 (WGAN-GP): lambda 10, n_critic 5, Adam 1e-4 from the "
        "paper; betas (0.5, 0.9) from the authors' code (igul222/improved_wgan_training; the "
        "paper's Algorithm 1 has beta1 0)",
        critic_real=wasserstein_real,
        formula="D: D(fake) − D(real) + λ(‖∇D(x̂)‖ − 1)² at x̂ between real and fake; G: −D(fake)",
        penalty="interpolates",
    ),
    "dragan": Objective(
        "dragan", dragan_critic, bce_generator, "probability", "adam", 1e-4, (0.5, 0.9), 1,
        hparams={"gp_weight": 10.0},
        source="Kodali et al. 2017 (DRAGAN): lambda 10 from the paper; the one-sided perturbation "
        "0.5*std*U[0,1) and Adam 1e-4 (0.5, 0.9) from the authors' code (kodalinaveen3/DRAGAN "
        "DRAGAN.ipynb @ 5cf95ab; the paper writes Gaussian noise)",
        critic_real=bce_real,
        formula="D: BCE + λ(‖∇D(x̃)‖ − 1)² at x̃ near real points; G: −log σ(D(fake))",
        penalty="real",
    ),
    "ebgan": Objective(
        "ebgan", ebgan_critic, ebgan_generator, "energy", "adam", 2e-4, (0.5, 0.999), 1,
        hparams={"margin": 1.0, "pt_weight": 0.0},
        source="Zhao et al. 2017 (EBGAN): auto-encoder critic, margin loss, pull-away weight 0.1 "
        "for EBGAN-PT (off by default)",
        critic_real=ebgan_real,
        formula="D: E(real) + relu(m − E(fake)) (E: auto-encoder energy); G: E(fake)",
    ),
}


def get_objective(name: str) -> Objective:
    """Look an objective up by name, with a one-line error listing the known names."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(
            f"unknown loss {name!r}; choose from {', '.join(OBJECTIVES)}"
        ) from None


OPTIMIZERS = ("adam", "rmsprop", "sgd")


def make_optimizer(kind: str, params, lr: float, betas: tuple[float, float]):
    """The optimiser an objective recommends: "adam" (with ``betas``), "rmsprop" (the WGAN
    paper's) or plain "sgd".

    Adam and SGD use PyTorch's fused kernels (one kernel for every parameter tensor, where the
    default loops over them; faster on the toy MLPs: BENCHMARKS.md, ``benchmarks/toy_speed.py``)
    when the parameters live on a device that has them (CPU, CUDA);
    RMSProp has no fused kernel in PyTorch and keeps its default.
    """
    params = list(params)
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") for p in params) or None
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=fused)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, fused=fused)
    raise ValueError(f"unknown optimizer {kind!r}; choose from {', '.join(OPTIMIZERS)}")
