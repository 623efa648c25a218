"""imagegan's Python API: every command as a function for notebooks and scripts.

    import imagegan
    run = imagegan.train_run(loss="wgan-gp", steps=500)   # python -m imagegan.train --loss ...
    run                                                    # verdict, metrics and the grid inline
    imagegan.sample_images(run, n=1000)                    # RUN/generated/1.jpg ... + grid
    imagegan.evaluate_run(run)                             # a table
    imagegan.gradient_norms(steps=200)                     # clipping vs penalty, per layer
    imagegan.run_study(quick=True)                         # table, curves, grids
    imagegan.write_report(run, study="runs/imagegan-compare")

Keyword arguments are the command's flags by their field names, checked by the command's own
parser (``toygan.api``): same defaults, ranges and one-line messages, raised as
:class:`toygan.UserError`. Runs are single-process here (``torchrun`` is a command-line matter).
"""

from __future__ import annotations

import os

from imagegan.results import Evaluation, ImageRun
from toygan.api import parse
from toygan.results import Figure, Grid, Report, Study


def train_run(config=None, **options) -> ImageRun:
    """Train (or ``resume=RUN``) an image GAN (``python -m imagegan.train``); returns the run."""
    mod, ns, _ = parse("imagegan.train", options, config=config)
    out, _ = mod.execute(ns)
    return ImageRun(out)


def load_run(path) -> ImageRun:
    return ImageRun(path)


def sample_images(run, **options) -> Grid:
    """Write ``n`` images of a run (``python -m imagegan.sample``: RUN/generated/1.jpg ... and
    grid.png); returns the :class:`Grid` with ``images`` the JPEG paths."""
    mod, ns, _ = parse("imagegan.sample", options, positional=[run])
    out, n = mod.execute(ns)
    return Grid(out / "grid.png", [out / f"{i}.jpg" for i in range(1, n + 1)])


def evaluate_run(run, **options) -> Evaluation:
    """Evaluate a run's generator (``python -m imagegan.evaluate``); returns the numbers."""
    mod, ns, _ = parse("imagegan.evaluate", options, positional=[run])
    return Evaluation(mod.execute(ns), os.path.join(os.fspath(run), "eval.json"))


def gradient_norms(**options) -> Figure:
    """Per-layer critic gradient norms, weight clipping vs gradient penalty
    (``python -m imagegan.gradnorm``); returns the plot, its numbers in ``.data``."""
    mod, ns, _ = parse("imagegan.gradnorm", options)
    return Figure(mod.execute(ns))


def run_study(**options) -> Study:
    """The image collapse study (``python -m imagegan.compare``); returns the :class:`Study`."""
    mod, ns, argv = parse("imagegan.compare", options)
    return Study(mod.execute(ns, argv))


def write_report(*runs, **options) -> Report:
    """The homework report of ``runs`` (``python -m imagegan.report``); returns the
    :class:`Report`."""
    mod, ns, _ = parse("imagegan.report", options, positional=runs)
    return Report(mod.execute(ns))
