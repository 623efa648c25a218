"""Evaluate a run's generator with download-free mode-collapse metrics and the collapse verdict.

    python -m imagegan.evaluate RUN_DIR [--n 2000] [--seed 0] [--checkpoint best] [--generator raw]
    python -m imagegan.evaluate RUN_DIR --fid --kid --pr --inception-weights FILE [--fid-n 10000]

Prints and writes ``RUN_DIR/eval.json``: precision, near-duplicate share and coverage of the
first 500 samples against 500 real images in the download-free embedding
(``imagegan.features``), NDB/K and the bins' JS divergence against the run's real data (k-means
with ``--bins`` bins), MS-SSIM diversity, on ``stacked-digits`` the modes covered out of 1000, KL
to uniform and the digit classifier's held-out accuracy, each figure for real images (``*_real``,
the reference a perfect generator would reach), and the verdict of the collapse rule
(``imagegan.collapse``: healthy, collapsed or unrealistic, with its reason).

``--fid``, ``--kid`` and ``--pr`` add FID (with its sample count ``fid_n``), KID and improved
precision/recall in the standard FID Inception's features (:mod:`imagegan.fid`), from weights the
user supplies (``--inception-weights FILE`` or the torch hub cache); nothing is downloaded, and
without the file one line says where to put it (exit 2). Without those flags ``fid`` is null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from imagegan import checkpoint
from imagegan import data as imdata
from imagegan import fid as fidlib
from imagegan.collapse import COLLAPSE_FEATURES, verdict
from imagegan.metrics import Evaluator
from imagegan.models import generate
from toygan import files
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option

FID_NOTE = ("FID not computed: pass --fid (and --inception-weights FILE); it needs the FID "
            "Inception weights, which nothing here downloads")


@dataclass
class EvalConfig:
    n: int = option(2000, "generated images to evaluate", ge=2, le=10**6)
    bins: int = option(50, "NDB k-means bins", ge=2, le=10_000)
    seed: int = option(0, "seed for latents, pairs and k-means", ge=0, le=2**32 - 1)
    checkpoint: str = option("latest", "which checkpoint: latest or best",
                             choices=tuple(checkpoint.NAMES))
    generator: str = option("ema", "which generator: ema (the averaged weights samples come "
                            "from) or raw (the weights being trained)", choices=("ema", "raw"))
    fid: bool = option(False, "FID against the run's data in the FID Inception's features")
    kid: bool = option(False, "KID (unbiased MMD², cubic kernel, 100 subsets of 1000)")
    pr: bool = option(False, "improved precision/recall (k-NN manifolds, k=3) in Inception "
                      "features")
    inception_weights: str | None = option(None, "the FID Inception weights file "
                                           "(pt_inception-2015-12-05-6726825d.pth; default: "
                                           "$IMAGEGAN_INCEPTION_WEIGHTS or the torch hub cache); "
                                           "'random' for a fixed random conv net (not FID)")
    fid_n: int | None = option(None, "images on each side for FID/KID/PR (default: 10000 or "
                               "the data set's size, whichever is smaller)", ge=2, le=10**6)
    collapse_features: str = option("embedding", "the collapse verdict's neighbourhoods "
                                    "(precision, near-duplicates): the download-free embedding "
                                    "or the FID Inception's features (--inception-weights)",
                                    choices=COLLAPSE_FEATURES)


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run folder with checkpoint.pt")
    add_config_flags(p, EvalConfig)
    return p


def run(run_dir, evaluation: EvalConfig | None = None) -> dict:
    """``python -m imagegan.evaluate RUN``: evaluate the run's generator; writes RUN/eval.json
    and returns its content."""
    ec = evaluation or EvalConfig()
    check(ec)
    wanted = tuple(m for m in fidlib.METRICS if getattr(ec, m))
    inception = wanted or ec.collapse_features == "inception"
    features = fidlib.extractor(ec.inception_weights) if inception else None  # fails first
    G, cfg, ckpt = checkpoint.generator_from_run(run_dir, ec.checkpoint,
                                                 "G_ema" if ec.generator == "ema" else "G")
    out = Path(run_dir) / "eval.json"
    files.ensure_writable_dir(out.parent)
    real = imdata.load(cfg["data"], cfg["size"], cfg.get("cache_dir"))
    ev = Evaluator(real, cfg["size"], ec.bins, cfg.get("cache_dir"), ec.seed,
                   embed=features if ec.collapse_features == "inception" else None)
    fm = fidlib.FeatureMetrics(real, cfg["size"], wanted, ec.fid_n, features,
                               cfg.get("cache_dir"), ec.seed) if wanted else None
    fake = generate(G, max(ec.n, fm.n if fm else 0), ec.seed)
    result = {"step": ckpt["step"], "checkpoint": ec.checkpoint, "generator": ec.generator,
              "n": ec.n, **ev(fake[: ec.n]), **ev.reference()}
    result["verdict"], result["verdict_reason"] = verdict(result, result)
    if ev.accuracy is not None:
        result["classifier_accuracy"] = ev.accuracy
    if fm is not None:
        result.update(fm(fake))
    else:
        result["fid"] = None
        result["fid_note"] = FID_NOTE
    files.write_text(out, json.dumps(result, indent=2) + "\n")
    return result


def execute(args) -> dict:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(args.run, build(EvalConfig, given(args, EvalConfig)))


def main(argv=None) -> int:
    result = execute(build_parser().parse_args(argv))
    for k, v in result.items():
        print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    return 0


if __name__ == "__main__":
    run_main(main)
