"""The live page (toygan.view --live) in headless Chromium, as a student drives it: pause and
resume the same run, a timeline without repeated or out-of-order frames, small incremental
answers, readable curves at any length, messages that stay, arrows that stay on the canvas."""

import json
import time
import urllib.request

import pytest
from browser import page, refused, why_no_browser

from toygan.api import open_page
from toygan.live import LiveSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FRAME_STEPS = "runs[0].frames.map((f) => f.step)"


@pytest.fixture
def live():
    if why_no_browser():
        pytest.skip(why_no_browser())
    server = open_page(live=True, port=0)  # the live server in a thread of this process
    try:
        with page() as pg:
            errors = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(server.url)
            yield pg, server.session, server.url, errors
    finally:
        server.stop()


def _start(pg, data="ring"):
    pg.select_option("#data", data)
    pg.click("#start")
    pg.wait_for_function("runs.length == 1 && runs[0].frames.length >= 3", timeout=60_000)


def _wait(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _paused(session, quiet=0.6) -> int:
    """Wait for the runs to stop, and for the step under way when the pause arrived to end (the
    training thread finishes it outside the lock): the step they stopped at."""
    _wait(lambda: not session.state()["running"])
    last, since = session.state()["step"], time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = session.state()["step"]
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_pause_then_resume_continues_the_same_run(live):
    pg, session, _, errors = live
    _start(pg)
    # The training speed is on screen, measured from the server's steps.
    pg.wait_for_function("/^[0-9]+ steps\\/s$/.test(document.getElementById('rate').textContent)")
    assert int(pg.inner_text("#rate").split()[0]) > 0
    pg.click("#lpause")
    paused_at = _paused(session)
    assert pg.inner_text("#lpause") == "resume"
    pg.wait_for_function("document.getElementById('rate').textContent == 'paused'")
    pg.click("#play")  # the playback bar's ▶ resumes the server too
    _wait(lambda: session.state()["step"] > paused_at + 20)
    pg.wait_for_function(f"runs[0].frames[runs[0].frames.length - 1].step > {paused_at}")
    steps = pg.evaluate(FRAME_STEPS)
    assert steps == sorted(set(steps)) and steps[0] == 0  # the same run: nothing restarted
    assert pg.inner_text("#lpause") == "pause"
    pg.click("#lpause")
    pg.click("#lpause")  # resume once more with the side button
    _wait(lambda: session.state()["running"])
    assert errors == []


def test_frames_are_unique_and_increasing_under_overlapping_polls(live):
    pg, session, url, errors = live
    _start(pg)
    for _ in range(5):
        pg.evaluate("Promise.all([poll(), poll(), poll(), poll()])")
        time.sleep(0.2)
    steps = pg.evaluate(FRAME_STEPS)
    assert len(steps) >= 3 and all(a < b for a, b in zip(steps, steps[1:], strict=False))
    seqs = pg.evaluate("runs[0].frames.map((f) => f.seq)")
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False))
    # The server snapshots every N steps, not every step, and sends only what is new.
    st = session.state()
    every = st["snapshot_every"]
    frame_steps = [f["step"] for f in st["runs"][0]["frames"]]
    assert len(frame_steps) <= st["step"] // every + 2
    last, last_step = st["runs"][0]["frames"][-1]["seq"], st["runs"][0]["curves"]["loss_step"][-1]
    with urllib.request.urlopen(f"{url}api/state?since={last}&since_step={last_step}",
                                timeout=10) as r:
        newer = json.loads(r.read())
    assert all(f["seq"] > last for f in newer["runs"][0]["frames"])
    assert all(s > last_step for s in newer["runs"][0]["curves"]["loss_step"])
    # Polls answer fast while training (the lock is held for one step at a time).
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{url}api/state?since={session.state()['step']}",
                                    timeout=10) as r:
            r.read()
        times.append(time.perf_counter() - t0)
        time.sleep(0.05)
    assert session.state()["running"] and sorted(times)[len(times) // 2] <= 0.1, times
    assert errors == []


def test_a_long_run_holds_a_bounded_spread_out_history():
    """Past ``keep`` snapshots the session drops every other one and doubles its interval."""
    s = LiveSession(snapshot_every=1, keep=20)
    try:
        s.configure({"data": "ring", "variant": "bce"})
        s.control("play")
        _wait(lambda: s.state()["step"] >= 200, timeout=120)
        s.control("pause")
        st = s.state()
        steps = [f["step"] for f in st["runs"][0]["frames"]]
        assert len(steps) <= 21 and steps == sorted(set(steps))
        assert st["snapshot_every"] >= 8 and steps[0] == 0
        assert steps[-1] >= st["step"] - st["snapshot_every"]  # the newest is kept
        assert len(st["runs"][0]["curves"]["loss_step"]) <= 21
    finally:
        s.close()


def test_curves_span_the_run_so_far_and_survive_a_long_history(live):
    pg, session, _, errors = live
    _start(pg)
    _wait(lambda: session.state()["step"] >= 150, timeout=60)
    pg.evaluate("poll()")
    pg.wait_for_function("runs[0].curves.loss_step.length >= 5")
    # The critic-loss line (#7570b3) reaches the right part of the plot, not 4 px at the left.
    right = pg.evaluate("""() => {
      const c = runs[0].els.curves;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const near = (o, r, g, b) => Math.abs(d[o] - r) < 30 && Math.abs(d[o + 1] - g) < 30
        && Math.abs(d[o + 2] - b) < 30;
      let xmax = -1;
      for (let y = 32; y < c.height - 16; y++) for (let x = 0; x < c.width; x++) {
        if (near(4 * (y * c.width + x), 117, 112, 179)) xmax = Math.max(xmax, x);
      }
      return xmax / c.width; }""")
    assert right > 0.7, right
    # 200,000 loss points (past where Math.min(...values) threw RangeError) still draw.
    pg.evaluate("""() => { const cv = runs[0].curves, n = 200000;
      cv.loss_step = Array.from({length: n}, (_, i) => i);
      cv.d_loss = cv.loss_step.map((i) => Math.sin(i / 1000));
      cv.g_loss = cv.loss_step.map((i) => Math.cos(i / 1000));
      drawCurves(runs[0], null); }""")
    assert errors == []


def test_an_error_message_stays_until_dismissed(live):
    pg, session, _, errors = live
    _start(pg)
    refused(pg, "lr_d", "fast", "lr_d")
    time.sleep(1.5)  # several polls answer meanwhile
    assert "lr_d must be a number" in pg.inner_text("#message")
    pg.click("#dismiss")
    assert pg.inner_text("#message") == ""
    assert errors == []


def test_arrows_stay_on_the_canvas_and_legends_are_drawn(live):
    pg, session, _, errors = live
    _start(pg)
    _wait(lambda: session.state()["step"] >= 60, timeout=60)
    pg.evaluate("poll()")
    gs = pg.evaluate("runs[0].frames.map((f) => f.gs)")
    assert all(g > 0 for g in gs) and pg.evaluate("runs[0].gsMax") == pytest.approx(max(gs))
    # Longest arrow drawn, in pixels, as the page computes it: at most 1.5 x its unit length.
    longest = pg.evaluate("""() => { const run = runs[0], f = run.frames[run.frames.length - 1];
      const d = decodeFrame(run.meta, f), len = 0.08 * SIZE, k = f.gs / run.gsMax;
      let m = 0; for (let i = 0; i + 1 < d.grad.length; i += 2)
        m = Math.max(m, Math.min(Math.hypot(d.grad[i], d.grad[i + 1]) * len * k, 1.5 * len));
      return m / len; }""")
    assert 0 < longest <= 1.5
    assert "real" in pg.inner_text("#legend") and "manifold" in pg.inner_text("#legend")
    bar = pg.evaluate("""() => { const c = runs[0].els.cbar;
      return Array.from(c.getContext('2d').getImageData(60, 5, c.width - 120, 1).data); }""")
    assert len({tuple(bar[i:i + 3]) for i in range(0, len(bar), 4)}) > 50  # a colour ramp
    assert errors == []


def test_d_step_g_step_and_settings_changed_mid_run(live):
    """GAN Lab's controls: one critic update, one generator update, k and the learning rates
    changed without a restart; KL and JS of grid histograms beside the modes."""
    pg, session, _, errors = live
    _start(pg)
    pg.click("#lpause")
    _paused(session)
    with session.lock:  # the counts now (the last frame may be a few steps old)
        step, d = session.step, session.d_steps
    pg.click("#dstep")
    _wait(lambda: session.state()["runs"][0]["frames"][-1]["d_steps"] == d + 1)
    assert session.state()["step"] == step  # the critic moved, the generator did not
    pg.wait_for_function(f"runs[0].frames[runs[0].frames.length - 1].d_steps == {d + 1}")
    assert f"step {step} · {d + 1} critic updates" in pg.inner_text(".panel .title")
    pg.click("#gstep")
    _wait(lambda: session.state()["step"] == step + 1)
    assert session.state()["runs"][0]["frames"][-1]["d_steps"] == d + 1
    # k = 3 and a new critic learning rate, mid-run.
    pg.fill("#k", "3")
    pg.fill("#lr_d", "5e-4")
    pg.click("#apply")
    _wait(lambda: session.trainer.cfg.n_critic == 3)
    assert [g["lr"] for g in session.trainer.opt_d.param_groups] == [5e-4]
    pg.click("#lstep")  # 10 steps of k = 3
    _wait(lambda: session.state()["step"] == step + 11)
    time.sleep(0.2)
    assert session.state()["runs"][0]["frames"][-1]["d_steps"] == d + 1 + 30
    pg.wait_for_function("document.getElementById('ov-D').textContent.includes('k = 3')")
    pg.fill("#k", "100000")
    pg.click("#apply")
    pg.wait_for_function("document.getElementById('message').textContent.includes('k')")
    assert "whole number between 1 and 100" in pg.inner_text("#message")
    # Refused: the server still trains k = 3, and the page says so (box and overview strip).
    assert session.trainer.cfg.n_critic == 3
    assert pg.input_value("#k") == "3" and "k = 3" in pg.inner_text("#ov-D")
    # Three bad fields: each is named, and none is applied.
    pg.fill("#k", "0")
    pg.fill("#lr_d", "fast")
    pg.fill("#lr_g", "-1")
    pg.click("#apply")
    pg.wait_for_function("document.getElementById('message').textContent.includes('lr_g')")
    message = pg.inner_text("#message")
    assert all(w in message for w in ("lr_d", "lr_g", "k (critic steps)")), message
    assert [g["lr"] for g in session.trainer.opt_d.param_groups] == [5e-4]
    pg.evaluate("poll()")
    js = [v for v in session.state()["runs"][0]["curves"]["js"] if v is not None]
    assert js and all(0 <= v <= 0.6932 for v in js)
    pg.wait_for_function("runs[0].curves.js.length > 0")
    assert errors == []


def test_drawing_data_with_a_drag_then_training_on_it(live):
    pg, session, _, errors = live
    pg.select_option("#data", "draw")
    box = pg.locator("#draw").bounding_box()
    x0, y0 = box["x"] + 60, box["y"] + 200
    pg.mouse.move(x0, y0)
    pg.mouse.down()
    for i in range(1, 41):  # a 300-px stroke
        pg.mouse.move(x0 + 7.5 * i, y0 + 2 * i)
    pg.mouse.up()
    drawn = pg.evaluate("drawn.length")
    assert drawn >= 5 * 30  # a cloud every ~6 px of the stroke, not one per click
    pg.mouse.click(x0, y0 + 120)  # a click still adds one cloud
    assert pg.evaluate("drawn.length") == drawn + 5
    pg.click("#start")
    pg.wait_for_function("runs.length == 1 && runs[0].frames.length >= 2", timeout=60_000)
    import numpy as np

    path = session.trainer.cfg.data.removeprefix("file:")
    assert np.load(path).shape == (drawn + 5, 2)  # the page's points are the data
    title = pg.inner_text(".title")  # the panel is named for the data, not its temporary file
    assert title.startswith("bce on drawn — step") and "/" not in title, title
    assert errors == []


def test_a_bookmark_is_the_live_run_as_an_offline_page(live, tmp_path):
    pg, session, url, errors = live
    _start(pg)
    _wait(lambda: session.state()["step"] >= 40, timeout=60)
    pg.click("#lpause")
    _paused(session)
    with pg.expect_download() as dl:
        pg.click("#bookmark")
    path = tmp_path / "bookmark.html"
    dl.value.save_as(path)
    assert dl.value.suggested_filename.startswith("toygan-live-bce-on-ring-step")
    frames = session.state()["runs"][0]["frames"]
    html = path.read_text()
    assert '"mode":"static"' in html and "http://127.0.0.1" not in html
    pg.goto(path.as_uri())  # offline: the server is not asked for anything
    # It opens where it was saved, the last frame; the slider goes back to the start.
    assert pg.inner_text("#frame").startswith(f"step {frames[-1]['step']} ")
    assert pg.inner_text("#frame").endswith(f"(frame {len(frames)}/{len(frames)})")
    pg.fill("#slider", "0")
    assert pg.inner_text("#frame") == f"step 0 (frame 1/{len(frames)})"
    assert "bce on ring" in pg.inner_text(".panel .title")
    assert errors == []


def test_noise_density_layer_on_a_known_map(live):
    """GAN Lab's generator-transformation view: each manifold cell shaded by the noise mass of
    its latent square over the area of its image. On the identity map (equal areas) the
    densities are the squares' Gaussian masses, known in closed form."""
    import torch
    from scipy.stats import norm
    from torch.testing import assert_close

    pg, session, _, errors = live
    got = pg.evaluate("""() => { const n = 21, m = [], meta = {extent: [-2.5, 2.5, -2.5, 2.5]};
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++)
        m.push(-2.5 + 5 * b / (n - 1), -2.5 + 5 * a / (n - 1));
      return cellDensity(meta, m).map((c) => c.density); }""")
    t = [-2.5 + 0.25 * i for i in range(21)]
    mass = [norm.cdf(t[i + 1]) - norm.cdf(t[i]) for i in range(20)]
    want = [mass[a] * mass[b] / (420 * 0.25 / 5) ** 2 for a in range(20) for b in range(20)]
    assert_close(torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64),
                 rtol=1e-4, atol=0)
    _start(pg)
    before = pg.evaluate("() => runs[0].els.land.toDataURL()")
    pg.check("#layer-density")
    assert pg.evaluate("() => runs[0].els.land.toDataURL()") != before
    assert errors == []


