"""toygan: a 2D GAN lab. Commands: ``python -m toygan.MODULE --help``; Python API: the functions
below (``toygan.api``), whose results display themselves in Jupyter and Colab."""

import sys

from toygan.errors import DataError, Diverged, UsageError, UserError

if sys.argv[:1] == ["-m"]:  # run as `python -m toygan.MODULE`: Ctrl-C exits with status 130
    from toygan.cli import install_sigint

    install_sigint()

API = ("train_run", "load_run", "animate_runs", "run_study", "open_page", "gradient_norms",
       "critic_surfaces", "concept_figures", "reproduce_table", "recount_study", "check_loss",
       "export_tensorboard", "train_lessons")
__all__ = [*API, "UserError", "UsageError", "DataError", "Diverged"]


def __getattr__(name):  # the API is imported on first use: `import toygan` stays light
    if name in API:
        from toygan import api

        return getattr(api, name)
    raise AttributeError(f"module 'toygan' has no attribute {name!r}")
