"""Mode-collapse mitigations, written once for 2D points ``(N, d)`` and images ``(N, C, H, W)``.

* :func:`pack` — PacGAN (Lin et al. 2018): the critic judges ``m`` samples at once, concatenated
  along the feature / channel axis: ``(N, d) -> (N/m, m*d)``, ``(N, C, H, W) -> (N/m, m*C, H, W)``.
* :class:`MinibatchStd` — ProGAN's minibatch standard deviation (Karras et al. 2018): the mean
  over features of the batch standard deviation is appended as one more feature (points) or one
  more feature map (images) before the critic's last layer, so the critic can see a batch that
  lacks variety.
* :func:`spectral_norm_all` — spectral normalisation (Miyato et al. 2018) of every linear and
  convolutional layer of a critic.
* R1 (Mescheder et al. 2018) is ``toygan.losses.r1_penalty``; unrolling (Metz et al. 2017) is
  ``toygan.step`` since it changes the update itself.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _sn


def pack(x: Tensor, m: int) -> Tensor:
    """``m`` consecutive samples concatenated along axis 1: (N, C, ...) -> (N/m, m*C, ...)."""
    if m == 1:
        return x
    if x.shape[0] % m:
        raise ValueError(f"a batch of {x.shape[0]} cannot be packed in groups of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """Append sqrt(var_batch + 1e-8), averaged over every feature, as one more feature.

    ``runs`` > 1 (set by ``toygan.batched``) means the batch holds that many runs' samples
    stacked run-major; the statistic is then computed within each run. The square root of
    ``var + eps`` (not ``std``) keeps the gradient finite where a feature does not vary.
    """

    runs = 1

    def forward(self, h: Tensor) -> Tensor:
        g = h.unflatten(0, (self.runs, -1))  # (runs, n, ...)
        s = (g.var(1, unbiased=False) + 1e-8).sqrt().flatten(1).mean(1)  # (runs,)
        feat = s.repeat_interleave(g.shape[1])  # (N,)
        shape = (h.shape[0], 1) + tuple(h.shape[2:])
        feat = feat.reshape((-1,) + (1,) * (h.dim() - 1)).expand(shape)
        return torch.cat([h, feat.to(h.dtype)], 1)


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral normalisation of every Linear / Conv2d / ConvTranspose2d inside ``module``."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            setattr(module, name, _sn(child))
        else:
            spectral_norm_all(child)
    return module
