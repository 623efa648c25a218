"""Overnight-proof runs: resume from anywhere, torn files, full disks, Ctrl-C, no silent
substitution. Each test reproduces a failure a student met on a notebook machine."""

import errno
import importlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from toygan import files
from toygan.cli import run_main
from toygan.config import range_error
from toygan.errors import UserError

COMMANDS = ["toygan.train", "toygan.animate", "toygan.compare", "toygan.gradnorm",
            "toygan.surfaces", "toygan.reproduce", "toygan.concepts", "toygan.view",
            "imagegan.train", "imagegan.sample", "imagegan.evaluate", "imagegan.gradnorm",
            "imagegan.compare", "imagegan.report", "imagegan.calibrate"]
POSITIONAL = {"imagegan.sample": ["no-such-run"], "imagegan.evaluate": ["no-such-run"],
              "toygan.reproduce": ["pacgan-ring"], "imagegan.report": ["no-such-run"]}
BAD = ["0", "-1", "nan", "inf", "1e12", "1000000000000000"]


def _numeric_options(module):
    for action in importlib.import_module(module).build_parser()._actions:
        kind = getattr(action.type, "kind", None)
        if kind in (int, float) and action.option_strings:
            yield action.option_strings[0], kind, action.type.meta, action.nargs or 1


def _rejected(kind, meta, text) -> bool:
    try:
        return range_error(kind(text), meta) is not None
    except ValueError:
        return True  # "nan" for an int option: not even a number of that kind


@pytest.mark.parametrize("module", COMMANDS)
def test_every_numeric_option_rejects_out_of_range_values(module, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(module).main
    checked = 0
    for opt, kind, meta, nargs in _numeric_options(module):
        for text in BAD:
            if not _rejected(kind, meta, text):
                continue  # in range (0 unroll steps, seed 0): a valid request
            argv = POSITIONAL.get(module, []) + [opt] + [text] * nargs + ["--out", "o"]
            with pytest.raises(SystemExit) as e:
                run_main(main, argv)
            err = capsys.readouterr().err
            assert e.value.code == 2, (opt, text, err)
            assert len(err.strip().splitlines()) == 1 and opt in err, (opt, text, err)
            checked += 1
    assert checked >= 5
    assert list(tmp_path.iterdir()) == []  # no folder made


def test_zero_is_never_silently_replaced_by_a_default():
    from toygan.train import TrainConfig

    for field, value in (("lr", 0.0), ("n_critic", 0), ("steps", 0), ("gp_weight", -1.0)):
        with pytest.raises(UserError, match=f"--{field.replace('_', '-')} must be"):
            TrainConfig(**{field: value}).resolved()
    c = TrainConfig(loss="wgan-gp", gp_weight=0.0, r1_weight=0.0, unroll=0).resolved()
    assert (c.gp_weight, c.r1_weight, c.unroll) == (0.0, 0.0, 0)


# ----------------------------------------------------------------------------- toy resume


TOY = dict(loss="wgan-gp", steps=40, g_width=16, d_width=16, batch_size=32, eval_every=10,
           log_every=5, eval_samples=400, snapshots=5, snapshot_points=32, grid_res=8,
           ckpt_every=10)


def _crash_at(monkeypatch, step, exc):
    from toygan.train import Trainer

    real = Trainer.train_step

    def train_step(self):
        if self.step == step:
            raise exc
        return real(self)

    monkeypatch.setattr(Trainer, "train_step", train_step)


@pytest.mark.parametrize("how", ["ctrl-c", pytest.param("kill", marks=pytest.mark.slow)])
def test_toy_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, how):
    from toygan.train import TrainConfig, train

    full = train(TrainConfig(**TOY), tmp_path / "full", progress=False)
    run = tmp_path / "run"
    # Ctrl-C saves a checkpoint at step 25; a kill leaves the one of step 20, stats up to 25 and
    # a torn last line.
    exc = KeyboardInterrupt() if how == "ctrl-c" else RuntimeError("killed")
    _crash_at(monkeypatch, 25, exc)
    with pytest.raises(type(exc)):
        train(TrainConfig(**TOY), run, progress=False)
    monkeypatch.undo()
    ckpt = torch.load(run / "checkpoint.pt", weights_only=False)
    assert ckpt["step"] == (25 if how == "ctrl-c" else 20)
    if how == "kill":
        with open(run / "stats.jsonl", "a") as f:
            f.write('{"step": 30, "d_loss": 0.02')
    resumed = train(TrainConfig(**TOY), run, progress=False, resume=True)
    assert resumed == full
    assert files.read_jsonl(run / "stats.jsonl") == json.loads(json.dumps(full))
    a, b = np.load(tmp_path / "full" / "snapshots.npz"), np.load(run / "snapshots.npz")
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.slow
def test_toy_cli_resume_and_changed_flags(cli, cli_inproc, tmp_path):
    out = tmp_path / "r"
    args = ["--steps", "10", "--g-width", "8", "--d-width", "8", "--eval-every", "5", "--quiet"]
    assert cli("toygan.train", *args, "--out", out).returncode == 0
    r = cli("toygan.train", "--resume", out, "--steps", "20", "--quiet")
    assert r.returncode == 0, r.stderr
    assert files.read_jsonl(out / "stats.jsonl")[-1]["step"] == 20
    r = cli_inproc("toygan.train", "--resume", out, "--loss", "bce", "--quiet")
    assert r.returncode == 2 and "--loss" in r.stderr and len(r.stderr.splitlines()) == 1


