"""The Student-t independence proposal in bounded coordinates, and the acceptance floor
that decides whether it is used and frozen (:mod:`mcprop.inference.moves`,
:func:`mcprop.inference.sampler.adapt_proposal`)."""

import emcee
import numpy as np
from scipy.stats import norm

from mcprop.inference.moves import GroupedDEMove, IndependenceProposal
from mcprop.inference.random import group_keys
from mcprop.inference.sampler import MassChains, adapt_proposal
from mcprop.inference.sampler_settings import SamplerSettings


def test_proposal_in_root_coordinate_alone_samples_a_half_normal_exactly():
    """x0 >= 0 half-normal (the shape of g's posterior at its bound), x1 | x0 ~ N(x0 / 2, 1).
    The proposal alone (weight 1, no DE), a Student-t in y0 = sqrt(x0) fitted to the wrong
    distribution (x0 exponential of mean 1.5, x1 uncorrelated of width 1.5), samples it: the
    median and 90% quantile of x0 equal the closed forms Phi^-1(0.75), Phi^-1(0.95) and
    E[x1] = E[x0] / 2 = 1 / sqrt(2 pi), within 4 MC errors. Without the Jacobian
    |dy/dx| = |x0|^(-1/2) / 2 in q the median is off by about 50 MC errors."""
    n_groups, n_walkers, n_steps, discard = 2, 32, 1200, 100

    def log_prob(x, group=None):
        return np.where(x[:, 0] >= 0, -0.5 * x[:, 0] ** 2 - 0.5 * (x[:, 1] - 0.5 * x[:, 0]) ** 2,
                        -np.inf)

    rng = np.random.default_rng(7)
    wrong = np.stack([rng.exponential(1.5, (n_groups, 4000)),
                      rng.normal(0.0, 1.5, (n_groups, 4000))], axis=-1)
    q, _ = IndependenceProposal.fit(wrong, 1.0, power=np.tile([2.0, 1.0], (n_groups, 1)))
    move = GroupedDEMove(log_prob, group_keys(11, [0], n_groups)[0], np.zeros(
        n_groups), n_walkers, independence=q)
    start = np.abs(rng.normal(size=(n_groups * n_walkers, 2)))
    sampler = emcee.EnsembleSampler(len(start), 2, log_prob, moves=[move], vectorize=True)
    sampler.run_mcmc(start, n_steps, progress=False)
    x = sampler.get_chain(discard=discard).reshape(-1, 2)
    ess = len(x) / np.max(sampler.get_autocorr_time(discard=discard, quiet=True))
    assert np.mean(sampler.acceptance_fraction) > 0.3
    for probability in (0.5, 0.9):
        exact = norm.ppf(0.5 + probability / 2)
        error = np.sqrt(probability * (1 - probability) / ess) / (2 * norm.pdf(exact))
        assert abs(np.quantile(x[:, 0], probability) - exact) < 4 * error
    assert abs(x[:, 1].mean() - 1 / np.sqrt(2 * np.pi)) < 4 * x[:, 1].std() / np.sqrt(ess)


class _Gaussian:
    """A standard normal posterior in ``n_dim`` dimensions, with the attributes
    adapt_proposal reads."""

    class new_physics:  # noqa: N801 - a namespace standing in for the new-physics part
        names = ()

        @staticmethod
        def label(point):
            return f"point {point}"

    def __call__(self, coords, point):
        return -0.5 * np.sum(coords**2, axis=-1)


def _chains(n_dim=6, n_ens=2, n_walkers=32, n_steps=101, seed=3):
    """Chains already at the posterior (draws of the standard normal), no proposal yet."""
    rng = np.random.default_rng(seed)
    history = rng.normal(size=(n_ens, n_steps, n_walkers, n_dim)).astype(np.float32)
    coords = history[:, -1].astype(float)
    return MassChains(history, coords, _Gaussian()(coords, 0),
                      np.zeros((n_ens, n_walkers), int), frozen=False)


def test_acceptance_floor_decides_between_the_student_t_and_de():
    """A well fitted Student-t of a 6-D normal has an expected acceptance near 0.6: with the
    floor at 0.3 it is used, and frozen at the next passing fit; with the floor at 0.9 it
    is neither used nor frozen (the chains keep moving by DE) and the burn-in floor stays."""
    keys = group_keys(5, [0], 2)[0]
    low, high = (SamplerSettings(n_walkers=32, n_ensembles=2, proposal_floor=floor)
                 for floor in (0.3, 0.9))
    chains = _chains()
    adapt_proposal(_Gaussian(), 0, chains, high, keys)
    assert chains.independence is None and not chains.frozen and chains.burn_floor == 0
    adapt_proposal(_Gaussian(), 0, chains, high, keys)
    assert chains.independence is None and not chains.frozen

    chains = _chains()
    adapt_proposal(_Gaussian(), 0, chains, low, keys)
    assert chains.independence is not None and not chains.frozen
    adapt_proposal(_Gaussian(), 0, chains, low, keys)
    assert chains.independence is not None and chains.frozen
