"""FID, KID and improved precision/recall (imagegan.fid): the numbers against closed forms and hand
computations, the same code path through a stand-in feature network on sets whose answer is
known, and the weights: never downloaded, checked, one line when missing or wrong."""

import socket

import numpy as np
import pytest
from torch.testing import assert_close

from imagegan import data as imdata
from imagegan import fid
from imagegan.evaluate import main as evaluate_main
from imagegan.train import TrainConfig, train
from toygan.cli import run_main
from toygan.errors import UserError


def test_frechet_distance_against_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    cov = a @ a.T + 0.1 * np.eye(6)
    mu = rng.standard_normal(6)
    # Equal Gaussians: 0.
    assert_close(fid.frechet_distance(mu, cov, mu, cov), 0.0, atol=1e-8, rtol=0)
    # A shifted mean adds its squared length.
    shift = np.array([3.0, -1.0, 0, 0, 2.0, 0])
    assert_close(fid.frechet_distance(mu, cov, mu + shift, cov), 14.0, atol=1e-8, rtol=1e-10)
    # Scaled covariance: I against s²I in d dimensions gives d (1 - s)².
    eye = np.eye(6)
    assert_close(fid.frechet_distance(mu, eye, mu, 9.0 * eye), 6 * (1 - 3.0) ** 2, atol=1e-9,
                 rtol=1e-10)
    # Commuting (diagonal) covariances: sum of (sqrt(a) - sqrt(b))².
    d1, d2 = np.array([1.0, 4, 9, 0.25]), np.array([4.0, 1, 1, 1])
    want = ((np.sqrt(d1) - np.sqrt(d2)) ** 2).sum() + 1.0
    got = fid.frechet_distance(np.zeros(4), np.diag(d1), np.array([1.0, 0, 0, 0]), np.diag(d2))
    assert_close(got, want, atol=1e-9, rtol=1e-10)
    # A rotated copy of the same covariance is a different Gaussian (not commuting).
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert fid.frechet_distance(mu, cov, mu, q @ cov @ q.T) > 0.1


def test_statistics_use_the_unbiased_covariance():
    x = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, sigma = fid.statistics(x)
    assert_close(mu, np.array([2.0, 2.0]))
    assert_close(sigma, np.array([[4.0, 3.0], [3.0, 3.0]]))  # sums of products / (N - 1)


