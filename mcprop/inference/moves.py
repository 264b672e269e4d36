"""A differential-evolution move for many independent ensembles stepped together.

emcee's DEMove (ter Braak 2006; Nelson et al. 2014) updates one half of an ensemble with
proposals x + gamma0 (c1 - c2) + jitter built from two distinct walkers c1, c2 of the other
half, then the other half likewise. The jitter is sigma N(0, 1) times the spread of each
coordinate in the other half (emcee adds sigma N(0, 1) in the coordinates' own units, which
swamps a parameter such as Dm^2_21 ~ 1e-4 eV^2 whose width is 2e-6); it depends only on the
other half, so the proposal stays symmetric. Here the walkers of G groups (an ensemble of
one mass each) sit in one array (G, W, n_dim) and are updated together: partners come only
from the walker's own group, so every group is exactly an independent ensemble, but one
posterior call evaluates a half of every group. The halves are fixed (first and second
half of each group's walkers), the random numbers come from :mod:`mcprop.inference.random`
per group and step, so a group's chain does not depend on the other groups in the batch.
"""

import functools
from collections.abc import Callable

import emcee
import numpy as np
from scipy.special import ndtri

from mcprop.inference.random import uniforms

#: Random numbers per walker and half-step: two partners, the jitter, the acceptance.
_STREAMS = 4
#: Upper bound of walkers per group in the counter layout.
_MAX_WALKERS = 1 << 16


class GroupedDEMove(emcee.moves.Move):
    """Differential evolution within groups of walkers, for ``emcee.EnsembleSampler``.

    Parameters
    ----------
    log_prob : callable
        ``log_prob(coords (n, n_dim), group (n,)) -> (n,)``: the posterior of each row,
        which belongs to group ``group[row]``.
    keys : array of uint64 (G,)
        Random keys of the groups.
    steps : array of int (G,)
        Steps each group has taken so far (the counter of its random numbers).
    n_walkers : int
        Walkers per group W; the sampler's walkers are the G x W rows, group-major.
    gamma0 : float, optional
        Scale of the difference vector; emcee's default 2.38 / sqrt(2 n_dim).
    sigma : float
        Width of the jitter relative to the spread of each coordinate in the other half
        (emcee's DEMove default width 1e-5).
    """

    def __init__(self, log_prob: Callable, keys: np.ndarray, steps: np.ndarray,
                 n_walkers: int, gamma0: float | None = None, sigma: float = 1.0e-5):
        if not 4 <= n_walkers < _MAX_WALKERS:
            raise ValueError(f"need 4 <= walkers per group < {_MAX_WALKERS}, got {n_walkers}")
        self.log_prob = log_prob
        self.keys = np.asarray(keys, dtype=np.uint64)
        self.steps = np.array(steps, dtype=np.uint64)
        self.n_walkers = n_walkers
        self.gamma0 = gamma0
        self.sigma = sigma

    @functools.cached_property
    def _halves(self) -> tuple[tuple[slice, slice, np.ndarray, np.ndarray], ...]:
        """Per half-step: the moving walkers, their partners, the counter offsets of their
        random numbers (streams, moving) and the group of each proposal row."""
        n_groups, n_walkers, half = len(self.keys), self.n_walkers, self.n_walkers // 2
        halves = []
        for part, (moving, partners) in enumerate(((slice(0, half), slice(half, None)),
                                                   (slice(half, None), slice(0, half)))):
            walkers = np.arange(n_walkers)[moving].astype(np.uint64)
            offsets = ((np.uint64(part) * _STREAMS + np.arange(_STREAMS, dtype=np.uint64)[:, None])
                       * _MAX_WALKERS + walkers)
            halves.append((moving, partners, offsets,
                           np.repeat(np.arange(n_groups), len(walkers))))
        return tuple(halves)

    def propose(self, model, state):
        n_groups, n_walkers = len(self.keys), self.n_walkers
        coords = state.coords.reshape(n_groups, n_walkers, -1).copy()
        log_prob = state.log_prob.reshape(n_groups, n_walkers).copy()
        gamma0 = self.gamma0 or 2.38 / np.sqrt(2 * coords.shape[-1])
        accepted = np.zeros((n_groups, n_walkers), dtype=bool)
        # counter of a number: ((step x 2 + half) x streams + stream) x max walkers + walker
        step_counters = (self.steps * np.uint64(2 * _STREAMS * _MAX_WALKERS))[:, None, None]
        for moving, partners, offsets, group in self._halves:
            n_partners = n_walkers - len(group) // n_groups
            u = uniforms(self.keys[:, None, None], step_counters + offsets)
            first = (u[:, 0] * n_partners).astype(np.intp)     # (G, moving walkers)
            second = (u[:, 1] * (n_partners - 1)).astype(np.intp)
            second += second >= first
            others = coords[:, partners]
            base = np.arange(n_groups)[:, None] * n_partners    # row of each group's first
            flat = others.reshape(-1, others.shape[-1])
            difference = (np.take(flat, base + first, axis=0)
                          - np.take(flat, base + second, axis=0))  # (G, moving, n_dim)
            # spread of each coordinate over the other half (G, 1, n_dim); the reduction
            # runs along contiguous memory
            spread = np.ascontiguousarray(others.transpose(0, 2, 1)).std(axis=-1)[:, None]
            proposal = (coords[:, moving] + gamma0 * difference
                        + self.sigma * ndtri(u[:, 2])[..., None] * spread)
            new_log_prob = self.log_prob(proposal.reshape(-1, coords.shape[-1]), group)
            new_log_prob = new_log_prob.reshape(n_groups, -1)
            with np.errstate(divide="ignore", invalid="ignore"):
                accept = np.log(u[:, 3]) < new_log_prob - log_prob[:, moving]
            np.copyto(coords[:, moving], proposal, where=accept[..., None])
            np.copyto(log_prob[:, moving], new_log_prob, where=accept)
            accepted[:, moving] = accept
        self.steps += np.uint64(1)
        new_state = emcee.State(coords.reshape(state.coords.shape),
                                log_prob=log_prob.ravel(), random_state=state.random_state)
        return new_state, accepted.ravel()
