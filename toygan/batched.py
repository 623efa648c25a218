"""Many toy runs of one architecture trained together as one stacked computation.

    from toygan.batched import train_runs
    recs = train_runs([TrainConfig(loss="bce", seed=s) for s in range(16)], outs=[None] * 16)

K runs that share an objective and an architecture (they may differ in seed and data set) are
built exactly as K single runs would be (``toygan.train.Trainer``: same seed, same initial
weights, same data stream, same random draws inside the losses), then every ``nn.Linear`` is
replaced by a :class:`StackedLinear` holding the K weight matrices as one ``(K, out, in)`` tensor,
and every ``BatchNorm1d`` by a per-run :class:`StackedBatchNorm1d`. A batch is the K runs' samples
stacked run-major, shape ``(K * N, d)``; each layer multiplies each run's block by its own weights
(``torch.baddbmm``), and the losses (``runs=K``, see ``toygan.losses``) return one value per run,
so minimising their sum gives every run exactly its own gradient. Adam, RMSProp, weight clipping
and the learning-rate schedule act elementwise, so stacked optimiser state is K independent
optimisers. The result equals training each run alone up to float rounding (tests/test_batched.py).

The records are the single runs' records: one ``config.json``, ``stats.jsonl`` and
``snapshots.npz`` per run. ``benchmarks/batched_speed.py`` measures the speed-up.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from toygan.models import eval_mode, sample_noise, slot_batch_norm
from toygan.train import (
    Recorder,
    TrainConfig,
    Trainer,
    critic_grid,
    run_training,
    snapshot_arrays,
)

# Fields that may differ between runs trained together; everything else must be equal.
PER_RUN_FIELDS = ("seed", "data")


class StackedLinear(nn.Module):
    """K linear layers as one: weight (K, out, in), bias (K, out); input (K * N, in), run-major.

    Spectral norm (if the source layers had it) is applied per run exactly as
    ``torch.nn.utils.parametrizations.spectral_norm`` does: one power iteration per forward in
    training mode, from each run's own ``u``, ``v`` vectors.
    """

    def __init__(self, layers: list[nn.Linear]):
        super().__init__()
        self.sn = parametrize.is_parametrized(layers[0], "weight")
        weights = [(lin.parametrizations.weight.original if self.sn else lin.weight).detach()
                   for lin in layers]
        self.weight = nn.Parameter(torch.stack(weights).clone())
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in layers]).clone())
        if self.sn:
            norms = [lin.parametrizations.weight[0] for lin in layers]
            self.eps = norms[0].eps
            self.register_buffer("_u", torch.stack([n._u for n in norms]).clone())
            self.register_buffer("_v", torch.stack([n._v for n in norms]).clone())

    def effective_weight(self) -> Tensor:
        W = self.weight
        if not self.sn:
            return W
        if self.training:
            with torch.no_grad():
                self._u.copy_(F.normalize(torch.bmm(W, self._v.unsqueeze(2)).squeeze(2), dim=1,
                                          eps=self.eps))
                self._v.copy_(F.normalize(torch.bmm(W.transpose(1, 2), self._u.unsqueeze(2))
                                          .squeeze(2), dim=1, eps=self.eps))
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * torch.bmm(W, v.unsqueeze(2)).squeeze(2)).sum(1)
        return W / sigma[:, None, None]

    def forward(self, x: Tensor) -> Tensor:
        K, n_out, n_in = self.weight.shape
        y = torch.baddbmm(self.bias.unsqueeze(1), x.reshape(K, -1, n_in),
                          self.effective_weight().transpose(1, 2))
        return y.reshape(-1, n_out)


class StackedBatchNorm1d(nn.Module):
    """K BatchNorm1d layers, each normalising (and tracking the statistics of) its own run."""

    def __init__(self, layers: list[nn.BatchNorm1d]):
        super().__init__()
        first = layers[0]
        self.eps, self.momentum = first.eps, first.momentum
        self.stats = getattr(first, "stats", "pytorch")
        self.slots = 1  # per pack slot inside a training step (models.slot_statistics)
        self.weight = nn.Parameter(torch.stack([b.weight.detach() for b in layers]).clone())
        self.bias = nn.Parameter(torch.stack([b.bias.detach() for b in layers]).clone())
        self.register_buffer("running_mean", torch.stack([b.running_mean for b in layers]).clone())
        self.register_buffer("running_var", torch.stack([b.running_var for b in layers]).clone())
        if self.stats == "blocks":
            self.register_buffer("running_std",
                                 torch.stack([b.running_std for b in layers]).clone())

    def forward(self, x: Tensor) -> Tensor:
        K, C = self.weight.shape
        std = self.running_std if self.stats == "blocks" else None
        if self.training:
            h = x.reshape(K, -1, self.slots, C)             # (runs, packs, slots, C)
            return slot_batch_norm(h, self.weight, self.bias, self.running_mean,
                                   self.running_var, self.momentum, self.eps,
                                   std).reshape(-1, C)
        h = x.reshape(K, -1, C)
        scale = 1 / std[:, None] if std is not None else \
            torch.rsqrt(self.running_var[:, None] + self.eps)
        out = (h - self.running_mean[:, None]) * scale
        return (out * self.weight[:, None] + self.bias[:, None]).reshape(-1, C)


def stack_modules(modules: list[nn.Module]) -> nn.Module:
    """One module computing all of ``modules`` (same architecture) on a run-major stacked batch.

    Linear and BatchNorm1d layers are stacked; every other layer must act on each sample alone
    (activations, maxout) or know about runs (``runs`` attribute, e.g. the minibatch-std critic).
    """
    out = copy.deepcopy(modules[0])

    def replace(parent: nn.Module, sources: list[nn.Module]) -> None:
        for name, child in list(parent.named_children()):
            kids = [getattr(s, name) for s in sources]
            if isinstance(child, nn.Linear):
                setattr(parent, name, StackedLinear(kids))
            elif isinstance(child, nn.BatchNorm1d):
                setattr(parent, name, StackedBatchNorm1d(kids))
            else:
                replace(child, kids)

    replace(out, modules)
    for m in out.modules():
        if hasattr(m, "runs"):
            m.runs = len(modules)
        if not isinstance(m, StackedLinear | StackedBatchNorm1d) and any(
                True for _ in m.parameters(recurse=False)):
            raise ValueError(f"cannot stack {type(m).__name__}: only Linear and BatchNorm1d "
                             "layers hold parameters in a stackable model")
    return out


class BatchedTrainer(Trainer):
    """K toy runs trained as one: ``train_step`` does one generator update of every run."""

    checkpoints = False  # a study resumes by skipping finished runs, not from a checkpoint

    def __init__(self, cfgs: list[TrainConfig]):
        if not cfgs:
            raise ValueError("no runs to train")
        # Build each run exactly as alone; keep each run's global-RNG stream for the losses.
        self.singles: list[Trainer] = []
        self.noise: list[torch.Generator] = []
        for cfg in cfgs:
            self.singles.append(Trainer(cfg))
            g = torch.Generator()
            g.set_state(torch.get_rng_state())
            self.noise.append(g)
        first = self.singles[0]
        shared = {k: v for k, v in dataclasses.asdict(first.cfg).items()
                  if k not in PER_RUN_FIELDS}
        for t in self.singles[1:]:
            diff = [k for k, v in shared.items() if getattr(t.cfg, k) != v]
            if diff:
                raise ValueError(f"runs trained together may differ only in "
                                 f"{', '.join(PER_RUN_FIELDS)}; these differ: {', '.join(diff)}")
        self.cfg, self.obj, self.device = first.cfg, first.obj, first.device
        self.data = first.data
        self.runs = len(cfgs)
        self.G = stack_modules([t.G for t in self.singles])
        self.D = stack_modules([t.D for t in self.singles])
        self._build_step(rand=self._rand)

    @property
    def cfgs(self) -> list[TrainConfig]:
        return [t.cfg for t in self.singles]

    @property
    def real_vis_runs(self) -> list[Tensor]:
        return [t.real_vis for t in self.singles]

    @property
    def data_runs(self) -> list:
        return [t.data for t in self.singles]

    def _stack(self, tensors) -> Tensor:
        return torch.cat(list(tensors)).to(self.device, non_blocking=True)

    def _real(self, n):
        return self._stack(t.train_data.sample(n, t.rng) for t in self.singles)

    def _z(self, n):
        return self._stack(sample_noise(self.cfg.noise, n, self.cfg.z_dim, t.rng)
                           for t in self.singles)

    def _rand(self, shape, device):
        """U[0, 1) for the losses: each run's block from that run's own stream."""
        block = (shape[0] // self.runs,) + tuple(shape[1:])
        return torch.cat([torch.rand(block, generator=g) for g in self.noise]).to(device)

    def run_terms(self, terms):
        K = self.runs
        values = {k: v.detach().reshape(-1).expand(K).cpu().tolist() for k, v in terms.items()}
        return [{k: v[i] for k, v in values.items()} for i in range(K)]

    def _split(self, x) -> list:
        return list(x.chunk(self.runs))

    @torch.no_grad()
    def eval_fakes(self) -> list[Tensor]:
        with eval_mode(self.G):
            return self._split(self.G(self._stack(t.z_eval for t in self.singles)).cpu())

    def evaluate_runs(self, fakes: list[Tensor]) -> list[dict]:
        out = []
        for t, fake in zip(self.singles, fakes, strict=True):
            # Each run's own trainer measures its block, with its data and evaluation set.
            out.append(t.evaluate(fake) if torch.isfinite(fake).all() else {})
        return out

    def snapshot_runs(self) -> list[dict]:
        res = self.cfg.grid_res
        grids = (critic_grid(t.data.extent, res, self.cfg.pack) for t in self.singles)
        snap = snapshot_arrays(self, self._stack(grids),
                               self._stack(t.z_vis for t in self.singles),
                               self._stack(t.real_vis for t in self.singles),
                               self.latent_grid().repeat(self.runs, 1))
        per_run = [dict() for _ in self.singles]
        for k, v in snap.items():
            for d, part in zip(per_run, _chunks(v, self.runs), strict=True):
                d[k] = part.reshape(res, res) if k == "critic" else part
        return per_run


def _chunks(array, k):
    n = len(array) // k
    return [array[i * n:(i + 1) * n] for i in range(k)]


def train_runs(cfgs: list[TrainConfig], outs: list[str | Path | None], progress: bool = True,
               overwrite: bool = False, stop_on_nan: bool = False) -> list[Recorder]:
    """Train runs of one architecture together and record each like ``toygan.train.train``.

    Returns one :class:`~toygan.train.Recorder` per run (``history``, ``diverged_at``). A run
    whose loss turns NaN/Inf stops recording at that step; the others go on.
    """
    return run_training(BatchedTrainer(cfgs), outs, progress, overwrite, stop_on_nan)
