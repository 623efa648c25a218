"""Check the collapse verdict on constructed sample sets whose answer is known.

    python -m imagegan.calibrate                          # digits, stacked digits, photos
    python -m imagegan.calibrate --data ~/faces --size 64 # your own folder
    python -m imagegan.calibrate --out figures/collapse-calibration
    python -m imagegan.calibrate --inception-weights FILE # in the FID Inception's features

Each set of 500 "generated" images is made from real images of the data set that the evaluator
has not seen, so its answer is known:

* **held-out real images**, drawn ``--draws`` times: must read *healthy*; the share that does
  not is the verdict's false-alarm rate;
* **real images of k of the N modes** (k/N from 5% to 75%, ``--mode-draws`` draws each): the
  modes are the data's labels where it has them (digits: 10 classes; stacked digits: 1000 digit
  triples), else k-means clusters of the weight-free embedding (20; a partition the verdict's
  own pixel-space bins do not share). Varied, realistic images of part of the data: the
  *modes dropped* collapse. The table states the largest share kept (smallest share dropped)
  that reads collapsed in at least :data:`DETECTED` of the draws;
* **a few images, each repeated** — exactly, jittered (pixel noise and a one-pixel shift), or
  strongly augmented (shifts of up to :data:`AUG_SHIFT` pixels, brightness x0.9-1.1, and
  horizontal flips where the data allows them): must not read *healthy* — *collapsed* when the
  few are typical images, *unrealistic* when they lie outside the real images' neighbourhoods
  (the table counts which);
* **quality controls** — real images blurred or with pixel noise: worse images that stay varied,
  which must not read collapsed; uniform noise and blank frames must read *unrealistic*.

The verdict is :func:`imagegan.collapse.verdict` on the metrics of
:class:`imagegan.metrics.Evaluator` — exactly what the trainer logs at every evaluation.

``photos`` is a folder of crops (random position and scale) of the three photographs that ship
inside scikit-learn and matplotlib; ``stacked-digits-folder`` is the stacked digits written as
PNG files: both made once under the cache folder and read through the same folder loader as
yours (the latter has no digit-triple rule: only the weight-free verdict sees it).
``--out`` writes ``calibration.json`` and ``calibration.md``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from imagegan import data as imdata
from imagegan.collapse import kind, verdict
from imagegan.metrics import Evaluator
from toygan import files
from toygan.cli import Parser, add_output_flags, comma_list, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import DataError

REPEATS = (1, 2, 4, 8, 16)  # collapsed, asserted
AUGMENTED = (4, 16)  # base images of the strongly augmented sets: collapsed, asserted
KEPT_SHARES = (0.05, 0.10, 0.25, 0.50, 0.75)  # shares of the modes kept (informative)
CLUSTERS = 20  # modes of a data set without labels: k-means clusters of the embedding
JITTER_NOISE = 6.0  # grey levels (of 255), per pixel
AUG_SHIFT = 3  # pixels
AUG_BRIGHTNESS = 0.1  # brightness scaled by 1 +- this
DETECTED = 0.9  # a share of dropped modes is detected when this share of its draws reads so
MAX_FALSE_ALARMS = 0.05  # held-out draws not healthy, at most (asserted)
PHOTOS = "photos"
# A few images repeated must never read healthy: collapsed when they are typical images of the
# data, unrealistic when the few drawn happen to lie outside the real images' neighbourhoods
# (precision takes k values for k images; an atypical pair of digits, jittered, scores ~0.2).
NOT_HEALTHY = "collapsed (or unrealistic)"
STACKED_FOLDER = "stacked-digits-folder"
FLIPS = (PHOTOS,)  # data whose mirror images are images of the data (not digits)


@dataclass
class CalibrateConfig:
    """What the calibration constructs and measures."""

    data: str = option(f"digits,stacked-digits,{STACKED_FOLDER},{PHOTOS}",
                       "comma-separated data sets: built-in names, photos (crops of the "
                       "photographs bundled with scikit-learn and matplotlib), "
                       f"{STACKED_FOLDER} (stacked digits as a plain folder), or image folders")
    size: int = option(32, "image size", choices=imdata.SIZES)
    n: int = option(500, "images per constructed set (the trainer evaluates 500)", ge=20,
                    le=100_000)
    draws: int = option(50, "draws of held-out real images (the false-alarm rate's)", ge=1,
                        le=10_000)
    mode_draws: int = option(5, "draws of each share of the modes kept", ge=1, le=1000)
    seed: int = option(0, "seed of the evaluator (as a run's) and of the constructed sets",
                       ge=0, le=2**32 - 1)
    cache_dir: str | None = option(None, "image cache folder (default ~/.cache/imagegan)")
    inception_weights: str | None = option(None, "measure the neighbourhoods in the FID "
                                           "Inception's features from this weights file "
                                           "(imagegan.fid) instead of the download-free "
                                           "embedding")


def photo_folder(cache_dir=None, n: int = 3000, side: int = 96) -> Path:
    """A folder of ``n`` JPEG crops of the photographs shipped with scikit-learn (china,
    flower) and matplotlib (grace_hopper), made once under the cache folder."""
    import matplotlib
    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder = Path(cache_dir or imdata.default_cache_dir()) / f"photo-crops-{n}-{side}-v1"
    if _made(folder):
        return folder
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(hopper) as im:
        photos = list(load_sample_images().images) + [np.asarray(im.convert("RGB"))]
    rng = np.random.default_rng(1)
    with _making(folder) as tmp:
        for i in range(n):
            photo = photos[rng.integers(len(photos))]
            h, w, _ = photo.shape
            s = int(rng.integers(48, min(h, w) // 2))
            y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            crop = Image.fromarray(photo[y: y + s, x: x + s]).resize((side, side),
                                                                      Image.Resampling.BICUBIC)
            crop.save(tmp / f"{i:05d}.jpg", format="JPEG", quality=95)
    return folder


def stacked_folder(size: int, cache_dir=None, n: int = 10_000) -> tuple[Path, np.ndarray]:
    """The first ``n`` built-in stacked digits at ``size`` px as PNG files (lossless), made once
    under the cache folder, and their digit triples in file order."""
    from PIL import Image

    real = imdata.stacked_digits(size, n=n)
    folder = Path(cache_dir or imdata.default_cache_dir()) / f"stacked-digits-{n}-{size}px-v1"
    if not _made(folder):
        with _making(folder) as tmp:
            for i, im in enumerate(real.images):
                Image.fromarray(im).save(tmp / f"{i:05d}.png", format="PNG")
    return folder, real.labels


def _made(folder: Path) -> bool:
    """Whether a cached folder of images was made whole (its marker sits beside it)."""
    return (folder.parent / f"{folder.name}.done").exists() and folder.is_dir()


@contextmanager
def _making(folder: Path) -> Iterator[Path]:
    """A private folder to fill (plain writes: no file is seen before the whole folder is),
    renamed to ``folder`` in one step once filled, then marked done. A build that fails leaves
    nothing under the name; if another process finished the same folder first, its copy stays."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        if folder.exists() and not _made(folder):
            shutil.rmtree(folder, ignore_errors=True)  # a half folder from an older build
        try:
            os.replace(tmp, folder)
        except OSError:
            if not folder.is_dir():  # not another process's finished folder: a real error
                raise
        files.write_text(folder.parent / f"{folder.name}.done", "done\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    r = int(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    w = (g[:, None] * g[None, :]).expand(3, 1, 2 * r + 1, 2 * r + 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), w, groups=3)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _noise(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    noisy = images.astype(np.float32) + rng.normal(0, sigma, images.shape)
    return noisy.round().clip(0, 255).astype(np.uint8)


def _jitter(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each copy shifted by up to one pixel and given Gaussian pixel noise."""
    out = np.empty_like(images)
    for i, im in enumerate(images):
        dy, dx = rng.integers(-1, 2, size=2)
        out[i] = np.roll(im, (int(dy), int(dx)), axis=(0, 1))
    return _noise(out, JITTER_NOISE, rng)


def _augment(images: np.ndarray, rng: np.random.Generator, flips: bool) -> np.ndarray:
    """Each copy shifted by up to ``AUG_SHIFT`` pixels (edges repeated, not wrapped), its
    brightness scaled by 1 +- ``AUG_BRIGHTNESS`` and, with ``flips``, mirrored half the time."""
    n, h, w, _ = images.shape
    s = AUG_SHIFT
    padded = np.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
    out = np.empty(images.shape, np.float32)
    for i in range(n):
        dy, dx = (int(v) for v in rng.integers(0, 2 * s + 1, size=2))
        im = padded[i, dy: dy + h, dx: dx + w]
        if flips and rng.random() < 0.5:
            im = im[:, ::-1]
        out[i] = im * rng.uniform(1 - AUG_BRIGHTNESS, 1 + AUG_BRIGHTNESS)
    return out.round().clip(0, 255).astype(np.uint8)


def _draw(pool: np.ndarray, idx: np.ndarray, n: int, rng) -> tuple[np.ndarray, bool]:
    """``n`` images of ``pool[idx]``, without repetition when there are enough (else with: the
    second value says so)."""
    repeat = len(idx) < n
    return pool[rng.choice(idx, n, replace=repeat)], repeat


def modes_of(spec: str, real: imdata.ImageSet, labels=None, seed: int = 0
             ) -> tuple[np.ndarray, str]:
    """Each image's mode, and what the modes are: the data's labels, else k-means clusters of
    the download-free embedding."""
    if labels is not None:
        return np.asarray(labels), "labels"
    if real.labels is not None:
        return real.labels, "labels"
    from sklearn.cluster import KMeans

    from imagegan import features

    feats = features.embed(real.images).numpy()
    km = KMeans(n_clusters=CLUSTERS, n_init=3, random_state=seed + 5).fit(feats)
    return km.labels_, "k-means clusters of the download-free embedding"


def constructed_sets(pool: np.ndarray, modes: np.ndarray, n: int, seed: int, draws: int = 50,
                     mode_draws: int = 5, flips: bool = False):
    """``(group, name, expected, images)`` of every constructed set, from real images ``pool``
    (held out from the evaluator's own real sets) and their ``modes``. ``expected`` is a word of
    the verdict, ``"not collapsed"``, or None (informative: the table reports the rate)."""
    rng = np.random.default_rng(seed + 100)
    everything = np.arange(len(pool))
    for _ in range(draws):
        yield "held-out", "real images (held out)", "healthy", _draw(pool, everything, n, rng)[0]
    ids = np.unique(modes)
    for share in KEPT_SHARES:
        k = max(1, int(round(share * len(ids))))
        for _ in range(mode_draws):
            keep = rng.choice(ids, k, replace=False)
            images, repeat = _draw(pool, np.flatnonzero(np.isin(modes, keep)), n, rng)
            name = f"{k} of {len(ids)} modes ({1 - k / len(ids):.0%} dropped)"
            yield "modes", name + (", repeated" if repeat else ""), None, images
    for k in REPEATS:
        base = pool[rng.choice(len(pool), min(k, len(pool)), replace=False)]
        copies = base[np.arange(n) % len(base)]
        yield "repeated", f"{k} images repeated", NOT_HEALTHY, copies
        yield "repeated", f"{k} images repeated, jittered", NOT_HEALTHY, _jitter(copies, rng)
    for k in AUGMENTED:
        base = pool[rng.choice(len(pool), k, replace=False)]
        what = "shifts, brightness" + (", flips" if flips else "")
        yield ("augmented", f"{k} images strongly augmented ({what})", NOT_HEALTHY,
               _augment(base[np.arange(n) % k], rng, flips))
    take = _draw(pool, everything, n, rng)[0]
    for sigma in (1.0, 2.5):
        yield "quality", f"real images blurred (sigma {sigma:g} px)", "not collapsed", \
            _blur(take, sigma)
    for sigma in (16, 40):
        yield "quality", f"real images + pixel noise (sigma {sigma} grey levels)", \
            "not collapsed", _noise(take, sigma, rng)
    shape = take.shape
    yield "quality", "uniform noise", "unrealistic", rng.integers(0, 256, shape, dtype=np.uint8)
    yield "quality", "blank mid-grey frames", "unrealistic", np.full(shape, 128, np.uint8)
    yield ("quality", "blank frames of the mean colour", "unrealistic",
           np.broadcast_to(pool.mean((0, 1, 2)).round().astype(np.uint8), shape).copy())


def load_data(spec: str, size: int, cache_dir=None) -> tuple[imdata.ImageSet, np.ndarray | None]:
    """The data set and, for the constructed folders that have them, its labels."""
    if spec == PHOTOS:
        return imdata.load(str(photo_folder(cache_dir)), size, cache_dir, progress=False), None
    if spec == STACKED_FOLDER:
        folder, labels = stacked_folder(size, cache_dir)
        return imdata.load(str(folder), size, cache_dir, progress=False), labels
    return imdata.load(spec, size, cache_dir, progress=False), None


def _ok(expected: str | None, word: str) -> bool | None:
    if expected is None:
        return None
    if expected == "not collapsed":
        return word != "collapsed"
    if expected == NOT_HEALTHY:
        return word != "healthy"
    return word == expected


def calibrate(spec: str, size: int = 32, n: int = 500, seed: int = 0, cache_dir=None,
              draws: int = 50, mode_draws: int = 5, embed=None) -> dict:
    """The verdict on every constructed set of one data set: ``{"data", "reference", "rows",
    "false_alarms", "detected_kept"}``; each row ``{"group", "set", "expected", "verdict",
    "kind", "reason", "ok", metrics...}``. ``embed``: the neighbourhoods' features
    (:class:`imagegan.metrics.Evaluator`'s)."""
    real, labels = load_data(spec, size, cache_dir)
    ev = Evaluator(real, size, cache_dir=cache_dir, seed=seed, n_knn=n, embed=embed)
    if len(real) < 4 * ev.n_knn // 2:
        raise DataError(f"{spec} has {len(real)} images; the calibration holds out "
                        f"{2 * ev.n_knn} for the evaluator and needs more beside them")
    ref = ev.reference(n=n, n_pairs=200)
    modes, modes_are = modes_of(spec, real, labels, seed)
    # Real images the evaluator has not seen (its two neighbourhood sets come first).
    order = np.random.default_rng(seed).permutation(len(real))
    rest = order[2 * ev.n_knn:]
    rows = []
    for group, name, expected, images in constructed_sets(
            real.images[rest], modes[rest], n, seed, draws, mode_draws, spec in FLIPS):
        m = ev(images, n_pairs=200)
        word, reason = verdict(m, ref)
        rows.append({"group": group, "set": name, "expected": expected, "verdict": word,
                     "kind": kind(reason) if word == "collapsed" else None, "reason": reason,
                     "ok": _ok(expected, word),
                     **{k: m.get(k) for k in ("precision", "duplicates", "ndb_missing",
                                              "stacked_modes", "coverage", "recall",
                                              "ms_ssim")}})
    held = [r for r in rows if r["group"] == "held-out"]
    alarms = sum(r["verdict"] != "healthy" for r in held)
    return {"data": spec, "size": size, "n": n, "modes": modes_are,
            "n_modes": int(len(np.unique(modes))), "reference": ref, "rows": rows,
            "false_alarms": [alarms, len(held)], "detected_kept": detected_kept(rows),
            "features": getattr(ev.embed, "id", "random-conv-v1")}


def detected_kept(rows: list[dict]) -> float | None:
    """The largest share of modes kept whose draws read collapsed at least ``DETECTED`` of the
    time, with every smaller share detected too (None: not even the smallest)."""
    best = None
    modes = [r for r in rows if r["group"] == "modes"]
    for share in sorted({_share(r["set"]) for r in modes}):
        mine = [r for r in modes if _share(r["set"]) == share]
        if sum(r["verdict"] == "collapsed" for r in mine) < DETECTED * len(mine):
            break
        best = share
    return best


def _share(name: str) -> float:
    """The share of the modes a "k of N modes" set keeps."""
    k, _, rest = name.partition(" of ")
    return int(k) / int(rest.split(" ", 1)[0])


def _summary(group: list[dict]) -> list[str]:
    """One table row for a set drawn once or many times: metrics averaged, verdicts counted."""
    r0, n = group[0], len(group)

    def mean(key, digits=3):
        vals = [r[key] for r in group if r[key] is not None]
        return f"{np.mean(vals):.{digits}f}" if vals else "—"

    counts = {}
    for r in group:
        label = r["verdict"] + (f" ({r['kind']})" if r["kind"] else "")
        counts[label] = counts.get(label, 0) + 1
    verdicts = ", ".join(f"{c}/{n} {w}" if n > 1 else w for w, c in counts.items())
    ok = [r["ok"] for r in group if r["ok"] is not None]
    if r0["group"] == "held-out":
        mark = " ✓" if all_ok(group) else " ✗ WRONG"
    else:
        mark = "" if not ok else (" ✓" if all(ok) else " ✗ WRONG")
    cells = [r0["set"] + (f" ({n} draws)" if n > 1 else ""), mean("precision"),
             mean("duplicates"), mean("ndb_missing"), mean("stacked_modes", 0), mean("coverage"),
             mean("recall"), verdicts + mark, r0["expected"] or "(reported)"]
    return cells


def all_ok(group: list[dict]) -> bool:
    """Held-out draws pass as a rate (at most ``MAX_FALSE_ALARMS`` not healthy); every other
    asserted set must read as expected."""
    if group and group[0]["group"] == "held-out":
        return sum(r["verdict"] != "healthy" for r in group) <= MAX_FALSE_ALARMS * len(group)
    return all(r["ok"] is not False for r in group)


def markdown(results: list[dict]) -> str:
    from toygan.tables import markdown_table

    lines = []
    for res in results:
        ref = res["reference"]
        stacked = ref.get("stacked_modes_real") is not None
        fa, total = res["false_alarms"]
        kept = res["detected_kept"]
        detect = (f"dropped modes read collapsed in at least {DETECTED:.0%} of draws down to "
                  f"{1 - kept:.0%} of the modes dropped" if kept is not None else
                  f"no share of dropped modes tried reads collapsed in {DETECTED:.0%} of draws")
        lines += [f"**{res['data']}** ({res['size']} px, {res['n']} images per set, "
                  f"neighbourhoods in {res['features']}; modes: {res['n_modes']} "
                  f"{res['modes']}). False alarms on held-out real images: {fa} of {total} "
                  f"draws; {detect}. Real images against real: precision "
                  f"{ref['precision_real']:.3f}, near-duplicates {ref['duplicates_real']:.3f}, "
                  f"missed bins {ref['ndb_missing_real']:.3f}, coverage "
                  f"{ref['coverage_real']:.3f}, recall {ref['recall_real']:.3f}"
                  + (f", {ref['stacked_modes_real']} digit triples" if stacked else "") + ".",
                  ""]
        header = ["set", "precision", "near-duplicates", "missed bins", "digit triples",
                  "coverage", "recall", "verdict", "expected"]
        body = []
        for _, group in _grouped(res["rows"]).items():
            body.append(_summary(group))
        if not stacked:
            header.pop(4)
            body = [row[:4] + row[5:] for row in body]
        lines += markdown_table(header, body) + [""]
    return "\n".join(lines)


def _grouped(rows: list[dict]) -> dict:
    out: dict = {}
    for r in rows:
        key = (r["group"], r["set"] if r["group"] != "modes" else _share(r["set"]))
        out.setdefault(key, []).append(r)
    return out


def wrong_sets(results: list[dict]) -> list[str]:
    return [f"{res['data']}: {group[0]['set']}" for res in results
            for group in _grouped(res["rows"]).values() if not all_ok(group)]


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.calibrate", description=__doc__.split("\n\n")[0])
    add_config_flags(p, CalibrateConfig)
    add_output_flags(p, None, "folder for calibration.json and calibration.md (default: print "
                     "only)")
    return p


def run(config: CalibrateConfig | None = None, *, out=None,
        overwrite: bool = False) -> tuple[list[dict], str]:
    """``python -m imagegan.calibrate``: the verdict on constructed sets whose answer is known,
    per data set; returns the results and their Markdown table (also written as
    ``out``/calibration.json and calibration.md when ``out`` is given)."""
    cc = config or CalibrateConfig()
    check(cc)
    specs = comma_list(cc.data, str, "--data")
    out = Path(out) if out else None
    embed = None
    if cc.inception_weights is not None:
        from imagegan import fid

        embed = fid.extractor(cc.inception_weights)
    if out is not None:
        files.output_file(out / "calibration.json", ".json", overwrite, companions=(".md",))
    results = [calibrate(s, cc.size, cc.n, cc.seed, cc.cache_dir, cc.draws, cc.mode_draws, embed)
               for s in specs]
    text = markdown(results)
    if out is not None:
        files.write_json(out / "calibration.json", results)
        files.write_text(out / "calibration.md", text)
    return results, text


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    results, text = run(build(CalibrateConfig, given(ns, CalibrateConfig)), out=ns.out,
                        overwrite=ns.overwrite)
    print(text)
    wrong = wrong_sets(results)
    if wrong:
        print(f"the verdict disagrees with the known answer on {len(wrong)} set(s): "
              f"{'; '.join(wrong)}")
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
