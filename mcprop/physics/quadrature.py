"""Gauss-Legendre quadrature rules: the project's one definition.

An n-node Gauss-Legendre rule integrates polynomials of degree up to 2n - 1 exactly. The
rules here are built from :func:`numpy.polynomial.legendre.leggauss` and come in three forms:

- :func:`gauss_legendre`: one rule on [low, high], broadcast over arrays of intervals;
- :func:`composite_unit_rule`: equal panels on [0, 1], each with its own rule;
- :func:`endpoint_crowded_rule`: a composite rule in v mapped to s = 1 - (1 - v)^3, whose
  nodes crowd toward s = 1, for integrands with an integrable (logarithmic) singularity
  there, such as the O(alpha) QED factors at the largest recoil energy T_max.

>>> nodes, weights = composite_unit_rule(4, 3)
>>> round(float(weights @ nodes**5), 12)          # Int_0^1 s^5 ds = 1/6
0.166666666667
"""

from functools import cache

import numpy as np


@cache
def legendre_rule(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``order``-node Gauss-Legendre rule on [-1, 1] (read-only)."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def gauss_legendre(low, high, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``order``-node rule on [low, high], broadcast over ``low``
    and ``high``: shape ``broadcast(low, high).shape + (order,)``, the last axis the rule.

    >>> x, w = gauss_legendre(0.0, np.pi, 8)
    >>> round(float(w @ np.sin(x)), 9)                # Int_0^pi sin x dx = 2
    2.0
    """
    nodes, weights = legendre_rule(order)
    low, high = np.asarray(low)[..., None], np.asarray(high)[..., None]
    half = 0.5 * (high - low)
    return low + half * (nodes + 1.0), half * weights


def composite_unit_rule(panels: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (``panels * order``,) of a composite rule on [0, 1]: ``panels``
    equal panels of ``order`` nodes each, in increasing order (one panel: the plain rule
    mapped to [0, 1])."""
    nodes, weights = legendre_rule(order)
    unit_nodes = ((np.arange(panels)[:, None] + 0.5 * (nodes + 1.0)) / panels).ravel()
    return unit_nodes, np.tile(0.5 * weights / panels, panels)


def endpoint_crowded_rule(panels: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes s and weights on [0, 1] of :func:`composite_unit_rule` in v, mapped to
    s = 1 - (1 - v)^3 (ds = 3 (1 - v)^2 dv): the nodes crowd toward s = 1, where an
    integrand may have an integrable logarithmic singularity.

    >>> s, w = endpoint_crowded_rule(4, 16)
    >>> round(float(w @ np.log(1.0 - s)), 7)           # Int_0^1 ln(1 - s) ds = -1
    -1.0
    """
    v, weights = composite_unit_rule(panels, order)
    return 1.0 - (1.0 - v) ** 3, weights * 3.0 * (1.0 - v) ** 2
