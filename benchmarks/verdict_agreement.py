"""How often the weight-free collapse rule and the digit-triple rule agree on real runs, for each
limit of the missed-bins rule (``imagegan.collapse.MISSING_WAY``).

    python benchmarks/verdict_agreement.py figures/image-onsets /tmp/imgquick
    python benchmarks/verdict_agreement.py --tiny      # a 20-step run of its own (CI)

Reads every ``runs/*/stats.jsonl`` (or run folder) under the given study folders; for each
evaluation after step 0 of stacked-digits runs, both generators, it compares "healthy" by the
weight-free rule (precision, near-duplicates, missed bins; no digit classifier) with "at least
``STACKED_FRACTION`` x the real images' digit triples" — the known-modes rule — and prints the
agreement per limit, the limit in use, and how many disagreements are the weight-free rule
calling unhealthy where the triples pass.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imagegan import collapse


def _runs(folder: Path) -> list[Path]:
    if (folder / "stats.jsonl").exists():
        return [folder]
    return sorted(p.parent for p in folder.glob("runs/*/stats.jsonl"))


def evaluations(folders) -> list[tuple[dict, dict, str]]:
    """(record, reference, prefix) of every stacked-digits evaluation after step 0."""
    out = []
    for folder in folders:
        for run in _runs(Path(folder)):
            history = [json.loads(line) for line in open(run / "stats.jsonl") if line.strip()]
            ref = next((r for r in history if "stacked_modes_real" in r), None)
            if ref is None:
                continue
            ref = {k: v for k, v in ref.items() if k.endswith("_real")}
            for rec in history:
                if rec.get("step", 0) == 0:
                    continue
                for prefix in ("", collapse.RAW):
                    if rec.get(prefix + "stacked_modes") is not None and \
                            rec.get(prefix + "ndb_missing") is not None:
                        out.append((rec, ref, prefix))
    return out


def agreement(evals, way: float) -> tuple[int, int, int]:
    """(agreements, evaluations, disagreements where only the weight-free rule is unhealthy)."""
    old = collapse.MISSING_WAY
    collapse.MISSING_WAY = way
    try:
        agree = stricter = 0
        for rec, ref, prefix in evals:
            plain = {k: v for k, v in rec.items() if not k.endswith("stacked_modes")}
            generic = collapse.verdict(plain, ref, prefix)[0] == "healthy"
            known = rec[prefix + "stacked_modes"] >= collapse.STACKED_FRACTION * \
                ref["stacked_modes_real"]
            agree += generic == known
            stricter += known and not generic
        return agree, len(evals), stricter
    finally:
        collapse.MISSING_WAY = old


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="*", help="study folders or run folders")
    p.add_argument("--tiny", action="store_true", help="read a 20-step stacked-digits run "
                   "trained in a temporary folder (CI: the code runs; figures meaningless)")
    args = p.parse_args(argv)
    if args.tiny:
        return _tiny()
    if not args.folders:
        p.error("give study or run folders (or --tiny)")
    evals = evaluations(args.folders)
    if not evals:
        print("no stacked-digits evaluation with missed bins logged under", args.folders)
        return 1
    print(f"{len(evals)} evaluations (both generators, after step 0)")
    print("| missed-bins limit | agree | share | disagreements where only the weight-free rule "
          "says unhealthy |")
    print("|---|---|---|---|")
    for way in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 1.01):
        a, n, stricter = agreement(evals, way)
        mark = " (in use)" if abs(way - collapse.MISSING_WAY) < 1e-9 else ""
        label = "off" if way > 1 else f"{way:g}"
        print(f"| {label}{mark} | {a} / {n} | {100 * a / n:.1f}% | {stricter} of {n - a} |")
    return 0


def _tiny() -> int:
    import tempfile

    from imagegan import train

    with tempfile.TemporaryDirectory() as tmp:
        train.main(["--data", "stacked-digits", "--width", "8", "--steps", "20",
                    "--eval-every", "10", "--device", "cpu", "--quiet",
                    "--out", str(Path(tmp) / "run")])
        return main([str(Path(tmp) / "run")])


if __name__ == "__main__":
    raise SystemExit(main())
