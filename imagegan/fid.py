"""FID, KID and improved precision/recall in the standard Inception feature space, from weights
the user supplies. Nothing here downloads.

    python -m imagegan.evaluate RUN --fid --kid --pr [--inception-weights FILE] [--fid-n 10000]
    python -m imagegan.train --inception-metrics fid --inception-weights FILE ...

**The network** is torch-fidelity's port of the TensorFlow FID Inception (the 2015-12-05 graph
that published FIDs use, with TensorFlow 1's bilinear resize to 299 px), taken from the installed
``torch-fidelity`` package (``pip install --no-deps torch-fidelity==0.4.0``; ``--no-deps`` because
its data-set helpers pull torchvision, and pip would replace a CPU torch to satisfy it). Only its
feature extractor is loaded, which needs torch alone. It was chosen over pytorch-fid (its network
is built from torchvision's Inception blocks, so it cannot run without torchvision) and
torchmetrics (whose FID calls this same torch-fidelity network).

**The weights** are one file under two names: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``
and torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` (95,628,359 bytes, SHA-256
:data:`SHA256`, checked before use). They are looked for at ``--inception-weights FILE``, then
``$IMAGEGAN_INCEPTION_WEIGHTS``, then the torch hub cache (``$TORCH_HOME/hub/checkpoints``, where
both libraries keep them), under either name.

**The numbers** follow the reference implementations: FID from the 2048-d pool features' means and
covariances (covariance with N-1); KID as the unbiased MMD² with the cubic polynomial kernel
``(x·y/d + 1)³`` averaged over 100 subsets of 1,000 (torch-fidelity's defaults); precision and
recall on k-NN manifolds with k = 3 (Kynkäänniemi et al. 2019). FID is biased by the sample count,
so every FID carries its N (``fid_n``): the same N of generated and of real images, default
10,000 or the data set's size, whichever is smaller; FIDs at different N are not compared.

Real images' features are computed once per data set (its content fingerprint), size, N, seed and
network, and cached beside the image cache.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

import numpy as np
import torch

from toygan.errors import UserError

SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
FILENAMES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")
ENV = "IMAGEGAN_INCEPTION_WEIGHTS"
METRICS = ("fid", "kid", "pr")
KEYS = ("fid", "kid", "pr_precision", "pr_recall")  # the numbers they log
DEFAULT_N = 10_000
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PR_K = 3


# --- the weights -------------------------------------------------------------------------------

def hub_dir() -> Path:
    """Where torch.hub (and so pytorch-fid and torch-fidelity) caches downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


_DIGESTS: dict[tuple, str] = {}


