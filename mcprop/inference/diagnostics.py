"""Convergence diagnostics and the credible upper limit with its Monte Carlo error.

ArviZ does the statistics: rank-normalised split R-hat with the independent ensembles as
chains (emcee walkers of one ensemble are not independent chains), bulk ESS and the MCSE of
the quantile with walkers as chains (as ``arviz.from_emcee`` maps them). emcee estimates the
integrated autocorrelation time that sets burn-in and chain length.
"""

import math
from dataclasses import asdict, dataclass

import arviz as az
import emcee
import numpy as np


@dataclass(frozen=True)
class Diagnostics:
    """The limit at one mass and the evidence that the chains support it."""

    g_upper: float
    g_upper_mcse: float
    ess: float
    rhat: float
    tau_steps: float
    acceptance: float
    n_steps: int
    burn_in: int
    converged: bool
    problems: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["problems"] = list(self.problems)
        return d


def autocorrelation_time(coords: np.ndarray) -> float:
    """Largest integrated autocorrelation time [steps] over parameters and ensembles,
    estimated on the second half of the chains (clear of the start-up transient).

    coords: (n_ensembles, n_steps, n_walkers, n_dim).
    A walker that has not moved over that stretch gives NaN; tau is then infinite (the
    chains are not yet long enough for an estimate).
    """
    later = coords[:, coords.shape[1] // 2:]
    taus = [emcee.autocorr.integrated_time(chain, c=5, tol=0) for chain in later]
    return math.inf if np.isnan(taus).any() else float(np.max(taus))


def coupling_samples(posterior, coords: np.ndarray) -> np.ndarray:
    """g from the sampled coupling coordinate, same shape as coords[..., 0]."""
    return posterior.coupling_prior.g_from_coordinate(coords[..., 0], posterior.g_max)


def walkers_as_chains(x: np.ndarray) -> np.ndarray:
    """(n_ens, n_steps, n_walkers) -> (n_ens * n_walkers, n_steps)."""
    return np.moveaxis(x, 2, 1).reshape(-1, x.shape[1])


def ensembles_as_chains(x: np.ndarray) -> np.ndarray:
    """(n_ens, n_steps, n_walkers) -> (n_ens, n_steps * n_walkers), step-major."""
    return x.reshape(x.shape[0], -1)


def burn_in_steps(tau: float, n_steps: int, settings) -> int:
    """Burn-in of ``burn_in_tau`` autocorrelation times, at most half the chain."""
    return min(math.ceil(min(settings.burn_in_tau * tau, n_steps)), n_steps // 2)


def long_enough(tau: float, n_steps: int, settings) -> bool:
    """Whether ``min_kept_tau`` autocorrelation times remain after burn-in."""
    return n_steps - burn_in_steps(tau, n_steps, settings) >= settings.min_kept_tau * tau


def diagnose(posterior, chains, settings, credibility: float, tau: float) -> Diagnostics:
    """Limit, MCSE, ESS, R-hat and the converged flag for chains with autocorrelation time
    ``tau`` [steps]."""
    burn = burn_in_steps(tau, chains.n_steps, settings)
    kept = chains.coords[:, burn:]
    g = coupling_samples(posterior, kept)
    g_chains = walkers_as_chains(g)
    g_upper = float(np.quantile(g, credibility))
    mcse = float(az.mcse(g_chains, method="quantile", prob=credibility))
    ess = float(az.ess(g_chains, method="bulk"))
    rhat = max(float(az.rhat(ensembles_as_chains(kept[..., j])))
               for j in range(kept.shape[-1]))
    acceptance = float(np.mean(chains.accepted) / max(chains.n_steps - 1, 1))
    problems = []
    if not long_enough(tau, chains.n_steps, settings):
        problems.append(f"{chains.n_steps - burn} steps after burn-in < "
                        f"{settings.min_kept_tau:g} x tau = {settings.min_kept_tau * tau:.0f}")
    if not ess >= settings.min_ess:
        problems.append(f"ESS(g) = {ess:.0f} < {settings.min_ess:g}")
    if not rhat < settings.max_rhat:
        problems.append(f"R-hat = {rhat:.4f} >= {settings.max_rhat:g}")
    if not mcse <= settings.max_relative_mcse * g_upper:
        problems.append(f"MCSE(g_upper)/g_upper = {mcse / g_upper:.4f} > "
                        f"{settings.max_relative_mcse:g}")
    return Diagnostics(g_upper, mcse, ess, rhat, tau, acceptance, chains.n_steps, burn,
                       not problems, tuple(problems))
