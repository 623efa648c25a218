"""Run records as TensorBoard event files: ``python -m toygan.tensorboard RUN [RUN ...]``.

    python -m toygan.tensorboard runs/img-study/runs/*    # then: tensorboard --logdir runs
    %tensorboard --logdir runs                            # in Jupyter / Colab

Reads what training wrote — ``stats.jsonl`` (every numeric field of every record: losses, modes
covered, high-quality share, image metrics of both generators, gradient norms, images/s) and, for
image runs, the sample grids ``samples/step_NNNNNN.png`` — and writes them under
``RUN/tensorboard/`` at their training steps, one TensorBoard run per run folder (its name in the
dashboard is the folder's). Exporting again replaces the earlier events, so the files always
equal the records. ``--tensorboard`` on ``toygan.train`` and ``imagegan.train`` calls this at
every checkpoint and at the end. Needs the optional ``tensorboard`` package
(``pip install -e ".[tensorboard]"``); without it, one line says so.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from toygan import files, pictures
from toygan.cli import Parser, run_main
from toygan.errors import UserError

FOLDER = "tensorboard"
SKIP = ("step", "epoch")  # the x axis, not curves


def writer_class():
    """TensorBoard's ``SummaryWriter``; a one-line :class:`UserError` when the optional package is
    missing (trainers call this before any folder is made)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError("TensorBoard export needs the tensorboard package: pip install "
                        "tensorboard (or pip install -e \".[tensorboard]\")") from None
    return SummaryWriter


def scalars(records: list[dict]) -> list[tuple[str, int, float]]:
    """(tag, step, value) of every finite numeric field of every record, in record order."""
    out = []
    for rec in records:
        step = rec.get("step")
        if not isinstance(step, int):
            continue
        for key, value in rec.items():
            if key in SKIP or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if math.isfinite(value):
                out.append((key, step, float(value)))
    return out


def export(run_dir) -> Path:
    """Write ``run_dir``'s records as events under ``run_dir/tensorboard``; returns that folder."""
    run_dir = Path(run_dir)
    stats = run_dir / "stats.jsonl"
    if not stats.exists():
        raise UserError(f"{run_dir} is not a run folder (no stats.jsonl)")
    summary_writer = writer_class()
    out = run_dir / FOLDER
    if out.exists():
        shutil.rmtree(out)
    writer = summary_writer(log_dir=str(out))
    try:
        for tag, step, value in scalars(files.read_jsonl(stats)):
            writer.add_scalar(tag, value, step)
        for png in sorted((run_dir / "samples").glob("step_*.png")):
            writer.add_image("samples", pictures.read_png(png), int(png.stem[5:]),
                             dataformats="HWC")
    finally:
        writer.close()
    return out


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.tensorboard", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run folders (toygan.train, imagegan.train, studies' "
                                           "runs/*)")
    return p


def run(runs) -> list[Path]:
    """``python -m toygan.tensorboard RUN...``: each run's records as TensorBoard event files;
    returns the folders written."""
    writer_class()  # one line before anything is read
    return [export(r) for r in runs]


def main(argv=None) -> int:
    for path in run(build_parser().parse_args(argv).runs):
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main)
