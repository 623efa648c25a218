"""toygan's Python API: every command as a function for notebooks and scripts.

    import toygan
    run = toygan.train_run(loss="wgan-gp", steps=2000)      # python -m toygan.train --loss ...
    run                                                      # in Jupyter: final frame + metrics
    toygan.animate_runs(loss="bce,wgan-gp")                  # the GIF plays in the cell
    toygan.run_study(quick=True)                             # table + figures
    toygan.open_page(run)                                    # the page in an iframe

Each command's module holds the library function the command line is an adapter of
(``toygan.train.run``, ``toygan.animate.run``, ...): it takes the config fields the user gave,
or the config dataclass, and the command's own options (``out``, ``resume``, ...). The functions
here take the same fields as keyword arguments with the names of the dataclass fields and flags
(``lr_d=2e-4`` is ``--lr-d 2e-4``; ``mbstd=True`` is ``--mbstd``; a list is a comma list), or
``config=`` a config dataclass; the fields are converted and range-checked as the flags are
(``toygan.config.keyword_fields``), so the ranges, the defaults, the presets and the one-line
messages are the command's: a mistake raises :class:`toygan.UserError` (never ``SystemExit``), a
diverged run :class:`toygan.Diverged`. Results are objects (``toygan.results``) that display
themselves inline; ``os.fspath(result)`` is the file or folder they live in. ``threads=N`` sets
torch's CPU threads as ``--threads`` does.
"""

from __future__ import annotations

import dataclasses
import os
import threading

from toygan.config import keyword_fields, passed_options
from toygan.errors import UsageError, UserError
from toygan.results import Animation, Checked, Document, Figure, Figures, LivePage, Page, Run, Study


def option_fields(prog: str, classes, options: dict, config=None, only=None) -> list[dict]:
    """Per config class, the fields among ``options`` (and ``config``'s, under them), checked;
    an option that names no field of any class is a one-line error."""
    options = {**passed_options(config), **options}
    names = {f.name for cls in classes for f in dataclasses.fields(cls)
             if only is None or f.name in only}
    unknown = [k for k in options if k not in names]
    if unknown:
        raise UsageError(f"python -m {prog}: error: unknown option {unknown[0]}=; options: "
                         f"{', '.join(sorted(names))}")
    return [keyword_fields(cls, options, only) for cls in classes]


def switch(name: str, value) -> bool:
    """A True/False option, refused in one line otherwise."""
    if value is not True and value is not False:
        raise UserError(f"{name}= takes True or False, got {value!r}")
    return value


def command_argv(options: dict, positional=()) -> list[str]:
    """The command line equivalent to ``options`` (for the record a study keeps in study.json;
    nothing parses it)."""
    argv = [os.fspath(p) if isinstance(p, os.PathLike) else str(p) for p in positional]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, list | tuple):
            argv += [flag, ",".join(map(str, value))]
        else:
            argv += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return argv


def checked_threads(threads) -> int | None:
    """``threads=`` checked as ``--threads`` is (None: the command's own choice)."""
    from toygan.threads import MAX_THREADS

    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or \
            not 1 <= threads <= MAX_THREADS:
        raise UserError(f"--threads: must be an integer from 1 to {MAX_THREADS}, "
                        f"got {threads!r}")
    return threads


def set_threads(threads) -> None:
    """Torch's CPU threads as ``--threads`` sets them."""
    from toygan import threads as torch_threads

    torch_threads.apply(checked_threads(threads))


def train_run(config=None, *, out=None, resume=None, overwrite: bool = False,
              quiet: bool = False, threads: int | None = None, **options) -> Run:
    """Train one 2D GAN (``python -m toygan.train``); returns the :class:`Run`."""
    from toygan import train

    (typed,) = option_fields("toygan.train", [train.TrainConfig], options, config)
    set_threads(threads)
    path, _ = train.run(typed, out=out, resume=resume, overwrite=switch("overwrite", overwrite),
                        quiet=switch("quiet", quiet))
    return Run(path)