def test_two_runs_step_in_lock_step_from_the_same_start(live):
    """Beyond GAN Lab: a second objective beside the first, same data, seed and initial
    weights, both taking step n before either takes step n + 1."""
    pg, session, _, errors = live
    pg.select_option("#loss", "bce")
    pg.select_option("#compare", "wgan-gp")
    pg.click("#start")
    pg.wait_for_function("runs.length == 2 && runs[1].frames.length >= 3", timeout=60_000)
    pg.click("#lpause")
    _paused(session)
    st = session.state()
    a, b = (r["frames"] for r in st["runs"])
    assert [f["step"] for f in a] == [f["step"] for f in b] and a[-1]["step"] >= 10
    assert [f["seq"] for f in a] == [f["seq"] for f in b]
    assert a[0]["fake"] == b[0]["fake"]  # the same generator at step 0: same initial weights
    assert a[-1]["fake"] != b[-1]["fake"]  # then each objective moves it its own way
    assert [r.trainer.step for r in session.runs] == [st["step"]] * 2
    titles = pg.locator(".panel .title").all_inner_texts()
    assert titles[0].startswith("bce on ring — step") and titles[1].startswith("wgan-gp on ring")
    with session.lock:  # each run's own count (bce: k = 1, wgan-gp: k = 5 per step)
        d = [r.d_steps for r in session.runs]
    assert d[1] == 5 * d[0]
    pg.click("#dstep")  # a lone update moves both
    _wait(lambda: [r["frames"][-1]["d_steps"] for r in session.state()["runs"]] ==
          [d[0] + 1, d[1] + 1])
    assert "bce: D" in pg.inner_text("#overview") and "wgan-gp: D" in pg.inner_text("#overview")
    assert errors == []


