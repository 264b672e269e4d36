"""The Sun as a neutrino source: 7Be lines, B16 standard solar models and their fluxes.

Package data (converted by scripts/convert_ssm_b16.py; provenance in data/ssm_b16.md):
B16 standard solar models, N. Vinyoles et al., ApJ 835, 202 (2017). See docs/physics.md
secs. 2 and 8.
"""

from dataclasses import dataclass
from functools import cache, cached_property
from types import MappingProxyType

import numpy as np

from mcprop.physics.tables import package_csv


@dataclass(frozen=True)
class NeutrinoLine:
    """A monoenergetic neutrino line: energy [MeV] and branching fraction of the total flux."""

    name: str
    energy_MeV: float
    branching: float


#: 7Be electron-capture lines; energies and branchings as in J.N. Bahcall, "Neutrino
#: Astrophysics" (1989) (docs/physics.md sec. 2): 0.8618 MeV (89.56%) and 0.3843 MeV
#: (10.44%). (Some analyses use 0.897/0.103; the difference is 0.1% of the 862 keV rate.)
BE7_862 = NeutrinoLine("862keV", 0.8618, 0.8956)
BE7_384 = NeutrinoLine("384keV", 0.3843, 0.1044)
BE7_LINES: dict[str, NeutrinoLine] = {line.name: line for line in (BE7_862, BE7_384)}

#: Neutrino sources of the standard solar model, in the order of the B16 tables.
SOURCES = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")
#: Compositions of the B16 models: GS98 (high metallicity) and AGSS09met (low metallicity).
COMPOSITIONS = ("gs98", "agss09met")
#: Number of Gauss nodes (in n_e) that replace a production distribution in MSW averages.
#: Measured on the 7Be lines over the NuFIT 3-sigma ranges of theta12 and Dm^2_21: 4 nodes
#: give P_ea within 1.1e-13 of 12 nodes (which match the full 1000-zone table to 1e-15),
#: at 1/18 of the cost per sample (58 against 1050 ns at a batch of 10,000).
QUADRATURE_NODES = 4
#: With a large extra (Z') matter potential the flavour content varies faster with n_e:
#: there 6 nodes keep P_ea within 4.7e-5 of the full table (12 nodes: 1.5e-6, 4 nodes:
#: 4e-4; measured for L_e - L_mu at m = 0.05 MeV, g = 1e-8 to 1e-5), far below what moves
#: a limit, at half the cost of 12.
POTENTIAL_QUADRATURE_NODES = 6


def _check_composition(composition: str) -> str:
    if composition not in COMPOSITIONS:
        raise ValueError(f"unknown solar composition {composition!r}; choose one of "
                         f"{', '.join(COMPOSITIONS)}")
    return composition


@cache
def _b16_fluxes() -> dict[str, dict[str, tuple[float, float]]]:
    header, *table = package_csv("ssm_b16_fluxes.csv")
    rows = [dict(zip(header, row, strict=True)) for row in table]
    return {c: {row["source"]: (float(row[f"flux_{c}_cm2s"]), float(row[f"rel_error_{c}"]))
                for row in rows} for c in COMPOSITIONS}


def b16_flux_cm2s(source: str, composition: str = "gs98") -> tuple[float, float]:
    """(flux [cm^-2 s^-1], relative 1-sigma error) of a source in a B16 model (Table 6)."""
    fluxes = _b16_fluxes()[_check_composition(composition)]
    if source not in fluxes:
        raise ValueError(f"unknown neutrino source {source!r}; choose one of {', '.join(SOURCES)}")
    return fluxes[source]


#: Total 7Be flux [cm^-2 s^-1] of the B16 models (Vinyoles et al. 2017, Table 6):
#: GS98 4.93e9 (1 +- 0.06), AGSS09met 4.50e9 (1 +- 0.06).
B16_GS98_BE7_FLUX_CM2S = b16_flux_cm2s("7Be", "gs98")[0]
B16_AGSS09MET_BE7_FLUX_CM2S = b16_flux_cm2s("7Be", "agss09met")[0]


