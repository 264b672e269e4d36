"""Convergence diagnostics and the credible upper limits with their Monte Carlo errors.

Limits are reported on quantities derived from the sampled coordinates (g for the Z', the
moments for magnetic moments). Every diagnostic is ArviZ's, computed on exactly the draws a
run stores in its chain files, in their layout (:func:`ensembles_as_chains`): **chain = the
ensemble**, the draw axis = its walkers' thinned draws after burn-in, concatenated walker by
walker (draw = walker x draws_per_walker + thinned step), in single precision. The
ensembles are the independent chains (the walkers of one ensemble are not: they propose
from each other); concatenating each walker's draws keeps the autocorrelation ArviZ
estimates along the draw axis that of a walker in time, so ``az.ess`` counts correlated
draws once. The R-hat of a point is the largest rank-normalised split R-hat
(``az.rhat``) over the stored variables (the reported quantities and the nuisances) that
vary, computed on the draws rearranged by :func:`time_halves` so that ArviZ's split of each
chain compares the early half of the kept steps with the late half (in the walker-major
layout it would compare the first walkers with the last, and miss a trend in time); per
reported quantity come the bulk ESS (``az.ess``) and the MCSE of its quantile
(``az.mcse(method="quantile")``). ``az.summary`` of a chain file thus shows the run's ESS;
its ``r_hat`` is that of the walker-major split, not the run's (``az.rhat`` of
:func:`time_halves` of the draws is). The draws are thinned to about two per
autocorrelation time.

Chain files written before this layout hold one chain per walker (chain = ensemble x
walkers + walker; their ``chain_layout`` attribute says so): they read as before, but
ArviZ's numbers from them are those of walkers as chains, not the run's.

The integrated autocorrelation time that sets burn-in, chain length and thinning is emcee's
estimator (Sokal's automatic window, c = 5), computed for many chains at once with FFTs.
"""

import math
import warnings
from collections.abc import Mapping, Sequence
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


#: The precision of the stored draws (and of the sampler's history): the diagnostics run on
#: the draws as stored, so that ArviZ reads the run's numbers from its chain files.
DRAW_DTYPE = np.float32
#: ``chain_layout`` attribute of the chain files (:func:`ensembles_as_chains`).
CHAIN_LAYOUT = "chain = ensemble; draw = walker * draws_per_walker + thinned step"


def ensembles_as_chains(x: np.ndarray) -> np.ndarray:
    """The stored layout: (n_ens, n_draws, n_walkers) -> (n_ens, n_walkers * n_draws),
    walker-major (each walker's thinned draws in time order, one walker after another), in
    :data:`DRAW_DTYPE`.

    >>> ensembles_as_chains(np.arange(12).reshape(2, 3, 2))[0].tolist()
    [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    """
    x = np.asarray(x)
    return np.ascontiguousarray(np.moveaxis(x, 2, 1), dtype=DRAW_DTYPE).reshape(x.shape[0], -1)


def time_halves(chains: np.ndarray, n_walkers: int) -> np.ndarray:
    """The stored draws (n_ens, n_walkers * n_draws) rearranged for split R-hat: per
    ensemble, the first half of every walker's draws, then the last half, so that the split
    of each chain in two halves (``az.rhat``) is a split in time. With an odd number of
    draws per walker the middle one is left out (as ArviZ leaves out the middle draw).

    >>> time_halves(np.arange(8.0).reshape(1, 8), n_walkers=2)[0].tolist()
    [0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]
    """
    x = np.asarray(chains)
    walkers = x.reshape(x.shape[0], n_walkers, -1)
    half = walkers.shape[-1] // 2
    early, late = walkers[..., :half], walkers[..., walkers.shape[-1] - half:]
    return np.concatenate([early.reshape(x.shape[0], -1), late.reshape(x.shape[0], -1)],
                          axis=-1)


def diagnose(draws: Mapping[str, np.ndarray], reported: Sequence[str], settings,
             credibility: float, tau: float, n_steps: int, burn_in: int, thin: int,
             acceptance: float, summary: str = "upper",
             burn_floor: int = 0) -> dict[str, Diagnostics]:
    """Limit, interval, MCSE, ESS, R-hat and the converged flag of each ``reported``
    quantity, from the stored draws.

    draws: {name: (n_ens, n_walkers * n_draws)} every stored variable in the stored layout
    (``settings.n_walkers`` walkers; :func:`ensembles_as_chains`; after burn-in and
    thinning, ``burn_floor``: the first step after a reset of stray walkers); ``reported``:
    the names of the quantities with a limit (``g`` for the Z'). A quantity converges when
    the chains are long enough, its ESS passes and the largest R-hat of the stored variables
    does, and, for ``summary = "upper"``, the MCSE of its upper limit relative to the limit
    (an interval of a quantity that may be zero or negative has no relative error: its MC
    error is set by the ESS).
    """
    import arviz as az

    # a variable that does not vary (a rate of fixed inputs) has no R-hat (ArviZ: NaN)
    varying = {name: x for name, x in draws.items() if not np.all(x == x.flat[0])}
    rhat = math.nan
    if varying:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            halves = {name: time_halves(x, settings.n_walkers) for name, x in varying.items()}
            rhat = float(np.max(az.rhat(az.convert_to_dataset(halves)).to_array().values))
    shared = []
    if not long_enough(tau, n_steps, settings, burn_floor):
        shared.append(f"{n_steps - burn_in} steps after burn-in < max({settings.min_kept_tau:g}"
                      f" x tau = {settings.min_kept_tau * tau:.0f}, "
                      f"{settings.min_kept_steps})")
    out = {}
    for name in reported:
        chains = draws[name]
        upper, median, lo68, hi68 = (float(q) for q in np.quantile(
            chains, [credibility, 0.5, *INTERVAL_68]))
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
