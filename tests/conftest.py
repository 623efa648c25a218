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


# The session's caches (imagegan's image caches, NDB bins and digit classifier; matplotlib's font
# list) live in one folder made for it, shared by its workers (they inherit the environment) and
# removed after: a run writes nothing into the user's ~/.cache and starts as cold as CI does.
_SESSION_CACHE = None


def pytest_configure(config):
    global _SESSION_CACHE
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        import tempfile

        _SESSION_CACHE = tempfile.mkdtemp(prefix="ganlab-tests-cache-")
        os.environ["XDG_CACHE_HOME"] = _SESSION_CACHE


def pytest_sessionfinish(session):
    browser = sys.modules.get("browser")  # tests/browser.py, when a browser test ran here
    if browser is not None:
        browser.close()


def pytest_unconfigure(config):
    if _SESSION_CACHE is not None:
        import shutil

        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.hookimpl(trylast=True)  # after -m has deselected: only the tests that will run count
def pytest_collection_modifyitems(config, items):
    """Modules with the most slow tests are handed out first (``--dist loadscope`` gives each
    module to one worker, so a module-scoped fixture is made once), so that no long module is
    left to run alone at the end; a module's tests keep their order and stay together."""
    first = {}
    slow: dict = {}
    for i, item in enumerate(items):
        first.setdefault(item.module.__name__, i)
        slow[item.module.__name__] = slow.get(item.module.__name__, 0) + \
            (item.get_closest_marker("slow") is not None)
    items.sort(key=lambda item: (-slow[item.module.__name__], first[item.module.__name__]))


def pytest_terminal_summary(terminalreporter, config):
    """Say, after the default run, that the long checks were left out and how to run them."""
    if config.option.markexpr == "not long":  # pyproject's default (workers do the deselecting)
        terminalreporter.write_line(
            "the long checks (published behaviours trained in full, whole studies, every "
            "benchmark, figures/make.py and the notebooks) were not run: python -m pytest -m long "
            "runs them; CI runs both")
