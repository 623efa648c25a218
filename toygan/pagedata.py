"""The GAN Lab-style page's data: recorded runs and live frames quantised for ``view.html``
(samples as int16, the critic landscape as uint8 per frame, so 4 runs of 150 snapshots stay a
few MB), the loss and modes columns, and the template filled with them."""

from __future__ import annotations

import base64
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np

from toygan.errors import UserError
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


def grad_scale(grads: np.ndarray) -> float:
    norms = np.linalg.norm(grads.reshape(-1, 2), axis=1)
    return float(np.percentile(norms, 95)) if norms.size else 1.0


def _clean(v):
    return None if v is None or not math.isfinite(v) else round(float(v), 5)


def curves(stats: list[dict]) -> dict:
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
    enc = Encoder(snap["extent"], run.output, grad_scale(snap["fake_grad"][:, pick]))
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
            "frames": frames, "curves": curves(run.stats)}


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
