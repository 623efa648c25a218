"""DCGAN generator and critic, scaled by image size and width.

At 64 px with ``width=64`` these are the classic anime-face homework baseline:

* G: z (100) -> Linear -> 4x4x512 (BatchNorm, ReLU) -> three stride-2 transposed-conv blocks
  (5x5, BatchNorm + ReLU: 8x8x256, 16x16x128, 32x32x64) -> stride-2 transposed conv to 64x64x3,
  tanh.
* D: 4x4 stride-2 convs: 3 -> 64 (LeakyReLU 0.2), then blocks 64 -> 128 -> 256 -> 512 with a
  normalisation and LeakyReLU 0.2, then a 4x4 conv to one logit / score (no sigmoid: the losses in
  ``toygan.losses`` take raw outputs).

Every size doubles from 4x4: 32 px has one block fewer, 128 px one more. Weights start from
N(0, 0.02) (norm scales N(1, 0.02)). The critic's normalisation is ``batch`` by default and
``layer`` (GroupNorm with one group) when the objective penalises input gradients, since a
per-sample gradient penalty is not defined through batch statistics. EBGAN's critic is a
convolutional auto-encoder whose output is the per-image reconstruction energy.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from toygan.mitigations import MinibatchStd, spectral_norm_all

NORMS = ("batch", "layer", "instance", "none")


def _blocks(size: int) -> int:
    n = int(math.log2(size // 4))
    if 4 * 2**n != size or n < 2:
        raise ValueError(f"image size must be 4 * 2^k with k >= 2 (32, 64, 128), got {size}")
    return n


def _norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "layer":
        return nn.GroupNorm(1, c)
    if kind == "instance":
        return nn.GroupNorm(c, c)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose from {', '.join(NORMS)}")


def init_weights(m: nn.Module) -> None:
    """DCGAN init: conv and linear weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
        nn.init.normal_(w, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, size: int = 64, width: int = 64, z_dim: int = 100):
        super().__init__()
        n = _blocks(size)
        self.z_dim, self.size = z_dim, size
        c0 = width * 2 ** (n - 1)
        self.fc = nn.Sequential(nn.Linear(z_dim, c0 * 16, bias=False), nn.BatchNorm1d(c0 * 16),
                                nn.ReLU(True))
        layers: list[nn.Module] = []
        c = c0
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 5, 2, padding=2, output_padding=1,
                                          bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, 3, 5, 2, padding=2, output_padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.c0 = c0
        self.apply(init_weights)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.fc(z).view(-1, self.c0, 4, 4))


def _encoder(size: int, width: int, norm: str, in_channels: int = 3
             ) -> tuple[nn.Sequential, int]:
    """Stride-2 4x4 convs from (in_channels, size, size) down to (C, 4, 4); returns (net, C)."""
    n = _blocks(size)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    c = width
    for _ in range(n - 1):
        layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=norm == "none"), _norm(norm, c * 2),
                   nn.LeakyReLU(0.2, True)]
        c *= 2
    return nn.Sequential(*layers), c


class Critic(nn.Module):
    """x (N, C, size, size) -> raw score (N,); see the sign convention in ``toygan.losses``.

    ``in_channels`` is 3 x the PacGAN packing; ``mbstd`` appends the minibatch-std feature map
    (:class:`toygan.mitigations.MinibatchStd`) before the last (4x4) conv; ``spectral_norm``
    normalises every conv.
    """

    def __init__(self, size: int = 64, width: int = 64, norm: str = "batch",
                 spectral_norm: bool = False, in_channels: int = 3, mbstd: bool = False):
        super().__init__()
        self.features, c = _encoder(size, width, norm, in_channels)
        self.mbstd = MinibatchStd() if mbstd else None
        self.head = nn.Conv2d(c + int(mbstd), 1, 4, 1, 0)
        self.apply(init_weights)
        if spectral_norm:
            spectral_norm_all(self)

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.head(h).flatten()


class AutoEncoderCritic(nn.Module):
    """EBGAN critic: energy = mean squared error of a conv encoder / transposed-conv decoder."""

    def __init__(self, size: int = 64, width: int = 64, norm: str = "batch",
                 spectral_norm: bool = False, in_channels: int = 3, code_dim: int = 128):
        super().__init__()
        self.encoder, c = _encoder(size, width, norm, in_channels)
        self.to_code = nn.Linear(c * 16, code_dim)
        self.from_code = nn.Linear(code_dim, c * 16)
        layers: list[nn.Module] = [nn.ReLU(True)]
        for _ in range(_blocks(size) - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, in_channels, 4, 2, 1)]
        self.decoder = nn.Sequential(*layers)
        self.c = c * 2 ** (_blocks(size) - 1)
        self.apply(init_weights)
        if spectral_norm:
            spectral_norm_all(self.encoder)

    def embed(self, x: Tensor) -> Tensor:
        return self.to_code(self.encoder(x).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        h = self.from_code(self.embed(x)).view(-1, self.c, 4, 4)
        return ((self.decoder(h) - x) ** 2).flatten(1).mean(1)


def make_critic(output: str, size: int, width: int, norm: str, spectral_norm: bool,
                pack: int = 1, mbstd: bool = False) -> nn.Module:
    """The critic an objective needs (an auto-encoder for energy objectives), seeing ``pack``
    images at once."""
    if output == "energy":
        return AutoEncoderCritic(size, width, norm, spectral_norm, in_channels=3 * pack)
    return Critic(size, width, norm, spectral_norm, in_channels=3 * pack, mbstd=mbstd)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers are copied."""
    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
        pe.lerp_(pm, 1 - decay)
    for be, bm in zip(ema.buffers(), model.buffers(), strict=True):
        be.copy_(bm)


@torch.no_grad()
def generate(G: Generator, n: int, seed: int = 0, batch: int = 250):
    """``n`` uint8 images (N, H, W, 3) from latents drawn with ``seed``, in batches."""
    import numpy as np

    from imagegan.data import to_uint8

    g = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), G.z_dim, generator=g)
        out.append(to_uint8(G(z)))
    return np.concatenate(out)
