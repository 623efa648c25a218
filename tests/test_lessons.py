"""The live page's lessons: shipped checkpoints that show their lesson at once, made by one
command, and started from in the live server."""

import time

import numpy as np
import pytest

from toygan import lessons
from toygan.errors import UserError


def _trainer(name):
    """The lesson's trainer as the live page continues it (``toygan.live.live_runs``)."""
    import tempfile
    from pathlib import Path

    from toygan.live import live_runs

    with tempfile.TemporaryDirectory() as tmp:
        (run,) = live_runs({"start_from": name}, Path(tmp))
    return run.trainer


def _nearest_shares(t):
    fake, centers = t.sample().numpy(), t.data.centers
    nearest = np.linalg.norm(fake[:, None] - centers[None], axis=2).argmin(1)
    return np.bincount(nearest, minlength=len(centers)) / len(fake)


@pytest.mark.slow
def test_each_shipped_lesson_shows_what_its_menu_line_says():
    assert set(lessons.LESSONS) == {"collapsed-bce", "converged-wgan-gp", "hopping-minimax"}
    for name, lesson in lessons.LESSONS.items():
        t = _trainer(name)
        assert t.step == lesson["steps"] and t.cfg.steps == 100_000, name  # the live config
    wgan = _trainer("converged-wgan-gp")
    assert wgan.cfg.loss == "wgan-gp" and wgan.evaluate()["modes_covered"] == 8
    assert _nearest_shares(wgan).min() > 0.08  # every mode gets its share (1/8 = 0.125)
    for name in ("collapsed-bce", "hopping-minimax"):
        t = _trainer(name)
        assert t.evaluate()["modes_covered"] == 0, name
        assert _nearest_shares(t).max() > 0.85, name  # one clump
        before = t.sample().numpy().mean(0)
        for _ in range(100):
            t.train_step()
        moved = np.linalg.norm(t.sample().numpy().mean(0) - before)
        assert moved > 1.0, (name, moved)  # the clump hops across the ring (radius 2)


def test_the_command_makes_a_lesson_that_loads(tmp_path):
    assert lessons.main(["--only", "collapsed-bce", "--steps", "3", "--out", str(tmp_path)]) == 0
    cfg, ckpt = lessons.load("collapsed-bce", tmp_path)
    assert ckpt["step"] == 3 and cfg.loss == "bce"
    with pytest.raises(UserError, match="unknown lesson"):
        lessons.load("nope")
    with pytest.raises(UserError, match="no checkpoint"):
        lessons.load("converged-wgan-gp", tmp_path)
    with pytest.raises(UserError, match="unknown lesson"):
        lessons.main(["--only", "nope", "--out", str(tmp_path)])


def test_the_live_server_starts_from_a_lesson_where_it_stopped():
    from toygan.live import LiveSession

    session = LiveSession()
    try:
        meta = session.configure({"start_from": "converged-wgan-gp"})
        assert len(meta) == 1 and meta[0]["loss"] == "wgan-gp" and meta[0]["n_critic"] == 5
        st = session.state()
        assert st["step"] == 3000 and st["runs"][0]["frames"][0]["step"] == 3000
        assert st["runs"][0]["curves"]["modes"] == [8]
        session.control("step", 5)
        deadline = time.monotonic() + 30
        while session.state()["step"] < 3005 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.state()["step"] == 3005
        with pytest.raises(UserError, match="unknown lesson"):
            session.configure({"start_from": "nope"})
        assert session.configure({"start_from": "fresh", "variant": "bce", "data": "ring"})
        assert session.state()["step"] == 0
    finally:
        session.close()


@pytest.mark.slow
def test_the_modes_line_reads_8_on_the_converged_wgan_gp_run_as_it_trains_on():
    """The live page's bold modes line (best of the last 3 evaluations) on the shipped converged
    WGAN-GP run, trained on for 250 steps in the live server: 8 at >= 90% of its evaluations."""
    from toygan.live import LiveSession

    session = LiveSession()
    try:
        session.configure({"start_from": "converged-wgan-gp"})
        session.control("step", 250)
        deadline = time.monotonic() + 120
        while session.state()["step"] < 3250 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        curves = session.state()["runs"][0]["curves"]
    finally:
        session.close()
    best = curves["modes_best"]
    assert len(best) >= 10, curves["eval_step"]
    assert sum(b == 8 for b in best) >= 0.9 * len(best), (curves["modes"], best)
