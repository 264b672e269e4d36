"""Expected limits under the Standard Model, and the coverage of limits, from
pseudo-experiments.

A pseudo-experiment (toy) replaces the value of every measurement of a run by a draw around
what the model predicts for a chosen truth: the Standard Model (g = 0) for expected limits,
a Z' at (m, g) for coverage. Each pseudo-measurement is drawn from the measurement's own
likelihood read as a density of its value (:func:`draw_values`): a rate with errors
+sigma_plus -sigma_minus is a two-piece normal around the prediction, sigma_plus below it
and sigma_minus above it (the side on which the likelihood uses each), so that the
likelihood of the toy is the one the run uses; a spectrum's counts are Poisson in each bin.
The nuisances of the truth are ``prior-draws`` (each toy draws them from the run's priors:
the pseudo-data spread by the measurement errors and by the prior uncertainty of the
prediction, the prior-predictive distribution), ``prior-centres`` (every toy at the prior
centres: the spread of the measurement errors alone) or ``best-fit`` (every toy at the
constrained fit of the observed data with the truth's Z' held fixed, as pyhf's toys). The
priors themselves are not varied: they are part of the analysis, as the constraint terms
of the profile likelihood are.

A spectrum's toys get the profile-likelihood limit instead (:func:`profile_band`: a
credible limit per pseudo-spectrum would need a Markov chain each): Poisson counts around
the expected counts of the truth, every (toy, coupling) profile fit in one batch of damped
Newton fits (:func:`profile_limits`), and the Asimov limit that of the expected counts
themselves. So do independent moments (rates or a spectrum; their marginal credible limits
need the joint posterior of three moments): the profile limit of each, the other two
profiled as bounded nuisances in the same fits.

The credible limit of a toy is computed without a Markov chain (:class:`GridPosterior`):
the posterior of the one new-physics coordinate t (in which the prior on g is flat) is
p(t | d) ~ mean_j L(d | t, nu_j) over prior draws nu_j of the nuisances, on a grid in t,
integrated by the trapezoid rule; the limit is the credibility quantile of that
distribution. The predictions on the grid are computed once per mass; each toy costs one
evaluation of its likelihood on them, so hundreds of toys cost less than sampling the
observed data. The Asimov limit is the same limit for data equal to the prediction at the
prior centres. The coverage (:func:`coverage`) of a Z' at (m, g) counts the toys whose
credible limit (rate analyses) and profile-likelihood limit (one fit per toy; a spectrum's
only limit here) lie at or above g.

Random numbers: the truth nuisances of toy j come from SeedSequence(seed, spawn_key=(
TOY_STREAM, 0, j)), its measurement noise from the counter-based stream of
:mod:`mcprop.inference.random` keyed by SeedSequence(seed, spawn_key=(TOY_STREAM, 1, j)),
the integration draws from SeedSequence(seed, spawn_key=(TOY_STREAM, 2)) (the same for
every mass): a toy is the same at every mass, with any number of workers and after a
resume, and its pseudo-data do not depend on the number of toys.
"""

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy.stats import norm, poisson

from mcprop.inference.limits import (
    OUTSIDE,
    NuisanceCoordinates,
    minimise,
    profile_fit,
    profile_likelihood_limit,
    scanned_parameter,
)
from mcprop.inference.measurements import (
    RateMeasurement,
    RelativeRateMeasurement,
    SurvivalProbabilityMeasurement,
)
from mcprop.inference.moments import EFFECTIVE, MagneticMoments, scheme_parameters
from mcprop.inference.posterior import ScanPosterior, ZPrime
from mcprop.inference.random import uniforms
from mcprop.inference.results import PROFILE, band_statistic
from mcprop.inference.spectrum import SpectrumMeasurement
from mcprop.physics.magnetic_moment import MOMENT_UNIT_MUB

#: How the nuisances of a pseudo-experiment's truth are chosen.
DRAW_MODES = ("prior-draws", "prior-centres", "best-fit")
#: The band of expected limits: quantiles of the toys' limits (median, central 68% and 95%).
BAND_QUANTILES = {"median": 0.5, "lo68": float(norm.cdf(-1)), "hi68": float(norm.cdf(1)),
                  "lo95": float(norm.cdf(-2)), "hi95": float(norm.cdf(2))}
