import importlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cli():
    """Run ``python -m MODULE ARGS`` from the repo root; returns the CompletedProcess."""

    def run(module, *args, timeout=600):
        env = dict(os.environ, PYTHONPATH=ROOT)
        return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, env=env)

    return run


@pytest.fixture
def cli_inproc(capsys):
    """``python -m MODULE ARGS`` run in this process, through the module's ``main`` and
    ``run_main``: the exit status and output a subprocess gives, without an interpreter start
    per case (for tables of one-line errors; each command keeps a subprocess test beside)."""
    from toygan.cli import run_main

    def run(module, *args):
        main = importlib.import_module(module).main
        capsys.readouterr()
        try:
            run_main(main, [str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess([module, *args], code, out, err)

    return run


# Parallel workers (pytest-xdist, `-n auto` in pyproject.toml) share the machine's cores: each
# worker, and every command it starts, trains with one thread, so that two workers on two cores
# do not each spin a second thread on the other's core (toygan.threads, BENCHMARKS.md).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pyproject.toml) tests go to whichever worker is free, except
    that the tests of a module sharing a module-scoped fixture (a trained study, a run) stay on one
    worker, so that the fixture is made once. Slow tests are handed out first, so that none is
    left to run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = any(defs[-1].scope == "module" for name, defs in info.name2fixturedefs.items()
                     if name in item.fixturenames and defs)
        if shared:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
