"""Regenerate every file in figures/ from scratch (deterministic seeds).

    python figures/make.py                         # everything (the longest command here)
    python figures/make.py --only concepts,bugs    # a part
    python figures/make.py --tiny --out /tmp/figs  # every part on tiny settings (CI; not figures)

Writes, for the 8-mode ring under toygan.animate's slide configuration (seed 0):
``ring-OBJECTIVE.gif`` for every registered objective and ``ring-comparison.gif`` (bce, lsgan,
wgan, wgan-gp side by side; the same records as the single GIFs, so they agree frame for frame);
and the WGAN-GP paper's Figure 1: ``gradnorm.png``/``.json`` (toygan.gradnorm defaults) and
``surfaces.png``/``.npz`` (toygan.surfaces defaults); the course's concept figures in
``concepts/`` (toygan.concepts) and the bug zoo's gallery in ``bugs/`` (wgan-gp beside each
``wgan-gp+bug=NAME``); the image collapse verdict's calibration tables in
``collapse-calibration/`` (imagegan.calibrate). The image studies (``image-study/``,
``image-onsets/``) are longer and each is made by the command its table names.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from toygan import animate, concepts, gradnorm, surfaces
from toygan.animate import ANIMATE_BASE, AnimateConfig, write_animation
from toygan.bugs import BUGS
from toygan.losses import OBJECTIVES
from toygan.render import Run
from toygan.train import TrainConfig, train

HERE = Path(__file__).resolve().parent
COMPARISON = ["bce", "lsgan", "wgan", "wgan-gp"]
FRAMES = 30
LOOK = AnimateConfig(frames=FRAMES, fps=6, size=480, arrows=64)
# --tiny: every part's code on settings that take seconds (CI checks the script still runs; the
# files it writes are not figures). Extra flags per command, and the toy runs' length.
TINY = {"gradnorm": ["--steps", "3", "--layers", "3", "--width", "16", "--batches", "1"],
        "surfaces": ["--max-steps", "20", "--eval-every", "10", "--width", "16",
                     "--grid-res", "12", "--data", "8gaussians", "--w1-samples", "100",
                     "--held-out", "256"],
        "concepts": ["--critic-steps", "10", "--chase-steps", "30"],
        "animate": ["--steps", "30", "--frames", "4", "--size", "120", "--arrows", "8"],
        "calibrate": ["--data", "digits", "--n", "60", "--draws", "2", "--mode-draws", "1"]}
TINY_STEPS = 30
TINY_LOOK = AnimateConfig(frames=4, fps=6, size=120, arrows=8)
_tiny = False


def _extra(name: str) -> list[str]:
    return TINY[name] if _tiny else []


def _toy(**kw) -> TrainConfig:
    """A figure's toy run: the slide configuration (30 steps under --tiny)."""
    if _tiny:
        kw.update(steps=TINY_STEPS, snapshots=min(kw.get("snapshots", 4), 4))
    return TrainConfig(**dict(ANIMATE_BASE, **kw))


def ring_gifs(out: Path, seed: int = 0) -> list[Path]:
    written = []
    with tempfile.TemporaryDirectory(prefix="toygan-figures-") as tmp:
        runs = {}
        for loss in OBJECTIVES:
            cfg = _toy(loss=loss, seed=seed, snapshots=FRAMES)
            train(cfg, Path(tmp) / loss, progress=False)
            runs[loss] = Run.load(Path(tmp) / loss)
            path = out / f"ring-{loss}.gif"
            write_animation([runs[loss]], path, TINY_LOOK if _tiny else LOOK, progress=False)
            written.append(path)
            print(path, flush=True)
        path = out / "ring-comparison.gif"
        write_animation([runs[k] for k in COMPARISON], path, TINY_LOOK if _tiny else LOOK,
                        progress=False)
        written.append(path)
        print(path, flush=True)
    return written


