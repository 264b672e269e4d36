"""Sampling one posterior with several independent emcee ensembles.

The ensembles use differential-evolution moves (ter Braak 2006, emcee's DEMove), which
on these posteriors have about half the autocorrelation time of the default stretch move.
Each ensemble gets its own child of one SeedSequence (walker starts and emcee's generator),
so a run is reproducible bit for bit. The ensembles advance in chunks; after every chunk the
chains and generator states are checkpointed atomically and convergence is checked: burn-in
and length follow the measured autocorrelation time, and sampling stops when the
diagnostics pass or at the step cap. Resuming from a checkpoint continues the same streams,
so an interrupted run ends with the same chains as an uninterrupted one.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import emcee
import numpy as np

from mcprop.inference.diagnostics import (
    Diagnostics,
    autocorrelation_time,
    diagnose,
    long_enough,
)
from mcprop.inference.posterior import Posterior
from mcprop.inference.storage import atomic_write_npz

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplerSettings:
    """How long and how wide to sample, and when a mass counts as converged."""

    n_ensembles: int = 4
    n_walkers: int = 48
    chunk_steps: int = 100
    max_steps: int = 20000
    burn_in_tau: float = 5.0
    min_kept_tau: float = 20.0
    min_ess: float = 2000.0
    max_rhat: float = 1.01
    max_relative_mcse: float = 0.01
    initial_np_fraction: float = 0.3

    def __post_init__(self):
        if self.n_ensembles < 2:
            raise ValueError("n_ensembles must be >= 2 (R-hat compares ensembles)")
        if self.chunk_steps < 1 or self.max_steps < self.chunk_steps:
            raise ValueError("need 1 <= chunk_steps <= max_steps")


class CheckpointError(Exception):
    """A checkpoint file that cannot be used (truncated, corrupted or from other settings)."""


@dataclass
class Chains:
    """Chains of all ensembles: coords (n_ens, n_steps, n_walkers, n_dim), log_prob, accepted
    moves per walker (n_ens, n_walkers) and each ensemble's generator state."""

    coords: np.ndarray
    log_prob: np.ndarray
    accepted: np.ndarray
    random_states: list[tuple]

    @property
    def n_steps(self) -> int:
        return self.coords.shape[1]

    def save(self, path: Path) -> None:
        keys = np.stack([s[1] for s in self.random_states])
        extra = np.array([[s[2], s[3], s[4]] for s in self.random_states], dtype=float)
        atomic_write_npz(path, coords=self.coords, log_prob=self.log_prob,
                         accepted=self.accepted, rng_keys=keys, rng_extra=extra)

    @classmethod
    def load(cls, path: Path, n_ensembles: int, n_walkers: int, n_dim: int) -> "Chains":
        try:
            with np.load(path) as data:
                arrays = {k: data[k] for k in ("coords", "log_prob", "accepted", "rng_keys",
                                               "rng_extra")}
        except Exception as exc:
            raise CheckpointError(f"{path}: unreadable checkpoint ({exc})") from None
        coords = arrays["coords"]
        if coords.ndim != 4 or coords.shape[0] != n_ensembles or coords.shape[2:] != (
                n_walkers, n_dim) or arrays["log_prob"].shape != coords.shape[:3]:
            raise CheckpointError(f"{path}: checkpoint shape {coords.shape} does not match the "
                                  f"sampler settings")
        if not np.all(np.isfinite(coords)):
            raise CheckpointError(f"{path}: checkpoint holds non-finite coordinates")
        states = [("MT19937", keys.astype(np.uint32), int(extra[0]), int(extra[1]), extra[2])
                  for keys, extra in zip(arrays["rng_keys"], arrays["rng_extra"], strict=True)]
        return cls(coords, arrays["log_prob"], arrays["accepted"], states)


