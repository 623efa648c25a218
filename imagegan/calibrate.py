"""Check the collapse verdict on constructed sample sets whose answer is known.

    python -m imagegan.calibrate                               # digits, stacked-digits, photos
    python -m imagegan.calibrate --data ~/faces --size 64      # your own folder
    python -m imagegan.calibrate --out figures/collapse-calibration

Each set of 500 "generated" images is made from real images of the data set, so its answer is
known: held-out real images must read **healthy**; ``k`` real images repeated — exactly, or each
copy jittered (Gaussian pixel noise and a one-pixel shift) — must read **collapsed** for every
``k`` up to 16; uniform noise and blank frames must not read healthy (**unrealistic**: not images
of the data). A few more sets (more repeated images, blurred real images) show where the verdict
moves, with no answer asserted. The verdict is :func:`imagegan.collapse.verdict` on the metrics
of :class:`imagegan.metrics.Evaluator` — exactly what the trainer logs at every evaluation.

``photos`` is a folder of crops (random position and scale) of the three photographs that ship
inside scikit-learn and matplotlib, written once as JPEG files and read through the same folder
loader as yours. ``--out`` writes ``calibration.json`` and ``calibration.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from imagegan import data as imdata
from imagegan.collapse import verdict
from imagegan.metrics import Evaluator
from toygan import files
from toygan.cli import Parser, add_output_flags, comma_list, run_main
from toygan.config import add_config_flags, build, given, option
from toygan.errors import DataError

REPEATS = (1, 2, 4, 8, 16)  # collapsed, asserted
MORE_REPEATS = (32, 64, 128)  # informative
JITTER_NOISE = 6.0  # grey levels (of 255), per pixel
PHOTOS = "photos"


@dataclass
class CalibrateConfig:
    """What the calibration constructs and measures."""

    data: str = option("digits,stacked-digits,photos", "comma-separated data sets: built-in "
                       "names, photos (crops of the photographs bundled with scikit-learn and "
                       "matplotlib), or image folders")
    size: int = option(32, "image size", choices=imdata.SIZES)
    n: int = option(500, "images per constructed set (the trainer evaluates 500)", ge=20,
                    le=100_000)
    seed: int = option(0, "seed of the evaluator (as a run's) and of the constructed sets",
                       ge=0, le=2**32 - 1)
    cache_dir: str | None = option(None, "image cache folder (default ~/.cache/imagegan)")


def photo_folder(cache_dir=None, n: int = 3000, side: int = 96) -> Path:
    """A folder of ``n`` JPEG crops of the photographs shipped with scikit-learn (china,
    flower) and matplotlib (grace_hopper), made once under the cache folder."""
    import matplotlib
    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder = Path(cache_dir or imdata.default_cache_dir()) / f"photo-crops-{n}-{side}-v1"
    done = folder.parent / f"{folder.name}.done"  # beside the folder: not a file in it
    if done.exists():
        return folder
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(hopper) as im:
        photos = list(load_sample_images().images) + [np.asarray(im.convert("RGB"))]
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        photo = photos[rng.integers(len(photos))]
        h, w, _ = photo.shape
        s = int(rng.integers(48, min(h, w) // 2))
        y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
        crop = Image.fromarray(photo[y: y + s, x: x + s]).resize((side, side),
                                                                  Image.Resampling.BICUBIC)
        imdata.save_image(folder / f"{i:05d}.jpg", np.asarray(crop), quality=95)
    files.write_text(done, f"{n}\n")
    return folder


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    r = int(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    w = (g[:, None] * g[None, :]).expand(3, 1, 2 * r + 1, 2 * r + 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), w, groups=3)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _jitter(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each copy shifted by up to one pixel and given Gaussian pixel noise."""
    out = np.empty_like(images)
    for i, im in enumerate(images):
        dy, dx = rng.integers(-1, 2, size=2)
        out[i] = np.roll(im, (int(dy), int(dx)), axis=(0, 1))
    noisy = out.astype(np.float32) + rng.normal(0, JITTER_NOISE, out.shape)
    return noisy.round().clip(0, 255).astype(np.uint8)


def constructed_sets(pool: np.ndarray, n: int, seed: int, informative: bool = True
                     ) -> list[tuple[str, str | None, np.ndarray]]:
    """``(name, expected word or None, images)`` of every constructed set, from real images
    ``pool`` (held out from the evaluator's own real sets); ``informative=False`` leaves out the
    sets whose answer is not asserted."""
    rng = np.random.default_rng(seed + 100)
    take = pool[rng.permutation(len(pool))[:n]]
    if len(take) < n:  # a small folder: real images drawn with repetition would be duplicates
        take = pool[rng.integers(0, len(pool), n)]
    sets: list[tuple[str, str | None, np.ndarray]] = [("real images (held out)", "healthy", take)]
    for k in REPEATS + (MORE_REPEATS if informative else ()):
        expected = "collapsed" if k in REPEATS else None
        base = pool[rng.choice(len(pool), min(k, len(pool)), replace=False)]
        copies = base[np.arange(n) % len(base)]
        sets.append((f"{k} images repeated", expected, copies))
        sets.append((f"{k} images repeated, jittered", expected, _jitter(copies, rng)))
    shape = take.shape
    sets.append(("uniform noise", "unrealistic", rng.integers(0, 256, shape, dtype=np.uint8)))
    sets.append(("blank mid-grey frames", "unrealistic", np.full(shape, 128, np.uint8)))
    sets.append(("blank frames of the mean colour", "unrealistic",
                 np.broadcast_to(pool.mean((0, 1, 2)).round().astype(np.uint8), shape).copy()))
    if informative:
        sets.append(("real images blurred (sigma 1 px)", None, _blur(take, 1.0)))
        sets.append(("real images blurred (sigma 2.5 px)", None, _blur(take, 2.5)))
    return sets


