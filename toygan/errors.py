"""The three ways a program of this lab ends early, shared by every command.

* :class:`UserError` — a mistake in what the user asked for (a flag out of range, a folder that
  cannot be written): one line on stderr, exit status 2.
* :class:`UsageError` — a command line argparse rejects (an unknown flag, a value of the wrong
  type): the same one line argparse would print, exit status 2.
* :class:`DataError` — data that cannot be used (an unknown data name, a malformed point file, a
  folder with no image): also one line and exit status 2.

The first three are all :class:`UserError`: the Python API (``toygan.api``) raises them as they
are, so ``except toygan.UserError`` catches every user mistake in a notebook.
* :class:`Diverged` — training produced a NaN/Inf loss: one line, exit status 1.

``toygan.cli.run_main`` turns them into those lines and statuses.
"""


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


class UsageError(UserError):
    """A command line (or the API's keyword arguments) that the argument parser rejects."""


class DataError(UserError, ValueError):
    """A data spec, point file or image folder that cannot be used (a user mistake)."""


class Diverged(Exception):
    """Training produced a NaN/Inf loss: printed as one line, exit status 1."""
