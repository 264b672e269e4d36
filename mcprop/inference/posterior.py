"""The posterior p(x, nu | D) over a grid of points, vectorised over walkers.

Built on precomputed kernels: an evaluation is array arithmetic on the samples, with no
quadrature. The posterior is one likelihood (every measurement kind, correlated systematics,
the survival-probability term) and a pluggable new-physics part (:class:`NewPhysics`): its
sampled coordinates x, their prior, the walkers' start, the rate of each rate measurement
and the quantities limits are reported on. :class:`ZPrime` is the Z' at each mass of a grid
(the coupling is sampled through a coordinate t in which its prior is flat: t = (g/g_max)^p
for a prior flat in g^p, t = ln(g/g_max) for the log-flat prior, so the prior choice is
explicit and recorded); :class:`mcprop.inference.moments.MagneticMoments` are neutrino
magnetic moments, one posterior (a one-point grid).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from mcprop.inference.measurements import (
    Measurement,
    SurvivalProbabilityMeasurement,
    SystematicCorrelation,
)
from mcprop.inference.priors import PriorSet
from mcprop.inference.spectrum import (
    SpectrumMeasurement,
    TemplateInputs,
    solar_count_terms,
    template_inputs,
)
from mcprop.physics.flavour import FlavourModel, msw_probabilities, zprime_potential_ratios
from mcprop.physics.kernels import RateKernels, contract
from mcprop.physics.parameters import BE7_FLUX
from mcprop.physics.scattering import (
    LMU_LTAU,
    U1Model,
    coupling_from_product,
    coupling_product_MeV2,
)
from mcprop.physics.solar import BE7_LINES
from mcprop.physics.spectral import SpectralTemplates

#: Name of the sampled parameter that carries the Z' flux normalisation (the registry's).
FLUX = BE7_FLUX
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


class NewPhysics(Protocol):
    """The new-physics part of a posterior over a grid of points (Z' masses; one point for a
    run without masses).

    ``x`` are the sampled new-physics coordinates, shape (n, k) (``names`` in order) or
    (..., k) for stored draws; ``point`` the grid point of each row, shape (n,).
    """

    #: Names of the sampled new-physics coordinates (the first columns of a walker).
    names: tuple[str, ...]
    #: What is reported of each quantity: ``upper`` (a credible upper limit, converged when
    #: its MC error is small) or ``interval`` (median and 68% interval, converged on ESS).
    summary: str
    #: Per measurement: RateKernels, SpectralTemplates, MagneticKernels or None.
    kernels: tuple

    @property
    def n_points(self) -> int:
        """Points of the grid."""

    def label(self, point: int) -> str:
        """The grid point in words, for messages ('m = 10 MeV')."""

    def log_prior(self, x: np.ndarray, point: np.ndarray) -> np.ndarray:
        """Log prior of x (n,): flat inside the bounds, -inf outside."""

    def start(self, rng: np.random.Generator, n: int, point: int,
              np_fraction: float) -> np.ndarray:
        """n walker starts (n, k) inside the bounds, where the new physics adds at most
        ``np_fraction`` of the SM window rate at central inputs."""

    def values(self, x: np.ndarray, point: np.ndarray):
        """What the likelihood reads: the physical new-physics values of the rows."""

    def batch_shape(self, values) -> tuple[int, ...]:
        """The sample shape of ``values``."""

    def probabilities(self, flavour: FlavourModel, params: Mapping[str, np.ndarray],
                      energy_MeV: float, values, point: np.ndarray) -> np.ndarray:
        """P_ee, P_emu, P_etau (3, ...) at a line energy."""

    def rate(self, measurement: int, flux_cm2s, probabilities, values,
             point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(SM rate, rate with the new physics) [cpd/100t] of rate measurement
        ``measurement``; ``probabilities`` (n_lines, 3, ...)."""

    def counts(self, measurement: int, inputs: TemplateInputs, values,
               point: np.ndarray) -> np.ndarray:
        """Expected counts (n, n_bins) of spectrum measurement ``measurement`` with the new
        physics."""

    def components(self, measurement: int, inputs: TemplateInputs, values,
                   point: int) -> dict[str, np.ndarray]:
        """Expected counts (n, n_bins) of each solar source group (with the new physics)
        and background of spectrum measurement ``measurement``, all rows at grid point
        ``point``."""

    def quantities(self, x: np.ndarray, params: Mapping[str, np.ndarray],
                   probability: Callable[[float, str | None], np.ndarray],
                   point: int) -> dict[str, np.ndarray]:
        """The reported quantities of n stored draws x (n, k), each (n,) ({"g": ...} for
        the Z'; moments in mu_B for magnetic moments); ``params`` every parameter by name,
        ``probability(energy_MeV, source)`` P_ea (3, n) of the draws."""


