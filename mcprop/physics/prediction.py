"""The model's prediction at one (m, g) point with central input values."""

import numpy as np

from mcprop.physics.flavour import BOREXINO_PHASE1_P_EE, NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import RateKernels
from mcprop.physics.scattering import LMU_LTAU, coupling_product_MeV2
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_862


def predict(mass_MeV: float, g: float, flavour: str = "decoherent-vacuum",
            interference: bool = True) -> dict[str, float]:
    """P_ee, P_emu, P_etau, SM and Z' rates of the 862 keV line [cpd/100t], new-physics
    fraction; NuFIT 5.0 central values, B16-GS98 flux, Borexino Phase-I P_ee for ``pee``."""
    if not (np.isfinite(mass_MeV) and mass_MeV > 0):
        raise ValueError(f"mass must be > 0 MeV, got {mass_MeV}")
    if not (np.isfinite(g) and g >= 0):
        raise ValueError(f"coupling g must be >= 0, got {g}")
    model = flavour_model(flavour)
    params = {**NUFIT_5_0_NO_CENTRAL, "p_ee": BOREXINO_PHASE1_P_EE}
    probabilities = model.probabilities(params, BE7_862.energy_MeV)
    kernels = RateKernels.compute([mass_MeV], [BE7_862], LMU_LTAU).at_mass(0)
    rate_sm, rate, np_fraction = kernels.rate_cpd100t(
        B16_GS98_BE7_FLUX_CM2S,
        probabilities[None], coupling_product_MeV2(g), interference)
    p_ee, p_emu, p_etau = (float(p) for p in probabilities)
    return {"P_ee": p_ee, "P_emu": p_emu, "P_etau": p_etau,
            "rate_sm_cpd100t": float(rate_sm), "rate_cpd100t": float(rate),
            "np_fraction": float(np_fraction)}
