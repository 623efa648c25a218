"""Is this run collapsing? The rule that decides, from the metrics logged at evaluations.

Every evaluation measures 500 generated images against real ones in the download-free embedding
of :mod:`imagegan.features` (:func:`imagegan.metrics.prdc`), once for the EMA generator (plain
keys) and once for the raw generator being trained (``raw_`` keys). Each is given one word:

* **unrealistic** ("not images yet") — fewer than ``PRECISION_FRACTION`` x the real images' share
  of samples fall inside the real images' neighbourhoods (``precision < 0.25 * precision_real``):
  noise, blank frames, the blurred blobs of an untrained generator;
* **collapsed** — the samples show either kind of mode collapse (the reason line names which,
  or both):

  - **near-copies**: more than half of the samples have a near-duplicate among the others
    (``duplicates``: closer than half the typical distance between a real image and its nearest
    real neighbour; the limit is halfway from the real images' own share to 1, so 0.5 when real
    images have none): a generator making the same few dozen images, exactly or with small
    variations, scores near 1, real images a few percent;
  - **modes dropped**: varied images of only part of the data. NDB's bins (k-means cells of the real
    images, :class:`imagegan.metrics.NDB`) that the samples miss — significantly fewer samples than
    the bin's real share (NDB's z-test, one side, 5%) and at most a quarter of it — together hold
    more than ``MISSING_WAY`` of the real images (beyond the real images' own share: a quarter of
    the data gone; BENCHMARKS.md has the sweep that chose it). Blurred, noisy or otherwise worse
    images that stay varied move few images between bins and miss none; on ``stacked-digits`` also
    fewer than ``STACKED_FRACTION`` x the digit triples that as many real images show (``< 0.4 *
    396``, 158: what a generator reaching ~170 of the 1000 modes shows in 500 samples). 0.4 is where
    this known-modes rule and the weight-free rules agreed best over the training runs that chose
    the image study's protocol (BENCHMARKS.md) — and above the 10% of the modes that PacGAN's table
    already calls collapse (DCGAN's 99 of 1000);
* **healthy** — neither.

Coverage and recall (how much of the real images' neighbourhoods the samples reach) are logged
beside them but do not decide: they also fall when the images merely get worse while staying
varied (blurred real images: recall 0.40 against 0.92), so they cannot tell a dropped mode from a
worse image.

Every threshold is relative to the same figure measured on real images against real images, so
it adapts to the data set; ``python -m imagegan.calibrate`` checks it on constructed sets
whose answer is known (README: the calibration table).

A run's **status**, per generator, from its evaluations after step 0 (the run's headline status
is the raw generator's — the one being trained, and the only one the homework's DCGAN has; the
EMA generator's, whose average lags the raw weights, is reported beside it):

* **kept** — healthy at the end and over the whole final stretch (the last quarter of the steps,
  at least the last two evaluations), and not once collapsed since its first healthy evaluation
  (a single unhealthy evaluation between healthy ones is a blip, not a collapse);
* **late** — healthy from its first healthy evaluation on, but that came inside the final
  stretch: train longer to tell;
* **recovered** — healthy at the end, but unhealthy for two or more evaluations in a row in
  between (``onset`` is when that first happened, ``recovered`` when the final healthy stretch
  began);
* **lost** — it had a healthy evaluation, and every evaluation from some point to the end is
  unhealthy; the **onset** is the first of those (its step and epoch);
* **never** — no evaluation after step 0 was healthy (the onset is then the first collapsed
  evaluation: where its images became realistic enough to be judged, already collapsed; or the
  first evaluation when none was collapsed);
* **diverged** — a NaN/Inf loss stopped it.

Also here: which metric ``--keep-best`` watches, and in which direction.
"""

from __future__ import annotations

from toygan import status as runstatus
from toygan.status import FINAL_STRETCH, STATUSES  # noqa: F401  (re-exported: one vocabulary)

