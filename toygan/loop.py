"""The one training loop of every trainer: toy runs, stacked toy runs and image runs.

``train_loop(trainer, rec, total, bar)`` steps ``trainer`` to ``total`` generator updates. What a
kind of run records — stats records, evaluations, snapshots or sample grids, checkpoints — is its
``rec`` (a :class:`Recording`): the toy one is ``toygan.train.ToyRecording``, the image one
``imagegan.train.ImageRecording``. The loop itself owns what every run shares:

* the records of step 0 (``rec.start()``) before the first update, unless resuming;
* each step's loss terms tracked for NaN/Inf on the device (:class:`toygan.step.FiniteWatch`)
  and read by the host only at steps that record something (``rec.due(step)``), so a GPU is
  never made to wait between two recorded steps; ``rec.finite(watch)`` raises
  :class:`toygan.errors.Diverged` or ends the runs that diverged (False: none is left);
* Ctrl-C: ``rec.interrupted()`` (a checkpoint) before it propagates; ``rec.close()`` always.
"""

from __future__ import annotations

from typing import Protocol

from toygan.step import FiniteWatch


class Recording(Protocol):
    def start(self) -> None:
        """Record step 0 (a new run)."""

    def due(self, step: int) -> bool:
        """Whether anything is recorded at ``step`` (the host reads the losses only then)."""

    def finite(self, watch: FiniteWatch) -> bool:
        """Act on the runs whose losses turned NaN/Inf; False when no run is left to train."""

    def record(self, step: int, terms: dict) -> None:
        """Record what is due at ``step`` (its loss terms, evaluations, frames, checkpoint)."""

    def interrupted(self) -> None:
        """Ctrl-C: save what resuming needs."""

    def close(self) -> None:
        """Write what is kept to the end (GIFs, sample arrays) and close the files."""


def train_loop(trainer, rec: Recording, total: int, bar) -> None:
    """Train ``trainer`` (``train_step()``, ``step``, ``runs``) to ``total`` steps, recording
    through ``rec``; ``bar`` is the progress bar (tqdm), closed at the end."""
    watch = FiniteWatch(trainer.runs)
    try:
        if trainer.step == 0:
            rec.start()
        while trainer.step < total:
            terms = trainer.train_step()
            step = trainer.step
            watch.track(terms, step)
            if rec.due(step) and not rec.finite(watch):
                break
            rec.record(step, terms)
            bar.update(1)
    except KeyboardInterrupt:
        rec.interrupted()
        raise
    finally:
        bar.close()
        rec.close()
