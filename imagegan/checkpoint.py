"""Checkpoints of image runs: save, load, check compatibility, rebuild the generator.

A run folder holds ``checkpoint.pt`` (the latest state) and, when ``--keep-best`` is on,
``best.pt`` (the state with the best value of the chosen metric). Both are written atomically
(``toygan.files.save_torch``) and only with finite weights, and both carry the resolved config and
the data's fingerprint, so a run can be resumed from another working directory or with the data
moved, but never onto other data or another configuration.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from imagegan.models import Generator
from toygan import files
from toygan.errors import UserError

FORMAT = "imagegan-checkpoint-1"
NAMES = {"latest": "checkpoint.pt", "best": "best.pt"}
# Fields that may differ between a checkpoint and the run resuming it. ``data`` may name the
# same images by another path: the data's fingerprint decides (``check_compatible``).
RESUMABLE = ("steps", "epochs", "device", "amp", "channels_last", "log_every", "eval_every",
             "ckpt_every", "cache_dir", "eval_metrics", "data", "keep_best", "inception_metrics",
             "inception_weights", "fid_n", "tensorboard")


def path_of(run_dir, which: str = "latest") -> Path:
    if which not in NAMES:
        raise UserError(f"unknown checkpoint {which!r}; choose from {', '.join(NAMES)}")
    return Path(run_dir) / NAMES[which]


def save(state: dict, run_dir, which: str = "latest") -> bool:
    """Write ``state`` atomically; refuse (return False) if any weight is NaN/Inf, so a
    checkpoint is always one to go back to."""
    for key in ("G", "D", "G_ema"):
        if any(torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()
               for v in state[key].values()):
            return False
    files.save_torch(state, path_of(run_dir, which))
    return True


def load(run_dir, which: str = "latest") -> dict:
    """A run's checkpoint, or a one-line error saying why it cannot be used."""
    return files.load_torch(path_of(run_dir, which), FORMAT, "an imagegan checkpoint")


def _norm(v):
    return list(v) if isinstance(v, list | tuple) else v


def _same(a, b) -> bool:
    return _norm(a) == _norm(b)


def check_compatible(ckpt: dict, cfg, fingerprint: dict | None = None) -> None:
    """Refuse to resume a checkpoint written under another configuration or on other data."""
    saved = ckpt["config"]
    now = dataclasses.asdict(cfg)
    diff = [k for k in now if k not in RESUMABLE and k in saved and not _same(saved[k], now[k])]
    if diff:
        shown = ", ".join(f"{k}: checkpoint {saved[k]!r} vs now {now[k]!r}" for k in diff[:3])
        raise UserError(f"checkpoint comes from another configuration ({shown})")
    old = ckpt.get("data_fingerprint")
    if fingerprint is not None and old is not None and old["key"] != fingerprint["key"]:
        raise UserError(f"--data {cfg.data} holds other images than the run was trained on "
                        f"({fingerprint['summary']} now vs {old['summary']} in the checkpoint)")


def generator_from_run(run_dir, which: str = "latest", weights: str = "G_ema"
                       ) -> tuple[Generator, dict, dict]:
    """A generator of a run's checkpoint — the EMA average (``weights="G_ema"``) or the raw
    weights being trained (``"G"``) — in eval mode; with its config and the checkpoint."""
    ckpt = load(run_dir, which)
    cfg = ckpt["config"]
    G = Generator(cfg["size"], cfg["width"], cfg["z_dim"])
    try:
        G.load_state_dict(ckpt[weights])
    except RuntimeError as e:
        raise UserError(f"checkpoint does not fit its own config: {str(e).splitlines()[0]}"
                        ) from None
    return G.eval(), cfg, ckpt