@dataclass(frozen=True)
class ZPrime:
    """The Z' at each mass of a grid: the coupling g, sampled through the coordinate t of
    ``coupling_prior``, with kernels per mass for every rate measurement.

    Build it with :meth:`build`, which fixes the reference window counts at central inputs
    that set g_max(m) and the walkers' start.

    Attributes
    ----------
    masses_MeV : array
        The Z' masses [MeV].
    coupling_prior : CouplingPrior
    kernels : tuple
        RateKernels (rates) or SpectralTemplates (spectra) over the grid per measurement
        (None for a survival probability).
    reference : tuple of arrays (n_masses,)
        SM, linear and quadratic window kernels of the first rate measurement contracted
        with P_ea at central inputs, or the solar counts of the first spectrum measurement
        summed over its bins (C^2 Q + C L = fraction x SM gives the coupling at which the Z'
        changes the window counts by that fraction).
    interference : bool
    model : U1Model
    matter_potential : bool
        The Z' potential in the Sun enters MSW (docs/physics.md sec. 9).
    """

    masses_MeV: np.ndarray
    coupling_prior: CouplingPrior
    kernels: tuple[RateKernels | None, ...]
    reference: tuple[np.ndarray, np.ndarray, np.ndarray]
    interference: bool = True
    model: U1Model = LMU_LTAU
    matter_potential: bool = False

    names = (COUPLING_COORDINATE,)
    summary = "upper"

    @classmethod
    def build(cls, masses_MeV: np.ndarray, coupling_prior: CouplingPrior,
              kernels: tuple[RateKernels | SpectralTemplates | None, ...],
              measurements: tuple[Measurement, ...],
              central_probability: Callable[[float, str | None], np.ndarray],
              centres: Mapping[str, float], interference: bool = True,
              model: U1Model = LMU_LTAU, matter_potential: bool = False) -> "ZPrime":
        """The Z' of a grid, with its reference counts at the prior centres ``centres``
        (``central_probability(energy_MeV, source)``: P_ea (3,) there; source None for a
        7Be line of a rate measurement).

        Raises
        ------
        ValueError
            If the log-flat floor is not below g_max at every mass
            (``coupling_prior.floor_g: ...``).
        """
        index, grid = next((i, k) for i, k in enumerate(kernels) if k is not None)
        masses = np.arange(len(masses_MeV))
        if isinstance(grid, SpectralTemplates):
            reference = solar_count_terms(grid, masses, centres, central_probability)
        else:
            at_masses = grid.at_mass(masses)
            p = np.stack([central_probability(BE7_LINES[name].energy_MeV, None)
                          for name in measurements[index].lines])[..., None]
            reference = tuple(contract(k, p) for k in
                              (at_masses.sm_window, at_masses.linear, at_masses.quadratic))
        zprime = cls(np.asarray(masses_MeV, dtype=float), coupling_prior, tuple(kernels),
                     reference, interference, model, matter_potential)
        try:
            coupling_prior.check_floor(zprime.g_max, zprime.masses_MeV)
        except ValueError as exc:
            raise ValueError(f"coupling_prior.floor_g: {exc}") from None
        return zprime

    @property
    def n_points(self) -> int:
        return len(self.masses_MeV)

    def label(self, point: int) -> str:
        return f"m = {self.masses_MeV[point]:g} MeV"

    @cached_property
    def g_max(self) -> np.ndarray:
        """Upper bound of g at each grid mass (``coupling_prior.upper_np_fraction``)."""
        return self.coupling_at_np_fraction(self.coupling_prior.upper_np_fraction)

    def coupling_at_np_fraction(self, np_fraction: float, points=slice(None)) -> np.ndarray:
        """The g at each grid mass (of ``points``) at which the Z' changes the window counts
        of the first rate measurement by ``np_fraction`` at central inputs, counting the
        interference term with its size: C^2 Q + C |L| = np_fraction x SM."""
        sm, linear, quadratic = (np.atleast_1d(term[points])
                                 for term in np.broadcast_arrays(*self.reference))
        linear = np.abs(linear) if self.interference else 0.0
        coupling = (-linear + np.sqrt(linear**2 + 4 * quadratic * np_fraction * sm)) / (
            2 * quadratic)
        return np.array([coupling_from_product(c, self.model) for c in coupling])

    def coupling(self, t, point) -> np.ndarray:
        """g from the sampled coordinate t at grid masses ``point`` (broadcast)."""
        return self.coupling_prior.g_from_coordinate(t, self.g_max[point])

    def log_prior(self, x: np.ndarray, point) -> np.ndarray:
        low, high = self.coupling_prior.coordinate_bounds(self.g_max[point])
        t = x[:, 0]
        return np.where((t >= low) & (t <= high), 0.0, -np.inf)

    def start(self, rng: np.random.Generator, n: int, point: int,
              np_fraction: float) -> np.ndarray:
        """t uniform from its lower bound up to where the Z' adds ``np_fraction``."""
        g_max = self.g_max[point]
        low, _ = self.coupling_prior.coordinate_bounds(g_max)
        g_start = self.coupling_at_np_fraction(np_fraction, point)[0]
        high = float(self.coupling_prior.coordinate_from_g(g_start, g_max))
        return rng.uniform(low, high, n)[:, None]

    def values(self, x: np.ndarray, point) -> np.ndarray:
        """The couplings g (n,)."""
        return self.coupling(x[:, 0], point)

    def batch_shape(self, g) -> tuple[int, ...]:
        return np.shape(g)

    def probabilities(self, flavour: FlavourModel, params, energy_MeV: float, g,
                      point) -> np.ndarray:
        if self.matter_potential:  # the Z' potential changes MSW (docs sec. 9)
            ratios = zprime_potential_ratios(self.model, g, self.masses_MeV[point])
            return msw_probabilities(params, energy_MeV, flavour.profile, ratios)
        return flavour.probabilities(params, energy_MeV)

    def rate(self, measurement: int, flux_cm2s, probabilities, g, point):
        rate_sm, rate, _ = self.kernels[measurement].at_mass(point).rate_cpd100t(
            flux_cm2s, probabilities, coupling_product_MeV2(g, self.model), self.interference)
        return rate_sm, rate

    def counts(self, measurement: int, inputs: TemplateInputs, g, point) -> np.ndarray:
        """Expected counts (n, n_bins): the templates of each grid mass for its rows."""
        templates = self.kernels[measurement]
        coupling = np.asarray(coupling_product_MeV2(g, self.model), dtype=float)
        point = np.broadcast_to(point, coupling.shape)
        out = np.empty(coupling.shape + (templates.n_bins,))
        for mass in np.unique(point):
            rows = point == mass
            out[rows] = inputs.counts(templates, int(mass), coupling[rows], self.interference,
                                      rows)
        return out

    def components(self, measurement: int, inputs: TemplateInputs, g,
                   point: int) -> dict[str, np.ndarray]:
        return self.kernels[measurement].component_counts(
            point, inputs.fluxes_cm2s, inputs.probabilities,
            np.asarray(coupling_product_MeV2(g, self.model), dtype=float),
            inputs.background_norms, inputs.response_shifts, self.interference)

    def quantities(self, x: np.ndarray, params, probability, point: int) -> dict[str, np.ndarray]:
        return {"g": self.coupling(x[..., 0], point)}


