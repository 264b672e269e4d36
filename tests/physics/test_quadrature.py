"""Known answers of the Gauss-Legendre rules (mcprop.physics.quadrature): exactness on
polynomials, closed-form integrals, and the shapes the integrals rely on."""

import math

import numpy as np
import pytest

from mcprop.physics.quadrature import (
    composite_unit_rule,
    endpoint_crowded_rule,
    gauss_legendre,
    legendre_rule,
)


@pytest.mark.parametrize("order", [1, 2, 5, 16])
def test_exact_for_polynomials_up_to_degree_2n_minus_1(order):
    # Int_a^b x^k dx = (b^(k+1) - a^(k+1)) / (k + 1)
    a, b = -0.7, 2.3
    x, w = gauss_legendre(a, b, order)
    for k in range(2 * order):
        exact = (b ** (k + 1) - a ** (k + 1)) / (k + 1)
        assert w @ x**k == pytest.approx(exact, rel=1e-13, abs=1e-14)
    # and not beyond: x^(2n) is integrated with an error (visible at low order)
    k = 2 * order
    if order <= 5:
        assert w @ x**k != pytest.approx((b ** (k + 1) - a ** (k + 1)) / (k + 1), rel=1e-6)


def test_closed_form_integrals():
    x, w = gauss_legendre(0.0, math.pi, 12)
    assert w @ np.sin(x) == pytest.approx(2.0, rel=1e-14)
    x, w = gauss_legendre(0.0, 1.0, 12)
    assert w @ np.exp(x) == pytest.approx(math.e - 1.0, rel=1e-14)


def test_broadcast_over_intervals():
    low, high = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 4.0])
    x, w = gauss_legendre(low, high, 3)
    assert x.shape == w.shape == (3, 3)
    # Int x^2 dx over [0,1], [1,2], [2,4]
    assert np.allclose(np.sum(w * x**2, axis=-1), [1 / 3, 7 / 3, 56 / 3], rtol=1e-14)
    assert np.all((x > low[:, None]) & (x < high[:, None]))


@pytest.mark.parametrize("panels, order", [(1, 4), (3, 5), (64, 16)])
def test_composite_rule_on_unit_interval(panels, order):
    s, w = composite_unit_rule(panels, order)
    assert s.shape == w.shape == (panels * order,)
    assert np.all(np.diff(s) > 0) and 0 < s[0] and s[-1] < 1
    assert w.sum() == pytest.approx(1.0, rel=1e-14)
    # exact per panel up to degree 2 order - 1, so on [0, 1] too
    k = 2 * order - 1
    assert w @ s**k == pytest.approx(1 / (k + 1), rel=1e-13)


def test_endpoint_crowded_rule_integrates_the_endpoint_logarithm():
    # Int_0^1 ln(1 - s) ds = -1 and Int_0^1 s ln(1 - s) ds = -3/4, singular at s = 1
    s, w = endpoint_crowded_rule(4, 16)
    assert w @ np.log1p(-s) == pytest.approx(-1.0, rel=1e-6)
    assert w @ (s * np.log1p(-s)) == pytest.approx(-0.75, rel=1e-6)
    # the plain composite rule with the same nodes does worse: the mapping is what helps
    v, u = composite_unit_rule(4, 16)
    assert abs(u @ np.log1p(-v) + 1.0) > 10 * abs(w @ np.log1p(-s) + 1.0)
    # polynomials: the mapped integrand of s^k is a polynomial in v of degree 3k + 2
    assert w @ s**10 == pytest.approx(1 / 11, rel=1e-13)


def test_rule_is_legendres_and_read_only():
    x, w = legendre_rule(3)
    assert np.allclose(x, [-math.sqrt(3 / 5), 0.0, math.sqrt(3 / 5)], atol=1e-15)
    assert np.allclose(w, [5 / 9, 8 / 9, 5 / 9], rtol=1e-15)
    with pytest.raises(ValueError):
        x[0] = 0.0
