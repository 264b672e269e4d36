"""The scan over a grid (Z' masses, or the one point of a run without masses): blocks of
points sampled in lockstep, on any executor.

The kernels of the whole grid are computed once. The points still to do are dealt into
blocks (interleaved, so that light and heavy masses share the work); each block samples its
points in lockstep (:func:`~mcprop.inference.sampler.sample_points`) and turns each
finished point into a result (:class:`~mcprop.inference.results.MassResult` for a Z' mass,
:class:`~mcprop.inference.results.MomentResult` for magnetic moments), handing it to
``writer`` where it runs. Results do not depend on the blocks: the same seed gives the
same limits with one process, several, or a dask cluster
(:mod:`mcprop.inference.executors` makes them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from mcprop.inference.expected import (
    check_supported,
    expected_band,
    expected_moment_band,
    moment_profile_limits,
)
from mcprop.inference.limits import best_fit_nuisances, profile_likelihood_limit
from mcprop.inference.moments import profile_moments
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import ScanPosterior
from mcprop.inference.results import FitResult, MassResult, MomentResult
from mcprop.inference.spectrum import SpectrumMeasurement, poisson_deviance
from mcprop.physics.magnetic_moment import MOMENT_UNIT_MUB

if TYPE_CHECKING:
    from mcprop.inference.sampler import MassSample, Progress

log = logging.getLogger(__name__)

#: Quantiles of the posterior of g at which the profile fit also evaluates the profile: the
#: posterior puts points into every island of allowed couplings that it holds.
PROFILE_QUANTILES = (0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: Most masses in one block: bounds a worker's memory (chains of every mass in progress).
MAX_BLOCK_MASSES = 64


@dataclass(frozen=True)
class BlockTask:
    """One block of grid points to sample, with where (if anywhere) its files go.

    ``writer`` is called in the worker with each finished result;
    ``checkpoint_for(index)`` and ``identity_for(index)`` locate and identify checkpoints.
    """

    plan: ScanPlan
    posterior: ScanPosterior
    point_indices: tuple[int, ...]
    writer: Callable[[MassResult | MomentResult], None] | None = None
    checkpoint_for: Callable[[int], Path] | None = None
    identity_for: Callable[[int], dict] | None = None


def point_result(plan: ScanPlan, posterior: ScanPosterior,
                 sample: MassSample) -> MassResult | MomentResult:
    """A finished point's result: the credible limits, the profile limit (a Z', one
    magnetic moment), the expected limits if asked, the stored draws (the reported
    quantities and the nuisances, chain = ensemble)."""
    index = sample.point_index
    draws = sample.draws
    if plan.standard_model:
        return fit_result(posterior, sample, draws)
    profile, problems = None, []
    profile_muB: dict[str, float] = {}
    if plan.profile and plan.moments is not None:  # the profile in mu^2 [(1e-11 mu_B)^2]
        profile_muB, problems = _moment_profiles(plan, posterior, sample)
    elif plan.profile:
        profile, problems = _profile(plan, posterior, sample,
                                     sample.diagnostics["g"].upper, sample.quantities["g"])
    if plan.moments is not None:
        result = MomentResult.from_sampling(
            index, plan.moments, sample.diagnostics, posterior.new_physics.upper_muB(), draws,
            profile_muB)
        if problems:
            result = MomentResult(**{**result.__dict__,
                                     "problems": result.problems + tuple(problems)})
        if plan.expected.n_toys:
            with threadpool_limits(1):
                result = result.with_expected(expected_moment_band(
                    posterior, plan.expected, plan.seed, plan.credibility, plan.profile_level))
        return result
    zprime = posterior.new_physics
    result = MassResult.from_sampling(index, float(zprime.masses_MeV[index]),
                                      sample.diagnostics["g"], float(zprime.g_max[index]),
                                      draws, profile)
    if problems:
        result = MassResult(**{**result.__dict__, "problems": result.problems + tuple(problems)})
    if plan.expected.n_toys:
        with threadpool_limits(1):
            result = result.with_expected(expected_band(posterior, index, plan.expected,
                                                        plan.seed, plan.credibility,
                                                        plan.profile_level))
    return result


def _moment_profiles(plan: ScanPlan, posterior: ScanPosterior, sample: MassSample
                     ) -> tuple[dict[str, float], list[str]]:
    """The profile-likelihood limits [mu_B] of a magnetic-moment run by reported name: of
    one moment from the sampled posterior (:func:`_profile`; mu_eff too for ``universal``),
    of several each with the others profiled (:func:`moment_profile_limits`)."""
    names = profile_moments(plan.moments)
    sampled = posterior.new_physics.names
    scales_mu2 = np.array([(sample.diagnostics[name].upper / MOMENT_UNIT_MUB) ** 2
                           for name in names[:len(sampled)]])
    if len(sampled) == 1:
        profile, problems = _profile(plan, posterior, sample, scales_mu2[0],
                                     sample.coords[..., 0])
        if profile is None:
            return {}, problems
        return dict.fromkeys(names, np.sqrt(profile["g_upper_profile"]) * MOMENT_UNIT_MUB), []
    try:
        check_supported(posterior)  # a relative rate has no measured value: no profile
    except ValueError:
        return {}, []
    try:
        with threadpool_limits(1):
            limits_mu2 = moment_profile_limits(posterior, plan.profile_level, scales_mu2)
    except ValueError as exc:
        return {}, [f"profile-likelihood limit not found ({exc})"]
    return dict(zip(names, np.sqrt(limits_mu2) * MOMENT_UNIT_MUB, strict=True)), []


def _profile(plan: ScanPlan, posterior: ScanPosterior, sample: MassSample, scale: float,
             values: np.ndarray) -> tuple[dict[str, float] | None, list[str]]:
    """The profile-likelihood limit of a point (:func:`profile_likelihood_limit`) started
    from the best walker, with the posterior's spread as the nuisances' units, around the
    credible limit ``scale`` and at quantiles of the sampled ``values`` of the scanned
    parameter; None and the problem if it is not found."""
    k = len(posterior.new_physics.names)
    try:
        # one BLAS thread: the optimiser's many tiny BLAS calls are ~6x slower with a
        # thread pool (workers are processes already)
        with threadpool_limits(1):
            spread = sample.coords[..., k:].std(axis=tuple(range(sample.coords.ndim - 1)))
            return profile_likelihood_limit(
                posterior, sample.point_index, plan.profile_level,
                start=sample.best_coords[k:], g_scale=scale, widths=spread,
                g_points=np.quantile(values, PROFILE_QUANTILES)), []
    except ValueError as exc:
        return None, [f"profile-likelihood limit not found ({exc})"]


def fit_result(posterior: ScanPosterior, sample: MassSample,
               draws: dict[str, np.ndarray]) -> FitResult:
    """The result of a Standard-Model fit: the best fit is the maximum of the posterior
    density (Newton from the best walker, :func:`best_fit_nuisances`), with the goodness of
    fit of every spectrum there, at the best walker and of the experiment's own best-fit
    model on the same bins."""
    walker = np.asarray(sample.best_coords, dtype=float)
    spread = sample.coords.std(axis=tuple(range(sample.coords.ndim - 1)))
    with threadpool_limits(1):
        _, best = best_fit_nuisances(posterior, sample.point_index, walker, widths=spread)
    measurements = {m.name: m for m in posterior.measurements
                    if isinstance(m, SpectrumMeasurement)}
    at_walker = posterior.expected_counts(walker, sample.point_index)
    goodness = {}
    for name, counts in posterior.expected_counts(best, sample.point_index).items():
        measurement = measurements[name]
        goodness[name] = {
            "deviance": float(poisson_deviance(measurement.counts, counts[0])),
            "n_bins": int(counts.shape[-1]),
            "deviance_best_walker": float(poisson_deviance(measurement.counts,
                                                           at_walker[name][0]))}
        if measurement.reference_deviance is not None:
            goodness[name]["reference_deviance"] = measurement.reference_deviance
    return FitResult.from_sampling(sample.diagnostics, dict(zip(posterior.names, best,
                                                                strict=True)),
                                   goodness, draws)


def run_block(task: BlockTask, on_chunk: Callable[[Progress], None] = lambda progress: None
              ) -> list[MassResult | MomentResult]:
    """Sample one block; returns its results in the order they finished. ``on_chunk``
    gets the block's :class:`~mcprop.inference.sampler.Progress` after every chunk."""
    # the sampling stack (emcee, which loads scipy.stats) is imported where blocks run: the
    # main process of a run with workers never loads it
    from mcprop.inference.sampler import sample_points

    results = []

    def on_done(sample: MassSample) -> None:
        result = point_result(task.plan, task.posterior, sample)
        if task.writer is not None:
            task.writer(result)
        results.append(result)

    sample_points(task.posterior, task.point_indices, task.plan.sampler, task.plan.seed,
                  task.plan.credibility, on_done, task.checkpoint_for,
                  task.identity_for or (lambda index: {}), on_chunk)
    return results


