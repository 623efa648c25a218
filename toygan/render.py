"""Turn a toy run's records into frames: critic landscape, samples, generator arrows, curves.

Reads only what ``toygan.train`` wrote (``config.json``, ``stats.jsonl``, ``snapshots.npz``).
The figure is built once and what never changes (axes, labels, loss curves, fixed colour bars)
is drawn once; each frame restores that canvas, updates the moving artists' data (heatmap array,
scatter offsets, arrow vectors, markers), draws only them and grabs the Agg canvas (its speed:
BENCHMARKS.md, "Animation rendering").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from toygan import files, pictures

pictures.use_agg()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from toygan.losses import OBJECTIVES  # noqa: E402
from toygan.status import MODES_WINDOW, coverage_status  # noqa: E402
from toygan.variants import variant_label  # noqa: E402

REAL_COLOR = "#1b9e77"
FAKE_COLOR = "#d95f02"
ARROW_COLOR = "#222222"
ONSET_COLOR = "#d62728"
CMAPS = {"probability": "RdBu_r", "score": "viridis", "energy": "magma_r"}
LABELS = {
    "probability": "D(x) = P(real)",
    "score": "critic value D(x)",
    "energy": "energy E(x) (low = real)",
}


@dataclass
class Run:
    """Everything a renderer needs from one run folder."""

    path: Path
    config: dict
    stats: list[dict]
    snap: dict[str, np.ndarray]

    @classmethod
    def load(cls, path) -> Run:
        path = Path(path)
        try:
            config = json.loads((path / "config.json").read_text())
            stats = files.read_jsonl(path / "stats.jsonl")
            with np.load(path / "snapshots.npz") as z:
                snap = {k: z[k] for k in z.files}
        except FileNotFoundError as e:
            raise ValueError(f"{path} is not a toygan run folder (missing {Path(e.filename).name})"
                             ) from None
        except (json.JSONDecodeError, ValueError, OSError) as e:
            raise ValueError(f"{path}: unreadable run records ({e})") from None
        return cls(path, config, stats, snap)

    @property
    def output(self) -> str:
        return OBJECTIVES[self.config["loss"]].output

    def critic_display(self) -> np.ndarray:
        """Critic values as shown: sigmoid for logit critics, raw otherwise. (frames, H, W)."""
        c = self.snap["critic"].astype(np.float64)
        return 1 / (1 + np.exp(-np.clip(c, -60, 60))) if self.output == "probability" else c


class Panel:
    """One run's column: landscape on top, loss and coverage curves below."""

    def __init__(self, fig, gs_top, gs_bottom, run: Run, manifold: bool, arrows: int):
        self.run = run
        snap = run.snap
        xmin, xmax, ymin, ymax = snap["extent"]
        self.extent = (xmin, xmax, ymin, ymax)
        self.values = run.critic_display()
        ax = self.ax = fig.add_subplot(gs_top)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        self._landscape(fig, ax, run.output)
        self._samples(ax, snap, manifold, arrows)
        self._curves(fig.add_subplot(gs_bottom))

    def _landscape(self, fig, ax, kind: str) -> None:
        """The critic's heat map with its labelled colour bar (contours are drawn per frame)."""
        xmin, xmax, ymin, ymax = self.extent
        vmin, vmax = (0.0, 1.0) if kind == "probability" else color_limits(self.values[0])
        # 16 colour bands, two per contour interval: reads like a filled contour plot and keeps
        # the GIF palette small.
        cmap = plt.get_cmap(CMAPS[kind]).resampled(16)
        self.im = ax.imshow(self.values[0], origin="lower", extent=self.extent, cmap=cmap,
                            vmin=vmin, vmax=vmax, interpolation="bilinear", alpha=0.9, zorder=0)
        cb = self.colorbar = fig.colorbar(self.im, ax=ax, fraction=0.046, pad=0.02)
        cb.set_label(LABELS[kind], fontsize=10)
        cb.ax.tick_params(labelsize=8)
        self.contours = None
        gx = np.linspace(xmin, xmax, self.values.shape[2])
        gy = np.linspace(ymin, ymax, self.values.shape[1])
        self.grid = np.meshgrid(gx, gy)

    def _samples(self, ax, snap, manifold: bool, arrows: int) -> None:
        """Real and generated samples, the generator manifold and the gradient arrows."""
        xmin, xmax = self.extent[:2]
        ax.scatter(*snap["real"].T, s=7, c=REAL_COLOR, alpha=0.55, lw=0, label="real", zorder=2)
        self.fake = ax.scatter(*snap["fake"][0].T, s=9, c=FAKE_COLOR, alpha=0.9, lw=0,
                               label="generated", zorder=3)
        self.manifold_lines = []
        if manifold:
            n = int(round(np.sqrt(snap["manifold"].shape[1])))
            self.n_lat = n
            for _ in range(2 * n):
                (line,) = ax.plot([], [], color="white", lw=0.5, alpha=0.45, zorder=1)
                self.manifold_lines.append(line)
        # Arrows: -grad of the generator loss at a subset of fake samples, one length scale for
        # the whole run so vanishing / exploding gradients show as short / long arrows.
        self.idx = np.linspace(0, snap["fake"].shape[1] - 1, min(arrows, snap["fake"].shape[1])
                               ).astype(int)
        g = snap["fake_grad"][:, self.idx]
        norms = np.linalg.norm(g, axis=-1)
        ref = np.percentile(norms, 95) if norms.size and np.percentile(norms, 95) > 0 else 1.0
        self.arrow_scale = ref / (0.08 * (xmax - xmin))  # 95th-percentile arrow = 8% of width
        self.quiver = None
        if arrows:
            f0 = snap["fake"][0][self.idx]
            self.quiver = ax.quiver(f0[:, 0], f0[:, 1], g[0, :, 0], g[0, :, 1], angles="xy",
                                    scale_units="xy", scale=self.arrow_scale, color=ARROW_COLOR,
                                    width=0.0035, alpha=0.75, zorder=4)
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8, markerscale=1.6)
        self.title = ax.set_title("", fontsize=12)

    def _curves(self, cax) -> None:
        """Below the landscape: losses (left axis) and modes covered (right axis)."""
        run, cfg, snap = self.run, self.run.config, self.run.snap
        self.cax = cax
        steps_l = [r["step"] for r in run.stats if "d_loss" in r]
        for key, color, label in (("d_loss", "#7570b3", "critic loss"),
                                  ("g_loss", FAKE_COLOR, "generator loss")):
            vals = [r.get(key) for r in run.stats if "d_loss" in r]
            cax.plot(steps_l, vals, color=color, lw=1, label=label)
        cax.set_xlim(0, cfg["steps"])
        cax.set_xlabel("step", fontsize=9)
        cax.set_ylabel("loss", fontsize=9)
        cax.tick_params(labelsize=8)
        cax.grid(alpha=0.3)
        self.n_modes = len(snap["centers"])
        handles, labels = cax.get_legend_handles_labels()
        ev = [r for r in run.stats if "sliced_w1" in r]
        self.cov_axes = None
        if self.n_modes:
            self.cov_steps = np.array([r["step"] for r in ev])
            self.cov = np.array([r["modes_covered"] for r in ev])
            mx = self.cov_axes = cax.twinx()
            (cl,) = mx.plot(self.cov_steps, self.cov, color=REAL_COLOR, lw=1.8,
                            label="modes covered")
            mx.set_ylim(-0.3, self.n_modes + 0.5)
            mx.set_ylabel("modes covered", fontsize=9, color=REAL_COLOR)
            mx.tick_params(labelsize=8)
            handles.append(cl)
            labels.append("modes covered")
        else:
            self.cov_steps = self.cov = None
        self.curves_legend = cax.legend(handles, labels, loc="upper right", fontsize=7,
                                        framealpha=0.8)
        self.marker = cax.axvline(0, color="k", lw=1.2, alpha=0.8)
        mark_onset(cax, run.stats, self.n_modes)

    def moving_artists(self) -> list:
        """What changes from frame to frame, in drawing order: the whole landscape axes (image,
        contours, samples, arrows, legend, title), its colour bar where the colour limits follow
        the frame, and the step marker with what a full draw puts above it (the curves' legend,
        the modes-covered line and that axes' frame). Everything else is drawn once
        (``Animation``)."""
        out = [self.ax]
        if self.run.output != "probability":
            out.append(self.colorbar.ax)
        out += [self.marker, self.curves_legend]
        if self.cov_axes is not None:  # its line and frame; its tick labels never meet the marker
            out += [*self.cov_axes.get_lines(), *self.cov_axes.spines.values()]
        return out

    def update(self, i: int):
        snap, step = self.run.snap, int(self.run.snap["steps"][i])
        self.im.set_data(self.values[i])
        if self.run.output != "probability":
            self.im.set_clim(*color_limits(self.values[i]))
        if self.contours is not None:
            self.contours.remove()
        lo, hi = self.im.get_clim()
        self.contours = self.ax.contour(*self.grid, self.values[i], levels=np.linspace(lo, hi, 9),
                                        colors="k", linewidths=0.4, alpha=0.35, zorder=1)
        fake = snap["fake"][i]
        self.fake.set_offsets(fake)
        if self.quiver is not None:
            self.quiver.set_offsets(fake[self.idx])
            g = snap["fake_grad"][i][self.idx]
            self.quiver.set_UVC(g[:, 0], g[:, 1])
        if self.manifold_lines:
            n = self.n_lat
            m = snap["manifold"][i].reshape(n, n, 2)
            for k in range(n):
                self.manifold_lines[k].set_data(m[k, :, 0], m[k, :, 1])
                self.manifold_lines[n + k].set_data(m[:, k, 0], m[:, k, 1])
        self.marker.set_xdata([step, step])
        cfg = self.run.config
        text = f"{variant_label(cfg)} on {cfg['data']} — step {step}"
        if self.cov is not None:
            j = np.searchsorted(self.cov_steps, step, side="right") - 1
            covered = self.cov[max(j, 0)]
            text += f" — modes {covered}/{self.n_modes}"
        self.title.set_text(text)


