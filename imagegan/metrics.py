"""Mode-collapse metrics for images that need no downloaded network.

* :func:`stacked_coverage` — the Stacked-MNIST protocol (Unrolled GAN, VEEGAN, PacGAN) on
  ``stacked-digits``: a digit classifier trained on scikit-learn's bundled digits labels each
  colour channel; a mode is a (R, G, B) digit triple; report modes covered out of 1000 and
  KL(mode histogram || uniform over 1000).
* :func:`ndb` — number of statistically different bins (Richardson & Weiss 2018): k-means on real
  images, a two-proportion z-test per bin between real and generated bin frequencies; report
  NDB/K and the JS divergence between the two bin histograms. Works on any data set.
* :func:`ms_ssim_diversity` — mean MS-SSIM over random pairs of images (near 1 = collapse; compare
  with the same figure on real data). Uses a 7x7 Gaussian window (sigma 1.5) and as many of the
  five standard scales as fit (three at 32 px), with the MS-SSIM paper's scale weights
  renormalised over the scales used, so it is valid at 32 px.

Every function is pure: images in, numbers out. Images are uint8 (N, H, W, 3) arrays or float
tensors in [-1, 1] of shape (N, 3, H, W).
"""

from __future__ import annotations

import hashlib
import math
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003


def _uint8(images) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        from imagegan.data import to_uint8

        return to_uint8(images)
    return np.asarray(images, dtype=np.uint8)


def _to_8x8(channel_u8: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> (N, 64) on scikit-learn's digits scale 0..16 (area downsampling)."""
    n, h, w = channel_u8.shape
    x = torch.from_numpy(channel_u8.astype(np.float32)).unsqueeze(1)
    small = F.adaptive_avg_pool2d(x, 8).reshape(n, 64).numpy()
    return small * (16.0 / 255.0)


def digit_classifier(size: int, cache_dir=None):
    """(classifier, held-out accuracy) for digits seen at ``size`` px, trained once and cached.

    An RBF support-vector classifier on scikit-learn's 1797 bundled digits passed through the same
    path as generated images (upscaled to ``size``, area-downsampled to 8x8); 30% held out.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    from imagegan.data import default_cache_dir, digits

    cache = Path(cache_dir or default_cache_dir())
    key = hashlib.sha1(f"svc-rbf-gamma0.001-C10-{size}-v1".encode()).hexdigest()[:12]
    path = cache / f"digit-classifier-{size}px-{key}.pkl"
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    d = digits(size)
    x = _to_8x8(d.images[..., 0])
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.labels, test_size=0.3, random_state=0,
                                              stratify=d.labels)
    clf = SVC(gamma=0.001, C=10).fit(x_tr, y_tr)
    acc = float((clf.predict(x_te) == y_te).mean())
    clf = SVC(gamma=0.001, C=10).fit(x, d.labels)  # final model on every digit
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump((clf, acc), f)
        tmp.replace(path)
    except OSError:
        pass
    return clf, acc


def stacked_modes(images, classifier) -> np.ndarray:
    """Mode index 100*r + 10*g + b of each stacked-digit image."""
    u8 = _uint8(images)
    digits_rgb = [classifier.predict(_to_8x8(u8[..., c])) for c in range(3)]
    return 100 * digits_rgb[0] + 10 * digits_rgb[1] + digits_rgb[2]


def stacked_coverage(images, classifier, n_modes: int = 1000) -> dict:
    """``{"modes_covered", "kl"}``: distinct triples found, KL(histogram || uniform)."""
    modes = stacked_modes(images, classifier)
    counts = np.bincount(modes, minlength=n_modes).astype(np.float64)
    p = counts / counts.sum()
    nz = p > 0
    return {"modes_covered": int(nz.sum()), "kl": float((p[nz] * np.log(p[nz] * n_modes)).sum())}


def _features(images) -> np.ndarray:
    """Flattened float pixels in [0, 1], downsampled to at most 32x32 for k-means."""
    u8 = _uint8(images)
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] > 32:
        x = F.adaptive_avg_pool2d(x, 32)
    return x.flatten(1).numpy().astype(np.float64)


class NDB:
    """NDB with bins fitted once on real images; call on generated images."""

    def __init__(self, real, k: int = 50, seed: int = 0, alpha: float = 0.05):
        from sklearn.cluster import KMeans

        feats = _features(real)
        self.k, self.alpha = k, alpha
        self.km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(feats)
        self.real_p = np.bincount(self.km.labels_, minlength=k) / len(feats)
        self.n_real = len(feats)

    def __call__(self, fake) -> dict:
        from scipy.stats import norm

        labels = self.km.predict(_features(fake))
        n = len(labels)
        q = np.bincount(labels, minlength=self.k) / n
        pooled = (self.real_p * self.n_real + q * n) / (self.n_real + n)
        se = np.sqrt(pooled * (1 - pooled) * (1 / self.n_real + 1 / n))
        z = np.where(se > 0, (q - self.real_p) / np.where(se > 0, se, 1), 0.0)
        different = 2 * norm.sf(np.abs(z)) < self.alpha
        m = 0.5 * (q + self.real_p)

        def kl(a, b):
            nz = a > 0
            return float((a[nz] * np.log(a[nz] / b[nz])).sum())

        js = 0.5 * kl(q, m) + 0.5 * kl(self.real_p, m)
        return {"ndb": int(different.sum()), "ndb_k": float(different.mean()), "ndb_js": js}


def ndb(real, fake, k: int = 50, seed: int = 0) -> dict:
    """``{"ndb", "ndb_k", "ndb_js"}`` for generated images against real ones."""
    return NDB(real, k, seed)(fake)


def _gaussian_window(size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size).contiguous()


def ms_ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> torch.Tensor:
    """MS-SSIM of paired images (N, 3, H, W) in [0, 1]; one value per pair."""
    a, b = a.double(), b.double()
    w = _gaussian_window(window)
    c1, c2 = (0.01) ** 2, (0.03) ** 2
    scales = max(1, min(5, int(math.log2(min(a.shape[-2:]) / window)) + 1))
    weights = torch.tensor(MSSSIM_WEIGHTS[:scales], dtype=torch.float64)
    weights = weights / weights.sum()
    vals = []
    for s in range(scales):
        mu_a = F.conv2d(a, w, groups=3)
        mu_b = F.conv2d(b, w, groups=3)
        var_a = F.conv2d(a * a, w, groups=3) - mu_a**2
        var_b = F.conv2d(b * b, w, groups=3) - mu_b**2
        cov = F.conv2d(a * b, w, groups=3) - mu_a * mu_b
        cs = ((2 * cov + c2) / (var_a + var_b + c2)).flatten(1).mean(1)
        if s == scales - 1:
            lum = ((2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)).flatten(1).mean(1)
            vals.append((lum * cs).clamp(min=1e-6))
        else:
            vals.append(cs.clamp(min=1e-6))
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    return torch.prod(torch.stack(vals, 1) ** weights, dim=1)


def ms_ssim_diversity(images, n_pairs: int = 500, seed: int = 0) -> float:
    """Mean MS-SSIM over ``n_pairs`` random pairs of distinct images (lower = more diverse)."""
    u8 = _uint8(images)
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).double() / 255.0
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), n_pairs)
    j = (i + rng.integers(1, len(x), n_pairs)) % len(x)
    return float(ms_ssim(x[i], x[j]).mean())
