"""The three ways a program of this lab ends early, shared by every command.

* :class:`UserError` — a mistake in what the user asked for (a flag out of range, a folder that
  cannot be written): one line on stderr, exit status 2.
* :class:`DataError` — data that cannot be used (an unknown data name, a malformed point file, a
  folder with no image): also one line and exit status 2.
* :class:`Diverged` — training produced a NaN/Inf loss: one line, exit status 1.

``toygan.cli.run_main`` turns them into those lines and statuses.
"""


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


class DataError(ValueError):
    """A data spec, point file or image folder that cannot be used (a user mistake)."""


class Diverged(Exception):
    """Training produced a NaN/Inf loss: printed as one line, exit status 1."""
