"""Train a GAN on 2D toy data and record what happened; renderers draw the records later.

    python -m toygan.train --loss wgan-gp --data ring --steps 2000 --seed 0 --out runs/ring-wgan-gp
    python -m toygan.train --preset wgan-gp-toy --steps 5000 --out runs/ref

writes into ``--out``:

* ``config.json``  — the resolved :class:`TrainConfig` (objective defaults filled in),
* ``stats.jsonl``  — one JSON object per logged step: ``step``, the critic's and generator's named
  loss terms (``d_loss``, ``d_adv``, ``d_gp``, ``g_loss``, ...) and, every ``eval_every`` steps,
  ``modes_covered``, ``hq_frac``, ``reverse_kl`` (mixtures) and ``sliced_w1`` (any data),
* ``snapshots.npz`` — at ``snapshots`` evenly spaced steps: generated samples from a fixed latent
  batch (``fake``), the generator's descent direction at them, -grad_x of its loss (``fake_grad``),
  critic values on a ``grid_res`` x ``grid_res`` grid (``critic``), the generator manifold
  (``manifold``), plus ``real``, ``extent``, ``steps``.

A step is one generator update preceded by ``n_critic`` critic updates. The same seed gives the
same numbers.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from toygan import losses, metrics
from toygan.cli import Diverged, Parser, UserError, add_config_flags, given, run_main
from toygan.data import DataError, make_dataset
from toygan.models import Generator, latent_grid, make_critic
from toygan.presets import PRESETS


def _h(text):
    return field(default=None, metadata={"help": text})


@dataclass
class TrainConfig:
    """Every option of a toy run. ``None`` means "the objective's recommended value".

    2D defaults: the optimiser, betas, ``n_critic``, clip and margin come from the objective
    (``toygan.losses``), but the papers' learning rates and penalty weight are tuned for images.
    On 2D data toygan defaults to lr 1e-3 decayed linearly to 0 and lambda = 1 (measured on
    8gaussians: lambda 10 at lr 1e-3 never puts samples within 3 std of a mode; lambda 10 at
    lr 3e-4 reaches only ~50% high-quality samples in 3000 steps; see BENCHMARKS.md).
    ``--lr`` / ``--gp-weight`` / ``--lr-decay none`` or a ``--preset`` restore published values.
    """

    loss: str = field(default="wgan-gp", metadata={"help": "objective (toygan.losses)"})
    data: str = field(default="ring", metadata={"help": "data spec NAME[:k=v,...] or file:PATH"})
    steps: int = field(default=3000, metadata={"help": "generator updates"})
    batch_size: int = field(default=256, metadata={"help": "samples per batch"})
    z_dim: int = field(default=2, metadata={"help": "latent dimension"})
    g_depth: int = field(default=3, metadata={"help": "generator hidden layers"})
    g_width: int = field(default=256, metadata={"help": "generator hidden units"})
    d_depth: int = field(default=3, metadata={"help": "critic hidden layers"})
    d_width: int = field(default=128, metadata={"help": "critic hidden units"})
    activation: str = field(default="relu", metadata={"help": "hidden activation"})
    d_activation: str | None = _h("critic activation if different (e.g. maxout)")
    g_batchnorm: bool = field(default=False, metadata={"help": "BatchNorm in the generator"})
    spectral_norm: bool = field(default=False, metadata={"help": "spectral norm in the critic"})
    # Mode-collapse mitigations, usable with any objective.
    unroll: int = field(default=0, metadata={
        "help": "unrolled GAN: critic steps unrolled for each generator update (first order; "
                "the critic is restored afterwards)"})
    pack: int = field(default=1, metadata={
        "help": "PacGAN packing: the critic sees this many samples concatenated"})
    mbstd: bool = field(default=False, metadata={
        "help": "minibatch standard-deviation feature in the critic"})
    r1_weight: float = field(default=0.0, metadata={
        "help": "R1: gamma/2 * E||grad D(real)||^2 added to the critic loss"})
    optimizer: str | None = _h("adam or rmsprop (default: the objective's)")
    lr: float | None = field(default=1e-3, metadata={
        "help": "learning rate of both players"})
    lr_d: float | None = _h("critic learning rate (overrides --lr)")
    lr_g: float | None = _h("generator learning rate (overrides --lr)")
    betas: tuple[float, float] | None = _h("Adam betas (default: the objective's)")
    lr_decay: str = field(default="linear", metadata={
        "help": "none, or linear: both learning rates fall linearly to 0 at --steps "
                "(the WGAN-GP reference code's schedule)"})
    n_critic: int | None = _h("critic updates per generator update (default: the objective's)")
    gp_weight: float | None = field(default=1.0, metadata={
        "help": "gradient-penalty weight lambda (wgan-gp, dragan)"})
    clip: float | None = _h("weight-clipping bound c (wgan)")
    margin: float | None = _h("EBGAN margin m")
    pt_weight: float | None = _h("EBGAN pull-away weight")
    seed: int = field(default=0, metadata={"help": "random seed: fixes everything"})
    log_every: int = field(default=10, metadata={"help": "steps between loss records"})
    eval_every: int = field(default=100, metadata={"help": "steps between metric evaluations"})
    eval_samples: int = field(default=2500, metadata={"help": "samples per evaluation"})
    snapshots: int = field(default=60, metadata={"help": "snapshot frames over the run"})
    snapshot_points: int = field(default=512, metadata={"help": "samples per snapshot"})
    grid_res: int = field(default=64, metadata={"help": "critic grid resolution"})
    device: str = field(default="cpu", metadata={"help": "auto, cpu, cuda or mps"})
    preset: str | None = _h("published configuration the other fields start from")

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` filled from the objective's recommendations, validated."""
        try:
            obj = losses.get_objective(self.loss)
        except ValueError as e:
            raise UserError(str(e)) from None
        c = dataclasses.replace(self)
        c.optimizer = c.optimizer or obj.optimizer
        c.lr_d = c.lr_d or c.lr or obj.lr
        c.lr_g = c.lr_g or c.lr or obj.lr
        c.lr = None if c.lr_d != c.lr_g else c.lr_d
        c.betas = tuple(c.betas or obj.betas)
        c.n_critic = c.n_critic or obj.n_critic
        for k in ("gp_weight", "clip", "margin", "pt_weight"):
            if getattr(c, k) is None:
                setattr(c, k, obj.hparams.get(k))
        for k in ("steps", "batch_size", "z_dim", "n_critic", "log_every", "eval_every",
                  "eval_samples", "snapshots", "snapshot_points", "grid_res", "g_width", "d_width"):
            if getattr(c, k) < 1:
                raise UserError(f"--{k.replace('_', '-')} must be >= 1, got {getattr(c, k)}")
        if c.unroll < 0 or c.pack < 1 or c.r1_weight < 0:
            raise UserError("--unroll must be >= 0, --pack >= 1 and --r1-weight >= 0")
        for k in ("batch_size", "snapshot_points"):
            if getattr(c, k) % c.pack:
                raise UserError(f"--{k.replace('_', '-')} ({getattr(c, k)}) must be a multiple "
                                f"of --pack ({c.pack})")
        if c.mbstd and obj.output == "energy":
            raise UserError("--mbstd is not available for ebgan's auto-encoder critic")
        if c.lr_decay not in ("none", "linear"):
            raise UserError(f"unknown --lr-decay {c.lr_decay!r}; choose from none, linear")
        if c.optimizer not in ("adam", "rmsprop"):
            raise UserError(f"unknown optimizer {c.optimizer!r}; choose from adam, rmsprop")
        return c

    def hparams(self) -> dict:
        return {k: getattr(self, k) for k in ("gp_weight", "margin", "pt_weight")
                if getattr(self, k) is not None}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but no CUDA device is available")
    if name not in ("cpu", "cuda", "mps"):
        raise UserError(f"unknown device {name!r}; choose from auto, cpu, cuda, mps")
    return torch.device(name)


