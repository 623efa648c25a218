"""Pictures the lab writes: matplotlib figures drawn off-screen and saved atomically, and looping
GIFs with one steady palette (through :func:`toygan.files.atomic_path`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from toygan.files import atomic_path, open_for_write


def use_agg() -> None:
    """Draw figures off-screen with Agg — except inside a Jupyter kernel, whose inline backend
    also draws with Agg and must stay selected for the user's own plots (our figures are closed
    as soon as they are saved, so none shows up in a cell by accident)."""
    if "ipykernel" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def save_figure(fig, path, dpi: int = 100) -> Path:
    """A matplotlib figure written atomically (format from the suffix), then closed."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix[1:].lower())
    plt.close(fig)
    return path


def save_gif(path, images: list[np.ndarray], fps: float) -> None:
    """A looping GIF with one shared 128-colour palette and no dithering.

    Dithering smooth heat maps makes every frame noisy and the file several times larger; a
    shared palette (taken from the first, middle and last frames) keeps colours steady.
    """
    from PIL import Image

    pick = [images[0], images[len(images) // 2], images[-1]]
    palette_src = Image.fromarray(np.concatenate(pick, axis=0)).quantize(
        128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    frames = [Image.fromarray(im).quantize(palette=palette_src, dither=Image.Dither.NONE)
              for im in images]
    with atomic_path(path) as tmp, open_for_write(tmp) as f:
        frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                       duration=int(round(1000 / fps)), loop=0, optimize=True)


def read_png(path) -> np.ndarray:
    """An image file as an RGB uint8 array (height, width, 3)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))