def _initial_chains(posterior: Posterior, settings: SamplerSettings,
                    seeds: list[np.random.SeedSequence]) -> Chains:
    """Walkers started inside the support: nuisances from their priors, the coupling
    coordinate uniform up to where the Z' adds ``initial_np_fraction`` of the SM rate."""
    low, high = posterior.coupling_prior.coordinate_bounds(posterior.g_max)
    g_start = posterior.coupling_at_np_fraction(settings.initial_np_fraction)
    start_high = float(posterior.coupling_prior.coordinate_from_g(g_start, posterior.g_max))
    coords, log_probs, states = [], [], []
    for seed in seeds:
        init_seed, chain_seed = seed.spawn(2)
        rng = np.random.default_rng(init_seed)
        position = np.empty((settings.n_walkers, len(posterior.names)))
        log_prob = np.full(settings.n_walkers, -np.inf)
        for _ in range(100):
            todo = ~np.isfinite(log_prob)
            if not todo.any():
                break
            n = int(todo.sum())
            position[todo, 0] = rng.uniform(low, start_high, n)
            draws = posterior.priors.sample(rng, n)
            for j, name in enumerate(posterior.nuisance_names, start=1):
                position[todo, j] = draws[name]
            log_prob[todo] = posterior(position[todo])
        else:
            raise RuntimeError(f"no walker start with finite posterior at m = "
                               f"{posterior.mass_MeV:g} MeV")
        coords.append(position[None])
        log_probs.append(log_prob[None])
        states.append(np.random.RandomState(np.random.MT19937(chain_seed)).get_state())
    return Chains(np.stack(coords), np.stack(log_probs),
                  np.zeros((len(seeds), settings.n_walkers)), states)


def _advance(posterior: Posterior, chains: Chains, steps: int) -> Chains:
    """Run every ensemble ``steps`` further from its last state."""
    n_ens, _, n_walkers, n_dim = chains.coords.shape
    new_coords, new_log_prob, accepted, states = [], [], [], []
    for k in range(n_ens):
        sampler = emcee.EnsembleSampler(n_walkers, n_dim, posterior, vectorize=True,
                                        moves=emcee.moves.DEMove())
        start = emcee.State(chains.coords[k, -1], log_prob=chains.log_prob[k, -1],
                            random_state=chains.random_states[k])
        state = sampler.run_mcmc(start, steps, skip_initial_state_check=True)
        new_coords.append(sampler.get_chain())
        new_log_prob.append(sampler.get_log_prob())
        accepted.append(chains.accepted[k] + sampler.backend.accepted)
        states.append(state.random_state)
    return Chains(np.concatenate([chains.coords, np.stack(new_coords)], axis=1),
                  np.concatenate([chains.log_prob, np.stack(new_log_prob)], axis=1),
                  np.stack(accepted), states)


def sample_posterior(posterior: Posterior, settings: SamplerSettings,
                     seed: np.random.SeedSequence, credibility: float,
                     checkpoint: Path | None = None) -> tuple[Chains, Diagnostics]:
    """Sample until converged or ``max_steps``; checkpoint after every chunk.

    An existing checkpoint is continued (raises CheckpointError if it is unusable). The
    first chunk's initial state is step 0 of the chains.
    """
    n_dim = len(posterior.names)
    if checkpoint is not None and checkpoint.exists():
        chains = Chains.load(checkpoint, settings.n_ensembles, settings.n_walkers, n_dim)
        log.debug("resuming m = %g MeV from step %d", posterior.mass_MeV, chains.n_steps)
    else:
        chains = _initial_chains(posterior, settings, seed.spawn(settings.n_ensembles))
    while True:
        if chains.n_steps > 1:
            tau = autocorrelation_time(chains.coords)
            at_cap = chains.n_steps >= settings.max_steps
            if at_cap or long_enough(tau, chains.n_steps, settings):
                result = diagnose(posterior, chains, settings, credibility, tau)
                if result.converged or at_cap:
                    return chains, result
        steps = min(settings.chunk_steps, settings.max_steps - chains.n_steps)
        chains = _advance(posterior, chains, steps)
        if checkpoint is not None:
            chains.save(checkpoint)
