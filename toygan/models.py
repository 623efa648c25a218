"""Small MLP generator and critic for 2D data, and EBGAN's auto-encoder critic.

``depth`` is the number of hidden layers, ``width`` their size. Every network is a plain
``nn.Sequential`` of ``nn.Linear`` and activation modules, so hooks (per-layer gradient norms) and
``torch.func`` see each layer.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor, nn

from toygan.mitigations import MinibatchStd, spectral_norm_all


class Maxout(nn.Module):
    """Maximum over groups of ``k`` consecutive units (Goodfellow et al. 2013)."""

    def __init__(self, k: int = 5):
        super().__init__()
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (-1, self.k)).amax(-1)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "maxout": Maxout,  # maxout(5): each hidden layer computes 5 x width units
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
}


def mlp(
    n_in: int,
    n_out: int,
    depth: int,
    width: int,
    activation: str = "relu",
    spectral_norm: bool = False,
    batchnorm: bool = False,
    bn_stats: str = "pytorch",
) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with ``activation`` (optionally BatchNorm
    before it: :class:`SlotBatchNorm1d`), then a linear output."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
    sizes = [n_in] + [width] * depth + [n_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        hidden = i < len(sizes) - 2
        k = 5 if hidden and activation == "maxout" else 1
        layers.append(nn.Linear(a, b * k))
        if hidden:
            if batchnorm:
                layers.append(SlotBatchNorm1d(b * k, stats=bn_stats))
            layers.append(ACTIVATIONS[activation]())
    net = nn.Sequential(*layers)
    return spectral_norm_all(net) if spectral_norm else net


# How a BatchNorm generator keeps the population statistics it is evaluated with.
# pytorch: PyTorch's running mean and unbiased variance, momentum 0.1, eps 1e-5 (toygan's
# default). blocks: what PacGAN's released code does (Blocks' BatchNormalization, sampled outside
# ``batch_normalization()`` by its GraphLogger): a running mean and a running standard deviation,
# the latter of each batch's sqrt(biased variance + 1e-4), both moved as
# ``0.95 * population + 0.05 * batch``; evaluation divides by the running standard deviation.
BN_STATS = {"pytorch": dict(momentum=0.1, eps=1e-5), "blocks": dict(momentum=0.05, eps=1e-4)}


class SlotBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d whose training statistics can be taken per pack slot: with ``slots = m``,
    sample ``i`` of the batch belongs to slot ``i % m`` (``toygan.mitigations.pack`` puts ``m``
    consecutive samples in one pack). PacGAN's code calls its generator once per slot, so each
    slot's 100 samples are normalised on their own; the running statistics move by the slots'
    mean (its population update averages the slots' updates too). ``slots = 1`` (the default,
    and whenever no training step is running: see :func:`slot_statistics`) is plain
    BatchNorm1d. ``stats``: how the population statistics are kept (:data:`BN_STATS`); in eval
    mode the layer normalises by them."""

    def __init__(self, num_features: int, slots: int = 1, stats: str = "pytorch", **kwargs):
        super().__init__(num_features, **{**BN_STATS[stats], **kwargs})
        self.slots = slots
        self.stats = stats
        if stats == "blocks":
            self.register_buffer("running_std", torch.ones(num_features))

    def forward(self, x: Tensor) -> Tensor:
        blocks = self.stats == "blocks"
        if not self.training:
            if blocks:
                return (x - self.running_mean) / self.running_std * self.weight + self.bias
            return super().forward(x)
        if self.slots == 1 and not blocks:
            return super().forward(x)
        h = x.reshape(1, -1, self.slots, x.shape[1])        # (1 run, packs, slots, C)
        out = slot_batch_norm(h, self.weight[None], self.bias[None], self.running_mean[None],
                              self.running_var[None], self.momentum, self.eps,
                              self.running_std[None] if blocks else None)
        self.num_batches_tracked += 1
        return out.reshape(x.shape)


def slot_batch_norm(h: Tensor, weight: Tensor, bias: Tensor, running_mean: Tensor,
                    running_var: Tensor, momentum: float, eps: float,
                    running_std: Tensor | None = None) -> Tensor:
    """Training-mode BatchNorm of ``h`` (runs, packs, slots, C) with statistics per run and pack
    slot; each run's running statistics (runs, C), updated in place, move by its slots' mean:
    the unbiased variance, or with ``running_std`` the batch's sqrt(biased variance + eps)
    instead (the ``blocks`` population of :data:`BN_STATS`). :class:`SlotBatchNorm1d` is one
    run; ``toygan.batched.StackedBatchNorm1d`` is K."""
    mean, var = h.mean(1, keepdim=True), h.var(1, unbiased=False, keepdim=True)
    with torch.no_grad():
        n = h.shape[1]
        running_mean.lerp_(mean.mean((1, 2)), momentum)
        if running_std is not None:
            running_std.lerp_(torch.sqrt(var + eps).mean((1, 2)), momentum)
        else:
            running_var.lerp_((var * n / max(n - 1, 1)).mean((1, 2)), momentum)
    return (h - mean) * torch.rsqrt(var + eps) * weight[:, None, None] + bias[:, None, None]


def slot_modules(module: nn.Module) -> list[nn.Module]:
    """The BatchNorm layers of ``module`` that can normalise per pack slot."""
    return [m for m in module.modules() if hasattr(m, "slots")]


@contextmanager
def eval_mode(module: nn.Module):
    """``module`` in eval mode within (a BatchNorm layer normalises by its population
    statistics and leaves them alone), back in its previous mode after."""
    was = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was)


