"""imagegan: data loading, models, training, checkpoints and resume, sampling (CPU, tiny)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from imagegan import data as imdata
from imagegan.models import AutoEncoderCritic, Critic, Generator
from imagegan.train import TrainConfig, Trainer, train
from toygan.cli import UserError
from toygan.data import DataError
from toygan.files import save_torch
from toygan.losses import OBJECTIVES

TINY = dict(size=32, width=4, batch_size=8, log_every=1, eval_every=3, ckpt_every=3, ema=0.9,
            device="cpu")


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_for_every_size(size):
    G, D = Generator(size, 4), Critic(size, 4)
    x = G(torch.randn(3, 100))
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
    assert D(x).shape == (3,)
    ae = AutoEncoderCritic(size, 4)
    assert ae(x).shape == (3,) and (ae(x) >= 0).all()


def test_homework_baseline_shapes():
    G = Generator(64, 64)
    assert G.fc[0].out_features == 4 * 4 * 512
    convs = [m for m in G.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [256, 128, 64, 3]
    D = Critic(64, 64)
    assert [m.out_channels for m in D.features if isinstance(m, torch.nn.Conv2d)] == [64, 128,
                                                                                      256, 512]


def test_pixels_round_trip_exactly():
    u = torch.arange(256, dtype=torch.uint8).repeat(3, 1).T.reshape(1, 16, 16, 3)
    x = imdata.to_float(u)
    assert x.min() == -1 and x.max() == 1 and x.shape == (1, 3, 16, 16)
    np.testing.assert_array_equal(imdata.to_uint8(x), u.numpy())


def test_builtin_sets():
    d = imdata.load("digits", 32)
    assert d.images.shape == (1797, 32, 32, 3) and d.images.dtype == np.uint8
    s = imdata.load("stacked-digits", 32)
    assert len(np.unique(s.labels)) == 1000
    assert not np.array_equal(s.images[..., 0], s.images[..., 1])


def write_mixed_folder(root):
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(root / "a.jpg")
    Image.fromarray(rng.integers(0, 255, (50, 50, 3), dtype=np.uint8)).save(root / "sub/b.png")
    Image.fromarray(rng.integers(0, 255, (30, 30), dtype=np.uint8)).save(root / "gray.png")
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 200  # red, fully transparent: composited on white
    Image.fromarray(rgba, "RGBA").save(root / "clear.png")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).convert("P").save(
        root / "pal.gif")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("hello")


def test_folder_loader_mixed_files_and_cache(tmp_path, capsys):
    folder = tmp_path / "imgs"
    write_mixed_folder(folder)
    cache = tmp_path / "cache"
    s = imdata.load(str(folder), 32, cache_dir=cache, progress=False)
    err = capsys.readouterr().err
    assert s.images.shape == (5, 32, 32, 3)
    assert "skipped 2 of 7 files" in err and err.count("\n") == 1
    clear = s.images[1]  # sorted: a.jpg, clear.png, gray.png, pal.gif, sub/b.png
    assert (clear == 255).all()
    gray = s.images[2]
    assert (gray[..., 0] == gray[..., 1]).all()
    assert len(list(cache.glob("*.npy"))) == 1
    again = imdata.load(str(folder), 32, cache_dir=cache, progress=False)  # from the cache
    np.testing.assert_array_equal(again.images, s.images)
    assert capsys.readouterr().err == ""


def test_folder_without_images_is_an_error(tmp_path, cli):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no usable image"):
        imdata.load(str(folder), 32, cache_dir=tmp_path / "c", progress=False)
    r = cli("imagegan.train", "--data", folder, "--cache-dir", tmp_path / "c", "--out",
            tmp_path / "run", "--quiet")
    assert r.returncode == 2 and "no usable image" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 2  # the skip warning, then the error


@pytest.mark.parametrize("loss", sorted(OBJECTIVES))
def test_every_objective_trains_on_digits(loss):
    t = Trainer(TrainConfig(loss=loss, steps=2, **TINY), progress=False)
    for _ in range(2):
        terms = t.train_step()
    assert all(torch.isfinite(v) for v in terms.values())
    if loss in ("wgan-gp", "dragan"):
        assert t.cfg.d_norm == "layer" and terms["d_gp"] >= 0


def test_simultaneous_updates_and_full_objective_unrolling_on_images():
    """The authors' simultaneous update and second-order unrolling (the full objective at the
    unrolled critic) run on convolutional models too: both players move, the look-ahead leaves
    the critic's own step alone."""
    t = Trainer(TrainConfig(loss="bce", steps=2, update="simultaneous", unroll=1, **TINY),
                progress=False)
    g0 = [p.detach().clone() for p in t.G.parameters()]
    d0 = [p.detach().clone() for p in t.D.parameters()]
    terms = t.train_step()
    assert all(torch.isfinite(v) for v in terms.values()) and "g_real" in terms
    assert any(not torch.equal(a, p) for a, p in zip(g0, t.G.parameters(), strict=True))
    assert any(not torch.equal(a, p) for a, p in zip(d0, t.D.parameters(), strict=True))


def read_stats(run):
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


def losses_only(rows):
    """Records without their wall-clock timings (throughput, evaluation time)."""
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "eval_s")} for r in rows]


