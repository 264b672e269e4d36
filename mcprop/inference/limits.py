"""Frequentist and fixed-allowance limits beside the Bayesian credible limit.

- :func:`profile_likelihood_limit`: the nuisances profiled (their priors act as constraint
  terms), upper limit where -2 Delta ln L reaches a level (2.7055 = 1.645^2 for the
  conventional 90% C.L., the seed's 1.645 sigma).
- :func:`allowance_limit_g`: the coupling at which the Z' adds a fixed rate, the way the
  seed and earlier work turned an allowed excess into a limit.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from mcprop.inference.moments import MagneticMoments
from mcprop.physics.kernels import MassKernels
from mcprop.physics.parameters import PHYSICAL_DOMAINS
from mcprop.physics.scattering import (
    LMU_LTAU,
    U1Model,
    coupling_from_product,
)

#: Finite-difference step of the Newton stencil [standardised units] and the cap on -2 ln L
#: outside the support.
_STEP = 1e-3
OUTSIDE = 1e12
#: Newton stops when the decrease it predicts for -2 ln L is below this, or after
#: _MAX_ITERATIONS; the least curvature a direction is given [per standardised unit^2].
_DECREMENT = 1e-10
_MAX_ITERATIONS = 50
_MIN_CURVATURE = 1e-3
#: Step lengths tried along a Newton direction (largest passing the Armijo test is taken).
_STEP_LENGTHS = 0.5 ** np.arange(10)
#: First round: g = 0 and _GRID_POINTS couplings log-spaced from _GRID_LOW g_max to g_max
#: (_SCALED_GRID_POINTS around a given scale); then _REFINE_POINTS evenly in each bracket
#: (minimum, crossing) per round, until the crossing's bracket is below _CROSSING_RTOL of g
#: and the minimum's below _MINIMUM_RTOL of the crossing.
_GRID_POINTS = 32
_GRID_LOW = 1e-3
_SCALED_GRID_POINTS = 20
_REFINE_POINTS = 12
_CROSSING_RTOL = 1e-4
_MINIMUM_RTOL = 1e-3
_MAX_ROUNDS = 40


def _nuisance_scales(posterior, widths: np.ndarray | None = None,
                     rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Prior centres of the free nuisances and their ``widths`` (the spread of 500 prior
    draws if None), to optimise in standard units."""
    centres = posterior.priors.centres()
    names = posterior.nuisance_names
    centre = np.array([centres[n] for n in names])
    if widths is None:
        draws = posterior.priors.sample(np.random.default_rng(rng_seed), 500)
        widths = np.array([np.std(draws[n]) for n in names])
    widths = np.asarray(widths, dtype=float)
    return centre, np.where(widths > 0, widths, 1.0)


