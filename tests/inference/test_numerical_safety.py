"""No NaN anywhere: the posterior is finite or -inf over the whole parameter space, the rate
kernels positive and continuous in mass and coupling, and a limit that could not be
computed reaches no result row as NaN."""


import numpy as np
import pytest
from conftest import (
    REPO,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcprop.inference.measurements import RateMeasurement
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import sampled_priors
from mcprop.inference.priors import load_prior_files
from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import DetectorResponse, RateKernels
from mcprop.physics.scattering import coupling_product_MeV2
from mcprop.physics.solar import BE7_384, BE7_862

# --- the whole parameter space -------------------------------------------------------------------


_PRIORS = load_prior_files([REPO / "priors/nufit-5.0-no.toml", REPO / "priors/ssm-b16-gs98.toml"])


_MODEL = flavour_model("decoherent-vacuum")


def _plan(masses, window):
    response = DetectorResponse((0.27, 1.6), 0.05) if window else DetectorResponse()
    measurement = RateMeasurement("phase1", ("862keV", "384keV"), 46.0, 1.5, 1.5, 1.6, "t",
                                  response)
    return ScanPlan(np.asarray(masses), sampled_priors(_PRIORS, _MODEL), _MODEL, (measurement,))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_mass=st.floats(-4, 5), window=st.booleans(),
       coords=st.lists(st.floats(allow_nan=False, allow_infinity=True, width=64),
                       min_size=12, max_size=12))
def test_posterior_is_finite_or_minus_infinity(log_mass, window, coords):
    plan = _plan([10.0**log_mass], window)
    posterior = plan.posterior()
    x = np.array(coords).reshape(2, 6)
    x[1] = [0.5, *[plan.priors.centres()[n] for n in posterior.nuisance_names]]
    values = posterior(x, 0)
    assert not np.isnan(values).any()
    assert values[1] > -np.inf  # the prior centre with g at half its range


@settings(max_examples=40, deadline=None)
@given(log_mass=st.floats(-4, 5), log_g=st.floats(-9, 1))
def test_kernels_positive_and_rates_continuous(log_mass, log_g):
    mass, g = 10.0**log_mass, 10.0**log_g
    masses = [mass, mass * (1 + 1e-7)]
    kernels = RateKernels.compute(masses, [BE7_862, BE7_384],
                                  response=DetectorResponse((0.27, 1.6), 0.05))
    assert np.all(kernels.i0_window_cm2 > 0) and np.all(kernels.i0_total_cm2 > 0)
    assert np.all(kernels.i2_cm2_per_MeV4 > 0)
    # nu_mu, nu_tau: gL < 0 < gR with |gL| > gR, so the interference kernel is negative
    assert np.all(kernels.i1_cm2_per_MeV2[..., 1:] < 0)
    p = _MODEL.probabilities(NUFIT_5_0_NO_CENTRAL, BE7_862.energy_MeV)
    p = np.stack([p, p])
    rates = [kernels.at_mass(i).rate_cpd100t(4.93e9, p, coupling_product_MeV2(g))[1]
             for i in range(2)]
    assert np.isfinite(rates).all() and np.all(np.asarray(rates) > 0)
    assert rates[1] == pytest.approx(rates[0], rel=1e-5)
    nearby = kernels.at_mass(0).rate_cpd100t(4.93e9, p, coupling_product_MeV2(g * (1 + 1e-7)))
    assert nearby[1] == pytest.approx(rates[0], rel=1e-5)

# --- results -------------------------------------------------------------------------------------


def test_nan_never_reaches_a_limit_row():
    from mcprop.inference.diagnostics import Diagnostics
    from mcprop.inference.results import MassResult

    d = Diagnostics(upper=np.nan, upper_mcse=np.inf, median=np.nan, median_mcse=np.nan,
                    lo68=np.nan, hi68=np.nan, ess=10.0, rhat=1.2, tau_steps=np.inf,
                    acceptance=0.2, n_steps=101, burn_in=50, thin=1, converged=False,
                    problems=("short",))
    result = MassResult.from_sampling(0, 1.0, d, 1e-3, {})
    assert result.g_upper is None and result.g_upper_mcse is None and not result.converged
    assert any("g_upper could not be computed" in p for p in result.problems)