#: First entry of the spawn keys of every pseudo-experiment stream: far above any grid
#: index, so no toy shares numbers with the chains (spawn keys (mass, ensemble, ...)).
TOY_STREAM = 2**32 + 21
#: Prior draws of the nuisances per grid integral, and points of the grid in t.
N_NUISANCE_DRAWS = 1024
N_COORDINATE_POINTS = 160
#: Points of the coarse grid over the whole prior range that finds the end of the support,
#: and how far below its maximum [ln] a marginal likelihood counts as no posterior.
COARSE_POINTS = 48
LOG_TAIL = 25.0
#: The reported name of the universal moment (its mu_eff is the moment itself).
UNIVERSAL = "mu_universal"
#: Prior draws and grid points of a one-moment run: a moment limit is the square root of a
#: rate (a Z' coupling the fourth root), so its integral needs more draws for the same
#: precision (0.55% against 1.3% with 1024 draws for the Phase-II universal moment); one
#: posterior, so they cost little.
MOMENT_NUISANCE_DRAWS = 4096
MOMENT_COORDINATE_POINTS = 160
#: The grid in t of a prior flat in g^p starts (after t = 0) at this fraction of the bound.
COORDINATE_FLOOR = 1e-6
#: Counter offset of the Poisson counts of a spectrum (per measurement index + 1).
SPECTRUM_COUNTERS = np.uint64(2**20)
#: Pseudo-data sets evaluated at once (bounds the memory: sets x grid points x draws).
CHUNK = 16
#: The profile limits of many data sets at once (:func:`profile_limits`): g = 0 and
#: PROFILE_GRID couplings log-spaced over PROFILE_SPAN x a scale (the Asimov limit; the
#: Asimov limit itself from ASIMOV_GRID couplings over ASIMOV_SPAN x g_max). Then, per data
#: set and round, the crossing's bracket gets the linear-interpolation estimate g* and
#: g* (1 -+ PROFILE_STEP), and the midpoints between those and the bracket's ends (until
#: the bracket is below PROFILE_CROSSING_RTOL of g: the interpolation is then good to
#: ~1e-4), and the minimum's brackets PROFILE_REFINE points
#: each while it is wider than PROFILE_MINIMUM_RTOL of g* and a neighbour of the lowest
#: point lies more than PROFILE_MINIMUM_DQ above it (the limit moves by ~1e-3 of g per 0.01).
PROFILE_GRID = 6
PROFILE_SPAN = (0.5, 2.0)
PROFILE_STEP = 0.01
PROFILE_CROSSING_RTOL = 0.025
PROFILE_REFINE = 3
PROFILE_MINIMUM_DQ = 0.01
PROFILE_MINIMUM_RTOL = 0.05
PROFILE_MAX_ROUNDS = 30
#: Each fit stops when Newton predicts a decrease of -2 ln L below this (1e-10 in
#: :mod:`~mcprop.inference.limits`; at 1e-4 a limit moves by ~1e-5 of itself).
PROFILE_DECREMENT = 1e-4
ASIMOV_GRID = 13
ASIMOV_SPAN = (1e-4, 1.0)
#: The profiled moments of a run with several start at this fraction of their prior bound
#: (inside: at the bound 0 the Box coordinates have zero slope, and Newton no direction),
#: their width (a unit of the fit's coordinate) this fraction of it. A moment's bound
#: adds 10x the SM counts, its limit a few per cent of them (mu^2 ~ 5e-3 of the bound).
OTHER_MOMENT_START = 1e-3
OTHER_MOMENT_WIDTH = 1e-2


@dataclass(frozen=True)
class ExpectedSettings:
    """``[expected]`` of a run: ``n_toys`` pseudo-experiments (0: none) under the Standard
    Model, their truth nuisances drawn as ``draw`` (one of DRAW_MODES)."""

    n_toys: int = 0
    draw: str = "prior-draws"

    def __post_init__(self):
        if isinstance(self.n_toys, bool) or not isinstance(self.n_toys, int) \
                or self.n_toys < 0:
            raise ValueError(f"n_toys must be an integer >= 0, got {self.n_toys!r}")
        if self.draw not in DRAW_MODES:
            raise ValueError(f"unknown draw mode {self.draw!r}; choose one of "
                             f"{', '.join(DRAW_MODES)}")


def check_supported(posterior: ScanPosterior) -> None:
    """ValueError unless pseudo-experiments of ``posterior`` can be made: a Z' or magnetic
    moments with rate, survival-probability and spectrum measurements."""
    if not isinstance(posterior.new_physics, ZPrime | MagneticMoments):
        raise ValueError("expected limits are computed for Z' runs and magnetic moments "
                         "(not for a Standard-Model fit)")
    for m in posterior.measurements:
        if isinstance(m, RelativeRateMeasurement):
            raise ValueError(f"{m.name!r} is a relative-rate measurement: its data equal the "
                             f"SM prediction by construction, so it has no value to vary")


def truth_nuisances(posterior: ScanPosterior, n_toys: int, draw: str, seed: int,
                    point: int = 0, g_true: float = 0.0) -> dict[str, np.ndarray]:
    """The free nuisances (n_toys,) of each toy's truth: the prior centres, one draw from
    the priors per toy (generator keyed by seed and toy), or the constrained fit of the
    observed data with the new physics of the truth held fixed (``best-fit``, the
    convention of pyhf's toys; a moment's truth is zero)."""
    names = posterior.nuisance_names
    if draw == "prior-centres":
        centres = posterior.priors.centres()
        return {name: np.full(n_toys, float(centres[name])) for name in names}
    if draw == "best-fit":
        _, fitted = profile_fit(posterior, point, g_true, moment=0)
        return {name: np.full(n_toys, value) for name, value in zip(names, fitted, strict=True)}
    draws = [posterior.priors.sample(np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(TOY_STREAM, 0, j))), 1) for j in range(n_toys)]
    return {name: np.array([float(d[name][0]) for d in draws]) for name in names}


