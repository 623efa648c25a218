"""TensorBoard export (toygan.tensorboard): the events read back equal the run's records — tags,
steps and values — for a toy run and an image run (with its sample grids); exporting again
replaces, never duplicates; a missing package or a folder that is not a run is one line."""

import builtins
import sys

import pytest
from torch.testing import assert_close

from toygan import files, tensorboard
from toygan.cli import run_main
from toygan.train import TrainConfig, train

pytest.importorskip("tensorboard", reason="the optional tensorboard package is not installed")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)


def _events(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def _assert_same_as_records(run_dir):
    want = tensorboard.scalars(files.read_jsonl(run_dir / "stats.jsonl"))
    acc = _events(run_dir / tensorboard.FOLDER)
    tags = sorted({t for t, _, _ in want})
    assert sorted(acc.Tags()["scalars"]) == tags
    for tag in tags:
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        rows = [(s, v) for t, s, v in want if t == tag]
        assert [s for s, _ in got] == [s for s, _ in rows]
        assert_close([v for _, v in got], [v for _, v in rows], rtol=1e-6, atol=1e-6)
    return acc


def test_toy_run_events_equal_its_records(tmp_path):
    cfg = TrainConfig(loss="wgan-gp", steps=30, g_width=16, d_width=16, batch_size=32,
                      eval_every=10, log_every=5, eval_samples=400, snapshots=3,
                      snapshot_points=32, grid_res=8, tensorboard=True)
    out = tmp_path / "run"
    train(cfg, out, progress=False)
    acc = _assert_same_as_records(out)
    assert {"d_loss", "g_loss", "modes_covered"} <= set(acc.Tags()["scalars"])
    # Exporting again replaces the events: still one value per record and step.
    tensorboard.export(out)
    assert len(_events(out / tensorboard.FOLDER).Scalars("d_loss")) == \
        sum("d_loss" in r for r in files.read_jsonl(out / "stats.jsonl"))


@pytest.mark.slow
def test_image_run_events_hold_records_and_sample_grids(tmp_path):
    from imagegan.train import TrainConfig as ImageConfig
    from imagegan.train import train as train_images

    out = tmp_path / "img"
    train_images(ImageConfig(loss="bce", size=32, width=4, batch_size=8, steps=4, log_every=1,
                             eval_every=2, ckpt_every=2, device="cpu", tensorboard=True),
                 out, progress=False)
    acc = _assert_same_as_records(out)
    assert {"precision", "raw_precision", "duplicates"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Images("samples")] == [0, 2, 4]


def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        run_main(tensorboard.main, [str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "no stats.jsonl" in err[0]
    # Without the package: one line naming what to install, before anything is read.
    real_import = builtins.__import__

    def no_tensorboard(name, *a, **k):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.delitem(sys.modules, "torch.utils.tensorboard", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(SystemExit) as e:
        run_main(tensorboard.main, [str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "pip install tensorboard" in err[0]
