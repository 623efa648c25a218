"""Train a GAN on 2D toy data and record what happened; renderers draw the records later.

    python -m toygan.train --loss wgan-gp --data ring --steps 2000 --seed 0 --out runs/ring-wgan-gp
    python -m toygan.train --preset wgan-gp-toy --steps 5000 --out runs/ref
    python -m toygan.train --resume runs/ref --steps 8000        # continue (and extend) a run

writes into ``--out``:

* ``config.json``  — the resolved :class:`TrainConfig` (preset and objective defaults filled in),
* ``stats.jsonl``  — one JSON object per logged step: ``step``, the critic's and generator's named
  loss terms (``d_loss``, ``d_adv``, ``d_gp``, ``g_loss``, ...) and, every ``eval_every`` steps,
  ``modes_covered``, ``hq_frac``, ``reverse_kl`` (mixtures) and ``sliced_w1`` (any data),
* ``snapshots.npz`` — at ``snapshots`` evenly spaced steps: generated samples from a fixed latent
  batch (``fake``), the generator's descent direction at them, -grad_x of its loss (``fake_grad``),
  critic values on a ``grid_res`` x ``grid_res`` grid (``critic``), the generator manifold
  (``manifold``), plus ``real``, ``extent``, ``steps``,
* ``checkpoint.pt`` — everything needed to continue (models, optimisers, schedules, random
  streams, the snapshots so far), written atomically every ``ckpt_every`` steps and on Ctrl-C.

A step is one generator update preceded by ``n_critic`` critic updates. The same seed gives the
same numbers, and a resumed run the same numbers as an uninterrupted one.

Configuration is layered: the dataclass defaults, then the preset (``toy2d`` unless
``--preset`` says otherwise; ``--preset none`` for the objectives' published values), then the
flags typed. Whatever the preset changes from the objective's published settings is printed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from toygan import bugs, files, losses, metrics
from toygan.cli import Parser, add_run_flags, run_main
from toygan.config import (
    BIG,
    add_config_flags,
    build,
    check,
    given,
    option,
    remembers_passed,
)
from toygan.data import fixed_set, make_dataset
from toygan.device import DEVICES, resolve_device
from toygan.errors import Diverged, UserError
from toygan.ganconfig import GANConfig
from toygan.loop import train_loop
from toygan.mitigations import pack
from toygan.models import (
    ACTIVATIONS,
    BN_STATS,
    INITS,
    NOISES,
    Generator,
    eval_mode,
    initialize,
    latent_grid,
    latent_span,
    make_critic,
    sample_noise,
)
from toygan.presets import PRESETS
from toygan.step import FiniteWatch, GANStep

CHECKPOINT_FORMAT = "toygan-checkpoint-1"


@remembers_passed
@dataclass
class TrainConfig(GANConfig):
    """Every option of a toy run. ``None`` means "the preset's value, else the objective's"."""

    data: str = option("ring", "data spec NAME[:k=v,...] or file:PATH")
    steps: int = option(3000, "generator updates", ge=1, le=BIG)
    batch_size: int = option(256, "samples per batch", ge=1, le=2**20)
    train_set: int | None = option(None, "draw this many real samples once (from the seed) and "
                                   "train on batches resampled from them, as PacGAN's 100,000; "
                                   "default: a fresh draw for every batch", ge=1, le=10**8)
    z_dim: int = option(2, "latent dimension", ge=1, le=4096)
    noise: str = option("normal", "latent distribution: normal N(0, I) or uniform U[-1, 1]",
                        choices=list(NOISES))
    g_depth: int = option(3, "generator hidden layers", ge=1, le=64)
    g_width: int = option(256, "generator hidden units", ge=1, le=65536)
    d_depth: int = option(3, "critic hidden layers", ge=1, le=64)
    d_width: int = option(128, "critic hidden units", ge=1, le=65536)
    activation: str = option("relu", "hidden activation", choices=list(ACTIVATIONS))
    d_activation: str | None = option(None, "critic activation if different (e.g. maxout)",
                                      choices=list(ACTIVATIONS))
    g_batchnorm: bool = option(False, "BatchNorm in the generator (with --pack m, statistics "
                               "per pack slot, as in PacGAN's code)")
    g_bn_stats: str = option("pytorch", "a BatchNorm generator's population statistics, which "
                             "evaluation and snapshots normalise by: pytorch (running mean and "
                             "variance, momentum 0.1, eps 1e-5) or blocks (PacGAN's released "
                             "code: running mean and standard deviation, momentum 0.05, eps "
                             "1e-4)", choices=tuple(BN_STATS))
    g_optimizer: str | None = option(None, "the generator's optimiser if different from "
                                     "--optimizer (the critic's): adam, rmsprop or sgd",
                                     choices=list(losses.OPTIMIZERS))
    init: str = option("default", "weight initialisation of G and D: default (PyTorch's), "
                       "normal-0.02, xavier, orthogonal-1.4, orthogonal-0.8", choices=INITS)
    log_every: int = option(10, "steps between loss records", ge=1, le=BIG)
    eval_every: int = option(100, "steps between metric evaluations", ge=1, le=BIG)
    eval_samples: int = option(2500, "samples per evaluation", ge=2, le=10**6)
    cover_frac: float = option(0.008, "share of the evaluated samples a mode must receive as "
                               "high-quality samples to count as covered (20 of 2500 = 0.008; "
                               "VEEGAN's and PacGAN's released metric: any, 0)", ge=0, le=1)
    snapshots: int = option(60, "snapshot frames over the run", ge=1, le=100_000)
    snapshot_points: int = option(512, "samples per snapshot", ge=1, le=100_000)
    grid_res: int = option(64, "critic grid resolution", ge=2, le=1024)
    ckpt_every: int = option(500, "steps between checkpoints (also on Ctrl-C)", ge=1, le=BIG)
    device: str = option("cpu", "auto, cpu, cuda or mps", choices=DEVICES)
    compile: str = option("auto", "compile the critic update (torch.compile of its torch.func "
                          "form, penalty included): on, off, or auto (on for runs of at least "
                          "20,000 critic updates, where the compile time pays)",
                          choices=["auto", "on", "off"])
    tensorboard: bool = option(False, "also write the records as TensorBoard events under "
                               "RUN/tensorboard at the end (toygan.tensorboard)")
    preset: str | None = option("toy2d", "named configuration the unset fields start from "
                                "(toygan.presets; none: the objective's published values)",
                                choices=lambda: list(PRESETS) + ["none"])

    def resolved(self) -> TrainConfig:
        """A copy with the preset applied, every ``None`` filled (preset, then objective) and
        every value checked. The preset sets each field the caller did not pass, so
        ``TrainConfig(preset=P)`` trains what ``--preset P`` trains; a passed ``None`` is filled
        too."""
        check(self)
        c = dataclasses.replace(self)
        if c.preset not in (None, "none"):
            for k, v in PRESETS[c.preset].items():
                if k not in self.passed_fields or getattr(c, k) is None:
                    setattr(c, k, v)
        c = c.resolve_objective()
        for k in ("batch_size", "snapshot_points"):
            if getattr(c, k) % c.pack:
                raise UserError(f"--{k.replace('_', '-')} ({getattr(c, k)}) must be a multiple "
                                f"of --pack ({c.pack})")
        return c


class Trainer:
    """One toy GAN: models, optimisers, data stream. ``train_step`` does one generator update.

    ``toygan.batched.BatchedTrainer`` trains several runs as one stacked computation through the
    same ``train_step``: ``runs`` is how many runs a batch holds (1 here).
    """

    runs = 1
    checkpoints = True  # state() / load_state() exist (a batched group has no checkpoint)

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg = cfg.resolved()
        self.obj = losses.OBJECTIVES[cfg.loss]
        self.device = resolve_device(cfg.device)
        self.data = make_dataset(cfg.data)
        torch.manual_seed(cfg.seed)
        self.G = Generator(cfg.z_dim, cfg.g_depth, cfg.g_width, cfg.activation,
                           batchnorm=cfg.g_batchnorm, bn_stats=cfg.g_bn_stats).to(self.device)
        self.D = make_critic(self.obj.output, depth=cfg.d_depth, width=cfg.d_width,
                             activation=cfg.d_activation or cfg.activation,
                             spectral_norm=cfg.spectral_norm, in_dim=2 * cfg.pack,
                             **({"mbstd": True} if cfg.mbstd else {})).to(self.device)
        if cfg.bug == "batchnorm-critic":  # the zoo's BatchNorm inside a penalised critic
            self.D = bugs.batchnorm_critic(cfg.d_depth, cfg.d_width, 2 * cfg.pack).to(self.device)
        initialize(self.G, cfg.init)
        initialize(self.D, cfg.init)
        self._build_step()
        # Training stream and evaluation stream are separate, so evaluating never changes training.
        self.rng = torch.Generator().manual_seed(cfg.seed)
        eval_rng = torch.Generator().manual_seed(cfg.seed + 7_919)
        self.z_eval = sample_noise(cfg.noise, cfg.eval_samples, cfg.z_dim, eval_rng)
        self.real_eval = self.data.sample(cfg.eval_samples, eval_rng)
        # What the critic sees as real: the distribution itself, or a fixed finite set of it
        # (its own stream, so a resumed run draws the same set).
        self.train_data = self.data if cfg.train_set is None else fixed_set(
            self.data, cfg.train_set, torch.Generator().manual_seed(cfg.seed + 104_729))
        self.z_vis = self.z_eval[: cfg.snapshot_points]
        self.real_vis = self.real_eval[: cfg.snapshot_points]

    def _build_step(self, rand=None):
        """Optimisers, learning-rate schedules and the update rule, for the current G and D."""
        cfg = self.cfg
        self.opt_g = losses.make_optimizer(cfg.g_optimizer or cfg.optimizer, self.G.parameters(),
                                           cfg.lr_g, cfg.betas)
        self.opt_d = losses.make_optimizer(cfg.optimizer, self.D.parameters(), cfg.lr_d, cfg.betas)
        self.schedulers = []
        if cfg.lr_decay == "linear":  # to 0 at the last step, as the WGAN-GP reference code
            self.schedulers = [torch.optim.lr_scheduler.LinearLR(
                opt, start_factor=1.0, end_factor=0.0, total_iters=cfg.steps)
                for opt in (self.opt_g, self.opt_d)]
        self.gan = GANStep(cfg, self.obj, self.G, self.D, self.opt_g, self.opt_d,
                           runs=self.runs, rand=rand)
        self.step = 0

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
        return self.train_data.sample(n, self.rng).to(self.device, non_blocking=True)

    def _z(self, n):
        return sample_noise(self.cfg.noise, n, self.cfg.z_dim, self.rng).to(self.device,
                                                                            non_blocking=True)

    def train_step(self) -> dict[str, torch.Tensor]:
        """n_critic critic updates, then one generator update. Returns the last loss terms."""
        B = self.cfg.batch_size
        terms = self.gan(lambda: self._real(B), self._z, B)
        for sched in self.schedulers:
            sched.step()
        self.step += 1
        return terms

    # -- checkpoints (single runs) ---------------------------------------------------------------

    def state(self) -> dict:
        return {"format": CHECKPOINT_FORMAT, "config": dataclasses.asdict(self.cfg),
                "step": self.step, "G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "schedulers": [s.state_dict() for s in self.schedulers],
                "rng": self.rng.get_state(), "torch_rng": torch.get_rng_state()}

    def load_state(self, ckpt: dict) -> None:
        self.G.load_state_dict(ckpt["G"])
        self.D.load_state_dict(ckpt["D"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        for s, sd in zip(self.schedulers, ckpt["schedulers"], strict=True):
            s.load_state_dict(sd)
        self.rng.set_state(ckpt["rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        self.step = ckpt["step"]

    def weights_finite(self) -> bool:
        return all(torch.isfinite(p).all() for m in (self.G, self.D) for p in m.parameters())

    # -- what the records hold -------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, z=None) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G((self.z_eval if z is None else z).to(self.device)).cpu()

    def eval_fakes(self) -> list[torch.Tensor]:
        """Each run's samples of its fixed evaluation batch (kept in ``samples.npz``, so a table
        can be re-counted under another rule without retraining)."""
        return [self.sample()]

    def evaluate(self, fake: torch.Tensor | None = None) -> dict:
        """Metrics of the fixed evaluation batch (or of ``fake``, samples of that batch generated
        elsewhere): mode metrics for mixtures, sliced W1 always."""
        fake = (self.sample() if fake is None else fake).numpy()
        out = {}
        if self.data.centers is not None:
            out.update(metrics.mode_metrics(fake, self.data.centers, self.data.std,
                                            self.cfg.cover_frac))
        out["sliced_w1"] = metrics.sliced_w1(self.real_eval.numpy(), fake)
        return out

    def evaluate_runs(self, fakes: list[torch.Tensor]) -> list[dict]:
        """Each run's metrics of its samples ``fakes`` (from :meth:`eval_fakes`)."""
        return [self.evaluate(fakes[0])]

    def run_terms(self, terms: dict[str, torch.Tensor]) -> list[dict[str, float]]:
        """Loss terms as one dict of floats per run."""
        return [{k: float(v) for k, v in terms.items()}]

    def latent_grid(self) -> torch.Tensor:
        """The latent grid whose image is the manifold (over the noise's own span)."""
        return latent_grid(self.cfg.z_dim, span=latent_span(self.cfg.noise))

    def snapshot(self) -> dict[str, np.ndarray]:
        """What a renderer needs for one frame (no plotting here)."""
        snap = snapshot_arrays(self, critic_grid(self.data.extent, self.cfg.grid_res,
                                                 self.cfg.pack),
                               self.z_vis, self.real_vis, self.latent_grid())
        snap["critic"] = snap["critic"].reshape(self.cfg.grid_res, self.cfg.grid_res)
        return snap

    def snapshot_runs(self) -> list[dict[str, np.ndarray]]:
        return [self.snapshot()]


