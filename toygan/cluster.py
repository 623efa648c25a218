"""A study's independent runs past one process: serially (the default) or as Ray tasks.

    python -m toygan.compare --workers 2                 # a local Ray instance, 2 tasks at a time
    python -m toygan.reproduce pacgan-ring --ray auto    # an existing cluster (`ray start --head`)
    python -m imagegan.compare --ray 10.0.0.1:6379 --cpus-per-task 4

The unit of work is what a study already has: a batched group of toy runs, or one image run.
Each task runs the very function the serial study runs, with the same seeded configs, so the
records and ``results.csv`` are the same whichever engine trained them (each run is seeded by its
config, never by its worker). Tasks write into the study folder themselves, so the driver and
the workers must share a filesystem; a probe task checks that before any run starts. A task
declares its resources: ``--cpus-per-task`` CPU threads (``OMP_NUM_THREADS`` and
``torch.set_num_threads`` in the worker, so tasks do not oversubscribe the cores) and one GPU
for a run on CUDA. A worker that dies has its task retried (Ray's ``max_retries``); a run that
raises is reported as failed and the others go on; a study stopped under Ray resumes serially or
under Ray and skips the finished runs (their ``done.json``). Without ``--workers`` or ``--ray``
nothing imports Ray; without Ray installed, those flags say in one line what to install. A local
instance (``--workers``) listens on 127.0.0.1 only, so a laptop on a shared network exposes
nothing; ``--ray ADDRESS`` joins a cluster as Ray configures it.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from toygan.config import BIG, option
from toygan.errors import UserError

INSTALL = "pip install 'ray>=2.9' (or pip install -e '.[cluster]')"
MAX_RETRIES = 2  # retries of a task whose worker process died
# Ray's switch for clusters past one machine: off for a local instance (--workers), which then
# listens on loopback only; --ray ADDRESS (a real cluster) is left as Ray sets it.
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass
class ClusterConfig:
    """Where a study's runs train (the results do not depend on it)."""

    workers: int | None = option(None, "train the study's runs as tasks on a local Ray instance "
                                 "with this many parallel workers", ge=1, le=4096)
    ray: str | None = option(None, "train them on an existing Ray cluster at this address "
                             "('auto', or HOST:PORT of `ray start --head`); its workers must see "
                             "the study folder")
    cpus_per_task: int | None = option(None, "CPU threads per run (default: 1 per Ray task; "
                                       "serially, torch's default, every core). Image runs "
                                       "match across engines bit for bit at equal threads",
                                       ge=1, le=1024)

    runs_per_task: int | None = option(None, "toy studies: split each variant's stacked group "
                                       "into tasks of at most this many runs, so that more "
                                       "workers have work (default: one task per variant; "
                                       "results match at equal values, within float rounding "
                                       "otherwise)", ge=1, le=BIG)

    @property
    def threads(self) -> int:
        return 1 if self.cpus_per_task is None else self.cpus_per_task

    @property
    def distributed(self) -> bool:
        return self.workers is not None or self.ray is not None


@dataclass
class Task:
    """One unit of a study: ``fn(*args)`` (a module-level function), its weight in the progress
    bar, and the GPUs it needs (None: one if the Ray cluster has any, else none)."""

    name: str
    fn: Callable
    args: tuple
    cost: float = 1.0
    gpus: float | None = 0.0


@dataclass
class Outcome:
    value: object = None
    error: str | None = None  # "ExceptionType: message" when the task raised


def cluster_config(ns) -> ClusterConfig:
    """The engine the parsed command line asks for, checked (Ray importable) before any folder
    is made."""
    from toygan.config import build, given

    return checked_cluster(build(ClusterConfig, given(ns, ClusterConfig)))


def checked_cluster(cc: ClusterConfig) -> ClusterConfig:
    """``cc``, refused in one line when it asks for both engines or for Ray without Ray."""
    if cc.workers is not None and cc.ray is not None:
        raise UserError("give --workers (a local Ray instance) or --ray ADDRESS (a cluster), "
                        "not both")
    if cc.distributed:
        import_ray()
    return cc


def run_tasks(tasks: list[Task], cc: ClusterConfig, out: Path, progress: bool = True,
              desc: str = "runs", unit: str = "run") -> list[Outcome]:
    """Run every task (serially, or on Ray per ``cc``); outcomes in the tasks' order."""
    from tqdm.auto import tqdm

    bar = tqdm(total=sum(t.cost for t in tasks), desc=desc, unit=unit, disable=not progress,
               dynamic_ncols=True)
    try:
        if cc.distributed:
            return _on_ray(tasks, cc, out, bar)
        if cc.cpus_per_task is None:
            return [_serial(t, bar) for t in tasks]
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(cc.cpus_per_task)
        try:
            return [_serial(t, bar) for t in tasks]
        finally:
            torch.set_num_threads(before)
    finally:
        bar.close()


def _failed(task: Task, error: str) -> Outcome:
    print(f"{task.name} failed: {error}; the other runs go on (--resume tries it again)",
          file=sys.stderr)
    return Outcome(error=error)


