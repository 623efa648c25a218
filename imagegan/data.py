"""Image data: a folder of images, or a built-in set that needs no download.

* ``--data PATH``: every file under PATH (flat like Crypko's ``faces/`` or nested) is opened with
  Pillow, converted to RGB (grayscale and palette expanded, transparency composited on white),
  centre-cropped to a square, resized to ``size`` and cached once as a uint8 ``.npy`` keyed by the
  folder's file list (names, sizes, mtimes) and the size, so later runs never decode again.
  Unreadable files (text, corrupt images) are skipped and reported in one warning line; a folder
  without a usable image is a :class:`DataError`.
* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, shipped inside the
  installed package), upscaled, gray in all three channels.
* ``stacked-digits``: three random digits as the R, G and B channels: 1000 known modes (the
  Stacked-MNIST protocol), with labels ``100*r + 10*g + b``.

Images are held as uint8 NHWC; :func:`to_float` maps a batch to float NCHW in [-1, 1] and
:func:`to_uint8` maps generator output back to [0, 255].
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from toygan import files
from toygan.errors import DataError

BUILTIN = ("digits", "stacked-digits")
SIZES = (32, 64, 128)


@dataclass
class ImageSet:
    name: str
    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray | None = None
    # What the data *is*, whatever path names it: {"key": ..., "summary": ...} (resume checks it).
    fingerprint: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.images)


def grid_image(images_uint8: np.ndarray, nrow: int = 8, pad: int = 2) -> np.ndarray:
    """Tile (N, H, W, 3) uint8 images into one image with ``pad`` white pixels between."""
    n, h, w, _ = images_uint8.shape
    rows = math.ceil(n / nrow)
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    for i, im in enumerate(images_uint8):
        r, c = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y: y + h, x: x + w] = im
    return out


def save_image(path, image_uint8: np.ndarray, **params) -> None:
    """One image file (format from the suffix: PNG, JPEG), written atomically."""
    from PIL import Image

    path = Path(path)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}[path.suffix.lower()]
    with files.atomic_path(path) as tmp:
        Image.fromarray(image_uint8).save(tmp, format=fmt, **params)


def to_float(batch_uint8: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-1, 1]."""
    return batch_uint8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] -> (N, H, W, 3) uint8, rounding to the nearest level."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round()
    return x.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _resize_gray(img8: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img8).resize((size, size), Image.Resampling.BICUBIC))


@functools.lru_cache(maxsize=len(SIZES))
def _digit_images(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The upscaled grey digits and their labels, made once per process and size (a study's
    runs and a test session load them many times); read-only, callers get new arrays."""
    from sklearn.datasets import load_digits

    d = load_digits()
    small = (d.images * (255.0 / 16.0)).round().astype(np.uint8)
    big = np.stack([_resize_gray(im, size) for im in small])
    labels = d.target.astype(np.int64)
    big.setflags(write=False)
    labels.setflags(write=False)
    return big, labels


def digits(size: int) -> ImageSet:
    """scikit-learn's bundled digits, 0..16 scaled to 0..255, upscaled to ``size``."""
    big, labels = _digit_images(size)
    return ImageSet("digits", np.repeat(big[..., None], 3, axis=3), labels.copy(),
                    {"key": "builtin:digits", "summary": "built-in digits (1797 images)"})


def stacked_digits(size: int, n: int = 30_000, seed: int = 0) -> ImageSet:
    """``n`` images whose R, G, B channels are three independently drawn digits (1000 modes)."""
    gray, labels = _digit_images(size)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(gray), size=(n, 3))
    images = np.stack([gray[idx[:, c]] for c in range(3)], axis=-1)
    modes = 100 * labels[idx[:, 0]] + 10 * labels[idx[:, 1]] + labels[idx[:, 2]]
    return ImageSet("stacked-digits", images, modes,
                    {"key": f"builtin:stacked-digits:{n}:{seed}",
                     "summary": f"built-in stacked digits ({n} images)"})