def critic_grid(extent, res: int, pack: int) -> torch.Tensor:
    """The ``res`` x ``res`` points over ``extent`` where a snapshot reads the critic (a packed
    critic sees ``pack`` copies of each point)."""
    xmin, xmax, ymin, ymax = extent
    gx, gy = torch.meshgrid(torch.linspace(xmin, xmax, res), torch.linspace(ymin, ymax, res),
                            indexing="xy")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).repeat(1, pack)


def snapshot_arrays(t: Trainer, grid_pts, z_vis, real_vis, z_manifold) -> dict[str, np.ndarray]:
    """One frame's arrays of trainer ``t`` (its runs stacked): the critic on ``grid_pts``, the
    samples of ``z_vis`` with the generator's descent direction at each (per sample, against
    ``real_vis``), and the image of the latent grid ``z_manifold``."""
    G, D, cfg = t.G, t.D, t.cfg
    with torch.no_grad(), eval_mode(G):  # a BatchNorm G: its population statistics
        critic = D(grid_pts.to(t.device))
        fake = G(z_vis.to(t.device))
        manifold = G(z_manifold.to(t.device))
    D.requires_grad_(False)
    fake_req = fake.detach().requires_grad_(True)
    g_loss = t.gan.obj_generator_loss(D, pack(real_vis.to(t.device), cfg.pack),
                                      pack(fake_req, cfg.pack), **t.gan.hp)
    (grad,) = torch.autograd.grad(g_loss["loss"].sum(), fake_req)
    D.requires_grad_(True)
    return {
        "fake": fake.cpu().numpy(),
        "fake_grad": (-grad * cfg.snapshot_points).cpu().numpy(),
        "critic": critic.cpu().numpy(),
        "manifold": manifold.cpu().numpy(),
    }


