"""Frequentist and fixed-allowance limits beside the Bayesian credible limit.

- :func:`profile_likelihood_limit`: the nuisances profiled (their priors act as constraint
  terms), upper limit where -2 Delta ln L reaches a level (2.7055 = 1.645^2 for the
  conventional 90% C.L., the seed's 1.645 sigma).
- :func:`allowance_limit_g`: the coupling at which the Z' adds a fixed rate, the way the
  seed and earlier work turned an allowed excess into a limit.
"""

import numpy as np
from scipy.optimize import brentq, minimize, minimize_scalar

from mcprop.physics.kernels import MassKernels
from mcprop.physics.scattering import (
    LMU_LTAU,
    U1Model,
    coupling_from_product,
)

#: Forward-difference step [prior widths] and the cap on -2 ln L outside the support.
_GRADIENT_STEP = 1e-6
_OUTSIDE = 1e12


def _nuisance_scales(posterior, rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Prior centres and widths of the free nuisances, to optimise in standard units."""
    draws = posterior.priors.sample(np.random.default_rng(rng_seed), 4000)
    centres = posterior.priors.centres()
    names = posterior.nuisance_names
    centre = np.array([centres[n] for n in names])
    width = np.array([np.std(draws[n]) for n in names])
    return centre, np.where(width > 0, width, 1.0)


def profile_likelihood_limit(posterior, mass_index: int, level: float,
                             start: np.ndarray | None = None) -> dict[str, float]:
    """Upper limit on g at grid mass ``mass_index`` of a Z' :class:`ScanPosterior` where the
    profile -2 Delta ln L over g >= 0 reaches ``level`` (2.7055 for the conventional 90% C.L.).

    The nuisances are profiled with L-BFGS-B in prior-standardised units, warm-started from
    the previous solution; the gradient comes from one vectorised posterior call per
    iteration (forward differences). The likelihood with asymmetric errors is not smooth and
    a warm start can stall, so the best fit and the crossing are checked from ``start`` too;
    if that finds a lower minimum, the search is repeated with both starts at every g.
    Returns ``g_upper_profile``, the best fit ``g_hat_profile`` and -2 ln L at the best fit.
    """
    centre, width = _nuisance_scales(posterior)
    n = len(centre)
    steps = np.vstack([np.zeros(n), _GRADIENT_STEP * np.eye(n)])
    initial = np.zeros(n) if start is None else (np.asarray(start, dtype=float) - centre) / width

    def objective_and_gradient(z, g):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # outside: -inf
            values = posterior.profile_objective(mass_index, g, centre + width * (z + steps))
        values = np.minimum(values, _OUTSIDE)
        return values[0], (values[1:] - values[0]) / _GRADIENT_STEP

    def minimum(g: float, starts) -> tuple[float, np.ndarray]:
        if n == 0:
            return float(posterior.profile_objective(mass_index, g, np.empty((1, 0)))[0]), initial
        result = min((minimize(objective_and_gradient, x0, args=(g,), jac=True,
                               method="L-BFGS-B", options={"ftol": 1e-10, "gtol": 1e-5})
                      for x0 in starts), key=lambda r: r.fun)
        return float(result.fun), result.x

    def search(both_starts: bool) -> tuple[float, float, float, np.ndarray]:
        best = [initial]

        def profile(g: float) -> float:
            value, best[0] = minimum(g, (best[0], initial) if both_starts else (best[0],))
            return value

        g_max = float(posterior.new_physics.g_max[mass_index])
        fit = minimize_scalar(profile, bounds=(0.0, g_max), method="bounded",
                              options={"xatol": 1e-3 * g_max})
        g_hat, q_min = float(fit.x), float(fit.fun)
        zero = profile(0.0)
        if zero < q_min:
            g_hat, q_min = 0.0, zero
        g_upper = brentq(lambda g: profile(g) - q_min - level, g_hat, g_max,
                         xtol=1e-8 * g_max, rtol=1e-5)
        return g_hat, q_min, g_upper, best[0]

    try:
        g_hat, q_min, g_upper, last = search(both_starts=False)
        at_crossing = minimum(g_upper, (last,))[0]
        stalled = (minimum(g_hat, (initial,))[0] < q_min - 1e-6
                   or minimum(g_upper, (initial,))[0] < at_crossing - 1e-6)
    except ValueError:  # no crossing found from the warm starts
        stalled = True
    if stalled:
        g_hat, q_min, g_upper, _ = search(both_starts=True)
    return {"g_upper_profile": float(g_upper), "g_hat_profile": g_hat,
            "min_neg2_log_likelihood": q_min}


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