def test_model_settings_overview_strip_and_the_transformation_view(live):
    """GAN Lab's per-player settings (layers, neurons, optimiser, noise), its model overview,
    and its generator transformation: the latent grid folding into G's image."""
    import torch
    from torch.testing import assert_close

    pg, session, _, errors = live
    assert "g_width must be a whole number between 1 and 512" in refused(pg, "g_width", "0",
                                                                          "g_width")
    pg.fill("#g_depth", "2")
    pg.fill("#g_width", "32")
    pg.select_option("#opt_g", "sgd")
    pg.select_option("#noise", "uniform")
    _start(pg)
    cfg = session.trainer.cfg
    assert (cfg.g_depth, cfg.g_width, cfg.g_optimizer, cfg.noise) == (2, 32, "sgd", "uniform")
    assert type(session.trainer.opt_g).__name__ == "SGD"
    strip = pg.inner_text("#overview")
    assert "2 layers × 32 · sgd" in strip and "2-D U[−1, 1]" in strip and "bce: D" in strip
    # t = 0 is the latent square (uniform noise fills [-1, 1]^2), t = 1 the manifold itself.
    ends = pg.evaluate("""() => { const run = runs[0], f = run.frames[run.frames.length - 1];
      const m = decodeFrame(run.meta, f).manifold;
      return [Array.from(morphed(run.meta, m, 0)), Array.from(latentPositions(run.meta, 21)),
              Array.from(morphed(run.meta, m, 1)), Array.from(m)]; }""")
    t0, square, t1, manifold = (torch.tensor(v, dtype=torch.float64) for v in ends)
    assert_close(t0, square)
    assert_close(t1, manifold)
    x0, x1, y0, y1 = pg.evaluate("runs[0].meta.extent")
    side = 0.9 * min(x1 - x0, y1 - y0)  # the square fills 90% of the canvas
    xy = square.reshape(-1, 2)
    assert_close(xy.max(0).values - xy.min(0).values,
                 torch.tensor([side, side], dtype=torch.float64))
    pg.click("#lpause")
    pg.select_option("#speed", "1")
    before = pg.evaluate("() => runs[0].els.land.toDataURL()")
    pg.click("#morph")
    pg.wait_for_function("morphT !== null && morphT > 0.2 && morphT < 0.8")
    assert pg.evaluate("() => runs[0].els.land.toDataURL()") != before
    pg.wait_for_function("morphDone === 1 && morphT === null", timeout=10_000)
    assert errors == []


