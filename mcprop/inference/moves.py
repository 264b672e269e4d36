"""A differential-evolution move for many independent ensembles stepped together, mixed
with a frozen Student-t independence proposal once a group's burn-in is over.

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

A group may also carry a frozen :class:`IndependenceProposal`, a multivariate Student-t fitted
to its walkers after burn-in. Each walker then draws, with the proposal's ``weight``, an
independent point of the Student-t instead of the DE step, accepted with the
Metropolis-Hastings ratio p(x') q(x) / (p(x) q(x')). Both kernels leave the posterior
invariant and the choice between them does not depend on the state, so the mixture does too.

A coordinate bounded below at 0 whose posterior piles up there (the coupling's t = (g/g_max)^4,
a squared magnetic moment) is badly fitted by a Student-t, which puts much of its mass below
0. The proposal may instead be a Student-t in y = sign(x) |x|^(1/k) for such a coordinate
(``power`` k > 1): x = sign(y) |y|^k is a bijection of the real line, so q(x) is a proper
density, q(x) = q_y(y(x)) |x|^(1/k - 1) / k, and draws below 0 are rejected by the prior.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

import emcee
import numpy as np
from scipy.special import ndtri

from mcprop.inference.random import uniforms

#: Random numbers per walker and half-step: two partners, the jitter, the acceptance.
_STREAMS = 4
#: Upper bound of walkers per group in the counter layout.
_MAX_WALKERS = 1 << 16
#: The independence proposal's numbers come from the group key xor this constant (a stream
#: apart from the DE numbers, so that a DE chain is the same with or without the proposal);
#: per walker and half-step: the choice, the acceptance, then those of a draw (three for the
#: chi^2 variate, then the normals).
INDEPENDENCE_KEY = np.uint64(0xD1B54A32D192ED03)
_T_STREAMS = 2
#: Degrees of freedom of the Student-t proposal: tails heavier than the posterior's. A
#: chi^2 variate of 5 degrees of freedom is drawn as two exponentials (chi^2 of 2 each) and
#: a squared normal, from three uniforms (scipy's inverse chi^2 costs ~3 us a number).
T_DOF = 5
#: Uniforms per draw besides the normals.
DRAW_STREAMS = 3


def to_fit_coordinates(x: np.ndarray, power: np.ndarray) -> np.ndarray:
    """y = sign(x) |x|^(1/k) per coordinate (last axis) of power k (broadcast against x;
    k = 1: y = x exactly)."""
    return _signed_power(x, 1.0 / np.asarray(power, dtype=float), power)


def from_fit_coordinates(y: np.ndarray, power: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_fit_coordinates`: x = sign(y) |y|^k."""
    return _signed_power(y, np.asarray(power, dtype=float), power)


def _signed_power(x: np.ndarray, exponent: np.ndarray, power: np.ndarray) -> np.ndarray:
    """sign(x) |x|^exponent in the coordinates (last axis) where some power is not 1, x
    itself in the others (computed only where needed: this runs at every step)."""
    columns = np.flatnonzero(np.any(np.reshape(power != 1, (-1, np.shape(power)[-1])),
                                    axis=0))
    if not len(columns):
        return x
    out = np.array(np.broadcast_to(x, np.broadcast_shapes(np.shape(x), np.shape(power))),
                   dtype=float)
    part, exponent = out[..., columns], np.broadcast_to(exponent, out.shape)[..., columns]
    out[..., columns] = np.sign(part) * np.abs(part) ** exponent
    return out


