"""Command-line plumbing shared by every entry point.

* :class:`Parser` prints a user mistake as one line ``prog: error: ...`` and exits with status 2.
* :func:`add_config_flags` turns a config dataclass into flags (``--batch-size`` for
  ``batch_size``) whose defaults are *suppressed*, so only the flags a user typed override a
  preset or the dataclass defaults.
* :func:`run_main` runs a ``main`` so that :class:`UserError` (and data errors) become one line on
  stderr and exit status 2, a diverged run exits with status 1, and Ctrl-C exits quietly.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


class Diverged(Exception):
    """Training produced a NaN/Inf loss: printed as one line, exit status 1."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _flag_type(tp):
    """argparse settings for a dataclass field type (``int | None`` -> int, tuple -> nargs)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = args[0]
    if tp is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(tp) is tuple:
        inner = typing.get_args(tp)
        return {"type": inner[0], "nargs": len(inner)}
    return {"type": tp}


def add_config_flags(parser: argparse.ArgumentParser, cls, skip=(), choices=None):
    """One ``--flag`` per field of dataclass ``cls`` (help from ``field(metadata={"help"})``)."""
    hints = typing.get_type_hints(cls)
    choices = choices or {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kw = _flag_type(hints[f.name])
        if f.name in choices:
            kw["choices"] = choices[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = f.metadata.get("help", "")
        help_text += f" (default: {default})" if default is not None else ""
        parser.add_argument(
            "--" + f.name.replace("_", "-"), dest=f.name, default=argparse.SUPPRESS,
            help=help_text, **kw,
        )


def given(ns: argparse.Namespace, cls) -> dict:
    """The config fields the user typed (flags whose defaults were suppressed)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in vars(ns).items() if k in names}


def output_path(path, suffix: str):
    """``path`` as a Path, checked to end in ``suffix``, its folder created; else a UserError."""
    from pathlib import Path

    out = Path(path)
    if out.suffix.lower() != suffix:
        raise UserError(f"--out must end in {suffix}, got {out.name}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out.parent}: {e.strerror}") from None
    return out


def run_main(main, argv=None) -> None:
    """Run ``main(argv)``; turn user mistakes and divergence into one line and an exit status."""
    from toygan.data import DataError  # local: keep cli import-light

    try:
        code = main(argv)
    except (UserError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
