"""2D distributions with known modes.

A data set is named by a spec string ``NAME[:key=value,...]``, for example ``ring``,
``ring:modes=12,radius=1,std=0.05``, ``grid:std=0.1`` or ``file:points.npy``. ``DATASETS`` maps each
name to a factory; the presets reproduce published toy set-ups:

* ``8gaussians`` / ``25gaussians``: the WGAN-GP toy code (8 unit-circle centres times 2 plus noise
  0.02, all divided by 1.414: radius ~sqrt2, std ~0.014; a {-4,-2,0,2,4}^2 grid plus noise 0.05, all
  divided by 2.828: spacing ~0.707, std ~0.018),
* ``ring-pacgan`` / ``grid-pacgan``: PacGAN/VEEGAN (ring radius 1, std 0.01; grid {-4,-2,0,2,4}^2,
  std 0.05),
* ``ring-unrolled``: the Unrolled-GAN paper (ring radius 2, std 0.02).
* ``ring-notebook``: the Unrolled-GAN authors' notebook (ring radius 1, std 0.01, 8 modes).

Mixtures of Gaussians expose ``centers`` (M, 2) and ``std`` so that metrics can count modes;
other sets have ``centers = None``. Sampling uses a caller-supplied ``torch.Generator``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from toygan.errors import DataError


@dataclass
class Toy2D:
    """A 2D distribution: a sampler plus, for mixtures, the known modes."""

    name: str
    sampler: Callable[[int, torch.Generator], Tensor]
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax for plots and grids
    centers: np.ndarray | None = None
    std: float | None = None

    @property
    def n_modes(self) -> int | None:
        return None if self.centers is None else len(self.centers)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.sampler(n, generator)


def fixed_set(data: Toy2D, n: int, generator: torch.Generator) -> Toy2D:
    """``data`` reduced to ``n`` samples drawn once: batches are drawn from them uniformly with
    replacement (PacGAN trains on 100,000 samples, each pack slot a resample of them). Modes,
    std and extent are the distribution's."""
    points = data.sample(n, generator)

    def sampler(k, g):
        return points[torch.randint(n, (k,), generator=g)]

    return Toy2D(data.name, sampler, data.extent, data.centers, data.std)


def _extent_around(points: np.ndarray, pad: float) -> tuple[float, float, float, float]:
    lo, hi = points.min(0), points.max(0)
    half = 0.5 * float((hi - lo).max()) + pad
    cx, cy = 0.5 * (lo + hi)
    return (float(cx - half), float(cx + half), float(cy - half), float(cy + half))


def mixture(name: str, centers: np.ndarray, std: float) -> Toy2D:
    """Equal-weight mixture of isotropic Gaussians at ``centers`` with one ``std``."""
    centers = np.asarray(centers, dtype=np.float64)
    c = torch.as_tensor(centers, dtype=torch.float32)

    def sampler(n, g):
        idx = torch.randint(len(c), (n,), generator=g)
        return c[idx] + std * torch.randn(n, 2, generator=g)

    spread = max(float(np.ptp(centers, 0).max()), 1e-6)
    return Toy2D(name, sampler, _extent_around(centers, 0.25 * spread + 4 * std), centers, std)


def ring(modes: int = 8, radius: float = 2.0, std: float = 0.02, name: str = "ring") -> Toy2D:
    """``modes`` Gaussians evenly on a circle (angles 2*pi*k/modes, endpoint excluded)."""
    modes = int(modes)
    if modes < 1:
        raise DataError("ring needs modes >= 1")
    angles = np.linspace(0, 2 * np.pi, modes, endpoint=False)
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    return mixture(name, centers, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05, name: str = "grid") -> Toy2D:
    """``side`` x ``side`` Gaussians on a square grid centred at the origin."""
    side = int(side)
    if side < 1:
        raise DataError("grid needs side >= 1")
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    centers = np.stack(np.meshgrid(ticks, ticks, indexing="xy"), -1).reshape(-1, 2)
    return mixture(name, centers, std)


def two_clusters(std: float = 0.1, distance: float = 2.0) -> Toy2D:
    """GAN Lab's "two Gaussian clusters": two blobs ``distance`` apart on a diagonal."""
    d = distance / (2 * math.sqrt(2))
    return mixture("two-clusters", np.array([[-d, -d], [d, d]]), std)


def _curve(name: str, fn: Callable[[Tensor], Tensor], noise: float, extent) -> Toy2D:
    """A distribution along a parametric curve t in [0, 1) -> (N, 2), plus Gaussian noise."""

    def sampler(n, g):
        t = torch.rand(n, generator=g)
        return fn(t) + noise * torch.randn(n, 2, generator=g)

    return Toy2D(name, sampler, extent)


def swissroll(noise: float = 0.25) -> Toy2D:
    """The WGAN-GP toy swiss roll: t in 1.5pi(1 + 2u), (t cos t, t sin t) + noise, scaled 1/7.5."""

    def fn(u):
        t = 1.5 * math.pi * (1 + 2 * u)
        return torch.stack([t * torch.cos(t), t * torch.sin(t)], 1)

    def sampler(n, g):
        return (fn(torch.rand(n, generator=g)) + noise * torch.randn(n, 2, generator=g)) / 7.5

    return Toy2D("swissroll", sampler, (-2.0, 2.0, -2.0, 2.0))