def gauss_rule(values, weights, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature for the discrete measure sum_i weights_i delta(x - values_i).

    Nodes and weights (n_nodes each) integrate every polynomial of degree <= 2 n_nodes - 1
    exactly; built by the discretised Stieltjes procedure and the Golub-Welsch eigenproblem.
    Needs at least ``n_nodes`` distinct values of positive weight.
    """
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    centre, half = 0.5 * (x.max() + x.min()), 0.5 * (x.max() - x.min())
    t = (x - centre) / half if half > 0 else np.zeros_like(x)
    alpha, beta = np.zeros(n_nodes), np.zeros(n_nodes)
    previous, current = np.zeros_like(t), np.ones_like(t) / np.sqrt(total)
    for k in range(n_nodes):
        alpha[k] = np.sum(w * t * current**2)
        if k + 1 == n_nodes:
            break
        following = (t - alpha[k]) * current - beta[k] * previous
        beta[k + 1] = np.sqrt(np.sum(w * following**2))
        previous, current = current, following / beta[k + 1]
    nodes, vectors = np.linalg.eigh(np.diag(alpha) + np.diag(beta[1:], 1) + np.diag(beta[1:], -1))
    return centre + half * nodes, total * vectors[0] ** 2


@dataclass(frozen=True)
class SolarProfile:
    """Electron density along the solar radius and where one neutrino source is produced.

    Attributes
    ----------
    radius : array
        Radius r / R_sun of each shell.
    electron_density_per_NA_cm3 : array
        n_e / (N_A cm^-3) in each shell.
    production_weight : array
        Fraction of the source's neutrinos produced in each shell (sums to 1).
    source : str
        Where the table comes from.
    """

    radius: np.ndarray
    electron_density_per_NA_cm3: np.ndarray
    production_weight: np.ndarray
    source: str

    @cached_property
    def density_quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """(n_e nodes [N_A cm^-3], weights): a Gauss rule with QUADRATURE_NODES nodes for
        production-weighted averages of functions of n_e (docs/physics.md sec. 8)."""
        return self.density_rule(QUADRATURE_NODES)

    def density_rule(self, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """A Gauss rule in n_e with (at most) ``n_nodes`` nodes for production averages."""
        support = np.unique(self.electron_density_per_NA_cm3[self.production_weight > 0])
        return gauss_rule(self.electron_density_per_NA_cm3, self.production_weight,
                          min(n_nodes, support.size))

    @cached_property
    def potential_density_quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """The finer rule (``POTENTIAL_QUADRATURE_NODES``) used with an extra potential."""
        return self.density_rule(POTENTIAL_QUADRATURE_NODES)

    def mean_electron_density_per_NA_cm3(self) -> float:
        """Production-weighted mean n_e / (N_A cm^-3)."""
        return float(self.production_weight @ self.electron_density_per_NA_cm3)


@dataclass(frozen=True)
class SolarModel:
    """A B16 standard solar model: radius grid, electron density, production densities.

    Attributes
    ----------
    name : str
        "B16-GS98" or "B16-AGSS09met".
    radius : array
        r / R_sun of each zone (uniform grid, step ``zone_width``).
    electron_density_per_NA_cm3 : array
        n_e / (N_A cm^-3).
    production_density : mapping str -> array
        For each source of ``SOURCES``, the fraction of its neutrinos produced per unit
        r/R_sun (integrates to 1 over the grid within 1e-4).
    zone_width : float
        Width of a zone in r/R_sun.
    """

    name: str
    radius: np.ndarray
    electron_density_per_NA_cm3: np.ndarray
    production_density: MappingProxyType
    zone_width: float

    def profile(self, source: str = "7Be") -> SolarProfile:
        """The MSW profile of one neutrino source: n_e and its production weights."""
        if source not in self.production_density:
            raise ValueError(f"unknown neutrino source {source!r}; choose one of "
                             f"{', '.join(SOURCES)}")
        weight = self.production_density[source] * self.zone_width
        return SolarProfile(self.radius, self.electron_density_per_NA_cm3,
                            weight / weight.sum(),
                            f"{self.name} standard solar model, {source} production "
                            "(Vinyoles et al., ApJ 835, 202 (2017))")


@cache
def solar_model(composition: str = "gs98") -> SolarModel:
    """The B16 standard solar model of a composition, "gs98" or "agss09met"."""
    _check_composition(composition)
    rows = package_csv(f"ssm_b16_{composition}.csv")
    header, table = rows[0], np.array(rows[1:], dtype=float)
    columns = {name: table[:, i] for i, name in enumerate(header)}
    for column in columns.values():
        column.flags.writeable = False
    density = MappingProxyType({s: columns[f"{s}_per_Rsun"] for s in SOURCES})
    radius = columns["r_over_Rsun"]
    name = {"gs98": "B16-GS98", "agss09met": "B16-AGSS09met"}[composition]
    return SolarModel(name, radius, columns["n_e_per_NA_cm3"], density,
                      float(radius[1] - radius[0]))
