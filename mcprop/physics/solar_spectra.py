"""Solar-neutrino sources seen by electron scattering: lines and continuous energy spectra.

Every source of the pp chain and the CNO cycle that scatters in Borexino's Phase-II window:
pp, 7Be (both lines), pep, 13N, 15O, 17F and 8B. A source is either a monoenergetic line or a
continuous spectrum lambda(E) [MeV^-1] normalised to unit integral, read from package data
(``data/solar_spectrum_<name>.csv``, see ``data/solar_spectra.md`` for provenance). Each
source names the flux parameter (prior files, cm^-2 s^-1) that scales it and the fraction of
that flux it carries (the 7Be branchings). The hep source is left out: its rate in the window
is negligible (``data/solar_spectra.md``).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np

from mcprop.physics.constants import M_ELECTRON_MEV
from mcprop.physics.solar import BE7_384, BE7_862
from mcprop.physics.tables import package_csv

#: pep line energy [MeV]: E_pep = 2 M(1H) - M(2H) = 1.442 MeV (atomic masses), the pp
#: endpoint plus 2 m_e; J. N. Bahcall, Neutrino Astrophysics (Cambridge UP, 1989); Borexino,
#: PRL 108, 051302 (2012).
PEP_ENERGY_MEV = 1.442


@dataclass(frozen=True)
class SolarSource:
    """One solar-neutrino source.

    Attributes
    ----------
    name : str
        Source name (``pp``, ``be7_862``, ``be7_384``, ``pep``, ``n13``, ``o15``, ``f17``,
        ``b8``).
    flux_parameter : str
        Name of the flux parameter [cm^-2 s^-1] that scales the source.
    production : str
        The source's name in the B16 solar-model tables (mcprop.physics.solar.SOURCES), whose
        production profile sets its MSW flavour content.
    fraction : float
        Fraction of that flux the source carries (branching of a 7Be line, else 1).
    line_energy_MeV : float or None
        Energy of a monoenergetic line [MeV]; None for a continuous spectrum, which is read
        from ``data/solar_spectrum_<name>.csv``.
    """

    name: str
    flux_parameter: str
    production: str
    fraction: float = 1.0
    line_energy_MeV: float | None = None

    @property
    def is_line(self) -> bool:
        return self.line_energy_MeV is not None

    @property
    def max_energy_MeV(self) -> float:
        """Highest neutrino energy of the source [MeV]."""
        if self.is_line:
            return self.line_energy_MeV
        energy, density = spectrum(self.name)
        return float(energy[np.flatnonzero(density > 0)[-1] + 1])

    def density_per_MeV(self, energy_MeV) -> np.ndarray:
        """Normalised spectrum lambda(E) [MeV^-1], linear between the tabulated points and
        zero outside; only for continuous sources."""
        if self.is_line:
            raise ValueError(f"{self.name} is a line: it has no continuous spectrum")
        energy, density = spectrum(self.name)
        return np.interp(energy_MeV, energy, density, left=0.0, right=0.0)


@cache
def spectrum(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Tabulated energy [MeV] and density [MeV^-1] of a continuous source, from package data.

    The density is renormalised to unit trapezoid integral (the tables already are, to 1e-5).
    """
    try:
        rows = package_csv(f"solar_spectrum_{name}.csv")
    except FileNotFoundError:
        raise ValueError(f"no solar spectrum named {name!r} in the package data") from None
    table = np.array([[float(x) for x in row] for row in rows[1:]])
    energy, density = table[:, 0], table[:, 1]
    energy.flags.writeable = False
    density = density / np.trapezoid(density, energy)
    density.flags.writeable = False
    return energy, density


#: The sources, in the order the spectral templates use. 7Be lines: energies and branchings
#: of mcprop.physics.solar (J. N. Bahcall, Neutrino Astrophysics (1989)).
SOLAR_SOURCES: tuple[SolarSource, ...] = (
    SolarSource("pp", "flux_pp_cm2s", "pp"),
    SolarSource("be7_862", "flux_7be_cm2s", "7Be", BE7_862.branching, BE7_862.energy_MeV),
    SolarSource("be7_384", "flux_7be_cm2s", "7Be", BE7_384.branching, BE7_384.energy_MeV),
    SolarSource("pep", "flux_pep_cm2s", "pep", 1.0, PEP_ENERGY_MEV),
    SolarSource("n13", "flux_n13_cm2s", "13N"),
    SolarSource("o15", "flux_o15_cm2s", "15O"),
    SolarSource("f17", "flux_f17_cm2s", "17F"),
    SolarSource("b8", "flux_b8_cm2s", "8B"),
)


def flux_parameters(sources=SOLAR_SOURCES) -> tuple[str, ...]:
    """Distinct flux parameter names of ``sources``, in order of first appearance."""
    return tuple(dict.fromkeys(source.flux_parameter for source in sources))


def min_neutrino_energy_MeV(T_MeV) -> np.ndarray:
    """Smallest neutrino energy that gives an electron recoil T [MeV]:
    E_min = (T + sqrt(T^2 + 2 m_e T)) / 2, the inverse of T_max(E) = 2E^2/(m_e + 2E)."""
    T = np.asarray(T_MeV, dtype=float)
    return 0.5 * (T + np.sqrt(T**2 + 2.0 * M_ELECTRON_MEV * T))