def test_torn_stats_line_is_skipped_with_one_warning(tmp_path, capsys):
    from toygan.render import Run
    from toygan.train import TrainConfig, train

    out = tmp_path / "r"
    train(TrainConfig(**dict(TOY, steps=10)), out, progress=False)
    with open(out / "stats.jsonl", "a") as f:
        f.write('{"step": 120, "d_loss": 0.02')
    run = Run.load(out)
    assert run.stats[-1]["step"] == 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "torn" in err


def test_overwrite_starts_from_an_empty_folder(tmp_path):
    from toygan.train import TrainConfig, train

    out = tmp_path / "r"
    train(TrainConfig(**dict(TOY, steps=10)), out, progress=False)
    (out / "old-frame.png").write_bytes(b"x")
    with pytest.raises(UserError, match="already holds a run"):
        train(TrainConfig(**dict(TOY, steps=10)), out, progress=False)
    train(TrainConfig(**dict(TOY, steps=5, snapshots=2)), out, progress=False, overwrite=True)
    assert not (out / "old-frame.png").exists()
    assert list(np.load(out / "snapshots.npz")["steps"]) == [0, 5]
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="holds no run of ours"):
        files.prepare_dir(stranger, overwrite=True)
    assert (stranger / "thesis.tex").read_text() == "precious"