def _two_piece(prediction, sigma_below, sigma_above, u):
    """The value d drawn (inverse CDF at uniforms u) from the density ~ exp(-(d - pred)^2 /
    2 sigma^2), sigma = sigma_below for d < pred and sigma_above for d > pred."""
    below = sigma_below / (sigma_below + sigma_above)
    z = np.where(u < below, norm.ppf(np.minimum(u, below) / (2 * below)) * sigma_below,
                 norm.ppf(0.5 + np.maximum(u - below, 0) / (2 * (1 - below))) * sigma_above)
    return prediction + z


def draw_values(posterior: ScanPosterior, predictions: list, seed: int, n_toys: int) -> list:
    """The pseudo-measured value (n_toys,) of each measurement around ``predictions``
    (:meth:`ScanPosterior.predictions` of the toys' truths).

    A rate d = R + e, e from the two-piece normal of its likelihood (sigma_plus below R,
    sigma_minus above it); P_ee likewise with its own errors. A pair with correlated
    systematics: independent stat errors, and systematic errors from a bivariate normal with
    the pair's correlation, each scaled by its syst_minus above R and syst_plus below it.
    A spectrum: Poisson counts in each bin around the expected counts (n_toys, n_bins).
    Noise of toy j: uniforms of the key of (seed, TOY_STREAM, 1, j) at counters 3 i, 3 i + 1,
    3 i + 2 of measurement i (of a spectrum: SPECTRUM_COUNTERS (i + 1) + bin).
    """
    keys = np.array([np.random.SeedSequence(seed, spawn_key=(TOY_STREAM, 1, j)).generate_state(
        1, np.uint64)[0] for j in range(n_toys)], dtype=np.uint64)

    def u(i, k):
        return np.clip(uniforms(keys, np.uint64(3 * i + k)), 1e-300, 1 - 1e-16)

    def poisson_counts(i, mu):  # counters of spectrum i: SPECTRUM_COUNTERS (i + 1) + bin
        counters = SPECTRUM_COUNTERS * (i + 1) + np.arange(mu.shape[-1], dtype=np.uint64)
        return poisson.ppf(np.clip(uniforms(keys[:, None], counters[None]), 0, 1 - 1e-16), mu)

    paired = {c.first: c for c in posterior.correlations}
    paired.update({c.second: c for c in posterior.correlations})
    values = []
    for i, (m, prediction) in enumerate(zip(posterior.measurements, predictions, strict=True)):
        if isinstance(m, SurvivalProbabilityMeasurement):
            values.append(_two_piece(prediction, m.sigma_plus, m.sigma_minus, u(i, 0)))
        elif isinstance(m, SpectrumMeasurement):
            values.append(poisson_counts(i, prediction))
        elif i in paired:
            c = paired[i]
            z_shared, z_own = norm.ppf(u(c.first, 2)), norm.ppf(u(i, 1))
            rho = c.coefficient
            z = z_shared if i == c.first else rho * z_shared + np.sqrt(1 - rho**2) * z_own
            syst = np.where(z > 0, m.syst_minus_cpd100t, m.syst_plus_cpd100t) * z
            values.append(prediction[1] + m.stat_cpd100t * norm.ppf(u(i, 0)) + syst)
        else:
            values.append(_two_piece(prediction[1], m.sigma_plus_cpd100t,
                                     m.sigma_minus_cpd100t, u(i, 0)))
    return values


def with_values(measurements: tuple, values: list) -> tuple:
    """The measurements with their measured values replaced (arrays allowed)."""
    out = []
    for m, value in zip(measurements, values, strict=True):
        if isinstance(m, RateMeasurement):
            out.append(replace(m, value_cpd100t=value))
        elif isinstance(m, SurvivalProbabilityMeasurement):
            out.append(replace(m, value=value))
        elif isinstance(m, SpectrumMeasurement):
            out.append(replace(m, counts=value))
        else:
            raise ValueError(f"{m.name!r}: no measured value to replace")
    return tuple(out)


def pseudo_data(posterior: ScanPosterior, n_toys: int, draw: str, seed: int, point: int = 0,
                g_true: float = 0.0) -> tuple:
    """The run's measurements with the values of ``n_toys`` toys, arrays (n_toys,): the
    truth is the Z' at grid mass ``point`` with coupling ``g_true`` (0: the Standard Model)
    and the nuisances of ``draw``."""
    check_supported(posterior)
    nuisances = truth_nuisances(posterior, n_toys, draw, seed)
    predictions = posterior.predictions(_truth(posterior, n_toys, g_true), nuisances,
                                        np.full(n_toys, point))
    return with_values(posterior.measurements, draw_values(posterior, predictions, seed,
                                                           n_toys))


def asimov_data(posterior: ScanPosterior, point: int = 0, g_true: float = 0.0) -> tuple:
    """The run's measurements with values equal to the prediction at the prior centres
    (arrays of one value): the Asimov data set."""
    check_supported(posterior)
    centres = posterior.priors.centres()
    nuisances = {name: np.array([float(centres[name])]) for name in posterior.nuisance_names}
    predictions = posterior.predictions(_truth(posterior, 1, g_true), nuisances,
                                        np.array([point]))
    values = [p if isinstance(m, SurvivalProbabilityMeasurement) else p[1]
              for m, p in zip(posterior.measurements, predictions, strict=True)]
    return with_values(posterior.measurements, values)


