"""Mode-collapse metrics for images that need no downloaded network.

* :func:`stacked_coverage` — the Stacked-MNIST protocol (Unrolled GAN, VEEGAN, PacGAN) on
  ``stacked-digits``: a digit classifier trained on scikit-learn's bundled digits labels each
  colour channel; a mode is a (R, G, B) digit triple; report modes covered out of 1000 and
  KL(mode histogram || uniform over 1000).
* :func:`ndb` — number of statistically different bins (Richardson & Weiss 2018): k-means on real
  images, a two-proportion z-test per bin between real and generated bin frequencies; report
  NDB/K and the JS divergence between the two bin histograms. Works on any data set.
* :func:`prdc` — k-nearest-neighbour precision and recall (Kynkäänniemi et al. 2019) and density
  and coverage (Naeem et al. 2020) in the download-free embedding of :mod:`imagegan.features`:
  *precision* is the share of generated images inside the real images' neighbourhoods (are they
  images of the data at all?), *coverage* the share of real neighbourhoods that hold a generated
  image (how much of the data's variety is made?). Works on any data set; the collapse verdict
  (:mod:`imagegan.collapse`) reads these two.
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

from imagegan import features
from toygan.metrics import js_divergence, kl_to_uniform

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
    from toygan import files

    cache = Path(cache_dir or default_cache_dir())
    key = hashlib.sha1(f"svc-rbf-gamma0.001-C10-{size}-v1".encode()).hexdigest()[:12]
    path = cache / f"digit-classifier-{size}px-{key}.pkl"
    if path.exists():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001 — a torn cache file is rebuilt
            pass
    d = digits(size)
    x = _to_8x8(d.images[..., 0])
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.labels, test_size=0.3, random_state=0,
                                              stratify=d.labels)
    clf = SVC(gamma=0.001, C=10).fit(x_tr, y_tr)
    acc = float((clf.predict(x_te) == y_te).mean())
    clf = SVC(gamma=0.001, C=10).fit(x, d.labels)  # final model on every digit
    try:
        cache.mkdir(parents=True, exist_ok=True)
        files.write_bytes(path, pickle.dumps((clf, acc)))
    except Exception:  # noqa: BLE001 — a cache is an optimisation
        pass
    return clf, acc


def stacked_modes(images, classifier) -> np.ndarray:
    """Mode index 100*r + 10*g + b of each stacked-digit image."""
    u8 = _uint8(images)
    digits_rgb = [classifier.predict(_to_8x8(u8[..., c])) for c in range(3)]
    return 100 * digits_rgb[0] + 10 * digits_rgb[1] + digits_rgb[2]


def stacked_coverage(images, classifier, n_modes: int = 1000) -> dict:
    """``{"modes_covered", "kl"}``: distinct triples found, KL(histogram || uniform)."""
    counts = np.bincount(stacked_modes(images, classifier), minlength=n_modes)
    return {"modes_covered": int((counts > 0).sum()), "kl": kl_to_uniform(counts)}


def _features(images) -> np.ndarray:
    """Flattened float pixels in [0, 1], downsampled to at most 32x32 for k-means."""
    u8 = _uint8(images)
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] > 32:
        x = F.adaptive_avg_pool2d(x, 32)
    return x.flatten(1).numpy().astype(np.float64)


MISSED_SHARE = 0.25  # a bin holding at most this share of its expected images is "missed"


class NDB:
    """NDB with bins fitted once on real images; call on generated images.

    Besides NDB/K and its JS divergence, ``ndb_missing`` is the share of the real images whose bin
    the generated images miss: the bin is significantly under-represented (the same z-test, one
    side) and holds at most :data:`MISSED_SHARE` of the images its real share predicts. Modes
    dropped leave bins empty; a generator whose images merely get worse (blur, noise) moves few
    images between bins, so it misses none (``python -m imagegan.calibrate``).
    """

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
        missed = (norm.cdf(z) < self.alpha) & (q <= MISSED_SHARE * self.real_p)
        return {"ndb": int(different.sum()), "ndb_k": float(different.mean()),
                "ndb_js": js_divergence(q, self.real_p),
                "ndb_missing": float(self.real_p[missed].sum())}


def ndb(real, fake, k: int = 50, seed: int = 0) -> dict:
    """``{"ndb", "ndb_k", "ndb_js", "ndb_missing"}`` for generated images against real ones."""
    return NDB(real, k, seed)(fake)


def knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of ``feats`` to its ``k``-th nearest other row."""
    d = torch.cdist(feats, feats)
    d.fill_diagonal_(float("inf"))
    return d.kthvalue(k, dim=1).values


