"""The Python API (toygan.api, imagegan.api): the same runs as the commands, the same one-line
errors as exceptions, and results that display themselves in a notebook."""

import base64
import html
import io
import json
import re
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

import imagegan
import toygan
from toygan import files
from toygan.errors import UserError

TINY = dict(steps=30, eval_every=10, snapshots=4, snapshot_points=32, grid_res=16, g_width=32,
            d_width=32, quiet=True)


def _numbers(records):
    """Every float of every record, in order (records of a run differ in their keys)."""
    return torch.tensor([r[k] for r in records for k in sorted(r) if isinstance(r[k], float)],
                        dtype=torch.float64)


def _data_uri_bytes(text: str, mime: str) -> bytes:
    m = re.search(rf'src="data:{mime};base64,([^"]+)"', text)
    assert m, f"no inline {mime} in the HTML"
    return base64.b64decode(m[1])


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    return toygan.train_run(loss="bce", out=root / "bce", **TINY)


def test_train_run_is_the_command(toy_run, tmp_path):
    from toygan.train import main

    flags = ["--loss", "bce", "--steps", "30", "--eval-every", "10", "--snapshots", "4",
             "--snapshot-points", "32", "--grid-res", "16", "--g-width", "32", "--d-width", "32"]
    assert main(flags + ["--out", str(tmp_path / "cmd"), "--quiet"]) == 0
    cmd = files.read_jsonl(tmp_path / "cmd" / "stats.jsonl")
    assert [r["step"] for r in toy_run.records] == [r["step"] for r in cmd]
    assert_close(_numbers(toy_run.records), _numbers(cmd), rtol=0, atol=0)
    assert toy_run.config == json.loads((tmp_path / "cmd" / "config.json").read_text())
    assert toy_run.final["step"] == 30 and toy_run.final is toy_run.evaluations[-1]
    # A config dataclass is the same as its fields typed as keywords (the preset still fills
    # what the dataclass leaves at its defaults).
    from toygan.train import TrainConfig

    cfg = TrainConfig(loss="bce", steps=30, eval_every=10, snapshots=4, snapshot_points=32,
                      grid_res=16, g_width=32, d_width=32)
    again = toygan.train_run(config=cfg, out=tmp_path / "cfg", quiet=True)
    assert_close(_numbers(again.records), _numbers(cmd), rtol=0, atol=0)
    df = toy_run.dataframe()
    assert list(df["step"]) == [r["step"] for r in toy_run.records]


@pytest.mark.parametrize("options, words", [
    (dict(lr=0), "--lr: must be > 0, got 0"),
    (dict(n_critic=0), "--n-critic: must be >= 1"),
    (dict(steps=1.5), "--steps: invalid int value: 1.5"),
    (dict(steps=True), "--steps: invalid int value: True"),
    (dict(lr="fast"), "--lr: invalid float value: 'fast'"),
    (dict(betas=(0.5,)), "--betas: takes 2 values"),
    (dict(threads=0), "--threads: must be an integer from 1"),
    (dict(loss="nope"), "--loss: must be one of"),
    (dict(lrx=1e-3), "unknown option lrx="),
    (dict(quiet="yes"), "quiet= takes True or False"),
    (dict(data="nope"), "unknown data 'nope'"),
    (dict(config=3), "config= takes a config dataclass"),
])
def test_mistakes_are_one_line_user_errors_and_make_no_folder(options, words, tmp_path):
    with pytest.raises(UserError) as e:
        toygan.train_run(out=tmp_path / "run", **options)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "run").exists()


def test_the_api_calls_the_library_functions_without_a_command_line(monkeypatch, tmp_path):
    """No argv round trip: with every parser broken, the API still trains, animates, studies and
    writes pages through the commands' library functions (``MODULE.run``)."""
    import argparse

    def no_parsing(*args, **kwargs):
        raise AssertionError("the API parsed a command line")

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", no_parsing)
    run = toygan.train_run(loss="bce", out=tmp_path / "r", **TINY)
    assert run.final["step"] == 30
    anim = toygan.animate_runs([run], out=tmp_path / "a.gif", frames=2, size=96, quiet=True)
    assert anim.path.exists()
    study = toygan.run_study(variants="bce", data="ring", seeds=1, steps=4, out=tmp_path / "s",
                             quiet=True)
    assert [r["variant"] for r in study.rows] == ["bce"]
    assert toygan.open_page(run, out=tmp_path / "v.html").path.exists()


def _commands() -> list[str]:
    """Every ``python -m PACKAGE.MODULE`` command of both packages (the modules with a main)."""
    import importlib
    import pkgutil

    names = [f"{pkg.__name__}.{m.name}" for pkg in (toygan, imagegan)
             for m in pkgutil.iter_modules(pkg.__path__)]
    return [n for n in names if hasattr(importlib.import_module(n), "main")]


