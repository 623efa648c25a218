"""How many CPU threads torch uses: as many as there are free cores, unless the user says.

torch's default is one intra-op thread per core. When another process holds one of the cores (a
browser beside a lecture, a second run, a shared server), the second thread waits on a busy core
at every parallel region and a step takes several times as long (BENCHMARKS.md, "Threads under
load": ``python benchmarks/threads_under_load.py``). So every command and every API call that
parses a command's options (:class:`toygan.cli.Parser`) sets torch's threads to the cores that are
free when it starts — measured from the kernel's CPU counters over :data:`WINDOW_S` seconds, on
the cores this process may run on — and to every allowed core on an idle machine, as before.

The user's word wins: ``--threads N`` on any command, else ``OMP_NUM_THREADS`` (or
``MKL_NUM_THREADS``), else ``TOYGAN_THREADS``. Toy runs give the same records whatever the
count; image runs' differ in the last bits (convolutions' reductions run in another order), so
compare image runs bit for bit at an explicit ``--threads``.
"""

from __future__ import annotations

import os
import time

ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOYGAN_THREADS")
WINDOW_S = 0.1
CACHE_S = 30.0  # one measurement serves the calls of the next half minute (a study's runs)
MAX_THREADS = 1024

_cached: tuple[float, float] | None = None  # (time, free cores)
_chosen: int | None = None


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity), or 0..cpu_count-1."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def cores() -> int:
    return len(allowed_cpus())


def _proc_stat() -> dict[int, tuple[int, int]] | None:
    """Per CPU: (idle ticks, total ticks) from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as f:
            lines = f.readlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        name, *ticks = line.split()
        if name.startswith("cpu") and name != "cpu":
            t = [int(x) for x in ticks]
            out[int(name[3:])] = (t[3] + (t[4] if len(t) > 4 else 0), sum(t[:8]))
    return out


def _own_cpu_s() -> float:
    """CPU seconds this process's threads have used."""
    return time.process_time()


def free_cores(window: float = WINDOW_S) -> float:
    """How many of this process's cores other processes leave idle: the idle share of each
    allowed CPU over ``window`` seconds (Linux), else cores minus the 1-minute load average."""
    cpus = allowed_cpus()
    before = _proc_stat()
    if before is not None:
        own0 = _own_cpu_s()
        time.sleep(window)
        after = _proc_stat() or {}
        # This process's own threads (a live run still training while the next is built) are
        # not another process's load: their CPU time over the window counts as free.
        own = (_own_cpu_s() - own0) / window if window > 0 else 0.0
        free = 0.0
        for c in cpus:
            if c in before and c in after:
                idle, total = (a - b for a, b in zip(after[c], before[c], strict=True))
                free += idle / total if total > 0 else 1.0
            else:
                free += 1.0
        return min(float(len(cpus)), free + own)
    try:
        return max(0.0, len(cpus) - os.getloadavg()[0])
    except (AttributeError, OSError):
        return float(len(cpus))


def from_environment() -> int | None:
    """The thread count the environment asks for, if any (a bad value is ignored)."""
    for name in ENV:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return min(int(value), MAX_THREADS)
    return None


def choose(threads: int | None = None) -> int:
    """``threads`` if given, else the environment's, else the free cores (at least one)."""
    global _cached
    if threads is not None:
        return threads
    env = from_environment()
    if env is not None:
        return env
    now = time.monotonic()
    if _cached is None or now - _cached[0] > CACHE_S:
        _cached = (now, free_cores())
    return max(1, min(cores(), round(_cached[1])))


def apply(threads: int | None = None) -> int:
    """Set torch's intra-op threads by :func:`choose`; returns the count."""
    global _chosen
    import torch

    n = choose(threads)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    _chosen = n
    return n


def chosen() -> int | None:
    """The count the last :func:`apply` set in this process (None before any)."""
    return _chosen


def threads_arg(text: str) -> int:
    """argparse type of ``--threads``: an integer from 1 to :data:`MAX_THREADS`."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_THREADS}, got {n}")
    return n