def test_slow_mode_explains_each_phase_of_one_step(live):
    pg, session, _, errors = live
    _start(pg)
    pg.select_option("#speed", "8")
    pg.check("#slow")
    _wait(lambda: not session.state()["running"])
    pg.wait_for_function("slowPhase === 1", timeout=10_000)
    assert pg.is_visible("#explain")
    items = pg.locator("#explain li").all_inner_texts()
    assert len(items) == 4 and items[1].startswith("Critic update")
    assert "−log σ(D(real))" in items[1] and "pulled along its arrow" in items[2]
    assert pg.inner_text("#explain li.active") == items[1]
    assert pg.evaluate("hot") == ["real", "fake", "D", "loss"]
    assert "hot" in pg.get_attribute("#ov-D", "class")
    pg.wait_for_function("slowPhase === 3", timeout=10_000)
    pg.wait_for_function("slowPhase === 1", timeout=10_000)  # and again: the loop goes on
    pg.wait_for_function("slowPhase === 3", timeout=10_000)
    frames = session.state()["runs"][0]["frames"]
    d_frame, g_frame = frames[-2], frames[-1]  # one critic update (k = 1), then one G update
    assert g_frame["step"] == d_frame["step"] + 1 and g_frame["d_steps"] == d_frame["d_steps"]
    assert d_frame["d_steps"] == frames[-3]["d_steps"] + 1
    assert not session.state()["running"]
    pg.uncheck("#slow")
    pg.wait_for_function("slowOn === false", timeout=10_000)
    assert not pg.is_visible("#explain")
    assert errors == []


