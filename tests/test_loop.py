"""The one training loop (toygan.loop) under every trainer: the host reads no tensor between two
recorded steps, so a GPU is never made to wait for the losses it has not been asked for."""

import collections

import pytest
import torch

from toygan import loop

READS = ("item", "tolist", "__bool__", "__int__", "__float__", "__index__")


@pytest.fixture
def host_reads(monkeypatch):
    """Counts host reads of floating-point tensors per training step (the step being taken),
    and the steps the loop was told record something. Index tensors (a data sampler's epoch
    permutation, drawn on the host) are not the losses and are not counted."""
    reads: collections.Counter = collections.Counter()
    due: dict[int, bool] = {}
    step = {"now": None}
    for name in READS:
        orig = getattr(torch.Tensor, name)

        def counted(self, *args, _orig=orig, **kwargs):
            if step["now"] is not None and self.is_floating_point():
                reads[step["now"]] += 1
            return _orig(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    real_loop = loop.train_loop

    def watched(trainer, rec, total, bar):
        take, ask = trainer.train_step, rec.due

        def train_step():
            step["now"] = trainer.step + 1
            return take()

        def asked(s):
            due[s] = ask(s)
            return due[s]

        trainer.train_step, rec.due = train_step, asked
        try:
            real_loop(trainer, rec, total, bar)
        finally:
            step["now"] = None

    for module in ("toygan.train", "imagegan.train"):
        monkeypatch.setattr(f"{module}.train_loop", watched)
    return reads, due


TOY = dict(loss="wgan-gp", steps=12, log_every=6, eval_every=6, snapshots=2, ckpt_every=1000,
           g_width=32, d_width=32, snapshot_points=16, grid_res=8)


def _unrecorded(reads, due):
    quiet = [s for s, d in due.items() if not d]
    assert len(quiet) == 10  # 12 steps, 2 of them recorded
    return {s: reads[s] for s in quiet if reads[s]}


def test_a_toy_run_reads_nothing_between_recorded_steps(host_reads):
    from toygan.train import TrainConfig, train

    reads, due = host_reads
    train(TrainConfig(**TOY), None, progress=False)
    assert _unrecorded(reads, due) == {}
    assert reads[6] > 0  # the recorded steps do read (the check can fail)


def test_stacked_toy_runs_read_nothing_between_recorded_steps(host_reads):
    from toygan.batched import train_runs
    from toygan.train import TrainConfig

    reads, due = host_reads
    train_runs([TrainConfig(**TOY, seed=s) for s in (0, 1)], [None, None], progress=False)
    assert _unrecorded(reads, due) == {}
    assert reads[12] > 0


@pytest.mark.slow
def test_an_image_run_reads_nothing_between_recorded_steps(host_reads, tmp_path):
    from imagegan.train import TrainConfig, train

    reads, due = host_reads
    train(TrainConfig(steps=12, log_every=6, eval_every=6, ckpt_every=1000, width=4,
                      data="digits"), tmp_path / "run", progress=False)
    assert _unrecorded(reads, due) == {}
    assert reads[6] > 0
