"""One way to configure every program: a dataclass per program, its flags built from it.

* :func:`option` declares a field with its help text and its **range** (``gt``/``ge``/``le``,
  ``choices``). The same range is checked when a flag is parsed (``--lr nan`` is one line,
  exit 2, before anything is created) and by :func:`check` for configs built in Python.
* The options every GAN program shares (objective, optimiser, mitigations) are
  :class:`toygan.ganconfig.GANConfig`, built with these helpers.
* :func:`add_config_flags` adds ``--batch-size`` for ``batch_size`` (defaults suppressed, so only
  what the user typed overrides a preset), :func:`given` reads back what was typed and
  :func:`build` layers dataclass defaults, then a preset, then the typed flags.

A field left at ``None`` means "not set": a preset (where the program has one) fills it, then
the objective. Nothing is ever filled with ``x or default``: a user's 0 is a 0, and is checked.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import types
import typing
from dataclasses import field

from toygan.errors import UserError

BIG = 10**9  # the upper bound of counts: beyond it a run could not finish anyway


def option(default, help: str, *, gt=None, ge=None, le=None, lt=None, choices=None):
    """A dataclass field with help text and a range (``gt`` > , ``ge`` >=, ``le`` <=, ``lt`` <)."""
    meta = {"help": help, "gt": gt, "ge": ge, "le": le, "lt": lt, "choices": choices}
    return field(default=default, metadata=meta)


def range_error(value, meta: dict) -> str | None:
    """Why ``value`` is outside the field's range (a short phrase), or None."""
    choices = meta.get("choices")
    if choices is not None:
        names = list(choices() if callable(choices) else choices)
        return None if value in names else f"must be one of {', '.join(map(str, names))}, " \
                                            f"got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    for key, ok, word in (("gt", lambda v, b: v > b, ">"), ("ge", lambda v, b: v >= b, ">="),
                          ("lt", lambda v, b: v < b, "<"), ("le", lambda v, b: v <= b, "<=")):
        bound = meta.get(key)
        if bound is not None and not ok(value, bound):
            return f"must be {word} {bound:g}, got {value:g}"
    return None


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check(cfg) -> None:
    """Raise a one-line :class:`UserError` naming the first field of ``cfg`` out of its range."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if value is None:
            continue
        for v in value if isinstance(value, tuple | list) else (value,):
            msg = range_error(v, f.metadata)
            if msg:
                raise UserError(f"{flag(f.name)} {msg}")


# ----------------------------------------------------------------------------- flags


def _kind(tp):
    """(base type, nargs) of a dataclass field type: ``int | None`` -> (int, None)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
    if typing.get_origin(tp) is tuple:
        inner = typing.get_args(tp)
        return inner[0], len(inner)
    return tp, None


def _parser_for(kind, meta):
    """An argparse ``type`` that converts and range-checks one value."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        msg = range_error(value, meta)
        if msg:
            raise argparse.ArgumentTypeError(msg)
        return value

    parse.__name__ = kind.__name__
    parse.kind, parse.meta = kind, meta  # what the option accepts (tests read it)
    return parse


def add_config_flags(parser: argparse.ArgumentParser, cls, only=None, skip=(), help=None):
    """One ``--flag`` per field of dataclass ``cls`` (all, or those in ``only``, minus ``skip``).

    Defaults are suppressed: :func:`given` returns only what the user typed. ``help`` overrides
    a field's help text by name.
    """
    hints = typing.get_type_hints(cls)
    help = help or {}
    for f in dataclasses.fields(cls):
        if f.name in skip or (only is not None and f.name not in only):
            continue
        kind, nargs = _kind(hints[f.name])
        text = help.get(f.name, f.metadata.get("help", ""))
        if f.default is not None and f.default is not dataclasses.MISSING \
                and "(default:" not in text:  # an override may state the command's own default
            text += f" (default: {f.default})"
        kw: dict = {"dest": f.name, "default": argparse.SUPPRESS, "help": text}
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = _parser_for(kind, f.metadata)
            if nargs:
                kw["nargs"] = nargs
            choices = f.metadata.get("choices")
            if choices is not None:
                names = choices() if callable(choices) else choices
                kw["metavar"] = "{" + ",".join(map(str, names)) + "}"
        parser.add_argument(flag(f.name), **kw)


def given(ns: argparse.Namespace, cls) -> dict:
    """The config fields the user typed (flags whose defaults were suppressed)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in vars(ns).items() if k in names}


