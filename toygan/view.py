"""A GAN Lab-style page: play, scrub and compare recorded runs, or train live, in the browser.

    python -m toygan.view runs/ring-bce runs/ring-wgan-gp --out view.html   # recorded runs
    python -m toygan.view runs/study --out study.html                      # a compare study
    python -m toygan.view --live                                           # train in the page

**Recorded runs → one self-contained HTML file** (data and script inline, no network: it opens
offline by double-click or from a course page): play / pause / step / speed and a timeline over
every snapshot the runs recorded (space, ← →), layer toggles (critic heat map, contours, real
samples, generated samples, generator gradient arrows, manifold), several runs side by side on the
same step, each titled with its variant, its loss and modes-covered curves below with a cursor,
and the critic's value under the mouse. Record what the page needs with ``toygan.train``'s
``--snapshots``, ``--snapshot-points`` and ``--grid-res`` (``--preset slides --snapshots 150`` is
a good start). Snapshots are stored quantised (samples as int16, the landscape as uint8 per frame)
so that 4 runs of 150 snapshots stay a few MB.

**Live** (``--live``): a local server on 127.0.0.1 (the standard library's ``http.server``) serves
the page and trains in a background thread with ``toygan.train.Trainer``, streaming snapshots:
start / pause / step / reset; data set, objective, mitigation and learning rates chosen in the
page; or **draw your own data points** on the canvas. Every request is validated against the same
registries the commands use (a bad value is a message in the page); Ctrl-C stops the server.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from toygan import files
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import UserError
from toygan.pagedata import static_page


@dataclass
class ViewConfig:
    points: int = option(256, "generated samples per frame kept in the page", ge=1, le=100_000)
    port: int = option(8765, "port of the live server on 127.0.0.1 (0: any free one)", ge=0,
                       le=65535)


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.view", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="*", help="run folders or toygan.compare study folders")
    p.add_argument("--live", action="store_true", help="train live in the page")
    add_config_flags(p, ViewConfig)
    p.add_argument("--out", default="view.html", help="output HTML file (recorded runs)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return p


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.live:
        vc = build(ViewConfig, given(ns, ViewConfig))
        if ns.runs:
            raise UserError("--live trains in the page: give no run folders")
        from toygan.liveserver import serve

        server, session = serve(vc.port, ns.threads)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"serving {url} (Ctrl-C stops)", flush=True)
        if not ns.no_browser:
            webbrowser.open(url)
        try:
            server.serve_forever()
        finally:
            server.server_close()
            session.close()
        return 0
    out = execute(ns)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stdout)
    return 0


def run(runs, view: ViewConfig | None = None, *, out="view.html",
        overwrite: bool = False) -> Path:
    """``python -m toygan.view RUN...``: the recorded runs (run or study folders) as one
    self-contained page ``out``; returns its path."""
    vc = view or ViewConfig()
    check(vc)
    runs = [os.fspath(r) for r in runs or []]
    if not runs:
        raise UserError("give run folders to view, or --live")
    out = files.output_file(out, ".html", overwrite)
    files.write_text(out, static_page(runs, vc.points))
    return out


def execute(ns) -> Path:
    """The command line's adapter: :func:`run` with the flags the user typed."""
    return run(ns.runs, build(ViewConfig, given(ns, ViewConfig)), out=ns.out,
               overwrite=ns.overwrite)


if __name__ == "__main__":
    run_main(main)
