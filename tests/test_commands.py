"""Every command once, at the smallest setting that does its whole job (the fast path's
smoke test: ``python -m pytest -m "not slow" --dist worksteal`` imports every module through
these)."""

import importlib
import pkgutil

import pytest

import imagegan
import toygan

TOY = ["--data", "ring", "--steps", "20", "--quiet"]


def test_every_module_imports():
    for pkg in (toygan, imagegan):
        for mod in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    from toygan.train import main

    out = tmp_path_factory.mktemp("toy") / "run"
    assert main(["--loss", "wgan-gp", "--steps", "20", "--eval-every", "10", "--snapshots", "3",
                 "--out", str(out), "--quiet"]) == 0
    return out


def test_toy_commands(toy_run, tmp_path):
    from toygan import animate, compare, concepts, gradnorm, reproduce, surfaces, tensorboard, view

    assert animate.main(["--run", str(toy_run), "--out", str(tmp_path / "a.gif"), "--frames",
                         "3", "--quiet"]) == 0
    assert compare.main(["--variants", "bce", "--seeds", "1", *TOY,
                         "--out", str(tmp_path / "study")]) == 0
    assert reproduce.main(["unrolled-mog", "--rows", "minimax", "--seeds", "1", "--steps", "10",
                           "--out", str(tmp_path / "repro"), "--quiet"]) == 0
    assert concepts.main(["--only", "js-vs-emd", "--out", str(tmp_path / "c"), "--quiet"]) == 0
    assert gradnorm.main(["--steps", "2", "--layers", "3", "--width", "16", "--batches", "1",
                          "--out", str(tmp_path / "g.png"), "--quiet"]) == 0
    # Small held-out sets: the exact W1 (an assignment problem) on the default 1,500 samples a
    # side is most of the command's time.
    assert surfaces.main(["--max-steps", "4", "--eval-every", "2", "--width", "16",
                          "--w1-samples", "100", "--held-out", "256", "--grid-res", "16",
                          "--out", str(tmp_path / "s.png"), "--quiet"]) == 0
    assert view.main([str(toy_run), "--out", str(tmp_path / "v.html"), "--no-browser"]) == 0
    pytest.importorskip("tensorboard")
    assert tensorboard.main([str(toy_run)]) == 0


def test_the_checker_command(tmp_path, cli):
    student = tmp_path / "hw.py"
    student.write_text("from toygan.losses import wgan_gp_critic as d_loss\n")
    r = cli("toygan.check", f"{student}:d_loss", "--as", "wgan-gp", "--json")
    assert r.returncode == 0, r.stderr