def prdc(real_feats, fake_feats, k: int = 5) -> dict:
    """``{"precision", "recall", "density", "coverage", "duplicates"}`` of generated features
    against real
    ones (rows are samples). A real sample's neighbourhood is the ball around it reaching its
    ``k``-th nearest real neighbour; a generated sample's, its ``k``-th nearest generated one.

    * precision: share of generated samples inside at least one real neighbourhood;
    * recall: share of real samples inside at least one generated neighbourhood;
    * density: real neighbourhoods holding each generated sample, averaged, divided by ``k``
      (about 1 when the two sets come from one distribution);
    * coverage: share of real samples whose nearest generated sample is inside its neighbourhood;
    * duplicates: :func:`near_duplicates`.
    """
    real = torch.as_tensor(real_feats, dtype=torch.float64)
    fake = torch.as_tensor(fake_feats, dtype=torch.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"prdc needs more than k={k} samples on each side, got {len(real)} real "
                         f"and {len(fake)} generated")
    r_real, r_fake = knn_radii(real, k), knn_radii(fake, k)
    d = torch.cdist(real, fake)  # (real, fake)
    inside_real = d <= r_real[:, None]
    return {"precision": float(inside_real.any(0).double().mean()),
            "recall": float((d <= r_fake[None, :]).any(1).double().mean()),
            "density": float(inside_real.sum(0).double().mean() / k),
            "coverage": float((d.min(1).values <= r_real).double().mean()),
            "duplicates": near_duplicates(real, fake)}


def near_duplicates(real_feats, fake_feats, fraction: float = 0.5) -> float:
    """Share of generated samples that have a near-duplicate: another generated sample closer
    than ``fraction`` x the median distance from a real sample to its nearest real neighbour
    (as many real as generated samples: nearest-neighbour distances shrink with the count).
    A generator making the same few dozen images, exactly or with small variations, scores near
    1; real images against themselves score a few percent."""
    real = torch.as_tensor(real_feats, dtype=torch.float64)
    fake = torch.as_tensor(fake_feats, dtype=torch.float64)
    n = min(len(real), len(fake))
    typical = knn_radii(real[:n], 1).median()
    return float((knn_radii(fake[:n], 1) < fraction * typical).double().mean())


def _gaussian_window(size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size).contiguous()


def ms_ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> torch.Tensor:
    """MS-SSIM of paired images (N, 3, H, W) in [0, 1]; one value per pair."""
    dtype = a.dtype if a.is_floating_point() else torch.float64
    a, b = a.to(dtype), b.to(dtype)
    w = _gaussian_window(window).to(dtype)
    c1, c2 = (0.01) ** 2, (0.03) ** 2
    scales = max(1, min(5, int(math.log2(min(a.shape[-2:]) / window)) + 1))
    weights = torch.tensor(MSSSIM_WEIGHTS[:scales], dtype=dtype)
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
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0  # float32, not float64
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), n_pairs)
    j = (i + rng.integers(1, len(x), n_pairs)) % len(x)
    return float(ms_ssim(x[i], x[j]).mean())


_NDB_FITS: dict = {}


def _fitted_ndb(real, images: np.ndarray, k: int, seed: int, cache_dir) -> NDB:
    """NDB bins fitted once per data set (by its fingerprint), k and seed: in memory for the
    runs of one process (a study), and on disk for later runs (k-means on 5000 images costs
    many evaluations of a run). Processes that need the same bins at once (a study's runs on
    Ray, starting together) take turns on a lock file: one fits, the others read its file."""
    from filelock import FileLock, Timeout

    from imagegan.data import default_cache_dir

    fp = getattr(real, "fingerprint", {}).get("key", real.name)
    key = hashlib.sha1(f"ndb-v1-{fp}-{images.shape}-{k}-{seed}".encode()).hexdigest()[:16]
    if key in _NDB_FITS:
        return _NDB_FITS[key]
    path = Path(cache_dir or default_cache_dir()) / f"ndb-{key}.pkl"
    lock = FileLock(path.with_suffix(".lock"), timeout=600)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except (OSError, Timeout):  # no lock here (a read-only cache folder): fit on our own
        lock = None
    try:
        ndb = _read_or_fit(path, images, k, seed)
    finally:
        if lock is not None:
            lock.release()
    _NDB_FITS[key] = ndb
    return ndb


