"""Sampling the posteriors of many grid points (masses) in lockstep with emcee.

Every point of the grid (a Z' mass; the one point of a run without masses) has
``n_ensembles`` independent emcee ensembles of ``n_walkers`` walkers. All ensembles of all
active points advance together in one ``emcee.EnsembleSampler`` whose move
(:class:`~mcprop.inference.moves.GroupedDEMove`) keeps each ensemble separate, so one
posterior call evaluates a half-ensemble of every point. After every chunk of steps the
points due a check are diagnosed; a point leaves the batch once every reported quantity
passes the convergence criteria or it reaches the step cap. Random numbers are a pure
function of the run seed, the point, the ensemble and the step, so a point's chains are the
same whatever other points share its batch, and a run continued from a checkpoint ends
exactly as an uninterrupted one.
"""

import dataclasses
import functools
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import emcee
import numpy as np
from scipy.special import chdtri

from mcprop.inference.diagnostics import (
    Diagnostics,
    autocorrelation_time,
    burn_in_steps,
    diagnose,
    ensembles_as_chains,
    expected_ess,
    long_enough,
    thinning,
)
from mcprop.inference.limits import NuisanceCoordinates, laplace_fit
from mcprop.inference.moves import (
    DRAW_STREAMS,
    INDEPENDENCE_KEY,
    GroupedDEMove,
    IndependenceProposal,
    from_fit_coordinates,
    to_fit_coordinates,
)
from mcprop.inference.posterior import ScanPosterior
from mcprop.inference.random import group_keys, uniforms

# the settings live in a light module (no emcee) so that reading a config stays fast
from mcprop.inference.sampler_settings import PROPOSALS as PROPOSALS
from mcprop.inference.sampler_settings import SamplerSettings
from mcprop.inference.storage import atomic_write_npz, chunk_file, remove_checkpoint

log = logging.getLogger(__name__)


class CheckpointError(Exception):
    """A checkpoint that cannot be used (unreadable, from another run, or inconsistent)."""