@pytest.mark.slow
def test_resume_equals_uninterrupted(tmp_path):
    cfg = TrainConfig(loss="wgan-gp", n_critic=2, steps=6, **TINY)
    full = train(cfg, tmp_path / "full", progress=False)
    part = train(TrainConfig(**{**cfg.__dict__, "steps": 3}), tmp_path / "part", progress=False)
    train(cfg, part, resume=True, progress=False)
    assert losses_only(read_stats(part)) == losses_only(read_stats(full))
    a = torch.load(full / "checkpoint.pt", weights_only=False)
    b = torch.load(part / "checkpoint.pt", weights_only=False)
    for k in a["G_ema"]:
        assert_close(a["G_ema"][k], b["G_ema"][k], rtol=0, atol=0)
    assert sorted(p.name for p in (part / "samples").glob("*.png")) == [
        "step_000000.png", "step_000003.png", "step_000006.png"]


@pytest.mark.slow
def test_mismatched_checkpoint_is_refused(tmp_path, cli_inproc):
    run = train(TrainConfig(loss="bce", steps=3, **TINY), tmp_path / "r", progress=False)
    with pytest.raises(UserError, match="another configuration.*loss"):
        train(TrainConfig(loss="lsgan", steps=6, **TINY), run, resume=True, progress=False)
    r = cli_inproc("imagegan.train", "--resume", run, "--width", "8", "--quiet")
    assert r.returncode == 2 and "another configuration" in r.stderr
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "checkpoint.pt").write_bytes(b"garbage")
    r = cli_inproc("imagegan.train", "--resume", tmp_path / "junk", "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_fewer_images_than_a_batch_is_a_clear_error(tmp_path, cli_inproc):
    folder = tmp_path / "two"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / f"{i}.png")
    r = cli_inproc("imagegan.train", "--data", folder, "--cache-dir", tmp_path / "c", "--out",
                   tmp_path / "run", "--quiet")
    assert r.returncode == 2 and "fewer than one batch" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_existing_run_is_not_overwritten(tmp_path):
    quick = dict(TINY, eval_metrics=False)  # the refusal comes before any evaluation
    run = train(TrainConfig(loss="bce", steps=3, **quick), tmp_path / "r", progress=False)
    with pytest.raises(UserError, match="already holds a run"):
        train(TrainConfig(loss="bce", steps=3, **quick), run, progress=False)


def test_atomic_checkpoint_survives_an_interrupted_write(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_torch({"step": 1}, path)

    def broken_save(obj, f):
        f.write(b"half a checkpoi")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_torch({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=False) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.slow
def test_nan_stops_with_step_and_keeps_checkpoint(tmp_path, cli):
    import re

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(np.full((32, 32, 3), 30 * i, np.uint8)).save(folder / f"{i}.png")
    run = tmp_path / "run"
    r = cli("imagegan.train", "--data", folder, "--cache-dir", tmp_path / "c", "--loss", "lsgan",
            "--width", "4", "--batch-size", "4", "--optimizer", "sgd", "--lr", "10",
            "--steps", "50", "--ckpt-every", "1", "--out", run, "--quiet")
    assert r.returncode == 1, r.stderr
    assert "diverged at step" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    good = int(re.search(r"checkpoint \(step (\d+)\)", r.stderr)[1])
    ckpt = torch.load(run / "checkpoint.pt", weights_only=False)
    # The kept checkpoint is the one named, and its weights are finite: a step whose update
    # produced NaN/Inf weights is never saved as "good".
    assert ckpt["step"] == good
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())
    assert all(torch.isfinite(v).all() for v in ckpt["D"].values() if v.is_floating_point())


@pytest.mark.slow
def test_sample_writes_requested_files(tmp_path, cli, cli_inproc):
    run = train(TrainConfig(loss="bce", steps=2, **TINY), tmp_path / "r", progress=False)
    out = tmp_path / "gen"
    r = cli("imagegan.sample", run, "--n", "12", "--out", out)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{i}.jpg" for i in range(1, 13)] + ["grid.png"])
    assert Image.open(out / "7.jpg").size == (32, 32)
    again = cli_inproc("imagegan.sample", run, "--n", "12", "--out", out)
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_finiteness_is_tracked_on_the_device_and_read_only_when_checked(monkeypatch):
    """The image loop notes NaN/Inf losses without a host read per step (a GPU keeps running
    ahead); the check at the next recorded step names the first bad step and its terms."""
    from imagegan.train import Diverged, _check_finite
    from toygan.step import FiniteWatch

    def host_read(*args, **kwargs):
        raise AssertionError("a host read while tracking")

    watch = FiniteWatch()
    with monkeypatch.context() as m:
        for name in ("item", "tolist", "__bool__", "__int__", "__float__", "__index__"):
            m.setattr(torch.Tensor, name, host_read)
        for step in range(1, 9):
            d = float("nan") if step in (3, 6) else 0.5
            watch.track({"d_loss": torch.tensor(d), "g_loss": torch.tensor(1.0)}, step)
    with pytest.raises(Diverged, match=r"diverged at step 3: d_loss is NaN/Inf"):
        _check_finite(watch, None)
    fine = FiniteWatch()
    fine.track({"d_loss": torch.tensor(0.5)}, 1)
    _check_finite(fine, None)  # nothing to report
