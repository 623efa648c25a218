"""Train a DCGAN-style GAN on images with any objective from ``toygan.losses``.

    python -m imagegan.train                                   # built-in digits, 32 px, ~5 min CPU
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

The run folder holds ``config.json``, ``stats.jsonl`` (losses every ``log_every`` steps, images/s),
``samples/step_NNNNNN.png`` (an 8x8 grid from a fixed latent batch through the EMA generator at
every evaluation), ``samples.gif`` (those grids over training) and ``checkpoint.pt`` (G, D, both
optimisers, the EMA generator, step, config and RNG states; written atomically). A step is one
generator update after ``n_critic`` critic updates. On CUDA: bf16 autocast (fp16 with a gradient
scaler with ``--amp fp16``), channels_last, pinned host memory and non-blocking copies; gradient
penalties are computed in float32.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from imagegan import data as imdata
from imagegan.models import Generator, make_critic, update_ema
from toygan import losses
from toygan.cli import Diverged, Parser, UserError, add_config_flags, given, run_main
from toygan.data import DataError
from toygan.train import resolve_device

PENALISED = ("wgan-gp", "dragan")  # objectives whose critic must not use batch statistics
# Fields that may differ between a checkpoint and the run resuming it.
RESUMABLE = ("steps", "epochs", "device", "amp", "log_every", "eval_every", "ckpt_every",
             "cache_dir", "eval_metrics")


def _h(default, text):
    return field(default=default, metadata={"help": text})


@dataclass
class TrainConfig:
    """Every option of an image run. ``None`` means "the objective's recommended value"."""

    loss: str = _h("bce", "objective (toygan.losses)")
    data: str = _h("digits", "digits, stacked-digits, or an image folder")
    size: int = _h(32, "image size: 32, 64 or 128")
    width: int = _h(32, "channel multiplier (64 = the homework baseline)")
    z_dim: int = _h(100, "latent dimension")
    steps: int = _h(3000, "generator updates to reach (total, also on resume)")
    epochs: float | None = _h(None, "train this many epochs instead of --steps")
    batch_size: int = _h(64, "images per batch (per process under torchrun)")
    lr: float | None = _h(None, "learning rate of both players (default: the objective's)")
    betas: tuple[float, float] | None = _h(None, "Adam betas (default: the objective's)")
    n_critic: int | None = _h(None, "critic updates per generator update")
    gp_weight: float | None = _h(None, "gradient-penalty weight (wgan-gp, dragan)")
    clip: float | None = _h(None, "weight-clipping bound (wgan)")
    margin: float | None = _h(None, "EBGAN margin")
    pt_weight: float | None = _h(None, "EBGAN pull-away weight")
    d_norm: str = _h("auto", "critic norm: auto (batch, or layer with a penalty), batch, layer, "
                             "instance, none")
    spectral_norm: bool = _h(False, "spectral normalisation in the critic")
    ema: float = _h(0.999, "EMA decay of the generator weights used for samples (0: off)")
    seed: int = _h(0, "random seed: fixes everything")
    log_every: int = _h(50, "steps between loss records")
    eval_every: int = _h(500, "steps between sample grids and metrics")
    eval_metrics: bool = _h(True, "log NDB, MS-SSIM (and stacked-digit modes) at evaluations")
    ckpt_every: int = _h(500, "steps between checkpoints")
    device: str = _h("auto", "auto, cpu, cuda or mps")
    amp: str = _h("auto", "mixed precision on CUDA: auto (bf16), bf16, fp16, off")
    cache_dir: str | None = _h(None, "image cache folder (default ~/.cache/imagegan)")

    def resolved(self) -> TrainConfig:
        try:
            obj = losses.get_objective(self.loss)
        except ValueError as e:
            raise UserError(str(e)) from None
        c = dataclasses.replace(self)
        c.lr = c.lr or obj.lr
        c.betas = tuple(c.betas or obj.betas)
        c.n_critic = c.n_critic or obj.n_critic
        for k in ("gp_weight", "clip", "margin", "pt_weight"):
            if getattr(c, k) is None:
                setattr(c, k, obj.hparams.get(k))
        if c.d_norm == "auto":
            c.d_norm = "layer" if c.loss in PENALISED else "batch"
        if c.d_norm not in ("batch", "layer", "instance", "none"):
            raise UserError(f"unknown --d-norm {c.d_norm!r}")
        if c.size not in imdata.SIZES:
            raise UserError(f"--size must be one of 32, 64, 128, got {c.size}")
        for k in ("width", "z_dim", "steps", "batch_size", "n_critic", "log_every", "eval_every",
                  "ckpt_every"):
            if getattr(c, k) < 1:
                raise UserError(f"--{k.replace('_', '-')} must be >= 1, got {getattr(c, k)}")
        if c.amp not in ("auto", "bf16", "fp16", "off"):
            raise UserError(f"unknown --amp {c.amp!r}; choose from auto, bf16, fp16, off")
        if not 0 <= c.ema < 1:
            raise UserError("--ema must be in [0, 1)")
        return c

    def hparams(self) -> dict:
        return {k: getattr(self, k) for k in ("gp_weight", "margin", "pt_weight")
                if getattr(self, k) is not None}


def save_atomic(obj, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def grid_image(images_uint8: np.ndarray, nrow: int = 8, pad: int = 2) -> np.ndarray:
    """Tile (N, H, W, 3) uint8 images into one image with ``pad`` white pixels between."""
    n, h, w, _ = images_uint8.shape
    rows = math.ceil(n / nrow)
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    for i, im in enumerate(images_uint8):
        r, c = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y: y + h, x: x + w] = im
    return out


class Trainer:
    """Models, optimisers and the data stream of one image run (one process)."""

    def __init__(self, cfg: TrainConfig, progress: bool = True, rank: int = 0, world: int = 1):
        self.cfg = cfg = cfg.resolved()
        self.rank, self.world = rank, world
        self.obj = losses.get_objective(cfg.loss)
        self.device = resolve_device(cfg.device)
        cuda = self.device.type == "cuda"
        self.amp_dtype = None
        if cuda and cfg.amp != "off":
            self.amp_dtype = torch.float16 if cfg.amp == "fp16" else torch.bfloat16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        try:
            self.data = imdata.load(cfg.data, cfg.size, cfg.cache_dir, progress and rank == 0)
        except DataError as e:
            raise UserError(str(e)) from None
        if len(self.data) < cfg.batch_size * world:
            raise UserError(f"{cfg.data} has {len(self.data)} images, fewer than one batch "
                            f"({cfg.batch_size} x {world} processes); lower --batch-size")
        images = torch.from_numpy(np.ascontiguousarray(self.data.images))
        self.images = images.pin_memory() if cuda else images

        torch.manual_seed(cfg.seed)
        fmt = torch.channels_last if cuda else torch.contiguous_format
        self.G = Generator(cfg.size, cfg.width, cfg.z_dim).to(self.device, memory_format=fmt)
        self.D = make_critic(self.obj.output, cfg.size, cfg.width, cfg.d_norm, cfg.spectral_norm
                             ).to(self.device, memory_format=fmt)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # Under DDP the wrappers synchronise gradients; the plain modules serve no-grad passes
        # (G while the critic learns, D inside the generator's loss) and checkpoints.
        self.G_train, self.D_train = self.G, self.D
        if world > 1:
            ids = [self.device.index] if cuda else None
            if cuda:
                self.G = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.G)
                self.D = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.D)
            self.G_train = DDP(self.G, device_ids=ids)
            self.D_train = DDP(self.D, device_ids=ids)
        opt = self.obj.optimizer
        self.opt_g = losses.make_optimizer(opt, self.G.parameters(), cfg.lr, cfg.betas)
        self.opt_d = losses.make_optimizer(opt, self.D.parameters(), cfg.lr, cfg.betas)
        self.hp = cfg.hparams()
        self.step = 0
        self.batches_drawn = 0  # data position: epoch and offset follow from it
        self.rng = torch.Generator().manual_seed(cfg.seed + 1)  # same stream on every rank
        self.z_fixed = torch.randn(64, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed))
        self.sampler = DistributedSampler(range(len(self.data)), num_replicas=world, rank=rank,
                                          shuffle=True, seed=cfg.seed, drop_last=True)
        self.per_epoch = max(len(self.sampler) // cfg.batch_size, 1)
        self._perm_epoch, self._perm = -1, None

    # -- data -----------------------------------------------------------------------------------

    def _real(self) -> torch.Tensor:
        """The next batch of this process's share of the epoch (DistributedSampler order)."""
        cfg = self.cfg
        epoch, k = divmod(self.batches_drawn, self.per_epoch)
        if epoch != self._perm_epoch:
            self.sampler.set_epoch(epoch)
            # Interleave the processes' shares so that batch k of every process together is
            # batch k of a single process over the same permutation.
            share = torch.tensor(list(self.sampler))
            self._perm, self._perm_epoch = share, epoch
        idx = self._perm[k * cfg.batch_size: (k + 1) * cfg.batch_size]
        self.batches_drawn += 1
        batch = self.images[idx].to(self.device, non_blocking=True)
        x = imdata.to_float(batch)
        return x.contiguous(memory_format=torch.channels_last) if x.is_cuda else x

    def _z(self, n: int) -> torch.Tensor:
        """This process's slice of latent vectors drawn for the global batch."""
        z = torch.randn(n * self.world, self.cfg.z_dim, generator=self.rng)
        return z[self.rank * n: (self.rank + 1) * n].to(self.device, non_blocking=True)

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    # -- one step -------------------------------------------------------------------------------

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg, G, D = self.cfg, self.G, self.D
        G_train, D_train = self.G_train, self.D_train
        B = cfg.batch_size

        # Update critic.
        D.requires_grad_(True)
        for _ in range(cfg.n_critic):
            real = self._real()
            with torch.no_grad(), self._autocast():
                fake = G(self._z(len(real)))
            with self._autocast():
                d_terms = self.obj.critic_loss(D_train, real, fake.float(), **self.hp)
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_terms["loss"]).backward()
            self.scaler.step(self.opt_d)
            self.scaler.update()
            if cfg.clip is not None:
                losses.clip_weights(D, cfg.clip)

        # Update generator.
        D.requires_grad_(False)
        with self._autocast():
            fake = G_train(self._z(B))
            g_terms = self.obj.generator_loss(D, real, fake, **self.hp)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_terms["loss"]).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        D.requires_grad_(True)
        if cfg.ema > 0:
            update_ema(self.G_ema, G, cfg.ema)
        else:
            self.G_ema.load_state_dict(G.state_dict())
        self.step += 1
        terms = {f"d_{k}": v.detach().float() for k, v in d_terms.items()}
        terms.update({f"g_{k}": v.detach().float() for k, v in g_terms.items()})
        return terms

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self.G_ema(z.to(self.device)).float().cpu()

    # -- checkpoints ----------------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "format": "imagegan-checkpoint-1",
            "config": dataclasses.asdict(self.cfg),
            "step": self.step,
            "batches_drawn": self.batches_drawn,
            "G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "z": self.rng.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def load_state(self, ckpt: dict) -> None:
        self.G.load_state_dict(ckpt["G"])
        self.D.load_state_dict(ckpt["D"])
        self.G_ema.load_state_dict(ckpt["G_ema"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.batches_drawn = ckpt["step"], ckpt["batches_drawn"]
        torch.set_rng_state(ckpt["rng"]["torch"])
        self.rng.set_state(ckpt["rng"]["z"])
        if ckpt["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])


def load_checkpoint(run_dir: Path) -> dict:
    path = Path(run_dir) / "checkpoint.pt"
    if not path.exists():
        raise UserError(f"no checkpoint in {run_dir} (expected {path.name})")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 — truncated or foreign file
        raise UserError(f"cannot read {path}: {str(e).splitlines()[0][:200]}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != "imagegan-checkpoint-1":
        raise UserError(f"{path} is not an imagegan checkpoint")
    return ckpt


def check_compatible(saved: dict, cfg: TrainConfig) -> None:
    """Refuse to resume a checkpoint written under another configuration."""
    now = dataclasses.asdict(cfg.resolved())
    diff = [k for k in now if k not in RESUMABLE and k in saved and
            (list(saved[k]) if isinstance(saved[k], (list, tuple)) else saved[k]) !=
            (list(now[k]) if isinstance(now[k], (list, tuple)) else now[k])]
    if diff:
        shown = ", ".join(f"{k}: checkpoint {saved[k]!r} vs now {now[k]!r}" for k in diff[:3])
        raise UserError(f"checkpoint comes from another configuration ({shown})")


def _target_steps(cfg: TrainConfig, trainer: Trainer) -> int:
    if cfg.epochs is not None:
        return max(1, int(round(cfg.epochs * trainer.per_epoch / cfg.n_critic)))
    return cfg.steps


def train(cfg: TrainConfig, out, resume: bool = False, progress: bool = True,
          overwrite: bool = False, rank: int = 0, world: int = 1, reduce=None) -> Path:
    """Train into run folder ``out`` (only rank 0 writes); returns it."""
    out = Path(out)
    main_proc = rank == 0
    ckpt = None
    if resume:
        ckpt = load_checkpoint(out)
        check_compatible(ckpt["config"], cfg)
    elif (out / "checkpoint.pt").exists() or (out / "stats.jsonl").exists():
        if not overwrite:
            raise UserError(f"{out} already holds a run; use --resume {out}, --overwrite, "
                            "or another --out")
    if world > 1:
        dist.barrier()  # every rank has checked the folder before rank 0 writes into it
    trainer = Trainer(cfg, progress, rank, world)
    cfg = trainer.cfg
    if ckpt is not None:
        trainer.load_state(ckpt)
    total = _target_steps(cfg, trainer)

    stats_path, samples_dir = out / "stats.jsonl", out / "samples"
    if main_proc:
        try:
            samples_dir.mkdir(parents=True, exist_ok=True)
            (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
        except OSError as e:
            raise UserError(f"cannot write to {out}: {e.strerror}") from None
        kept = []
        if resume and stats_path.exists():  # drop records past the checkpoint
            kept = [line for line in stats_path.read_text().splitlines()
                    if line.strip() and json.loads(line)["step"] <= trainer.step]
        stats_path.write_text("".join(line + "\n" for line in kept))

    def save_grid():
        grid = grid_image(imdata.to_uint8(trainer.sample(trainer.z_fixed)))
        import imageio.v2 as imageio

        imageio.imwrite(samples_dir / f"step_{trainer.step:06d}.png", grid)
        frames = [imageio.imread(p) for p in sorted(samples_dir.glob("step_*.png"))]
        from toygan.render import save_gif

        save_gif(out / "samples.gif", frames, fps=4)

    last_ckpt = [trainer.step]

    def save_ckpt():
        save_atomic(trainer.state(), out / "checkpoint.pt")
        last_ckpt[0] = trainer.step

    evaluator, z_eval = None, None
    if main_proc and cfg.eval_metrics:
        from imagegan.evaluate import Evaluator

        evaluator = Evaluator(trainer.data, cfg.size, cache_dir=cfg.cache_dir, seed=cfg.seed)
        z_eval = torch.randn(500, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 7))

    def evaluate() -> dict:
        if evaluator is None:
            return {}
        fake = np.concatenate([imdata.to_uint8(trainer.sample(z)) for z in z_eval.split(250)])
        return evaluator(fake, n_pairs=200)

    bar = tqdm(total=total, initial=trainer.step, desc=f"{cfg.loss} on {Path(cfg.data).name}",
               disable=not (progress and main_proc), file=sys.stderr, dynamic_ncols=True)
    t_last, n_last = time.perf_counter(), 0
    with open(stats_path, "a") if main_proc else nullcontext() as stats:
        if main_proc and trainer.step == 0:
            save_grid()
            save_ckpt()  # a run folder always holds a checkpoint to resume from
        while trainer.step < total:
            terms = trainer.train_step()
            step = trainer.step
            n_last += cfg.batch_size * (cfg.n_critic + 1) * world
            if not all(torch.isfinite(v) for v in terms.values()):
                bad = ", ".join(k for k, v in terms.items() if not torch.isfinite(v))
                raise Diverged(f"training diverged at step {step}: {bad} is NaN/Inf; the last "
                               f"good checkpoint (step {last_ckpt[0]}) is kept in {out}")
            bar.update(1)
            log = step % cfg.log_every == 0 or step == total
            is_eval = step % cfg.eval_every == 0 or step == total
            rec = {"step": step}
            if log:
                vals = {k: float(v) for k, v in terms.items()}
                rec.update(reduce(vals) if reduce is not None else vals)
                now = time.perf_counter()
                rec["images_per_s"] = n_last / (now - t_last)
                t_last, n_last = now, 0
            if main_proc and is_eval:
                save_grid()
                rec.update(evaluate())
            if main_proc and len(rec) > 1:
                stats.write(json.dumps(rec) + "\n")
                stats.flush()
                if log:
                    bar.set_postfix(d=f"{rec['d_loss']:.3f}", g=f"{rec['g_loss']:.3f}",
                                    img_s=f"{rec['images_per_s']:.0f}", refresh=False)
            if main_proc and (step % cfg.ckpt_every == 0 or step == total):
                save_ckpt()
    bar.close()
    return out


def build_parser() -> Parser:
    p = Parser(prog="python -m imagegan.train", description=__doc__.split("\n\n")[0])
    add_config_flags(p, TrainConfig, choices={"loss": list(losses.OBJECTIVES)})
    p.add_argument("--out", default=None, help="run folder (default runs/images-LOSS-DATA-seedS)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR (other flags than --steps/--epochs "
                        "must match)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    typed = given(ns, TrainConfig)
    if ns.resume:
        run = Path(ns.resume)
        saved = load_checkpoint(run)["config"]
        base = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()}
        base.update(typed)
        cfg, out = TrainConfig(**base), run
    else:
        cfg = TrainConfig(**typed)
        name = Path(cfg.data).name or "data"
        out = Path(ns.out or f"runs/images-{cfg.loss}-{name}-{cfg.size}px-seed{cfg.seed}")
    rank, world, reduce = init_distributed(cfg)
    try:
        t0 = time.perf_counter()
        train(cfg, out, resume=bool(ns.resume), progress=not ns.quiet, overwrite=ns.overwrite,
              rank=rank, world=world, reduce=reduce)
        if rank == 0:
            print(f"{out}: done in {time.perf_counter() - t0:.0f}s; samples in "
                  f"{out / 'samples.gif'}")
    finally:
        if world > 1:
            dist.destroy_process_group()
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