def _read_or_fit(path: Path, images: np.ndarray, k: int, seed: int) -> NDB:
    from toygan import files

    if path.exists():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001 — a torn cache file is refitted
            pass
    ndb = NDB(images, k=k, seed=seed)
    try:
        files.write_bytes(path, pickle.dumps(ndb))
    except Exception:  # noqa: BLE001 — a cache is an optimisation
        pass
    return ndb


class Evaluator:
    """Metrics of generated images against one real data set; fitted once, called often.

    ``__call__`` gives precision, recall, density and coverage against ``n_knn`` real images in
    the :mod:`imagegan.features` embedding (or ``embed``'s), NDB/K, its JS divergence and the
    share of the data in bins the images miss (pixel-space bins), MS-SSIM diversity and,
    on ``stacked-digits``, the modes covered and their KL to uniform; :meth:`reference` gives the
    same figures for real images (what a perfect generator would score): ``n_knn`` other real
    images for the neighbourhood measures, so that real against real is measured on equal,
    disjoint sets.
    """

    def __init__(self, real, size: int, bins: int = 50, cache_dir=None, seed: int = 0,
                 max_real: int = 5000, n_knn: int = 500, k: int = 5, embed=None):
        order = np.random.default_rng(seed).permutation(len(real))
        self.real = real.images[order[:max_real]]
        # Reference images: held out from the bins' fit where the data set is large enough.
        self._held_out = real.images[order[max_real:]] if len(real) > max_real + 500 else \
            self.real
        self.ndb = _fitted_ndb(real, self.real, min(bins, max(2, len(self.real) // 20)), seed,
                               cache_dir)
        self.n_knn = min(n_knn, len(real) // 2)
        self.k = min(k, self.n_knn - 1)
        # The neighbourhoods' feature space: the download-free embedding, or a network the user
        # supplies (the FID Inception: imagegan.fid.extractor), any images -> rows callable.
        self.embed = embed or features.embed
        self.manifold = self.embed(real.images[order[:self.n_knn]])
        self._knn_real = real.images[order[self.n_knn: 2 * self.n_knn]]
        self.stacked = real.name == "stacked-digits"
        self.classifier = self.accuracy = None
        if self.stacked:
            self.classifier, self.accuracy = digit_classifier(size, cache_dir)
        self.seed = seed
        self._reference: dict | None = None

    def neighbourhoods(self, images_uint8: np.ndarray) -> dict:
        """Precision, recall, density and coverage of the first ``n_knn`` images."""
        return prdc(self.manifold, self.embed(images_uint8[: self.n_knn]), self.k)

    def __call__(self, fake_uint8: np.ndarray, n_pairs: int = 500) -> dict:
        out = self.neighbourhoods(fake_uint8)
        out.update(self.ndb(fake_uint8))
        out["ms_ssim"] = ms_ssim_diversity(fake_uint8, n_pairs, self.seed)
        if self.stacked:
            cov = stacked_coverage(fake_uint8, self.classifier)
            out["stacked_modes"] = cov["modes_covered"]
            out["stacked_kl"] = cov["kl"]
        return out

    def reference(self, n: int = 500, n_pairs: int = 500) -> dict:
        """The figures of ``n`` real images (computed once): ``*_real`` keys."""
        if self._reference is None:
            pool = self._held_out
            real = pool[np.random.default_rng(self.seed + 1).permutation(len(pool))[:n]]
            ref = self(real, n_pairs)
            ref.update(self.neighbourhoods(self._knn_real))
            self._reference = {f"{k}_real": v for k, v in ref.items() if k != "ndb"}
        return self._reference
