"""Convergence diagnostics and the credible upper limits with their Monte Carlo errors.

Limits are reported on quantities derived from the sampled coordinates (g for the Z', the
moments for magnetic moments). The rank-normalised split R-hat of every sampled coordinate
uses the independent ensembles as chains (emcee walkers of one ensemble are not independent
chains; ArviZ's estimator, computed for all coordinates at once); ArviZ gives per reported
quantity the bulk ESS and the MCSE of the quantile with walkers as chains (as
``arviz.from_emcee`` maps them). They run on the
stored draws: the chains after burn-in, thinned to about two draws per autocorrelation
time, so that anyone recomputing them from a run's chain files gets the same numbers.
The integrated autocorrelation time that sets burn-in, chain length and thinning is emcee's
estimator (Sokal's automatic window, c = 5), computed for many chains at once with FFTs.
"""

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Stored draws per walker after burn-in are thinned to about this many per tau.
DRAWS_PER_TAU = 2
#: Sokal's window constant of emcee.autocorr.integrated_time.
_WINDOW_C = 5.0


#: Quantiles of the central 68% credible interval (one sigma of a Gaussian).
INTERVAL_68 = (0.15865525393145707, 0.8413447460685429)


@dataclass(frozen=True)
class Diagnostics:
    """The limit on one quantity at one grid point and the evidence that the chains
    support it: ``upper`` (the credible upper limit, in the quantity's unit), its MC error,
    the quantity's median and central 68% interval (``lo68``, ``hi68``) with the MC error of
    the median, the quantity's bulk ESS; R-hat, tau, acceptance and lengths are those of the
    point."""

    upper: float
    upper_mcse: float
    median: float
    median_mcse: float
    lo68: float
    hi68: float
    ess: float
    rhat: float
    tau_steps: float
    acceptance: float
    n_steps: int
    burn_in: int
    thin: int
    converged: bool
    problems: tuple[str, ...] = ()


