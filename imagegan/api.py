"""imagegan's Python API: every command as a function for notebooks and scripts.

    import imagegan
    run = imagegan.train_run(loss="wgan-gp", steps=500)   # python -m imagegan.train --loss ...
    run                                                    # verdict, metrics and the grid inline
    imagegan.sample_images(run, n=1000)                    # RUN/generated/1.jpg ... + grid
    imagegan.evaluate_run(run)                             # a table
    imagegan.gradient_norms(steps=200)                     # clipping vs penalty, per layer
    imagegan.run_study(quick=True)                         # table, curves, grids
    imagegan.write_report(run, study="runs/imagegan-compare")

As in ``toygan.api``: each function calls its command's library function (``imagegan.train.run``,
...) with the keyword arguments named like the command's flags, converted and range-checked as
the flags are (same defaults, ranges and one-line messages, raised as :class:`toygan.UserError`).
Runs are single-process here (``torchrun`` is a command-line matter).
"""

from __future__ import annotations

import dataclasses
import os

from imagegan.results import Evaluation, ImageRun
from toygan.api import command_argv, option_fields, run_paths, set_threads, switch
from toygan.results import Document, Figure, Grid, Report, Study


def train_run(config=None, *, out=None, resume=None, overwrite: bool = False,
              quiet: bool = False, threads: int | None = None, **options) -> ImageRun:
    """Train (or ``resume=RUN``) an image GAN (``python -m imagegan.train``); returns the run."""
    from imagegan import train

    (typed,) = option_fields("imagegan.train", [train.TrainConfig], options, config)
    set_threads(threads)
    path, _ = train.run(typed, out=out, resume=resume, overwrite=switch("overwrite", overwrite),
                        quiet=switch("quiet", quiet))
    return ImageRun(path)


def load_run(path) -> ImageRun:
    return ImageRun(path)


def sample_images(run, *, config=None, out=None, overwrite: bool = False,
                  threads: int | None = None, **options) -> Grid:
    """Write ``n`` images of a run (``python -m imagegan.sample``: RUN/generated/1.jpg ... and
    grid.png); returns the :class:`Grid` with ``images`` the JPEG paths."""
    from imagegan import sample

    (given,) = option_fields("imagegan.sample", [sample.SampleConfig], options, config)
    set_threads(threads)
    path, n = sample.run(os.fspath(run), sample.SampleConfig(**given), out=out,
                         overwrite=switch("overwrite", overwrite))
    return Grid(path / "grid.png", [path / f"{i}.jpg" for i in range(1, n + 1)])


def evaluate_run(run, *, config=None, threads: int | None = None, **options) -> Evaluation:
    """Evaluate a run's generator (``python -m imagegan.evaluate``); returns the numbers."""
    from imagegan import evaluate

    (given,) = option_fields("imagegan.evaluate", [evaluate.EvalConfig], options, config)
    set_threads(threads)
    result = evaluate.run(os.fspath(run), evaluate.EvalConfig(**given))
    return Evaluation(result, os.path.join(os.fspath(run), "eval.json"))


def gradient_norms(*, config=None, out="gradnorm.png", overwrite: bool = False, quiet: bool = False,
                   threads: int | None = None, **options) -> Figure:
    """Per-layer critic gradient norms, weight clipping vs gradient penalty
    (``python -m imagegan.gradnorm``); returns the plot, its numbers in ``.data``."""
    from imagegan import gradnorm

    (given,) = option_fields("imagegan.gradnorm", [gradnorm.ImageGradNormConfig], options,
                             config)
    set_threads(threads)
    return Figure(gradnorm.run(gradnorm.ImageGradNormConfig(**given), out=out,
                               overwrite=switch("overwrite", overwrite),
                               quiet=switch("quiet", quiet)))


def run_study(*, config=None, out="runs/imagegan-compare", resume: bool = False,
              overwrite: bool = False, quiet: bool = False, report: bool = False,
              threads: int | None = None, **options) -> Study:
    """The image collapse study (``python -m imagegan.compare``); returns the :class:`Study`."""
    from imagegan import compare
    from toygan.cluster import ClusterConfig

    names = [f.name for cls in (compare.ImageStudyConfig, ClusterConfig)
             for f in dataclasses.fields(cls) if f.name != "runs_per_task"]  # one run per task
    typed, cluster = option_fields("imagegan.compare", [compare.ImageStudyConfig, ClusterConfig],
                                   options, config, only=names)
    set_threads(threads)
    argv = command_argv({**options, "out": out, "resume": resume, "overwrite": overwrite})
    return Study(compare.run(typed, ClusterConfig(**cluster), out=out,
                             resume=switch("resume", resume),
                             overwrite=switch("overwrite", overwrite),
                             quiet=switch("quiet", quiet), report_only=switch("report", report),
                             argv=argv))


def write_report(*runs, config=None, study=None, gradnorm=None, out="report",
                 overwrite: bool = False, **options) -> Report:
    """The homework report of ``runs`` (``python -m imagegan.report``); returns the
    :class:`Report`."""
    from imagegan import report

    (given,) = option_fields("imagegan.report", [report.ReportConfig], options, config)
    return Report(report.run(run_paths(runs), report.ReportConfig(**given), study=study,
                             gradnorm=gradnorm, out=out,
                             overwrite=switch("overwrite", overwrite)))


def calibrate_verdict(*, config=None, out=None, overwrite: bool = False, threads: int | None = None,
                      **options) -> Document:
    """The collapse verdict on constructed sets whose answer is known
    (``python -m imagegan.calibrate``); returns the table (``data``: every set's numbers), also
    written to ``out`` when given."""
    from imagegan import calibrate

    (given,) = option_fields("imagegan.calibrate", [calibrate.CalibrateConfig], options,
                             config)
    set_threads(threads)
    results, text = calibrate.run(calibrate.CalibrateConfig(**given), out=out,
                                  overwrite=switch("overwrite", overwrite))
    return Document(text, None if out is None else os.path.join(os.fspath(out), "calibration.md"),
                    results)
