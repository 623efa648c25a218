"""Size and opening time of a `toygan.view` page: 4 runs of 1,200 steps, 120 snapshots each.

    python benchmarks/view_page.py                 # trains the 4 runs (~4 min on 2 cores)
    python benchmarks/view_page.py --runs DIR ...  # or measures a page of runs you already have

Prints the file size and, in headless Chromium (Debian's ``chromium``), the time from
navigation until the first frame is shown, over several openings.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from toygan import view
from toygan.config import build
from toygan.presets import PRESETS
from toygan.train import TrainConfig, train

VARIANTS = {"bce": {}, "wgan": {}, "wgan-gp": {},
            "bce+unroll-fo=5": {"unroll": 5, "unroll_mode": "first-order"}}


def make_runs(tmp: Path, steps: int, snapshots: int) -> list[Path]:
    dirs = []
    for name, extra in VARIANTS.items():
        cfg = build(TrainConfig, dict(loss=name.split("+")[0], preset="slides", steps=steps,
                                      snapshots=snapshots, **extra), PRESETS)
        train(cfg, tmp / name, progress=False)
        dirs.append(tmp / name)
    return dirs


def open_times(html: Path, repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t0 = time.perf_counter()
            page.goto(html.resolve().as_uri())
            page.wait_for_function("document.getElementById('frame').textContent"
                                   ".includes('frame 1/')")
            times.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="*", help="run folders to show (default: train 4)")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--snapshots", type=int, default=120)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tiny", action="store_true",
                   help="40 steps, 4 snapshots, one opening (CI; figures meaningless)")
    a = p.parse_args()
    if a.tiny:
        a.steps, a.snapshots, a.repeats = 40, 4, 1
    with tempfile.TemporaryDirectory(prefix="view-bench-") as tmp:
        runs = [Path(r) for r in a.runs] if a.runs else make_runs(Path(tmp), a.steps, a.snapshots)
        html = Path(tmp) / "view.html"
        view.main([str(r) for r in runs] + ["--out", str(html), "--overwrite"])
        size = html.stat().st_size / 1e6
        t = open_times(html, a.repeats)
    print(f"{len(runs)} runs: {size:.2f} MB; opens (first frame shown) in "
          f"{statistics.median(t):.2f} s median, {min(t):.2f}-{max(t):.2f} s over {len(t)} "
          "openings")


if __name__ == "__main__":
    main()
