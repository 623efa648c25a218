"""Command-line plumbing shared by every entry point of both packages.

* :class:`Parser` raises a user mistake as :class:`~toygan.errors.UsageError` (one line,
  ``prog: error: ...``; :func:`run_main` prints it and exits with status 2) and never reads
  ``sys.argv`` itself: ``parse_args()`` with no list parses an empty command line, so a
  command's ``main()`` called in a Jupyter kernel does not see the kernel's ``-f kernel.json``.
* :func:`run_main` runs a ``main`` so that :class:`~toygan.errors.UserError` and
  :class:`~toygan.errors.DataError` become one line on stderr and exit status 2, a diverged run
  (:class:`~toygan.errors.Diverged`) exits with status 1, and Ctrl-C exits with status 130.

Flags come from each program's config dataclass (``toygan.config.add_config_flags``); output
paths are checked by ``toygan.files``.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys

from toygan import threads
from toygan.errors import DataError, Diverged, UsageError, UserError


class Parser(argparse.ArgumentParser):
    """Every command's parser: one-line errors, no ``sys.argv``, and ``--threads`` (parsing a
    command line sets torch's CPU threads: :mod:`toygan.threads`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--threads", type=threads.threads_arg, default=None, metavar="N",
                          help="CPU threads for torch (default: the cores free when the command "
                               "starts, or OMP_NUM_THREADS)")

    def error(self, message):  # one line, no usage dump
        raise UsageError(f"{self.prog}: error: {message}")

    def parse_known_args(self, args=None, namespace=None):
        ns, rest = super().parse_known_args([] if args is None else args, namespace)
        threads.apply(getattr(ns, "threads", None))
        return ns, rest


def add_run_flags(p: argparse.ArgumentParser, out_help: str, resume_help: str) -> None:
    """``--out``, ``--resume``, ``--overwrite`` and ``--quiet`` of a training command."""
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help=resume_help)
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_output_flags(p: argparse.ArgumentParser, default_out: str, out_help: str) -> None:
    """``--out``, ``--overwrite`` and ``--quiet`` of a command that writes a figure."""
    p.add_argument("--out", default=default_out, help=out_help)
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def comma_list(text: str, kind=str, name: str = "value") -> list:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (converted by ``kind``); a UserError on a bad item."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UserError(f"no {name} given")
    try:
        return [kind(t) for t in items]
    except ValueError:
        raise UserError(f"{name} list {text!r} holds a value that is not a "
                        f"{kind.__name__}") from None


_MAIN_RUNNING = False


def _on_sigint(signum, frame):
    if _MAIN_RUNNING:
        raise KeyboardInterrupt  # run_main and the trainers (checkpoint on Ctrl-C) handle it
    print("interrupted", file=sys.stderr)
    sys.exit(128 + signal.SIGINT)  # before main runs (still importing): exit 130, no traceback


def install_sigint() -> None:
    """Make Ctrl-C exit with status 130 (not -2) at any point of a command's life.

    Called by the packages' ``__init__`` only when Python runs one of their modules with ``-m``
    (``sys.argv[0] == "-m"`` while the module is being located), so importing the packages as a
    library (a notebook) leaves Ctrl-C alone.
    """
    signal.signal(signal.SIGINT, _on_sigint)


def run_main(main, argv=None) -> None:
    """Run ``main(argv)`` (``argv`` None: this process's command line); turn user mistakes and
    divergence into one line and an exit status."""
    global _MAIN_RUNNING
    _MAIN_RUNNING = True
    try:
        code = main(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
    except (UserError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)
    finally:
        _MAIN_RUNNING = False
        if argv is None:
            # The process is about to exit: keep the interpreter's last garbage collection from
            # walking every object torch and matplotlib made (seconds once torch._dynamo has been
            # imported, as the first optimiser does; BENCHMARKS.md). Memory is freed all the same.
            gc.freeze()
    sys.exit(code or 0)
