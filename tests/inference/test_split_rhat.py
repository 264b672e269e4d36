"""Split R-hat of a point compares the early half of the kept steps with the late half.

The stored draws are walker-major (:func:`mcprop.inference.diagnostics.ensembles_as_chains`),
so ArviZ's split of each chain in two would compare the first walkers with the last ones:
exchangeable walkers that all drift in time would pass. A drift from 0 to 1 over the kept
steps, with a noise of 0.1 per draw, gives between-half means 0.25 and 0.75, i.e. a split
R-hat far above 1.05 (Gelman et al., BDA3 ch. 11.4: sqrt of roughly 1 + var(means)/var
within = 1 + 0.0625/0.03); stationary draws give R-hat within 1.01.
"""

import warnings

import arviz as az
import numpy as np
import pytest

from mcprop.inference.diagnostics import diagnose, ensembles_as_chains, time_halves
from mcprop.inference.sampler import SamplerSettings

N_ENS, N_DRAWS, N_WALKERS = 4, 400, 16
SETTINGS = SamplerSettings(n_ensembles=N_ENS, n_walkers=N_WALKERS, min_ess=10.0,
                           min_kept_tau=1.0, min_kept_steps=10, max_relative_mcse=1.0)


def _stored(drift: bool) -> np.ndarray:
    """(n_ens, n_walkers * n_draws) draws in the stored layout: uncorrelated noise of 0.1,
    plus, with ``drift``, a trend from 0 to 1 over the draws of every walker."""
    rng = np.random.default_rng(7)
    x = 0.5 + 0.1 * rng.standard_normal((N_ENS, N_DRAWS, N_WALKERS))
    if drift:
        x += np.linspace(0.0, 1.0, N_DRAWS)[None, :, None] - 0.5
    return ensembles_as_chains(x)


def _rhat(chains: np.ndarray) -> float:
    return diagnose({"g": chains}, ["g"], SETTINGS, 0.9, tau=1.0, n_steps=N_DRAWS,
                    burn_in=0, thin=1, acceptance=0.5)["g"].rhat


def test_a_drift_in_time_fails_split_rhat():
    drifting = _stored(drift=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walker_halves = float(az.rhat(drifting))
    assert walker_halves < 1.01  # the walker-major split cannot see the trend
    assert _rhat(drifting) > 1.05


def test_stationary_draws_pass_split_rhat():
    assert _rhat(_stored(drift=False)) < 1.01


@pytest.mark.parametrize("n_draws", [4, 5])
def test_time_halves_puts_early_draws_of_all_walkers_first(n_draws):
    # draw value = 10 * walker + step, walker-major; the middle step of an odd length drops
    x = (10 * np.arange(3)[None, :] + np.arange(n_draws)[:, None])[None]
    halves = time_halves(ensembles_as_chains(x), n_walkers=3)[0]
    late = n_draws - 2
    assert halves.tolist() == [0, 1, 10, 11, 20, 21, late, late + 1, 10 + late, 11 + late,
                               20 + late, 21 + late]