@pytest.mark.slow
def test_study_resumes_to_the_same_results(tmp_path, monkeypatch):
    import toygan.compare as compare

    args = ["--variants", "bce,wgan-gp", "--data", "ring", "--seeds", "2", "--steps", "20",
            "--quiet"]
    assert compare.main(args + ["--out", str(tmp_path / "full")]) == 0
    real, calls = compare.train_runs, []

    def dies_second_time(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(compare, "train_runs", dies_second_time)
    with pytest.raises(KeyboardInterrupt):
        compare.main(args + ["--out", str(tmp_path / "cut")])
    monkeypatch.undo()
    done = sorted(p.parent.name for p in (tmp_path / "cut" / "runs").glob("*/done.json"))
    assert done == ["bce-ring-seed0", "bce-ring-seed1"]
    assert compare.main(args + ["--out", str(tmp_path / "cut"), "--resume"]) == 0
    assert (tmp_path / "cut" / "results.csv").read_text() == \
        (tmp_path / "full" / "results.csv").read_text()
    # A finished study resumed again trains nothing and adds its session to the wall time.
    assert compare.main(args + ["--out", str(tmp_path / "full"), "--resume"]) == 0
    log = json.loads((tmp_path / "full" / "study.json").read_text())
    assert [s["command"].endswith("--resume") for s in log["sessions"]] == [False, True]
    torch.testing.assert_close(log["wall_s"], sum(s["wall_s"] for s in log["sessions"]),
                               atol=0.11, rtol=0)


def test_late_validation_error_leaves_no_folder(cli_inproc, tmp_path):
    r = cli_inproc("toygan.compare", "--variants", "bce,bce+pack=3", "--out", tmp_path / "s",
                   "--quiet")
    assert r.returncode == 2 and "multiple of --pack" in r.stderr
    assert not (tmp_path / "s").exists()


# ----------------------------------------------------------------------------- images

IMG = dict(size=32, width=4, batch_size=8, log_every=1, eval_every=3, ckpt_every=3, ema=0.9,
           device="cpu", eval_metrics=False)


def _folder(path, n=12, seed=0):
    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_image_resume_identifies_data_by_content(tmp_path, monkeypatch):
    from imagegan.train import TrainConfig, train

    data = _folder(tmp_path / "faces")
    cache = str(tmp_path / "c")
    monkeypatch.chdir(tmp_path)
    run = train(TrainConfig(data="faces", steps=3, cache_dir=cache, **IMG), tmp_path / "r",
                progress=False)
    # The same images by their absolute path, or moved elsewhere: accepted.
    moved = tmp_path / "elsewhere" / "faces"
    moved.parent.mkdir()
    data.rename(moved)
    train(TrainConfig(data=str(moved), steps=6, cache_dir=cache, **IMG), run, resume=True,
          progress=False)
    assert files.read_jsonl(run / "stats.jsonl")[-1]["step"] == 6
    other = _folder(tmp_path / "other", n=10, seed=1)
    with pytest.raises(UserError, match="holds other images.*10 files.*12 files"):
        train(TrainConfig(data=str(other), steps=9, cache_dir=cache, **IMG), run, resume=True,
              progress=False)


def test_corrupt_cache_is_rebuilt(tmp_path, capsys):
    from imagegan import data as imdata

    folder = _folder(tmp_path / "f")
    first = imdata.load(str(folder), 32, cache_dir=tmp_path / "c", progress=False)
    (cache,) = (tmp_path / "c").glob("*.npy")
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    capsys.readouterr()
    again = imdata.load(str(folder), 32, cache_dir=tmp_path / "c", progress=False)
    np.testing.assert_array_equal(again.images, first.images)
    err = capsys.readouterr().err
    assert "unusable" in err and err.count("\n") == 1
    assert np.load(cache).shape == first.images.shape  # written back whole
    assert [p.name for p in (tmp_path / "c").iterdir()] == [cache.name]  # no temporary left


def test_sixteen_bit_png_keeps_its_grey_level(tmp_path):
    from imagegan import data as imdata

    folder = tmp_path / "g"
    folder.mkdir()
    Image.fromarray(np.full((40, 40), 32768, np.uint16)).save(folder / "mid.png")
    s = imdata.load(str(folder), 32, cache_dir=tmp_path / "c", progress=False)
    assert_close(float(s.images.mean()), 127.5, rtol=0, atol=1.0)


def test_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    files.save_torch({"step": 1, "w": torch.zeros(1000)}, path)

    class Full:
        def __init__(self, p):
            self.f = open(p, "wb")

        def write(self, b):
            if self.f.tell() + len(b) > 2000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(b)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(files, "open_for_write", Full)
    with pytest.raises(UserError, match="no space left on device.*previous file is kept"):
        files.save_torch({"step": 2, "w": torch.zeros(100_000)}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=False)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    run = tmp_path / "r"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.Popen([sys.executable, "-m", "imagegan.train", "--width", "4", "--steps",
                          "100000", "--ckpt-every", "100000", "--eval-every", "100000",
                          "--no-eval-metrics", "--out", str(run), "--quiet", "--device", "cpu"],
                         stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not (run / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # some steps past the step-0 checkpoint
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    step = torch.load(run / "checkpoint.pt", weights_only=False)["step"]
    assert step > 0 and f"interrupted at step {step}" in err
    assert (run / "samples.gif").exists()


@pytest.mark.slow
def test_sample_submission_folder_never_mixes_runs(tmp_path, cli_inproc):
    """(In this process: tests/test_imagegan.py runs the command in its own.)"""
    from imagegan.train import TrainConfig, train

    run = train(TrainConfig(steps=2, **IMG), tmp_path / "r", progress=False)
    out = tmp_path / "sub"
    assert cli_inproc("imagegan.sample", run, "--n", "6", "--out", out).returncode == 0
    r = cli_inproc("imagegan.sample", run, "--n", "3", "--out", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["1.jpg", "2.jpg", "3.jpg", "grid.png"]
    (out / "1.jpg").unlink()
    (out / "grid.png").unlink()
    r = cli_inproc("imagegan.sample", run, "--n", "3", "--out", out)  # 2.jpg, 3.jpg remain
    assert r.returncode == 2 and "--overwrite" in r.stderr


@pytest.mark.slow
def test_figure_commands_check_their_output_first(cli, tmp_path):
    for module in ("toygan.gradnorm", "toygan.surfaces", "imagegan.gradnorm"):
        t0 = time.time()
        r = cli(module, "--out", "/proc/nope/fig.png", "--quiet")
        assert r.returncode == 2 and "cannot write" in r.stderr, r.stderr
        assert time.time() - t0 < 30  # refused before any training
        existing = tmp_path / f"{module}.png"
        existing.write_bytes(b"mine")
        r = cli(module, "--out", existing, "--quiet")
        assert r.returncode == 2 and "--overwrite" in r.stderr
        assert existing.read_bytes() == b"mine"


def test_only_a_process_command_line_skips_the_final_garbage_collection(monkeypatch):
    """``run_main`` freezes the collector on its way out of a real command (the interpreter's
    last collection costs 1-2 s after torch._dynamo is imported), never when called with an
    argv, as tests and notebooks do: their later garbage must still be collected."""
    import gc

    before = gc.get_freeze_count()
    with pytest.raises(SystemExit) as e:
        run_main(lambda argv: 0, [])
    assert e.value.code == 0 and gc.get_freeze_count() == before
    monkeypatch.setattr(sys, "argv", ["prog"])
    try:
        with pytest.raises(SystemExit) as e:
            run_main(lambda argv: 3)
        assert e.value.code == 3 and gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
