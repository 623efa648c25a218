"""The live page's session: toy runs trained in a background thread, side by side in lock-step,
snapshotted for the page that polls them; the page's requests validated against the registries
the commands use (a bad value is a one-line message in the page)."""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from toygan.config import build
from toygan.errors import UserError
from toygan.pagedata import Encoder, curves, grad_scale, luts, page
from toygan.status import MODES_WINDOW, recent_best
from toygan.variants import variant_label

# The page's controls and their ranges: each a field of toygan.train.TrainConfig, its range inside
# the flag's (a page value is checked against both; tests/test_view.py checks the containment),
# narrower where the page must stay responsive (GAN Lab's per-player model settings).
PAGE_RANGES = {"lr_d": (1e-6, 1.0), "lr_g": (1e-6, 1.0), "n_critic": (1, 100),
               "gp_weight": (0, 1e6), "g_depth": (1, 8), "g_width": (1, 512), "d_depth": (1, 8),
               "d_width": (1, 512), "z_dim": (1, 16)}
INTEGERS = ("n_critic", "g_depth", "g_width", "d_depth", "d_width", "z_dim")
DRAWN_POINTS = (10, 5000)  # points a drawn data set may have


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
        gs = grad_scale(snap["fake_grad"])
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
        self.thread = threading.Thread(target=live_loop, args=(self,), daemon=True)
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
                              "curves": curves(new(r.losses) + new(r.evals))}
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
                     "frames": list(r.frames), "curves": curves(r.losses + r.evals)}
                    for r in self.runs]
        label = " vs ".join(r["label"] for r in runs)
        name = re.sub(r"[^A-Za-z0-9_.+-]+", "-", f"toygan-live-{label}-step{step}.html")
        return page({"mode": "static", "runs": runs, "luts": luts(), "start": "last"}), name

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.tmp.cleanup()


def live_loop(session: LiveSession) -> None:
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


def _number(value, key: str, name: str | None = None) -> float | int:
    """A page control's value: a number inside the page's range for ``key`` and inside its
    flag's (``toygan.config.keyword_fields`` on TrainConfig), or one line naming the control."""
    from toygan.config import keyword_fields
    from toygan.train import TrainConfig

    lo, hi = PAGE_RANGES[key]
    integer, name = key in INTEGERS, name or key
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number") from None
    if not (math.isfinite(v) and lo <= v <= hi) or (integer and v != int(v)):
        kind = "a whole number" if integer else "a number"
        raise UserError(f"{name} must be {kind} between {lo:g} and {hi:g}")
    return keyword_fields(TrainConfig, {key: int(v) if integer else v})[key]


# The page's runs train eagerly. Its runs are 100,000 steps, where ``--compile auto`` would
# compile the critic update: the page would stand still at the run's second step while it
# compiles and again at every change of the penalty weight, which the compiled update is
# specialised on (BENCHMARKS.md, "The live page", measures both stalls).
LIVE_EAGER = {"compile": "off"}


def live_runs(params: dict, tmp: Path) -> list[LiveRun]:
    """The runs a *new run* asks for: a shipped lesson where it stopped (``start_from``,
    :mod:`toygan.lessons`), else trainers of the validated settings (``tmp`` holds drawn data)."""
    from toygan.train import Trainer

    start_from = params.get("start_from") if isinstance(params, dict) else None
    if start_from in (None, "", "fresh"):
        return [LiveRun(Trainer(cfg)) for cfg in validate(params, tmp)]
    from toygan import lessons

    cfg, ckpt = lessons.load(str(start_from))
    trainer = Trainer(dataclasses.replace(cfg, **LIVE_EAGER))
    trainer.load_state(ckpt)
    run = LiveRun(trainer)
    run.d_steps = trainer.step * cfg.n_critic
    return [run]


def validate_settings(params: dict, loss: str, penalised: bool) -> dict:
    """The mid-run settings a request asks for (learning rates, k, λ), range-checked like a new
    run's; every refused field is named in one message, and then nothing is applied."""
    new, refused = {}, []

    def check(key, name=None):
        try:
            new[key] = _number(params[key], key, name)
        except UserError as e:
            refused.append(str(e))

    for k in ("lr_d", "lr_g"):
        if params.get(k) not in (None, ""):
            check(k)
    if params.get("n_critic") not in (None, ""):
        check("n_critic", "k (critic steps)")
    if params.get("gp_weight") not in (None, ""):
        if not penalised:
            refused.append(f"{loss} has no gradient penalty to weigh")
        else:
            check("gp_weight")
    if refused:
        raise UserError("; ".join(refused) + " (nothing was changed)")
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
        lo, hi = DRAWN_POINTS
        if pts.ndim != 2 or pts.shape[1:] != (2,) or not lo <= len(pts) <= hi or \
                not np.isfinite(pts).all() or np.abs(pts).max() > 100:
            raise UserError(f"draw between {lo} and {hi} points on the canvas first")
        path = tmp / "drawn.npy"
        np.save(path, pts)
        data = f"file:{path}"
    elif data not in DATASETS:
        raise UserError(f"unknown data {data!r}; choose from {', '.join(DATASETS)} or draw")
    common = {}
    for k in ("lr_d", "lr_g", "g_depth", "g_width", "d_depth", "d_width", "z_dim"):
        if params.get(k) not in (None, ""):
            common[k] = _number(params[k], k)
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
        cfg = build(TrainConfig, {**LIVE, "data": data, **fields, **common, **LIVE_EAGER})
        cfgs.append(cfg.resolved())
    return cfgs
