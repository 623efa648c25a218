"""Studies past one process (toygan.cluster): Ray gives the serial study's results, resumes
across engines, reports failed runs and retries dead workers; without Ray, one line."""

import builtins
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toygan import cluster
from toygan.cli import run_main
from toygan.errors import UserError

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parent.parent
TOY = ["--variants", "bce,wgan-gp,lsgan", "--data", "ring", "--seeds", "2", "--steps", "40"]


def _rows(path):
    """results.csv rows without the run's wall-clock fields."""
    return [{k: v for k, v in r.items() if k not in ("wall_s", "eval_s")}
            for r in csv.DictReader(open(path))]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    from toygan.compare import main

    out = tmp_path_factory.mktemp("serial") / "s"
    assert main(TOY + ["--out", str(out), "--quiet"]) == 0
    return out


def test_workers_give_the_serial_results(serial, tmp_path):
    from toygan.compare import main

    out = tmp_path / "ray"
    assert main(TOY + ["--out", str(out), "--quiet", "--workers", "2"]) == 0
    assert _rows(out / "results.csv") == _rows(serial / "results.csv")
    assert (out / "table.md").read_text() == (serial / "table.md").read_text()
    assert not list(out.glob(".ray-probe*"))  # the probe cleans up after itself


@pytest.mark.long  # a whole study under Ray, stopped, then finished serially
def test_a_study_stopped_under_ray_resumes_serially(serial, tmp_path):
    out = tmp_path / "cut"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "toygan.compare", *TOY, "--out", str(out),
                             "--quiet", "--workers", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while not list(out.glob("runs/*/done.json")) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: the driver stops Ray and exits 130
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-2000:]
    finished = len(list(out.glob("runs/*/done.json")))
    assert 2 <= finished < 6  # stopped mid-study, after the first group
    from toygan.compare import main

    assert main(TOY + ["--out", str(out), "--quiet", "--resume"]) == 0
    assert _rows(out / "results.csv") == _rows(serial / "results.csv")


def _flaky(marker: str) -> int:
    """Kills its own worker process the first time, succeeds when retried."""
    if not os.path.exists(marker):
        Path(marker).write_text("died once")
        os._exit(1)
    return 7


def _boom(x: int) -> int:
    raise RuntimeError(f"variant {x} blew up")


def test_engine_reports_a_raising_task_and_retries_a_dead_worker(tmp_path, capsys):
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    tasks = [cluster.Task("ok", abs, (-3,)), cluster.Task("bad", _boom, (2,)),
             cluster.Task("flaky", _flaky, (str(tmp_path / "marker"),))]
    got = cluster.run_tasks(tasks, cluster.ClusterConfig(workers=2), tmp_path, progress=False)
    assert [(o.value, o.error) for o in got] == [
        (3, None), (None, "RuntimeError: variant 2 blew up"), (7, None)]
    assert "bad failed: RuntimeError: variant 2 blew up" in capsys.readouterr().err
    # Serially the same outcomes (the flaky task's marker now exists).
    serial = cluster.run_tasks(tasks, cluster.ClusterConfig(), tmp_path, progress=False)
    assert [(o.value, o.error) for o in serial] == [(o.value, o.error) for o in got]


