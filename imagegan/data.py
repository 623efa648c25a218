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

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from toygan.data import DataError

BUILTIN = ("digits", "stacked-digits")
SIZES = (32, 64, 128)


@dataclass
class ImageSet:
    name: str
    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray | None = None

    def __len__(self):
        return len(self.images)


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


def digits(size: int) -> ImageSet:
    """scikit-learn's bundled digits, 0..16 scaled to 0..255, upscaled to ``size``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    small = (d.images * (255.0 / 16.0)).round().astype(np.uint8)
    big = np.stack([_resize_gray(im, size) for im in small])
    return ImageSet("digits", np.repeat(big[..., None], 3, axis=3), d.target.astype(np.int64))


def stacked_digits(size: int, n: int = 30_000, seed: int = 0) -> ImageSet:
    """``n`` images whose R, G, B channels are three independently drawn digits (1000 modes)."""
    base = digits(size)
    gray, labels = base.images[..., 0], base.labels
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(gray), size=(n, 3))
    images = np.stack([gray[idx[:, c]] for c in range(3)], axis=-1)
    modes = 100 * labels[idx[:, 0]] + 10 * labels[idx[:, 1]] + labels[idx[:, 2]]
    return ImageSet("stacked-digits", images, modes)


def _load_one(path: Path, size: int) -> np.ndarray:
    """Decode one file to (size, size, 3) uint8, or raise."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
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


def load_folder(folder, size: int, cache_dir=None, progress: bool = True) -> ImageSet:
    """All decodable images under ``folder`` at ``size`` px, through the cache."""
    from tqdm import tqdm

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    files = _files(folder)
    h = hashlib.sha1(f"{size}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache = cache_dir / f"{folder.resolve().name}-{size}px-{h.hexdigest()[:16]}.npy"
    if cache.exists():
        return ImageSet(str(folder), np.load(cache, mmap_mode=None))

    images, bad_image, not_image = [], 0, 0
    for p in tqdm(files, desc=f"caching {folder.name} at {size}px", disable=not progress,
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
        print(f"warning: skipped {bad_image + not_image} of {len(files)} files in {folder} "
              f"({bad_image} unreadable images, {not_image} non-image files)", file=sys.stderr)
    if not images:
        raise DataError(f"no usable image in {folder} ({len(files)} files looked at)")
    arr = np.stack(images)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp.npy")
        np.save(tmp, arr)
        os.replace(tmp, cache)
    except OSError as e:
        print(f"warning: could not write the image cache {cache}: {e.strerror}", file=sys.stderr)
    return ImageSet(str(folder), arr)


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