def test_opening_the_page_requests_nothing_that_fails():
    """No 404 in the console on every load (the browser's favicon request among them)."""
    if why_no_browser():
        pytest.skip(why_no_browser())
    server = open_page(live=True, port=0)
    try:
        with page() as pg:
            failed = []
            pg.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.url)))
            pg.on("requestfailed", lambda r: failed.append(("failed", r.url)))
            pg.goto(server.url)
            pg.wait_for_load_state("networkidle")
            assert failed == []
        # A browser that asks for the icon anyway (headed Chromium does) gets "no content".
        with urllib.request.urlopen(server.url.rstrip("/") + "/favicon.ico") as r:
            assert r.status == 204
    finally:
        server.stop()


def test_a_reload_a_second_tab_and_a_reopened_page_show_and_control_the_same_runs(live):
    pg, session, url, errors = live
    _start(pg)
    _wait(lambda: session.state()["step"] > 30)
    run_id = pg.evaluate("runId")
    pg.reload()  # the page's state is gone; the server's is not
    pg.wait_for_function("runs.length == 1 && runs[0].frames.length >= 3", timeout=60_000)
    assert pg.evaluate("runId") == run_id and pg.evaluate("runs[0].frames[0].step") == 0
    assert "reattached" in pg.inner_text("#hint") and pg.inner_text("#lpause") == "pause"
    assert pg.input_value("#k") == "1" and pg.input_value("#lr_d") == "2e-4"
    second = pg.context.browser.new_page()  # a second tab controls the same runs
    second.on("pageerror", lambda e: errors.append(str(e)))
    second.goto(url)
    second.wait_for_function("runs.length == 1 && runs[0].frames.length >= 3", timeout=60_000)
    assert second.evaluate("runId") == run_id
    second.click("#lpause")
    step = _paused(session)
    pg.wait_for_function("document.getElementById('lpause').textContent == 'resume'")
    for p in (pg, second):
        p.evaluate("poll()")
    curves = "[runs[0].curves.eval_step, runs[0].curves.modes, runs[0].frames.at(-1).step]"
    assert pg.evaluate(curves) == second.evaluate(curves)
    pg.close()  # the first page is gone (a crash); a page opened again finds the paused runs
    third = second.context.browser.new_page()
    third.on("pageerror", lambda e: errors.append(str(e)))
    third.goto(url)
    third.wait_for_function("runs.length == 1 && runs[0].frames.length >= 3", timeout=60_000)
    assert third.inner_text("#lpause") == "resume" and f"{step:,}" in third.inner_text("#hint")
    third.click("#lpause")
    _wait(lambda: session.state()["step"] > step)
    assert errors == []