@contextmanager
def slot_statistics(layers: list[nn.Module], slots: int):
    """Within it, ``layers`` (from :func:`slot_modules`) take statistics per pack slot: what a
    training step with ``--pack slots`` does; evaluation and snapshots outside it see one
    batch."""
    if slots == 1 or not layers:
        yield
        return
    for m in layers:
        m.slots = slots
    try:
        yield
    finally:
        for m in layers:
            m.slots = 1


class Generator(nn.Module):
    """z (N, z_dim) -> x (N, 2)."""

    def __init__(self, z_dim=2, depth=3, width=128, activation="relu", out_dim=2,
                 batchnorm=False, bn_stats="pytorch"):
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp(z_dim, out_dim, depth, width, activation, batchnorm=batchnorm,
                       bn_stats=bn_stats)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class Critic(nn.Module):
    """x (N, in_dim) -> raw score (N,): a logit or an unbounded score, see ``toygan.losses``.

    ``mbstd`` appends the minibatch standard-deviation feature
    (:class:`toygan.mitigations.MinibatchStd`) to the last hidden layer before the output layer;
    ``spectral_norm`` normalises every layer (:func:`toygan.mitigations.spectral_norm_all`).
    """

    def __init__(self, depth=3, width=128, activation="relu", spectral_norm=False, in_dim=2,
                 mbstd=False):
        super().__init__()
        net = mlp(in_dim, 1, depth, width, activation)
        self.body, self.head = net[:-1], net[-1]  # same layers, same initial weights
        self.mbstd = MinibatchStd() if mbstd else None
        if mbstd:
            self.head = nn.Linear(width + 1, 1)
        if spectral_norm:
            spectral_norm_all(self)

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.head(h).squeeze(-1)


class AutoEncoderCritic(nn.Module):
    """EBGAN critic: energy(x) = mean squared reconstruction error of an MLP auto-encoder.

    The encoder maps x to a ``code_dim`` code (``embed``), the decoder maps it back. Lower energy
    means "more real".
    """

    def __init__(self, depth=3, width=128, activation="relu", spectral_norm=False, in_dim=2,
                 code_dim=None):
        super().__init__()
        code_dim = code_dim or width
        enc_depth = max(depth // 2, 1)
        self.encoder = mlp(in_dim, code_dim, enc_depth, width, activation, spectral_norm)
        self.decoder = mlp(code_dim, in_dim, max(depth - enc_depth, 1), width, activation,
                           spectral_norm)

    def embed(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def forward(self, x: Tensor) -> Tensor:
        recon = self.decoder(self.encoder(x))
        return ((recon - x) ** 2).flatten(1).mean(1)


def make_critic(output: str, **kwargs) -> nn.Module:
    """The critic an objective needs: an auto-encoder for energy objectives, else an MLP."""
    return AutoEncoderCritic(**kwargs) if output == "energy" else Critic(**kwargs)


INITS = ("default", "normal-0.02", "xavier", "orthogonal-1.4", "orthogonal-0.8")


@torch.no_grad()
def initialize(module: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise every linear layer of ``module``: ``default`` keeps PyTorch's (Kaiming
    uniform); ``normal-0.02`` draws weights from N(0, 0.02) with zero biases (PacGAN's and
    DCGAN's reference code); ``xavier`` draws Glorot-uniform weights with zero biases (the
    default of TensorFlow's ``slim.fully_connected`` and Keras ``Dense``: VEEGAN's code);
    ``orthogonal-G`` uses orthogonal weights scaled by gain G with zero biases (the Unrolled-GAN
    authors' notebook: 1.4; their paper: 0.8)."""
    if scheme == "default":
        return module
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; choose from {', '.join(INITS)}")
    for m in module.modules():
        if isinstance(m, nn.Linear):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            if scheme == "normal-0.02":
                nn.init.normal_(w, 0.0, 0.02)
            elif scheme == "xavier":
                nn.init.xavier_uniform_(w)
            else:
                nn.init.orthogonal_(w, gain=float(scheme.split("-")[1]))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


NOISES = ("normal", "uniform")


def sample_noise(kind: str, n: int, z_dim: int, generator: torch.Generator | None = None) -> Tensor:
    """Latent vectors: ``normal`` N(0, I), or ``uniform`` U[-1, 1]^z_dim (GAN Lab's two
    choices)."""
    if kind == "normal":
        return torch.randn(n, z_dim, generator=generator)
    if kind == "uniform":
        return 2 * torch.rand(n, z_dim, generator=generator) - 1
    raise ValueError(f"unknown noise {kind!r}; choose from {', '.join(NOISES)}")


def latent_span(kind: str) -> float:
    """Half-width of the latent square whose image is drawn as the manifold: 2.5 standard
    deviations of normal noise, all of uniform noise."""
    return 2.5 if kind == "normal" else 1.0


@torch.no_grad()
def latent_grid(z_dim: int, n: int = 21, span: float = 2.5) -> Tensor:
    """An n x n grid of latent points over [-span, span]^2 in the first two latent dimensions
    (the others zero): its image under G is the generator manifold."""
    t = torch.linspace(-span, span, n)
    zz = torch.zeros(n * n, z_dim)
    gy, gx = torch.meshgrid(t, t, indexing="ij")
    zz[:, 0] = gx.reshape(-1)
    if z_dim > 1:
        zz[:, 1] = gy.reshape(-1)
    return zz