@dataclass(frozen=True)
class NuisanceCoordinates:
    """The coordinates z in which the profile fit moves the nuisances x.

    A nuisance whose domain (prior support within the physical domain) is open on a side is
    x = centre + width z. One bounded on both sides (a background normalisation flat on
    [0, 3], a mixing angle in [0, 1]) is x = low + span sin^2(phase + step z) (M. J. Box,
    Computer J. 9 (1966) 67): every z lies inside the domain, and a minimum on a wall (a
    background pulled to 0) is a smooth stationary point that Newton reaches instead of
    stopping at the wall. ``step`` makes a unit of z move x by about ``width`` at the start.
    """

    centre: np.ndarray
    width: np.ndarray
    bounded: np.ndarray     # bool (n,)
    low: np.ndarray
    span: np.ndarray
    phase: np.ndarray
    step: np.ndarray

    @classmethod
    def build(cls, posterior, widths: np.ndarray | None,
              start: np.ndarray | None) -> "NuisanceCoordinates":
        """Coordinates of ``posterior``'s free nuisances, widths as :func:`_nuisance_scales`,
        centred on ``start`` (the prior centres if None) for the bounded ones."""
        centre, width = _nuisance_scales(posterior, widths)
        names = posterior.nuisance_names
        distributions = posterior.priors.distributions
        low = np.array([max(distributions[n].support[0], PHYSICAL_DOMAINS[n][0]) for n in names])
        high = np.array([min(distributions[n].support[1], PHYSICAL_DOMAINS[n][1])
                         for n in names])
        return cls.from_bounds(centre, width, low, high,
                               centre if start is None else np.asarray(start, dtype=float))

    @classmethod
    def from_bounds(cls, centre: np.ndarray, width: np.ndarray, low: np.ndarray,
                    high: np.ndarray, start: np.ndarray) -> "NuisanceCoordinates":
        """Coordinates of parameters with domains [low, high] (infinite: open), ``width``
        and ``centre`` (the open ones), the bounded ones centred on ``start``."""
        bounded = np.isfinite(low) & np.isfinite(high)
        span = np.where(bounded, high - low, 1.0)
        low = np.where(bounded, low, 0.0)
        phase = np.arcsin(np.sqrt(np.clip((start - low) / span, 0.0, 1.0)))
        slope = span * np.abs(np.sin(2 * phase))  # dx / dphase at the start
        with np.errstate(divide="ignore"):
            step = np.minimum(width / slope, np.sqrt(width / span))
        return cls(centre, width, bounded, low, span, phase, step)

    def extended(self, other: "NuisanceCoordinates") -> "NuisanceCoordinates":
        """These coordinates followed by ``other``'s (e.g. profiled moments)."""
        return NuisanceCoordinates(*(np.concatenate([getattr(self, f.name),
                                                     getattr(other, f.name)])
                                     for f in fields(self)))

    def nuisances(self, z: np.ndarray) -> np.ndarray:
        """x (..., n) of the coordinates z (..., n)."""
        boxed = self.low + self.span * np.sin(self.phase + self.step * z) ** 2
        return np.where(self.bounded, boxed, self.centre + self.width * z)

    def coordinates(self, x: np.ndarray) -> np.ndarray:
        """z (n,) of nuisances x (n,) inside their domains."""
        phase = np.arcsin(np.sqrt(np.clip((x - self.low) / self.span, 0.0, 1.0)))
        return np.where(self.bounded, (phase - self.phase) / self.step,
                        (x - self.centre) / self.width)


def _newton_stencil(n: int) -> np.ndarray:
    """Offsets [steps] (1 + 2n + n(n-1)/2, n): 0, +e_i, -e_i, then e_i + e_j for i < j."""
    eye = np.eye(n)
    upper = np.triu_indices(n, 1)
    return np.vstack([np.zeros((1, n)), eye, -eye, eye[upper[0]] + eye[upper[1]]])


