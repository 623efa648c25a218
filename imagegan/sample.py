"""Write generated images from a run's EMA generator: 1.jpg ... N.jpg and a grid.

    python -m imagegan.sample RUN_DIR --n 1000 --out submission/
    python -m imagegan.sample RUN_DIR --checkpoint best --out submission/   # the best generator

The homework's submission format: ``--n`` individual JPEGs named ``1.jpg`` to ``N.jpg`` plus
``grid.png`` (the first 64 in an 8x8 grid). A folder that already holds numbered JPEGs or a grid
is refused without ``--overwrite``; with it, every numbered JPEG and the grid there are removed
first, so the folder holds exactly this submission. ``--seed`` fixes the latent vectors.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from imagegan import checkpoint
from imagegan import data as imdata
from imagegan.models import generate
from toygan import files
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import UserError

OURS = re.compile(r"^(\d+\.jpg|grid\.png)$")


@dataclass
class SampleConfig:
    n: int = option(1000, "number of images", ge=1, le=10**6)
    seed: int = option(0, "latent seed", ge=0, le=2**63 - 1)
    quality: int = option(95, "JPEG quality", ge=1, le=100)
    checkpoint: str = option("latest", "which checkpoint: latest or best (--keep-best)",
                             choices=tuple(checkpoint.NAMES))


def prepare_submission(out: Path, overwrite: bool) -> None:
    """An output folder with none of our files in it (removed with ``overwrite``)."""
    ours = [p for p in out.iterdir() if OURS.match(p.name)] if out.is_dir() else []
    if ours and not overwrite:
        raise UserError(f"{out} already holds generated images ({len(ours)} files); pass "
                        "--overwrite to replace them all")
    files.ensure_writable_dir(out)
    for p in ours:
        p.unlink()


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.sample", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="run folder with checkpoint.pt")
    add_config_flags(p, SampleConfig)
    p.add_argument("--out", default=None, help="output folder (default RUN/generated)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier generated images")
    return p


def run(run_dir, sample: SampleConfig | None = None, *, out=None,
        overwrite: bool = False) -> tuple[Path, int]:
    """``python -m imagegan.sample RUN``: write the run's images as ``out``/1.jpg ... and
    grid.png (``out`` default: RUN/generated); returns their folder and count."""
    sc = sample or SampleConfig()
    check(sc)
    out = Path(out or Path(run_dir) / "generated")
    G, _, _ = checkpoint.generator_from_run(run_dir, sc.checkpoint)
    prepare_submission(out, overwrite)
    images = generate(G, sc.n, sc.seed)
    for i, im in enumerate(images, start=1):
        imdata.save_image(out / f"{i}.jpg", im, quality=sc.quality)
    imdata.save_image(out / "grid.png", imdata.grid_image(images[:64]))
    return out, sc.n


def execute(args) -> tuple[Path, int]:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(args.run, build(SampleConfig, given(args, SampleConfig)), out=args.out,
               overwrite=args.overwrite)


def main(argv=None) -> int:
    out, n = execute(build_parser().parse_args(argv))
    print(f"{out}: {n} images (1.jpg ... {n}.jpg) and grid.png", file=sys.stdout)
    return 0


if __name__ == "__main__":
    run_main(main)