def sha256(path) -> str:
    """The file's SHA-256, computed once per process for a file left unchanged (its path, size
    and modification time): a config check, the network and its id all ask for it."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def find_weights(path=None) -> Path:
    """The Inception weights file: ``path``, else ``$IMAGEGAN_INCEPTION_WEIGHTS``, else the torch
    hub cache under either library's name; its SHA-256 checked. A missing or wrong file is a
    :class:`UserError` in one line that says where to put it."""
    where = f"{hub_dir() / FILENAMES[0]} (or pass --inception-weights FILE)"
    if path is None:
        path = os.environ.get(ENV) or None
    if path is None:
        found = [hub_dir() / name for name in FILENAMES if (hub_dir() / name).is_file()]
        if not found:
            raise UserError(f"FID/KID/PR need the FID Inception weights {FILENAMES[0]}, which are "
                            f"never downloaded here; put the file at {where}")
        path = found[0]
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"Inception weights not found: {path}; FID/KID/PR need {FILENAMES[0]} "
                        f"at {where}")
    digest = sha256(path)
    if digest != SHA256:
        raise UserError(f"{path} is not the FID Inception weights (SHA-256 {digest[:16]}..., "
                        f"expected {SHA256[:16]}...): published FIDs use {FILENAMES[0]}")
    return path


# --- the network -------------------------------------------------------------------------------

def _inception_class():
    """torch-fidelity's ``FeatureExtractorInceptionV3``, imported without the package's
    ``__init__`` (which imports torchvision for data-set helpers this module does not use)."""
    name = "torch_fidelity.feature_extractor_inceptionv3"
    if name in sys.modules:
        return sys.modules[name].FeatureExtractorInceptionV3
    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("FID/KID/PR use torch-fidelity's Inception network, which is not "
                        "installed: pip install --no-deps torch-fidelity==0.4.0")
    stub = "torch_fidelity" not in sys.modules
    if stub:
        pkg = types.ModuleType("torch_fidelity")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["torch_fidelity"] = pkg
    try:
        return importlib.import_module(name).FeatureExtractorInceptionV3
    finally:
        if stub:  # a later `import torch_fidelity` runs the real package
            del sys.modules["torch_fidelity"]


class InceptionFeatures:
    """(N, H, W, 3) uint8 images -> (N, 2048) float64 pool features of the FID Inception."""

    def __init__(self, weights, device: str = "cpu", batch: int = 100):
        cls = _inception_class()
        self.net = cls("inception-v3-compat", ["2048"],
                       feature_extractor_weights_path=str(weights)).to(device)
        self.device, self.batch = device, batch
        self.id = f"inception-2015-12-05:{sha256(weights)[:16]}"

    @torch.no_grad()
    def __call__(self, images_uint8: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(images_uint8), self.batch):
            x = torch.from_numpy(np.ascontiguousarray(images_uint8[start: start + self.batch]))
            (f,) = self.net(x.permute(0, 3, 1, 2).contiguous().to(self.device))
            out.append(f.double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 2048))


def write_untrained_weights(path, seed: int = 0) -> Path:
    """A weights file in the FID Inception's layout holding random values: the architecture's cost
    and code path without the published file (benchmarks and tests). Its features are not FID's,
    and :func:`find_weights` rejects it."""
    cls = _inception_class()
    load, load_state = torch.load, cls.load_state_dict
    try:  # the constructor loads weights; build the bare architecture instead
        torch.load = lambda *a, **k: {}
        cls.load_state_dict = lambda self, *a, **k: None
        net = cls("inception-v3-compat", ["2048"], feature_extractor_weights_path="-")
    finally:
        torch.load, cls.load_state_dict = load, load_state
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in net.state_dict().items():
        if not v.is_floating_point():
            state[k] = v
        elif "running_var" in k:
            state[k] = torch.rand(v.shape, generator=g) + 0.5
        else:
            state[k] = torch.randn(v.shape, generator=g) * 0.05
    torch.save(state, path)
    return Path(path)


class RandomFeatures:
    """The download-free stand-in: :func:`imagegan.features.embed` (a fixed random conv net)
    through the same code path as the Inception features. Its FID is not comparable with
    published FIDs; tests and ``--inception-weights random`` use it."""

    id = "random-conv-v1"

    def __call__(self, images_uint8: np.ndarray) -> np.ndarray:
        from imagegan import features

        return features.embed(images_uint8).double().numpy()


def extractor(weights=None, device: str = "cpu"):
    """The feature network for ``--inception-weights``: ``random`` for the stand-in, else the
    FID Inception from :func:`find_weights`."""
    if weights == "random":
        return RandomFeatures()
    return InceptionFeatures(find_weights(weights), device)


# --- the numbers -------------------------------------------------------------------------------

def statistics(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (N-1 normalised) of feature rows."""
    f = np.asarray(feats, dtype=np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||² + tr(S1) + tr(S2) - 2 tr((S1 S2)^½) between two Gaussians.

    tr((S1 S2)^½) is the sum of the square roots of the eigenvalues of S1^½ S2 S1^½, which is
    symmetric positive semi-definite, so it is computed with symmetric eigensolvers (no complex
    parts to discard, as a general matrix square root leaves)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    tr_cross = np.sqrt(np.clip(inner, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_cross)


def mmd2_unbiased(x, y, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD² between rows of ``x`` and ``y`` with k(a, b) = (a·b/d + coef0)^degree."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T / d + coef0) ** degree, (y @ y.T / d + coef0) ** degree,
                     (x @ y.T / d + coef0) ** degree)
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def kid(real_feats, fake_feats, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
        seed: int = 0) -> dict:
    """``{"kid", "kid_std"}``: unbiased MMD² averaged over random subsets of both sets."""
    real, fake = np.asarray(real_feats), np.asarray(fake_feats)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(real[rng.choice(len(real), size, replace=False)],
                          fake[rng.choice(len(fake), size, replace=False)])
            for _ in range(subsets)]
    return {"kid": float(np.mean(vals)), "kid_std": float(np.std(vals))}


def precision_recall(real_feats, fake_feats, k: int = PR_K) -> dict:
    """Improved precision and recall (k-NN manifolds, k = 3): ``{"pr_precision",
    "pr_recall"}``."""
    from imagegan.metrics import prdc

    out = prdc(torch.from_numpy(np.asarray(real_feats)), torch.from_numpy(np.asarray(fake_feats)),
               k)
    return {"pr_precision": out["precision"], "pr_recall": out["recall"]}


def parse_metrics(spec: str) -> tuple[str, ...]:
    """``"fid,kid"`` -> ("fid", "kid"); unknown names are a one-line error."""
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [s for s in names if s not in METRICS]
    if bad:
        raise UserError(f"unknown metric {bad[0]!r} (choose from {', '.join(METRICS)})")
    return names


def default_n(n_real: int, n=None) -> int:
    """The sample count: ``n`` if given (at most the data set's size), else min(10k, size)."""
    if n is None:
        return min(DEFAULT_N, n_real)
    if n > n_real:
        raise UserError(f"--fid-n {n} is more than the {n_real} real images")
    return n


class FeatureMetrics:
    """FID / KID / PR of generated images against ``n`` real ones, whose features are computed
    once and cached on disk (keyed by the data's fingerprint, image size, n, seed and network)."""

    def __init__(self, real, size: int, metrics=METRICS, n=None, extractor=None, cache_dir=None,
                 seed: int = 0):
        self.metrics = tuple(metrics)
        self.extractor = extractor if extractor is not None else RandomFeatures()
        self.n = default_n(len(real), n)
        self.seed = seed
        self.real_feats = self._real_features(real, size, cache_dir)
        self.real_stats = statistics(self.real_feats)

    def _real_features(self, real, size, cache_dir) -> np.ndarray:
        from imagegan.data import default_cache_dir
        from toygan import files

        fp = getattr(real, "fingerprint", {}).get("key", real.name)
        key = hashlib.sha1(f"feats-v1-{fp}-{size}-{self.n}-{self.seed}-{self.extractor.id}"
                           .encode()).hexdigest()[:16]
        path = Path(cache_dir or default_cache_dir()) / f"inception-{key}.npy"
        if path.exists():
            try:
                feats = np.load(path, allow_pickle=False)
                if feats.shape[0] == self.n:
                    return feats.astype(np.float64)
            except Exception:  # noqa: BLE001 — a torn cache file is recomputed
                pass
        order = np.random.default_rng(self.seed).permutation(len(real))[: self.n]
        feats = self.extractor(real.images[order])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.save(f, feats.astype(np.float32))
        except Exception as e:  # noqa: BLE001 — a cache is an optimisation
            print(f"warning: could not cache real features at {path}: {e}", file=sys.stderr)
        return feats.astype(np.float32).astype(np.float64)

    def __call__(self, fake_uint8: np.ndarray) -> dict:
        if len(fake_uint8) < self.n:
            raise ValueError(f"{len(fake_uint8)} generated images for an N={self.n} metric")
        fake = self.extractor(fake_uint8[: self.n])
        out: dict = {"fid_n": self.n, "fid_features": self.extractor.id}
        if "fid" in self.metrics:
            out["fid"] = frechet_distance(*self.real_stats, *statistics(fake))
        if "kid" in self.metrics:
            out.update(kid(self.real_feats, fake, seed=self.seed))
        if "pr" in self.metrics:
            out.update(precision_recall(self.real_feats, fake))
        return out