def _derivatives(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, gradient (central differences) and Hessian of each problem (b, ...) from the
    objective on :func:`_newton_stencil` (b, rows)."""
    f0, plus, minus = values[:, 0], values[:, 1:n + 1], values[:, n + 1:2 * n + 1]
    gradient = (plus - minus) / (2 * _STEP)
    hessian = np.empty((len(values), n, n))
    i, j = np.triu_indices(n, 1)
    both = values[:, 2 * n + 1:]
    off = (both - plus[:, i] - plus[:, j] + f0[:, None]) / _STEP**2
    hessian[:, i, j] = off
    hessian[:, j, i] = off
    diagonal = np.arange(n)
    hessian[:, diagonal, diagonal] = (plus - 2 * f0[:, None] + minus) / _STEP**2
    return f0, gradient, hessian


def minimise(objective, z: np.ndarray, g: np.ndarray, decrement: float = _DECREMENT
             ) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``objective(z (b, m, n), g (b,)) -> (b, m)`` over z for each of the b
    couplings g at once, from the starts ``z`` (b, n), until the decrease Newton predicts is
    below ``decrement``. Returns the minima (b,) and where they are (b, n).

    Damped Newton with a finite-difference Hessian whose eigenvalues are made positive
    (|lambda|, at least _MIN_CURVATURE) and a backtracking Armijo line search. One objective
    call per step holds the stencil at the full Newton step and the shorter trial steps: a
    full step (the rule near the minimum) needs no second call; after a shorter one the next
    call evaluates the stencil where the step ended.
    """
    z = np.array(z, dtype=float)
    b, n = z.shape
    if n == 0:
        return objective(z[:, None, :], g)[:, 0], z
    stencil = _STEP * _newton_stencil(n)
    value = np.full(b, np.inf)
    direction = np.zeros((b, n))
    predicted = np.zeros(b)
    active = np.arange(b)
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        d = direction[active, None, :]
        offsets = np.concatenate([stencil + d, _STEP_LENGTHS[1:, None] * d], axis=1)
        values = objective(z[active, None, :] + offsets, g[active])
        trials = np.column_stack([values[:, 0], values[:, len(stencil):]])
        fresh = predicted[active] == 0  # no direction yet: the stencil is at z itself
        armijo = (trials <= value[active, None] - 1e-4 * _STEP_LENGTHS * predicted[active, None])
        armijo[fresh] = False
        armijo[fresh, 0] = True
        step = np.argmax(armijo, axis=1)
        moved = armijo.any(axis=1)
        rows = active[moved]
        z[rows] += _STEP_LENGTHS[step[moved], None] * direction[rows]
        value[rows] = trials[moved, step[moved]]
        full = moved & (step == 0)
        f0, gradient, hessian = _derivatives(values[full, :len(stencil)], n)
        curvature, vectors = np.linalg.eigh(hessian)
        curvature = np.maximum(np.abs(curvature), _MIN_CURVATURE)
        rows_full = active[full]
        direction[rows_full] = -np.einsum("bij,bj->bi", vectors,
                                          np.einsum("bji,bj->bi", vectors, gradient) / curvature)
        predicted[rows_full] = -np.einsum("bi,bi->b", gradient, direction[rows_full])
        partial = active[moved & (step > 0)]  # re-evaluate the stencil where the step ended
        direction[partial] = 0.0
        predicted[partial] = 0.0
        active = np.concatenate([rows_full[predicted[rows_full] > decrement], partial])
    return value, z


def _objective(posterior, point_index: int, coordinates: NuisanceCoordinates,
               new_physics: Callable[[np.ndarray], np.ndarray] = lambda g: g):
    """objective(z (b, m, n), g (b,)) -> -2 ln[L pi] (b, m) of the profile fit at grid mass
    ``point_index``, capped at OUTSIDE; ``new_physics`` turns the scanned values into what
    the likelihood reads (:func:`scanned_parameter`)."""
    n = len(coordinates.centre)

    def objective(z: np.ndarray, g: np.ndarray) -> np.ndarray:
        b, m, _ = z.shape
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # outside: -inf
            values = posterior.profile_objective(point_index, new_physics(np.repeat(g, m)),
                                                 coordinates.nuisances(z).reshape(b * m, n))
        return np.minimum(values, OUTSIDE).reshape(b, m)

    return objective


def profile_fit(posterior, point_index: int, g: float, start: np.ndarray | None = None,
                rounds: int = 4, moment: int | None = None) -> tuple[float, np.ndarray]:
    """The nuisances (n,) that minimise -2 ln[L(D | g, nu) pi(nu)] at grid mass
    ``point_index`` and coupling ``g`` (mu^2 of one moment, :func:`scanned_parameter`; of
    several moments, mu^2 of ``moment`` with the others at zero), with that minimum: the
    constrained fit of the data at fixed g (damped Newton from ``start``, the prior centres
    if None, restarted up to ``rounds`` times while it still improves)."""
    coordinates = NuisanceCoordinates.build(posterior, None, start)
    objective = _objective(posterior, point_index, coordinates,
                           scanned_parameter(posterior, point_index, moment)[1])
    z = np.zeros((1, len(coordinates.centre))) if start is None else \
        coordinates.coordinates(np.asarray(start, dtype=float))[None]
    value = np.inf
    for _ in range(rounds):
        new, z = minimise(objective, z, np.array([float(g)]))
        if not new[0] < value - _DECREMENT:
            value = min(value, float(new[0]))
            break
        value = float(new[0])
    return value, coordinates.nuisances(z[0])


def best_fit_nuisances(posterior, point: int, start: np.ndarray, g: float = 0.0,
                       widths: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """The maximum of L(D | g, nu) pi(nu) over the nuisances nu at grid point ``point`` and
    coupling ``g`` (the nuisance priors act as constraint terms), by damped Newton
    (:func:`minimise`) from ``start`` (e.g. the sampler's best walker; its nuisances, in the
    order of ``posterior.nuisance_names``), in units of ``widths`` (the prior widths if None).
    Returns -2 ln of that maximum and the nuisances there.

    >>> value, nuisances = best_fit_nuisances(posterior, 0, best_walker)  # doctest: +SKIP
    """
    start = np.asarray(start, dtype=float)
    coordinates = NuisanceCoordinates.build(posterior, widths, start)
    value, z = minimise(_objective(posterior, point, coordinates),
                         coordinates.coordinates(start)[None], np.array([g]))
    return float(value[0]), coordinates.nuisances(z[0])


def laplace_fit(posterior, point: int, values: np.ndarray, start: np.ndarray
                ) -> tuple[float, NuisanceCoordinates, np.ndarray, np.ndarray]:
    """The mode of L(D | values, nu) pi(nu) over the nuisances at grid point ``point`` and
    new-physics ``values`` (:meth:`NewPhysics.values` of one row: (1,) or (1, k)), by damped
    Newton (:func:`_minimise`) from the nuisances ``start``: -2 ln there, the fit's
    coordinates z, the mode in z (n,) and the finite-difference Hessian of -2 ln in z (n, n).
    """
    coordinates = NuisanceCoordinates.build(posterior, None, start)
    n = len(coordinates.centre)

    def objective(z: np.ndarray, g: np.ndarray) -> np.ndarray:
        b, m, _ = z.shape
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            value = posterior.profile_objective(point, values,
                                                coordinates.nuisances(z).reshape(b * m, n))
        return np.minimum(value, OUTSIDE).reshape(b, m)

    value, z = minimise(objective, coordinates.coordinates(start)[None], np.zeros(1))
    _, _, hessian = _derivatives(objective(z[:, None] + _STEP * _newton_stencil(n),
                                           np.zeros(1)), n)
    return float(value[0]), coordinates, z[0], hessian[0]


def scanned_parameter(posterior, point: int, moment: int | None = None
                      ) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
    """What the profile scans at grid point ``point``: its upper bound and how couplings
    (n,) become the new-physics values the likelihood reads. For a Z' the coupling g (bound
    g_max(m)); for a run with one magnetic moment its square mu^2 [(1e-11 mu_B)^2] (bound
    where it adds ``upper_np_fraction`` x the SM counts); for several moments mu^2 of the
    one of index ``moment``, the others zero (to be profiled by the caller, as
    :func:`~mcprop.inference.expected.profile_limits` does). ValueError for several moments
    without ``moment``."""
    physics = posterior.new_physics
    if isinstance(physics, MagneticMoments):
        k = len(physics.names)
        if k != 1 and moment is None:
            raise ValueError(f"a profile-likelihood limit needs one moment; "
                             f"{physics.scheme!r} has {k}")
        j = moment or 0
        return float(physics.upper[j]), lambda g: np.asarray(g, dtype=float)[:, None] \
            * np.eye(k)[j]
    return float(physics.g_max[point]), lambda g: g


def profile_likelihood_limit(posterior, point_index: int, level: float,
                             start: np.ndarray | None = None,
                             g_scale: float | None = None,
                             widths: np.ndarray | None = None,
                             g_points: np.ndarray | None = None) -> dict[str, float]:
    """Upper limit on g at grid mass ``point_index`` of a Z' :class:`ScanPosterior` (or on
    mu^2 [(1e-11 mu_B)^2] of a run with one magnetic moment, :func:`scanned_parameter`;
    the profile likelihood does not depend on the parametrisation, so its limit on mu is
    the square root): the largest g at which the profile -2 Delta ln L over g >= 0 is still
    below ``level`` (2.7055 for the conventional 90% C.L.), the upper end of the allowed
    set. A profile with two minima (an island of allowed couplings above an excluded
    stretch) has its limit at the upper end of the island, not at the first crossing.

    The profile is computed for many couplings at once (one posterior call per Newton step
    holds every coupling's finite-difference stencil, :func:`minimise`), with the nuisances
    in standardised units (``widths``, e.g. the posterior's spread, or the prior widths if
    None; Newton's steps do not depend on them, only its difference step does). The first
    round covers g = 0, ``g_points`` (e.g. quantiles of the posterior of g, which put points
    into every island the posterior holds) and a log grid: from ``g_scale``/30 to
    2 ``g_scale`` (a coupling near the limit, e.g. the credible limit), or from 1e-3 g_max to
    g_max without it, each coupling minimised from ``start`` (the nuisances, e.g. the
    sampler's best walker; the prior centres if None). The grid is extended up to g_max while
    -2 Delta ln L at its last point stays below ``level``. Each further round fills the
    brackets of the minimum and of the last crossing evenly, warm-started from the nearest
    solution, until the crossing is bracketed to 1e-4 of g and the minimum to 1e-3 of it;
    the limit is the linear interpolation inside the crossing's bracket. An island between
    two points that are both above ``level`` is not seen. Returns ``g_upper_profile``, the
    best fit ``g_hat_profile`` and -2 ln L at the best fit.

    Raises
    ------
    ValueError
        If -2 Delta ln L stays below ``level`` up to g_max.
    """
    coordinates = NuisanceCoordinates.build(posterior, widths, start)
    n = len(coordinates.centre)
    z_start = (np.zeros(n) if start is None
               else coordinates.coordinates(np.asarray(start, dtype=float)))
    g_max, new_physics = scanned_parameter(posterior, point_index)
    objective = _objective(posterior, point_index, coordinates, new_physics)

    if g_scale is not None and 0 < g_scale < g_max:
        low, high, points = g_scale / 30, min(2 * g_scale, g_max), _SCALED_GRID_POINTS
    else:
        low, high, points = _GRID_LOW * g_max, g_max, _GRID_POINTS
    extra = np.asarray(g_points if g_points is not None else [], dtype=float)
    new_g = np.unique(np.concatenate([[0.0], np.geomspace(low, high, points),
                                      extra[(extra > 0) & (extra < g_max)]]))
    new_z = np.tile(z_start, (new_g.size, 1))
    ratio = (high / low) ** (1 / (points - 1))
    g, q, z = np.empty(0), np.empty(0), np.empty((0, n))
    for _ in range(_MAX_ROUNDS):
        new_q, new_z = minimise(objective, new_z, new_g)
        g, q, z = np.concatenate([g, new_g]), np.concatenate([q, new_q]), np.vstack([z, new_z])
        order = np.argsort(g)
        g, q, z = g[order], q[order], z[order]
        best = int(np.argmin(q))
        high = int(np.flatnonzero(q < q[best] + level)[-1]) + 1  # above the last allowed
        if high == g.size:  # extend the grid towards g_max
            if g[-1] >= g_max:
                raise ValueError(f"-2 Delta ln L stays below {level:g} up to g_max = "
                                 f"{g_max:.4g}")
            new_g = np.minimum(g[-1] * ratio ** np.arange(1, points + 1), g_max)
            new_g = new_g[:np.searchsorted(new_g, g_max) + 1]
            new_z = np.tile(z[-1], (new_g.size, 1))
            continue
        brackets = []
        if g[high] - g[high - 1] > _CROSSING_RTOL * g[high]:
            brackets.append((high - 1, high))
        if (best + 1 < g.size and g[best + 1] - g[max(best - 1, 0)]
                > _MINIMUM_RTOL * g[high]):
            brackets.extend([(max(best - 1, 0), best), (best, best + 1)])
        if not brackets:
            break
        new_g = np.concatenate([np.linspace(g[a], g[c], _REFINE_POINTS + 2)[1:-1]
                                for a, c in brackets])
        new_z = z[np.abs(new_g[:, None] - g[None, :]).argmin(axis=1)]
    else:
        raise ValueError(f"the crossing was not bracketed in {_MAX_ROUNDS} rounds")
    target = q[best] + level
    fraction = (target - q[high - 1]) / (q[high] - q[high - 1])
    g_upper = g[high - 1] + fraction * (g[high] - g[high - 1])
    return {"g_upper_profile": float(g_upper), "g_hat_profile": float(g[best]),
            "min_neg2_log_likelihood": float(q[best])}


def allowance_limit_g(kernels: MassKernels, probabilities: np.ndarray, flux_cm2s: float,
                      allowed_rate_cpd100t: float, interference: bool = False,
                      model: U1Model = LMU_LTAU) -> float:
    """The g at which the Z' adds ``allowed_rate_cpd100t`` to the rate at fixed inputs.

    Solves C^2 Q + C L = allowed / (rate_sm / sm_window) for the coupling product C >= 0
    (L = 0 without interference) and converts C to g.
    """
    rate_sm, _, _ = kernels.rate_cpd100t(flux_cm2s, probabilities, 0.0)
    sm_window = np.einsum("la,la->", kernels.sm_window, probabilities)
    target = allowed_rate_cpd100t / float(rate_sm) * sm_window
    quadratic = np.einsum("la,la->", kernels.quadratic, probabilities)
    linear = np.einsum("la,la->", kernels.linear, probabilities) if interference else 0.0
    coupling = (-linear + np.sqrt(linear**2 + 4 * quadratic * target)) / (2 * quadratic)
    return coupling_from_product(coupling, model)