def load_run(path) -> Run:
    """A run folder written earlier (``toygan.train``, ``--keep-run``, a study's runs/...)."""
    return Run(path)


def run_paths(runs) -> list[str]:
    """Runs passed as ``f(run1, run2)`` or ``f([run1, run2])`` (Run objects or folders)."""
    if len(runs) == 1 and isinstance(runs[0], list | tuple):
        runs = runs[0]
    return [os.fspath(r) for r in runs]


def animate_runs(*runs, config=None, loss: str | list = "bce", out=None, overwrite: bool = False,
                 keep_run=None, quiet: bool = False, threads: int | None = None,
                 **options) -> Animation:
    """Train and animate (``python -m toygan.animate``: ``loss="bce,wgan-gp"`` side by side), or
    render existing ``runs`` (Run objects or folders); returns the GIF as :class:`Animation`."""
    from toygan import animate

    runs = run_paths(runs) or None
    drawing = [f.name for f in dataclasses.fields(animate.AnimateConfig)]
    typed, look = option_fields("toygan.animate", [animate.TrainConfig, animate.AnimateConfig],
                                options, config, only=(*animate.TRAIN_FLAGS, *drawing))
    loss = ",".join(loss) if isinstance(loss, list | tuple) else loss
    set_threads(threads)
    result, _ = animate.run(loss, typed, animate.AnimateConfig(**look), runs=runs, out=out,
                            overwrite=switch("overwrite", overwrite), keep_run=keep_run,
                            quiet=switch("quiet", quiet))
    return Animation(result["written"][0])


def run_study(*, config=None, out="runs/compare", resume: bool = False, overwrite: bool = False,
              quiet: bool = False, threads: int | None = None, **options) -> Study:
    """A mode-collapse study (``python -m toygan.compare``); returns the :class:`Study`."""
    from toygan import compare
    from toygan.cluster import ClusterConfig

    typed, cluster = option_fields("toygan.compare", [compare.StudyConfig, ClusterConfig],
                                   options, config)
    set_threads(threads)
    argv = command_argv({**options, "out": out, "resume": resume, "overwrite": overwrite})
    return Study(compare.run(typed, ClusterConfig(**cluster), out=out,
                             resume=switch("resume", resume),
                             overwrite=switch("overwrite", overwrite),
                             quiet=switch("quiet", quiet), argv=argv))


def open_page(*runs, config=None, live: bool = False, out="view.html", overwrite: bool = False,
              threads: int | None = None, **options):
    """``python -m toygan.view``: recorded ``runs`` as a self-contained page (:class:`Page`,
    written to ``out``), or ``live=True`` — the live trainer's server started in a background
    thread of this process (:class:`LivePage`; ``port=0`` picks a free port; ``.stop()``)."""
    from toygan import view

    (given,) = option_fields("toygan.view", [view.ViewConfig], options, config)
    vc = view.ViewConfig(**given)
    if switch("live", live):
        if runs:
            raise UsageError("python -m toygan.view: error: live=True trains in the page: give "
                             "no runs")
        from toygan.liveserver import serve

        server, session = serve(vc.port, checked_threads(threads))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return LivePage(server, session, thread)
    set_threads(threads)
    return Page(view.run(run_paths(runs), vc, out=out,
                         overwrite=switch("overwrite", overwrite)))


def gradient_norms(*, config=None, out="figures/gradnorm.png", overwrite: bool = False,
                   quiet: bool = False, formats="png", threads: int | None = None,
                   **options) -> Figure:
    """WGAN-GP's Figure 1(b), critic gradient norms under weight clipping and the gradient
    penalty (``python -m toygan.gradnorm``); returns the plot, its numbers in ``.data``."""
    from toygan import gradnorm

    (given,) = option_fields("toygan.gradnorm", [gradnorm.GradNormConfig], options, config)
    set_threads(threads)
    written = gradnorm.run(gradnorm.GradNormConfig(**given), out=out,
                           overwrite=switch("overwrite", overwrite), quiet=switch("quiet", quiet),
                           formats=",".join(formats) if isinstance(formats, list | tuple)
                           else formats)
    return Figure(written[0])


