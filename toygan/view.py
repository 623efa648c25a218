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

import base64
import json
import math
import os
import re
import sys
import tempfile
import threading
import time
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np

from toygan import files
from toygan.cli import Parser, run_main
from toygan.config import add_config_flags, build, check, given, option
from toygan.errors import DataError, UserError
from toygan.status import MODES_WINDOW, recent_best
from toygan.variants import variant_label

Q_POINTS = 16383  # int16 steps per half-extent (samples may lie up to 2 extents out)
Q_GRAD = 8191


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def _lut(name: str) -> list[int]:
    import matplotlib

    cmap = matplotlib.colormaps[name]
    return (np.array([cmap(i / 255)[:3] for i in range(256)]) * 255).round().astype(int) \
        .ravel().tolist()


def luts() -> dict[str, list[int]]:
    """The colour maps the page draws critics with (those of ``toygan.render.CMAPS``)."""
    return {k: _lut(k) for k in ("RdBu_r", "viridis", "magma_r")}


class Encoder:
    """Quantises one run's snapshots for the page (the same code serves the live mode)."""

    def __init__(self, extent, output: str, grad_scale: float):
        self.extent = [float(v) for v in extent]
        xmin, xmax, ymin, ymax = self.extent
        self.center = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
        self.half = max(xmax - xmin, ymax - ymin) / 2
        self.output, self.grad_scale = output, max(grad_scale, 1e-12)

    def points(self, x: np.ndarray) -> str:
        q = np.clip(np.round((x - self.center) / self.half * Q_POINTS), -32767, 32767)
        return _b64(q.astype(np.int16))

    def frame(self, step: int, snap: dict) -> dict:
        c = snap["critic"].astype(np.float64)
        if self.output == "probability":
            c = 1 / (1 + np.exp(-np.clip(c, -60, 60)))
            lo, hi = 0.0, 1.0
        else:
            lo, hi = (float(v) for v in np.percentile(c, [1, 99]))
            hi = hi if hi > lo else lo + 1e-9
        q = np.clip(np.round((c - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)
        g = np.clip(np.round(snap["fake_grad"] / self.grad_scale * Q_GRAD), -32767, 32767)
        out = {"step": int(step), "fake": self.points(snap["fake"]),
               "grad": _b64(g.astype(np.int16)), "critic": _b64(q), "lo": lo, "hi": hi}
        if "manifold" in snap:
            out["manifold"] = self.points(snap["manifold"])
        return out


def _grad_scale(grads: np.ndarray) -> float:
    norms = np.linalg.norm(grads.reshape(-1, 2), axis=1)
    return float(np.percentile(norms, 95)) if norms.size else 1.0


def _clean(v):
    return None if v is None or not math.isfinite(v) else round(float(v), 5)


def _curves(stats: list[dict]) -> dict:
    """Loss means and evaluations as the page's columns (KL/JS: the live page's grid
    histograms; None where a record has no such value)."""
    losses = [r for r in stats if "d_loss" in r]
    evals = [r for r in stats if r.get("modes_covered") is not None or "js" in r]
    modes = [r.get("modes_covered") for r in evals]
    # A live record carries its own (its window reaches before what a poll sends).
    best = [r.get("modes_best", b) for r, b in zip(evals, recent_best(modes), strict=True)]
    clean = _clean
    return {"loss_step": [r["step"] for r in losses],
            "d_loss": [clean(r["d_loss"]) for r in losses],
            "g_loss": [clean(r["g_loss"]) for r in losses],
            "eval_step": [r["step"] for r in evals],
            "modes": modes,
            "modes_best": best,
            "kl": [clean(r.get("kl")) for r in evals],
            "js": [clean(r.get("js")) for r in evals]}


def encode_run(run, max_points: int | None = None) -> dict:
    """One recorded run (``toygan.render.Run``) as the page's JSON."""
    from toygan.models import latent_span

    snap, cfg = run.snap, run.config
    n = snap["fake"].shape[1]
    pick = slice(None) if not max_points or n <= max_points else \
        np.linspace(0, n - 1, max_points).round().astype(int)
    enc = Encoder(snap["extent"], run.output, _grad_scale(snap["fake_grad"][:, pick]))
    frames = [enc.frame(int(s), {"critic": snap["critic"][i], "fake": snap["fake"][i][pick],
                                 "fake_grad": snap["fake_grad"][i][pick],
                                 "manifold": snap["manifold"][i]})
              for i, s in enumerate(snap["steps"])]
    return {"label": f"{variant_label(cfg)} on {cfg['data']}", "output": run.output,
            "extent": enc.extent, "center": enc.center.tolist(), "half": enc.half,
            "res": int(snap["critic"].shape[-1]), "grad_scale": enc.grad_scale,
            "real": enc.points(snap["real"]), "centers": snap["centers"].tolist(),
            "n_modes": int(len(snap["centers"])), "modes_window": MODES_WINDOW,
            "steps_total": int(cfg["steps"]),
            "noise": cfg.get("noise", "normal"), "z_dim": int(cfg.get("z_dim", 2)),
            "span": latent_span(cfg.get("noise", "normal")),
            "frames": frames, "curves": _curves(run.stats)}


def run_folders(paths: list[str]) -> list[Path]:
    """Run folders from the arguments: run folders themselves, or a study's ``runs/``."""
    out = []
    for p in map(Path, paths):
        if (p / "snapshots.npz").exists():
            out.append(p)
        elif (p / "runs").is_dir():
            out += sorted(q for q in (p / "runs").iterdir() if (q / "snapshots.npz").exists())
        else:
            raise UserError(f"{p} is neither a toygan run folder nor a toygan.compare study")
    if not out:
        raise UserError("no run with snapshots found")
    return out


def page(data: dict) -> str:
    """The page: the template with its data inline."""
    template = resources.files("toygan").joinpath("view.html").read_text()
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return template.replace("/*DATA*/null", payload)


def static_page(paths: list[str], max_points: int | None = None) -> str:
    from toygan.render import Run

    runs = []
    for p in run_folders(paths):
        try:
            runs.append(Run.load(p))
        except ValueError as e:
            raise UserError(str(e)) from None
    return page({"mode": "static", "runs": [encode_run(r, max_points) for r in runs],
                 "luts": luts()})


# ----------------------------------------------------------------------------- live mode


LIVE_LIMITS = {"lr": (1e-6, 1.0), "points": (10, 5000), "steps": (1, 100_000)}


class LiveRun:
    """One trainer of the live session and what the page has of it: its description
    (``meta``), frames, loss means and evaluations."""

    def __init__(self, trainer):
        from toygan.models import count_params, latent_span

        t, cfg = trainer, trainer.cfg
        self.trainer = t
        self.encoder = Encoder(t.data.extent, t.obj.output, 1.0)
        enc = self.encoder
        g_opt = cfg.g_optimizer or cfg.optimizer
        data = "drawn" if cfg.data.startswith("file:") else cfg.data  # not a temporary path
        self.meta = {
            "label": f"{variant_label(vars(cfg))} on {data}", "loss": cfg.loss,
            "output": t.obj.output, "extent": enc.extent, "center": enc.center.tolist(),
            "half": enc.half, "res": cfg.grid_res, "real": enc.points(t.real_vis.numpy()),
            "centers": [] if t.data.centers is None else t.data.centers.tolist(),
            "n_modes": t.data.n_modes or 0, "modes_window": MODES_WINDOW,
            "steps_total": cfg.steps, "n_critic": cfg.n_critic,
            "gp_weight": cfg.gp_weight if _penalised(cfg) else None,
            "noise": cfg.noise, "z_dim": cfg.z_dim, "span": latent_span(cfg.noise),
            "data": data.split(":")[0],
            "G": {"layers": cfg.g_depth, "width": cfg.g_width, "optimizer": g_opt,
                  "lr": cfg.lr_g, "params": count_params(t.G)},
            "D": {"layers": cfg.d_depth, "width": cfg.d_width, "optimizer": cfg.optimizer,
                  "lr": cfg.lr_d, "params": count_params(t.D)},
            "objective": t.obj.formula}
        self.frames: list[dict] = []
        self.losses: list[dict] = []  # {"step", "d_loss", "g_loss"}: means over an interval
        self.evals: list[dict] = []   # {"step", "modes_covered", ...}
        self.sums: dict[str, float] = {}
        self.count = 0
        self.d_steps = 0  # critic updates so far (its own k per generator step)

    def snapshot(self, evaluate: bool) -> tuple[dict, dict | None]:
        """A frame of the trainer's current step (its arrows in the frame's own 95th-percentile
        gradient norm ``gs``, so the page scales them against the run's history), and its
        evaluation when asked."""
        t, encoder = self.trainer, self.encoder
        snap = t.snapshot()
        gs = _grad_scale(snap["fake_grad"])
        encoder.grad_scale = max(gs, 1e-12)
        frame = {**encoder.frame(t.step, snap), "gs": gs}
        if not evaluate:
            return frame, None
        from toygan.metrics import grid_divergence

        fake = t.sample()
        ev = {"step": t.step, **t.evaluate(fake),
              **grid_divergence(t.real_eval.numpy(), fake.numpy(), t.data.extent)}
        return frame, ev

    def log(self, step: int, values: dict, emit: bool) -> None:
        """Accumulate the step's losses; at a snapshot, keep their mean since the last one."""
        for k in ("d_loss", "g_loss"):
            self.sums[k] = self.sums.get(k, 0.0) + values[k]
        self.count += 1
        if emit:
            self.losses.append({"step": step, **{k: v / self.count for k, v in self.sums.items()}})
            self.sums, self.count = {}, 0

    def add(self, frame: dict, ev: dict | None, seq: int) -> None:
        self.frames.append({**frame, "seq": seq, "d_steps": self.d_steps})
        if ev is not None and not (self.evals and self.evals[-1]["step"] == ev["step"]):
            recent = [r.get("modes_covered")
                      for r in self.evals[max(len(self.evals) - MODES_WINDOW + 1, 0):]]
            ev["modes_best"] = recent_best([*recent, ev.get("modes_covered")])[-1]
            self.evals.append(ev)

    def lone_update(self, which: str) -> None:
        """One critic step ("d"), or one generator step against the critic as it is ("g", no
        unrolling)."""
        from toygan.mitigations import pack

        t = self.trainer
        B, gan = t.cfg.batch_size, t.gan
        if which == "d":
            gan.critic_update(lambda: t._real(B), t._z, B)
            return
        t.D.requires_grad_(False)
        try:
            gan.generator_update(t.D, pack(t._real(B), t.cfg.pack), t._z, B)
        finally:
            t.D.requires_grad_(True)
        t.step += 1

    def apply_settings(self, new: dict) -> None:
        """New learning rates, critic steps per generator step or penalty weight (validated),
        applied to the trainer between two steps and shown in ``meta``."""
        t = self.trainer
        for k, opt in (("lr_d", t.opt_d), ("lr_g", t.opt_g)):
            if k in new:
                for group in opt.param_groups:
                    group["lr"] = new[k]
        for k, v in new.items():
            if k != "gp_weight" or _penalised(t.cfg):
                setattr(t.cfg, k, v)
        if "gp_weight" in new and _penalised(t.cfg):
            t.gan.hp["gp_weight"] = new["gp_weight"]
        self.meta["G"]["lr"], self.meta["D"]["lr"] = t.cfg.lr_g, t.cfg.lr_d
        self.meta["n_critic"] = t.cfg.n_critic  # what the page shows is what was applied
        if _penalised(t.cfg):
            self.meta["gp_weight"] = t.cfg.gp_weight

    def thin(self) -> None:
        """Every other frame and loss mean goes, the newest kept."""
        self.frames = self.frames[::-2][::-1]
        self.losses = self.losses[::-2][::-1]


class LiveSession:
    """Toy runs trained in a background thread; the page polls their encoded snapshots.

    Several runs (``compare``: the same data, seed and initial weights under another objective)
    step in lock-step: each takes step n before any takes step n + 1, and they are snapshotted at
    the same steps, so the page shows them side by side frame for frame.

    Snapshots are taken every ``snapshot_every`` steps, and the losses averaged over the same
    interval; when more than ``keep`` snapshots are held, every other one is dropped and the
    interval doubles, so a run of any length holds at most ``keep`` frames spread over all of
    it. ``state(since)`` sends only what is newer than the step the page already has.

    Every page that opens the server polls the same session: a reloaded page, a second tab or one
    reopened after a crash shows the current runs with their history and controls them (all
    pages in step: the last command wins). When no page has polled for ``idle_after`` seconds
    the session pauses itself and says so to the next page that polls.
    """

    # Longer than a hidden tab's throttled timers (Chromium: one per minute after 5 minutes).
    idle_after = 120.0

    def __init__(self, snapshot_every: int = 5, keep: int = 300, threads: int | None = None):
        # Torch's threads are chosen again at every new run (toygan.threads: the cores free
        # then), unless the user fixed them (``threads``, --threads or OMP_NUM_THREADS): a run
        # started beside a busy process does not wait on its core (BENCHMARKS.md, "The live
        # page").
        self.threads = threads
        # ``lock`` guards the records and the controls, for microseconds at a time: training and
        # snapshots run outside it, so a poll never waits for a step.
        self.lock = threading.Lock()
        self.base_every, self.keep = snapshot_every, keep
        self.runs: list[LiveRun] = []
        self.running, self.pending_steps = False, 0
        self.run_id, self.step = 0, 0
        self.last_poll, self.idle_paused = time.monotonic(), False
        self._reset()
        self.stop = threading.Event()
        self.tmp = tempfile.TemporaryDirectory(prefix="toygan-live-")
        self.thread = threading.Thread(target=train_loop, args=(self,), daemon=True)
        self.thread.start()

    @property
    def trainer(self):
        return self.runs[0].trainer if self.runs else None

    @property
    def d_steps(self) -> int:
        """The first run's critic updates so far."""
        return self.runs[0].d_steps if self.runs else 0

    def _reset(self) -> None:
        self.snapshot_every = self.base_every
        self.seq = 0          # frames are numbered: a lone critic step adds a frame, same step
        self.singles: list[str] = []  # queued lone "d" / "g" updates (GAN Lab's D/G step)
        self.error = None

    def configure(self, params: dict) -> list[dict]:
        """Build the trainers from the page's parameters (validated); they replace the current
        ones between two steps. Returns each run's ``meta``."""
        from toygan import threads

        threads.apply(self.threads)
        runs = live_runs(params, Path(self.tmp.name))
        first = [r.snapshot(evaluate=True) for r in runs]
        with self.lock:
            self.run_id += 1
            self.runs, self.step = runs, runs[0].trainer.step
            self.running, self.pending_steps = False, 0
            self.last_poll, self.idle_paused = time.monotonic(), False
            self._reset()
            self.add_frames(first)
            return [{**r.meta, "run_id": self.run_id} for r in runs]

    def add_frames(self, snaps: list[tuple[dict, dict | None]]) -> None:
        """Keep one frame per run (under ``lock``); past ``keep``, every other one goes."""
        self.seq += 1
        for r, (frame, ev) in zip(self.runs, snaps, strict=True):
            r.add(frame, ev, self.seq)
        if len(self.runs[0].frames) > self.keep:
            for r in self.runs:
                r.thin()
            self.snapshot_every *= 2

    def control(self, action: str, steps: int = 1) -> None:
        with self.lock:
            if not self.runs:
                raise UserError("press start first")
            self.idle_paused = False
            self.last_poll = time.monotonic()
            if action == "play":
                self.running = True
            elif action == "pause":
                self.running = False
            elif action == "step":
                self.running, self.pending_steps = False, self.pending_steps + steps
            elif action in ("dstep", "gstep"):
                self.running = False
                self.singles += [action[0]] * steps

    def settings(self, params: dict) -> dict:
        """Change the running runs' learning rates, critic steps per generator step (k) or
        penalty weight without a restart; validated like a new run's."""
        if not isinstance(params, dict):
            raise UserError("the request must be a JSON object")
        with self.lock:
            if not self.runs:
                raise UserError("press start first")
            new = validate_settings(params, self.trainer.cfg.loss,
                                    any(_penalised(r.trainer.cfg) for r in self.runs))
            for r in self.runs:
                r.apply_settings(new)
            cfg = self.trainer.cfg
            return {k: getattr(cfg, k) for k in ("lr_d", "lr_g", "n_critic", "gp_weight")}

    def state(self, since: int = 0, since_step: int = -1) -> dict:
        """Frames after number ``since`` and curves after step ``since_step`` of every run: what
        is new (the runs' ``meta`` only with ``since`` 0, the page's first request)."""
        with self.lock:
            self.last_poll = time.monotonic()
            new = lambda rows: [r for r in rows if r["step"] > since_step]  # noqa: E731
            return {"meta": [{**r.meta, "run_id": self.run_id} for r in self.runs]
                    if since <= 0 else None,
                    "run_id": self.run_id,
                    "runs": [{"frames": [f for f in r.frames if f["seq"] > since],
                              "curves": _curves(new(r.losses) + new(r.evals))}
                             for r in self.runs],
                    "running": self.running, "snapshot_every": self.snapshot_every,
                    "step": self.step, "error": self.error,
                    "idle_paused": self.idle_after if self.idle_paused else None}

    def bookmark(self) -> tuple[str, str]:
        """The live runs so far as a recorded-run page (the offline page's own format: open it
        with a double click) and a file name for it."""
        with self.lock:
            if not self.runs:
                raise UserError("press start first")
            step = self.step
            runs = [{**r.meta, "grad_scale": 1.0, "steps_total": max(step, 1),
                     "frames": list(r.frames), "curves": _curves(r.losses + r.evals)}
                    for r in self.runs]
        label = " vs ".join(r["label"] for r in runs)
        name = re.sub(r"[^A-Za-z0-9_.+-]+", "-", f"toygan-live-{label}-step{step}.html")
        return page({"mode": "static", "runs": runs, "luts": luts(), "start": "last"}), name

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.tmp.cleanup()


def train_loop(session: LiveSession) -> None:
    """The session's training thread: steps, lone updates and snapshots of its runs (only
    this thread trains; new runs replace them between two steps)."""
    while not session.stop.is_set():
        with session.lock:
            if session.running and time.monotonic() - session.last_poll > session.idle_after:
                session.running, session.pending_steps, session.idle_paused = False, 0, True
            runs, run_id, every = session.runs, session.run_id, session.snapshot_every
            t = runs[0].trainer if runs else None
            single = session.singles.pop(0) if t is not None and session.singles else None
            go = t is not None and (session.running or session.pending_steps > 0) and \
                t.step < t.cfg.steps and single is None
            stepping = session.pending_steps > 0
            if go:
                session.pending_steps = max(session.pending_steps - 1, 0)
            request_done = go and stepping and session.pending_steps == 0
        if single is not None:
            lone_updates(session, runs, run_id, single)
            continue
        if not go:
            session.stop.wait(0.05)
            continue
        # Only this thread trains; new runs replace ``runs`` between two steps. Lock-step:
        # every run takes this step before any takes the next.
        values = [{k: float(v) for k, v in r.trainer.train_step().items()} for r in runs]
        due = t.step % every == 0 or request_done
        snaps = [r.snapshot(t.step % (5 * every) == 0 or request_done) for r in runs] \
            if due else None
        with session.lock:
            if session.run_id != run_id:
                continue  # replaced by new runs meanwhile
            session.step = t.step
            for r, v in zip(runs, values, strict=True):
                r.d_steps += r.trainer.cfg.n_critic
                if not all(math.isfinite(x) for x in v.values()):
                    session.running, session.pending_steps = False, 0
                    session.error = f"{r.meta['label']}: training diverged at step " \
                                    f"{t.step} (NaN/Inf loss)"
                r.log(t.step, v, emit=snaps is not None)
            if snaps is not None:
                session.add_frames(snaps)


def lone_updates(session: LiveSession, runs: list[LiveRun], run_id: int, which: str) -> None:
    """GAN Lab's lone updates: one critic step ("d"), or one generator step against the
    critic as it is ("g", no unrolling) — mode hopping is the generator chasing it."""
    for r in runs:
        r.lone_update(which)
    snaps = [r.snapshot(evaluate=which == "g") for r in runs]
    with session.lock:
        if session.run_id == run_id:
            session.step = runs[0].trainer.step
            for r in runs:
                r.d_steps += which == "d"
            session.add_frames(snaps)


def _penalised(cfg) -> bool:
    """Whether the objective has a gradient penalty (its weight is a page control)."""
    from toygan.losses import OBJECTIVES

    return OBJECTIVES[cfg.loss].penalty is not None


def _number(value, name: str, lo: float, hi: float, integer: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number") from None
    if not (math.isfinite(v) and lo <= v <= hi) or (integer and v != int(v)):
        kind = "a whole number" if integer else "a number"
        raise UserError(f"{name} must be {kind} between {lo:g} and {hi:g}")
    return v


# The model choices the page offers (GAN Lab's per-player settings), with their ranges.
LIVE_MODEL = {"g_depth": (1, 8), "g_width": (1, 512), "d_depth": (1, 8), "d_width": (1, 512),
              "z_dim": (1, 16)}


def live_runs(params: dict, tmp: Path) -> list[LiveRun]:
    """The runs a *new run* asks for: a shipped lesson where it stopped (``start_from``,
    :mod:`toygan.lessons`), else trainers of the validated settings (``tmp`` holds drawn data)."""
    from toygan.train import Trainer

    start_from = params.get("start_from") if isinstance(params, dict) else None
    if start_from in (None, "", "fresh"):
        return [LiveRun(Trainer(cfg)) for cfg in validate(params, tmp)]
    from toygan import lessons

    cfg, ckpt = lessons.load(str(start_from))
    trainer = Trainer(cfg)
    trainer.load_state(ckpt)
    run = LiveRun(trainer)
    run.d_steps = trainer.step * cfg.n_critic
    return [run]


def validate_settings(params: dict, loss: str, penalised: bool) -> dict:
    """The mid-run settings a request asks for (learning rates, k, λ), range-checked like a new
    run's; every refused field is named in one message, and then nothing is applied."""
    new, refused = {}, []

    def check(key, *args, **kw):
        try:
            new[key] = _number(params[key], *args, **kw)
        except UserError as e:
            refused.append(str(e))

    for k in ("lr_d", "lr_g"):
        if params.get(k) not in (None, ""):
            check(k, k, *LIVE_LIMITS["lr"])
    if params.get("n_critic") not in (None, ""):
        check("n_critic", "k (critic steps)", 1, 100, integer=True)
    if params.get("gp_weight") not in (None, ""):
        if not penalised:
            refused.append(f"{loss} has no gradient penalty to weigh")
        else:
            check("gp_weight", "gp_weight", 0, 1e6)
    if refused:
        raise UserError("; ".join(refused) + " (nothing was changed)")
    if "n_critic" in new:
        new["n_critic"] = int(new["n_critic"])
    return new


def validate(params: dict, tmp: Path) -> list:
    """The ``TrainConfig`` of each run the page's request asks for (``variant``, and
    ``compare`` for a second run beside it: same data, seed and initial weights), checked like
    the command-line flags."""
    from toygan.data import DATASETS
    from toygan.losses import OPTIMIZERS
    from toygan.models import NOISES
    from toygan.presets import LIVE
    from toygan.train import TrainConfig
    from toygan.variants import parse_variant

    if not isinstance(params, dict):
        raise UserError("the request must be a JSON object")
    data = str(params.get("data", "ring"))
    if data == "draw":
        pts = np.asarray(params.get("points", []), dtype=np.float64)
        lo, hi = LIVE_LIMITS["points"]
        if pts.ndim != 2 or pts.shape[1:] != (2,) or not lo <= len(pts) <= hi or \
                not np.isfinite(pts).all() or np.abs(pts).max() > 100:
            raise UserError(f"draw between {lo} and {hi} points on the canvas first")
        path = tmp / "drawn.npy"
        np.save(path, pts)
        data = f"file:{path}"
    elif data not in DATASETS:
        raise UserError(f"unknown data {data!r}; choose from {', '.join(DATASETS)} or draw")
    common = {}
    for k in ("lr_d", "lr_g"):
        if params.get(k) not in (None, ""):
            common[k] = _number(params[k], k, *LIVE_LIMITS["lr"])
    for k, (lo, hi) in LIVE_MODEL.items():
        if params.get(k) not in (None, ""):
            common[k] = int(_number(params[k], k, lo, hi, integer=True))
    if params.get("noise") not in (None, ""):
        if params["noise"] not in NOISES:
            raise UserError(f"noise must be one of {', '.join(NOISES)}")
        common["noise"] = params["noise"]
    for k, field in (("opt_d", "optimizer"), ("opt_g", "g_optimizer")):
        if params.get(k) not in (None, ""):
            if params[k] not in OPTIMIZERS:
                raise UserError(f"{k} must be one of {', '.join(OPTIMIZERS)}")
            common[field] = params[k]
    variants = [str(params.get("variant", "wgan-gp"))]
    if params.get("compare") not in (None, "", "none"):
        variants.append(str(params["compare"]))
    cfgs = []
    for v in variants:
        fields = parse_variant(v)
        cfg = build(TrainConfig, {**LIVE, "data": data, **fields, **common})
        cfgs.append(cfg.resolved())
    return cfgs


class Handler(BaseHTTPRequestHandler):
    session: LiveSession
    html: str

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: bytes, kind: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj) -> None:
        self._send(code, json.dumps(obj).encode())

    def do_GET(self):
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, self.html.encode(), "text/html; charset=utf-8")
        elif url.path == "/favicon.ico":  # browsers ask on every load: no icon, and no 404
            self.send_response(204)
            self.end_headers()
        elif url.path == "/api/bookmark":
            try:
                html, name = self.session.bookmark()
            except UserError as e:
                return self._json(400, {"error": str(e)})
            self.send_response(200)
            body = html.encode()
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Disposition", f'attachment; filename="{name}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif url.path == "/api/state":
            q = parse_qs(url.query)
            try:
                since = int(q.get("since", ["0"])[0])
                since_step = int(q.get("since_step", ["-1"])[0])
            except ValueError:
                return self._json(400, {"error": "since and since_step must be integers"})
            self._json(200, self.session.state(since, since_step))
        else:
            self._json(404, {"error": f"no such page: {url.path}"})

    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
            if n > 1_000_000:
                raise UserError("request too large")
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/api/start":
                self._json(200, {"meta": self.session.configure(body)})
            elif self.path == "/api/settings":
                self._json(200, {"settings": self.session.settings(body)})
            elif self.path in ("/api/play", "/api/pause", "/api/step", "/api/dstep",
                               "/api/gstep"):
                steps = body.get("steps", 1) if isinstance(body, dict) else 1
                if not isinstance(steps, int) or not 1 <= steps <= 10_000:
                    raise UserError("steps must be an integer between 1 and 10000")
                self.session.control(self.path.rsplit("/", 1)[1], steps)
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": f"no such action: {self.path}"})
        except (UserError, DataError) as e:
            self._json(400, {"error": str(e)})
        except json.JSONDecodeError:
            self._json(400, {"error": "the request body must be JSON"})
        except Exception as e:  # noqa: BLE001 — never a traceback in the page: one message
            self._json(500, {"error": f"{type(e).__name__}: {e}"})


def serve(port: int = 0, threads: int | None = None) -> tuple[ThreadingHTTPServer, LiveSession]:
    """A live server on 127.0.0.1 (``port`` 0: a free one); call ``serve_forever`` on it. A
    port that cannot be had is one line (:class:`UserError`). ``threads``: torch's CPU threads
    for every run (default: chosen at each new run, :mod:`toygan.threads`)."""
    from toygan.data import DATASETS
    from toygan.lessons import LESSONS
    from toygan.losses import OBJECTIVES
    from toygan.variants import MITIGATIONS

    session = LiveSession(threads=threads)
    html = page({"mode": "live", "runs": [], "datasets": list(DATASETS),
                 "losses": list(OBJECTIVES),
                 "mitigations": ["none"] + [m for m in MITIGATIONS if m != "bug"],
                 "lessons": [{"name": k, "text": v["text"]} for k, v in LESSONS.items()],
                 "luts": luts()})
    handler = type("LiveHandler", (Handler,), {"session": session, "html": html})
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler), session
    except OSError as e:
        session.close()
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None


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