@dataclass(frozen=True)
class ScanPosterior:
    """log p(x, nu | D) up to a constant at every point of a grid, vectorised over walkers.

    Each row of ``coords`` (n, n_dim) holds the new-physics coordinates x, then the free
    nuisances, and belongs to the grid point ``point[row]`` (a Z' mass): the kernels of that
    point are gathered per row, so one call evaluates walkers of many points.

    >>> log_prob = posterior(coords, point)          # doctest: +SKIP
    """

    priors: PriorSet
    flavour: FlavourModel
    measurements: tuple[Measurement, ...]
    new_physics: NewPhysics
    correlations: tuple[SystematicCorrelation, ...] = ()
    source_flavours: Mapping[str, FlavourModel] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Sampled coordinates: the new-physics coordinates, then the free nuisances."""
        return (*self.new_physics.names, *self.priors.free_names)

    @property
    def nuisance_names(self) -> tuple[str, ...]:
        return self.priors.free_names

    def _split(self, coords: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """New-physics coordinates (..., k) and the nuisances by name."""
        k = len(self.new_physics.names)
        return coords[..., :k], dict(zip(self.nuisance_names, np.moveaxis(coords[..., k:], -1, 0),
                                         strict=True))

    def __call__(self, coords: np.ndarray, point) -> np.ndarray:
        coords = np.atleast_2d(coords)
        if np.ndim(point) == 0:
            point = np.full(len(coords), point)
        x, nuisances = self._split(coords)
        log_prior = (self.new_physics.log_prior(x, point)
                     + self.priors.log_density_of_rows(coords[:, x.shape[1]:].T))
        inside = np.isfinite(log_prior)
        if inside.all():
            return log_prior + self.log_likelihood(self.new_physics.values(x, point),
                                                   nuisances, point)
        result = np.full(coords.shape[:1], -np.inf)
        if inside.any():
            params = {name: value[inside] for name, value in nuisances.items()}
            result[inside] = log_prior[inside] + self.log_likelihood(
                self.new_physics.values(x[inside], point[inside]), params, point[inside])
        return result

    def start(self, rng: np.random.Generator, n: int, point: int,
              np_fraction: float) -> np.ndarray:
        """n walker starts (n, n_dim): the new physics from :meth:`NewPhysics.start`, then the
        nuisances from their priors."""
        x = self.new_physics.start(rng, n, point, np_fraction)
        draws = self.priors.sample(rng, n)
        return np.column_stack([x, *(draws[name] for name in self.nuisance_names)])

    def quantities(self, coords: np.ndarray, point: int) -> dict[str, np.ndarray]:
        """The reported quantities of stored coordinates (..., n_dim) at one grid point,
        each of shape coords.shape[:-1]."""
        flat = np.reshape(coords, (-1, coords.shape[-1]))
        x, nuisances = self._split(flat)
        index = np.full(len(flat), point)
        values = self.new_physics.values(x, index)
        params = self.parameters(nuisances)
        probability = self._probabilities(params, values, index,
                                          self.new_physics.batch_shape(values))
        out = self.new_physics.quantities(x, params, probability, point)
        return {name: np.reshape(value, coords.shape[:-1]) for name, value in out.items()}

    def parameters(self, nuisances: Mapping[str, np.ndarray]) -> dict:
        """Free nuisances completed with the fixed values of the prior set."""
        return {**self.priors.fixed_values, **nuisances}

    def flavour_of(self, source: str | None) -> FlavourModel:
        """The flavour model of a spectral source (its MSW production profile, if the run
        has per-source models); the run's flavour model otherwise and for the 7Be lines of
        rate measurements (``source`` None)."""
        return self.source_flavours.get(source, self.flavour)

    def log_likelihood(self, values, nuisances: Mapping[str, np.ndarray],
                       point) -> np.ndarray:
        """Sum of the measurement log-likelihoods at the new-physics ``values`` of
        :meth:`NewPhysics.values` (g (n,) for the Z'), free nuisances and grid points
        ``point`` (n,)."""
        return self.data_log_likelihood(self.predictions(values, nuisances, point))

    def predictions(self, values, nuisances: Mapping[str, np.ndarray], point) -> list:
        """What each measurement compares with its data, per row: P_ee at its line (a
        survival probability), (SM rate, rate) [cpd/100t] (a rate or relative rate), the
        expected counts (n, n_bins) (a spectrum)."""
        params = self.parameters(nuisances)
        shape = self.new_physics.batch_shape(values)
        probability = self._probabilities(params, values, point, shape)
        out = []
        for i, measurement in enumerate(self.measurements):
            if isinstance(measurement, SurvivalProbabilityMeasurement):
                out.append(probability(BE7_LINES[measurement.line].energy_MeV, None)[0])
            elif isinstance(measurement, SpectrumMeasurement):
                out.append(self._counts(i, params, probability, values, point, shape))
            else:
                p = np.stack([probability(BE7_LINES[line].energy_MeV, None)
                              for line in measurement.lines])
                out.append(self.new_physics.rate(i, params[FLUX], p, values, point))
        return out

    def data_log_likelihood(self, predictions: list,
                            measurements: tuple[Measurement, ...] | None = None) -> np.ndarray:
        """Sum of the log-likelihoods of ``predictions`` (:meth:`predictions`) given the
        data of ``measurements`` (the run's own by default; pseudo-data: the same
        measurements with other values, which may be arrays broadcasting against the
        rows)."""
        measurements = self.measurements if measurements is None else measurements
        paired = self._correlated_measurements
        total = 0.0
        for i, (measurement, prediction) in enumerate(zip(measurements, predictions,
                                                          strict=True)):
            if isinstance(measurement, SurvivalProbabilityMeasurement | SpectrumMeasurement):
                total = total + measurement.log_likelihood(prediction)
            elif i not in paired:
                total = total + measurement.log_likelihood(prediction[1], prediction[0])
        for c in self.correlations:
            total = total + c.log_likelihood(measurements[c.first], predictions[c.first][1],
                                             measurements[c.second], predictions[c.second][1])
        return total

    @cached_property
    def _correlated_measurements(self) -> set[int]:
        """Indices of the rate measurements whose likelihood is a correlated pair's."""
        return {i for c in self.correlations for i in (c.first, c.second)}

    def _probabilities(self, params, values, point, shape):
        """probability(energy_MeV, source) -> P_ea (3, n) of the samples, each computed
        once per energy and flavour model."""
        cache: dict[tuple[float, str | None], np.ndarray] = {}

        def probability(energy: float, source: str | None) -> np.ndarray:
            key = (energy, source if source in self.source_flavours else None)
            if key not in cache:
                value = self.new_physics.probabilities(self.flavour_of(source), params,
                                                       energy, values, point)
                if value.shape[1:] != shape:  # parameters fixed or shared by all rows
                    value = np.broadcast_to(value.reshape(3, -1), (3, *shape))
                cache[key] = value
            return cache[key]

        return probability

    def _counts(self, measurement: int, params, probability, values, point, shape):
        templates = self.new_physics.kernels[measurement]
        inputs = template_inputs(templates, params, probability, shape)
        return self.new_physics.counts(measurement, inputs, values, point)

    def spectrum_inputs(self, coords: np.ndarray, point):
        """New-physics values, grid points and TemplateInputs of every spectrum measurement
        (by index) at sampled coordinates ``coords`` (n, n_dim)."""
        coords = np.atleast_2d(coords)
        point = np.broadcast_to(point, coords.shape[:1])
        x, nuisances = self._split(coords)
        values = self.new_physics.values(x, point)
        params = self.parameters(nuisances)
        shape = self.new_physics.batch_shape(values)
        probability = self._probabilities(params, values, point, shape)
        inputs = {i: template_inputs(self.new_physics.kernels[i], params, probability, shape)
                  for i, m in enumerate(self.measurements) if isinstance(m, SpectrumMeasurement)}
        return values, point, inputs

    def expected_counts(self, coords: np.ndarray, point) -> dict[str, np.ndarray]:
        """Expected counts (n, n_bins) of every spectrum measurement (by name) at sampled
        coordinates ``coords`` (n, n_dim) of grid points ``point``."""
        values, point, inputs = self.spectrum_inputs(coords, point)
        return {self.measurements[i].name: self.new_physics.counts(i, x, values, point)
                for i, x in inputs.items()}

    def components(self, coords: np.ndarray, point: int) -> dict[str, dict[str, np.ndarray]]:
        """Expected counts (n, n_bins) of each solar source group (with the new physics) and
        background, per spectrum measurement (by name), at sampled coordinates (n, n_dim) of
        grid point ``point``."""
        values, _, inputs = self.spectrum_inputs(coords, point)
        return {self.measurements[i].name: self.new_physics.components(i, x, values, point)
                for i, x in inputs.items()}

    def profile_objective(self, point, g, nuisance_rows: np.ndarray) -> np.ndarray:
        """-2 ln [L(D | g, nu) pi(nu)] at grid point ``point`` and new-physics values ``g``
        (what :meth:`NewPhysics.values` gives: a Z' coupling, a scalar or one per row (n,);
        the squared moments of magnetic moments, (n, k)) for each row of nuisances
        (n, n_nuisances). The nuisance priors act as constraint terms of the profile
        likelihood."""
        rows = np.atleast_2d(nuisance_rows)
        nuisances = dict(zip(self.nuisance_names, rows.T, strict=True))
        index = np.broadcast_to(point, rows.shape[:1])
        prior = self.priors.log_density(nuisances)
        g = np.asarray(g, dtype=float)
        with np.errstate(all="ignore"):  # outside the priors' domains: -inf, never NaN
            value = prior + self.log_likelihood(np.broadcast_to(g, rows.shape[:1] + g.shape[1:]),
                                                nuisances, index)
        value = np.where(np.isfinite(prior) & ~np.isnan(value), value, -np.inf)
        return -2.0 * value


def sampled_priors(priors: PriorSet, flavour: FlavourModel,
                   measurements: tuple[Measurement, ...] = ()) -> PriorSet:
    """The priors of what the posterior reads: the flavour model's parameters, the 7Be flux
    and the parameters of the spectrum measurements (fluxes, backgrounds, response)."""
    spectral = [name for m in measurements if isinstance(m, SpectrumMeasurement)
                for name in m.parameters]
    return priors.restricted_to(tuple(dict.fromkeys((*flavour.parameters, FLUX, *spectral))))