def bug_gallery(out: Path) -> list[Path]:
    """One side-by-side GIF per zoo bug: wgan-gp as it should be, and with the bug."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for bug in [b for b in BUGS if b != "none"][:1 if _tiny else None]:
        path = out / f"bug-{bug}.gif"
        animate.main(["--loss", f"wgan-gp,wgan-gp+bug={bug}", "--frames", "24", "--size", "400",
                      "--arrows", "48", "--out", str(path), "--overwrite", "--quiet",
                      *_extra("animate")])
        written.append(path)
    return written


def view_page(out: Path) -> list[Path]:
    """figures/view-example.html (bce and wgan-gp on the ring, 150 snapshots each) and its
    screenshot figures/view.png, taken in headless Chromium when one is installed."""
    from toygan import view

    with tempfile.TemporaryDirectory(prefix="toygan-view-") as tmp:
        for loss in ("bce", "wgan-gp"):
            train(_toy(loss=loss, snapshots=150), Path(tmp) / loss, progress=False)
        html = out / "view-example.html"
        view.main([str(Path(tmp) / "bce"), str(Path(tmp) / "wgan-gp"), "--out", str(html),
                   "--overwrite"])
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        print("no chromium: figures/view.png not regenerated")
        return [html]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1780, "height": 640})
        page.goto(html.resolve().as_uri())
        page.fill("#slider", "2" if _tiny else "60")
        page.check("#layer-manifold")
        page.screenshot(path=str(out / "view.png"))
        live_screenshot(browser, out / "view-live.png")
        browser.close()
    return [html, out / "view.png", out / "view-live.png"]


def live_screenshot(browser, path: Path) -> None:
    """The live page mid-run: BCE beside WGAN-GP on the ring (same data, seed and initial
    weights, in lock-step), paused after ~1,500 steps, the model-overview strip above, at a
    projector's 1920x1080."""
    from toygan.api import open_page

    server = open_page(live=True, port=0)
    try:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})  # a projector
        page.goto(server.url)
        page.select_option("#data", "ring")
        page.select_option("#loss", "bce")
        page.select_option("#compare", "wgan-gp")
        page.click("#start")
        page.wait_for_function("runs.length == 2 && runs[0].frames.length > 1")
        page.check("#layer-manifold")
        while server.session.state(10**9)["step"] < (TINY_STEPS if _tiny else 1500):
            page.wait_for_timeout(500)
        page.click("#lpause")
        page.wait_for_timeout(1200)
        page.screenshot(path=str(path))
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE), help="folder to write (default: figures/)")
    p.add_argument("--only", default=None, help="comma-separated parts: ring, gradnorm, "
                   "surfaces, concepts, bugs, view, calibration (default: all)")
    p.add_argument("--tiny", action="store_true", help="every part on settings that take seconds "
                   "(CI: the script runs; what it writes is not the figures); needs --out")
    args = p.parse_args()
    out = Path(args.out)
    if args.tiny and out.resolve() == HERE:
        raise SystemExit("error: --tiny writes throwaway files: give --out another folder")
    global _tiny
    _tiny = args.tiny
    out.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    if only is not None:  # regenerate a part: --only surfaces,concepts,bugs,ring,gradnorm
        for name, fn in (("ring", lambda: ring_gifs(out)),
                         ("gradnorm", lambda: _gradnorm(out)),
                         ("surfaces", lambda: _surfaces(out)),
                         ("concepts", lambda: _concepts(out)),
                         ("bugs", lambda: bug_gallery(out / "bugs")),
                         ("view", lambda: view_page(out)),
                         ("calibration", lambda: collapse_calibration(out))):
            if name in only:
                fn()
        return
    ring_gifs(out)
    _gradnorm(out)
    _surfaces(out)
    _concepts(out)
    bug_gallery(out / "bugs")
    view_page(out)
    collapse_calibration(out)


def _gradnorm(out: Path) -> None:
    gradnorm.main(["--out", str(out / "gradnorm.png"), "--quiet", "--overwrite",
                   *_extra("gradnorm")])


def _surfaces(out: Path) -> None:
    surfaces.main(["--out", str(out / "surfaces.png"), "--quiet", "--overwrite",
                   *_extra("surfaces")])


def _concepts(out: Path) -> None:
    concepts.main(["--out", str(out / "concepts"), "--quiet", "--overwrite", *_extra("concepts")])


def collapse_calibration(out: Path) -> Path:
    """The image collapse verdict on constructed sets (digits, stacked digits, photo crops)."""
    from imagegan import calibrate

    calibrate.main(["--out", str(out / "collapse-calibration"), "--overwrite", "--quiet",
                    *_extra("calibrate")])
    return out / "collapse-calibration"


if __name__ == "__main__":
    main()