def integrated_time(chains: np.ndarray) -> np.ndarray:
    """Integrated autocorrelation time [steps] of many chains at once.

    chains: (..., n_walkers, n_steps). The normalised autocorrelation function of each
    walker (FFT), averaged over walkers, summed up to Sokal's window (c = 5): the estimator
    of ``emcee.autocorr.integrated_time(x, c=5, tol=0)``, which loops over walkers and
    parameters in Python. Returns (...); NaN where a walker has not moved.
    """
    from scipy import fft

    x = np.asarray(chains)
    n = x.shape[-1]
    x = x - x.mean(axis=-1, keepdims=True)
    power = np.abs(fft.rfft(x, n=fft.next_fast_len(2 * n - 1, real=True), axis=-1)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        # each walker's autocorrelation normalised at lag 0 (its sum of squares), then the
        # walker average, all in one inverse transform (the transform is linear)
        power = np.mean(power / np.sum(x * x, axis=-1, keepdims=True), axis=-2)
    acf = fft.irfft(power, axis=-1)[..., :n]
    taus = 2.0 * np.cumsum(acf, axis=-1) - 1.0
    inside = np.arange(n) < _WINDOW_C * taus
    window = np.where(inside.all(axis=-1), n - 1, np.argmin(inside, axis=-1))
    tau = np.take_along_axis(taus, window[..., None], axis=-1)[..., 0]
    return np.where(np.isnan(taus).any(axis=-1), np.nan, tau)


def autocorrelation_time(history: np.ndarray, first_step: int = 0) -> float:
    """Largest integrated autocorrelation time [steps] over parameters and ensembles,
    estimated on the second half of the chains (clear of the start-up transient), and not
    before ``first_step`` (a reset of stray walkers).

    history: (n_ensembles, n_steps, n_walkers, n_dim). A walker that has not moved over
    that stretch makes tau infinite (the chains are not yet long enough for an estimate).
    """
    later = history[:, max(history.shape[1] // 2, first_step):]
    if later.shape[1] < 2:
        return math.inf
    tau = integrated_time(np.moveaxis(later, 1, -1))
    return math.inf if np.isnan(tau).any() else float(np.max(tau))


def burn_in_steps(tau: float, n_steps: int, settings, floor: int = 0) -> int:
    """Burn-in of ``burn_in_tau`` autocorrelation times, at most half the chain, and at
    least ``floor`` (the first step after a reset of stray walkers; at most the last step)."""
    burn = min(math.ceil(min(settings.burn_in_tau * tau, n_steps)), n_steps // 2)
    return min(max(burn, floor), n_steps - 1)


def thinning(tau: float) -> int:
    """Steps between stored draws: about ``DRAWS_PER_TAU`` draws per tau."""
    return max(1, int(tau // DRAWS_PER_TAU)) if math.isfinite(tau) else 1


def long_enough(tau: float, n_steps: int, settings, floor: int = 0) -> bool:
    """Whether ``min_kept_tau`` autocorrelation times and ``min_kept_steps`` steps remain
    after burn-in (the step minimum guards a short tau that is underestimated)."""
    kept = n_steps - burn_in_steps(tau, n_steps, settings, floor)
    return kept >= settings.min_kept_tau * tau and kept >= settings.min_kept_steps


def expected_ess(tau: float, n_steps: int, n_chains: int, settings, floor: int = 0) -> float:
    """The ESS the chains can hold at most: walkers x kept steps / tau."""
    if not math.isfinite(tau):
        return 0.0
    return n_chains * (n_steps - burn_in_steps(tau, n_steps, settings, floor)) / max(tau, 1.0)


def walkers_as_chains(x: np.ndarray) -> np.ndarray:
    """(n_ens, n_steps, n_walkers) -> (n_ens * n_walkers, n_steps)."""
    return np.moveaxis(x, 2, 1).reshape(-1, x.shape[1])


def ensembles_as_chains(x: np.ndarray) -> np.ndarray:
    """(n_ens, n_steps, n_walkers, ...) -> (n_ens, n_steps * n_walkers, ...), step-major."""
    return x.reshape(x.shape[0], -1, *x.shape[3:])


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks (1-based, ties given their average) along the last axis of x (p, m)."""
    m = x.shape[-1]
    order = np.argsort(x, axis=-1)
    ordered = np.take_along_axis(x, order, axis=-1)
    position = np.arange(m)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.minimum.accumulate(np.where(ends, position, m - 1)[:, ::-1], axis=-1)[:, ::-1]
    ranks = np.empty(ordered.shape)
    np.put_along_axis(ranks, order, 0.5 * (first + last) + 1.0, axis=-1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of each parameter: x (n_chains, n_draws, p)."""
    from scipy.special import ndtri  # here: reading a run needs no scipy

    flat = np.ascontiguousarray(x.reshape(-1, x.shape[-1]).T)
    ranks = _average_ranks(flat)
    return ndtri((ranks - 0.375) / (flat.shape[-1] + 0.25)).T.reshape(x.shape)


def _split_rhat(z: np.ndarray) -> np.ndarray:
    """Gelman-Rubin R-hat of each parameter of z (n_chains, n_draws, p)."""
    n = z.shape[1]
    between = n * np.var(np.mean(z, axis=1), axis=0, ddof=1)
    within = np.mean(np.var(z, axis=1, ddof=1), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def rank_normalised_rhat(chains: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (Vehtari et al., Bayesian Analysis 16, 667 (2021),
    arXiv:1903.08008): the larger of the bulk and the tail (folded) R-hat, of every
    parameter at once. chains: (n_chains, n_draws, p) -> (p,); NaN for fewer than 2 chains
    or 4 draws, or draws with a NaN. ArviZ's ``rhat(method="rank")``, which loops over the
    parameters through xarray."""
    n_chains, n_draws, _ = chains.shape
    result = np.full(chains.shape[-1], np.nan)
    valid = ~np.isnan(chains).any(axis=(0, 1))
    if n_chains < 2 or n_draws < 4 or not valid.any():
        return result
    x = chains[..., valid]
    half = n_draws // 2
    split = np.concatenate([x[:, :half], x[:, -half:]], axis=0)
    folded = np.abs(split - np.median(split.reshape(-1, split.shape[-1]), axis=0))
    result[valid] = np.maximum(_split_rhat(_z_scale(split)), _split_rhat(_z_scale(folded)))
    return result


def diagnose(quantities: Mapping[str, np.ndarray], coords_kept: np.ndarray, settings,
             credibility: float, tau: float, n_steps: int, burn_in: int, thin: int,
             acceptance: float, summary: str = "upper",
             burn_floor: int = 0) -> dict[str, Diagnostics]:
    """Limit, interval, MCSE, ESS, R-hat and the converged flag of each reported quantity
    from the stored draws.

    quantities: {name: (n_ens, n_draws, n_walkers)} (the couplings ``g`` for the Z');
    coords_kept: (n_ens, n_draws, n_walkers, n_dim) sampled coordinates, both after burn-in
    and thinning (``burn_floor``: the first step after a reset of stray walkers). A quantity
    converges when the chains are long enough, its ESS passes and
    the largest R-hat of the sampled coordinates does, and, for ``summary = "upper"``, the
    MCSE of its upper limit relative to the limit (an interval of a quantity that may be
    zero or negative has no relative error: its MC error is set by the ESS).
    """
    import arviz as az

    rhat = float(np.max(rank_normalised_rhat(ensembles_as_chains(coords_kept))))
    shared = []
    if not long_enough(tau, n_steps, settings, burn_floor):
        shared.append(f"{n_steps - burn_in} steps after burn-in < max({settings.min_kept_tau:g}"
                      f" x tau = {settings.min_kept_tau * tau:.0f}, "
                      f"{settings.min_kept_steps})")
    out = {}
    for name, kept in quantities.items():
        chains = walkers_as_chains(kept)
        upper, median, lo68, hi68 = (float(q) for q in np.quantile(
            kept, [credibility, 0.5, *INTERVAL_68]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mcse = float(az.mcse(chains, method="quantile", prob=credibility))
            median_mcse = float(az.mcse(chains, method="median"))
            ess = float(az.ess(chains, method="bulk"))
        problems = list(shared)
        if not ess >= settings.min_ess:
            problems.append(f"ESS({name}) = {ess:.0f} < {settings.min_ess:g}")
        if not rhat < settings.max_rhat:
            problems.append(f"R-hat = {rhat:.4f} >= {settings.max_rhat:g}")
        if summary == "upper" and not mcse <= settings.max_relative_mcse * upper:
            problems.append(f"MCSE({name}_upper)/{name}_upper = {mcse / upper:.4f} > "
                            f"{settings.max_relative_mcse:g}")
        out[name] = Diagnostics(upper, mcse, median, median_mcse, lo68, hi68, ess, rhat, tau,
                                acceptance, n_steps, burn_in, thin, not problems,
                                tuple(problems))
    return out
