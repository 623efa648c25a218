"""A run's status from the words its evaluations were given — one vocabulary for 2D and image runs.

Each evaluation is *healthy* or not (an image run's after step 0, by ``imagegan.collapse``:
healthy, collapsed or unrealistic; a 2D run's, by :func:`coverage_status`: healthy when the
modes line covers every mode). From that sequence:

* **kept** — healthy at the end and over the whole final stretch (the last quarter of the steps,
  at least the last two evaluations), and not once unhealthy for two evaluations in a row since
  its first healthy one (one unhealthy evaluation between healthy ones is a blip);
* **late** — healthy from its first healthy evaluation on, but that came inside the final stretch;
* **recovered** — healthy at the end, unhealthy for two or more evaluations in a row in between
  (``onset_step``: when that first happened; ``recovered_step``: when the final healthy stretch
  began);
* **lost** — it had a healthy evaluation, and every evaluation from some point to the end is
  unhealthy; the **onset** is the first of those;
* **never** — no healthy evaluation (the onset is the first collapsed one, else the first);
* **diverged** — a NaN/Inf loss stopped it (decided by the caller).

Pure functions of lists; no torch.
"""

from __future__ import annotations

FINAL_STRETCH = 0.25  # the last quarter of the steps decides "kept"
STATUSES = ("kept", "late", "recovered", "lost", "never", "diverged")


# The live page's modes curve: a generator that keeps every mode still wobbles at an undecayed
# learning rate, and at one evaluation its samples can sit just outside 3 std of some modes
# (measured in BENCHMARKS.md, "The live page's modes curve"); the page shows the most modes
# covered at any of the last MODES_WINDOW evaluations beside each evaluation's own count.
MODES_WINDOW = 3


def recent_best(counts: list, window: int = MODES_WINDOW) -> list:
    """At each position, the largest of the last ``window`` counts (``None`` entries skipped;
    ``None`` where the window holds no count). A generator covering one mode at a time while it
    hops reads 1 (or 2 across a hop), never the modes it visited."""
    if window < 1:
        raise ValueError("window must be at least 1")
    out = []
    for i in range(len(counts)):
        seen = [c for c in counts[max(0, i - window + 1):i + 1] if c is not None]
        out.append(max(seen) if seen else None)
    return out


def empty(status: str, final: str | None = None) -> dict:
    """A status with no onset."""
    return {"status": status, "onset_step": None, "onset_epoch": None, "recovered_step": None,
            "final": final, "kind": None}


def kinds(labels: list[str], collapse_kinds: tuple[str, ...]) -> str | None:
    """The collapse kinds of a stretch of evaluations, in the order they appear
    (``"modes dropped, then near-copies and modes dropped"``); ``"unrealistic"`` when none was
    collapsed but the samples stopped looking like the data; None when neither."""
    seen = []
    for k in labels:
        if k in collapse_kinds and (not seen or seen[-1] != k):
            seen.append(k)
    if not seen and "unrealistic" in labels:
        return "unrealistic"
    return ", then ".join(seen) or None


def episodes(words: list[str], first: int) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of unhealthy evaluations after index ``first``."""
    out, start = [], None
    for i in range(first, len(words) + 1):
        bad = i < len(words) and words[i] != "healthy"
        if bad and start is None:
            start = i
        elif not bad and start is not None:
            out.append((start, i))
            start = None
    return out


def sequence_status(records: list[dict], words: list[str], labels: list[str],
                    collapse_kinds: tuple[str, ...]) -> dict:
    """``{"status", "onset_step", "onset_epoch", "recovered_step", "final", "kind"}`` of one
    generator from its evaluations after step 0: ``records[i]`` (with ``step``, optionally
    ``epoch``), its word (``"healthy"`` or not) and its label (the collapse kind, or the word);
    ``kind`` names the collapse kinds of the unhealthy stretch from the onset, in order."""
    if not words:
        return empty("n/a")
    final = words[-1]
    healthy = [i for i, w in enumerate(words) if w == "healthy"]

    def onset(status_word, i, j, **extra):
        r = records[i]
        return {**empty(status_word, final), "onset_step": r["step"],
                "onset_epoch": r.get("epoch"), "kind": kinds(labels[i:j], collapse_kinds),
                **extra}

    if not healthy:  # the onset: its first collapsed evaluation (or its first, if none)
        start = next((i for i, w in enumerate(words) if w == "collapsed"), 0)
        return onset("never", start, len(words))
    first = healthy[0]
    trailing = len(words)  # start of the final run of equal health
    while trailing > 0 and (words[trailing - 1] == "healthy") == (final == "healthy"):
        trailing -= 1
    if final != "healthy":
        return onset("lost", trailing, len(words))
    stretches = episodes(words, first)
    if any(j - i >= 2 for i, j in stretches):  # a collapse, not a one-evaluation blip
        i, j = next((i, j) for i, j in stretches if j - i >= 2)
        return onset("recovered", i, j, recovered_step=records[trailing]["step"])
    last_step = records[-1]["step"]
    stretch = [i for i, r in enumerate(records) if r["step"] >= (1 - FINAL_STRETCH) * last_step]
    stretch_start = min(stretch[0], max(len(words) - 2, 0))
    return empty("kept" if first <= stretch_start else "late", final)


def coverage_status(history: list[dict], n_modes: int | None, diverged_at: int | None = None,
                    window: int = 1) -> dict:
    """A 2D run's status with its onset, from its records' ``modes_covered``: an evaluation is
    healthy when the most modes covered at any of the last ``window`` evaluations covers every
    mode — ``window`` 1: that evaluation alone (the study's tables); the live page's bold line,
    ``MODES_WINDOW``, does not call a generator that wobbles out of one mode for
    an evaluation collapsed; otherwise collapsed (modes dropped). ``n/a`` without known modes.
    A lost run's onset is the first evaluation after the last one that covered every mode."""
    if diverged_at is not None:
        return empty("diverged")
    evals = [r for r in history if r.get("modes_covered") is not None]
    if not n_modes or not evals:
        return empty("n/a")
    counts = [r["modes_covered"] for r in evals]
    words = ["healthy" if b >= n_modes else "collapsed" for b in recent_best(counts, window)]
    labels = ["modes dropped" if w == "collapsed" else w for w in words]
    st = sequence_status(evals, words, labels, ("modes dropped",))
    if st["status"] == "lost" and window > 1:  # the onset: after the last evaluation that
        stretch = next(i for i, r in enumerate(evals) if r["step"] == st["onset_step"])
        full = max(i for i in range(stretch) if counts[i] >= n_modes)  # covered every mode
        st["onset_step"], st["onset_epoch"] = evals[full + 1]["step"], evals[full + 1].get("epoch")
    return st