@dataclass
class MassChains:
    """The chains of one grid point (mass): every step so far (float32, for the diagnostics and the
    stored draws) and the current state (float64, to continue from).

    history: (n_ens, n_steps, n_walkers, n_dim), step 0 is the initial state.
    ``saved_steps`` and ``saved_chunks``: how much of the history the checkpoint holds.
    ``independence``: the ensembles' Student-t proposals (None: DE only); ``frozen``: the
    proposal is final (the kept chain may start); ``fits``/``passed``: fits of the proposal
    so far, and whether the last one passed (:func:`adapt_proposal`); ``predicted_steps``:
    the step count at which the last autocorrelation time predicts it passes (None before
    an estimate).
    """

    history: np.ndarray
    coords: np.ndarray
    log_prob: np.ndarray
    accepted: np.ndarray
    pending: list = field(default_factory=list)
    next_check: int = 0
    burn_floor: int = 0
    saved_steps: int = 0
    saved_chunks: int = 0
    independence: IndependenceProposal | None = None
    frozen: bool = True
    fits: int = 0
    passed: bool = False
    predicted_steps: int | None = None

    @property
    def n_steps(self) -> int:
        return self.history.shape[1] + sum(chunk.shape[1] for chunk in self.pending)

    def full_history(self) -> np.ndarray:
        if self.pending:
            self.history = np.concatenate([self.history, *self.pending], axis=1)
            self.pending = []
        return self.history

    def save(self, path: Path, identity: dict) -> None:
        """Checkpoint: the steps since the last checkpoint as the next chunk file, then the
        state (current walkers, counters, the number of chunks) in ``path``, written last,
        so that a checkpoint costs what is new and a kill at any moment leaves the last
        complete one."""
        history = self.full_history()
        if history.shape[1] > self.saved_steps:
            atomic_write_npz(chunk_file(path, self.saved_chunks),
                             history=history[:, self.saved_steps:])
            self.saved_steps, self.saved_chunks = history.shape[1], self.saved_chunks + 1
        proposal = {} if self.independence is None else {
            f"t_{name}": getattr(self.independence, name) for name in _PROPOSAL_ARRAYS}
        atomic_write_npz(path, coords=self.coords, log_prob=self.log_prob,
                         accepted=self.accepted, n_steps=np.array(self.saved_steps),
                         n_chunks=np.array(self.saved_chunks),
                         next_check=np.array(self.next_check),
                         burn_floor=np.array(self.burn_floor),
                         adaptation=np.array([self.frozen, self.fits, self.passed]),
                         identity=np.array(json.dumps(identity, sort_keys=True)), **proposal)

    @classmethod
    def load(cls, path: Path, identity: dict, posterior: ScanPosterior, point_index: int,
             settings: SamplerSettings) -> "MassChains":
        """Read a checkpoint and verify it belongs to this run and mass and is consistent."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("coords", "log_prob", "accepted", "n_steps",
                                               "n_chunks", "next_check", "burn_floor",
                                               "adaptation", "identity")}
                proposal = {name: data[f"t_{name}"] for name in _PROPOSAL_ARRAYS
                            if f"t_{name}" in data.files}
            stored = json.loads(str(arrays.pop("identity")))
        except Exception as exc:
            raise CheckpointError(f"{path}: unreadable checkpoint ({exc})") from None
        if stored != json.loads(json.dumps(identity, sort_keys=True)):
            raise CheckpointError(f"{path}: checkpoint of another run or mass")
        n_chunks = int(arrays["n_chunks"])
        try:
            chunks = []
            for k in range(n_chunks):
                with np.load(chunk_file(path, k), allow_pickle=False) as data:
                    chunks.append(data["history"])
            history = np.concatenate(chunks, axis=1)
        except Exception as exc:
            raise CheckpointError(f"{path}: unreadable checkpoint chunk ({exc})") from None
        shape = (settings.n_ensembles, settings.n_walkers, len(posterior.names))
        coords = arrays["coords"]
        n_steps = history.shape[1] if history.ndim == 4 else -1
        if (coords.shape != shape or history.ndim != 4
                or (history.shape[0], *history.shape[2:]) != shape
                or arrays["log_prob"].shape != shape[:2]
                or arrays["accepted"].shape != shape[:2] or history.dtype != np.float32):
            raise CheckpointError(f"{path}: checkpoint shape does not match the settings")
        if (n_steps != int(arrays["n_steps"]) or (n_steps - 1) % settings.chunk_steps
                or n_steps - 1 > _capped_steps(settings)):
            raise CheckpointError(f"{path}: checkpoint length {n_steps} does not match the "
                                  f"chunking or the step cap")
        if not (np.all(np.isfinite(history)) and np.all(np.isfinite(coords))):
            raise CheckpointError(f"{path}: checkpoint holds non-finite coordinates")
        recomputed = posterior(coords.reshape(-1, shape[2]), point_index).reshape(shape[:2])
        if not np.array_equal(recomputed, arrays["log_prob"]) or not np.all(
                np.isfinite(recomputed)):
            raise CheckpointError(f"{path}: checkpoint state does not match the posterior")
        accepted = arrays["accepted"]
        if np.any(accepted < 0) or np.any(accepted > n_steps):
            raise CheckpointError(f"{path}: checkpoint acceptance counts out of range")
        burn_floor = int(arrays["burn_floor"])
        if not 0 <= burn_floor <= n_steps:
            raise CheckpointError(f"{path}: checkpoint burn-in floor out of range")
        independence = None
        if proposal:
            shapes = {"mean": shape[::2], "chol": (shape[0], shape[2], shape[2]),
                      "weight": shape[:1], "power": shape[::2]}
            if (set(proposal) != set(shapes) or any(proposal[k].shape != v
                                                    for k, v in shapes.items())
                    or not all(np.all(np.isfinite(v)) for v in proposal.values())):
                raise CheckpointError(f"{path}: checkpoint proposal does not match the "
                                      f"settings")
            independence = IndependenceProposal(**proposal)
        frozen, fits, passed = (int(v) for v in arrays["adaptation"])
        return cls(history, coords, recomputed, accepted.astype(np.int64),
                   next_check=int(arrays["next_check"]), burn_floor=burn_floor,
                   saved_steps=n_steps, saved_chunks=n_chunks, independence=independence,
                   frozen=bool(frozen), fits=fits, passed=bool(passed))


#: The arrays of an IndependenceProposal in a checkpoint (as ``t_NAME``).
_PROPOSAL_ARRAYS = ("mean", "chol", "weight", "power")


@dataclass(frozen=True)
class MassSample:
    """What sampling one grid point produced: the kept coordinates, the reported
    quantities ({"g": ...} for the Z'), the diagnostics of each, and the draws a run stores
    (:func:`stored_draws`), from which the diagnostics were computed."""

    point_index: int
    coords: np.ndarray          # (n_ens, n_draws, n_walkers, n_dim), after burn-in, thinned
    quantities: dict[str, np.ndarray]   # each (n_ens, n_draws, n_walkers)
    best_coords: np.ndarray     # (n_dim,), the highest-posterior walker of the last step
    diagnostics: dict[str, Diagnostics]
    draws: dict[str, np.ndarray]    # as stored: each (n_ens, n_walkers * n_draws), float32

    @property
    def converged(self) -> bool:
        return all(d.converged for d in self.diagnostics.values())


def stored_draws(posterior: ScanPosterior, kept: np.ndarray,
                 quantities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The draws a point stores: the reported quantities, then the nuisances, each in the
    chain files' layout (:func:`~mcprop.inference.diagnostics.ensembles_as_chains`: chain =
    ensemble). kept: (n_ens, n_draws, n_walkers, n_dim) after burn-in and thinning."""
    k = len(posterior.new_physics.names)
    draws = dict(quantities)
    for j, name in enumerate(posterior.nuisance_names, start=k):
        draws[name] = kept[..., j]
    return {name: ensembles_as_chains(x) for name, x in draws.items()}


def _capped_steps(settings: SamplerSettings) -> int:
    """The step cap rounded up to whole chunks."""
    return math.ceil(settings.max_steps / settings.chunk_steps) * settings.chunk_steps


#: With ``start = "prior"`` and the Student-t proposal each walker's nuisances are the best
#: of this many draws of their start distribution (by posterior, at the walker's new-physics
#: start): they start where the posterior is, while the new physics keeps its start
#: distribution, spread over every island of the posterior.
START_CANDIDATES = 8
#: With ``start = "mode"`` the nuisances start from a Student-t of START_DOF degrees of
#: freedom around the posterior's mode at negligible new physics, its scale the Laplace
#: approximation's (2 H^-1, H the Hessian of -2 ln p) times START_INFLATION: overdispersed
#: against the posterior, so that R-hat across ensembles, which draw their starts apart,
#: still compares chains that started apart. The new physics keeps its start distribution
#: (spread over its prior up to ``initial_np_fraction``, where a posterior one-sided at 0 or
#: with islands lives).
START_DOF = 5
START_INFLATION = 1.5
#: The mode is found at new physics adding this fraction of ``initial_np_fraction``.
_MODE_NP_FRACTION = 1e-3
#: A fit whose -2 ln p stays above this found no mode (laplace_fit caps -2 ln p at 1e12
#: outside the support); the least curvature of a direction of the start [per unit z^2].
_NO_MODE = 1e11
_MIN_START_CURVATURE = 1e-3


@dataclass(frozen=True)
class StartApproximation:
    """An overdispersed approximation of a point's posterior over the nuisances: draws are
    ``coordinates.nuisances(centre + START_INFLATION * t_5 @ scale.T)`` in the profile fits'
    coordinates z (:class:`~mcprop.inference.limits.NuisanceCoordinates`, which keep the
    nuisances bounded on both sides inside their domain)."""

    coordinates: NuisanceCoordinates
    centre: np.ndarray      # (n,) the mode in z
    scale: np.ndarray       # (n, n) square root of the Laplace covariance 2 H^-1 in z

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws of the nuisances (n, n_nuisances)."""
        normal = rng.standard_normal((n, len(self.centre)))
        t = normal * np.sqrt(START_DOF / rng.chisquare(START_DOF, n))[:, None]
        return self.coordinates.nuisances(self.centre + START_INFLATION * t @ self.scale.T)


def start_approximation(posterior: ScanPosterior, point_index: int, new_physics: np.ndarray,
                        start: np.ndarray) -> StartApproximation | None:
    """The Laplace approximation of the posterior over the nuisances at new-physics
    coordinates ``new_physics`` (k,), from the damped Newton of the profile fits
    (:func:`~mcprop.inference.limits.laplace_fit`) started at the nuisances ``start``, with
    the finite-difference Hessian at the mode (its eigenvalues made positive). None where
    the fit finds no finite mode."""
    if not posterior.nuisance_names:
        return None
    values = posterior.new_physics.values(np.asarray(new_physics, dtype=float)[None],
                                          np.array([point_index]))
    value, coordinates, mode, hessian = laplace_fit(posterior, point_index, values, start)
    if not (value < _NO_MODE and np.all(np.isfinite(hessian))):
        return None
    curvature, vectors = np.linalg.eigh(hessian)
    curvature = np.maximum(np.abs(curvature), _MIN_START_CURVATURE)
    return StartApproximation(coordinates, mode, vectors * np.sqrt(2.0 / curvature))


def initial_chains(posterior: ScanPosterior, point_index: int, settings: SamplerSettings,
                   seed: int) -> MassChains:
    """Walkers started inside the support: the new physics up to where it adds
    ``initial_np_fraction`` of the SM rate (:meth:`NewPhysics.start`); the nuisances from
    the overdispersed approximation around the posterior's mode (``start = "mode"``,
    :func:`start_approximation`; the priors where it has no mode), or from their priors
    (``start = "prior"``; with the Student-t proposal each walker's nuisances the best of
    START_CANDIDATES draws)."""
    shape = (settings.n_ensembles, settings.n_walkers, len(posterior.names))
    k_np = len(posterior.new_physics.names)
    approximation = None
    if settings.start == "mode":
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(point_index, 0, 2)))
        near_zero = posterior.start(rng, 1, point_index,
                                    _MODE_NP_FRACTION * settings.initial_np_fraction)[0]
        centres = posterior.priors.centres()
        approximation = start_approximation(
            posterior, point_index, near_zero[:k_np],
            np.array([centres[name] for name in posterior.nuisance_names]))
    candidates = 1 if settings.proposal == "de" or approximation is not None \
        else START_CANDIDATES
    coords, log_prob = np.empty(shape), np.full(shape[:2], -np.inf)
    for k in range(settings.n_ensembles):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(point_index, k, 1)))
        for _ in range(100):
            todo = ~np.isfinite(log_prob[k])
            if not todo.any():
                break
            n = int(todo.sum())
            draws = posterior.start(rng, n * candidates, point_index,
                                    settings.initial_np_fraction).reshape(n, candidates, -1)
            draws[:, :, :k_np] = draws[:, :1, :k_np]
            if approximation is not None:
                draws[:, 0, k_np:] = approximation.draw(rng, n)
            draws_log_prob = posterior(draws.reshape(n * candidates, -1),
                                       point_index).reshape(n, candidates)
            best = np.argmax(draws_log_prob, axis=1)
            coords[k, todo] = draws[np.arange(n), best]
            log_prob[k, todo] = draws_log_prob[np.arange(n), best]
        else:
            raise RuntimeError(f"no walker start with finite posterior at "
                               f"{posterior.new_physics.label(point_index)}")
    return MassChains(coords[:, None].astype(np.float32), coords, log_prob,
                      np.zeros(shape[:2], dtype=np.int64), next_check=settings.chunk_steps + 1,
                      frozen=settings.proposal == "de")


def _advance(posterior: ScanPosterior, chains: dict[int, MassChains], keys: dict[int, np.ndarray],
             settings: SamplerSettings) -> None:
    """Every mass in ``chains`` ``chunk_steps`` further, in one emcee run."""
    masses = list(chains)
    n_ens, n_walkers = settings.n_ensembles, settings.n_walkers
    n_dim = len(posterior.names)
    group_mass = np.repeat(masses, n_ens)
    coords = np.concatenate([chains[m].coords for m in masses]).reshape(-1, n_dim)
    log_prob = np.concatenate([chains[m].log_prob for m in masses]).ravel()
    steps = np.repeat([chains[m].n_steps - 1 for m in masses], n_ens)

    def log_prob_rows(x, group):
        return posterior(x, group_mass[group])

    independence = [chains[m].independence for m in masses]
    move = GroupedDEMove(log_prob_rows, np.concatenate([keys[m] for m in masses]), steps,
                         n_walkers, independence=None if all(
                             q is None for q in independence) else
                         IndependenceProposal.concatenate(
                             [q or IndependenceProposal.none(n_ens, n_dim)
                              for q in independence]))
    sampler = emcee.EnsembleSampler(
        len(coords), n_dim, lambda x: log_prob_rows(x, np.arange(len(x)) // n_walkers),
        moves=[move], vectorize=True, backend=emcee.backends.Backend(dtype=np.float32))
    state = sampler.run_mcmc(emcee.State(coords, log_prob=log_prob), settings.chunk_steps,
                             skip_initial_state_check=True, progress=False)
    new = sampler.get_chain().reshape(settings.chunk_steps, len(masses), n_ens, n_walkers,
                                      n_dim)
    accepted = sampler.backend.accepted.astype(np.int64).reshape(len(masses), n_ens, n_walkers)
    final = state.coords.reshape(len(masses), n_ens, n_walkers, n_dim)
    final_log_prob = state.log_prob.reshape(len(masses), n_ens, n_walkers)
    for i, m in enumerate(masses):
        c = chains[m]
        # C order, as a history read back from a checkpoint: reductions over it (the
        # diagnostics, the spreads) then round alike in a continued run
        c.pending.append(np.ascontiguousarray(np.moveaxis(new[:, i], 0, 1)))
        c.coords, c.log_prob = final[i], final_log_prob[i]
        c.accepted = c.accepted + accepted[i]


def _check(posterior: ScanPosterior, point_index: int, chains: MassChains,
           settings: SamplerSettings, credibility: float,
           keys: np.ndarray) -> MassSample | None:
    """Diagnose a point due a check: its sample when converged or capped, else None (and
    the step of its next check, from the autocorrelation time, in ``chains.next_check``).
    Before the proposal is frozen a check adapts it instead (:func:`adapt_proposal`)."""
    n_steps = chains.n_steps
    at_cap = n_steps - 1 >= _capped_steps(settings)
    history = chains.full_history()
    if not chains.frozen and not at_cap:
        adapt_proposal(posterior, point_index, chains, settings, keys)
        if chains.independence is not None:
            chains.next_check = n_steps + settings.chunk_steps
            return None
        # no proposal: the chains move by DE, and may converge with it
    floor = chains.burn_floor
    tau = autocorrelation_time(history, floor)
    if chains.independence is not None:
        settings = dataclasses.replace(settings, min_kept_tau=settings.min_kept_tau_t)
    if math.isfinite(tau):
        chains.predicted_steps = floor + _predicted_length(tau, settings)
    n_chains = settings.n_ensembles * settings.n_walkers
    ready = long_enough(tau, n_steps, settings, floor) and expected_ess(
        tau, n_steps, n_chains, settings, floor) >= settings.min_ess
    if ready or at_cap:
        burn = burn_in_steps(tau, n_steps, settings, floor)
        thin = thinning(tau)
        kept = history[:, burn::thin].astype(np.float64)
        quantities = posterior.quantities(kept, point_index)
        draws = stored_draws(posterior, kept, quantities)
        acceptance = float(np.mean(chains.accepted) / max(n_steps - 1, 1))
        diagnostics = diagnose(draws, list(quantities), settings, credibility, tau, n_steps,
                               burn, thin, acceptance, posterior.new_physics.summary, floor)
        sample = MassSample(point_index, kept, quantities,
                            chains.coords[np.unravel_index(np.argmax(chains.log_prob),
                                                           chains.log_prob.shape)],
                            diagnostics, draws)
        if sample.converged or at_cap:
            return sample
    chains.next_check = max(n_steps + settings.chunk_steps,
                            floor + _predicted_length(tau, settings))
    if not chains.frozen:   # the next fit
        chains.next_check = n_steps + settings.chunk_steps
    return None


#: Probability that a walker's update draws from the Student-t proposal (else a DE step).
INDEPENDENCE_WEIGHT = 0.8
#: The Student-t proposal is used only where its expected acceptance is at least
#: ``settings.proposal_floor`` in every ensemble, and at least MIN_WALKER_ACCEPTANCE for
#: every walker: a walker where the posterior is far above the proposal (an island the
#: proposal misses) would stay stuck.
MIN_WALKER_ACCEPTANCE = 0.002
#: ``proposal_fit = "bounded"`` also fits the Student-t in y = x^(1/k) of new-physics
#: coordinates bounded at 0, for these k.
BOUNDED_POWERS = (2.0, 4.0)
#: A walker stuck that way whose log posterior is below its ensemble's median by more than
#: half the chi^2 quantile of this probability is a straggler of the burn-in, not an island:
#: while they are at most MAX_STRAGGLER_FRACTION of their ensemble, such walkers are moved
#: onto good walkers of the ensemble (the burn-in floor moves past the reset).
STRAGGLER_PROBABILITY = 1e-3
MAX_STRAGGLER_FRACTION = 0.25
#: Key of the choice of the walkers stragglers are moved onto (xor the group key).
_STRAGGLER_KEY = np.uint64(0x5851F42D4C957F2D)
#: A passing fit is frozen only when its location moved by less than this (Mahalanobis
#: distance in its own scale) from the previous fit's: the walkers are no longer in transit.
MAX_LOCATION_SHIFT = 1.0
#: The fit uses the last chunk or the last FIT_WINDOW_STEPS steps (the longer), every
#: FIT_THINNING-th step (neighbouring steps of a walker are nearly the same point).
FIT_WINDOW_STEPS = 100
FIT_THINNING = 2
#: Key of the pilot draws that measure a fitted proposal's acceptance (xor the group key).
_PILOT_KEY = np.uint64(0x8CB92BA72F3D8DD7)


def adapt_proposal(posterior: ScanPosterior, point_index: int, chains: MassChains,
                   settings: SamplerSettings, keys: np.ndarray) -> None:
    """Fit each ensemble's Student-t proposal to its walkers' recent positions
    (FIT_WINDOW_STEPS; :meth:`IndependenceProposal.fit`), and measure its expected
    acceptance with one pilot draw per walker against the current walkers. A fit passes
    when every ensemble accepts at least ``settings.proposal_floor`` and every walker
    MIN_WALKER_ACCEPTANCE.

    A passing proposal is used (mixed with DE) in the next chunk; after a chunk with a
    passing proposal, a fit that passes again and whose location moved by less than
    MAX_LOCATION_SHIFT is frozen. The burn-in floor follows every chunk that moved with a
    proposal still adapting: the kept chain starts after the last adaptation, so every kept
    step is a Metropolis-Hastings step of a fixed kernel. Where the fits fail (a multimodal
    posterior, low acceptance) the chains move by DE and may converge with it.
    """
    history = chains.history
    n_steps = history.shape[1]
    n_ens, n_walkers, n_dim = chains.coords.shape
    start = max(n_steps - max(settings.chunk_steps, FIT_WINDOW_STEPS), 0)
    window = history[:, start::FIT_THINNING].astype(np.float64).reshape(n_ens, -1, n_dim)
    # the new-physics coordinates bounded below at 0 (every position of the window >= 0)
    bounded = np.zeros(n_dim, dtype=bool)
    k_np = len(posterior.new_physics.names)
    bounded[:k_np] = np.all(window[..., :k_np] >= 0, axis=(0, 1))
    powers = (1.0, *BOUNDED_POWERS) if settings.proposal_fit == "bounded" and bounded.any() \
        else (1.0,)
    # pilot draws: counter = (step x streams + stream) x walkers + walker
    streams = DRAW_STREAMS + n_dim
    counters = ((np.uint64(n_steps) * np.uint64(streams)
                 + np.arange(streams, dtype=np.uint64)[:, None]) * np.uint64(n_walkers)
                + np.arange(n_walkers, dtype=np.uint64))
    u = np.moveaxis(uniforms((keys ^ INDEPENDENCE_KEY ^ _PILOT_KEY)[:, None, None], counters),
                    1, -1)
    # per ensemble the candidate whose density fits the window best (the largest mean
    # log q of its positions, Jacobian included: the least Kullback-Leibler divergence
    # from the walkers' distribution; the first on ties), then its pilot
    candidates = [IndependenceProposal.fit(window, INDEPENDENCE_WEIGHT, power=np.broadcast_to(
        np.where(bounded, power, 1.0), (n_ens, n_dim))) for power in powers]
    if len(candidates) > 1:
        with np.errstate(all="ignore"):
            fit_quality = np.stack([np.nan_to_num(np.mean(q.log_density(window), axis=1),
                                                  nan=-np.inf, posinf=-np.inf)
                                    for q, _ in candidates])
        best = np.argmax(fit_quality, axis=0)
        fitted, dropped = (IndependenceProposal(*(np.stack([
            getattr(q, name) for q, _ in candidates])[best, np.arange(n_ens)]
            for name in ("mean", "chol", "weight", "power"))),
            np.stack([d for _, d in candidates])[best, np.arange(n_ens)])
    else:
        (fitted, dropped), = candidates
    degenerate = not (np.all(np.isfinite(fitted.mean)) and np.all(np.isfinite(fitted.chol)))
    if degenerate:
        # a degenerate fit (fewer positions left than twice the dimensions) fails
        fitted = dataclasses.replace(fitted, mean=np.nan_to_num(fitted.mean), chol=np.where(
            np.isfinite(fitted.chol), fitted.chol, np.eye(n_dim)), weight=fitted.weight * 0)
    pilot = fitted.draw(u)
    with np.errstate(all="ignore"):
        pilot_log_prob = posterior(pilot.reshape(-1, n_dim), point_index).reshape(
            n_ens, n_walkers)
    walker_acceptance = fitted.acceptance(chains.log_prob, pilot, pilot_log_prob,
                                          chains.coords)
    stuck = walker_acceptance < MIN_WALKER_ACCEPTANCE
    straggler = chains.log_prob < np.median(chains.log_prob, axis=1, keepdims=True) - \
        _stray_margin(n_dim, STRAGGLER_PROBABILITY)
    stuck &= straggler
    if stuck.any() and stuck.sum(axis=1).max() <= MAX_STRAGGLER_FRACTION * n_walkers:
        u = uniforms((keys ^ _STRAGGLER_KEY)[:, None], np.uint64(n_steps) * np.uint64(
            n_walkers) + np.arange(n_walkers, dtype=np.uint64))
        for k in np.flatnonzero(stuck.any(axis=1)):
            good = np.flatnonzero(~stuck[k])
            targets = good[(u[k, stuck[k]] * len(good)).astype(np.intp)]
            chains.coords[k, stuck[k]] = chains.coords[k, targets]
            chains.log_prob[k, stuck[k]] = chains.log_prob[k, targets]
            walker_acceptance[k, stuck[k]] = walker_acceptance[k, targets]
        chains.burn_floor = n_steps
        log.debug("%s: %d stragglers reset at step %d", posterior.new_physics.label(
            point_index), int(stuck.sum()), n_steps)
    acceptance = walker_acceptance.mean(axis=1)
    passes = bool(not degenerate and acceptance.min() >= settings.proposal_floor
                  and walker_acceptance.min() >= MIN_WALKER_ACCEPTANCE)
    chains.fits += 1
    previous = chains.independence
    label = posterior.new_physics.label(point_index)
    if passes and chains.passed and previous is not None:
        # the previous location in this fit's coordinates (the powers may differ)
        previous_mean = to_fit_coordinates(from_fit_coordinates(previous.mean, previous.power),
                                           fitted.power)
        shift = np.linalg.solve(fitted.chol, (fitted.mean - previous_mean)[..., None])
        stable = float(np.sqrt(np.sum(shift**2, axis=(1, 2))).max()) < MAX_LOCATION_SHIFT
    else:
        stable = False
    if stable:
        chains.independence, chains.frozen = fitted, True
        log.debug("%s: Student-t proposal frozen at step %d after %d fits (expected "
                  "acceptance %.2f-%.2f, powers %s)", label, n_steps - 1, chains.fits,
                  acceptance.min(), acceptance.max(), fitted.power[:, :k_np].tolist())
    else:
        chains.independence = fitted if passes else None
        log.debug("%s: fit %d at step %d %s (expected acceptance %.2f, least of a walker "
                  "%.3f; %.1f%% of positions more than 8 MAD out; powers %s)", label,
                  chains.fits, n_steps - 1, "passes" if passes else "fails", acceptance.min(),
                  walker_acceptance.min(), 100 * dropped.max(), fitted.power[:, :k_np].tolist())
    if previous is not None:  # the last chunk moved with a proposal still adapting: it is burn-in
        chains.burn_floor = max(chains.burn_floor, n_steps - 1)
    chains.passed = passes


#: A walker whose log posterior lies more than half this chi^2 quantile (in the number of
#: sampled coordinates) below the best walker of its ensemble is stray: for a Gaussian
#: posterior the chance of a draw that far out is 1e-9.
STRAY_PROBABILITY = 1e-9
#: Stray walkers are reset only where they are at most this fraction of their ensemble:
#: early on, when most walkers are still far out, copies of the few good ones would leave
#: the ensemble too few distinct points to propose from.
MAX_STRAY_FRACTION = 0.1


@functools.cache
def _stray_margin(n_dim: int, probability: float = STRAY_PROBABILITY) -> float:
    """How far below the best walker of its ensemble a walker is stray [ln posterior]: half
    the chi^2 quantile of ``probability`` in n_dim dimensions."""
    return 0.5 * float(chdtri(n_dim, probability))


def reset_stray_walkers(chains: MassChains, seed: int, point_index: int) -> None:
    """Move the stray walkers of each ensemble (where they are at most MAX_STRAY_FRACTION of
    it) onto good walkers of the same ensemble (drawn with a generator keyed by seed, mass,
    ensemble and step), and raise the burn-in floor past the reset.

    A walker that starts far out in a posterior the data pin far inside its priors can stay
    stuck there: differential-evolution proposals, built from the other walkers, are far
    too short to bring it back, and its draws widen the tails of every quantity. A walker
    placed on another one separates from it at the next moves.
    """
    margin = _stray_margin(chains.coords.shape[-1])
    stray = chains.log_prob < chains.log_prob.max(axis=1, keepdims=True) - margin
    stray[stray.sum(axis=1) > MAX_STRAY_FRACTION * stray.shape[1]] = False
    if not stray.any():
        return
    step = chains.n_steps
    for k in np.flatnonzero(stray.any(axis=1)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(point_index, k, 3,
                                                                             step)))
        good = np.flatnonzero(~stray[k])
        targets = rng.choice(good, int(stray[k].sum()))
        chains.coords[k, stray[k]] = chains.coords[k, targets]
        chains.log_prob[k, stray[k]] = chains.log_prob[k, targets]
    chains.burn_floor = step
    log.debug("m%03d: %d stray walkers reset at step %d", point_index, int(stray.sum()), step)


def _predicted_length(tau: float, settings: SamplerSettings) -> int:
    """Steps at which chains of autocorrelation time tau pass the length and ESS tests."""
    if not math.isfinite(tau):
        return 0
    n_chains = settings.n_ensembles * settings.n_walkers
    kept = max(settings.min_kept_tau * tau, settings.min_ess * tau / n_chains)
    return int(kept + settings.burn_in_tau * tau)


@dataclass(frozen=True)
class Progress:
    """Where a lockstep batch stands, reported after every chunk of steps and finished
    point.

    ``step``: steps made by its points in progress (the most of any; at the end, of the
    last to finish); ``expected_steps``: the step at which the last of them is predicted to
    finish (their next checks, from each one's autocorrelation time; at most the step cap),
    None while one has no estimate yet; ``done`` of ``total`` points finished.
    """

    step: int
    expected_steps: int | None
    done: int
    total: int


def _progress(active: dict[int, MassChains], step: int, done: int, total: int,
              settings: SamplerSettings) -> Progress:
    """The batch's progress at ``step`` (that of the points in progress, if any)."""
    if not active:
        return Progress(step, step, done, total)
    step = max(c.n_steps for c in active.values()) - 1
    if any(c.predicted_steps is None for c in active.values()):
        return Progress(step, None, done, total)
    last = max(max(c.next_check, c.predicted_steps) for c in active.values()) - 1
    chunks = math.ceil(last / settings.chunk_steps) * settings.chunk_steps
    return Progress(step, max(min(chunks, _capped_steps(settings)), step), done, total)


def sample_points(posterior: ScanPosterior, point_indices: Iterable[int],
                  settings: SamplerSettings, seed: int, credibility: float,
                  on_done: Callable[[MassSample], None] = lambda sample: None,
                  checkpoint_for: Callable[[int], Path] | None = None,
                  identity_for: Callable[[int], dict] = lambda index: {},
                  on_chunk: Callable[[Progress], None] = lambda progress: None
                  ) -> list[MassSample]:
    """Sample the grid points (masses) ``point_indices`` of ``posterior`` in lockstep until
    each converges or reaches the step cap; ``on_done`` is called as each finishes,
    ``on_chunk`` with the batch's :class:`Progress` after every chunk and every finished
    point.

    With ``checkpoint_for(index) -> path``, a point continues from its checkpoint if one
    exists (a checkpoint that fails verification is discarded with a warning), and the
    points in progress are checkpointed at chunk ends, at most every
    ``settings.checkpoint_interval_s`` seconds.
    """
    indices = [int(i) for i in point_indices]
    keys = dict(zip(indices, group_keys(seed, indices, settings.n_ensembles), strict=True))
    active: dict[int, MassChains] = {}
    for index in indices:
        path = checkpoint_for(index) if checkpoint_for else None
        if path is not None and path.exists():
            try:
                active[index] = MassChains.load(path, identity_for(index), posterior, index,
                                                settings)
                log.info("%s: continuing from the checkpoint at step %d",
                         posterior.new_physics.label(index), active[index].n_steps - 1)
                continue
            except CheckpointError as exc:
                log.warning("%s; sampling %s from the start", exc,
                            posterior.new_physics.label(index))
                remove_checkpoint(path)
        active[index] = initial_chains(posterior, index, settings, seed)
    done = []
    last_checkpoint = time.monotonic()
    step = 0
    log.debug("first step of %d points", len(active))
    while active:
        cap = _capped_steps(settings) + 1
        step = max(c.n_steps for c in active.values()) - 1
        for index in [i for i, c in active.items() if c.n_steps >= min(c.next_check, cap)]:
            sample = _check(posterior, index, active[index], settings, credibility,
                            keys[index])
            if sample is not None:
                del active[index]
                done.append(sample)
                on_done(sample)
                if checkpoint_for:
                    remove_checkpoint(checkpoint_for(index))
                on_chunk(_progress(active, step, len(done), len(indices), settings))
        on_chunk(_progress(active, step, len(done), len(indices), settings))
        if not active:
            break
        _advance(posterior, active, keys, settings)
        for index, chains in active.items():
            reset_stray_walkers(chains, seed, index)
        if checkpoint_for and time.monotonic() - last_checkpoint >= \
                settings.checkpoint_interval_s:
            for index, chains in active.items():
                chains.save(checkpoint_for(index), identity_for(index))
            last_checkpoint = time.monotonic()
    return done
