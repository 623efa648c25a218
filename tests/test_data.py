"""2D data sets: known modes, presets, user point files."""

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from toygan.data import DATASETS, DataError, make_dataset


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_dataset_samples_finite_points_in_extent(name):
    ds = make_dataset(name)
    x = ds.sample(2000, torch.Generator().manual_seed(0))
    assert x.shape == (2000, 2) and torch.isfinite(x).all()
    xmin, xmax, ymin, ymax = ds.extent
    inside = ((x[:, 0] > xmin) & (x[:, 0] < xmax) & (x[:, 1] > ymin) & (x[:, 1] < ymax)).float()
    assert inside.mean() > 0.99


def test_ring_angles_exclude_endpoint_and_samples_match_std():
    ds = make_dataset("ring:modes=8,radius=2,std=0.02")
    angles = np.arctan2(ds.centers[:, 1], ds.centers[:, 0]) % (2 * math.pi)
    assert_close(np.sort(angles), np.arange(8) * math.pi / 4, atol=1e-12, rtol=0)
    x = ds.sample(20000, torch.Generator().manual_seed(0)).numpy()
    nearest = ((x[:, None] - ds.centers[None]) ** 2).sum(-1).argmin(1)
    resid = x - ds.centers[nearest]
    assert_close(resid.std(0), np.array([0.02, 0.02]), rtol=0.03, atol=0)
    assert_close(np.bincount(nearest) / len(x), np.full(8, 1 / 8), atol=0.01, rtol=0)


def test_presets_match_published_setups():
    g8 = make_dataset("8gaussians")
    assert_close(np.linalg.norm(g8.centers, axis=1), np.full(8, 2 / 1.414))
    assert_close(g8.std, 0.02 / 1.414)
    g25 = make_dataset("grid-pacgan")
    assert sorted(set(g25.centers[:, 0])) == [-4, -2, 0, 2, 4] and g25.std == 0.05
    r = make_dataset("ring-pacgan")
    assert_close(np.linalg.norm(r.centers, axis=1), np.ones(8)) and r.std == 0.01
    assert make_dataset("swissroll").centers is None


def test_same_generator_seed_same_samples():
    ds = make_dataset("grid")
    a = ds.sample(100, torch.Generator().manual_seed(3))
    b = ds.sample(100, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_point_files(tmp_path):
    pts = np.random.default_rng(0).standard_normal((50, 2))
    np.save(tmp_path / "p.npy", pts)
    np.savetxt(tmp_path / "p.csv", pts, delimiter=",")
    for f in ("p.npy", "p.csv"):
        x = make_dataset(f"file:{tmp_path / f}").sample(500, torch.Generator().manual_seed(0))
        rows = {tuple(np.round(r, 5)) for r in pts}
        assert all(tuple(np.round(r, 5)) in rows for r in x.double().numpy())


@pytest.mark.parametrize(
    "content,match",
    [
        ("1,2,3\n4,5,6\n", "N x 2"),
        ("1,2\nfoo,bar\n", "cannot read"),
        ("", "cannot read|N x 2"),
    ],
)
def test_malformed_point_files(tmp_path, content, match):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(DataError, match=match):
        make_dataset(f"file:{f}")


def test_bad_specs():
    with pytest.raises(DataError, match="unknown data 'nope'"):
        make_dataset("nope")
    with pytest.raises(DataError, match="not found"):
        make_dataset("file:/no/such/file.npy")
    with pytest.raises(DataError, match="does not take"):
        make_dataset("ring:petals=3")
    with pytest.raises(DataError, match="key=value"):
        make_dataset("ring:8")
