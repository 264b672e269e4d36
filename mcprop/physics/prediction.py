"""The model's prediction at one (m, g) point with central input values."""

from collections.abc import Sequence

import numpy as np

from mcprop.physics.flavour import (
    BOREXINO_PHASE1_P_EE,
    DEFAULT_FLAVOUR_MODEL,
    NUFIT_5_0_NO_CENTRAL,
    DecoherentMSW,
    flavour_model,
)
from mcprop.physics.kernels import RateKernels
from mcprop.physics.scattering import LMU_LTAU, MASS_RANGE_MEV, coupling_product_MeV2
from mcprop.physics.solar import BE7_LINES, b16_flux_cm2s


def predict(mass_MeV: float, g: float, flavour: str = DEFAULT_FLAVOUR_MODEL,
            interference: bool = True, lines: Sequence[str] = ("862keV",),
            composition: str = "gs98", radiative_corrections: bool = True) -> dict[str, float]:
    """Flavour probabilities, SM and Z' rates and the new-physics fraction for L_mu - L_tau.

    Central inputs: NuFIT 5.0 NO, the B16 7Be flux of ``composition`` (and, for
    ``decoherent-msw``, its 7Be production profile), Borexino Phase-I P_ee for ``pee``.

    Parameters
    ----------
    mass_MeV, g : float
        Z' mass [MeV] (> 0) and coupling (>= 0).
    flavour : str
        Flavour model name (default ``decoherent-msw``).
    interference : bool
        Keep the SM-Z' interference.
    lines : sequence of str
        7Be lines in the rate ("862keV", "384keV"); each enters with its branching.
    composition : str
        "gs98" or "agss09met".
    radiative_corrections : bool
        BKS-corrected cross section (True) or tree level.

    Returns
    -------
    dict
        P_ee, P_emu, P_etau at the first line of ``lines``; rate_sm_cpd100t and rate_cpd100t
        (total rate of the lines, cpd/100t); np_fraction = rate / rate_sm - 1.
    """
    low, high = MASS_RANGE_MEV
    if not np.isfinite(mass_MeV):
        raise ValueError(f"mass must be a finite number in [{low:g}, {high:g}] MeV")
    if not low <= mass_MeV <= high:
        raise ValueError(f"mass must lie in [{low:g}, {high:g}] MeV, got {mass_MeV:g}")
    if not (np.isfinite(g) and g >= 0):
        raise ValueError("coupling g must be finite and >= 0" + (
            f", got {g:g}" if np.isfinite(g) else ""))
    unknown = [name for name in lines if name not in BE7_LINES]
    if not lines or unknown or len(set(lines)) != len(lines):
        raise ValueError(f"lines must be distinct names from {', '.join(BE7_LINES)}, "
                         f"got {', '.join(lines) or 'none'}")
    flux_cm2s, _ = b16_flux_cm2s("7Be", composition)
    model = flavour_model(flavour)
    if isinstance(model, DecoherentMSW):
        model = DecoherentMSW.from_solar_model(composition, "7Be")
    line_objects = [BE7_LINES[name] for name in lines]
    params = {**NUFIT_5_0_NO_CENTRAL, "p_ee": BOREXINO_PHASE1_P_EE}
    probabilities = np.array([model.probabilities(params, line.energy_MeV)
                              for line in line_objects])
    kernels = RateKernels.compute([mass_MeV], line_objects, LMU_LTAU,
                                  radiative_corrections=radiative_corrections).at_mass(0)
    rate_sm, rate, np_fraction = kernels.rate_cpd100t(
        flux_cm2s, probabilities, coupling_product_MeV2(g), interference)
    p_ee, p_emu, p_etau = (float(p) for p in probabilities[0])
    return {"P_ee": p_ee, "P_emu": p_emu, "P_etau": p_etau,
            "rate_sm_cpd100t": float(rate_sm), "rate_cpd100t": float(rate),
            "np_fraction": float(np_fraction)}