def _serial(task: Task, bar) -> Outcome:
    bar.set_postfix_str(task.name)
    try:
        outcome = Outcome(task.fn(*task.args))
    except UserError:
        raise  # a user mistake (a full disk, an unwritable folder) stops the study
    except Exception as e:  # noqa: BLE001 — a run that raises is reported, the others go on
        outcome = _failed(task, f"{type(e).__name__}: {e}")
    bar.update(task.cost)
    return outcome


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserError(f"--workers and --ray need Ray: {INSTALL}") from None
    return ray


def _call(fn: Callable, args: tuple, threads: int, cwd: str):
    """What a Ray worker runs: the study's own function, on ``threads`` CPU threads, in the
    driver's working directory (so relative paths — the study folder, a data folder — mean the
    same on every machine of a cluster that shares it)."""
    import torch

    os.chdir(cwd)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    return fn(*args)


def _probe(token_file: str, token: str, cwd: str) -> bool:
    """Run on a worker: can it read the driver's token in the study folder, write there, and
    enter the driver's working directory?"""
    path = Path(token_file)
    try:
        os.chdir(cwd)
        seen = path.read_text() == token
        Path(token_file + ".ack").write_text(token)
    except OSError:
        return False
    return seen


@contextmanager
def _loopback_only(ray):
    """Within it, a local instance started is this machine's alone: Ray's single-machine mode
    (its default on macOS and Windows) gives the node the loopback address, so the GCS server,
    the raylet, the workers and the driver listen on 127.0.0.1 only (tested by reading their
    sockets). The processes started inherit it through the environment; the driver's constant is
    set too (Ray may have been imported before), and both are restored after."""
    constants = ray._private.ray_constants
    old_env, old_flag = os.environ.get(LOCAL_ONLY_ENV), constants.ENABLE_RAY_CLUSTER
    os.environ[LOCAL_ONLY_ENV] = "0"
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = old_flag
        if old_env is None:
            os.environ.pop(LOCAL_ONLY_ENV, None)
        else:
            os.environ[LOCAL_ONLY_ENV] = old_env


def _start(ray, cc: ClusterConfig) -> None:
    kw = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        if cc.ray is not None:
            ray.init(address=cc.ray, **kw)
        else:
            with _loopback_only(ray):
                ray.init(num_cpus=cc.workers * cc.threads, **kw)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {cc.ray}" if cc.ray else "a local Ray instance"
        raise UserError(f"cannot start {where}: {str(e).splitlines()[0]}") from None


def check_reachable(ray, out: Path) -> None:
    """One line, before any run, when a worker cannot read and write the study folder."""
    token = secrets.token_hex(8)
    token_file = Path(out).resolve() / f".ray-probe-{token}"
    token_file.write_text(token)
    try:
        ok = ray.get(ray.remote(_probe).options(num_cpus=0).remote(str(token_file), token,
                                                                   os.getcwd()))
        ok = ok and Path(str(token_file) + ".ack").exists()
    finally:
        for p in (token_file, Path(str(token_file) + ".ack")):
            p.unlink(missing_ok=True)
    if not ok:
        raise UserError(f"the Ray workers cannot read and write {Path(out).resolve()} (or enter "
                        f"{os.getcwd()}): the study folder and the working directory must be on "
                        "a filesystem the driver and every worker share")


def _on_ray(tasks: list[Task], cc: ClusterConfig, out: Path, bar) -> list[Outcome]:
    ray = import_ray()
    from ray.exceptions import RayError, RayTaskError

    _start(ray, cc)
    try:
        check_reachable(ray, out)
        call = ray.remote(_call)
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        pending = {}
        for i, t in enumerate(tasks):
            gpus = (1.0 if has_gpus else 0.0) if t.gpus is None else t.gpus
            opts = dict(num_cpus=cc.threads, num_gpus=gpus, max_retries=MAX_RETRIES, name=t.name)
            pending[call.options(**opts).remote(t.fn, t.args, cc.threads, os.getcwd())] = i
        outcomes: list[Outcome | None] = [None] * len(tasks)
        t0 = time.time()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done[0])
            try:
                outcomes[i] = Outcome(ray.get(done[0]))
            except RayTaskError as e:  # the run raised: the cause, one line
                cause = e.cause if e.cause is not None else e
                if isinstance(cause, UserError):
                    raise UserError(str(cause)) from None
                outcomes[i] = _failed(tasks[i], f"{type(cause).__name__}: "
                                                f"{str(cause).strip().splitlines()[-1]}")
            except RayError as e:  # its worker died more than MAX_RETRIES times
                outcomes[i] = _failed(tasks[i], f"{type(e).__name__}: "
                                                f"{str(e).strip().splitlines()[0]}")
            bar.set_postfix_str(f"{tasks[i].name} done after {time.time() - t0:.0f}s")
            bar.update(tasks[i].cost)
        return outcomes
    finally:
        ray.shutdown()
