"""The numbers behind the concept figures (toygan.concepts), not the pictures."""

import math

import numpy as np
import pytest
from torch.testing import assert_close

from toygan import concepts


def test_js_is_flat_at_log_2_while_w1_is_the_offset():
    res = concepts.js_vs_emd(thetas=[-1.0, -0.3, -0.05, 0.0, 0.05, 0.3, 1.0], n=200)
    for t, js, w1 in zip(res["theta"], res["js"], res["w1"], strict=True):
        assert_close(js, 0.0 if t == 0 else math.log(2), rtol=0, atol=1e-12)
        assert_close(w1, abs(t), rtol=0, atol=1e-9)


def test_the_js_figure_draws_the_jump_as_a_jump_and_its_gradient_as_zero():
    """The WGAN paper's Example 1 as the figure draws it: JS's gradient is 0 wherever it is
    defined (not a finite-difference spike across θ = 0), W1's is the sign of θ, neither is
    defined at 0, and no drawn line crosses θ = 0."""
    res = concepts.js_vs_emd(thetas=np.linspace(-1, 1, 41), n=200)
    theta = np.array(res["theta"])
    js_grad, w1_grad = np.array(res["js_grad"]), np.array(res["w1_grad"])
    off = theta != 0
    assert_close(js_grad[off], np.zeros(off.sum()), rtol=0, atol=1e-9)
    assert_close(w1_grad[off], np.sign(theta[off]), rtol=0, atol=1e-6)
    assert np.isnan(js_grad[~off]).all() and np.isnan(w1_grad[~off]).all()
    for key in ("js", "w1", "js_grad", "w1_grad"):
        pieces = concepts.sides(theta, res[key])
        assert len(pieces) == 2
        assert all((x <= 0).all() or (x >= 0).all() for x, _ in pieces)  # 0 only as an end


@pytest.mark.slow
def test_saturating_gradient_vanishes_with_distance_wasserstein_does_not():
    res = concepts.vanishing(distances=(0.5, 8), steps=300)
    sat, ns, w = res["minimax (saturating)"], res["non-saturating BCE"], \
        res["WGAN (Lipschitz critic)"]
    assert sat[1] < 1e-3 * sat[0]  # orders of magnitude (measured: 1.7 -> 0)
    assert ns[1] > 0.1  # the non-saturating loss still pushes the generator
    for g in w:
        assert 0.7 < g < 1.6  # a 1-Lipschitz critic's slope, whatever the distance


def test_penalised_critic_has_unit_gradient_norm_on_interpolates():
    res = concepts.interpolates_figure(steps=300)
    assert 0.8 < np.mean(res["norm_gp"]) < 1.25
    assert np.mean(res["norm_none"]) > 5  # unconstrained: the norm runs away


@pytest.mark.slow
def test_lipschitz_maps():
    res = concepts.lipschitz(steps=300, res=16)
    assert np.max(res["clip"]) < 0.1  # clipping: far below 1 everywhere
    assert np.max(res["sn"]) <= 1.05  # spectral norm: a product of norms <= 1
    gp = np.array(res["gp"])
    assert gp.max() > 0.8 and gp.min() < gp.max()