def test_a_group_that_raises_is_a_failed_row_and_the_others_finish(tmp_path, monkeypatch):
    from toygan import compare

    real = compare.train_group

    def fails_for_lsgan(cfgs, run_dirs, command):
        if cfgs[0].loss == "lsgan":
            raise RuntimeError("out of luck")
        return real(cfgs, run_dirs, command)

    monkeypatch.setattr(compare, "train_group", fails_for_lsgan)
    out = tmp_path / "s"
    assert compare.main(TOY + ["--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["status"] == "failed" for r in rows] == [False] * 4 + [True] * 2
    assert rows[-1]["error"] == "RuntimeError: out of luck" and rows[-1]["modes_covered"] == ""
    table = (out / "table.md").read_text()
    assert "| lsgan | ring | — / 8 |" in table and "0 / 0 / 0 (2 failed)" in table
    # --resume trains only the failed group, and then it is a row like the others.
    monkeypatch.setattr(compare, "train_group", real)
    assert compare.main(TOY + ["--out", str(out), "--quiet", "--resume"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert all(r["status"] != "failed" for r in rows)


def test_workers_need_ray_one_line(tmp_path, capsys, monkeypatch):
    from toygan.compare import main

    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(SystemExit) as e:
        run_main(main, TOY + ["--out", str(tmp_path / "s"), "--workers", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "pip install 'ray>=2.9'" in err[0]
    assert not (tmp_path / "s").exists()


def test_both_engines_at_once_is_one_line(tmp_path, capsys):
    from toygan.compare import main

    with pytest.raises(SystemExit) as e:
        run_main(main, TOY + ["--out", str(tmp_path / "s"), "--workers", "2", "--ray", "auto"])
    assert e.value.code == 2 and "not both" in capsys.readouterr().err


class _ElsewhereRay:
    """A stand-in Ray whose workers run on another machine: the study folder is not there."""

    def remote(self, fn):
        outer = self

        class Handle:
            def options(self, **kw):
                return self

            def remote(self, token_file, token, cwd):
                return fn("/nonexistent-mount" + token_file, token, cwd)

        outer.fn = fn
        return Handle()

    def get(self, x):
        return x


def test_a_folder_the_workers_cannot_see_is_refused(tmp_path):
    with pytest.raises(UserError, match="must be on a filesystem the driver and every worker "
                                        "share"):
        cluster.check_reachable(_ElsewhereRay(), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module, argv, words", [
    ("imagegan.compare", ["--variants", "bce+nope", "--quick"], "unknown mitigation 'nope'"),
    ("toygan.compare", ["--variants", "bce+nope", "--quick"], "unknown mitigation 'nope'"),
    ("toygan.compare", ["--quick", "--seeds", "0"], "--seeds: must be >= 1"),
])
def test_quick_never_drops_a_given_flag(module, argv, words, tmp_path, capsys):
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as e:
        run_main(main, argv + ["--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_quick_fills_only_what_was_not_given():
    from imagegan.compare import QUICK as IMAGE_QUICK
    from imagegan.compare import ImageStudyConfig
    from toygan.compare import QUICK, StudyConfig

    sc = StudyConfig.from_typed({"quick": True, "variants": "bce", "seeds": 1})
    assert (sc.variants, sc.seeds, sc.data, sc.steps) == ("bce", 1, QUICK["data"], QUICK["steps"])
    ic = ImageStudyConfig.from_typed({"quick": True, "steps": 20})
    assert (ic.variants, ic.steps, ic.seeds) == (IMAGE_QUICK["variants"], 20, 1)


@pytest.mark.long  # two whole image studies
def test_image_study_on_ray_equals_serial_at_equal_threads(tmp_path):
    """One image run per task; conv kernels' sums depend on the thread count, so the serial
    study runs at the tasks' one thread, and then the records match bit for bit."""
    from imagegan.compare import main

    args = ["--variants", "bce", "--seeds", "2", "--steps", "10", "--width", "4",
            "--eval-every", "5", "--data", "digits", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "serial"), "--cpus-per-task", "1"]) == 0
    assert main(args + ["--out", str(tmp_path / "ray"), "--workers", "2"]) == 0
    assert _rows(tmp_path / "ray" / "results.csv") == _rows(tmp_path / "serial" / "results.csv")
    for run in ("bce-digits-seed0", "bce-digits-seed1"):
        a = (tmp_path / "ray" / "runs" / run / "stats.jsonl").read_text().splitlines()
        b = (tmp_path / "serial" / "runs" / run / "stats.jsonl").read_text().splitlines()
        drop = ("eval_s", "images_per_s", "wall_s")  # timings
        strip = [[{k: v for k, v in json.loads(x).items() if k not in drop} for x in f]
                 for f in (a, b)]
        assert strip[0] == strip[1]


def test_runs_per_task_splits_groups_with_the_same_numbers(serial, tmp_path, monkeypatch):
    """Smaller tasks (more workers busy) train each run alone: the stacked group's numbers
    within float rounding."""
    import torch
    from torch.testing import assert_close

    from toygan import compare

    sizes = []
    real = compare.train_group
    monkeypatch.setattr(compare, "train_group",
                        lambda cfgs, dirs, cmd: sizes.append(len(cfgs)) or real(cfgs, dirs, cmd))
    out = tmp_path / "split"
    assert compare.main(TOY + ["--out", str(out), "--quiet", "--runs-per-task", "1"]) == 0
    assert sizes == [1] * 6
    a, b = _rows(out / "results.csv"), _rows(serial / "results.csv")
    assert [r["run"] for r in a] == [r["run"] for r in b]
    assert [r["modes_covered"] for r in a] == [r["modes_covered"] for r in b]
    for key in ("hq_frac", "sliced_w1"):
        assert_close(torch.tensor([float(r[key]) for r in a]),
                     torch.tensor([float(r[key]) for r in b]), rtol=0, atol=2e-3)


def _listening_addresses(pids: set[int]) -> set[str]:
    """The IPv4/IPv6 addresses the given processes' TCP sockets listen on (Linux /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # LISTEN
                # The kernel prints each 32-bit word of the address in host (little) order.
                raw = bytes.fromhex(f[1].split(":")[0])
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw))
                elif raw[:12] == b"\0" * 10 + b"\xff\xff":  # IPv4-mapped
                    found.add(socket.inet_ntop(socket.AF_INET, raw[12:]))
                else:
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def _descendants(pid: int) -> set[int]:
    children = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    parent = {}
    for p in children:
        try:
            parent[p] = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    out, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        for c, pp in parent.items():
            if pp == p and c not in out:
                out.add(c)
                frontier.append(c)
    return out


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket tables")
def test_a_local_instance_listens_on_loopback_only(tmp_path):
    """--workers N starts Ray on this machine alone: its GCS server, raylet, workers and driver
    listen on 127.0.0.1, nothing on every interface or the machine's network address."""
    cluster._start(ray, cluster.ClusterConfig(workers=1))
    try:
        ray.get(ray.remote(lambda: 1).remote())  # a worker process is up
        addresses = _listening_addresses(_descendants(os.getpid()))
        assert addresses, "no listening socket found"
        assert addresses <= {"127.0.0.1", "::1"}, addresses
    finally:
        ray.shutdown()
