"""What each N_h-response nuisance means, pinned against closed forms built from the
published response of P. Coloma et al., JHEP 07 (2022) 138, arXiv:2204.03011 (mean
N_h(T) = sum_k a_k T^k, width sigma(N) = b_0 + b_1 sqrt(N) + b_2 N; the coefficients as in
data/borexino_phase2_response.csv), and the nuisances' domains."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from mcprop.physics.nh_response import NhResponse, load_nh_response
from mcprop.physics.parameters import PHYSICAL_DOMAINS, RESPONSE_PARAMETERS

COLOMA_MEAN = (-8.065244, 493.2560, -64.09629, 4.146102)
COLOMA_SIGMA = (1.21974, 1.31394, -0.0148585)


def coloma_nh(T):
    return sum(a * T**k for k, a in enumerate(COLOMA_MEAN))


def coloma_width(nh):
    return COLOMA_SIGMA[0] + COLOMA_SIGMA[1] * math.sqrt(nh) + COLOMA_SIGMA[2] * nh


@pytest.mark.parametrize("T", [0.3, 0.665, 1.5])
def test_each_nuisance_acts_as_documented(T):
    """mean = N + s (N - pivot) + o and width = (1 + r) sigma(N), N = N_h(T) unshifted."""
    nominal = load_nh_response("coloma2022")
    N = coloma_nh(T)
    s, o, r, pivot = 0.02, -3.0, 0.05, 400.0
    shifted = NhResponse(COLOMA_MEAN, COLOMA_SIGMA, "test", pivot, s, o, r)
    mean, width = shifted.mean_and_width(np.array(T))
    assert float(mean) == pytest.approx(N + s * (N - pivot) + o, rel=1e-12)
    assert float(width) == pytest.approx((1 + r) * coloma_width(N), rel=1e-12)
    # each nuisance alone moves only its own quantity
    for change, expected in (({"energy_scale": s}, (N + s * N, coloma_width(N))),
                             ({"offset_nh": o}, (N + o, coloma_width(N))),
                             ({"resolution_scale": r}, (N, (1 + r) * coloma_width(N)))):
        mean, width = nominal.shifted(**change).mean_and_width(np.array(T))
        assert (float(mean), float(width)) == pytest.approx(expected, rel=1e-12)


def test_bin_probabilities_are_the_gaussian_of_the_shifted_response():
    response = load_nh_response("coloma2022").shifted(0.01, 2.0, 0.1)
    T, edges = 0.8, np.array([300.5, 340.5, 370.5, 420.5])
    N = coloma_nh(T)
    mean, width = 1.01 * N + 2.0, 1.1 * coloma_width(N)
    expected = np.diff(norm.cdf(edges, loc=mean, scale=width))
    assert response.bin_probabilities(np.array(T), edges) == pytest.approx(expected, rel=1e-10)


def test_domains_are_where_the_response_is_defined():
    assert list(RESPONSE_PARAMETERS) == ["nh_energy_scale", "nh_offset", "nh_resolution_scale"]
    assert PHYSICAL_DOMAINS["nh_offset"] == (-math.inf, math.inf)
    # a scale or a width scale of -1 collapses N_h or the width: refused at the domain's edge
    nominal = load_nh_response("coloma2022")
    for key, name in (("energy_scale", "nh_energy_scale"),
                      ("resolution_scale", "nh_resolution_scale")):
        low = PHYSICAL_DOMAINS[name][0]
        with pytest.raises(ValueError, match=key):
            nominal.shifted(**{key: low})
        nominal.shifted(**{key: low + 1e-3})
