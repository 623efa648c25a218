"""What the Python API returns, and how each result shows itself in Jupyter and Colab.

Jupyter (and Colab, VS Code) displays the last value of a cell by calling its ``_repr_html_`` or
``_repr_png_``; these classes define them, so nothing here imports IPython. Each result is backed
by the files its command wrote: ``os.fspath(result)`` (or ``result.path``) is the file or folder,
and ``repr`` names it.

* :class:`Run` — a ``toygan.train`` run: ``config``, ``records`` (stats.jsonl as a list of dicts;
  ``dataframe()`` with pandas), ``checkpoint()``; shows its final frame and metrics.
* :class:`Animation` — a GIF that plays in the cell.
* :class:`Grid` — an image grid (PNG); :class:`Figure` — a plot and its numbers.
* :class:`Study` — a study folder (``toygan.compare``, ``imagegan.compare``): ``rows`` of
  results.csv, its table as HTML and its figures.
* :class:`Report` — ``imagegan.report``'s folder, shown as the report.
* :class:`Figures` — a folder of figures (``toygan.concepts``); :class:`Document` — a Markdown
  table a command wrote (``toygan.recount``, ``imagegan.calibrate``); :class:`Checked` —
  ``toygan.check``'s verdict on a loss function.
* :class:`Page` / :class:`LivePage` — ``toygan.view``'s page in an iframe.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from toygan import files
from toygan.errors import UserError
from toygan.htmlpage import data_uri, iframe, image_html, markdown_html, png_bytes, table_html
from toygan.study import read_csv


def dataframe(records: list[dict]):
    """``records`` as a pandas DataFrame (pandas is optional: one line says what to install)."""
    try:
        import pandas as pd
    except ImportError:
        raise UserError("dataframe() needs pandas: pip install pandas "
                        "(or use .records, a list of dicts)") from None
    return pd.DataFrame.from_records(records)


class Result:
    """A result backed by a file or folder the command wrote: ``os.fspath(result)`` is it."""

    def __init__(self, path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class Animation(Result):
    """A GIF; plays in a notebook cell."""

    def _repr_html_(self) -> str:
        return image_html(self.path, self.path.name)


class Grid(Result):
    """An image grid (PNG); ``images`` holds the individual images' paths when the command
    wrote them."""

    def __init__(self, path, images: list[Path] | None = None):
        super().__init__(path)
        self.images = images or []

    def array(self):
        """The grid as an RGB uint8 array."""
        import numpy as np
        from PIL import Image

        with Image.open(self.path) as im:
            return np.asarray(im.convert("RGB"))

    def _repr_png_(self) -> bytes:
        return self.path.read_bytes()


class Figure(Result):
    """A PNG figure and the numbers drawn in it (``data``: the JSON written beside it)."""

    def __init__(self, path):
        super().__init__(path)
        data = self.path.with_suffix(".json")
        self.data = json.loads(data.read_text()) if data.exists() else None

    def _repr_png_(self) -> bytes:
        return self.path.read_bytes()


class Figures(Result):
    """A folder of PNG figures (``figures``, in name order) and the numbers drawn in them
    (``data``: the folder's JSON, when it has one)."""

    def __init__(self, path, data_name: str | None = None):
        super().__init__(path)
        self.figures = sorted(self.path.glob("*.png"))
        data = self.path / data_name if data_name else None
        self.data = json.loads(data.read_text()) if data is not None and data.exists() else None

    def _repr_html_(self) -> str:
        return "".join(f"<p>{image_html(f, f.name)}</p>" for f in self.figures)


class Document:
    """A Markdown text a command wrote or printed (``markdown``; ``path`` when it is a file;
    ``data``: the numbers behind it), shown as HTML."""

    def __init__(self, markdown: str, path=None, data=None):
        self.markdown, self.data = markdown, data
        self.path = None if path is None else Path(path)

    def __repr__(self) -> str:
        return f"Document({str(self.path) if self.path else self.markdown[:40]!r})"

    def _repr_html_(self) -> str:
        return markdown_html(self.markdown, self.path.parent if self.path else Path("."))


class Checked:
    """``toygan.check``'s verdict on a loss function: ``checks`` (each ``{"check", "ok",
    "fix"}``) and ``passed``; shown as a table."""

    def __init__(self, results: list[tuple[str, bool, str | None]]):
        self.checks = [{"check": n, "ok": ok, "fix": fix} for n, ok, fix in results]
        self.passed = all(c["ok"] for c in self.checks)

    def __repr__(self) -> str:
        n = sum(c["ok"] for c in self.checks)
        return f"Checked({n}/{len(self.checks)} checks passed)"

    def _repr_html_(self) -> str:
        rows = [{"check": ("✔ " if c["ok"] else "✗ ") + c["check"], "fix": c["fix"] or ""}
                for c in self.checks]
        return f"<p>{html.escape(repr(self))}</p>" + table_html(rows)


# Figures a study folder may hold, in the order a notebook shows them.
STUDY_FIGURES = ("coverage.png", "final.png", "curves.png", "grids.png",
                 "collapsed-vs-mitigated.png")


class Study(Result):
    """A study folder: ``rows`` (results.csv), ``table`` (table.md), ``figures``."""

    def __init__(self, path):
        super().__init__(path)
        self.rows = read_csv(self.path / "results.csv")
        self.table = (self.path / "table.md").read_text()
        self.figures = [self.path / n for n in STUDY_FIGURES if (self.path / n).exists()]
        self.log = json.loads((self.path / "study.json").read_text())

    def dataframe(self):
        return dataframe(self.rows)

    def _repr_html_(self) -> str:
        return (markdown_html(self.table, self.path) +
                "".join(f"<p>{image_html(f, f.name)}</p>" for f in self.figures))


class Report(Result):
    """``imagegan.report``'s folder: ``markdown`` and ``html_path``."""

    def __init__(self, path):
        super().__init__(path)
        self.markdown = (self.path / "report.md").read_text()
        self.html_path = self.path / "report.html"

    def _repr_html_(self) -> str:
        return markdown_html(self.markdown, self.path)


class Page(Result):
    """``toygan.view``'s self-contained page, embedded in the cell (open the file in a browser
    for full screen)."""

    height = 760

    def _repr_html_(self) -> str:
        return iframe(self.height, srcdoc=self.path.read_text())


class LivePage:
    """The live page's server, running in a background thread of this kernel; ``stop()`` ends
    it. In a notebook the page shows in an iframe (in Colab through the kernel's port proxy)."""

    height = 760

    def __init__(self, server, session, thread):
        self.server, self.session, self.thread = server, session, thread
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.session.close()
        self.thread.join()

    def __repr__(self) -> str:
        return f"LivePage({self.url!r})"

    def _repr_html_(self) -> str:
        url = self.url
        if "google.colab" in sys.modules:  # Colab shows kernel ports through its own proxy
            from google.colab.output import eval_js

            url = eval_js(f"google.colab.kernel.proxyPort({self.port})")
        return iframe(self.height, src=url)


class RecordedRun(Result):
    """A trainer's run folder: ``config``, ``records`` (every stats.jsonl record),
    ``evaluations`` (the records holding ``EVAL_KEY``), ``final`` (the last of them)."""

    EVAL_KEY = ""
    WHAT = "run folder"

    def __init__(self, path):
        super().__init__(path)
        try:
            self.config = json.loads((self.path / "config.json").read_text())
            self.records = files.read_jsonl(self.path / "stats.jsonl")
        except FileNotFoundError as e:
            raise UserError(f"{self.path} is not {self.WHAT} (no {Path(e.filename).name})"
                            ) from None
        self.evaluations = [r for r in self.records if self.EVAL_KEY in r]
        self.final = self.evaluations[-1] if self.evaluations else {}

    def dataframe(self):
        return dataframe(self.records)


class Run(RecordedRun):
    """A ``toygan.train`` run folder (see :class:`RecordedRun`)."""

    EVAL_KEY = "modes_covered"
    WHAT = "a run folder"

    def __init__(self, path):
        super().__init__(path)
        self._frame: bytes | None = None

    def checkpoint(self) -> dict:
        """The checkpoint (weights, optimiser states, step, config) as saved."""
        from toygan.train import load_checkpoint

        return load_checkpoint(self.path)

    def frame_png(self, size: int = 420) -> bytes:
        """The last recorded frame (critic landscape, samples, curves) as PNG bytes."""
        if self._frame is None:
            from toygan import render

            anim = render.Animation([render.Run.load(self.path)], size=size)
            try:
                self._frame = png_bytes(anim.frame(anim.n_frames - 1))
            finally:
                anim.close()
        return self._frame

    def title(self) -> str:
        c = self.config
        return f"{c.get('loss')} on {c.get('data')}, seed {c.get('seed')}"

    def _repr_html_(self) -> str:
        keys = [k for k in ("step", "modes_covered", "hq_frac", "reverse_kl", "sliced_w1")
                if k in self.final]
        return (f"<b>{html.escape(self.title())}</b> — <code>{html.escape(str(self.path))}"
                f"</code>{table_html([self.final], keys)}"
                f'<img style="max-width:100%" src="{data_uri(self.frame_png(), "image/png")}">')
