"""An image embedding that needs no downloaded weights: a fixed, randomly initialised conv net.

k-nearest-neighbour measures of realism and variety (precision/recall, density/coverage) need a
feature space in which "looks like the data" is a short distance. Raw pixels fail that test: a
blank image or a blurred blob lies inside the real images' pixel neighbourhoods on photos and on
stacked digits (measured: ``python -m imagegan.calibrate``). The published fix is an
ImageNet network (Inception for FID, VGG for precision/recall), which must be downloaded; Naeem
et al. (2020, "Reliable fidelity and diversity metrics", Sec. 5) show that a *randomly
initialised* VGG already gives usable density and coverage on data far from ImageNet.

:func:`embed` follows that idea, cheap enough to run at every evaluation of a CPU run:
three 3x3 conv layers (32, 64, 128 channels, ReLU, He-scaled Gaussian weights drawn by NumPy from
a fixed seed, so the net is the same on every machine and every torch version), 2x2 average
pooling between them, and the spatial mean and max of every layer's maps concatenated (448
numbers per image). Images larger than 64 px are area-downsampled to 64 px first. Twice as many
channels gave the same verdicts on every calibration set at twice the cost.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

CHANNELS = (3, 32, 64, 128)
SEED = 20201
MAX_SIDE = 64

_WEIGHTS: list[torch.Tensor] | None = None


def _weights() -> list[torch.Tensor]:
    global _WEIGHTS
    if _WEIGHTS is None:
        rng = np.random.default_rng(SEED)
        _WEIGHTS = [torch.from_numpy(rng.standard_normal((b, a, 3, 3)) * np.sqrt(2.0 / (9 * a)))
                    .float() for a, b in zip(CHANNELS[:-1], CHANNELS[1:], strict=True)]
    return _WEIGHTS


@torch.no_grad()
def embed(images_uint8: np.ndarray, batch: int = 250) -> torch.Tensor:
    """(N, H, W, 3) uint8 images -> (N, 448) float32 features."""
    out = []
    for start in range(0, len(images_uint8), batch):
        x = torch.from_numpy(np.ascontiguousarray(images_uint8[start: start + batch]))
        x = x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        if x.shape[-1] > MAX_SIDE:
            x = F.adaptive_avg_pool2d(x, MAX_SIDE)
        feats = []
        for i, w in enumerate(_weights()):
            if i:
                x = F.avg_pool2d(x, 2)
            x = F.relu(F.conv2d(x, w, padding=1))
            feats += [x.mean((2, 3)), x.amax((2, 3))]
        out.append(torch.cat(feats, 1))
    return torch.cat(out) if out else torch.zeros(0, 2 * sum(CHANNELS[1:]))