def _json_safe(rec: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in rec.items()}


class Recorder:
    """One run's records: ``config.json``, ``stats.jsonl`` and ``snapshots.npz`` under ``out``
    (when given) and the stats in memory (``history``).

    A new run needs an empty folder (``--overwrite`` empties one of ours first); ``resume_step``
    reopens a run's records, keeping what was recorded up to that step.
    """

    def __init__(self, cfg: TrainConfig, out: str | Path | None, overwrite: bool = False,
                 resume_step: int | None = None):
        self.out = Path(out) if out is not None else None
        self.cfg_tensorboard = cfg.tensorboard
        if cfg.tensorboard:
            from toygan.tensorboard import writer_class

            writer_class()  # the package is there, before any folder is made
        self.history: list[dict] = []
        self.frames: dict[str, list] = {}
        self.samples: dict[str, list] = {}  # each evaluation's samples: steps, fake
        self.diverged_at: int | None = None
        self.file = None
        self.flushed = time.monotonic()
        if self.out is None:
            return
        stats = self.out / "stats.jsonl"
        if resume_step is None:
            files.prepare_dir(self.out, overwrite, hint="pass --resume to continue it, "
                              "--overwrite to start again, or another --out")
        elif stats.exists():
            self.history = [r for r in files.read_jsonl(stats, repair=True)
                            if r.get("step", 0) <= resume_step]
        files.write_json(self.out / "config.json", dataclasses.asdict(cfg))
        files.write_text(stats, "".join(json.dumps(r) + "\n" for r in self.history))
        self.file = open(stats, "a")

    FLUSH_S = 2.0  # stats.jsonl reaches the disk in chunks: at most this old, and at each
    # checkpoint (a resumed run keeps the records up to its checkpoint's step, never more)

    def emit(self, rec: dict) -> None:
        rec = _json_safe(rec)  # an undefined metric (reverse KL with no HQ sample) is null
        self.history.append(rec)
        if self.file is not None:
            self.file.write(json.dumps(rec) + "\n")
            if time.monotonic() - self.flushed > self.FLUSH_S:
                self.flush()

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()
        self.flushed = time.monotonic()

    def frame(self, step: int, snap: dict) -> None:
        self.frames.setdefault("steps", []).append(step)
        for k, v in snap.items():
            self.frames.setdefault(k, []).append(v)

    def evaluated(self, step: int, fake: torch.Tensor) -> None:
        self.samples.setdefault("steps", []).append(step)
        self.samples.setdefault("fake", []).append(fake.numpy().astype(np.float32))

    def close(self, real_vis: torch.Tensor, data) -> None:
        if self.out is not None and self.samples:
            files.save_npz(self.out / "samples.npz", steps=np.array(self.samples["steps"]),
                           fake=np.stack(self.samples["fake"]))
        if self.out is not None and self.frames:
            files.save_npz(self.out / "snapshots.npz",
                           **{k: np.stack(v) for k, v in self.frames.items()},
                           real=real_vis.numpy(), extent=np.array(data.extent, dtype=np.float64),
                           centers=(data.centers if data.centers is not None
                                    else np.zeros((0, 2))))
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.out is not None and self.cfg_tensorboard:
            from toygan import tensorboard

            tensorboard.export(self.out)