@dataclass(frozen=True)
class IndependenceProposal:
    """Frozen multivariate Student-t proposals (``T_DOF`` degrees of freedom), one per group:
    location ``mean`` (G, d), lower Cholesky factor ``chol`` (G, d, d) of the scale matrix,
    ``weight`` (G,), the probability that a walker's update uses it (0: DE only), and
    ``power`` (G, d): the Student-t is in y = sign(x) |x|^(1/power) (1: in x itself)."""

    mean: np.ndarray
    chol: np.ndarray
    weight: np.ndarray
    power: np.ndarray

    @classmethod
    def fit(cls, samples: np.ndarray, weight: float, clip_mad: float = 8.0,
            power: np.ndarray | None = None) -> tuple["IndependenceProposal", np.ndarray]:
        """Fit each group's proposal to its samples (G, n, d), after dropping the samples more
        than ``clip_mad`` median absolute deviations from the median in any coordinate (stray
        walkers would widen it, and the acceptance falls); scale matrix = covariance of the
        rest. ``power`` (G, d) (default 1): fit in y = sign(x) |x|^(1/power). Returns the
        proposal and the fraction of samples dropped in each group.

        >>> rng = np.random.default_rng(1)
        >>> proposal, dropped = IndependenceProposal.fit(rng.normal(size=(2, 1000, 3)), 0.8)
        >>> proposal.chol.shape, bool(dropped.max() < 0.01)
        ((2, 3, 3), True)
        """
        power = np.ones(np.shape(samples)[::2]) if power is None else np.asarray(power, float)
        x = to_fit_coordinates(np.asarray(samples, dtype=float), power[:, None])
        n_dim = x.shape[-1]
        median = np.median(x, axis=1, keepdims=True)
        mad = np.median(np.abs(x - median), axis=1, keepdims=True)
        keep = np.all(np.abs(x - median) <= clip_mad * mad, axis=-1)        # (G, n)
        means = np.full(x.shape[::2], np.nan)
        chols = np.full((len(x), n_dim, n_dim), np.nan)
        for g, (group, kept) in enumerate(zip(x, keep, strict=True)):
            rows = group[kept]
            if len(rows) > 2 * n_dim:   # else left NaN: no proposal (a fit that fails)
                means[g] = rows.mean(axis=0)
                try:
                    chols[g] = np.linalg.cholesky(np.atleast_2d(np.cov(rows, rowvar=False)))
                except np.linalg.LinAlgError:
                    pass
        return (cls(means, chols, np.full(len(x), float(weight)), power),
                1.0 - keep.mean(axis=1))

    @classmethod
    def concatenate(cls, proposals: list["IndependenceProposal"]) -> "IndependenceProposal":
        return cls(*(np.concatenate([getattr(p, name) for p in proposals])
                     for name in ("mean", "chol", "weight", "power")))

    @classmethod
    def none(cls, n_groups: int, n_dim: int) -> "IndependenceProposal":
        """Groups without a proposal (weight 0: DE only)."""
        return cls(np.zeros((n_groups, n_dim)), np.broadcast_to(np.eye(n_dim),
                                                                (n_groups, n_dim, n_dim)),
                   np.zeros(n_groups), np.ones((n_groups, n_dim)))

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log q(x) of points x (G, n, d) of each group, up to a constant shared by all
        groups, with the Jacobian |dy/dx| = |x|^(1/k - 1) / k of each coordinate of power k."""
        d = x.shape[-1]
        power = self.power[:, None]
        z = (to_fit_coordinates(x, power) - self.mean[:, None]) @ np.swapaxes(
            self._inverse_chol, 1, 2)
        log_det = np.log(np.diagonal(self.chol, axis1=1, axis2=2)).sum(axis=-1)
        log_q = (-0.5 * (T_DOF + d) * np.log1p(np.sum(z * z, axis=-1) / T_DOF)
                 - log_det[:, None])
        if np.all(self.power == 1):
            return log_q
        columns = np.flatnonzero(np.any(self.power != 1, axis=0))
        power = power[..., columns]
        with np.errstate(divide="ignore"):
            jacobian = (1.0 / power - 1.0) * np.log(np.abs(x[..., columns])) - np.log(power)
        return log_q + jacobian.sum(axis=-1)

    @functools.cached_property
    def _inverse_chol(self) -> np.ndarray:
        return np.linalg.inv(self.chol)

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Points (G, n, d) from uniforms u (G, n, DRAW_STREAMS + d): the chi^2 variate from
        the first three, the normals from the others (inverse transforms)."""
        with np.errstate(divide="ignore"):
            chi2 = -2.0 * np.log(u[..., 0] * u[..., 1]) + ndtri(u[..., 2]) ** 2
            scale = np.sqrt(T_DOF / chi2)
        z = ndtri(u[..., DRAW_STREAMS:]) @ np.swapaxes(self.chol, 1, 2)
        return from_fit_coordinates(self.mean[:, None] + z * scale[..., None],
                                    self.power[:, None])

    def acceptance(self, log_prob, proposal, proposal_log_prob, current) -> np.ndarray:
        """Expected Metropolis-Hastings acceptance (G, n) of each walker ``current``
        (G, n, d), with posterior ``log_prob`` (G, n), for independent proposals: the mean
        over the draws ``proposal`` (G, m, d), with posterior ``proposal_log_prob`` (G, m), of
        min(1, w(x') / w(x)), w = p / q. A walker where p / q is far above its typical value
        (a second island the proposal does not cover) has an acceptance near 0."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_w = log_prob - self.log_density(current)
            log_w_proposal = proposal_log_prob - self.log_density(proposal)
            log_ratio = log_w_proposal[:, None, :] - log_w[:, :, None]
            ratio = np.exp(np.minimum(log_ratio, 0.0))
            return np.mean(np.where(np.isnan(ratio), 0.0, ratio), axis=-1)


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
    independence : IndependenceProposal or None
        The groups' frozen Student-t proposals (None: DE only).
    """

    def __init__(self, log_prob: Callable, keys: np.ndarray, steps: np.ndarray,
                 n_walkers: int, gamma0: float | None = None, sigma: float = 1.0e-5,
                 independence: IndependenceProposal | None = None):
        if not 4 <= n_walkers < _MAX_WALKERS:
            raise ValueError(f"need 4 <= walkers per group < {_MAX_WALKERS}, got {n_walkers}")
        self.log_prob = log_prob
        self.keys = np.asarray(keys, dtype=np.uint64)
        self.steps = np.array(steps, dtype=np.uint64)
        self.n_walkers = n_walkers
        self.gamma0 = gamma0
        self.sigma = sigma
        self.independence = (independence if independence is not None
                             and np.any(independence.weight > 0) else None)

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
            log_u, log_ratio = np.log(u[:, 3]), 0.0
            if self.independence is not None:
                proposal, log_u, log_ratio = self._mix(coords[:, moving], proposal, log_u,
                                                       step_counters, offsets)
            new_log_prob = self.log_prob(proposal.reshape(-1, coords.shape[-1]), group)
            new_log_prob = new_log_prob.reshape(n_groups, -1)
            with np.errstate(divide="ignore", invalid="ignore"):
                accept = log_u < new_log_prob - log_prob[:, moving] + log_ratio
            np.copyto(coords[:, moving], proposal, where=accept[..., None])
            np.copyto(log_prob[:, moving], new_log_prob, where=accept)
            accepted[:, moving] = accept
        self.steps += np.uint64(1)
        new_state = emcee.State(coords.reshape(state.coords.shape),
                                log_prob=log_prob.ravel(), random_state=state.random_state)
        return new_state, accepted.ravel()

    def _mix(self, current, de_proposal, de_log_u, step_counters, offsets):
        """Replace, with each group's weight, DE proposals by Student-t draws: the proposals,
        the log uniforms of the acceptance and the log Hastings ratios log q(x) - log q(x')."""
        q = self.independence
        n_dim = current.shape[-1]
        streams = _T_STREAMS + DRAW_STREAMS + n_dim
        # counter: ((step x 2 + half) x streams + stream) x max walkers + walker, with the
        # half and walker of ``offsets``' first stream
        half_walker = offsets[0] % np.uint64(_MAX_WALKERS) + (
            offsets[0] // np.uint64(_STREAMS * _MAX_WALKERS)) * np.uint64(
            streams * _MAX_WALKERS)
        counters = (step_counters // np.uint64(_STREAMS) * np.uint64(streams)
                    + np.arange(streams, dtype=np.uint64)[:, None] * np.uint64(_MAX_WALKERS)
                    + half_walker)
        u = uniforms((self.keys ^ INDEPENDENCE_KEY)[:, None, None], counters)
        use = u[:, 0] < q.weight[:, None]                       # (G, moving)
        drawn = q.draw(np.moveaxis(u[:, _T_STREAMS:], 1, -1))
        proposal = np.where(use[..., None], drawn, de_proposal)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.where(use, q.log_density(current) - q.log_density(proposal), 0.0)
        return proposal, np.where(use, np.log(u[:, 1]), de_log_u), log_ratio
