"""What every study shares (``toygan.compare`` on points, ``imagegan.compare`` on images):
standard errors, the results table and CSV, resumable run bookkeeping and the session log (the
figures every study shares: :mod:`toygan.studyplots`).

A study trains many runs, each in its own folder under ``OUT/runs``. A run that finished writes
``done.json`` last; ``--resume`` skips every run that has one and trains the others again from
scratch, so an interrupted study ends with the same ``results.csv`` as an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from pathlib import Path

import numpy as np

from toygan import files
from toygan import status as runstatus

STATUSES = (*runstatus.STATUSES, "failed")  # toygan.status's words; failed: training raised


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error of the mean (ddof 1) of the finite values; (nan, nan) if none."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def median_iqr(values) -> tuple[float, float, float]:
    """Median and the 25th / 75th percentiles of the finite values."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    return float(q50), float(q25), float(q75)


def fmt(m: float, se: float, digits: int = 2, scale: float = 1.0) -> str:
    if not np.isfinite(m):
        return "—"
    return f"{m * scale:.{digits}f} ± {se * scale:.{digits}f}"


def write_csv(rows: list[dict], path) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in keys})
    files.write_text(path, buf.getvalue())


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"": None, "True": True, "False": False}.get(text, text)


def read_csv(path) -> list[dict]:
    """A results.csv as a list of dicts with numbers as numbers and empty cells as None."""
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def status_counts(group: list[dict], suffix: str = "") -> dict[str, int]:
    """How many runs of ``group`` have each status (``suffix`` "_ema": the image runs' EMA
    generator's)."""
    return {k: sum(r["status" + suffix] == k for r in group) for k in STATUSES}


def counts_text(count: dict[str, int]) -> str:
    text = " / ".join(str(count[k]) for k in runstatus.STATUSES[:-1])
    text += f" ({count['diverged']} diverged)" if count["diverged"] else ""
    return text + (f" ({count['failed']} failed)" if count["failed"] else "")


def groups(rows: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    """Rows grouped by the values of ``keys``, in order of first appearance."""
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


def mark_done(run_dir, info: dict) -> None:
    """Written last by a finished run of a study: ``--resume`` skips it."""
    files.write_json(Path(run_dir) / "done.json", info)


def read_done(run_dir) -> dict | None:
    path = Path(run_dir) / "done.json"
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (json.JSONDecodeError, OSError):
        return None  # torn: train the run again


def add_study_flags(p, default_out: str | None) -> None:
    """``--out``, ``--resume``, ``--overwrite``, ``--quiet`` of a study command."""
    p.add_argument("--out", default=default_out, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue: skip finished runs")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier study")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def command_line(program: str, argv) -> str:
    """The command a session ran, as a user would type it."""
    argv = [] if argv is None else list(argv)
    return " ".join(["python -m", program, shlex.join(argv)]).strip()


def log_session(out: Path, program: str, argv, wall_s: float, **fields) -> dict:
    """Write ``study.json``: ``fields``, each session's command and wall time, and their sum.

    ``argv``: the command's arguments (the Python API passes the equivalent command's). A
    resumed study appends a session, so ``wall_s`` is the whole study's time, not the last
    session's.
    """
    path = Path(out) / "study.json"
    try:
        old = json.loads(path.read_text())
        sessions = old.get("sessions") or ([{"command": old.get("command", ""),
                                             "wall_s": old["wall_s"]}] if "wall_s" in old else [])
    except (OSError, ValueError, AttributeError):
        sessions = []
    command = command_line(program, argv)
    sessions.append({"command": command, "wall_s": round(wall_s, 1)})
    log = {**fields, "command": sessions[0]["command"], "sessions": sessions,
           "wall_s": round(sum(s["wall_s"] for s in sessions), 1)}
    files.write_json(path, log)
    return log


def open_study(out, resume: bool, overwrite: bool) -> Path:
    """The study's folder: reused with ``resume``, else a fresh one (``--overwrite`` contract)."""
    if resume:
        return files.ensure_writable_dir(out)
    return files.prepare_dir(out, overwrite, what="study", hint="pass --resume to continue it, "
                             "--overwrite to start again, or another --out")