RAW = "raw_"  # record keys of the raw generator's metrics
PRECISION_FRACTION = 0.25
DUPLICATES_WAY = 0.5
STACKED_FRACTION = 0.4
MISSING_WAY = 0.25  # modes dropped: the share of the data in missed bins, beyond real's own
KINDS = ("near-copies", "modes dropped")
# The neighbourhoods' feature space: the download-free embedding (imagegan.features), or the
# FID Inception's features from weights the user supplies (imagegan.fid).
COLLAPSE_FEATURES = ("embedding", "inception")
BOTH = "near-copies and modes dropped"
WORDS = ("healthy", "collapsed", "unrealistic")
# metric -> +1 when higher is better, -1 when lower is better
BEST_METRICS = {"coverage": +1, "precision": +1, "recall": +1, "density": +1,
                "duplicates": -1, "stacked_modes": +1, "stacked_kl": -1, "ndb_k": -1,
                "ndb_js": -1, "ms_ssim": -1}


def default_best_metric(data: str) -> str:
    """What ``--keep-best auto`` watches: digit triples on stacked-digits, else the coverage of
    the real images' neighbourhoods (variety that looks like the data)."""
    return "stacked_modes" if data == "stacked-digits" else "coverage"


def duplicates_limit(real_share: float) -> float:
    """The near-duplicate share above which samples are collapsed: halfway from the real
    images' own share to every sample (0.5 when real images have no near-duplicates)."""
    return real_share + DUPLICATES_WAY * (1.0 - real_share)


def missing_limit(real_share: float) -> float:
    """The share of the data in missed bins above which modes are dropped: ``MISSING_WAY`` of
    the way from the real images' own share to all of it."""
    return real_share + MISSING_WAY * (1.0 - real_share)


def verdict(rec: dict, ref: dict, prefix: str = "") -> tuple[str, str]:
    """``(word, reason)`` of one evaluation record: ``word`` is one of :data:`WORDS`, or
    ``"n/a"`` when the record holds no measure the rule reads. ``ref`` holds the real-data
    references (``*_real`` keys); ``prefix`` picks the generator (``""`` EMA, ``"raw_"`` raw).
    A collapsed reason starts with its kind (:func:`kind` reads it back)."""
    def pair(name):
        value, real = rec.get(prefix + name), ref.get(name + "_real")
        return (value, real) if value is not None and real is not None else None

    prec, dups, stacked = pair("precision"), pair("duplicates"), pair("stacked_modes")
    missing = pair("ndb_missing")
    if prec is None and stacked is None:
        return "n/a", ""
    if prec is not None and prec[0] < PRECISION_FRACTION * prec[1]:
        return "unrealistic", (f"precision {prec[0]:.3f} < {PRECISION_FRACTION:g} x real "
                               f"{prec[1]:.3f}")
    copies, dropped = [], []
    if dups is not None and dups[0] > duplicates_limit(dups[1]):
        copies.append(f"near-duplicates {dups[0]:.3f} > {duplicates_limit(dups[1]):.3f} "
                      f"(real {dups[1]:.3f})")
    if missing is not None and missing[0] > missing_limit(missing[1]):
        dropped.append(f"{missing[0]:.0%} of the data in bins the samples miss > "
                       f"{missing_limit(missing[1]):.0%} (real {missing[1]:.0%})")
    if stacked is not None and stacked[0] < STACKED_FRACTION * stacked[1]:
        dropped.append(f"digit triples {stacked[0]:.0f} < {STACKED_FRACTION:g} x real "
                       f"{stacked[1]:.0f}")
    parts = [f"{name}: {'; '.join(why)}" for name, why in zip(KINDS, (copies, dropped),
                                                               strict=True) if why]
    if parts:
        return "collapsed", " — ".join(parts)
    return "healthy", ""


def kind(reason: str) -> str | None:
    """Which collapse a collapsed verdict's reason names: ``near-copies``, ``modes dropped``,
    both (:data:`BOTH`), or None."""
    found = [k for k in KINDS if reason.startswith(k) or f" — {k}:" in reason]
    return BOTH if len(found) == 2 else found[0] if found else None


