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
from mcprop.physics.flavour import FlavourModel
from mcprop.physics.kernels import MassKernels
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
    """The prior on g >= 0, an explicit choice (PHYSICS.md sec. 9).

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

    def coordinate_bounds(self, g_max: float) -> tuple[float, float]:
        """Range of the sampled coordinate t."""
        if self.power is None:
            if self.floor_g >= g_max:
                raise ValueError(f"floor_g = {self.floor_g:g} is above g_max = {g_max:.3g}")
            return float(np.log(self.floor_g / g_max)), 0.0
        return 0.0, 1.0

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
class Posterior:
    """log p(t, nu | D) up to a constant, at one mass; callable on (n_walkers, n_dim)."""

    mass_MeV: float
    priors: PriorSet
    flavour: FlavourModel
    coupling_prior: CouplingPrior
    measurements: tuple[Measurement, ...]
    kernels: tuple[MassKernels | None, ...]
    interference: bool = True
    model: U1Model = LMU_LTAU
    correlations: tuple[SystematicCorrelation, ...] = ()

    @cached_property
    def g_max(self) -> float:
        """Upper bound of g at this mass (``coupling_prior.upper_np_fraction``)."""
        return self.coupling_at_np_fraction(self.coupling_prior.upper_np_fraction)

    def coupling_at_np_fraction(self, np_fraction: float) -> float:
        """The g at which the Z' changes the window counts of the first rate measurement by
        ``np_fraction`` at central inputs, counting the interference term with its size:
        C^2 Q + C |L| = np_fraction x SM."""
        index, kernels = next((i, k) for i, k in enumerate(self.kernels) if k is not None)
        centres = self.priors.centres()
        p = np.stack([self.flavour.probabilities(centres, BE7_LINES[name].energy_MeV)
                      for name in self.measurements[index].lines])
        sm, linear, quadratic = (np.einsum("la,la->", k, p) for k in
                                 (kernels.sm_window, kernels.linear, kernels.quadratic))
        linear = abs(linear) if self.interference else 0.0
        coupling = (-linear + np.sqrt(linear**2 + 4 * quadratic * np_fraction * sm)) / (
            2 * quadratic)
        return coupling_from_product(coupling, self.model)

    @property
    def names(self) -> tuple[str, ...]:
        """Sampled coordinates: the coupling coordinate, then the free nuisances."""
        return (COUPLING_COORDINATE, *self.priors.free_names)

    @property
    def nuisance_names(self) -> tuple[str, ...]:
        return self.priors.free_names

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        coords = np.atleast_2d(coords)
        t = coords[:, 0]
        nuisances = dict(zip(self.nuisance_names, coords[:, 1:].T, strict=True))
        log_prior = self.log_prior(t, nuisances)
        inside = np.isfinite(log_prior)
        if inside.all():
            g = self.coupling_prior.g_from_coordinate(t, self.g_max)
            return log_prior + self.log_likelihood(g, nuisances)
        result = np.full(t.shape, -np.inf)
        if inside.any():
            g = self.coupling_prior.g_from_coordinate(t[inside], self.g_max)
            params = {name: value[inside] for name, value in nuisances.items()}
            result[inside] = log_prior[inside] + self.log_likelihood(g, params)
        return result

    def log_prior(self, t: np.ndarray, nuisances: Mapping[str, np.ndarray]) -> np.ndarray:
        """Log prior of the coupling coordinate t (flat) and the free nuisances."""
        low, high = self.coupling_prior.coordinate_bounds(self.g_max)
        return np.where((t >= low) & (t <= high), 0.0, -np.inf) + self.priors.log_density(
            nuisances)

    def parameters(self, nuisances: Mapping[str, np.ndarray]) -> dict:
        """Free nuisances completed with the fixed values of the prior set."""
        return {**self.priors.fixed_values, **nuisances}

    def log_likelihood(self, g, nuisances: Mapping[str, np.ndarray]) -> np.ndarray:
        """Sum of the measurement log-likelihoods at couplings g and free nuisances."""
        params = self.parameters(nuisances)
        cache: dict[float, np.ndarray] = {}

        def probabilities(line: str) -> np.ndarray:
            """P_ea at the line energy with shape (3, *g.shape), computed once per energy."""
            energy = BE7_LINES[line].energy_MeV
            if energy not in cache:
                value = self.flavour.probabilities(params, energy)
                missing = (1,) * (1 + np.ndim(g) - value.ndim)
                cache[energy] = np.broadcast_to(value.reshape((3, *missing, *value.shape[1:])),
                                                (3, *np.shape(g)))
            return cache[energy]

        coupling = coupling_product_MeV2(g, self.model)
        paired = {i for c in self.correlations for i in (c.first, c.second)}
        rates = {}
        total = np.zeros(np.shape(g))
        for i, (measurement, kernels) in enumerate(zip(self.measurements, self.kernels,
                                                        strict=True)):
            if isinstance(measurement, SurvivalProbabilityMeasurement):
                total = total + measurement.log_likelihood(probabilities(measurement.line)[0])
                continue
            p = np.stack([probabilities(line) for line in measurement.lines])
            rate_sm, rates[i], _ = kernels.rate_cpd100t(params[FLUX], p, coupling,
                                                        self.interference)
            if i not in paired:
                total = total + measurement.log_likelihood(rates[i], rate_sm)
        for c in self.correlations:
            total = total + c.log_likelihood(self.measurements[c.first], rates[c.first],
                                             self.measurements[c.second], rates[c.second])
        return total

    def profile_objective(self, g: float, nuisance_rows: np.ndarray) -> np.ndarray:
        """-2 ln [L(D | g, nu) pi(nu)] for each row of nuisances (n, n_nuisances).

        The nuisance priors act as constraint terms of the profile likelihood.
        """
        rows = np.atleast_2d(nuisance_rows)
        nuisances = dict(zip(self.nuisance_names, rows.T, strict=True))
        value = self.priors.log_density(nuisances) + self.log_likelihood(
            np.full(rows.shape[0], g), nuisances)
        return -2.0 * value


def sampled_priors(priors: PriorSet, flavour: FlavourModel) -> PriorSet:
    """The priors of what the posterior reads: the flavour model's parameters and the flux."""
    return priors.restricted_to((*flavour.parameters, FLUX))
