"""Every image command once, at the smallest setting that does its whole job (with
tests/test_commands.py, the fast path's smoke test)."""

import pytest


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    from imagegan.train import main

    out = tmp_path_factory.mktemp("img") / "run"
    cache = tmp_path_factory.getbasetemp() / "cache"
    assert main(["--data", "digits", "--width", "4", "--batch-size", "16", "--steps", "4",
                 "--eval-every", "2", "--ckpt-every", "2", "--device", "cpu", "--cache-dir",
                 str(cache), "--out", str(out), "--quiet"]) == 0
    return out


def test_image_commands(image_run, tmp_path):
    from imagegan import calibrate, compare, evaluate, gradnorm, report, sample

    cache = str(tmp_path.parent / "cache")
    assert sample.main([str(image_run), "--n", "4", "--out", str(tmp_path / "s")]) == 0
    assert evaluate.main([str(image_run), "--n", "60"]) == 0
    assert compare.main(["--data", "digits", "--variants", "bce", "--seeds", "1", "--steps", "4",
                         "--eval-every", "2", "--width", "4", "--cache-dir", cache,
                         "--out", str(tmp_path / "study"), "--quiet"]) == 0
    assert report.main([str(image_run), "--out", str(tmp_path / "rep")]) == 0
    assert gradnorm.main(["--data", "digits", "--steps", "2", "--batches", "1", "--width", "4",
                          "--cache-dir", cache, "--out", str(tmp_path / "g.png"),
                          "--quiet"]) == 0
    assert calibrate.main(["--data", "digits", "--draws", "1", "--mode-draws", "1", "--n", "300",
                           "--cache-dir", cache]) == 0
