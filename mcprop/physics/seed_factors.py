"""The fixed rescaling factors of Gninenko & Gorbunov (arXiv:2007.16098), from the model.

Both follow from a new-physics rate proportional to g^4 (no interference): a limit on the
rate scales g by the fourth root.
"""

import numpy as np
from scipy.stats import norm

from mcprop.physics.flavour import Params, one_minus_sum_ue4

#: Borexino Phase-I 862 keV 7Be rate [cpd/100t] (PRL 107, 141302 (2011)), and the fraction
#: of it that the seed allowed the Z' to add (arXiv:2007.16098).
PHASE1_RATE_CPD100T = 46.0
SEED_ALLOWED_FRACTION = 0.08


def decoherence_factor(params: Params) -> np.ndarray:
    """((2/3)/(1 - sum |U_ei|^4))^(1/4): equipartition limits weakened by decoherence."""
    return ((2.0 / 3.0) / one_minus_sum_ue4(params)) ** 0.25


def half_normal_quantile(relative_error: float, credibility: float = 0.9) -> float:
    """Upper `credibility` quantile of a half-normal of width relative_error.

    With a flat prior on a new-physics fraction s >= 0 and a Gaussian likelihood centred on
    the SM, the posterior of s is half-normal: the 0.90 quantile is 1.645 sigma (sec. 9).
    """
    return float(norm.ppf(0.5 + 0.5 * credibility) * relative_error)


def error_treatment_factor(relative_error: float = 0.14,
                           allowance: float = SEED_ALLOWED_FRACTION, fraction_old: float = 0.49,
                           fraction_new: float = 0.47, credibility: float = 0.9) -> float:
    """Seed eq. 6: (s_90/allowance x fraction_old/fraction_new)^(1/4), s_90 = 1.645 x 14%."""
    allowed = half_normal_quantile(relative_error, credibility)
    return float((allowed / allowance * fraction_old / fraction_new) ** 0.25)