def load_checkpoint(run_dir) -> dict:
    """A toy run's checkpoint, or a one-line error saying why it cannot be used."""
    return files.load_torch(Path(run_dir) / "checkpoint.pt", CHECKPOINT_FORMAT,
                            "a toygan checkpoint")


class ToyRecording:
    """What a toy trainer's runs record in :func:`toygan.loop.train_loop`: loss terms every
    ``log_every`` steps, evaluations (and their samples) every ``eval_every``, snapshots at
    ``snapshots`` steps spread over the run, a single run's checkpoint every ``ckpt_every``. A
    stacked run that diverges ends its own records (``stop_on_nan`` False) while the others go
    on."""

    def __init__(self, trainer: Trainer, recs: list[Recorder], stop_on_nan: bool,
                 progress: bool):
        self.t, self.recs, self.stop_on_nan = trainer, recs, stop_on_nan
        cfg = trainer.cfg
        self.snap_steps = set(np.unique(np.linspace(0, cfg.steps, min(cfg.snapshots,
                                                                      cfg.steps + 1)))
                              .round().astype(int).tolist())
        self.single_out = recs[0].out if len(recs) == 1 and trainer.checkpoints else None
        self.bar = None
        self.postfix = progress and trainer.runs == 1

    def start(self) -> None:
        self.observe(0)
        self.checkpoint()

    def _when(self, step: int) -> tuple[bool, bool, bool, bool]:
        """(log, evaluate, snapshot, checkpoint) at ``step``; the last step logs, evaluates and
        checkpoints."""
        cfg = self.t.cfg
        last = step == cfg.steps
        return (step % cfg.log_every == 0 or last, step % cfg.eval_every == 0 or last,
                step in self.snap_steps, step % cfg.ckpt_every == 0 or last)

    def due(self, step: int) -> bool:
        return any(self._when(step))

    def record(self, step: int, terms: dict) -> None:
        log, _, _, ckpt = self._when(step)
        self.observe(step, terms if log else None)
        if ckpt:
            self.checkpoint()
        if log and self.postfix and self.bar is not None:
            self.bar.set_postfix(d=f"{float(terms['d_loss']):.3f}",
                                 g=f"{float(terms['g_loss']):.3f}", refresh=False)

    def observe(self, step, terms=None):
        t, K = self.t, self.t.runs
        _, evaluate, snapshot, _ = self._when(step)
        per_run = t.run_terms(terms) if terms is not None else [{}] * K
        fakes = t.eval_fakes() if evaluate else [None] * K
        evals = t.evaluate_runs(fakes) if fakes[0] is not None else [{}] * K
        snaps = t.snapshot_runs() if snapshot else [None] * K
        for rec, tm, e, fake, snap in zip(self.recs, per_run, evals, fakes, snaps, strict=True):
            if rec.diverged_at is not None:
                continue
            if tm or e:
                rec.emit({"step": step, **tm, **e})
            if e:
                rec.evaluated(step, fake)
            if snap is not None:
                rec.frame(step, snap)

    def finite(self, watch: FiniteWatch) -> bool:
        """Mark runs whose loss turned NaN/Inf (at the step it first did); True while any run
        is still going."""
        for rec, bad in zip(self.recs, watch.first_bad(), strict=True):
            if bad is not None and rec.diverged_at is None:
                step, names = bad
                msg = (f"training diverged at step {step}: {', '.join(names)} is NaN/Inf "
                       f"(records up to step {step - 1} are kept)")
                if self.stop_on_nan:
                    raise Diverged(msg)
                rec.diverged_at = step
        return any(r.diverged_at is None for r in self.recs)

    def checkpoint(self) -> None:
        """Save a single run's state, if its weights are finite (a NaN step is never "good")."""
        for rec in self.recs:
            rec.flush()
        if self.single_out is None or not self.t.weights_finite():
            return
        state = self.t.state()
        state["frames"] = self.recs[0].frames
        state["samples"] = self.recs[0].samples
        files.save_torch(state, self.single_out / "checkpoint.pt")

    def interrupted(self) -> None:
        self.checkpoint()

    def close(self) -> None:
        for rec, real_vis, data in zip(self.recs, self.t.real_vis_runs, self.t.data_runs,
                                       strict=True):
            rec.close(real_vis, data)


