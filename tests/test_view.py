"""python -m toygan.view: the self-contained page, driven in headless Chromium, and the live
server with its validation."""

import dataclasses
import time

import pytest

from toygan.errors import UserError
from toygan.train import TrainConfig, train

SMALL = dict(preset="slides", steps=60, g_width=32, d_width=32, batch_size=64, eval_every=10,
             snapshots=13, snapshot_points=64, grid_res=24)


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    from toygan.view import main

    root = tmp_path_factory.mktemp("view")
    for loss in ("bce", "wgan-gp"):
        train(TrainConfig(loss=loss, **SMALL), root / loss, progress=False)
    out = root / "view.html"
    assert main([str(root / "bce"), str(root / "wgan-gp"), "--out", str(out)]) == 0
    return out


def test_page_is_self_contained(view):
    html = view.read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<script src" not in html and '"mode":"static"' in html
    assert html.count("\"step\":") >= 2 * 13


def _pixels(pg, canvas="#land0"):
    return pg.eval_on_selector(canvas, "c => Array.from(c.getContext('2d').getImageData("
                                       "0, 0, c.width, c.height).data).join(',')")


@pytest.mark.slow
@pytest.mark.browser
def test_page_plays_scrubs_and_toggles_in_chromium(view, tmp_path):
    from browser import page

    with page() as pg:
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(view.as_uri())
        assert pg.inner_text("#frame") == "step 0 (frame 1/13)"
        assert pg.locator("h3.title").all_inner_texts() == ["bce on ring — step 0",
                                                             "wgan-gp on ring — step 0"]
        before = _pixels(pg)
        pg.click("#play")
        pg.wait_for_function("!document.getElementById('frame').textContent.startsWith('step 0 ')")
        pg.click("#play")  # pause
        assert _pixels(pg) != before
        pg.fill("#slider", "12")  # scrub to the last frame
        assert pg.inner_text("#frame") == "step 60 (frame 13/13)"
        pg.keyboard.press("ArrowLeft")
        assert pg.inner_text("#frame") == "step 55 (frame 12/13)"
        shown = _pixels(pg)
        pg.uncheck("#layer-heat")
        assert _pixels(pg) != shown  # the heat map is gone
        pg.check("#layer-heat")
        assert _pixels(pg) == shown
        pg.hover("#land1", position={"x": 200, "y": 200})
        assert "critic D(x) ≈" in pg.inner_text(".panel:nth-child(2) .hover")
        pg.screenshot(path=str(tmp_path / "view.png"))
        assert errors == []
    assert (tmp_path / "view.png").stat().st_size > 20_000


def test_live_validation_uses_the_registries(tmp_path):
    from toygan.live import validate

    (cfg,) = validate({"data": "ring", "variant": "bce+pack=2", "lr_d": "3e-4"}, tmp_path)
    assert (cfg.loss, cfg.pack, cfg.lr_d) == ("bce", 2, 3e-4)
    (drawn,) = validate({"data": "draw", "points": [[i / 10, -i / 10] for i in range(20)]},
                        tmp_path)
    assert drawn.data.startswith("file:")
    # GAN Lab's per-player model settings, and a second run beside the first.
    g, w = validate({"variant": "bce", "compare": "wgan-gp", "g_depth": "2", "g_width": 32,
                     "d_depth": 1, "d_width": "16", "opt_g": "sgd", "opt_d": "rmsprop",
                     "noise": "uniform", "z_dim": "1"}, tmp_path)
    for cfg in (g, w):
        assert (cfg.g_depth, cfg.g_width, cfg.d_depth, cfg.d_width) == (2, 32, 1, 16)
        assert (cfg.g_optimizer, cfg.optimizer, cfg.noise, cfg.z_dim) == \
            ("sgd", "rmsprop", "uniform", 1)
    assert (g.loss, w.loss, g.seed, g.data) == ("bce", "wgan-gp", w.seed, w.data)
    for bad, words in (({"data": "nope"}, "unknown data"), ({"variant": "bce+oops"},
                                                            "unknown mitigation"),
                       ({"lr_d": "fast"}, "lr_d must be a number"), ({"lr_g": "5"}, "between"),
                       ({"data": "draw", "points": [[0, 0]]}, "draw between"),
                       ({"g_width": 0}, "g_width must be a whole number between 1 and 512"),
                       ({"d_depth": "2.5"}, "d_depth must be a whole number"),
                       ({"z_dim": 17}, "z_dim must be"), ({"noise": "cauchy"}, "noise must be"),
                       ({"opt_g": "lbfgs"}, "opt_g must be one of"),
                       ({"compare": "nope"}, "unknown loss")):
        with pytest.raises(UserError, match=words):
            validate(bad, tmp_path)