def moons(noise: float = 0.05) -> Toy2D:
    """Two interleaving half circles (as scikit-learn's make_moons), centred at the origin."""

    def sampler(n, g):
        upper = torch.rand(n, generator=g) < 0.5
        t = math.pi * torch.rand(n, generator=g)
        x = torch.where(upper, torch.cos(t), 1 - torch.cos(t)) - 0.5
        y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t)) - 0.25
        return torch.stack([x, y], 1) + noise * torch.randn(n, 2, generator=g)

    return Toy2D("moons", sampler, (-2.0, 2.0, -2.0, 2.0))


def spiral(turns: float = 2.0, noise: float = 0.03) -> Toy2D:
    """Two interleaved Archimedean spiral arms of ``turns`` turns, radius up to 1.5."""

    def sampler(n, g):
        u = torch.rand(n, generator=g)
        arm = (torch.rand(n, generator=g) < 0.5).float()
        theta = 2 * math.pi * turns * u + math.pi * arm
        r = 0.15 + 1.35 * u
        pts = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1)
        return pts + noise * torch.randn(n, 2, generator=g)

    return Toy2D("spiral", sampler, (-2.0, 2.0, -2.0, 2.0))


def line(length: float = 2.0, noise: float = 0.02) -> Toy2D:
    """GAN Lab's "line": a uniform segment on the diagonal with a little noise."""
    half = length / (2 * math.sqrt(2))
    return _curve(
        "line",
        lambda t: torch.stack([2 * half * t - half, 2 * half * t - half], 1),
        noise,
        (-1.5, 1.5, -1.5, 1.5),
    )


def disjoint(noise: float = 0.02) -> Toy2D:
    """GAN Lab's "disjoint": two parallel segments with an empty gap between their supports."""

    def sampler(n, g):
        x = 2 * torch.rand(n, generator=g) - 1
        y = torch.where(torch.rand(n, generator=g) < 0.5, -0.5, 0.5)
        return torch.stack([x, y], 1) + noise * torch.randn(n, 2, generator=g)

    return Toy2D("disjoint", sampler, (-1.5, 1.5, -1.5, 1.5))


def from_file(path: str) -> Toy2D:
    """A user's own points: an N x 2 array in a .npy or .csv file, sampled with replacement."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"point file not found: {path}")
    try:
        suffix = p.suffix.lower()
        if suffix == ".npy":
            pts = np.load(p, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty file becomes our one-line error
                pts = np.loadtxt(p, delimiter=",", ndmin=2, dtype=np.float64)
        else:
            raise DataError(f"point file must be .npy or .csv, got {p.name}")
    except DataError:
        raise
    except Exception as e:  # malformed numbers, pickled objects, truncated files
        raise DataError(f"cannot read points from {path}: {str(e).splitlines()[0]}") from None
    pts = np.asarray(pts)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 1:
        raise DataError(f"{path} must hold an N x 2 array of points, got shape {pts.shape}")
    if not np.issubdtype(pts.dtype, np.number) or not np.isfinite(pts).all():
        raise DataError(f"{path} must hold finite numbers only")
    t = torch.as_tensor(pts, dtype=torch.float32)

    def sampler(n, g):
        return t[torch.randint(len(t), (n,), generator=g)]

    pad = 0.2 * float(np.ptp(pts, 0).max()) + 1e-3
    return Toy2D(f"file:{p.name}", sampler, _extent_around(pts, pad))


DATASETS: dict[str, Callable[..., Toy2D]] = {
    "ring": ring,
    "grid": grid,
    "swissroll": swissroll,
    "moons": moons,
    "spiral": spiral,
    "line": line,
    "two-clusters": two_clusters,
    "disjoint": disjoint,
    # Published presets.
    "8gaussians": lambda: ring(8, 2 / 1.414, 0.02 / 1.414, name="8gaussians"),
    "25gaussians": lambda: grid(5, 2 / 2.828, 0.05 / 2.828, name="25gaussians"),
    "ring-pacgan": lambda: ring(8, 1.0, 0.01, name="ring-pacgan"),
    "grid-pacgan": lambda: grid(5, 2.0, 0.05, name="grid-pacgan"),
    "ring-unrolled": lambda: ring(8, 2.0, 0.02, name="ring-unrolled"),
    "ring-notebook": lambda: ring(8, 1.0, 0.01, name="ring-notebook"),
}


def _parse_value(text: str):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise DataError(f"data option value {text!r} is not a number") from None


def make_dataset(spec: str) -> Toy2D:
    """Build a data set from ``NAME[:key=value,...]`` or ``file:PATH``."""
    if spec.startswith("file:"):
        return from_file(spec[len("file:"):])
    name, _, opts = spec.partition(":")
    if name not in DATASETS:
        raise DataError(f"unknown data {name!r}; choose from {', '.join(DATASETS)} or file:PATH")
    kwargs = {}
    for item in filter(None, opts.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise DataError(f"data option {item!r} must look like key=value")
        kwargs[key.strip()] = _parse_value(value.strip())
    try:
        return DATASETS[name](**kwargs)
    except TypeError:
        raise DataError(f"data {name!r} does not take options {sorted(kwargs)}") from None
