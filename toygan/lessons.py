"""Lessons the live page starts from, so the lesson is on screen at once: small checkpoints of
the live page's own runs, shipped in ``toygan/lessons/`` and made by one command.

    python -m toygan.lessons                              # remake all three (one thread)
    python -m toygan.lessons --only collapsed-bce --out /tmp/lessons

Each lesson trains the live page's configuration (``toygan.presets.LIVE``: the slide
configuration without learning-rate decay) on the 8-mode ring from seed 0 for its steps, on one
thread, and saves the trainer's checkpoint (weights, optimiser state, step; ``toygan.train``'s
format). The page's *start from* menu continues it where it stopped; ``tests/test_lessons.py``
checks that each shipped file still shows what its line below says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toygan import files
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import UserError

FOLDER = Path(__file__).resolve().parent / "lessons"
# name: the run's fields over the live configuration, steps trained, and the page's menu line.
LESSONS: dict[str, dict] = {
    "collapsed-bce": dict(
        fields={"loss": "bce"}, steps=1500,
        text="BCE at the page's rates after 1,500 steps: the fakes in one clump that the critic "
             "chases around the ring (0 of 8 modes)"),
    "converged-wgan-gp": dict(
        fields={"loss": "wgan-gp", "lr_g": 2e-4}, steps=3000,
        text="WGAN-GP at equal rates 2e-4 after 3,000 steps: all 8 modes covered"),
    "hopping-minimax": dict(
        fields={"loss": "minimax"}, steps=1500,
        text="minimax BCE after 1,500 steps: every fake beside one mode, then across the ring "
             "within 50 steps (0 of 8 modes)"),
}


def config(name: str):
    """The lesson's :class:`~toygan.train.TrainConfig` (resolved)."""
    from toygan.presets import LIVE
    from toygan.train import TrainConfig

    return build(TrainConfig, {**LIVE, "data": "ring", "seed": 0,
                               **LESSONS[name]["fields"]}).resolved()


def trained(name: str, steps: int | None = None):
    """The lesson's trainer after its steps (or ``steps``)."""
    from toygan.train import Trainer

    t = Trainer(config(name))
    for _ in range(LESSONS[name]["steps"] if steps is None else steps):
        t.train_step()
    return t


def path(name: str, folder: Path | None = None) -> Path:
    return (FOLDER if folder is None else Path(folder)) / f"{name}.pt"


def load(name: str, folder: Path | None = None):
    """``(config, checkpoint)`` of a lesson, or a one-line error."""
    from toygan.train import CHECKPOINT_FORMAT, TrainConfig

    if name not in LESSONS:
        raise UserError(f"unknown lesson {name!r}; choose from {', '.join(LESSONS)}")
    ckpt = files.load_torch(path(name, folder), CHECKPOINT_FORMAT, "a toygan checkpoint")
    return TrainConfig(**ckpt["config"]), ckpt


@dataclass
class LessonsConfig:
    only: str | None = option(None, f"comma list of {', '.join(LESSONS)} (default: all)")
    out: str = option(str(FOLDER), "folder to write (default: the shipped one)")
    steps: int | None = option(None, "train this many steps instead (a quick check; not the "
                               "shipped lessons)", ge=1, le=10**6)


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.lessons", description=__doc__.split("\n\n")[0])
    add_config_flags(p, LessonsConfig)
    return p


def run(config: LessonsConfig | None = None) -> list[Path]:
    """``python -m toygan.lessons``: train the live page's lesson checkpoints; returns their
    paths."""
    import torch

    c = config or LessonsConfig()
    check(c)
    names = c.only.split(",") if c.only else list(LESSONS)
    for name in names:
        if name not in LESSONS:
            raise UserError(f"unknown lesson {name!r}; choose from {', '.join(LESSONS)}")
    torch.set_num_threads(1)  # the same bits on every machine of this kind
    Path(c.out).mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        t = trained(name, c.steps)
        files.save_torch(t.state(), path(name, c.out))
        written.append(path(name, c.out))
    return written


def main(argv=None) -> int:
    import torch

    for p in run(build(LessonsConfig, given(build_parser().parse_args(argv), LessonsConfig))):
        ckpt = torch.load(p, weights_only=False)
        print(f"{p}: step {ckpt['step']:,}")
    return 0


if __name__ == "__main__":
    run_main(main)
