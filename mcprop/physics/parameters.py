"""The registry of nuisance parameters: every parameter a prior file may describe, with its
unit, physical domain, typical size and group.

The names are those of the prior files (``priors/*.toml``) and of the posterior's columns.
Oscillation parameters follow NuFIT (mixing angles as sin^2, delta_CP in degrees, Dm^2_21
in eV^2); solar fluxes are in cm^-2 s^-1 (one per source of
:data:`mcprop.physics.solar_spectra.SOLAR_SOURCES`); background normalisations and response
nuisances of the spectral likelihood are relative numbers (the offset in N_h).

The typical size (``scale``) is used only to refuse absurd prior numbers: the width of the
domain for sin^2 and P_ee, one turn for delta_CP, the NuFIT 5.0 best fit of Dm^2_21 (JHEP
09 (2020) 178), the B16-GS98 flux of each source (ApJ 835, 202 (2017)), 1 for relative
normalisations and scales, 10 N_h for the offset.

>>> PARAMETERS["dm2_21_eV2"].unit
'eV^2'
>>> PHYSICAL_DOMAINS["p_ee"]
(0.0, 1.0)
"""

import math
from dataclasses import dataclass
from types import MappingProxyType

from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL
from mcprop.physics.solar import b16_flux_cm2s
from mcprop.physics.solar_spectra import SOLAR_SOURCES


@dataclass(frozen=True)
class Parameter:
    """A nuisance parameter.

    Attributes
    ----------
    name, unit : str
        Its name in prior files and chains, and its unit ("" for a pure number).
    domain : (float, float)
        Physical range, bounds included (except the lower bound of a ``positive`` one).
    scale : float
        Typical size [unit], to refuse absurd prior numbers.
    group : str
        ``oscillation``, ``solar-flux``, ``survival-probability``, ``background`` or
        ``response``.
    positive : bool
        Must be > 0 (no solar neutrinos or no mass splitting cannot be computed).
    """

    name: str
    unit: str
    domain: tuple[float, float]
    scale: float
    group: str
    positive: bool = False


def background_parameter(name: str) -> str:
    """Prior-file parameter name of the normalisation of background ``name``."""
    return f"bkg_{name}_norm"


#: Borexino Phase-II backgrounds whose normalisations (relative to Borexino's fit) are
#: nuisances of the spectral likelihood.
BACKGROUNDS = ("c14", "pileup", "po210", "kr85", "bi210", "c11", "ext")
#: The template that tilts the threshold backgrounds' shape (mcprop.inference.spectrum),
#: and the parameter of its amplitude (0 = Borexino's shapes), of either sign.
THRESHOLD_TILT = "threshold_tilt"
THRESHOLD_TILT_PARAMETER = background_parameter(THRESHOLD_TILT)
#: Detector-response nuisances of the spectral likelihood, in the order of the
#: ``response_shifts`` rows: energy scale (fraction), offset [N_h], resolution scale
#: (fraction).
RESPONSE_PARAMETERS = ("nh_energy_scale", "nh_offset", "nh_resolution_scale")
#: Low-energy response of the 14C light and its pile-up in the physics threshold model, in
#: the order of the last two ``response_shifts`` rows: offset of the mean light of a 14C
#: decay [N_h] and scale of its width (fraction), both relative to the nominal.
LOW_ENERGY_RESPONSE_PARAMETERS = ("nh_c14_offset", "nh_c14_resolution_scale")
#: The 7Be flux: the flux of the rate analyses.
BE7_FLUX = "flux_7be_cm2s"
#: Fluxes of the other solar sources (the spectral likelihood), by their B16 table names.
SOLAR_FLUX_PARAMETERS = MappingProxyType(
    {source.flux_parameter: source.production for source in SOLAR_SOURCES
     if source.flux_parameter != BE7_FLUX})

_INF = math.inf
_parameters = [
    *(Parameter(f"sin2_theta{ij}", "", (0.0, 1.0), 1.0, "oscillation")
      for ij in ("12", "13", "23")),
    Parameter("delta_cp_deg", "deg", (-_INF, _INF), 360.0, "oscillation"),
    Parameter("dm2_21_eV2", "eV^2", (0.0, _INF), NUFIT_5_0_NO_CENTRAL["dm2_21_eV2"],
              "oscillation", positive=True),
    Parameter(BE7_FLUX, "cm^-2 s^-1", (0.0, _INF), b16_flux_cm2s("7Be")[0], "solar-flux",
              positive=True),
    Parameter("p_ee", "", (0.0, 1.0), 1.0, "survival-probability"),
    *(Parameter(name, "cm^-2 s^-1", (0.0, _INF), b16_flux_cm2s(source)[0], "solar-flux",
                positive=True) for name, source in SOLAR_FLUX_PARAMETERS.items()),
    *(Parameter(background_parameter(name), "", (0.0, _INF), 1.0, "background")
      for name in BACKGROUNDS),
    Parameter("nh_energy_scale", "", (-1.0, _INF), 1.0, "response"),
    Parameter("nh_offset", "N_h", (-_INF, _INF), 10.0, "response"),
    Parameter("nh_resolution_scale", "", (-1.0, _INF), 1.0, "response"),
    Parameter("nh_c14_offset", "N_h", (-_INF, _INF), 10.0, "response"),
    Parameter("nh_c14_resolution_scale", "", (-1.0, _INF), 1.0, "response"),
    Parameter(THRESHOLD_TILT_PARAMETER, "", (-_INF, _INF), 1.0, "background"),
]
#: Every parameter a prior may describe, by name.
PARAMETERS: MappingProxyType = MappingProxyType({p.name: p for p in _parameters})
#: Physical range (low, high) of each parameter.
PHYSICAL_DOMAINS: MappingProxyType = MappingProxyType(
    {p.name: p.domain for p in _parameters})
#: Typical size of each parameter [its unit].
PARAMETER_SCALES: MappingProxyType = MappingProxyType({p.name: p.scale for p in _parameters})
#: Parameters that must be > 0.
POSITIVE_PARAMETERS = frozenset(p.name for p in _parameters if p.positive)
