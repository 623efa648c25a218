"""toygan's Python API: every command as a function for notebooks and scripts.

    import toygan
    run = toygan.train_run(loss="wgan-gp", steps=2000)      # python -m toygan.train --loss ...
    run                                                      # in Jupyter: final frame + metrics
    toygan.animate_runs(loss="bce,wgan-gp")                  # the GIF plays in the cell
    toygan.run_study(quick=True)                             # table + figures
    toygan.open_page(run)                                    # the page in an iframe

Each function takes its command's options as keyword arguments with the same names as the
config dataclass fields and flags (``lr_d=2e-4`` is ``--lr-d 2e-4``; ``mbstd=True`` is
``--mbstd``; a list is a comma list), or ``config=`` a config dataclass. The keyword arguments
go through the command's own parser, so the ranges, the defaults, the presets and the one-line
messages are exactly the command's: a mistake raises :class:`toygan.UserError` (never
``SystemExit``), a diverged run :class:`toygan.Diverged`. Results are objects (``toygan.results``)
that display themselves inline; ``os.fspath(result)`` is the file or folder they live in.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import threading

from toygan.errors import UsageError
from toygan.results import Animation, LivePage, Page, Run, Study


def _text(value) -> str:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value) if isinstance(value, float) else str(value)


def argv_for(parser: argparse.ArgumentParser, options: dict, positional=()) -> list[str]:
    """The command line that asks ``parser`` for ``options`` (keyword name -> value)."""
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}
    argv = [_text(p) for p in positional]
    for name, value in options.items():
        action = actions.get(name)
        if action is None:
            raise UsageError(f"{parser.prog}: error: unknown option {name}=; options: "
                             f"{', '.join(sorted(actions))}")
        if value is None:
            continue  # not set: the command's default
        opt = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(opt if value else "--no-" + opt[2:])
        elif action.nargs == 0:  # store_true
            if value is not True and value is not False:
                raise UsageError(f"{parser.prog}: error: {name}= takes True or False, "
                                 f"got {value!r}")
            argv += [opt] if value else []
        elif isinstance(action.nargs, int):
            argv += [opt, *map(_text, value)]
        elif isinstance(value, list | tuple):
            argv += [opt, ",".join(map(_text, value))]
        else:
            argv += [opt, _text(value)]
    return argv


def config_options(config) -> dict:
    """The fields of a config dataclass that differ from its defaults (what a user would type)."""
    if config is None:
        return {}
    if not dataclasses.is_dataclass(config):
        raise UsageError(f"config= takes a config dataclass, got {type(config).__name__}")
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if getattr(config, f.name) != f.default}


def parse(module: str, options: dict, positional=(), config=None):
    """(module, parsed namespace, argv) of ``python -m MODULE`` asked for ``options``."""
    mod = importlib.import_module(module)
    parser = mod.build_parser()
    argv = argv_for(parser, {**config_options(config), **options}, positional)
    return mod, parser.parse_args(argv), argv


def train_run(config=None, **options) -> Run:
    """Train one 2D GAN (``python -m toygan.train``); returns the :class:`Run`."""
    mod, ns, _ = parse("toygan.train", options, config=config)
    out, _ = mod.execute(ns)
    return Run(out)


def load_run(path) -> Run:
    """A run folder written earlier (``toygan.train``, ``--keep-run``, a study's runs/...)."""
    return Run(path)


def animate_runs(runs=None, **options) -> Animation:
    """Train and animate (``python -m toygan.animate``: ``loss="bce,wgan-gp"`` side by side), or
    render existing ``runs`` (Run objects or folders); returns the GIF as :class:`Animation`."""
    if runs is not None:
        runs = [runs] if isinstance(runs, str | os.PathLike) else list(runs)
        options = {**options, "run": runs}
    mod, ns, _ = parse("toygan.animate", options)
    result, _ = mod.execute(ns)
    return Animation(result["written"][0])


def run_study(**options) -> Study:
    """A mode-collapse study (``python -m toygan.compare``); returns the :class:`Study`."""
    mod, ns, argv = parse("toygan.compare", options)
    return Study(mod.execute(ns, argv))


def open_page(*runs, live: bool = False, **options):
    """``python -m toygan.view``: recorded ``runs`` as a self-contained page (:class:`Page`,
    written to ``out``), or ``live=True`` — the live trainer's server started in a background
    thread of this process (:class:`LivePage`; ``port=0`` picks a free port; ``.stop()``)."""
    from toygan import view

    if live:
        if runs:
            raise UsageError("python -m toygan.view: error: live=True trains in the page: give "
                             "no runs")
        _, ns, _ = parse("toygan.view", {**options, "live": True})
        from toygan.config import build, given

        server, session = view.serve(build(view.ViewConfig, given(ns, view.ViewConfig)).port)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return LivePage(server, session, thread)
    mod, ns, _ = parse("toygan.view", options, positional=runs)
    return Page(mod.execute(ns))
