"""Write generated images from a run's EMA generator: 1.jpg ... N.jpg and a grid.

    python -m imagegan.sample RUN_DIR --n 1000 --out submission/

The homework's submission format: ``--n`` individual JPEGs named ``1.jpg`` to ``N.jpg`` plus
``grid.png`` (the first 64 in an 8x8 grid). Existing files are not replaced without
``--overwrite``. ``--seed`` fixes the latent vectors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from imagegan import data as imdata
from imagegan.models import Generator
from imagegan.train import grid_image, load_checkpoint
from toygan.cli import Parser, UserError, run_main


def generator_from_run(run_dir) -> tuple[Generator, dict]:
    ckpt = load_checkpoint(Path(run_dir))
    cfg = ckpt["config"]
    G = Generator(cfg["size"], cfg["width"], cfg["z_dim"])
    try:
        G.load_state_dict(ckpt["G_ema"])
    except RuntimeError as e:
        raise UserError(f"checkpoint does not fit its own config: {str(e).splitlines()[0]}"
                        ) from None
    return G.eval(), cfg


@torch.no_grad()
def generate(G: Generator, n: int, seed: int = 0, batch: int = 250) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), G.z_dim, generator=g)
        out.append(imdata.to_uint8(G(z)))
    return np.concatenate(out)


def main(argv=None) -> int:
    p = Parser(prog="python -m imagegan.sample", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run folder with checkpoint.pt")
    p.add_argument("--n", type=int, default=1000, help="number of images (default 1000)")
    p.add_argument("--out", default=None, help="output folder (default RUN/generated)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    args = p.parse_args(argv)
    if args.n < 1:
        raise UserError(f"--n must be >= 1, got {args.n}")
    out = Path(args.out or Path(args.run) / "generated")
    G, _ = generator_from_run(args.run)
    if out.exists() and not args.overwrite and any(
            (out / name).exists() for name in ("1.jpg", "grid.png")):
        raise UserError(f"{out} already holds generated images; pass --overwrite")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}") from None
    from PIL import Image

    images = generate(G, args.n, args.seed)
    for i, im in enumerate(images, start=1):
        Image.fromarray(im).save(out / f"{i}.jpg", quality=args.quality)
    Image.fromarray(grid_image(images[:64])).save(out / "grid.png")
    print(f"{out}: {args.n} images (1.jpg ... {args.n}.jpg) and grid.png", file=sys.stdout)
    return 0


if __name__ == "__main__":
    run_main(main)