# The API function of each command.
API_OF = {
    "toygan.train": "toygan.train_run", "toygan.animate": "toygan.animate_runs",
    "toygan.compare": "toygan.run_study", "toygan.view": "toygan.open_page",
    "toygan.gradnorm": "toygan.gradient_norms", "toygan.surfaces": "toygan.critic_surfaces",
    "toygan.concepts": "toygan.concept_figures", "toygan.reproduce": "toygan.reproduce_table",
    "toygan.recount": "toygan.recount_study", "toygan.check": "toygan.check_loss",
    "toygan.tensorboard": "toygan.export_tensorboard", "toygan.lessons": "toygan.train_lessons",
    "imagegan.train": "imagegan.train_run", "imagegan.sample": "imagegan.sample_images",
    "imagegan.evaluate": "imagegan.evaluate_run", "imagegan.gradnorm": "imagegan.gradient_norms",
    "imagegan.compare": "imagegan.run_study", "imagegan.report": "imagegan.write_report",
    "imagegan.calibrate": "imagegan.calibrate_verdict",
}


def test_every_command_has_a_library_function_and_an_api_function():
    import importlib

    assert sorted(_commands()) == sorted(API_OF)
    for module, function in API_OF.items():
        assert callable(importlib.import_module(module).run), module
        pkg, name = function.split(".")
        assert name in importlib.import_module(pkg).API and callable(getattr(
            importlib.import_module(pkg), name))
    # The same idea has the same name in both packages.
    same = {"train_run", "load_run", "run_study", "gradient_norms"}
    assert same <= set(toygan.API) & set(imagegan.API)


@pytest.mark.slow  # the fast path runs each of these commands once through its main (test_commands)
def test_the_other_toy_commands_as_functions(toy_run, tmp_path):
    fig = toygan.gradient_norms(steps=2, layers=3, width=16, batches=1, out=tmp_path / "g.png",
                                quiet=True)
    assert fig.path == tmp_path / "g.png" and fig.data is not None
    surf = toygan.critic_surfaces(max_steps=4, eval_every=2, width=16, w1_samples=100,
                                  held_out=256, grid_res=16, out=tmp_path / "s.png", quiet=True)
    assert surf._repr_png_() == (tmp_path / "s.png").read_bytes()
    con = toygan.concept_figures(only="js-vs-emd", out=tmp_path / "c")
    assert [f.name for f in con.figures] == ["js-vs-emd.png"] and con.data
    study = toygan.reproduce_table("unrolled-mog", rows="minimax", seeds=1, steps=10,
                                   out=tmp_path / "repro", quiet=True)
    assert "`minimax`" in study.table and len(study.rows) == 1
    assert study.log["command"].startswith("python -m toygan.reproduce unrolled-mog --rows")
    doc = toygan.recount_study(study, min_hq="1,20")
    assert doc.path == tmp_path / "repro" / "recount.md" and "<table>" in doc._repr_html_()
    from toygan.losses import wgan_critic, wgan_gp_critic

    assert toygan.check_loss(wgan_gp_critic, "wgan-gp").passed
    missing = toygan.check_loss(wgan_critic, "wgan-gp")  # no gradient penalty
    assert not missing.passed and any(not c["ok"] for c in missing.checks)
    with pytest.raises(UserError, match="--as: must be one of"):
        toygan.check_loss(wgan_critic, "nope")
    lessons = toygan.train_lessons(only="collapsed-bce", steps=3, out=tmp_path / "l")
    assert [p.parent for p in lessons] == [tmp_path / "l"] and lessons[0].exists()
    pytest.importorskip("tensorboard")
    assert all(p.exists() for p in toygan.export_tensorboard(toy_run))


def test_commands_never_read_the_kernels_argv(monkeypatch):
    """A command's main() called in a Jupyter kernel must not parse ``-f kernel.json``."""
    from toygan.compare import build_parser

    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    ns = build_parser().parse_args()
    assert ns.out == "runs/compare" and not ns.resume