def _truth(posterior: ScanPosterior, n: int, g_true: float) -> np.ndarray:
    """The new-physics values of n toys' truth: the coupling g_true (a Z'), or no moments."""
    if isinstance(posterior.new_physics, ZPrime):
        return np.full(n, float(g_true))
    if g_true:
        raise ValueError("a magnetic-moment truth other than zero is not supported")
    return np.zeros((n, len(posterior.new_physics.names)))


@dataclass(frozen=True)
class GridPosterior:
    """The posterior of the coupling at one grid mass on a grid in its coordinate t (flat
    prior), the nuisances integrated over prior draws: a credible limit for any data of the
    run's measurements at the cost of one likelihood evaluation on the grid.

    The grid ends where the data sets with the extreme values (lowest and highest of each
    measurement) leave no posterior (their ln p(d | t) more than LOG_TAIL below its
    maximum, on a coarse grid over the whole prior range); a data set with posterior mass
    near that end is integrated again over the whole range.

    >>> grid = GridPosterior(posterior, 10, seed)               # doctest: +SKIP
    >>> grid.upper_limits(pseudo_data(posterior, 200, "prior-draws", seed), 0.9)
    """

    posterior: ScanPosterior
    point: int
    seed: int
    n_draws: int = N_NUISANCE_DRAWS
    n_points: int = N_COORDINATE_POINTS

    @cached_property
    def draws(self) -> dict[str, np.ndarray]:
        """The prior draws of the nuisances (the same at every mass)."""
        return self.posterior.priors.sample(np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(TOY_STREAM, 2))), self.n_draws)

    def coordinates(self, t_high: float | None = None, n_points: int | None = None
                    ) -> np.ndarray:
        """A grid in t up to ``t_high`` (the prior's bound if None): for a prior flat in
        g^p, 0 and log-spaced points from COORDINATE_FLOOR of the end up to it; for the
        log-flat prior, even in t = ln g."""
        new_physics = self.posterior.new_physics
        if isinstance(new_physics, MagneticMoments):  # flat in mu^2 on [0, upper]
            low, high, log_flat = 0.0, float(new_physics.upper[0]), False
        else:
            low, high = new_physics.coupling_prior.coordinate_bounds(
                new_physics.g_max[self.point])
            log_flat = new_physics.coupling_prior.power is None
        high = high if t_high is None else t_high
        n = n_points or self.n_points
        if log_flat:
            return np.linspace(float(np.squeeze(low)), high, n)
        return np.concatenate([[low], np.geomspace(COORDINATE_FLOOR * high, high, n - 1)])

    def predictions(self, t: np.ndarray) -> list:
        """The predictions at every (t, nu_j), rows t-major."""
        nuisances = {name: np.tile(self.draws[name], len(t))
                     for name in self.posterior.nuisance_names}
        rows = np.repeat(t, self.n_draws)
        point = np.full(rows.size, self.point)
        g = self.posterior.new_physics.values(rows[:, None], point)
        with np.errstate(all="ignore"):
            return self.posterior.predictions(g, nuisances, point)

    def log_marginal(self, t: np.ndarray, measurements: tuple,
                     predictions: list | None = None) -> np.ndarray:
        """ln p(d | t) up to a constant per data set, (n_sets, len(t)), for measurements
        whose values are arrays (n_sets,)."""
        predictions = self.predictions(t) if predictions is None else predictions
        n_sets = np.size(_value(measurements[0]))
        out = np.empty((n_sets, len(t)))
        for start in range(0, n_sets, CHUNK):
            rows = slice(start, min(start + CHUNK, n_sets))
            log_l = self._log_likelihood(measurements, rows, predictions, len(t))
            top = log_l.max(axis=2, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
            out[rows] = np.log(np.exp(log_l - top).mean(axis=2)) + top[..., 0]
        return out

    def _log_likelihood(self, measurements: tuple, rows: slice, predictions: list,
                        n_t: int) -> np.ndarray:
        """ln L of the data sets ``rows`` at every node, (n_rows, n_t, n_draws)."""
        chunk = with_values(measurements, [np.reshape(_value(m), -1)[rows, None]
                                           for m in measurements])
        with np.errstate(all="ignore"):
            log_l = self.posterior.data_log_likelihood(predictions, chunk)
        return np.where(np.isnan(log_l), -np.inf, log_l).reshape(-1, n_t, self.n_draws)

    def end_of_support(self, measurements: tuple) -> float:
        """The end of the grid: the first point of a coarse grid over the prior range above
        the last one where a data set with an extreme value keeps posterior."""
        values = [np.reshape(_value(m), -1) for m in measurements]
        probes = np.unique([i for v in values for i in (int(np.argmin(v)), int(np.argmax(v)))])
        coarse = self.coordinates(n_points=COARSE_POINTS)
        log_m = self.log_marginal(coarse, with_values(measurements, [v[probes] for v in values]))
        alive = np.any(log_m > log_m.max(axis=1, keepdims=True) - LOG_TAIL, axis=0)
        return float(coarse[min(int(np.flatnonzero(alive)[-1]) + 1, len(coarse) - 1)])

    def _grid_for(self, measurements: tuple) -> np.ndarray:
        """The grid in t for these data sets: up to the end of their support, or over the
        whole prior range if one of them has posterior mass near that end."""
        t = self.coordinates(self.end_of_support(measurements))
        log_m = self.log_marginal(t, measurements)
        if np.any(log_m[:, -1] > log_m.max(axis=1) - LOG_TAIL):
            return self.coordinates()
        return t

    def upper_limits(self, measurements: tuple, credibility: float) -> np.ndarray:
        """The credible upper limit on g (n_sets,) for each data set (of a Z')."""
        t = self._grid_for(measurements)
        t_limit = _quantiles(t, self.log_marginal(t, measurements), credibility)
        return self.posterior.new_physics.coupling(t_limit, self.point)

    def moment_limits(self, measurements: tuple, credibility: float
                      ) -> dict[str, np.ndarray]:
        """The credible upper limits [mu_B] (n_sets,) on the sampled moment of a one-moment
        run for each data set (and on mu_eff, the same moment, for the universal one)."""
        t = self._grid_for(measurements)
        (name,) = scheme_parameters(self.posterior.new_physics.scheme)
        limit = np.sqrt(_quantiles(t, self.log_marginal(t, measurements), credibility)) \
            * MOMENT_UNIT_MUB
        return {name: limit, EFFECTIVE: limit} if name == UNIVERSAL else {name: limit}


def _quantiles(t: np.ndarray, log_density: np.ndarray, q: float) -> np.ndarray:
    """The q quantile of each density (n_sets, len(t)) on the grid t (trapezoid rule)."""
    density = np.exp(log_density - log_density.max(axis=1, keepdims=True))
    cumulative = np.concatenate([np.zeros((len(density), 1)), np.cumsum(
        0.5 * (density[:, 1:] + density[:, :-1]) * np.diff(t), axis=1)], axis=1)
    cumulative /= cumulative[:, -1:]
    return np.array([np.interp(q, c, t) for c in cumulative])


def _value(m):
    return m.value_cpd100t if isinstance(m, RateMeasurement) else m.value


def expected_band(posterior: ScanPosterior, point: int, settings: ExpectedSettings, seed: int,
                  credibility: float, level: float) -> dict[str, float]:
    """The expected limits at grid mass ``point``: the quantiles BAND_QUANTILES of the
    limits of ``settings.n_toys`` Standard-Model toys (``g_expected_median``, ...) and the
    Asimov limit (``g_expected_asimov``); credible limits (``credibility``) for a rate
    analysis, profile-likelihood limits (-2 Delta ln L = ``level``, :func:`profile_band`)
    for a spectrum (:func:`statistic`)."""
    if is_spectral(posterior):
        toys, asimov = profile_band(posterior, point, settings, seed, level)
    else:
        grid = GridPosterior(posterior, point, seed,
                             N_NUISANCE_DRAWS if posterior.nuisance_names else 1)
        toys = grid.upper_limits(pseudo_data(posterior, settings.n_toys, settings.draw, seed),
                                 credibility)
        asimov = grid.upper_limits(asimov_data(posterior), credibility)[0]
    band = {f"g_expected_{name}": float(np.quantile(toys, q))
            for name, q in BAND_QUANTILES.items()}
    return {**band, "g_expected_asimov": float(asimov)}


def expected_moment_band(posterior: ScanPosterior, settings: ExpectedSettings, seed: int,
                         credibility: float, level: float) -> dict[str, dict[str, float]]:
    """The expected limits [mu_B] of a magnetic-moment run, per reported moment (each
    sampled one; mu_eff too when it is the universal moment): the quantiles BAND_QUANTILES
    of the limits of ``settings.n_toys`` Standard-Model toys (``upper_expected_median_muB``,
    ...) and the Asimov limit (``upper_expected_asimov_muB``); credible limits (one moment,
    rates) or profile-likelihood limits (a spectrum, or several moments: each with the
    others profiled, :func:`statistic`)."""
    if statistic(posterior) == PROFILE:
        names = scheme_parameters(posterior.new_physics.scheme)
        toys, asimov = {}, {}
        for j, name in enumerate(names):
            limits, limit = profile_band(posterior, 0, settings, seed, level, moment=j)
            toys[name] = np.sqrt(limits) * MOMENT_UNIT_MUB
            asimov[name] = np.sqrt([limit]) * MOMENT_UNIT_MUB
        if names == (UNIVERSAL,):
            toys[EFFECTIVE], asimov[EFFECTIVE] = toys[UNIVERSAL], asimov[UNIVERSAL]
    else:
        grid = GridPosterior(posterior, 0, seed, MOMENT_NUISANCE_DRAWS
                             if posterior.nuisance_names else 1, MOMENT_COORDINATE_POINTS)
        toys = grid.moment_limits(pseudo_data(posterior, settings.n_toys, settings.draw,
                                              seed), credibility)
        asimov = grid.moment_limits(asimov_data(posterior), credibility)
    return {name: {**{f"upper_expected_{q_name}_muB": float(np.quantile(limits, q))
                      for q_name, q in BAND_QUANTILES.items()},
                   "upper_expected_asimov_muB": float(asimov[name][0])}
            for name, limits in toys.items()}


def is_spectral(posterior: ScanPosterior) -> bool:
    """Whether the run has a spectrum: its toys get the profile-likelihood limit."""
    return any(isinstance(m, SpectrumMeasurement) for m in posterior.measurements)


def statistic(posterior: ScanPosterior) -> str:
    """The limit whose expected band a run reports (:func:`band_statistic`)."""
    physics = posterior.new_physics
    return band_statistic(is_spectral(posterior), isinstance(physics, MagneticMoments)
                          and len(physics.names) > 1)


def profile_limits(posterior: ScanPosterior, point: int, values: list, level: float,
                   start: np.ndarray, couplings: np.ndarray, moment: int | None = None
                   ) -> np.ndarray:
    """The profile-likelihood upper limits (n_sets,) at grid mass ``point`` of the data sets
    ``values`` (per measurement, arrays with a leading axis n_sets; a spectrum's counts
    (n_sets, n_bins), not necessarily integers: Asimov data), all fitted together.

    The same statistic as :func:`~mcprop.inference.limits.profile_likelihood_limit` (the
    largest g >= 0 where -2 Delta ln L is below ``level``; the nuisances profiled with
    their priors as constraint terms; g_max if it is never above), computed for every
    (data set, coupling) problem in one batch of damped Newton fits
    (:func:`~mcprop.inference.limits.minimise`): g = 0 from ``start`` (the truth's
    nuisances), then ``couplings`` from there. Of several moments the limit is on mu^2 of
    ``moment``, the others profiled like bounded nuisances (on [0, their prior bound],
    started at OTHER_MOMENT_START of it); then each data set's brackets of the
    crossing and of the minimum get points per round (PROFILE_STEP, PROFILE_REFINE), and
    the grid of a data set that never crosses is extended towards g_max. A Poisson term
    reads the counts only through sum_b n_b ln mu_b:
    the run's likelihood is evaluated with empty spectra (-sum_b mu_b, and -inf where a
    mu_b <= 0) and each row's sum_b n_b ln mu_b is added to it.
    """
    g_max, new_physics = scanned_parameter(posterior, point, moment)
    coordinates = NuisanceCoordinates.build(posterior, None, start)
    names = posterior.nuisance_names
    others = np.empty(0, int)  # the profiled moments
    if isinstance(posterior.new_physics, MagneticMoments):
        others = np.delete(np.arange(len(posterior.new_physics.names)), moment or 0)
        bound = posterior.new_physics.upper[others]
        coordinates = coordinates.extended(NuisanceCoordinates.from_bounds(
            np.zeros(others.size), OTHER_MOMENT_WIDTH * bound, np.zeros(others.size), bound,
            OTHER_MOMENT_START * bound))
        start = np.concatenate([start, OTHER_MOMENT_START * bound])
    values = [np.asarray(v, dtype=float) for v in values]
    n_sets = len(values[0])
    empty = {i: replace(m, counts=np.zeros(m.n_bins))
             for i, m in enumerate(posterior.measurements) if isinstance(m, SpectrumMeasurement)}
    labels_set, labels_g = [], []  # the data set and coupling of each problem (its label)

    def objective(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        b, m, n = z.shape
        ids = labels.astype(int)
        rows = np.repeat(np.asarray(labels_set)[ids], m)
        g = np.repeat(np.asarray(labels_g)[ids], m)
        x = coordinates.nuisances(z).reshape(b * m, n)
        nuisances = dict(zip(names, x[:, :len(names)].T, strict=True))
        physics = new_physics(g)
        if others.size:
            physics[:, others] = x[:, len(names):]
        data = tuple(empty[i] if i in empty else with_values((each,), [values[i][rows]])[0]
                     for i, each in enumerate(posterior.measurements))
        with np.errstate(all="ignore"):  # outside the priors' domains: -inf, never NaN
            prior = posterior.priors.log_density(nuisances)
            predictions = posterior.predictions(physics, nuisances, np.full(b * m, point))
            value = prior + posterior.data_log_likelihood(predictions, data)
            for i in empty:
                value = value + np.einsum("rb,rb->r", values[i][rows], np.log(predictions[i]))
        value = np.where(np.isfinite(prior) & ~np.isnan(value), value, -np.inf)
        return np.minimum(-2.0 * value, OUTSIDE).reshape(b, m)

    couplings = couplings[(couplings > 0) & (couplings < g_max)]
    new_set, new_g = np.arange(n_sets), np.zeros(n_sets)  # first g = 0, then ``couplings``
    new_z = np.tile(coordinates.coordinates(np.asarray(start, dtype=float)), (n_sets, 1))
    ratio = float(np.max(couplings[1:] / couplings[:-1])) if couplings.size > 1 else 2.0
    solved_set, solved_g = np.empty(0, int), np.empty(0)
    solved_q, solved_z = np.empty(0), np.empty((0, new_z.shape[1]))
    limits = np.full(n_sets, np.nan)
    for _ in range(PROFILE_MAX_ROUNDS):
        labels = np.arange(len(labels_set), len(labels_set) + new_g.size, dtype=float)
        labels_set.extend(new_set.tolist())
        labels_g.extend(new_g.tolist())
        q, z = minimise(objective, new_z, labels, PROFILE_DECREMENT)
        solved_set = np.concatenate([solved_set, new_set])
        solved_g, solved_q = np.concatenate([solved_g, new_g]), np.concatenate([solved_q, q])
        solved_z = np.vstack([solved_z, z])
        next_set, next_g, next_z = [], [], []
        for k in np.flatnonzero(np.isnan(limits)):
            mine = np.flatnonzero(solved_set == k)
            mine = mine[np.argsort(solved_g[mine])]
            g, q = solved_g[mine], solved_q[mine]
            if g.size == 1:  # g = 0 fitted: the couplings from there
                next_set.append(np.full(couplings.size, k))
                next_g.append(couplings)
                next_z.append(np.tile(solved_z[mine[0]], (couplings.size, 1)))
                continue
            best = int(np.argmin(q))
            high = int(np.flatnonzero(q < q[best] + level)[-1]) + 1
            if high == g.size:  # never above the level: extend towards g_max
                if g[-1] >= g_max:
                    limits[k] = g_max
                    continue
                more = np.minimum(g[-1] * ratio ** np.arange(1, PROFILE_GRID + 1), g_max)
                more = more[:np.searchsorted(more, g_max) + 1]
                next_set.append(np.full(more.size, k))
                next_g.append(more)
                next_z.append(np.tile(solved_z[mine[-1]], (more.size, 1)))
                continue
            fraction = (q[best] + level - q[high - 1]) / (q[high] - q[high - 1])
            crossing = g[high - 1] + fraction * (g[high] - g[high - 1])
            more = []
            if g[high] - g[high - 1] > PROFILE_CROSSING_RTOL * g[high]:
                near = np.clip(crossing * np.array([1 - PROFILE_STEP, 1, 1 + PROFILE_STEP]),
                               g[high - 1], g[high])
                more.append(np.concatenate([near, 0.5 * (g[high - 1] + near[:1]),
                                            0.5 * (near[2:] + g[high])]))
            for a, c in {(max(best - 1, 0), best), (best, min(best + 1, g.size - 1))}:
                if a < c and max(q[a], q[c]) > q[best] + PROFILE_MINIMUM_DQ \
                        and g[c] - g[a] > PROFILE_MINIMUM_RTOL * crossing:
                    more.append(np.linspace(g[a], g[c], PROFILE_REFINE + 2)[1:-1])
            more = np.setdiff1d(np.concatenate(more), g) if more else np.empty(0)
            if not more.size:
                limits[k] = crossing
                continue
            next_set.append(np.full(more.size, k))
            next_g.append(more)
            next_z.append(solved_z[mine[np.abs(more[:, None] - g[None]).argmin(axis=1)]])
        if not next_set:
            return limits
        new_set, new_g = np.concatenate(next_set), np.concatenate(next_g)
        new_z = np.vstack(next_z)
    raise ValueError(f"profile limits: a crossing was not bracketed in {PROFILE_MAX_ROUNDS} "
                     f"rounds")


def observed_data(posterior: ScanPosterior) -> list:
    """The measured values of every measurement as one data set (leading axis 1), in the
    form :func:`profile_limits` reads (a spectrum's counts, a rate, a P_ee)."""
    return [m.counts[None] if isinstance(m, SpectrumMeasurement) else np.array([_value(m)])
            for m in posterior.measurements]


def moment_profile_limits(posterior: ScanPosterior, level: float,
                          scales_mu2: np.ndarray) -> np.ndarray:
    """The profile-likelihood limits on mu^2 [(1e-11 mu_B)^2] of each moment of a run with
    several moments, the others profiled (bounded at 0 and their prior bound) like the
    nuisances, on the observed data: the statistic of the bands of
    :func:`expected_moment_band`. ``scales_mu2`` (one per moment, e.g. the credible limits
    squared) place each moment's first grid of couplings."""
    _, start = profile_fit(posterior, 0, 0.0, moment=0)
    observed = observed_data(posterior)
    return np.array([profile_limits(posterior, 0, observed, level, start,
                                    scale * np.geomspace(*PROFILE_SPAN, PROFILE_GRID),
                                    moment=j)[0]
                     for j, scale in enumerate(scales_mu2)])


def profile_band(posterior: ScanPosterior, point: int, settings: ExpectedSettings,
                 seed: int, level: float, moment: int | None = None
                 ) -> tuple[np.ndarray, float]:
    """The profile-likelihood limits (in the scanned parameter: g, or mu^2 [(1e-11
    mu_B)^2] of one moment, of ``moment`` with the others profiled if there are several)
    of ``settings.n_toys`` Standard-Model pseudo-experiments at
    grid mass ``point`` (truth nuisances as ``settings.draw``; a spectrum's: the constrained
    fit of the observed data, ``best-fit``), and that of the Asimov data set (the
    prediction of the truth, at the prior centres for ``prior-draws``), whose limit sets
    the scale of the toys' first couplings."""
    check_supported(posterior)
    g_max, _ = scanned_parameter(posterior, point, moment)
    asimov_draw = "prior-centres" if settings.draw == "prior-draws" else settings.draw
    centre = truth_nuisances(posterior, 1, asimov_draw, seed)
    start = np.array([centre[name][0] for name in posterior.nuisance_names])
    asimov = [p if isinstance(m, SpectrumMeasurement | SurvivalProbabilityMeasurement)
              else p[1] for m, p in zip(posterior.measurements, posterior.predictions(
                  _truth(posterior, 1, 0.0), centre, np.array([point])), strict=True)]
    (asimov_limit,) = profile_limits(
        posterior, point, asimov, level, start,
        np.geomspace(ASIMOV_SPAN[0] * g_max, ASIMOV_SPAN[1] * g_max, ASIMOV_GRID), moment)
    if not settings.n_toys:
        return np.empty(0), float(asimov_limit)
    nuisances = truth_nuisances(posterior, settings.n_toys, settings.draw, seed)
    predictions = posterior.predictions(_truth(posterior, settings.n_toys, 0.0), nuisances,
                                        np.full(settings.n_toys, point))
    toys = profile_limits(posterior, point,
                          draw_values(posterior, predictions, seed, settings.n_toys), level,
                          start, asimov_limit * np.geomspace(*PROFILE_SPAN, PROFILE_GRID),
                          moment)
    return toys, float(asimov_limit)


@dataclass(frozen=True)
class Coverage:
    """How often the limits of pseudo-experiments with a Z' injected at (m, g) lie at or
    above the true g: the fraction of toys that cover it, for the credible limit and (if
    computed) the profile-likelihood limit, with binomial standard errors."""

    m_zprime_MeV: float
    g_true: float
    n_toys: int
    draw: str
    credibility: float
    credible_covered: int | None
    profile_covered: int | None
    credible_limits: np.ndarray | None
    profile_limits: np.ndarray | None

    @staticmethod
    def _fraction(covered: int, n: int) -> tuple[float, float]:
        p = covered / n
        return p, float(np.sqrt(p * (1 - p) / n))

    def record(self) -> dict:
        """Fractions and binomial errors, JSON-ready."""
        out = {"m_zprime_MeV": self.m_zprime_MeV, "g_true": self.g_true,
               "n_toys": self.n_toys, "draw": self.draw, "credibility": self.credibility,
               "credible_coverage": None, "credible_coverage_error": None,
               "profile_coverage": None, "profile_coverage_error": None}
        if self.credible_covered is not None:
            credible, credible_error = self._fraction(self.credible_covered, self.n_toys)
            out.update(credible_coverage=credible, credible_coverage_error=credible_error)
        if self.profile_covered is not None:
            profile, profile_error = self._fraction(self.profile_covered, self.n_toys)
            out.update(profile_coverage=profile, profile_coverage_error=profile_error)
        return out


def coverage(posterior: ScanPosterior, point: int, g_true: float, n_toys: int, draw: str,
             seed: int, credibility: float, profile_level: float | None = None) -> Coverage:
    """The coverage of the limits at grid mass ``point`` for ``n_toys`` pseudo-experiments
    with the Z' at ``g_true`` (nuisances of the truth as ``draw``): the credible limit of each
    toy from :class:`GridPosterior` (rate analyses), and with ``profile_level`` its
    profile-likelihood limit (:func:`~mcprop.inference.limits.profile_likelihood_limit`, one
    fit per toy; for a spectrum, its only limit here, :func:`profile_limits` of all toys
    in one batch, started from the truth's nuisances)."""
    g_max = float(posterior.new_physics.g_max[point])
    if not 0 < g_true < g_max:
        raise ValueError(f"the true coupling must lie in (0, g_max = {g_max:.4g}) at "
                         f"{posterior.new_physics.label(point)}, got {g_true:g}")
    spectral = any(isinstance(m, SpectrumMeasurement) for m in posterior.measurements)
    if spectral and profile_level is None:
        raise ValueError("a spectrum's toys have the profile-likelihood limit only; it is off")
    if not spectral:
        check_supported(posterior)
    nuisances = truth_nuisances(posterior, n_toys, draw, seed, point, g_true)
    predictions = posterior.predictions(_truth(posterior, n_toys, g_true), nuisances,
                                        np.full(n_toys, point))
    values = draw_values(posterior, predictions, seed, n_toys)
    credible = None
    if not spectral:
        grid = GridPosterior(posterior, point, seed,
                             N_NUISANCE_DRAWS if posterior.nuisance_names else 1)
        credible = grid.upper_limits(with_values(posterior.measurements, values),
                                     credibility)
    profile = None
    if spectral:  # every toy's profile fits in one batch, started from the first truth
        start = np.array([nuisances[name][0] for name in posterior.nuisance_names])
        profile = profile_limits(posterior, point, values, profile_level, start,
                                 g_true * np.geomspace(*PROFILE_SPAN, PROFILE_GRID))
    elif profile_level is not None:
        profile = np.full(n_toys, np.nan)
        for j in range(n_toys):
            toy = replace(posterior, measurements=with_values(
                posterior.measurements, [v[j] for v in values]))
            try:
                profile[j] = profile_likelihood_limit(toy, point, profile_level,
                                                      g_scale=float(credible[j]))[
                    "g_upper_profile"]
            except ValueError:  # allowed up to g_max: covers
                profile[j] = g_max
    mass = float(posterior.new_physics.masses_MeV[point])
    return Coverage(mass, float(g_true), n_toys, draw, credibility,
                    None if credible is None else int(np.sum(credible >= g_true)),
                    None if profile is None else int(np.sum(profile >= g_true)),
                    credible, profile)