def color_limits(values) -> tuple[float, float]:
    """The colour scale of a landscape frame: its 2nd to 98th percentile (never empty)."""
    lo, hi = np.percentile(values, [2, 98])
    return float(lo), float(hi if hi > lo else lo + 1e-6)


def mark_onset(cax, stats: list[dict], n_modes: int) -> int | None:
    """A collapse that happens during the run (``toygan.status.coverage_status`` on the live
    page's bold line: every mode covered, then fewer to the end): a dashed line where it began,
    labelled; returns its step (None when the run is not lost)."""
    if not n_modes:
        return None
    st = coverage_status(stats, n_modes, window=MODES_WINDOW)
    if st["status"] != "lost":
        return None
    onset = st["onset_step"]
    cax.axvline(onset, color=ONSET_COLOR, ls="--", lw=1.4)
    cax.text(onset, 0.04, f" modes lost from step {onset:,}", transform=cax.get_xaxis_transform(),
             color=ONSET_COLOR, fontsize=8, ha="left", va="bottom")
    return onset


def fit_title(panel: Panel, slot: tuple[float, float]) -> None:
    """Shrink ``panel``'s title font (never below 7 pt) until the longest title of the run — at
    its last step, every mode covered — fits in the panel's horizontal ``slot`` (pixels), so
    that neighbouring titles never run into each other."""
    last = len(panel.run.snap["steps"]) - 1
    panel.update(last)
    renderer = panel.ax.figure.canvas.get_renderer()
    text = panel.title.get_text()
    if panel.cov is not None:
        text = text.rsplit(" — modes", 1)[0] + f" — modes {panel.n_modes}/{panel.n_modes}"
    panel.title.set_text(text)
    box = panel.ax.get_window_extent(renderer)
    centre = (box.x0 + box.x1) / 2
    room = 2 * 0.97 * min(centre - slot[0], slot[1] - centre)
    need = panel.title.get_window_extent(renderer).width
    if need > room:
        panel.title.set_fontsize(max(7.0, 12 * room / need))