def test_importing_the_packages_imports_neither_ipython_nor_the_api():
    code = ("import sys, toygan, imagegan; assert 'toygan.api' not in sys.modules; "
            "toygan.train_run; imagegan.run_study; assert 'toygan.api' in sys.modules; "
            "print(sorted(m for m in sys.modules if m.startswith('IPython')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_run_shows_its_final_frame_and_metrics(toy_run):
    page = toy_run._repr_html_()
    assert "bce on ring, seed 0" in page and "modes_covered" in page
    png = Image.open(io.BytesIO(_data_uri_bytes(page, "image/png")))
    assert png.format == "PNG" and png.size[0] == 420 and png.size[1] > 420


def test_animation_plays_inline_and_renders_given_runs(toy_run, tmp_path):
    anim = toygan.animate_runs([toy_run, toy_run.path], out=tmp_path / "two.gif", frames=2,
                               size=128, quiet=True)
    assert anim.path == tmp_path / "two.gif"
    assert _data_uri_bytes(anim._repr_html_(), "image/gif") == anim.path.read_bytes()
    with Image.open(anim.path) as im:
        assert im.n_frames == 2 and im.size[0] >= 2 * 128
    # One convention for runs: f(run1, run2) is f([run1, run2]); config= is the keywords.
    from toygan.animate import AnimateConfig

    again = toygan.animate_runs(toy_run, toy_run.path, config=AnimateConfig(frames=2, size=128),
                                out=tmp_path / "again.gif", quiet=True)
    assert again.path.read_bytes() == anim.path.read_bytes()


def test_study_shows_its_table_and_figures(tmp_path):
    study = toygan.run_study(variants="bce", data="ring", seeds=2, steps=6, out=tmp_path / "s",
                             quiet=True)
    assert [r["variant"] for r in study.rows] == ["bce", "bce"]
    assert all(isinstance(r["modes_covered"], int) for r in study.rows)
    shown = study._repr_html_()
    assert "<table>" in shown and "<td>bce</td>" in shown
    assert [f.name for f in study.figures] == ["coverage.png", "final.png"]
    assert shown.count('src="data:image/png;base64,') == 2
    # The session log records the equivalent command.
    assert study.log["command"].startswith("python -m toygan.compare --variants bce --data ring")
    # A number or a list for a comma-list text option is what the flag's text would be.
    from toygan.compare import StudyConfig
    from toygan.config import keyword_fields

    assert keyword_fields(StudyConfig, {"variants": ["bce", "wgan-gp"], "seeds": 2}) == \
        {"variants": "bce,wgan-gp", "seeds": 2}
    from imagegan.compare import ImageStudyConfig

    assert keyword_fields(ImageStudyConfig, {"lr": [2e-4, 1e-3]})["lr"] == "0.0002,0.001"
    with pytest.raises(UserError, match="--variants: takes a string"):
        keyword_fields(StudyConfig, {"variants": {"bce": 1}})


def test_page_embeds_the_recorded_page_and_the_live_server_answers(toy_run, tmp_path):
    page = toygan.open_page(toy_run, out=tmp_path / "v.html")
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=")
    doc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame)[1])
    assert doc == (tmp_path / "v.html").read_text()
    live = toygan.open_page(live=True, port=0)
    try:
        with urllib.request.urlopen(live.url, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read()[:200].lower()
        assert f'src="{live.url}"' in live._repr_html_()
    finally:
        live.stop()
    with pytest.raises(UserError, match="give no runs"):
        toygan.open_page(toy_run, live=True)


@pytest.mark.slow
def test_imagegan_api_trains_samples_evaluates_and_reports(tmp_path):
    from imagegan import collapse

    run = imagegan.train_run(steps=20, eval_every=10, ckpt_every=10, width=8, out=tmp_path / "r",
                             quiet=True)
    assert run.final["step"] == 20
    assert run.statuses == collapse.run_statuses(run.records, run.reference)
    assert run.grid.path.name == "step_000020.png"
    shown = run._repr_html_()
    assert "raw G:" in shown and "bce on digits, 32 px" in shown
    assert Image.open(io.BytesIO(_data_uri_bytes(shown, "image/png"))).size == \
        Image.open(run.grid.path).size
    grid = imagegan.sample_images(run, n=10, out=tmp_path / "gen")
    assert [p.name for p in grid.images] == [f"{i}.jpg" for i in range(1, 11)]
    assert all(p.exists() for p in grid.images)
    assert grid._repr_png_() == (tmp_path / "gen" / "grid.png").read_bytes()
    assert grid.array().dtype == np.uint8
    ev = imagegan.evaluate_run(run, n=50)
    assert dict(ev) == json.loads((tmp_path / "r" / "eval.json").read_text())
    assert "<td>verdict</td>" in ev._repr_html_()
    rep = imagegan.write_report(run, out=tmp_path / "rep")
    assert rep.markdown.startswith("# GAN homework report")
    assert 'src="data:image/png;base64,' in rep._repr_html_()
    with pytest.raises(UserError, match="--n: must be >= 1"):
        imagegan.sample_images(run, n=0)
    cal = imagegan.calibrate_verdict(data="digits", draws=1, mode_draws=1, out=tmp_path / "cal")
    assert cal.path == tmp_path / "cal" / "calibration.md"
    assert cal.markdown == cal.path.read_text() and cal.data[0]["data"]
