"""The options every GAN program shares — the objective, its optimiser settings, the
mode-collapse mitigations — as one dataclass, :class:`GANConfig`, that ``toygan.train`` and
``imagegan.train`` extend. :meth:`GANConfig.resolve_objective` fills every ``None`` from the
objective's registry entry (``toygan.losses.OBJECTIVES``): its published optimiser, betas,
n_critic and hyper-parameters (``toygan.losses.HPARAMS``: each one's help and range, the flags and
the loss keywords derive from it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from toygan.bugs import BUGS, check_applicable
from toygan.config import check, option
from toygan.errors import UserError
from toygan.losses import HPARAMS, OBJECTIVES


def _objectives():
    return list(OBJECTIVES)


def _bugs():
    return list(BUGS)


def hparam_option(name: str):
    """The config field of an objective hyper-parameter: ``None`` (the objective's value), its
    help naming the objectives that take it, its range from ``HPARAMS``."""
    h = HPARAMS[name]
    users = ", ".join(n for n, o in OBJECTIVES.items() if name in o.hparams)
    return option(None, f"{h.help} ({users})", gt=h.gt, ge=h.ge, le=h.le)


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
    # The objectives' hyper-parameters (toygan.losses.HPARAMS: help, range, loss keyword).
    gp_weight: float | None = hparam_option("gp_weight")
    clip: float | None = hparam_option("clip")
    margin: float | None = hparam_option("margin")
    pt_weight: float | None = hparam_option("pt_weight")
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
        for k in HPARAMS:
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
        why = check_applicable(c.loss, c.bug)
        if why:
            raise UserError(why)
        return c

    def penalties(self) -> list[str]:
        """The per-sample input-gradient penalties this (resolved) config trains with."""
        out = []
        if self.gp_weight and OBJECTIVES[self.loss].penalty is not None:  # wgan-gp, dragan
            out.append(f"{self.loss}'s gradient penalty")
        if self.r1_weight:
            out.append("the R1 penalty")
        return out

    def hparams(self) -> dict:
        """The keyword arguments of the objective's loss functions."""
        return {k: getattr(self, k) for k, h in HPARAMS.items()
                if h.loss_keyword and getattr(self, k) is not None}

    def objective_note(self) -> str | None:
        """A line telling the user where the resolved settings depart from the objective's
        published ones (for a preset such as toygan's ``toy2d``), or None."""
        obj = OBJECTIVES[self.loss]
        diffs = []
        if self.lr_d != obj.lr or self.lr_g != obj.lr:
            lr = (f"{self.lr_d:g}" if self.lr_d == self.lr_g
                  else f"D {self.lr_d:g} / G {self.lr_g:g}")
            diffs.append(f"lr {lr} (published {obj.lr:g})")
        if self.lr_decay != "none":
            diffs.append(f"{self.lr_decay} lr decay")
        for k in obj.hparams:
            if HPARAMS[k].noted and getattr(self, k) != obj.hparams[k]:
                diffs.append(f"{k} {getattr(self, k):g} (published {obj.hparams[k]:g})")
        if self.optimizer != obj.optimizer:
            diffs.append(f"optimizer {self.optimizer} (published {obj.optimizer})")
        return ", ".join(diffs) or None
