"""The scan over Z' masses: one independent sampling task per mass, on any executor.

Kernels for the whole grid are computed once, in one vectorised call per measurement. Each
mass task samples its posterior, writes its chains (InferenceData) and its result (JSON)
atomically as soon as it finishes, and returns the result; a finished mass is reused on
resume, an unfinished one continues from its checkpoint.
"""

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcprop import __version__
from mcprop.inference.diagnostics import coupling_samples
from mcprop.inference.limits import profile_likelihood_limit
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import Posterior
from mcprop.inference.sampler import CheckpointError, sample_posterior
from mcprop.inference.storage import atomic_write_json, write_inference_data

log = logging.getLogger(__name__)

#: Keys every per-mass result holds; a result file without them is treated as corrupted.
RESULT_KEYS = ("mass_index", "m_zprime_MeV", "g_upper", "g_upper_mcse", "ess", "rhat",
               "tau_steps", "acceptance", "converged", "g_upper_profile")
#: Stored draws per walker after burn-in are thinned to about this many per tau.
DRAWS_PER_TAU = 2


@dataclass(frozen=True)
class MassFiles:
    """Where one mass task keeps its checkpoint, chains and result."""

    checkpoint: Path
    chains: Path
    result: Path


def run_mass(posterior: Posterior, plan: ScanPlan, index: int, files: MassFiles) -> dict:
    """Sample one mass, write its chains and result atomically, return the result."""
    try:
        chains, diag = sample_posterior(posterior, plan.sampler, plan.seed_for(index),
                                        plan.credibility, files.checkpoint)
    except CheckpointError as exc:
        log.warning("%s; sampling m = %g MeV from the start", exc, posterior.mass_MeV)
        files.checkpoint.unlink(missing_ok=True)
        chains, diag = sample_posterior(posterior, plan.sampler, plan.seed_for(index),
                                        plan.credibility, files.checkpoint)
    result = {"mass_index": index, "m_zprime_MeV": posterior.mass_MeV,
              **diag.as_dict(), "g_max": posterior.g_max,
              "credibility": plan.credibility, "coupling_prior": plan.coupling_prior.kind}
    if plan.profile:
        best = chains.log_prob[:, -1].argmax()
        start = chains.coords[:, -1].reshape(-1, chains.coords.shape[-1])[best, 1:]
        result.update(profile_likelihood_limit(posterior, start=start))
    else:
        result["g_upper_profile"] = None
    thin = max(1, int(diag.tau_steps // DRAWS_PER_TAU)) if np.isfinite(diag.tau_steps) else 1
    kept = chains.coords[:, diag.burn_in::thin]
    samples = {"g": coupling_samples(posterior, kept)}
    for j, name in enumerate(posterior.nuisance_names, start=1):
        samples[name] = kept[..., j]
    samples = {name: np.moveaxis(x, 2, 1).reshape(-1, x.shape[1]) for name, x in samples.items()}
    attrs = {"mcprop_version": __version__, "seed": plan.seed, "mass_index": index,
             "m_zprime_MeV": posterior.mass_MeV, "credibility": plan.credibility,
             "coupling_prior": plan.coupling_prior.kind, "g_max": posterior.g_max,
             "g_upper": diag.g_upper, "n_ensembles": plan.sampler.n_ensembles,
             "walkers_per_ensemble": plan.sampler.n_walkers, "thin": thin,
             "burn_in": diag.burn_in, "chain_layout": "chain = ensemble * walkers + walker"}
    write_inference_data(files.chains, samples, attrs)
    atomic_write_json(files.result, result)
    files.checkpoint.unlink(missing_ok=True)
    return result


def run_scan(plan: ScanPlan, files_for: Callable[[int], MassFiles], executor: Executor,
             done: dict[int, dict] | None = None,
             on_result: Callable[[dict], None] = lambda result: None) -> list[dict]:
    """Sample every grid mass not in ``done``; call ``on_result`` as each finishes.

    Returns the results of all masses in grid order.
    """
    results = dict(done or {})
    kernels = plan.kernels()
    futures = {executor.submit(run_mass, plan.posterior(i, kernels), plan, i, files_for(i)): i
               for i in range(len(plan.masses_MeV)) if i not in results}
    try:
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            on_result(result)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [results[i] for i in range(len(plan.masses_MeV))]


@contextmanager
def make_executor(kind: str = "local", workers: int = 2,
                  scheduler: str | None = None) -> Iterator[Executor]:
    """Local processes, or a dask.distributed cluster (a LocalCluster when no address)."""
    if kind == "local":
        with ProcessPoolExecutor(max_workers=workers) as executor:
            yield executor
        return
    if kind != "dask":
        raise ValueError(f"unknown executor {kind!r}; choose local or dask")
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client.get_executor()
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client.get_executor()
