"""The posterior p(g, nu | D) at one Z' mass, vectorised over walkers.

Built on the precomputed kernels of :mod:`mcprop.physics.kernels`: an evaluation is array
arithmetic on the samples, with no quadrature. The coupling is sampled through a coordinate
t in which its prior is flat (t = (g/g_max)^p for a prior flat in g^p, t = ln(g/g_max) for
the log-flat prior), so that the prior choice is explicit and recorded.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mcprop.inference.measurements import (
    Measurement,
    SurvivalProbabilityMeasurement,
    SystematicCorrelation,
)
from mcprop.inference.priors import PriorSet
from mcprop.physics.flavour import FlavourModel, msw_probabilities, zprime_potential_ratios
from mcprop.physics.kernels import RateKernels, contract
from mcprop.physics.scattering import (
    LMU_LTAU,
    U1Model,
    coupling_from_product,
    coupling_product_MeV2,
)
from mcprop.physics.solar import BE7_LINES

#: Name of the sampled parameter that carries the Z' flux normalisation.
FLUX = "flux_7be_cm2s"
#: Name of the sampled coupling coordinate.
COUPLING_COORDINATE = "g_coordinate"

G_PRIOR_POWERS = {"flat-g4": 4, "flat-g2": 2, "flat-g": 1, "log-flat": None}


@dataclass(frozen=True)
class CouplingPrior:
    """The prior on g >= 0, an explicit choice (docs/physics.md sec. 6).

    Attributes
    ----------
    kind : str
        ``flat-g4`` (default), ``flat-g2``, ``flat-g`` or ``log-flat``.
    upper_np_fraction : float
        The upper bound g_max(m) is the coupling at which the Z' changes the SM window rate
        by this multiple at central inputs, so the bound scales with the mass.
    floor_g : float or None
        Lower bound of g for ``log-flat`` (required there, unused otherwise).
    """

    kind: str = "flat-g4"
    upper_np_fraction: float = 10.0
    floor_g: float | None = None

    def __post_init__(self):
        if self.kind not in G_PRIOR_POWERS:
            raise ValueError(f"unknown coupling prior {self.kind!r}; choose one of "
                             f"{', '.join(G_PRIOR_POWERS)}")
        if not self.upper_np_fraction > 0:
            raise ValueError("upper_np_fraction must be > 0")
        if self.kind == "log-flat" and not (self.floor_g and self.floor_g > 0):
            raise ValueError("the log-flat coupling prior needs floor_g > 0")

    @property
    def power(self) -> int | None:
        return G_PRIOR_POWERS[self.kind]

    def coordinate_bounds(self, g_max):
        """Range (low, high) of the sampled coordinate t for upper bounds ``g_max``."""
        if self.power is None:
            return np.log(self.floor_g / np.asarray(g_max)), 0.0
        return 0.0, 1.0

    def check_floor(self, g_max: np.ndarray, masses_MeV: np.ndarray) -> None:
        """ValueError if the log-flat floor is not below g_max at every mass."""
        if self.power is None and np.any(self.floor_g >= g_max):
            i = int(np.argmax(self.floor_g >= g_max))
            raise ValueError(f"floor_g = {self.floor_g:g} is not below g_max = "
                             f"{g_max[i]:.3g} at m = {masses_MeV[i]:.4g} MeV")

    def g_from_coordinate(self, t, g_max: float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.power is None:
            return g_max * np.exp(t)
        if self.power == 4:
            return g_max * np.sqrt(np.sqrt(np.abs(t)))
        return g_max * np.abs(t) ** (1.0 / self.power)

    def coordinate_from_g(self, g, g_max: float) -> np.ndarray:
        g = np.asarray(g, dtype=float)
        if self.power is None:
            return np.log(g / g_max)
        return (g / g_max) ** self.power


@dataclass(frozen=True)
class ScanPosterior:
    """log p(t, nu | D) up to a constant at every mass of a grid, vectorised over walkers.

    Each row of ``coords`` (n, n_dim) belongs to the grid mass ``mass_index[row]``: the
    kernels of that mass are gathered per row, so one call evaluates walkers of many masses.

    >>> log_prob = posterior(coords, mass_index)          # doctest: +SKIP
    """

    masses_MeV: np.ndarray
    priors: PriorSet
    flavour: FlavourModel
    coupling_prior: CouplingPrior
    measurements: tuple[Measurement, ...]
    kernels: tuple[RateKernels | None, ...]
    interference: bool = True
    model: U1Model = LMU_LTAU
    correlations: tuple[SystematicCorrelation, ...] = ()
    matter_potential: bool = False

    @cached_property
    def g_max(self) -> np.ndarray:
        """Upper bound of g at each grid mass (``coupling_prior.upper_np_fraction``)."""
        return self.coupling_at_np_fraction(self.coupling_prior.upper_np_fraction)

    def coupling_at_np_fraction(self, np_fraction: float) -> np.ndarray:
        """The g at each grid mass at which the Z' changes the window counts of the first rate
        measurement by ``np_fraction`` at central inputs, counting the interference term with
        its size: C^2 Q + C |L| = np_fraction x SM."""
        index, grid = next((i, k) for i, k in enumerate(self.kernels) if k is not None)
        kernels = grid.at_mass(np.arange(len(self.masses_MeV)))
        centres = self.priors.centres()
        p = np.stack([self.flavour.probabilities(centres, BE7_LINES[name].energy_MeV)
                      for name in self.measurements[index].lines])[..., None]
        sm, linear, quadratic = (contract(k, p) for k in
                                 (kernels.sm_window, kernels.linear, kernels.quadratic))
        linear = np.abs(linear) if self.interference else 0.0
        coupling = (-linear + np.sqrt(linear**2 + 4 * quadratic * np_fraction * sm)) / (
            2 * quadratic)
        return np.array([coupling_from_product(c, self.model) for c in coupling])

    @property
    def names(self) -> tuple[str, ...]:
        """Sampled coordinates: the coupling coordinate, then the free nuisances."""
        return (COUPLING_COORDINATE, *self.priors.free_names)

    @property
    def nuisance_names(self) -> tuple[str, ...]:
        return self.priors.free_names

    def coupling(self, t, mass_index) -> np.ndarray:
        """g from the sampled coordinate t at grid masses ``mass_index`` (broadcast)."""
        return self.coupling_prior.g_from_coordinate(t, self.g_max[mass_index])

    def __call__(self, coords: np.ndarray, mass_index) -> np.ndarray:
        coords = np.atleast_2d(coords)
        mass_index = np.broadcast_to(mass_index, coords.shape[:1])
        t = coords[:, 0]
        nuisances = dict(zip(self.nuisance_names, coords[:, 1:].T, strict=True))
        log_prior = self.log_prior(t, nuisances, mass_index)
        inside = np.isfinite(log_prior)
        if inside.all():
            return log_prior + self.log_likelihood(self.coupling(t, mass_index), nuisances,
                                                   mass_index)
        result = np.full(t.shape, -np.inf)
        if inside.any():
            params = {name: value[inside] for name, value in nuisances.items()}
            result[inside] = log_prior[inside] + self.log_likelihood(
                self.coupling(t[inside], mass_index[inside]), params, mass_index[inside])
        return result

    def log_prior(self, t: np.ndarray, nuisances: Mapping[str, np.ndarray],
                  mass_index) -> np.ndarray:
        """Log prior of the coupling coordinate t (flat) and the free nuisances."""
        low, high = self.coupling_prior.coordinate_bounds(self.g_max[mass_index])
        return np.where((t >= low) & (t <= high), 0.0, -np.inf) + self.priors.log_density(
            nuisances)

    def parameters(self, nuisances: Mapping[str, np.ndarray]) -> dict:
        """Free nuisances completed with the fixed values of the prior set."""
        return {**self.priors.fixed_values, **nuisances}

    def log_likelihood(self, g, nuisances: Mapping[str, np.ndarray], mass_index) -> np.ndarray:
        """Sum of the measurement log-likelihoods at couplings g (n,), free nuisances and
        grid masses ``mass_index`` (n,)."""
        params = self.parameters(nuisances)
        shape = np.shape(g)
        cache: dict[float, np.ndarray] = {}

        def probabilities(line: str) -> np.ndarray:
            """P_ea at the line energy with shape (3, n), computed once per energy."""
            energy = BE7_LINES[line].energy_MeV
            if energy not in cache:
                if self.matter_potential:  # the Z' potential changes MSW (docs sec. 9)
                    ratios = zprime_potential_ratios(self.model, g,
                                                     self.masses_MeV[mass_index])
                    value = msw_probabilities(params, energy, self.flavour.profile, ratios)
                else:
                    value = self.flavour.probabilities(params, energy)
                cache[energy] = np.broadcast_to(value.reshape(3, -1), (3, *shape))
            return cache[energy]

        coupling = coupling_product_MeV2(g, self.model)
        paired = {i for c in self.correlations for i in (c.first, c.second)}
        rates = {}
        total = np.zeros(shape)
        for i, (measurement, grid) in enumerate(zip(self.measurements, self.kernels,
                                                    strict=True)):
            if isinstance(measurement, SurvivalProbabilityMeasurement):
                total = total + measurement.log_likelihood(probabilities(measurement.line)[0])
                continue
            p = np.stack([probabilities(line) for line in measurement.lines])
            rate_sm, rates[i], _ = grid.at_mass(mass_index).rate_cpd100t(
                params[FLUX], p, coupling, self.interference)
            if i not in paired:
                total = total + measurement.log_likelihood(rates[i], rate_sm)
        for c in self.correlations:
            total = total + c.log_likelihood(self.measurements[c.first], rates[c.first],
                                             self.measurements[c.second], rates[c.second])
        return total

    def profile_objective(self, mass_index: int, g: float,
                          nuisance_rows: np.ndarray) -> np.ndarray:
        """-2 ln [L(D | g, nu) pi(nu)] at grid mass ``mass_index`` for each row of nuisances
        (n, n_nuisances). The nuisance priors act as constraint terms of the profile
        likelihood."""
        rows = np.atleast_2d(nuisance_rows)
        nuisances = dict(zip(self.nuisance_names, rows.T, strict=True))
        index = np.full(rows.shape[0], mass_index)
        prior = self.priors.log_density(nuisances)
        with np.errstate(all="ignore"):  # outside the priors' domains: -inf, never NaN
            value = prior + self.log_likelihood(np.full(rows.shape[0], g), nuisances, index)
        value = np.where(np.isfinite(prior) & ~np.isnan(value), value, -np.inf)
        return -2.0 * value


def sampled_priors(priors: PriorSet, flavour: FlavourModel) -> PriorSet:
    """The priors of what the posterior reads: the flavour model's parameters and the flux."""
    return priors.restricted_to((*flavour.parameters, FLUX))