class Trainer:
    """One toy GAN: models, optimisers, data stream. ``train_step`` does one generator update.

    ``toygan.batched.BatchedTrainer`` trains several runs as one stacked computation through the
    same ``train_step``: ``runs`` is how many runs a batch holds (1 here).
    """

    runs = 1

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg = cfg.resolved()
        self.obj = losses.get_objective(cfg.loss)
        self.device = resolve_device(cfg.device)
        self.data = make_dataset(cfg.data)
        torch.manual_seed(cfg.seed)
        self.G = Generator(cfg.z_dim, cfg.g_depth, cfg.g_width, cfg.activation,
                           batchnorm=cfg.g_batchnorm).to(self.device)
        extra = {"mbstd": True} if cfg.mbstd else {}
        self.D = make_critic(self.obj.output, depth=cfg.d_depth, width=cfg.d_width,
                             activation=cfg.d_activation or cfg.activation,
                             spectral_norm=cfg.spectral_norm, in_dim=2 * cfg.pack, **extra
                             ).to(self.device)
        self._make_optimizers()
        self.hp = cfg.hparams()
        # Training stream and evaluation stream are separate, so evaluating never changes training.
        self.rng = torch.Generator().manual_seed(cfg.seed)
        eval_rng = torch.Generator().manual_seed(cfg.seed + 7_919)
        self.z_eval = torch.randn(cfg.eval_samples, cfg.z_dim, generator=eval_rng)
        self.real_eval = self.data.sample(cfg.eval_samples, eval_rng)
        self.z_vis = self.z_eval[: cfg.snapshot_points]
        self.real_vis = self.real_eval[: cfg.snapshot_points]

    def _make_optimizers(self):
        cfg = self.cfg
        self.opt_g = losses.make_optimizer(cfg.optimizer, self.G.parameters(), cfg.lr_g, cfg.betas)
        self.opt_d = losses.make_optimizer(cfg.optimizer, self.D.parameters(), cfg.lr_d, cfg.betas)
        self.step = 0
        self.schedulers = []
        if cfg.lr_decay == "linear":
            self.schedulers = [torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: max(0.0, 1.0 - s / cfg.steps)) for opt in (self.opt_g, self.opt_d)]

    @property
    def cfgs(self) -> list[TrainConfig]:
        return [self.cfg]

    @property
    def real_vis_runs(self) -> list[torch.Tensor]:
        return [self.real_vis]

    @property
    def data_runs(self) -> list:
        return [self.data]

    def _real(self, n):
        return self.data.sample(n, self.rng).to(self.device, non_blocking=True)

    def _z(self, n):
        return torch.randn(n, self.cfg.z_dim, generator=self.rng).to(self.device, non_blocking=True)

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """PacGAN: m consecutive samples concatenated into one critic input (N/m, 2m)."""
        return x.reshape(-1, x.shape[1] * self.cfg.pack) if self.cfg.pack > 1 else x

    def _critic_update(self) -> tuple[dict, torch.Tensor]:
        """One critic step on a fresh batch; returns its loss terms and the (packed) real batch."""
        cfg, D = self.cfg, self.D
        real = self.pack(self._real(cfg.batch_size))
        with torch.no_grad():
            fake = self.pack(self.G(self._z(cfg.batch_size)))
        d_terms = self.obj.critic_loss(D, real, fake, **self.hp)
        if cfg.r1_weight:
            r1 = losses.r1_penalty(D, real, runs=self.runs)
            d_terms["loss"] = d_terms["loss"] + 0.5 * cfg.r1_weight * r1
            d_terms["r1"] = r1.detach()
        self.opt_d.zero_grad(set_to_none=True)
        d_terms["loss"].sum().backward()  # a no-op sum for one run; see toygan.losses
        self.opt_d.step()
        if cfg.clip is not None:
            losses.clip_weights(D, cfg.clip)
        return d_terms, real

    def train_step(self) -> dict[str, torch.Tensor]:
        """n_critic critic updates, then one generator update. Returns the last loss terms."""
        cfg, G, D = self.cfg, self.G, self.D
        B = cfg.batch_size

        # Update critic.
        D.requires_grad_(True)
        for _ in range(cfg.n_critic):
            d_terms, real = self._critic_update()

        # Unrolled GAN: look `unroll` critic steps ahead, then restore the critic after G's step.
        saved = None
        if cfg.unroll:
            saved = (copy.deepcopy(D.state_dict()), copy.deepcopy(self.opt_d.state_dict()))
            for _ in range(cfg.unroll):
                self._critic_update()

        # Update generator.
        D.requires_grad_(False)
        fake = self.pack(G(self._z(B)))
        g_terms = self.obj.generator_loss(D, real, fake, **self.hp)
        self.opt_g.zero_grad(set_to_none=True)
        g_terms["loss"].sum().backward()
        self.opt_g.step()
        D.requires_grad_(True)
        if saved is not None:
            D.load_state_dict(saved[0])
            self.opt_d.load_state_dict(saved[1])
        for sched in self.schedulers:
            sched.step()

        self.step += 1
        terms = {f"d_{k}": v.detach() for k, v in d_terms.items()}
        terms.update({f"g_{k}": v.detach() for k, v in g_terms.items()})
        return terms

    @torch.no_grad()
    def sample(self, z=None) -> torch.Tensor:
        return self.G((self.z_eval if z is None else z).to(self.device)).cpu()

    def evaluate(self, fake: torch.Tensor | None = None) -> dict:
        """Metrics of the fixed evaluation batch (or of ``fake``, samples of that batch generated
        elsewhere): mode metrics for mixtures, sliced W1 always."""
        fake = (self.sample() if fake is None else fake).numpy()
        out = {}
        if self.data.centers is not None:
            out.update(metrics.mode_metrics(fake, self.data.centers, self.data.std))
        out["sliced_w1"] = metrics.sliced_w1(self.real_eval.numpy(), fake)
        return out

    def evaluate_runs(self) -> list[dict]:
        return [self.evaluate()]

    def run_terms(self, terms: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        """Loss terms as one dict of floats per run."""
        return [{k: float(v) for k, v in terms.items()}]

    def _grid(self, extent) -> torch.Tensor:
        xmin, xmax, ymin, ymax = extent
        res = self.cfg.grid_res
        gx, gy = torch.meshgrid(torch.linspace(xmin, xmax, res), torch.linspace(ymin, ymax, res),
                                indexing="xy")
        # A packed critic sees m copies of the point.
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).repeat(1, self.cfg.pack)

    def _snapshot(self, grid_pts, z_vis, real_vis, z_manifold) -> dict[str, np.ndarray]:
        G, D, cfg = self.G, self.D, self.cfg
        with torch.no_grad():
            critic = D(grid_pts.to(self.device))
            fake = G(z_vis.to(self.device))
            manifold = G(z_manifold.to(self.device))
        # Descent direction of the generator loss at each generated sample, per sample.
        D.requires_grad_(False)
        fake_req = fake.detach().requires_grad_(True)
        g_loss = self.obj.generator_loss(D, self.pack(real_vis.to(self.device)),
                                         self.pack(fake_req), **self.hp)
        (grad,) = torch.autograd.grad(g_loss["loss"].sum(), fake_req)
        D.requires_grad_(True)
        return {
            "fake": fake.cpu().numpy(),
            "fake_grad": (-grad * cfg.snapshot_points).cpu().numpy(),
            "critic": critic.cpu().numpy(),
            "manifold": manifold.cpu().numpy(),
        }

    def snapshot(self) -> dict[str, np.ndarray]:
        """What a renderer needs for one frame (no plotting here)."""
        snap = self._snapshot(self._grid(self.data.extent), self.z_vis, self.real_vis,
                              latent_grid(self.cfg.z_dim))
        snap["critic"] = snap["critic"].reshape(self.cfg.grid_res, self.cfg.grid_res)
        return snap

    def snapshot_runs(self) -> list[dict[str, np.ndarray]]:
        return [self.snapshot()]


