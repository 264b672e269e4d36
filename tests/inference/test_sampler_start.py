"""Walkers start around the posterior's mode (``sampler.start = "mode"``)."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_inference import _seed_plan  # noqa: E402

from mcprop.inference.distributions import Normal  # noqa: E402
from mcprop.inference.sampler import (  # noqa: E402
    START_DOF,
    START_INFLATION,
    initial_chains,
    start_approximation,
)
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S  # noqa: E402

F0 = B16_GS98_BE7_FLUX_CM2S
WIDTH = 0.1 * F0


def _flux_posterior():
    """The seed's relative-rate posterior with the 7Be flux free under N(F0, 0.1 F0): at
    g = 0 the relative rate does not depend on the flux, so its posterior is its prior."""
    plan = _seed_plan()
    priors = plan.priors.with_override("flux_7be_cm2s", Normal(F0, WIDTH))
    return dataclasses.replace(plan, priors=priors)


def test_laplace_start_at_g_zero_is_the_flux_prior():
    """Mode F0 and Laplace width 0.1 F0 (the normal prior's, closed form), from a start
    1.5 widths off."""
    plan = _flux_posterior()
    posterior = plan.posterior()
    low, _ = posterior.new_physics.coupling_prior.coordinate_bounds(
        posterior.new_physics.g_max[0])
    approximation = start_approximation(posterior, 0, np.array([low]), np.array([F0 + 1.5 * WIDTH]))
    coordinates = approximation.coordinates
    assert coordinates.nuisances(approximation.centre)[0] == pytest.approx(F0, rel=1e-6)
    assert coordinates.width[0] * abs(approximation.scale[0, 0]) == pytest.approx(WIDTH, rel=1e-3)


def test_mode_starts_are_overdispersed_and_differ_between_ensembles():
    """The flux of the starting walkers has the spread of a Student-t of START_DOF degrees
    of freedom scaled START_INFLATION x the posterior width (sd = 1.5 sqrt(5/3) x 0.1 F0,
    wider than the posterior's 0.1 F0), centred on F0; each ensemble draws its own."""
    plan = _flux_posterior()
    settings = dataclasses.replace(plan.sampler, n_walkers=2000, start="mode")
    chains = initial_chains(plan.posterior(), 0, settings, plan.seed)
    flux = chains.coords[..., 1]                        # (ensembles, walkers)
    expected_sd = START_INFLATION * WIDTH * np.sqrt(START_DOF / (START_DOF - 2))
    assert np.std(flux) == pytest.approx(expected_sd, rel=0.08)
    assert np.mean(flux) == pytest.approx(F0, abs=5 * expected_sd / np.sqrt(flux.size))
    assert np.std(flux) > 1.5 * WIDTH
    assert len({float(x) for x in flux[:, 0]}) == settings.n_ensembles
    assert np.all(np.isfinite(chains.log_prob))
