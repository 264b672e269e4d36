"""The seed paper's fixed-factor limits (S. N. Gninenko, D. S. Gorbunov, arXiv:2007.16098),
drawn beside the runs' limits for comparison: the coupling at which the Z' adds an allowed
fraction of the Borexino Phase-I 862 keV rate at fixed inputs, and the same times the
seed's error-treatment factor (mcprop.physics.seed_factors).

>>> curves = seed_comparison_curves([10.0])
>>> round(float(curves.error_treatment[0] / curves.allowance[0]), 3)
1.316
"""

from typing import NamedTuple

import numpy as np

from mcprop.inference.limits import allowance_limit_g
from mcprop.physics.flavour import BOREXINO_PHASE1_P_EE, NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import RateKernels
from mcprop.physics.seed_factors import (
    PHASE1_RATE_CPD100T,
    SEED_ALLOWED_FRACTION,
    decoherence_factor,
    error_treatment_factor,
)
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_862


class SeedCurves(NamedTuple):
    """Fixed-factor limits of the seed paper (Gninenko & Gorbunov, arXiv:2007.16098).

    Attributes
    ----------
    allowance : array
        g at which the Z' adds 8% of the Phase-I rate, P_ee = 0.51, no interference.
    error_treatment : array
        ``allowance`` times the seed's eq.-6 factor (1.316).
    """

    allowance: np.ndarray
    error_treatment: np.ndarray


def allowance_curve(masses_MeV) -> np.ndarray:
    """g(m) at which the Z' adds 8% of the Borexino Phase-I rate at fixed inputs.

    Total 862 keV rate (no window), NuFIT 5.0 central mixing with P_ee = 0.51, the B16-GS98
    flux and no SM-Z' interference: the way earlier work turned an allowance into a limit.
    """
    masses = np.atleast_1d(np.asarray(masses_MeV, dtype=float))
    kernels = RateKernels.compute(masses, [BE7_862], radiative_corrections=False)
    params = {**NUFIT_5_0_NO_CENTRAL, "p_ee": BOREXINO_PHASE1_P_EE}
    probabilities = flavour_model("pee").probabilities(params, BE7_862.energy_MeV)[None]
    allowed = SEED_ALLOWED_FRACTION * PHASE1_RATE_CPD100T
    return np.array([allowance_limit_g(kernels.at_mass(i), probabilities,
                                       B16_GS98_BE7_FLUX_CM2S, allowed, interference=False)
                     for i in range(masses.size)])


def seed_comparison_curves(masses_MeV) -> SeedCurves:
    """The 8%-allowance curve and the same times the seed's error-treatment factor."""
    allowance = allowance_curve(masses_MeV)
    return SeedCurves(allowance, allowance * error_treatment_factor())


def seed_decoherence_factor() -> float:
    """The seed's factor (~1.10) turning an equipartition limit into a decoherent one."""
    return float(decoherence_factor(NUFIT_5_0_NO_CENTRAL))
