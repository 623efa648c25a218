"""The live page's cost: training speed with the page open against the same trainer headless,
bytes and latency per poll, and the server's memory after a long run.

    python benchmarks/view_live.py                   # 20 s each way, then 10 minutes with the page
    python benchmarks/view_live.py --seconds 10 --minutes 1
    python benchmarks/view_live.py --tiny            # seconds: the code runs (CI)

Then two runs side by side (BCE beside WGAN-GP) with the page open, idle and with one core held
by a spinning process (the loaded case: the live server chooses torch's threads at each new run,
``toygan.threads``).

Both measurements train BCE on the ring with the live page's own configuration
(``toygan.live.validate``: the slide preset, snapshots every 5 steps thinned to 300). Headless:
``LiveSession`` alone. With the page: ``toygan.liveserver.serve`` and headless Chromium (Debian's
``chromium``) polling every 300 ms as a student's browser does. Memory is this process's resident
set (the server runs in it) after ``--minutes`` of training with the page open.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import threading
import time

from toygan import live, liveserver


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def steps_per_s(session: live.LiveSession, seconds: float, wait=time.sleep,
                min_steps: int = 10, timeout: float = 300.0) -> float:
    """Steps per second over at least ``seconds`` and at least ``min_steps`` steps (a window
    with no step — a busy machine, a slow first snapshot — would read 0)."""
    s0, t0 = session.state(10**9)["step"], time.perf_counter()
    wait(seconds)
    while session.state(10**9)["step"] - s0 < min_steps:
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"the live run took fewer than {min_steps} steps in {timeout:.0f} s")
        wait(0.1)
    return (session.state(10**9)["step"] - s0) / (time.perf_counter() - t0)


def started(session: live.LiveSession, timeout: float = 120.0, wait=time.sleep) -> None:
    """Wait until the run is past its first snapshots (the page's own start condition: a
    second frame), so a short measurement never starts inside a start-up cost. (One such cost
    read 0 steps/s on CI: the page's runs used to compile their critic update at their second
    step; they now train eagerly, ``toygan.live.LIVE_EAGER``.)"""
    deadline = time.monotonic() + timeout
    while session.state(10**9)["step"] <= 2 * session.snapshot_every:
        if time.monotonic() > deadline:
            raise SystemExit(f"the live run did not pass its second snapshot in {timeout:.0f} s")
        wait(0.1)


def headless(seconds: float, warm_s: float = 2.0) -> float:
    session = live.LiveSession()
    try:
        session.configure({"data": "ring", "variant": "bce"})
        session.control("play")
        started(session)
        time.sleep(warm_s)
        return steps_per_s(session, seconds)
    finally:
        session.close()


def with_page(seconds: float, minutes: float, compare: str = "none", load: bool = False,
              polls_s: float = 5.0, warm_s: float = 2.0) -> dict:
    """Train with the page open (``compare``: a second objective beside BCE, in lock-step);
    ``load``: a process spinning on one core from before the run starts to the end."""
    import subprocess
    import sys

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    server, session = liveserver.serve(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    polls: list[tuple[int, float]] = []  # (response bytes, ms from request to response end)

    def finished(req):
        if "/api/state" in req.url:
            polls.append((req.sizes()["responseBodySize"], req.timing["responseEnd"]))

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("requestfinished", finished)
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.select_option("#data", "ring")
            page.select_option("#compare", compare)
            if load:
                time.sleep(1)  # the spinner holds its core before the run chooses its threads
            page.click("#start")
            page.wait_for_function("runs.length >= 1 && runs[0].frames.length > 1")
            # The page's events are handled only while Playwright waits: never time.sleep here.
            started(session, wait=lambda s: page.wait_for_timeout(1000 * s))
            page.wait_for_timeout(1000 * warm_s)
            rate = steps_per_s(session, seconds, lambda s: page.wait_for_timeout(1000 * s))
            polls.clear()
            page.wait_for_timeout(1000 * polls_s)
            sample = list(polls)
            rss0 = rss_mb()
            deadline = time.monotonic() + 60 * minutes
            while time.monotonic() < deadline:
                page.wait_for_timeout(5000)
            frames = page.evaluate("runs[0].frames.length")
            browser.close()
        st = session.state(10**9)
        from toygan import threads

        return {"rate": rate, "threads": threads.chosen(),
                "bytes": statistics.median(b for b, _ in sample) if sample else None,
                "ms": statistics.median(t for _, t in sample) if sample else None,
                "polls": len(sample),
                "rss0": rss0, "rss": rss_mb(), "steps": st["step"], "frames": frames,
                "every": st["snapshot_every"]}
    finally:
        if spinner is not None:
            spinner.kill()
        server.shutdown()
        server.server_close()
        session.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--tiny", action="store_true",
                   help="1 s each way, 0.5 s warm-up, no long run (CI; figures meaningless)")
    a = p.parse_args()
    warm_s, polls_s = (0.5, 1.0) if a.tiny else (2.0, 5.0)
    if a.tiny:
        a.seconds, a.minutes = 1.0, 0.0
    alone = headless(a.seconds, warm_s)
    print(f"headless LiveSession: {alone:.0f} steps/s")
    r = with_page(a.seconds, a.minutes, polls_s=polls_s, warm_s=warm_s)
    print(f"with the page open:   {r['rate']:.0f} steps/s ({r['rate'] / alone:.2f}x headless)")
    if r["polls"]:
        print(f"polls: median {r['bytes'] / 1e3:.1f} kB and {r['ms']:.0f} ms each "
              f"({r['polls']} polls in {polls_s:g} s)")
    else:
        print(f"polls: none finished in {polls_s:g} s (a busy machine)")
    print(f"after {a.minutes:g} min with the page: step {r['steps']:,}, {r['frames']} frames in "
          f"the page, snapshot every {r['every']} steps, server RSS {r['rss']:.0f} MB "
          f"({r['rss0']:.0f} MB at the start)")
    # Two runs side by side (BCE beside WGAN-GP), the page open: idle, then with one core held
    # by another process from before the run starts (the thread policy chooses at each new run).
    idle = with_page(a.seconds, 0.0, compare="wgan-gp", polls_s=0, warm_s=warm_s)
    busy = with_page(a.seconds, 0.0, compare="wgan-gp", load=True, polls_s=0, warm_s=warm_s)
    print(f"two runs, page open: idle {idle['rate']:.1f} steps/s on {idle['threads']} thread(s), "
          f"one core held by another process {busy['rate']:.1f} steps/s on {busy['threads']} "
          f"({busy['rate'] / idle['rate']:.2f}x idle)")


if __name__ == "__main__":
    main()
