"""What imagegan's Python API returns (beside ``toygan.results``' Grid, Study and Report), and
how it shows itself in Jupyter and Colab.

* :class:`ImageRun` — an ``imagegan.train`` run: ``config``, ``records``, ``evaluations``,
  ``statuses`` (the collapse rule's verdict on both generators), ``grid`` (the latest fixed-latent
  grid), ``samples`` (the training GIF); shows its verdict, last metrics and grid.
* :class:`Evaluation` — ``imagegan.evaluate``'s result: a dict, shown as a table.
"""

from __future__ import annotations

import html
from pathlib import Path

from toygan.errors import UserError
from toygan.htmlpage import table_html
from toygan.results import Animation, Grid, RecordedRun

SHOWN = ("step", "epoch", "precision", "duplicates", "ndb_missing", "coverage", "ndb_js",
         "stacked_modes", "fid", "kid", "d_loss", "g_loss")


class ImageRun(RecordedRun):
    EVAL_KEY = "ms_ssim"
    WHAT = "an imagegan run folder"

    @property
    def reference(self) -> dict:
        """The real images' own values of the metrics (``*_real``), as the verdict uses them."""
        ref = next((r for r in self.records if "precision_real" in r or "ms_ssim_real" in r), {})
        return {k: v for k, v in ref.items() if k.endswith("_real")}

    @property
    def statuses(self) -> dict:
        """``imagegan.collapse.run_statuses``: kept / late / recovered / lost / never, with the
        onset, for the raw generator (plain keys) and the EMA one (``*_ema``)."""
        from imagegan import collapse

        return collapse.run_statuses(self.records, self.reference)

    def verdict(self) -> str:
        from imagegan import collapse

        st = self.statuses
        return f"raw G: {collapse.describe(st)}; EMA G: {collapse.describe(st, '_ema')}"

    @property
    def grid(self) -> Grid:
        grids = sorted((self.path / "samples").glob("step_*.png"))
        if not grids:
            raise UserError(f"{self.path} has no sample grid yet")
        return Grid(grids[-1])

    @property
    def samples(self) -> Animation:
        return Animation(self.path / "samples.gif")

    def checkpoint(self, which: str = "latest") -> dict:
        from imagegan import checkpoint

        return checkpoint.load(self.path, which)

    def _repr_html_(self) -> str:
        c = self.config
        head = (f"<b>{html.escape(str(c.get('loss')))} on {html.escape(str(c.get('data')))}, "
                f"{c.get('size')} px, seed {c.get('seed')}</b> — <code>"
                f"{html.escape(str(self.path))}</code>")
        parts = [head]
        if self.evaluations:
            parts.append(f"<p>{html.escape(self.verdict())}</p>")
            parts.append(table_html([self.final], [k for k in SHOWN if k in self.final]))
        grids = sorted((self.path / "samples").glob("step_*.png"))
        if grids:
            from toygan.htmlpage import image_html

            parts.append(image_html(grids[-1], grids[-1].name))
        return "".join(parts)


class Evaluation(dict):
    """``imagegan.evaluate``'s numbers (also in RUN/eval.json), shown as a table."""

    def __init__(self, values: dict, path):
        super().__init__(values)
        self.path = Path(path)

    def _repr_html_(self) -> str:
        rows = [{"metric": k, "value": v} for k, v in self.items()]
        return table_html(rows, ["metric", "value"])