def test_the_live_page_trains_eagerly_so_it_never_stands_still_to_compile(tmp_path):
    """The page's runs are 100,000 steps, where ``--compile auto`` compiles the critic update;
    the page trains eagerly instead (a fresh run and a lesson alike), and a new penalty weight
    takes effect at the next step (a compiled update, specialised on it, would recompile)."""
    from toygan.live import LiveSession, live_runs
    from toygan.step import compile_wanted

    (run,) = live_runs({"data": "ring", "variant": "wgan-gp"}, tmp_path)
    cfg = run.trainer.cfg
    assert cfg.steps * cfg.n_critic >= 20_000 and cfg.compile == "off"
    assert not compile_wanted(cfg) and compile_wanted(dataclasses.replace(cfg, compile="auto"))
    (lesson,) = live_runs({"start_from": "converged-wgan-gp"}, tmp_path)
    assert lesson.trainer.cfg.compile == "off" and lesson.trainer.gan.compiled is None
    session = LiveSession()
    try:
        session.configure({"data": "ring", "variant": "wgan-gp"})
        session.control("step", 2)
        session.settings({"gp_weight": 3.0})
        assert session.trainer.gan.compiled is None
        assert session.trainer.gan.hp["gp_weight"] == 3.0
    finally:
        session.close()


@pytest.mark.slow
@pytest.mark.browser
def test_live_server_trains_and_streams_to_the_page(tmp_path):
    from browser import page, refused, why_no_browser

    from toygan.api import open_page

    if why_no_browser():
        pytest.skip(why_no_browser())
    server = open_page(live=True, port=0)
    session, url = server.session, server.url
    try:
        with page() as pg:
            pg.goto(url)
            assert "lr_d must be a number" in refused(pg, "lr_d", "fast", "lr_d")
            pg.fill("#lr_d", "2e-4")
            pg.select_option("#data", "ring")
            pg.click("#start")
            pg.wait_for_function("document.querySelectorAll('.panel .title').length == 1")
            pg.wait_for_function(
                "parseInt(document.getElementById('frame').textContent.match(/\\/(\\d+)/)[1]) >= 3",
                timeout=60_000)
            pg.click("#lpause")  # returns once clicked; the page's request may still be on its way
            deadline = time.monotonic() + 10
            while session.state(0)["running"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert session.state(0)["running"] is False
            assert "bce on ring" in pg.inner_text(".panel .title")
    finally:
        server.stop()
    assert not server.thread.is_alive()


def test_the_modes_line_is_the_best_of_the_last_evaluations_recorded_or_live():
    """Recorded runs get the page's bold modes line from their whole history; a live run's
    evaluation carries its own (a poll sends only what is new, so the window reaches before it)."""
    from types import SimpleNamespace

    from toygan.live import LiveRun
    from toygan.pagedata import curves as _curves
    from toygan.status import MODES_WINDOW

    assert MODES_WINDOW == 3
    counts = [0, 8, 6, 6, 8, 3, 3, 3]
    stats = [{"step": 50 * i, "modes_covered": c} for i, c in enumerate(counts)]
    stats.insert(1, {"step": 10, "d_loss": 0.5, "g_loss": 0.7})
    cv = _curves(stats)
    assert cv["modes"] == counts
    assert cv["modes_best"] == [0, 8, 8, 8, 8, 8, 8, 3]
    live = SimpleNamespace(frames=[], evals=[], d_steps=0)
    for i, s in enumerate(stats):
        if "modes_covered" in s:
            LiveRun.add(live, {"step": s["step"]}, dict(s), i)
    assert [e["modes_best"] for e in live.evals] == cv["modes_best"]
    new = [e for e in live.evals if e["step"] > 250]  # what the next poll sends
    assert _curves(new)["modes_best"] == [8, 3]
    assert _curves([{"step": 0, "js": 0.1}])["modes_best"] == [None]  # drawn data: no modes


def test_the_live_server_pauses_itself_when_no_page_polls_and_says_so():
    from toygan.live import LiveSession

    session = LiveSession()
    try:
        session.configure({"variant": "bce", "data": "ring"})
        session.idle_after = 0.5
        session.control("play")
        deadline = time.monotonic() + 30
        while session.running and time.monotonic() < deadline:  # nobody polls: no state()
            time.sleep(0.05)
        assert not session.running and session.idle_paused
        st = session.state()
        assert (st["running"], st["idle_paused"]) == (False, 0.5)
        session.control("play")  # a page resumes it: the notice is gone
        st = session.state()
        assert (st["running"], st["idle_paused"]) == (True, None)
        for _ in range(15):  # a page that polls keeps it running past idle_after
            session.state()
            time.sleep(0.1)
        assert session.running and session.state()["step"] > 0
    finally:
        session.close()


def test_the_page_ranges_lie_inside_the_flags_ranges():
    """A page control is a TrainConfig field whose page range narrows its flag's (checked both
    ways on every value), so the page never accepts what the command line refuses."""
    import dataclasses

    from toygan.config import range_error
    from toygan.live import PAGE_RANGES, _number
    from toygan.train import TrainConfig

    meta = {f.name: f.metadata for f in dataclasses.fields(TrainConfig)}
    for key, (lo, hi) in PAGE_RANGES.items():
        assert range_error(lo, meta[key]) is None and range_error(hi, meta[key]) is None, key
    assert _number("3", "g_depth") == 3 and isinstance(_number("3", "g_depth"), int)
    assert _number("0.0005", "lr_d") == 5e-4
    with pytest.raises(UserError, match="g_width must be a whole number between 1 and 512"):
        _number("513", "g_width")
    with pytest.raises(UserError, match="lr_d must be a number"):
        _number("fast", "lr_d")
