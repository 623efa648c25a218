"""One way to configure every program: a dataclass per program, its flags built from it.

* :func:`option` declares a field with its help text and its **range** (``gt``/``ge``/``le``,
  ``choices``). The same range is checked when a flag is parsed (``--lr nan`` is one line,
  exit 2, before anything is created) and by :func:`check` for configs built in Python.
* :class:`GANConfig` holds the options every GAN program shares — the objective, its optimiser
  settings and the mode-collapse mitigations — and :meth:`GANConfig.resolve_objective` fills
  every ``None`` from the objective's published settings (``toygan.losses.OBJECTIVES``).
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
import types
import typing
from dataclasses import dataclass, field

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


# ----------------------------------------------------------------------------- GAN options


def _objectives():
    from toygan.losses import OBJECTIVES

    return list(OBJECTIVES)


def _bugs():
    from toygan.bugs import BUGS

    return list(BUGS)


UNROLL_MODES = ("second-order", "first-order")


@dataclass
class GANConfig:
    """Options every GAN program shares: the objective, its optimiser, and the mitigations.

    ``None`` means "the objective's published value" (``toygan.losses.OBJECTIVES``), unless a
    preset of the program sets it first.
    """

    loss: str = option("wgan-gp", "objective (toygan.losses)", choices=_objectives)
    optimizer: str | None = option(None, "adam, rmsprop or sgd (default: the objective's)",
                                   choices=("adam", "rmsprop", "sgd"))
    lr: float | None = option(None, "learning rate of both players (default: the objective's)",
                              gt=0, le=10)
    lr_d: float | None = option(None, "critic learning rate (overrides --lr)", gt=0, le=10)
    lr_g: float | None = option(None, "generator learning rate (overrides --lr)", gt=0, le=10)
    betas: tuple[float, float] | None = option(None, "Adam betas (default: the objective's)",
                                               ge=0, lt=1)
    lr_decay: str | None = option(None, "none, or linear: both learning rates fall linearly to 0 "
                                        "at the last step (default: none)",
                                  choices=("none", "linear"))
    n_critic: int | None = option(None, "critic updates per generator update (default: the "
                                        "objective's)", ge=1, le=1000)
    gp_weight: float | None = option(None, "gradient-penalty weight lambda (wgan-gp, dragan)",
                                     ge=0, le=1e6)
    clip: float | None = option(None, "weight-clipping bound c (wgan)", gt=0, le=1e6)
    margin: float | None = option(None, "EBGAN margin m", gt=0, le=1e6)
    pt_weight: float | None = option(None, "EBGAN pull-away weight", ge=0, le=1e6)
    # Mode-collapse mitigations, usable with any objective, on points and on images.
    unroll: int = option(0, "unrolled GAN: critic steps the generator looks ahead through",
                         ge=0, le=100)
    unroll_mode: str = option("second-order", "second-order (the paper: the generator's gradient "
                              "flows through the unrolled critic updates) or first-order "
                              "(cheaper: it does not)", choices=UNROLL_MODES)
    update: str = option("alternating", "alternating: n_critic critic steps, then the "
                         "generator's against the updated critic; simultaneous: both players' "
                         "gradients from the same weights and batch, then both step (the "
                         "Unrolled-GAN, VEEGAN and PacGAN authors' code; n_critic 1)",
                         choices=("alternating", "simultaneous"))
    pack: int = option(1, "PacGAN packing: the critic sees this many samples concatenated",
                       ge=1, le=64)
    mbstd: bool = option(False, "minibatch standard-deviation feature before the critic's "
                                "last layer")
    spectral_norm: bool = option(False, "spectral normalisation of the critic's layers")
    r1_weight: float = option(0.0, "R1: gamma/2 * E||grad D(real)||^2 added to the critic loss",
                              ge=0, le=1e6)
    bug: str = option("none", "train with a classic implementation bug (toygan.bugs) to see its "
                      "symptom", choices=_bugs)
    seed: int = option(0, "random seed: fixes everything", ge=0, le=2**63 - 1)

    def resolve_objective(self):
        """A copy with every unset optimiser setting and hyper-parameter taken from the
        objective, range-checked."""
        from toygan.losses import OBJECTIVES

        check(self)
        obj = OBJECTIVES[self.loss]
        c = dataclasses.replace(self)
        if c.optimizer is None:
            c.optimizer = obj.optimizer
        lr = obj.lr if c.lr is None else c.lr
        c.lr_d = lr if c.lr_d is None else c.lr_d
        c.lr_g = lr if c.lr_g is None else c.lr_g
        c.lr = c.lr_d if c.lr_d == c.lr_g else None
        c.betas = tuple(obj.betas if c.betas is None else c.betas)
        c.lr_decay = "none" if c.lr_decay is None else c.lr_decay
        c.n_critic = obj.n_critic if c.n_critic is None else c.n_critic
        for k in ("gp_weight", "clip", "margin", "pt_weight"):
            if getattr(c, k) is None:
                setattr(c, k, obj.hparams.get(k))
        if c.mbstd and obj.output == "energy":
            raise UserError("--mbstd is not available for ebgan's auto-encoder critic")
        if c.mbstd and c.penalties():
            raise UserError(f"--mbstd with {c.penalties()[0]}: the minibatch-std feature mixes "
                            "the batch into every sample's score, so a per-sample gradient "
                            "penalty through it is not per sample; drop --mbstd or the penalty")
        if c.update == "simultaneous" and c.n_critic != 1:
            raise UserError(f"--update simultaneous takes one critic update per step (the "
                            f"authors' code); {c.loss} has n_critic {c.n_critic}: add "
                            f"--n-critic 1")
        if c.update == "simultaneous" and c.bug == "no-detach":
            raise UserError("--update simultaneous cannot show bug no-detach (the critic's "
                            "gradient never reaches a generator that steps from its own)")
        from toygan.bugs import check_applicable

        why = check_applicable(c.loss, c.bug)
        if why:
            raise UserError(why)
        return c

    def penalties(self) -> list[str]:
        """The per-sample input-gradient penalties this (resolved) config trains with."""
        from toygan.losses import OBJECTIVES

        out = []
        if self.gp_weight and "gp_weight" in OBJECTIVES[self.loss].hparams:  # wgan-gp, dragan
            out.append(f"{self.loss}'s gradient penalty")
        if self.r1_weight:
            out.append("the R1 penalty")
        return out

    def hparams(self) -> dict:
        """The keyword arguments of the objective's loss functions."""
        return {k: getattr(self, k) for k in ("gp_weight", "margin", "pt_weight")
                if getattr(self, k) is not None}

    def objective_note(self) -> str | None:
        """A line telling the user where the resolved settings depart from the objective's
        published ones (for a preset such as toygan's ``toy2d``), or None."""
        from toygan.losses import OBJECTIVES

        obj = OBJECTIVES[self.loss]
        diffs = []
        if self.lr_d != obj.lr or self.lr_g != obj.lr:
            lr = (f"{self.lr_d:g}" if self.lr_d == self.lr_g
                  else f"D {self.lr_d:g} / G {self.lr_g:g}")
            diffs.append(f"lr {lr} (published {obj.lr:g})")
        if self.lr_decay != "none":
            diffs.append(f"{self.lr_decay} lr decay")
        for k in ("gp_weight", "clip", "margin"):
            if k in obj.hparams and getattr(self, k) != obj.hparams[k]:
                diffs.append(f"{k} {getattr(self, k):g} (published {obj.hparams[k]:g})")
        if self.optimizer != obj.optimizer:
            diffs.append(f"optimizer {self.optimizer} (published {obj.optimizer})")
        return ", ".join(diffs) or None
