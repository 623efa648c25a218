"""Commands on an idle machine and with one core held by another process: torch's default
threads (one per core, forced with OMP_NUM_THREADS) against the lab's policy (toygan.threads:
the cores free at start).

    python benchmarks/threads_under_load.py              # animate + a short image run, 2 repeats
    python benchmarks/threads_under_load.py --repeats 1 --only image --image-steps 20  # one case
    python benchmarks/threads_under_load.py --tiny       # every case on tiny commands (CI)

The CPU hog (a busy Python loop in a process of its own) is started and stopped by the benchmark
itself. Each case runs ``--repeats`` times, interleaved, and the median is printed, with the
loaded/idle ratio of each policy (the aim: the policy's loaded time <= 1.6x its idle time, and
its idle time no worse than the default's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands(image_steps: int, tmp: Path, tiny: bool = False) -> dict[str, list[str]]:
    py = sys.executable
    small = ["--steps", "30", "--frames", "4", "--size", "160"] if tiny else []
    return {
        "animate": [py, "-m", "toygan.animate", "--loss", "bce", "--out",
                    str(tmp / "bce.gif"), "--overwrite", "--quiet", *small],
        "image": [py, "-m", "imagegan.train", "--loss", "bce", "--data", "stacked-digits",
                  "--width", "16", "--steps", str(image_steps), "--eval-every", "100",
                  "--device", "cpu", "--out", str(tmp / "img"), "--overwrite", "--quiet"],
    }


def hog() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--only", choices=("animate", "image"), default=None)
    p.add_argument("--image-steps", type=int, default=300)
    p.add_argument("--tiny", action="store_true",
                   help="one repeat of a tiny animate in every case (CI: the code runs; figures "
                        "meaningless)")
    args = p.parse_args(argv)
    if args.tiny:
        args.repeats, args.image_steps = 1, 10
        args.only = args.only or "animate"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    base = {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOYGAN_THREADS")}
    policies = {"default": dict(base, OMP_NUM_THREADS=str(cores)), "policy": base}
    times: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(args.image_steps, Path(tmp), args.tiny)
        names = [args.only] if args.only else list(cmds)
        for load in ("idle", "loaded"):
            h = hog() if load == "loaded" else None
            try:
                time.sleep(0.5)
                for _ in range(args.repeats):
                    for name in names:
                        for pol, env in policies.items():
                            t = timed(cmds[name], env)
                            times.setdefault((name, load, pol), []).append(t)
                            print(f"{name:8s} {load:7s} {pol:8s} {t:7.1f} s", flush=True)
            finally:
                if h is not None:
                    h.kill()
    print(f"\n{cores} cores; median of {args.repeats}; hog: one busy Python process")
    print("| command | threads | idle (s) | one core busy (s) | busy / idle |")
    print("|---|---|---|---|---|")
    for name in names:
        for pol in policies:
            idle = statistics.median(times[(name, "idle", pol)])
            busy = statistics.median(times[(name, "loaded", pol)])
            label = f"torch default ({cores})" if pol == "default" else "policy (free cores)"
            print(f"| {name} | {label} | {idle:.1f} | {busy:.1f} | {busy / idle:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
