"""Is this run collapsing? The rule that decides, from the metrics logged at evaluations.

An evaluation (after step 0, whose generator is untrained) is **collapsed** when its samples lack
the variety of real images by a clear margin:

* on ``stacked-digits``: fewer than a quarter of the digit triples that the same number of real
  images show (``stacked_modes < 0.25 * stacked_modes_real``; 500 real images show ~396 of 1000);
* on any other data: generated images far more alike than real ones
  (``ms_ssim - ms_ssim_real > 0.10``; MS-SSIM is 1 for identical images; real digits score ~0.28,
  five images repeated ~0.43, one image 1.0).

A run is then

* **kept** — its last evaluation is not collapsed;
* **lost** — it had a healthy evaluation, and every evaluation from some point to the end is
  collapsed; the **onset** is the first of those (its step and epoch);
* **never** — no evaluation after step 0 was healthy (the onset is then the first evaluation);
* **diverged** — a NaN/Inf loss stopped it.

The same words as ``toygan.compare`` uses for 2D mode coverage. Also here: which metric
``--keep-best`` watches, and in which direction.
"""

from __future__ import annotations

STACKED_FRACTION = 0.25
MSSSIM_MARGIN = 0.10
# metric -> +1 when higher is better, -1 when lower is better
BEST_METRICS = {"stacked_modes": +1, "stacked_kl": -1, "ndb_k": -1, "ndb_js": -1, "ms_ssim": -1}


def default_best_metric(data: str) -> str:
    """What ``--keep-best auto`` watches: digit triples on stacked-digits, else the JS divergence
    of the NDB bins (matching the real distribution, not only being varied)."""
    return "stacked_modes" if data == "stacked-digits" else "ndb_js"


def verdict(rec: dict, ref: dict) -> tuple[bool, str, float, float] | None:
    """(collapsed, metric, value, threshold) of one evaluation record, or None if it holds no
    metrics. ``ref``: the real-data references (``*_real`` keys)."""
    if "stacked_modes" in rec and "stacked_modes_real" in ref:
        limit = STACKED_FRACTION * ref["stacked_modes_real"]
        return rec["stacked_modes"] < limit, "stacked_modes", rec["stacked_modes"], limit
    if "ms_ssim" in rec and "ms_ssim_real" in ref:
        limit = ref["ms_ssim_real"] + MSSSIM_MARGIN
        return rec["ms_ssim"] > limit, "ms_ssim", rec["ms_ssim"], limit
    return None


def status(history: list[dict], ref: dict, diverged_at: int | None = None) -> dict:
    """``{"status", "onset_step", "onset_epoch"}`` of a run from its stats records."""
    if diverged_at is not None:
        return {"status": "diverged", "onset_step": None, "onset_epoch": None}
    evals = [(r, verdict(r, ref)) for r in history if r.get("step", 0) > 0]
    evals = [(r, v) for r, v in evals if v is not None]
    if not evals:
        return {"status": "n/a", "onset_step": None, "onset_epoch": None}
    flags = [v[0] for _, v in evals]
    if not flags[-1]:
        return {"status": "kept", "onset_step": None, "onset_epoch": None}
    healthy = [i for i, f in enumerate(flags) if not f]
    start = healthy[-1] + 1 if healthy else 0
    rec = evals[start][0]
    return {"status": "lost" if healthy else "never", "onset_step": rec["step"],
            "onset_epoch": rec.get("epoch")}