def remembers_passed(cls):
    """Class decorator (after ``@dataclass``): an instance remembers the fields its caller passed
    (``passed_fields``), so a preset can fill every field the caller left at its default and keep
    the passed ones, even one equal to its default. A copy (``dataclasses.replace``) passes every
    field, so it keeps them all."""
    init = cls.__init__
    names = [f.name for f in dataclasses.fields(cls) if f.init]

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        object.__setattr__(self, "_passed", frozenset(names[:len(args)]) | frozenset(kwargs))

    __init__.__doc__ = init.__doc__
    cls.__init__ = __init__
    cls.passed_fields = property(lambda self: getattr(self, "_passed", frozenset(names)))
    return cls


def build(cls, typed: dict, presets: dict | None = None):
    """Dataclass defaults, then the preset named by ``typed["preset"]`` (or the class's default
    preset), then the typed values; range-checked."""
    base: dict = {}
    if presets is not None:
        name = typed.get("preset", getattr(cls, "preset", None))
        if name not in (None, "none"):
            if name not in presets:
                raise UserError(f"unknown preset {name!r}; choose from {', '.join(presets)}")
            base.update(presets[name])
    base.update(typed)
    try:
        cfg = cls(**base)
    except TypeError as e:
        raise UserError(str(e)) from None
    check(cfg)
    return cfg


# ----------------------------------------------------------------------------- keywords (API)


def _text(flag_: str, value) -> str:
    """A string option's value as typed: a path, a number (``lr=2e-4`` is ``--lr 0.0002``) or
    text."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    raise UserError(f"{flag_}: takes a string, got {value!r}")


def _keyword_value(name: str, value, kind, nargs):
    """``value`` given as ``name=`` converted to what the flag would give, or a one-line error."""
    flag_ = flag(name)
    if nargs:
        if not isinstance(value, list | tuple) or len(value) != nargs:
            raise UserError(f"{flag_}: takes {nargs} values, got {value!r}")
        return tuple(_keyword_value(name, v, kind, None) for v in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise UserError(f"{name}= takes True or False, got {value!r}")
        return value
    if kind is str:
        if isinstance(value, list | tuple):  # a comma list
            return ",".join(_text(flag_, v) for v in value)
        return _text(flag_, value)
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            (kind is int and not isinstance(value, int)):
        raise UserError(f"{flag_}: invalid {kind.__name__} value: {value!r}")
    return kind(value)


def keyword_fields(cls, options: dict, only=None) -> dict:
    """The keyword arguments that name fields of ``cls`` (all, or those in ``only``), converted
    and range-checked as their flags are on the command line — what :func:`given` returns for
    the same flags typed. ``None`` means not given; a list or tuple for a comma-list field is
    joined; a one-line :class:`UserError` for a wrong type or a value out of range."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        if f.name not in options or (only is not None and f.name not in only):
            continue
        value = options[f.name]
        if value is None:
            continue
        kind, nargs = _kind(hints[f.name])
        value = _keyword_value(f.name, value, kind, nargs)
        for v in value if nargs else (value,):
            msg = range_error(v, f.metadata)
            if msg:
                raise UserError(f"{flag(f.name)}: {msg}")
        out[f.name] = value
    return out


def passed_options(config) -> dict:
    """The fields a config dataclass was given (those its caller passed, when it remembers them;
    else those that differ from the defaults): what a user would have typed."""
    if config is None:
        return {}
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise UserError(f"config= takes a config dataclass, got {type(config).__name__}")
    names = getattr(config, "passed_fields", None)
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if (f.name in names if names is not None else getattr(config, f.name) != f.default)}