def load_data(spec: str, size: int, cache_dir=None) -> imdata.ImageSet:
    if spec == PHOTOS:
        return imdata.load(str(photo_folder(cache_dir)), size, cache_dir, progress=False)
    return imdata.load(spec, size, cache_dir, progress=False)


def calibrate(spec: str, size: int = 32, n: int = 500, seed: int = 0, cache_dir=None,
              informative: bool = True) -> dict:
    """The verdict on every constructed set of one data set: ``{"data", "reference", "rows"}``,
    each row ``{"set", "expected", "verdict", "reason", "ok", metrics...}``."""
    real = load_data(spec, size, cache_dir)
    ev = Evaluator(real, size, cache_dir=cache_dir, seed=seed, n_knn=n)
    if len(real) < 4 * ev.n_knn // 2:
        raise DataError(f"{spec} has {len(real)} images; the calibration holds out "
                        f"{2 * ev.n_knn} for the evaluator and needs more beside them")
    ref = ev.reference(n=n, n_pairs=200)
    # Real images the evaluator has not seen (its two neighbourhood sets come first).
    order = np.random.default_rng(seed).permutation(len(real))
    pool = real.images[order[2 * ev.n_knn:]]
    rows = []
    for name, expected, images in constructed_sets(pool, n, seed, informative):
        m = ev(images, n_pairs=200)
        word, reason = verdict(m, ref)
        rows.append({"set": name, "expected": expected, "verdict": word, "reason": reason,
                     "ok": None if expected is None else word == expected,
                     **{k: m.get(k) for k in ("precision", "coverage", "recall", "density",
                                              "stacked_modes", "ms_ssim", "duplicates")}})
    return {"data": spec, "size": size, "n": n, "reference": ref, "rows": rows}


def markdown(results: list[dict]) -> str:
    lines = []
    for res in results:
        ref = res["reference"]
        stacked = ref.get("stacked_modes_real") is not None
        head = ("| set | precision | near-duplicates | " + ("digit triples | " if stacked else "")
                + "coverage | MS-SSIM | verdict | expected |")
        lines += [f"**{res['data']}** ({res['size']} px, {res['n']} images per set; real images "
                  f"against real: precision {ref['precision_real']:.3f}, near-duplicates "
                  f"{ref['duplicates_real']:.3f}, coverage {ref['coverage_real']:.3f}, MS-SSIM "
                  f"{ref['ms_ssim_real']:.3f}"
                  + (f", {ref['stacked_modes_real']} digit triples" if stacked else "") + ")",
                  "", head, "|---|---|---|" + ("---|" if stacked else "") + "---|---|---|---|"]
        for r in res["rows"]:
            mark = "" if r["ok"] is None else (" ✓" if r["ok"] else " ✗ WRONG")
            cells = [r["set"], f"{r['precision']:.3f}", f"{r['duplicates']:.3f}"]
            if stacked:
                cells.append(str(r["stacked_modes"]))
            cells += [f"{r['coverage']:.3f}", f"{r['ms_ssim']:.3f}", r["verdict"] + mark,
                      r["expected"] or "(not asserted)"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.calibrate", description=__doc__.split("\n\n")[0])
    add_config_flags(p, CalibrateConfig)
    add_output_flags(p, None, "folder for calibration.json and calibration.md (default: print "
                     "only)")
    return p


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    cc = build(CalibrateConfig, given(ns, CalibrateConfig))
    specs = comma_list(cc.data, str, "--data")
    out = Path(ns.out) if ns.out else None
    if out is not None:
        files.output_file(out / "calibration.json", ".json", ns.overwrite, companions=(".md",))
    results = [calibrate(s, cc.size, cc.n, cc.seed, cc.cache_dir) for s in specs]
    text = markdown(results)
    print(text)
    wrong = [f"{r['data']}: {row['set']}" for r in results for row in r["rows"]
             if row["ok"] is False]
    if out is not None:
        files.write_json(out / "calibration.json", results)
        files.write_text(out / "calibration.md", text)
    if wrong:
        print(f"the verdict disagrees with the known answer on {len(wrong)} set(s): "
              f"{'; '.join(wrong)}")
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