def blocks(indices: Sequence[int], n_blocks: int) -> list[tuple[int, ...]]:
    """Deal ``indices`` into at least ``n_blocks`` (at most one per index) interleaved blocks
    of at most ``MAX_BLOCK_MASSES``."""
    count = min(max(n_blocks, -(-len(indices) // MAX_BLOCK_MASSES)), len(indices))
    return [tuple(indices[k::count]) for k in range(count) if indices[k::count]]


def run_scan(plan: ScanPlan, posterior: ScanPosterior, todo: Sequence[int],
             executor: Executor | None, n_blocks: int,
             on_block: Callable[[list], None] = lambda results: None,
             poll: Callable[[], None] = lambda: None,
             task_files: Callable[[tuple[int, ...]], dict] = lambda indices: {},
             on_chunk: Callable[[Progress], None] = lambda progress: None
             ) -> list[MassResult | MomentResult]:
    """Sample the grid points ``todo`` in blocks; ``on_block`` gets each block's results as
    it ends, ``poll`` runs about twice a second while blocks are in flight.

    Without an executor the blocks run one after another in this process, with one BLAS
    thread as in a worker (a posterior call is many small products, which a thread pool
    slows down: 17 against 3.6 ms for a batch of 128 spectral walkers at load average 3), and
    ``on_chunk`` gets the running block's :class:`~mcprop.inference.sampler.Progress` after
    every chunk of steps (workers of an executor report finished points only, through
    ``on_block`` and the files ``poll`` may look at).
    """
    tasks = [BlockTask(plan, posterior, block, **task_files(block))
             for block in blocks(list(todo), n_blocks)]
    results: list = []
    if executor is None:
        for task in tasks:
            with threadpool_limits(1):
                block_results = run_block(task, on_chunk)
            results.extend(block_results)
            on_block(block_results)
        return results
    futures = {executor.submit(run_block, task) for task in tasks}
    try:
        while futures:
            finished, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                block_results = future.result()
                results.extend(block_results)
                on_block(block_results)
            poll()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results
