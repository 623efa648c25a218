"""imagegan: the lab's losses on DCGAN-style image models. Commands: ``python -m imagegan.MODULE
--help``; Python API: the functions below (``imagegan.api``), whose results display themselves
in Jupyter and Colab."""

import sys

from toygan.errors import DataError, Diverged, UsageError, UserError

if sys.argv[:1] == ["-m"]:  # run as `python -m imagegan.MODULE`: Ctrl-C exits with status 130
    from toygan.cli import install_sigint

    install_sigint()

API = ("train_run", "load_run", "sample_images", "evaluate_run", "gradient_norms", "run_study",
       "write_report", "calibrate_verdict")
__all__ = [*API, "UserError", "UsageError", "DataError", "Diverged"]


def __getattr__(name):  # the API is imported on first use: `import imagegan` stays light
    if name in API:
        from imagegan import api

        return getattr(api, name)
    raise AttributeError(f"module 'imagegan' has no attribute {name!r}")