def run_training(trainer: Trainer, outs, progress: bool = True, overwrite: bool = False,
                 stop_on_nan: bool = True, resume: dict | None = None) -> list[Recorder]:
    """Train ``trainer`` to its last step, recording each of its runs (``outs``: one folder or
    None per run). A NaN/Inf loss raises :class:`Diverged` (``stop_on_nan``) or ends that run's
    records and sets its ``diverged_at`` while the other runs go on. ``resume``: a checkpoint of
    this (single) run to continue from. Ctrl-C saves a checkpoint before it stops."""
    cfg, K = trainer.cfg, trainer.runs
    recs: list[Recorder] = []
    try:
        for c, out in zip(trainer.cfgs, outs, strict=True):
            recs.append(Recorder(c, out, overwrite, resume["step"] if resume else None))
    except BaseException:
        for r in recs:
            r.file and r.file.close()
        raise
    rec = ToyRecording(trainer, recs, stop_on_nan, progress)
    if resume is not None:
        trainer.load_state(resume)
        recs[0].frames = resume.get("frames", {})
        recs[0].samples = resume.get("samples", {})
    desc = f"{cfg.loss} on {cfg.data}" if K == 1 else f"{K} runs of {cfg.loss}"
    rec.bar = tqdm(total=cfg.steps, initial=trainer.step, desc=desc, disable=not progress,
                   file=sys.stderr, dynamic_ncols=True)
    train_loop(trainer, rec, cfg.steps, rec.bar)
    return recs