def rule_text() -> str:
    """The rule and the statuses in two sentences, for the tables that apply them."""
    return (f"Collapse rule (imagegan.collapse): an evaluation is *unrealistic* when precision < "
            f"{PRECISION_FRACTION:g} × real; *collapsed* when it shows near-copies (more than "
            "half the samples near-duplicates, past halfway from the real images' own share to "
            "1) or modes dropped (NDB bins the samples miss hold more than "
            f"{MISSING_WAY:.0%} of the data beyond real's own share; on stacked-digits also "
            f"digit triples < {STACKED_FRACTION:g} × real); else *healthy*. *kept* = healthy "
            "over the last quarter of the steps and never collapsed since first healthy (one "
            "unhealthy evaluation is a blip); *late* = healthy only within that last quarter; "
            "*recovered* = unhealthy for two or more evaluations in a row, healthy at the end; "
            "*lost* = healthy, then unhealthy to the end (onset: the first evaluation of that "
            "final stretch; its kind: which collapse that stretch showed); *never* = no healthy "
            "evaluation after step 0. The raw generator is the one being trained; the EMA "
            "generator averages its weights and lags them.")


def status(history: list[dict], ref: dict, diverged_at: int | None = None,
           prefix: str = "") -> dict:
    """``{"status", "onset_step", "onset_epoch", "recovered_step", "final", "kind"}`` of one
    generator (``prefix``) of a run, from its stats records (:func:`toygan.status.
    sequence_status` on each evaluation's word); ``final`` is the last evaluation's word,
    ``kind`` which collapse the unhealthy stretch from the onset showed (near-copies, modes
    dropped or both, in the order they came)."""
    if diverged_at is not None:
        return runstatus.empty("diverged")
    records, words, labels = [], [], []
    for r in history:
        if r.get("step", 0) > 0:
            word, reason = verdict(r, ref, prefix)
            if word != "n/a":
                records.append(r)
                words.append(word)
                labels.append(kind(reason) if word == "collapsed" else word)
    return runstatus.sequence_status(records, words, labels, (*KINDS, BOTH))


def run_statuses(history: list[dict], ref: dict, diverged_at: int | None = None) -> dict:
    """The raw generator's status (plain keys) and the EMA generator's (``*_ema`` keys). Runs
    recorded before the raw generator was evaluated take the EMA generator's as the headline."""
    ema = status(history, ref, diverged_at)
    raw = status(history, ref, diverged_at, RAW)
    if raw["status"] == "n/a":
        raw = ema
    return {**raw, **{f"{k}_ema": v for k, v in ema.items()}}


def describe(st: dict, suffix: str = "") -> str:
    """One phrase for a status dict (``suffix`` ``"_ema"`` reads the EMA generator's keys)."""
    word = st["status" + suffix]
    step, epoch = st["onset_step" + suffix], st["onset_epoch" + suffix]
    at = f" at step {step:,} (epoch {epoch:.2f})" if step is not None and epoch is not None \
        else ""
    what = st.get("kind" + suffix)
    what = f" ({what})" if what else ""
    if word == "lost":
        return f"lost{at}{what}, {st['final' + suffix]} to the end"
    if word == "recovered":
        return f"recovered: unhealthy{at}{what}, healthy again from step " \
               f"{st['recovered_step' + suffix]:,}"
    if word == "never":
        return f"never healthy{what} ({st['final' + suffix]} at the end)"
    if word == "late":
        return "late: healthy only in the final stretch"
    return word


def known_modes_agreement(history: list[dict], ref: dict) -> tuple[int, int]:
    """(agreeing, total) evaluations after step 0, both generators, on which the weight-free
    rule alone (precision, near-duplicates, missed bins; no digit classifier) and the
    known-modes rule alone (digit triples) say the same: healthy or not. Only
    ``stacked-digits`` has both."""
    agree = total = 0
    for rec in history:
        if rec.get("step", 0) == 0:
            continue
        for prefix in ("", RAW):
            modes, real = rec.get(prefix + "stacked_modes"), ref.get("stacked_modes_real")
            if modes is None or real is None or rec.get(prefix + "precision") is None:
                continue
            plain = {k: v for k, v in rec.items() if not k.endswith("stacked_modes")}
            generic = verdict(plain, ref, prefix)[0] == "healthy"
            agree += generic == (modes >= STACKED_FRACTION * real)
            total += 1
    return agree, total