def test_kid_against_a_hand_computation():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, -1.0]])

    def k(a, b):  # cubic polynomial kernel (a.b / d + 1)^3, d = 2
        return (sum(p * q for p, q in zip(a, b, strict=True)) / 2 + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    assert_close(fid.mmd2_unbiased(x, y), xx + yy - 2 * xy, rtol=1e-12, atol=0)
    # Unbiased: about 0 (of either sign) for two samples of one distribution, not only >= 0.
    rng = np.random.default_rng(1)
    vals = [fid.mmd2_unbiased(rng.standard_normal((50, 4)), rng.standard_normal((50, 4)))
            for _ in range(40)]
    assert min(vals) < 0 < max(vals)
    assert abs(np.mean(vals)) < 0.05
    # Subsets as large as both sets: every subset is the whole set, so KID is the full MMD².
    full = fid.kid(x, y, subsets=3, subset_size=10)
    assert_close(full["kid"], fid.mmd2_unbiased(x, y), rtol=1e-12, atol=0)


def test_metric_names_and_sample_counts_are_checked():
    assert fid.parse_metrics("fid, kid") == ("fid", "kid")
    with pytest.raises(UserError, match="unknown metric 'fd'"):
        fid.parse_metrics("fid,fd")
    assert fid.default_n(71_000) == 10_000
    assert fid.default_n(1797) == 1797
    with pytest.raises(UserError, match="more than the 100 real"):
        fid.default_n(100, 500)


@pytest.mark.slow
def test_stand_in_network_orders_real_repeated_and_noise(tmp_path):
    """The stand-in feature network (a fixed random conv net) through the same code path as the
    Inception one: real against other real images is far closer than 16 images repeated, which
    is far closer than noise; 16 repeated images have a recall far below real images'."""
    real = imdata.load("digits", 32)
    fm = fid.FeatureMetrics(real, 32, fid.METRICS, n=600, extractor=fid.RandomFeatures(),
                            cache_dir=tmp_path, seed=0)
    order = np.random.default_rng(0).permutation(len(real))
    held_out = real.images[order[600:1200]]  # disjoint from the 600 the metric holds
    repeated = np.resize(held_out[:16], (600,) + held_out.shape[1:])
    noise = np.random.default_rng(2).integers(0, 256, size=(600, 32, 32, 3), dtype=np.uint8)
    r, rep, nz = fm(held_out), fm(repeated), fm(noise)
    assert r["fid_n"] == 600 and r["fid_features"] == "random-conv-v1"
    assert 3 * r["fid"] < rep["fid"] and 3 * rep["fid"] < nz["fid"]
    assert 3 * r["kid"] < rep["kid"] and 3 * rep["kid"] < nz["kid"]
    assert r["pr_recall"] > 0.5 and rep["pr_recall"] < 0.25 * r["pr_recall"]
    assert r["pr_precision"] > 0.5 and nz["pr_precision"] < 0.05
    # The real features are cached (by data fingerprint, size, N, seed, network) and reused.
    assert len(list(tmp_path.glob("inception-*.npy"))) == 1
    again = fid.FeatureMetrics(real, 32, ("fid",), n=600, extractor=fid.RandomFeatures(),
                               cache_dir=tmp_path, seed=0)
    assert_close(again(held_out)["fid"], r["fid"], rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="generated images for an N=600"):
        fm(held_out[:100])


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(fid.ENV, raising=False)
    return tmp_path


def _exit_and_line(argv, capsys):
    with pytest.raises(SystemExit) as e:
        run_main(evaluate_main, argv)
    err = capsys.readouterr().err.strip().splitlines()
    return e.value.code, err


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fid") / "run"
    cfg = TrainConfig(loss="bce", data="digits", size=32, width=4, batch_size=8, steps=4,
                      log_every=1, eval_every=2, ckpt_every=2, device="cpu",
                      inception_metrics="fid,kid,pr", inception_weights="random", fid_n=300,
                      collapse_features="inception", cache_dir=str(out.parent / "cache"))
    return train(cfg, out, progress=False)


@pytest.mark.slow
def test_training_logs_inception_metrics_with_their_sample_count(tiny_run):
    from toygan import files

    evals = [r for r in files.read_jsonl(tiny_run / "stats.jsonl") if "fid" in r]
    assert [r["step"] for r in evals] == [0, 2, 4]
    for r in evals:
        assert r["fid_n"] == 300 and r["fid"] > 0 and r["fid_s"] > 0
        assert 0 <= r["pr_precision"] <= 1 and 0 <= r["pr_recall"] <= 1


@pytest.mark.slow
def test_missing_or_wrong_weights_are_one_line_and_exit_2(tiny_run, tmp_path, capsys, no_network,
                                                           empty_hub):
    code, err = _exit_and_line([str(tiny_run), "--fid", "--n", "50"], capsys)
    assert code == 2 and len(err) == 1
    assert fid.FILENAMES[0] in err[0] and "never downloaded" in err[0]
    assert str(empty_hub / "torch-home") in err[0]  # says where to put it
    wrong = tmp_path / fid.FILENAMES[0]
    wrong.write_bytes(b"not the weights")
    code, err = _exit_and_line([str(tiny_run), "--kid", "--inception-weights", str(wrong)],
                               capsys)
    assert code == 2 and len(err) == 1 and "is not the FID Inception weights" in err[0]
    code, err = _exit_and_line([str(tiny_run), "--pr", "--inception-weights",
                                str(tmp_path / "absent.pth")], capsys)
    assert code == 2 and len(err) == 1 and "not found" in err[0]
    # In the hub cache under torch-fidelity's name it is found (and then hash-checked).
    hub = fid.hub_dir()
    hub.mkdir(parents=True)
    (hub / fid.FILENAMES[1]).write_bytes(b"also not the weights")
    with pytest.raises(UserError, match="is not the FID Inception weights"):
        fid.find_weights()
    assert not (tiny_run / "eval.json").exists()  # refused before any work


@pytest.mark.slow
def test_evaluate_reports_fid_with_n(tiny_run, capsys, no_network):
    import json

    code, _ = _exit_and_line([str(tiny_run), "--fid", "--kid", "--inception-weights", "random",
                              "--fid-n", "300", "--n", "100"], capsys)
    assert code == 0
    got = json.loads((tiny_run / "eval.json").read_text())
    assert got["fid_n"] == 300 and got["fid"] > 0 and "kid" in got and "pr_recall" not in got
    assert got["n"] == 100 and got["verdict"] in ("healthy", "collapsed", "unrealistic")


def test_study_table_refuses_fids_at_different_sample_counts():
    from imagegan.compare import inception_lines

    rows = [dict(variant="bce", lr_asked=None, fid=10.0, fid_n=1000, fid_features="x"),
            dict(variant="bce", lr_asked=None, fid=12.0, fid_n=1000, fid_features="x")]
    text = "\n".join(inception_lines(rows))
    assert "N = 1,000" in text and "11.000 ± 1.000" in text
    rows[1]["fid_n"] = 5000
    with pytest.raises(UserError, match="different sample counts"):
        inception_lines(rows)
    assert inception_lines([dict(variant="bce", lr_asked=None)]) == []


def test_the_fid_inception_network_runs_from_a_local_file(tmp_path, no_network):
    """torch-fidelity's Inception (loaded without torchvision) from a weights file of the right
    layout — random values here, since the real file is not in the repository: 2048 features per
    image, the same on a second load, any input size (resized to 299 inside)."""
    try:
        path = fid.write_untrained_weights(tmp_path / "random-inception.pth")
    except UserError as e:  # torch-fidelity not installed: CI installs it
        pytest.skip(str(e))
    images = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    f1 = fid.InceptionFeatures(path, batch=2)(images)
    f2 = fid.InceptionFeatures(path)(images)
    assert f1.shape == (3, 2048) and np.isfinite(f1).all() and f1.std() > 0
    assert_close(f1, f2, rtol=1e-5, atol=1e-6)
    with pytest.raises(UserError, match="is not the FID Inception weights"):
        fid.find_weights(path)  # a file of the right layout but not the published weights


@pytest.mark.slow
def test_report_shows_the_inception_metrics_with_n(tiny_run, tmp_path):
    from imagegan.report import main as report_main

    assert report_main([str(tiny_run), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "### Inception metrics (step 4, EMA generator)" in md
    assert "N = 300 generated and 300 real images" in md and "| fid |" in md


def test_fid_n_beyond_the_data_is_refused_before_any_folder(tmp_path):
    cfg = TrainConfig(loss="bce", data="digits", size=32, width=4, batch_size=8, steps=2,
                      device="cpu", inception_metrics="fid", inception_weights="random",
                      fid_n=5000)
    with pytest.raises(UserError, match="--fid-n 5000 is more than the 1797 real images"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_the_collapse_verdict_measures_in_the_features_it_is_given(tiny_run, tmp_path):
    """``--collapse-features inception``: the verdict's neighbourhoods come from the supplied
    network (here the stand-in, through the same path); without weights, one line and no
    folder."""
    from imagegan import data as imdata
    from imagegan.metrics import Evaluator
    from toygan import files

    evals = [r for r in files.read_jsonl(tiny_run / "stats.jsonl") if "precision" in r]
    assert len(evals) == 3 and all(0 <= r["raw_precision"] <= 1 for r in evals)
    calls = []

    def counted(images):
        calls.append(len(images))
        return fid.RandomFeatures()(images)

    real = imdata.load("digits", 32)
    ev = Evaluator(real, 32, n_knn=100, embed=counted)
    assert calls == [100]  # the real manifold, in the given features
    ev(real.images[:100])
    assert calls == [100, 100]
    cfg = TrainConfig(loss="bce", data="digits", size=32, width=4, batch_size=8, steps=2,
                      device="cpu", collapse_features="inception", inception_weights=str(
                          tmp_path / "missing.pth"))
    with pytest.raises(UserError, match="missing.pth"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