def critic_surfaces(*, config=None, out="figures/surfaces.png", overwrite: bool = False,
                    quiet: bool = False, threads: int | None = None, **options) -> Figure:
    """WGAN-GP's Figure 1(a), the critics' value surfaces (``python -m toygan.surfaces``);
    returns the plot (its arrays in the .npz beside it)."""
    from toygan import surfaces

    (given,) = option_fields("toygan.surfaces", [surfaces.SurfacesConfig], options, config)
    set_threads(threads)
    return Figure(surfaces.run(surfaces.SurfacesConfig(**given), out=out,
                               overwrite=switch("overwrite", overwrite),
                               quiet=switch("quiet", quiet)))


def concept_figures(*, config=None, out="figures/concepts", overwrite: bool = False,
                    threads: int | None = None, **options) -> Figures:
    """The concepts a GAN course quizzes on, computed and drawn (``python -m toygan.concepts``);
    returns the folder's figures and their numbers."""
    from toygan import concepts

    (given,) = option_fields("toygan.concepts", [concepts.ConceptsConfig], options, config)
    set_threads(threads)
    return Figures(concepts.run(concepts.ConceptsConfig(**given), out=out,
                                overwrite=switch("overwrite", overwrite)), "concepts.json")


def reproduce_table(name: str, *, config=None, out=None, resume: bool = False,
                    overwrite: bool = False, quiet: bool = False, threads: int | None = None,
                    **options) -> Study:
    """A published toy table reproduced beside the paper's numbers
    (``python -m toygan.reproduce NAME``); returns the :class:`Study` (its ``table`` is
    table.md)."""
    from toygan import reproduce
    from toygan.cluster import ClusterConfig

    given, cluster = option_fields("toygan.reproduce", [reproduce.ReproduceConfig, ClusterConfig],
                                   options, config)
    set_threads(threads)
    argv = command_argv({**options, "out": out, "resume": resume, "overwrite": overwrite},
                        positional=[name])
    return Study(reproduce.run(name, reproduce.ReproduceConfig(**given), ClusterConfig(**cluster),
                               out=out, resume=switch("resume", resume),
                               overwrite=switch("overwrite", overwrite),
                               quiet=switch("quiet", quiet), argv=argv))


def recount_study(folder, *, config=None, **options) -> Document:
    """A study's last evaluations re-counted under each coverage rule
    (``python -m toygan.recount FOLDER``); returns recount.md."""
    from toygan import recount

    (given,) = option_fields("toygan.recount", [recount.RecountConfig], options, config)
    path = recount.run(os.fspath(folder), recount.RecountConfig(**given))
    return Document(path.read_text(), path)


def check_loss(function, objective: str, *, generator: bool = False, critic=None) -> Checked:
    """``python -m toygan.check``: does ``function`` (a callable, or ``MODULE:FUNCTION``) compute
    ``objective``'s critic loss — or, with ``generator=True``, its generator loss — as this lab
    does? ``critic``: a factory of the user's critic, checked too. Returns the checks."""
    from toygan import check

    return Checked(check.run(function, objective, switch("generator", generator), critic))


def export_tensorboard(*runs) -> list:
    """Each run's records as TensorBoard event files (``python -m toygan.tensorboard``);
    returns the folders written."""
    from toygan import tensorboard

    return tensorboard.run(run_paths(runs))


def train_lessons(*, config=None, **options) -> list:
    """The live page's lesson checkpoints (``python -m toygan.lessons``); returns their
    paths."""
    from toygan import lessons

    (given,) = option_fields("toygan.lessons", [lessons.LessonsConfig], options, config)
    return lessons.run(lessons.LessonsConfig(**given))