class Animation:
    """Panels side by side; ``frame(i)`` returns an RGB uint8 array of frame ``i``."""

    def __init__(self, runs: list[Run], size: int = 640, manifold: bool = False, arrows: int = 96):
        # Matplotlib's own defaults, whatever style the process set before (a study's seaborn
        # theme in the same notebook): a frame drawn over the static background must equal a
        # full redraw, and a slide must look the same wherever it was made.
        with plt.style.context("default"):
            self._build(runs, size, manifold, arrows)

    def _build(self, runs: list[Run], size: int, manifold: bool, arrows: int) -> None:
        n_frames = {len(r.snap["steps"]) for r in runs}
        if len(n_frames) != 1:
            raise ValueError("runs side by side need the same number of snapshots")
        self.n_frames = n_frames.pop()
        dpi = 100
        w_in = size / dpi
        self.fig = plt.figure(figsize=(w_in * len(runs), w_in * 1.24), dpi=dpi)
        n = len(runs)
        # Margins in inches, so labels fit whatever the panel count (smaller for tiny panels).
        width = w_in * n
        left, right = min(0.55, 0.12 * w_in), min(0.95, 0.2 * w_in)
        gs = self.fig.add_gridspec(2, n, height_ratios=[1, 0.33], hspace=0.2, left=left / width,
                                   right=1 - right / width, top=0.95, bottom=0.06, wspace=0.45)
        self.panels = [Panel(self.fig, gs[0, k], gs[1, k], run, manifold, arrows)
                       for k, run in enumerate(runs)]
        for k, p in enumerate(self.panels):
            fit_title(p, (k * size, (k + 1) * size))
        smallest = min(p.title.get_fontsize() for p in self.panels)
        for p in self.panels:  # one title size across the figure
            p.title.set_fontsize(smallest)
        # Draw what never changes (axes labels, ticks, loss curves, colour bars of fixed range)
        # once, and only the moving artists on top of it in each frame: most of a frame's cost
        # was re-rendering the same text (BENCHMARKS.md).
        self.moving = [a for p in self.panels for a in p.moving_artists()]
        for a in self.moving:
            a.set_animated(True)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, i: int) -> np.ndarray:
        with plt.style.context("default"):
            for p in self.panels:
                p.update(i)
            canvas = self.fig.canvas
            canvas.restore_region(self.background)
            for a in self.moving:
                self.fig.draw_artist(a)
            return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def full_redraw(self) -> np.ndarray:
        """The current frame drawn from scratch, every artist at once (``frame`` must equal it)."""
        with plt.style.context("default"):
            for a in self.moving:
                a.set_animated(False)
            try:
                self.fig.canvas.draw()
            finally:
                for a in self.moving:
                    a.set_animated(True)
            return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def close(self):
        plt.close(self.fig)


def frame_indices(n_snapshots: int, frames: int) -> list[int]:
    """``frames`` snapshot indices spread evenly over the run (first and last included)."""
    return np.unique(np.linspace(0, n_snapshots - 1, frames).round().astype(int)).tolist()
