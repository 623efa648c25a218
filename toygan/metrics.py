"""Metrics: pure functions of samples (and known modes) returning numbers or dicts.

Mode metrics follow the Unrolled-GAN / VEEGAN / PacGAN protocol: each generated sample is assigned
to its nearest mode centre and is *high quality* (HQ) if it lies within 3 standard deviations of
it; a mode is *covered* if it received at least ``min_frac`` of the samples as HQ samples
(toygan's default: 20 of 2500, ``min_frac = 20/2500``; VEEGAN's and PacGAN's released metric
counts a mode with a single HQ sample, ``min_frac = 0``);
the *reverse KL* is KL(p_fake || uniform) of the HQ samples' mode histogram.

For data without modes, ``sliced_w1`` (the sliced Wasserstein-1 distance over evenly spaced
directions, deterministic) and ``grid_divergence`` (KL/JS between normalised 2D histograms, as GAN
Lab shows, with smoothing so KL stays finite) work on any 2D samples; ``wasserstein1_exact`` solves
the assignment problem exactly for equal-size sets (small sets: O(n^3)).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from toygan.status import coverage_status

# SciPy is imported inside the two functions that need it: it is a second or more of the import
# time of every toy command (toygan.animate among them), and the rest is a few lines of NumPy.

MIN_FRAC = 20 / 2500  # toygan's rule; the papers' released metric: any HQ sample (0)


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def kl_to_uniform(counts) -> float:
    """KL(p || uniform) in nats of the histogram ``counts`` (p = counts / total): 0 when every
    bin has an equal share, ln(bins) when everything sits in one bin; NaN for an empty one."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return float("nan")
    return _kl(counts, np.ones_like(counts))


def _kl(p, q) -> float:
    """KL(p || q) in nats of two histograms, each normalised here (0 log 0 = 0)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    p, q = p / p.sum(), q / q.sum()
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def js_divergence(p, q) -> float:
    """Jensen-Shannon divergence in nats between two histograms (normalised here); <= ln 2."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)
    return max(0.5 * _kl(p, m) + 0.5 * _kl(q, m), 0.0)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row of ``a`` to every row of ``b``."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def mode_assignment(samples, centers, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode index of each sample and whether it is within 3 std of it (HQ)."""
    d = _distances(_np(samples), _np(centers))
    nearest = d.argmin(1)
    hq = d[np.arange(len(d)), nearest] <= 3 * std
    return nearest, hq


def mode_histogram(samples, centers, std: float) -> np.ndarray:
    """Number of HQ samples at each mode, shape (M,)."""
    nearest, hq = mode_assignment(samples, centers, std)
    return np.bincount(nearest[hq], minlength=len(_np(centers)))


def modes_covered(samples, centers, std: float, min_frac: float = MIN_FRAC) -> int:
    """Number of modes that received at least ``min_frac`` of all samples as HQ samples."""
    counts = mode_histogram(samples, centers, std)
    need = max(1, math.ceil(min_frac * len(_np(samples)) - 1e-9))
    return int((counts >= need).sum())


def hq_frac(samples, centers, std: float) -> float:
    """Fraction of samples within 3 std of their nearest mode."""
    return float(mode_assignment(samples, centers, std)[1].mean())


def reverse_kl(samples, centers, std: float) -> float:
    """KL(p || uniform) of the HQ samples' mode histogram p (PacGAN); 0 = all modes equal,
    ln M = everything on one mode. NaN when no sample is HQ."""
    return kl_to_uniform(mode_histogram(samples, centers, std))


KL_MIN_HQ_PER_MODE = 10  # reverse KL is averaged over trials with >= 10 HQ samples per mode


def kl_min_hq(n_modes: int) -> int:
    """The fewest high-quality samples a trial needs for its reverse KL to be averaged: below,
    even a perfectly uniform generator's histogram scores well above 0 by chance
    (:func:`uniform_kl`: about (M - 1) / (2 n), 0.044 on 8 modes at 80 samples)."""
    return KL_MIN_HQ_PER_MODE * n_modes


def uniform_kl(n_hq: int, n_modes: int, draws: int = 20_000, seed: int = 0) -> tuple:
    """(mean, 5th, 95th percentile) of the reverse KL of ``n_hq`` samples of a perfectly uniform
    generator over ``n_modes`` modes: the floor a measured reverse KL sits on at that count."""
    if n_hq < 1:
        return float("nan"), float("nan"), float("nan")
    counts = np.random.default_rng(seed).multinomial(n_hq, np.full(n_modes, 1 / n_modes), draws)
    p = counts / n_hq
    logs = np.log(np.where(p > 0, p * n_modes, 1.0))
    kls = (p * logs).sum(1)
    return float(kls.mean()), float(np.percentile(kls, 5)), float(np.percentile(kls, 95))


def mode_metrics(samples, centers, std: float, min_frac: float = MIN_FRAC) -> dict:
    """``{"modes_covered", "hq_frac", "reverse_kl"}`` for samples of a known mixture."""
    return {
        "modes_covered": modes_covered(samples, centers, std, min_frac),
        "hq_frac": hq_frac(samples, centers, std),
        "reverse_kl": reverse_kl(samples, centers, std),
    }


def sliced_w1(a, b, n_dirs: int = 64) -> float:
    """Sliced Wasserstein-1 distance: mean over ``n_dirs`` evenly spaced directions in [0, pi) of
    the exact 1D W1 between the projections (quantile matching; sets may differ in size)."""
    a, b = _np(a), _np(b)
    theta = np.pi * np.arange(n_dirs) / n_dirs
    dirs = np.stack([np.cos(theta), np.sin(theta)], 1)
    pa, pb = np.sort(a @ dirs.T, 0), np.sort(b @ dirs.T, 0)
    q = (np.arange(max(len(a), len(b))) + 0.5) / max(len(a), len(b))
    qa = pa[np.minimum((q * len(a)).astype(int), len(a) - 1)]
    qb = pb[np.minimum((q * len(b)).astype(int), len(b) - 1)]
    return float(np.abs(qa - qb).mean())


def wasserstein1_exact(a, b) -> float:
    """Exact W1 between two equal-size point sets (optimal assignment, Euclidean cost)."""
    a, b = _np(a), _np(b)
    if len(a) != len(b):
        raise ValueError("wasserstein1_exact needs equal-size sets")
    from scipy.optimize import linear_sum_assignment

    cost = _distances(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def grid_divergence(real, fake, extent, bins: int = 32, eps: float = 1e-6) -> dict:
    """KL(real || fake) and JS between normalised 2D histograms over ``extent``.

    Both histograms are normalised to probabilities, then smoothed by ``eps`` per bin and
    renormalised so KL stays finite where fake has no mass. JS is in nats (at most ln 2).
    """
    xmin, xmax, ymin, ymax = extent
    rng = [[xmin, xmax], [ymin, ymax]]
    hr = np.histogram2d(*_np(real).T, bins=bins, range=rng)[0].ravel() + eps
    hf = np.histogram2d(*_np(fake).T, bins=bins, range=rng)[0].ravel() + eps
    return {"kl": _kl(hr, hf), "js": js_divergence(hr, hf)}


def collapse_onset(history: Iterable[Mapping], n_modes: int):
    """First evaluated step after which ``modes_covered`` stays below ``n_modes`` until the end:
    the onset of a *lost* run, or the first evaluated step of one that *never* covered every mode
    (``toygan.status.coverage_status``, each evaluation alone); None if the last evaluation
    covers every mode."""
    st = coverage_status(list(history), n_modes)
    return st["onset_step"] if st["status"] in ("lost", "never") else None