def train(cfg: TrainConfig, out: str | Path | None, progress: bool = True,
          overwrite: bool = False, resume: bool = False) -> list[dict]:
    """Train and record. Returns the stats records; writes them under ``out`` when given.
    ``resume``: continue the run in ``out`` from its checkpoint (``cfg`` may raise ``steps``)."""
    ckpt = load_checkpoint(out) if resume else None
    return run_training(Trainer(cfg), [out], progress, overwrite, resume=ckpt)[0].history


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.train", description=__doc__.split("\n\n")[0])
    add_config_flags(p, TrainConfig)
    add_run_flags(p, "run folder (default: runs/LOSS-DATA-seedS)",
                  "continue the run in RUN_DIR from its checkpoint (only --steps, --log-every, "
                  "--eval-every, --ckpt-every and --device may change)")
    return p


def config_from_args(ns, cls=TrainConfig, presets=PRESETS):
    """Dataclass defaults, then the preset, then the flags the user typed."""
    return build(cls, given(ns, cls), presets)


RESUMABLE = ("steps", "log_every", "eval_every", "ckpt_every", "device", "tensorboard")


def _resume_config(run: Path, typed: dict) -> TrainConfig:
    saved = load_checkpoint(run)["config"]
    changed = sorted(k for k in typed if k not in RESUMABLE and typed[k] != (
        tuple(saved[k]) if isinstance(saved.get(k), list) else saved.get(k)))
    if changed:
        raise UserError(f"--resume keeps the run's configuration; these flags would change it: "
                        f"{', '.join('--' + k.replace('_', '-') for k in changed)}")
    base = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()}
    return build(TrainConfig, {**base, **typed})


