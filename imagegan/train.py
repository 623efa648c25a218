"""Train a DCGAN-style GAN on images with any objective from ``toygan.losses``.

    python -m imagegan.train                                   # built-in digits, 32 px
    python -m imagegan.train --data ~/faces --size 64 --width 64 --loss bce --epochs 20
    python -m imagegan.train --data ~/faces --size 64 --loss wgan-gp --out runs/faces-wgangp
    python -m imagegan.train --resume runs/faces-wgangp --steps 40000   # continue, raise the total
    torchrun --nproc_per_node=4 -m imagegan.train --data ~/faces --size 64 --loss wgan-gp

Under ``torchrun`` it runs PyTorch DDP (NCCL on CUDA, gloo on CPU): ``--batch-size`` is per
process (the global batch is batch x processes), each epoch is split across processes by a
``DistributedSampler`` (``set_epoch`` every epoch, so the union of the processes' batches is the
single-process batch), latent vectors are drawn for the global batch and sliced per process,
logged losses are averaged across processes, and only rank 0 writes files or prints. BatchNorm
becomes SyncBatchNorm on CUDA (PyTorch's SyncBatchNorm is GPU-only: on CPU each process
normalises its own share of the batch).

The run folder holds ``config.json``, ``stats.jsonl`` (losses every ``log_every`` steps, images/s,
the epoch; metrics at every evaluation), ``samples/step_NNNNNN.png`` (an 8x8 grid from a fixed
latent batch through the EMA generator at every evaluation), ``samples.gif`` (those grids over
training, written at the end) and ``checkpoint.pt`` (``imagegan.checkpoint``: G, D, both
optimisers, the EMA generator, step, config, data fingerprint and RNG states; written
atomically, also on Ctrl-C). A step is one generator update after ``n_critic`` critic updates.
Mixed precision (``--amp``) and channels-last (``--channels-last``) default to on for CUDA and
can be asked for on the CPU too; gradient penalties are computed in float32.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from imagegan import checkpoint, fid
from imagegan import data as imdata
from imagegan.collapse import BEST_METRICS, COLLAPSE_FEATURES, RAW, default_best_metric, verdict
from imagegan.metrics import Evaluator
from imagegan.models import NORMS, Generator, make_critic, update_ema
from toygan import files, losses, pictures, tensorboard
from toygan.cli import Parser, add_run_flags, run_main
from toygan.config import BIG, add_config_flags, build, check, given, option
from toygan.device import AMP_MODES, DEVICES, SWITCHES, Precision, resolve_device
from toygan.device import use_channels_last as _use_channels_last
from toygan.errors import Diverged, UserError
from toygan.ganconfig import GANConfig
from toygan.loop import train_loop
from toygan.step import FiniteWatch, GANStep


@dataclass
class TrainConfig(GANConfig):
    """Every option of an image run. ``None`` means "the objective's recommended value"."""

    loss: str = option("bce", "objective (toygan.losses)", choices=list(losses.OBJECTIVES))
    data: str = option("digits", "digits, stacked-digits, or an image folder")
    size: int = option(32, "image size: 32, 64 or 128", choices=imdata.SIZES)
    width: int = option(32, "channel multiplier (64 = the homework baseline)", ge=1, le=4096)
    z_dim: int = option(100, "latent dimension", ge=1, le=65536)
    steps: int = option(3000, "generator updates to reach (total, also on resume)", ge=1, le=BIG)
    epochs: float | None = option(None, "train this many epochs instead of --steps", gt=0,
                                  le=1e6)
    batch_size: int = option(64, "images per batch (per process under torchrun); BatchNorm "
                             "needs at least 2", ge=2, le=65536)
    d_norm: str = option("auto", "critic norm: auto (batch; layer when a gradient penalty or R1 "
                         "is on: a per-sample penalty must not see batch statistics), batch, "
                         "layer, instance, none", choices=("auto",) + NORMS)
    ema: float = option(0.999, "EMA decay of the generator weights used for samples (0: off; "
                        "warmed up as min(ema, (1 + step) / (10 + step)))",
                        ge=0, lt=1)
    log_every: int = option(50, "steps between loss records", ge=1, le=BIG)
    eval_every: int = option(500, "steps between sample grids and metrics", ge=1, le=BIG)
    eval_metrics: bool = option(True, "log NDB, MS-SSIM (and stacked-digit modes) at "
                                      "evaluations, warn when they say the run collapses")
    inception_metrics: str = option("", "comma list of fid, kid, pr logged for the EMA generator "
                                    "at evaluations in the FID Inception's features (needs the "
                                    "weights: --inception-weights; slow on a CPU, see "
                                    "BENCHMARKS.md)")
    inception_weights: str | None = option(None, "the FID Inception weights file (default: "
                                           "$IMAGEGAN_INCEPTION_WEIGHTS or the torch hub cache; "
                                           "'random': a fixed random conv net, not FID)")
    fid_n: int | None = option(None, "images on each side for FID/KID/PR (default: 10000 or the "
                               "data set's size, whichever is smaller)", ge=2, le=10**6)
    collapse_features: str = option("embedding", "the collapse verdict's neighbourhoods "
                                    "(precision, near-duplicates): the download-free embedding, "
                                    "or the FID Inception's features (needs --inception-weights; "
                                    "slow on a CPU)", choices=COLLAPSE_FEATURES)
    keep_best: str = option("auto", "keep best.pt, the checkpoint with the best value of this "
                            "metric (auto: stacked_modes on stacked-digits, else ndb_js; none: "
                            "off)", choices=("auto", "none") + tuple(BEST_METRICS))
    ckpt_every: int = option(500, "steps between checkpoints (also on Ctrl-C)", ge=1, le=BIG)
    device: str = option("auto", "auto, cpu, cuda or mps", choices=DEVICES)
    amp: str = option("auto", "mixed precision: auto (bf16 on CUDA, off elsewhere), bf16, fp16, "
                      "off — bf16 and fp16 work on the CPU too", choices=AMP_MODES)
    channels_last: str = option("auto", "channels-last memory format: auto (on for CUDA), on, "
                                "off", choices=SWITCHES)
    cache_dir: str | None = option(None, "image cache folder (default ~/.cache/imagegan)")
    tensorboard: bool = option(False, "also write the records and sample grids as TensorBoard "
                               "events under RUN/tensorboard at every checkpoint "
                               "(toygan.tensorboard)")

    def resolved(self) -> TrainConfig:
        check(self)
        c = self.resolve_objective()
        if c.bug == "batchnorm-critic":  # the zoo's BatchNorm inside a penalised critic
            c.d_norm = "batch"
        if c.d_norm == "auto":
            c.d_norm = "layer" if c.penalties() else "batch"
        elif c.d_norm == "batch" and c.penalties() and c.bug != "batchnorm-critic":
            raise UserError(f"--d-norm batch with {c.penalties()[0]}: each image's penalty would "
                            "depend on the rest of the batch through BatchNorm's statistics; use "
                            "--d-norm layer, instance or none (auto picks layer)")
        if c.tensorboard:
            tensorboard.writer_class()  # one line when the package is missing
        if c.collapse_features == "inception":
            if not c.eval_metrics:
                raise UserError("--collapse-features inception measures at evaluations: drop "
                                "--no-eval-metrics")
            if c.inception_weights != "random":
                fid.find_weights(c.inception_weights)  # one line, before any folder is made
        if c.inception_metrics:
            fid.parse_metrics(c.inception_metrics)
            if not c.eval_metrics:
                raise UserError("--inception-metrics are logged at evaluations: drop "
                                "--no-eval-metrics")
            if c.inception_weights != "random":
                fid.find_weights(c.inception_weights)  # one line, before any folder is made
        return c


class Trainer:
    """Models, optimisers and the data stream of one image run (one process)."""

    runs = 1  # one run per step (toy trainers may stack several)

    def __init__(self, cfg: TrainConfig, progress: bool = True, rank: int = 0, world: int = 1):
        self.cfg = cfg = cfg.resolved()
        self.rank, self.world = rank, world
        self.obj = losses.OBJECTIVES[cfg.loss]
        self.device = resolve_device(cfg.device)
        self.precision = Precision(cfg.amp, self.device)
        self.channels_last = _use_channels_last(cfg.channels_last, self.device)
        self.data = imdata.load(cfg.data, cfg.size, cfg.cache_dir, progress and rank == 0)
        if len(self.data) < cfg.batch_size * world:
            raise UserError(f"{cfg.data} has {len(self.data)} images, fewer than one batch "
                            f"({cfg.batch_size} x {world} processes); lower --batch-size")
        if cfg.inception_metrics:
            fid.default_n(len(self.data), cfg.fid_n)  # --fid-n within the data, before any folder
        images = torch.from_numpy(np.ascontiguousarray(self.data.images))
        self.images = images.pin_memory() if self.device.type == "cuda" else images
        self._build_models()
        self.step = 0
        self.batches_drawn = 0  # data position: epoch and offset follow from it
        self.rng = torch.Generator().manual_seed(cfg.seed + 1)  # same stream on every rank
        self.z_fixed = torch.randn(64, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed))
        self.sampler = DistributedSampler(range(len(self.data)), num_replicas=world, rank=rank,
                                          shuffle=True, seed=cfg.seed, drop_last=True)
        self.per_epoch = max(len(self.sampler) // cfg.batch_size, 1)
        self._perm_epoch, self._perm = -1, None

    def _build_models(self) -> None:
        cfg, cuda = self.cfg, self.device.type == "cuda"
        torch.manual_seed(cfg.seed)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.G = Generator(cfg.size, cfg.width, cfg.z_dim).to(self.device, memory_format=fmt)
        self.D = make_critic(self.obj.output, cfg.size, cfg.width, cfg.d_norm, cfg.spectral_norm,
                             pack=cfg.pack, mbstd=cfg.mbstd).to(self.device, memory_format=fmt)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # Under DDP the wrappers synchronise gradients; the plain modules serve no-grad passes
        # (G while the critic learns, D inside the generator's loss) and checkpoints.
        G_train, D_train = self.G, self.D
        if self.world > 1:
            ids = [self.device.index] if cuda else None
            if cuda:
                self.G = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.G)
                self.D = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.D)
            G_train, D_train = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
        self.opt_g = losses.make_optimizer(cfg.optimizer, self.G.parameters(), cfg.lr_g, cfg.betas)
        self.opt_d = losses.make_optimizer(cfg.optimizer, self.D.parameters(), cfg.lr_d, cfg.betas)
        self.schedulers = []
        if cfg.lr_decay == "linear":
            self.schedulers = [torch.optim.lr_scheduler.LinearLR(
                o, start_factor=1.0, end_factor=0.0, total_iters=cfg.steps)
                for o in (self.opt_g, self.opt_d)]
        self.gan = GANStep(cfg, self.obj, self.G, self.D, self.opt_g, self.opt_d,
                           precision=self.precision, G_train=G_train, D_train=D_train)

    # -- data -----------------------------------------------------------------------------------

    def _real(self) -> torch.Tensor:
        """The next batch of this process's share of the epoch (DistributedSampler order)."""
        cfg = self.cfg
        epoch, k = divmod(self.batches_drawn, self.per_epoch)
        if epoch != self._perm_epoch:
            self.sampler.set_epoch(epoch)
            # Interleave the processes' shares so that batch k of every process together is
            # batch k of a single process over the same permutation.
            self._perm, self._perm_epoch = torch.tensor(list(self.sampler)), epoch
        idx = self._perm[k * cfg.batch_size: (k + 1) * cfg.batch_size]
        self.batches_drawn += 1
        x = imdata.to_float(self.images[idx].to(self.device, non_blocking=True))
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _z(self, n: int) -> torch.Tensor:
        """This process's slice of latent vectors drawn for the global batch."""
        z = torch.randn(n * self.world, self.cfg.z_dim, generator=self.rng)
        return z[self.rank * n: (self.rank + 1) * n].to(self.device, non_blocking=True)

    @property
    def epoch(self) -> float:
        return self.batches_drawn / self.per_epoch

    # -- one step -------------------------------------------------------------------------------

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        terms = self.gan(self._real, self._z, cfg.batch_size)
        if cfg.ema > 0:
            # Warm-up as TensorFlow's ExponentialMovingAverage: early on the average follows
            # the generator closely, later it settles at --ema (0.999 lags ~1000 steps).
            update_ema(self.G_ema, self.G, min(cfg.ema, (1 + self.step) / (10 + self.step)))
        else:
            self.G_ema.load_state_dict(self.G.state_dict())
        for sched in self.schedulers:
            sched.step()
        self.step += 1
        return terms

    @torch.no_grad()
    def sample(self, z: torch.Tensor, raw: bool = False) -> torch.Tensor:
        """Images from the EMA generator, or (``raw``) from the generator being trained; both in
        eval mode (BatchNorm's running statistics), without touching the training state."""
        G = self.G if raw else self.G_ema
        was_training = G.training
        G.eval()
        try:
            with self.precision.autocast():
                return G(z.to(self.device)).float().cpu()
        finally:
            G.train(was_training)

    # -- checkpoints ----------------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "format": checkpoint.FORMAT,
            "config": dataclasses.asdict(self.cfg),
            "data_fingerprint": self.data.fingerprint,
            "step": self.step,
            "batches_drawn": self.batches_drawn,
            "G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "schedulers": [s.state_dict() for s in self.schedulers],
            "scaler": self.precision.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "z": self.rng.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def load_state(self, ckpt: dict) -> None:
        self.G.load_state_dict(ckpt["G"])
        self.D.load_state_dict(ckpt["D"])
        self.G_ema.load_state_dict(ckpt["G_ema"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        for s, sd in zip(self.schedulers, ckpt.get("schedulers", []), strict=False):
            s.load_state_dict(sd)
        self.precision.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.batches_drawn = ckpt["step"], ckpt["batches_drawn"]
        torch.set_rng_state(ckpt["rng"]["torch"])
        self.rng.set_state(ckpt["rng"]["z"])
        if ckpt["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])


def _target_steps(cfg: TrainConfig, trainer: Trainer) -> int:
    if cfg.epochs is not None:
        return max(1, int(round(cfg.epochs * trainer.per_epoch / cfg.n_critic)))
    return cfg.steps


class Records:
    """What rank 0 writes into the run folder while training: stats, grids, GIF, checkpoints."""

    def __init__(self, trainer: Trainer, out: Path, resume: bool, alarm: bool = True):
        self.t, self.out, self.alarm = trainer, out, alarm
        cfg = trainer.cfg
        self.samples = out / "samples"
        self.samples.mkdir(parents=True, exist_ok=True)
        files.write_json(out / "config.json", dataclasses.asdict(cfg))
        stats = out / "stats.jsonl"
        kept = []
        if resume and stats.exists():  # drop records past the checkpoint
            kept = [r for r in files.read_jsonl(stats, repair=True)
                    if r.get("step", 0) <= trainer.step]
        files.write_text(stats, "".join(json.dumps(r) + "\n" for r in kept))
        self.history = kept
        self.stats = open(stats, "a")
        self.frames = [pictures.read_png(p) for p in sorted(self.samples.glob("step_*.png"))
                       if int(p.stem[5:]) <= trainer.step]
        for p in self.samples.glob("step_*.png"):
            if int(p.stem[5:]) > trainer.step:
                p.unlink()
        self.last_ckpt = trainer.step
        self.evaluator = self.z_eval = self.fid = None
        self.ref: dict = {}
        self.best_metric = None
        self.best = None
        self.alarmed: set[str] = set()  # which generators the collapse warning was printed for
        self._was_healthy: dict[str, bool] = {}
        if cfg.eval_metrics:
            embed = (fid.extractor(cfg.inception_weights, trainer.device)
                     if cfg.collapse_features == "inception" else None)
            self.evaluator = Evaluator(trainer.data, cfg.size, cache_dir=cfg.cache_dir,
                                       seed=cfg.seed, embed=embed)
            self.z_eval = torch.randn(500, cfg.z_dim,
                                      generator=torch.Generator().manual_seed(cfg.seed + 7))
            self.ref = self.evaluator.reference(n=len(self.z_eval), n_pairs=200)
            self._was_healthy = {p: any(verdict(r, self.ref, p)[0] == "healthy"
                                        for r in self.history if r.get("step", 0) > 0)
                                 for p in ("", RAW)}
            if cfg.inception_metrics:
                self.fid = fid.FeatureMetrics(trainer.data, cfg.size,
                                              fid.parse_metrics(cfg.inception_metrics),
                                              cfg.fid_n, fid.extractor(cfg.inception_weights),
                                              cfg.cache_dir, cfg.seed)
                g = torch.Generator().manual_seed(cfg.seed + 11)
                self.z_fid = torch.cat([torch.randn(min(250, self.fid.n - i), cfg.z_dim,
                                                    generator=g)
                                        for i in range(0, self.fid.n, 250)])
            if cfg.keep_best != "none":
                self.best_metric = (default_best_metric(cfg.data) if cfg.keep_best == "auto"
                                    else cfg.keep_best)
                self.best = _best_so_far(self.history, self.best_metric)

    def grid(self) -> None:
        """The fixed latent batch's 8x8 grid: a PNG now, a GIF frame at the end."""
        grid = imdata.grid_image(imdata.to_uint8(self.t.sample(self.t.z_fixed)))
        imdata.save_image(self.samples / f"step_{self.t.step:06d}.png", grid)
        self.frames.append(grid)

    def evaluate(self) -> dict:
        """Metrics of the fixed evaluation latents through the EMA generator (plain keys) and the
        raw generator being trained (``raw_`` keys); a warning line when the collapse rule
        (``imagegan.collapse``) first fires for either; ``best.pt`` when the watched metric (of
        the EMA generator, the one samples come from) improves."""
        if self.evaluator is None:
            return {}
        m = self._metrics(raw=False)
        raw = m if self.t.cfg.ema == 0 else self._metrics(raw=True)
        m = {**m, **{f"{RAW}{k}": v for k, v in raw.items()}}
        if self.fid is not None:
            m.update(self._inception_metrics())
        if self.t.step == 0:
            return {**m, **self.ref}
        for prefix, who in (("", "EMA generator"), (RAW, "raw generator")):
            word, reason = verdict(m, self.ref, prefix)
            if word != "healthy" and who not in self.alarmed and self.alarm and \
                    self._was_healthy.get(prefix):
                self.alarmed.add(who)
                tqdm.write(f"warning: step {self.t.step} (epoch {self.t.epoch:.2f}): the {who} "
                           f"is {word} ({reason}); best.pt keeps the best generator so far",
                           file=sys.stderr)  # above the progress bar, not through it
            self._was_healthy[prefix] = self._was_healthy.get(prefix) or word == "healthy"
        if self.best_metric in m:
            sign = BEST_METRICS[self.best_metric]
            if self.best is None or sign * (m[self.best_metric] - self.best) > 0:
                if checkpoint.save(self.t.state(), self.out, "best"):
                    self.best = m[self.best_metric]
        return m

    def _inception_metrics(self) -> dict:
        """FID / KID / PR of ``fid_n`` images of the EMA generator (latents fixed by the seed),
        with the seconds they took (``fid_s``)."""
        t0 = time.perf_counter()
        fake = self._images(self.z_fid)
        return {**self.fid(fake), "fid_s": round(time.perf_counter() - t0, 2)}

    def _metrics(self, raw: bool) -> dict:
        return self.evaluator(self._images(self.z_eval, raw), n_pairs=200)

    def _images(self, z: torch.Tensor, raw: bool = False) -> np.ndarray:
        """uint8 images of latents ``z`` (in batches of 250) from the EMA or the raw generator."""
        return np.concatenate([imdata.to_uint8(self.t.sample(b, raw=raw)) for b in z.split(250)])

    def emit(self, rec: dict) -> None:
        self.history.append(rec)
        self.stats.write(json.dumps(rec) + "\n")
        self.stats.flush()

    def checkpoint(self) -> None:
        if checkpoint.save(self.t.state(), self.out):
            self.last_ckpt = self.t.step
        if self.t.cfg.tensorboard:
            tensorboard.export(self.out)  # the records so far, replacing the last export

    def close(self) -> None:
        self.stats.close()
        if self.frames:
            pictures.save_gif(self.out / "samples.gif", self.frames, fps=4)


def _best_so_far(history: list[dict], metric: str):
    """The best value of ``metric`` in the records so far (a resumed run keeps its best)."""
    vals = [r[metric] for r in history if r.get("step", 0) > 0 and r.get(metric) is not None]
    if not vals:
        return None
    return max(vals) if BEST_METRICS[metric] > 0 else min(vals)


def _check_finite(watch: FiniteWatch, rec: Records | None) -> None:
    """Raise :class:`Diverged` naming the first step whose losses were NaN/Inf, if one was."""
    bad = watch.first_bad()[0]
    if bad is not None:
        last = f"step {rec.last_ckpt}" if rec is not None else "the last"
        raise Diverged(f"training diverged at step {bad[0]}: {', '.join(bad[1])} is NaN/Inf; "
                       f"the last good checkpoint ({last}) is kept")


class ImageRecording:
    """What an image run records in :func:`toygan.loop.train_loop`: losses and images/s every
    ``log_every`` steps (averaged over the processes), a sample grid and the evaluation every
    ``eval_every``, a checkpoint every ``ckpt_every``; only rank 0 (``rec`` given) writes."""

    def __init__(self, trainer: Trainer, rec: Records | None, total: int, reduce, bar):
        self.t, self.rec, self.total, self.reduce, self.bar = trainer, rec, total, reduce, bar
        self.t_last, self.n_last = time.perf_counter(), 0

    def start(self) -> None:
        rec = self.rec
        if rec is None:
            return
        t_eval = time.perf_counter()
        rec.grid()
        first = rec.evaluate()
        if first:
            rec.emit({"step": 0, **first, "epoch": 0.0,
                      "eval_s": round(time.perf_counter() - t_eval, 4)})
        rec.checkpoint()  # a run folder always holds a checkpoint to resume from

    def _when(self, step: int) -> tuple[bool, bool, bool]:
        cfg, total = self.t.cfg, self.total
        return (step % cfg.log_every == 0 or step == total,
                step % cfg.eval_every == 0 or step == total,
                step % cfg.ckpt_every == 0 or step == total)

    def due(self, step: int) -> bool:
        return any(self._when(step))

    def finite(self, watch: FiniteWatch) -> bool:
        _check_finite(watch, self.rec)
        return True

    def record(self, step: int, terms: dict) -> None:
        t, cfg, rec = self.t, self.t.cfg, self.rec
        self.n_last += cfg.batch_size * (cfg.n_critic + 1) * t.world
        log, evaluate, ckpt = self._when(step)
        r = {"step": step}
        if log:
            vals = {k: float(v) for k, v in terms.items()}
            r.update(self.reduce(vals) if self.reduce is not None else vals)
            now = time.perf_counter()
            r["images_per_s"] = self.n_last / (now - self.t_last)
            self.t_last, self.n_last = now, 0
        if rec is None:
            return
        if evaluate:
            t_eval = time.perf_counter()
            rec.grid()
            r.update(rec.evaluate())
            r["eval_s"] = round(time.perf_counter() - t_eval, 4)
            self.t_last += r["eval_s"]  # images/s counts training only
        if len(r) > 1:
            r["epoch"] = round(t.epoch, 4)
            rec.emit(r)
            if "d_loss" in r:
                self.bar.set_postfix(d=f"{r['d_loss']:.3f}", g=f"{r['g_loss']:.3f}",
                                     img_s=f"{r['images_per_s']:.0f}", refresh=False)
        if ckpt:
            rec.checkpoint()

    def interrupted(self) -> None:
        if self.rec is not None:
            self.rec.checkpoint()
            print(f"interrupted at step {self.t.step}; checkpoint saved in {self.rec.out} "
                  f"(continue with --resume {self.rec.out})", file=sys.stderr)

    def close(self) -> None:
        if self.rec is not None:
            self.rec.close()


def train(cfg: TrainConfig, out, resume: bool = False, progress: bool = True,
          overwrite: bool = False, rank: int = 0, world: int = 1, reduce=None) -> Path:
    """Train into run folder ``out`` (only rank 0 writes); returns it."""
    out = Path(out)
    main_proc = rank == 0
    ckpt = checkpoint.load(out) if resume else None
    hint = f"use --resume {out}, --overwrite, or another --out"
    if not resume:
        files.prepare_dir(out, overwrite, hint=hint, check_only=True)
    if world > 1:
        dist.barrier()  # every rank has checked the folder before rank 0 writes into it
    trainer = Trainer(cfg, progress, rank, world)
    if ckpt is not None:
        checkpoint.check_compatible(ckpt, trainer.cfg, trainer.data.fingerprint)
        trainer.load_state(ckpt)
    elif main_proc:
        files.prepare_dir(out, overwrite, hint=hint)
    rec = Records(trainer, out, resume, alarm=progress) if main_proc else None
    total = _target_steps(trainer.cfg, trainer)
    bar = tqdm(total=total, initial=trainer.step,
               desc=f"{trainer.cfg.loss} on {Path(trainer.cfg.data).name}",
               disable=not (progress and rec is not None), file=sys.stderr, dynamic_ncols=True)
    train_loop(trainer, ImageRecording(trainer, rec, total, reduce, bar), total, bar)
    return out


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.train", description=__doc__.split("\n\n")[0])
    add_config_flags(p, TrainConfig)
    add_run_flags(p, "run folder (default runs/images-LOSS-DATA-seedS)",
                  "continue the run in RUN_DIR (flags other than --steps, --epochs, --data for "
                  "the same images elsewhere, ... must match)")
    return p


def config_for(typed: dict, out=None, resume=None) -> tuple[TrainConfig, Path]:
    """The run's config and folder: a new run's from the fields ``typed``, or (``resume``) the
    checkpoint's with ``typed`` on top."""
    if resume:
        run = Path(resume)
        saved = checkpoint.load(run)["config"]
        base = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()}
        return build(TrainConfig, {**base, **typed}), run
    cfg = build(TrainConfig, typed)
    cfg.resolved()
    name = Path(cfg.data).name or "data"
    return cfg, Path(out or f"runs/images-{cfg.loss}-{name}-{cfg.size}px-seed{cfg.seed}")


def run(typed: dict, *, out=None, resume=None, overwrite: bool = False,
        quiet: bool = False) -> tuple[Path, int]:
    """``python -m imagegan.train``: train (one process of torchrun, or the only one) the run
    that the config fields ``typed`` describe in ``out``, or continue the run in ``resume``;
    returns the run folder and this process's rank."""
    cfg, out = config_for(typed, out, resume)
    rank, world, reduce = init_distributed(cfg)
    try:
        train(cfg, out, resume=bool(resume), progress=not quiet, overwrite=overwrite,
              rank=rank, world=world, reduce=reduce)
    finally:
        if world > 1:
            dist.destroy_process_group()
    return out, rank


def execute(ns) -> tuple[Path, int]:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(given(ns, TrainConfig), out=ns.out, resume=ns.resume, overwrite=ns.overwrite,
               quiet=ns.quiet)


def main(argv=None) -> int:
    t0 = time.perf_counter()
    out, rank = execute(build_parser().parse_args(argv))
    if rank == 0:
        print(f"{out}: done in {time.perf_counter() - t0:.0f}s; samples in "
              f"{out / 'samples.gif'}")
    return 0


def init_distributed(cfg: TrainConfig):
    """(rank, world, reduce) — a process group when launched by torchrun, else (0, 1, None).

    ``reduce`` averages a dict of floats across processes (for the logged losses).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, None
    use_cuda = cfg.device in ("auto", "cuda") and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device("cuda", torch.cuda.current_device()) if use_cuda else torch.device("cpu")

    def reduce(values: dict) -> dict:
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return {k: float(v) / world for k, v in zip(keys, t.tolist(), strict=True)}

    return dist.get_rank(), world, reduce


if __name__ == "__main__":
    run_main(main)