def _load_one(path: Path, size: int) -> np.ndarray:
    """Decode one file to (size, size, 3) uint8, or raise."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grayscale: scale, not clip
            arr = np.asarray(im, dtype=np.float64)
            top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
            im = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(canvas, rgba).convert("RGB")
        else:
            im = im.convert("RGB")
        w, h = im.size
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        im = im.crop((left, top, left + s, top + s)).resize((size, size),
                                                             Image.Resampling.BICUBIC)
        return np.asarray(im, dtype=np.uint8)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in
                                             p.relative_to(folder).parts))


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "imagegan"


def fingerprint(folder: Path, paths: list[Path]) -> dict:
    """What a folder holds, independent of its path: its files' relative names and sizes."""
    h = hashlib.sha1()
    total = 0
    for p in paths:
        size = p.stat().st_size
        total += size
        h.update(f"{p.relative_to(folder).as_posix()}\0{size}\n".encode())
    return {"key": h.hexdigest()[:20], "summary": f"{len(paths)} files, {total / 1e6:.1f} MB"}


def _read_cache(cache: Path, size: int) -> np.ndarray | None:
    """The cached array if it is whole and has the expected layout, else None (with a
    warning when a file was there but unusable)."""
    if not cache.exists():
        return None
    try:
        arr = np.load(cache, allow_pickle=False)
        if arr.dtype == np.uint8 and arr.ndim == 4 and arr.shape[1:] == (size, size, 3) and \
                len(arr):
            return arr
        problem = f"unexpected layout {arr.dtype} {arr.shape}"
    except Exception as e:  # noqa: BLE001 — truncated or corrupt file
        problem = str(e).splitlines()[0][:120]
    print(f"warning: image cache {cache} is unusable ({problem}); rebuilding it",
          file=sys.stderr)
    return None


def _decode_all(folder: Path, paths: list[Path], size: int, progress: bool) -> np.ndarray:
    from tqdm.auto import tqdm

    images, bad_image, not_image = [], 0, 0
    for p in tqdm(paths, desc=f"caching {folder.name} at {size}px", disable=not progress,
                  file=sys.stderr, unit="img"):
        try:
            images.append(_load_one(p, size))
        except Exception:  # noqa: BLE001 — any undecodable file is skipped and counted
            if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif",
                                    ".tiff"):
                bad_image += 1
            else:
                not_image += 1
    if bad_image or not_image:
        print(f"warning: skipped {bad_image + not_image} of {len(paths)} files in {folder} "
              f"({bad_image} unreadable images, {not_image} non-image files)", file=sys.stderr)
    if not images:
        raise DataError(f"no usable image in {folder} ({len(paths)} files looked at)")
    return np.stack(images)


def load_folder(folder, size: int, cache_dir=None, progress: bool = True) -> ImageSet:
    """All decodable images under ``folder`` at ``size`` px, through the cache.

    The cache file is keyed by the folder's file list (names, sizes, mtimes) and the size; it is
    checked on load (a truncated or foreign file is rebuilt) and written atomically under a
    private temporary name, so concurrent builders never see each other's partial files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    paths = _files(folder)
    h = hashlib.sha1(f"{size}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache = cache_dir / f"{folder.resolve().name}-{size}px-{h.hexdigest()[:16]}.npy"
    fp = fingerprint(folder, paths)
    arr = _read_cache(cache, size)
    if arr is not None:
        return ImageSet(str(folder), arr, fingerprint=fp)
    arr = _decode_all(folder, paths, size, progress)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with files.atomic_path(cache) as tmp, open(tmp, "wb") as f:
            np.save(f, arr)
    except Exception as e:  # noqa: BLE001 — a cache is an optimisation: warn and go on
        print(f"warning: could not write the image cache {cache}: {e}", file=sys.stderr)
    return ImageSet(str(folder), arr, fingerprint=fp)


def load(spec: str, size: int, cache_dir=None, progress: bool = True) -> ImageSet:
    """A built-in set by name, or a folder path."""
    if size not in SIZES:
        raise DataError(f"--size must be one of {', '.join(map(str, SIZES))}, got {size}")
    if spec == "digits":
        return digits(size)
    if spec == "stacked-digits":
        return stacked_digits(size)
    if not Path(spec).exists():
        raise DataError(f"unknown data {spec!r}: not a folder, nor one of {', '.join(BUILTIN)}")
    return load_folder(spec, size, cache_dir, progress)