def run(typed: dict, *, out=None, resume=None, overwrite: bool = False,
        quiet: bool = False) -> tuple[Path, list[dict]]:
    """``python -m toygan.train``: train the run that the config fields ``typed`` (what the user
    gave: the preset fills the rest) describe in ``out``, or continue the run in ``resume``;
    returns the run folder and its records."""
    if resume:
        out = Path(resume)
        cfg = _resume_config(out, typed)
    else:
        cfg = build(TrainConfig, typed, PRESETS)
        out = Path(out or f"runs/{cfg.loss}-{cfg.data.replace(':', '_').replace('/', '_')}"
                          f"-seed{cfg.seed}")
    make_dataset(cfg.data)
    resolved = cfg.resolved()
    note = resolved.objective_note()
    if note and resolved.preset not in (None, "none") and not quiet:
        print(f"preset {resolved.preset}: {note}; --preset none for the published values",
              file=sys.stderr)
    history = train(cfg, out, progress=not quiet, overwrite=overwrite, resume=bool(resume))
    return out, history


def execute(ns) -> tuple[Path, list[dict]]:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(given(ns, TrainConfig), out=ns.out, resume=ns.resume, overwrite=ns.overwrite,
               quiet=ns.quiet)


def main(argv=None) -> int:
    t0 = time.perf_counter()
    out, history = execute(build_parser().parse_args(argv))
    last = next((r for r in reversed(history) if "sliced_w1" in r), {})
    summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in last.items() if k in ("modes_covered", "hq_frac", "reverse_kl",
                                                          "sliced_w1"))
    print(f"{out}: {history[-1]['step'] if history else 0} steps in "
          f"{time.perf_counter() - t0:.1f}s; {summary}")
    return 0

if __name__ == "__main__":
    run_main(main)