def _record(terms: dict) -> dict:
    return {k: float(v) for k, v in terms.items()}


def _json_safe(rec: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in rec.items()}


def save_npz_atomic(path: Path, **arrays) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)


class Recorder:
    """One run's records: ``config.json``, ``stats.jsonl`` and ``snapshots.npz`` under ``out``
    (when given) and the stats in memory (``history``)."""

    def __init__(self, cfg: TrainConfig, out: str | Path | None, overwrite: bool = False):
        self.out = Path(out) if out is not None else None
        self.history: list[dict] = []
        self.frames: dict[str, list] = {}
        self.diverged_at: int | None = None
        self.file = None
        if self.out is not None:
            if (self.out / "stats.jsonl").exists() and not overwrite:
                raise UserError(f"{self.out} already holds a run; pass --overwrite or choose "
                                "another --out")
            try:
                self.out.mkdir(parents=True, exist_ok=True)
                (self.out / "config.json").write_text(
                    json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
                self.file = open(self.out / "stats.jsonl", "w")
            except OSError as e:
                raise UserError(f"cannot write to {self.out}: {e.strerror}") from None

    def emit(self, rec: dict) -> None:
        rec = _json_safe(rec)  # an undefined metric (reverse KL with no HQ sample) is null
        self.history.append(rec)
        if self.file is not None:
            self.file.write(json.dumps(rec) + "\n")
            self.file.flush()

    def frame(self, step: int, snap: dict) -> None:
        self.frames.setdefault("steps", []).append(step)
        for k, v in snap.items():
            self.frames.setdefault(k, []).append(v)

    def close(self, real_vis: torch.Tensor, data) -> None:
        if self.out is not None and self.frames:
            save_npz_atomic(self.out / "snapshots.npz",
                            **{k: np.stack(v) for k, v in self.frames.items()},
                            real=real_vis.numpy(), extent=np.array(data.extent, dtype=np.float64),
                            centers=(data.centers if data.centers is not None
                                     else np.zeros((0, 2))))
        if self.file is not None:
            self.file.close()


def run_training(trainer: Trainer, outs, progress: bool = True, overwrite: bool = False,
                 stop_on_nan: bool = True) -> list[Recorder]:
    """Train ``trainer`` to its last step, recording each of its runs (``outs``: one folder or
    None per run). A NaN/Inf loss raises :class:`Diverged` (``stop_on_nan``) or ends that run's
    records and sets its ``diverged_at`` while the other runs go on."""
    cfg, K = trainer.cfg, trainer.runs
    recs: list[Recorder] = []
    try:
        for c, out in zip(trainer.cfgs, outs, strict=True):
            recs.append(Recorder(c, out, overwrite))
    except BaseException:
        for r in recs:
            r.file and r.file.close()
        raise
    snap_steps = set(np.unique(np.linspace(0, cfg.steps, min(cfg.snapshots, cfg.steps + 1))
                               .round().astype(int)).tolist())

    def observe(step, terms=None):
        per_run = trainer.run_terms(terms) if terms is not None else [{}] * K
        evals = (trainer.evaluate_runs() if step % cfg.eval_every == 0 or step == cfg.steps
                 else [{}] * K)
        snaps = trainer.snapshot_runs() if step in snap_steps else [None] * K
        for rec, t, e, snap in zip(recs, per_run, evals, snaps, strict=True):
            if rec.diverged_at is not None:
                continue
            if t or e:
                rec.emit({"step": step, **t, **e})
            if snap is not None:
                rec.frame(step, snap)

    try:
        observe(0)
        desc = f"{cfg.loss} on {cfg.data}" if K == 1 else f"{K} runs of {cfg.loss}"
        bar = tqdm(total=cfg.steps, desc=desc, disable=not progress, file=sys.stderr,
                   dynamic_ncols=True)
        while trainer.step < cfg.steps:
            terms = trainer.train_step()
            step = trainer.step
            for rec, t in zip(recs, trainer.run_terms(terms), strict=True):
                bad = [k for k, v in t.items() if not math.isfinite(v)]
                if bad and rec.diverged_at is None:
                    msg = (f"training diverged at step {step}: {', '.join(bad)} is NaN/Inf "
                           f"(records up to step {step - 1} are kept)")
                    if stop_on_nan:
                        raise Diverged(msg)
                    rec.diverged_at = step
            if all(r.diverged_at is not None for r in recs):
                break
            log = step % cfg.log_every == 0 or step == cfg.steps
            observe(step, terms if log else None)
            bar.update(1)
            if log and progress and K == 1:
                bar.set_postfix(d=f"{float(terms['d_loss']):.3f}",
                                g=f"{float(terms['g_loss']):.3f}", refresh=False)
        bar.close()
    finally:
        for rec, real_vis, data in zip(recs, trainer.real_vis_runs, trainer.data_runs,
                                       strict=True):
            rec.close(real_vis, data)
    return recs


def train(cfg: TrainConfig, out: str | Path | None, progress: bool = True,
          overwrite: bool = False) -> list[dict]:
    """Train and record. Returns the stats records; writes them under ``out`` when given."""
    return run_training(Trainer(cfg), [out], progress, overwrite)[0].history


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.train", description=__doc__.split("\n\n")[0])
    add_config_flags(p, TrainConfig, choices={"loss": list(losses.OBJECTIVES),
                                               "preset": list(PRESETS)})
    p.add_argument("--out", default=None, help="run folder (default: runs/LOSS-DATA-seedS)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(ns, cls=TrainConfig, presets=PRESETS):
    """Dataclass defaults, then the preset, then the flags the user typed."""
    typed = given(ns, cls)
    base = dict(presets[typed["preset"]]) if typed.get("preset") else {}
    base.update(typed)
    try:
        return cls(**base)
    except TypeError as e:
        raise UserError(str(e)) from None


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    cfg = config_from_args(ns)
    try:
        make_dataset(cfg.data)
    except DataError as e:
        raise UserError(str(e)) from None
    out = ns.out or f"runs/{cfg.loss}-{cfg.data.replace(':', '_').replace('/', '_')}-seed{cfg.seed}"
    t0 = time.perf_counter()
    history = train(cfg, out, progress=not ns.quiet, overwrite=ns.overwrite)
    last = next((r for r in reversed(history) if "sliced_w1" in r), {})
    summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in last.items() if k in ("modes_covered", "hq_frac", "reverse_kl",
                                                          "sliced_w1"))
    print(f"{out}: {cfg.steps} steps in {time.perf_counter() - t0:.1f}s; {summary}")
    return 0


if __name__ == "__main__":
    run_main(main)
