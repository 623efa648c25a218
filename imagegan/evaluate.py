"""Evaluate a run's EMA generator with download-free mode-collapse metrics.

    python -m imagegan.evaluate RUN_DIR [--n 2000] [--seed 0]

Prints and writes ``RUN_DIR/eval.json``: NDB/K and the bins' JS divergence against the run's
real data (k-means with ``--bins`` bins), MS-SSIM diversity of generated samples and of real data
(the reference), and on ``stacked-digits`` the modes covered out of 1000, KL to uniform and the
digit classifier's held-out accuracy. FID needs Inception weights, which nothing here downloads;
``fid`` is reported as null with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from imagegan import data as imdata
from imagegan import metrics
from toygan.cli import Parser, UserError, run_main
from toygan.data import DataError

FID_NOTE = ("FID not computed: it needs Inception weights, and nothing here downloads; "
            "the metrics above need no network")


class Evaluator:
    """Metrics of generated images against one real data set; fitted once, called often."""

    def __init__(self, real: imdata.ImageSet, size: int, bins: int = 50, cache_dir=None,
                 seed: int = 0, max_real: int = 5000):
        rng = np.random.default_rng(seed)
        pick = rng.permutation(len(real))[:max_real]
        self.real = real.images[pick]
        self.ndb = metrics.NDB(self.real, k=min(bins, max(2, len(self.real) // 20)), seed=seed)
        self.stacked = real.name == "stacked-digits"
        self.classifier = self.accuracy = None
        if self.stacked:
            self.classifier, self.accuracy = metrics.digit_classifier(size, cache_dir)
        self.seed = seed

    def __call__(self, fake_uint8: np.ndarray, n_pairs: int = 500) -> dict:
        out = self.ndb(fake_uint8)
        out["ms_ssim"] = metrics.ms_ssim_diversity(fake_uint8, n_pairs, self.seed)
        if self.stacked:
            cov = metrics.stacked_coverage(fake_uint8, self.classifier)
            out["stacked_modes"] = cov["modes_covered"]
            out["stacked_kl"] = cov["kl"]
        return out

    def reference(self, n_pairs: int = 500) -> dict:
        """The same figures for real data: what a perfect generator would score."""
        return {"ms_ssim_real": metrics.ms_ssim_diversity(self.real, n_pairs, self.seed + 1)}


def main(argv=None) -> int:
    from imagegan.sample import generate, generator_from_run

    p = Parser(prog="python -m imagegan.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run folder with checkpoint.pt")
    p.add_argument("--n", type=int, default=2000, help="generated images to evaluate")
    p.add_argument("--bins", type=int, default=50, help="NDB k-means bins")
    p.add_argument("--seed", type=int, default=0, help="seed for latents, pairs and k-means")
    args = p.parse_args(argv)
    if args.n < 2:
        raise UserError("--n must be >= 2")
    G, cfg = generator_from_run(args.run)
    try:
        real = imdata.load(cfg["data"], cfg["size"], cfg.get("cache_dir"))
    except DataError as e:
        raise UserError(f"cannot load the run's data: {e}") from None
    ev = Evaluator(real, cfg["size"], args.bins, cfg.get("cache_dir"), args.seed)
    torch.manual_seed(args.seed)
    result = {"step": None, "n": args.n, **ev(generate(G, args.n, args.seed)), **ev.reference()}
    if ev.accuracy is not None:
        result["classifier_accuracy"] = ev.accuracy
    result["fid"] = None
    result["fid_note"] = FID_NOTE
    from imagegan.train import load_checkpoint

    result["step"] = load_checkpoint(Path(args.run))["step"]
    (Path(args.run) / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    for k, v in result.items():
        print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    return 0


if __name__ == "__main__":
    run_main(main)