def test_plus_500_steps_jumps_ahead_and_stops_there(live):
    pg, session, _, errors = live
    _start(pg)
    pg.click("#lpause")
    at = _paused(session)
    pg.click("#ljump")
    _wait(lambda: session.state()["step"] >= at + 500, timeout=120)
    assert _paused(session) == at + 500 and not session.state()["running"]
    pg.wait_for_function(f"runs[0].frames.at(-1).step == {at + 500}")
    assert pg.inner_text("#lpause") == "resume" and errors == []


BOXES = """() => [...document.querySelectorAll('.panel')].map((p) =>
  [...p.querySelectorAll('canvas')].map((c) => { const r = c.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; }))"""


def test_a_projector_sees_map_colour_bar_and_curves_without_scrolling():
    """At 1366x768 one run's map, colour bar and curves are all on screen; at 1920x1080 two
    runs side by side; the legend is one row of swatches; large type enlarges the text."""
    if why_no_browser():
        pytest.skip(why_no_browser())
    for (w, h), compare in (((1366, 768), "none"), ((1920, 1080), "wgan-gp")):
        server = open_page(live=True, port=0)  # a fresh server: nothing to reattach to
        try:
            with page(w, h) as pg:
                pg.goto(server.url)
                pg.select_option("#compare", compare)
                pg.click("#start")
                pg.wait_for_function("runs.length >= 1 && runs[0].frames.length >= 2",
                                     timeout=60_000)
                panels = pg.evaluate(BOXES)
                assert len(panels) == (1 if compare == "none" else 2)
                for canvases in panels:
                    assert len(canvases) == 3  # map, colour bar, curves
                    for left, top, right, bottom in canvases:
                        assert 0 <= left and right <= w and 0 <= top and bottom <= h, (w, h)
                if len(panels) == 2:  # side by side, not one under the other
                    assert panels[0][0][1] == panels[1][0][1]
                legend = pg.locator("#legend").bounding_box()
                assert legend["height"] < 30  # one row
                assert pg.locator("#legend .sw").count() == 6
                size = "getComputedStyle(document.querySelector('#legend')).fontSize"
                small = float(pg.evaluate(size)[:-2])
                pg.check("#big")
                assert float(pg.evaluate(size)[:-2]) >= 1.4 * small
        finally:
            server.stop()


def test_start_from_a_lesson_opens_where_it_stopped(live):
    pg, session, _, errors = live
    pg.select_option("#from", "converged-wgan-gp")
    pg.click("#start")
    pg.wait_for_function("runs.length == 1 && runs[0].frames.length >= 2", timeout=60_000)
    assert pg.evaluate("runs[0].frames[0].step") == 3000
    assert pg.evaluate("runs[0].curves.modes[0]") == 8
    assert "lesson: WGAN-GP at equal rates" in pg.inner_text("#hint")
    assert (pg.input_value("#k"), pg.input_value("#lr_g")) == ("5", "2e-4")  # what it runs
    assert "wgan-gp on ring" in pg.inner_text(".panel .title") and errors == []
