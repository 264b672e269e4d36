"""Magnetic-moment scattering against closed forms, literature numbers and direct quantiles."""

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import TOTAL_RATE, DetectorResponse
from mcprop.physics.magnetic_moment import (
    MOMENT_SCHEMES,
    MagneticKernels,
    added_rate_upper_limit,
    dsigma_dT_magnetic_cm2_per_MeV,
    effective_moment_squared,
    flavour_moments_squared,
    magnetic_recoil_integral,
    moment_squared_upper_limit,
)
from mcprop.physics.scattering import dsigma_dT_zprime, t_max_MeV
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_384, BE7_862

E862 = BE7_862.energy_MeV
PHASE2_WINDOW = DetectorResponse((0.19, 2.93))
PHASE2_RESOLVED = DetectorResponse((0.19, 2.93), 0.05)


def _probabilities(n_lines=2, p_ee=0.55, samples=()):
    p = flavour_model("pee").probabilities({**NUFIT_5_0_NO_CENTRAL, "p_ee": p_ee}, E862)
    return np.broadcast_to(p.reshape((1, 3) + (1,) * len(samples)), (n_lines, 3) + samples)


# --- cross section --------------------------------------------------------------------------

def test_em_to_weak_ratio_against_vogel_engel_numbers():
    """Vogel & Engel, PRD 39, 3378 (1989): dsigma_W/dT = sigma0 [(gV+gA)^2 + (gV-gA)^2 (1-y)^2
    + (gA^2-gV^2) m_e T/E^2] with sigma0 = G_F^2 m_e/(2 pi) = 4.31e-45 cm^2/MeV and
    dsigma_EM/dT = (pi alpha^2/m_e^2) mu^2 (1/T - 1/E) with pi alpha^2/m_e^2 = 2.495e-25 cm^2
    (the numbers quoted also in Giunti & Studenikin, RMP 87, 531 (2015), sec. VI.A)."""
    s2w, m_e, T, mu = 0.23867, 0.51099895, 0.05, 1e-10
    g_v, g_a = 0.5 + 2 * s2w, 0.5  # nu_e: charged current included
    weak = 4.31e-45 * ((g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1 - T / E862) ** 2
                       + (g_a**2 - g_v**2) * m_e * T / E862**2)
    em = 2.495e-25 * mu**2 * (1 / T - 1 / E862)
    tree_level_weak = dsigma_dT_zprime(T, E862, 1.0, 0.0, sin2_theta_w=s2w,
                                       radiative_corrections=False)[0]
    ours = dsigma_dT_magnetic_cm2_per_MeV(T, E862, mu) / tree_level_weak
    assert ours == pytest.approx(em / weak, rel=2e-3)
    assert 4 < em / weak < 5  # 1e-10 mu_B dominates nu_e scattering at 50 keV


def test_cross_section_vanishes_outside_kinematic_range():
    t_max = float(t_max_MeV(E862))
    values = dsigma_dT_magnetic_cm2_per_MeV([-0.1, 0.0, 1.001 * t_max], E862, 1e-11)
    assert np.all(values == 0)
    assert dsigma_dT_magnetic_cm2_per_MeV(0.999 * t_max, E862, 1e-11) > 0


# --- recoil integral ------------------------------------------------------------------------

@pytest.mark.parametrize("window", [(0.19, 0.5), (0.05, 0.6), (0.3, 0.31)])
def test_sharp_window_integral_closed_form(window):
    t1, t2 = window
    closed = np.log(t2 / t1) - (t2 - t1) / E862
    assert magnetic_recoil_integral(BE7_862, DetectorResponse(window)) == pytest.approx(
        closed, rel=1e-12)


def test_window_beyond_t_max_is_cut_at_t_max():
    t1, t_max = 0.1, float(t_max_MeV(BE7_384.energy_MeV))
    closed = np.log(t_max / t1) - (t_max - t1) / BE7_384.energy_MeV
    assert magnetic_recoil_integral(BE7_384, DetectorResponse((t1, 2.93))) == pytest.approx(
        closed, rel=1e-12)


def test_resolution_integral_against_adaptive_quadrature():
    t_max = float(t_max_MeV(E862))

    def integrand(T):
        return float(PHASE2_RESOLVED.weight(T)) * (1 / T - 1 / E862)

    reference, _ = quad(integrand, 1e-4, t_max, points=[0.19], limit=200, epsabs=0,
                        epsrel=1e-11)
    assert magnetic_recoil_integral(BE7_862, PHASE2_RESOLVED) == pytest.approx(reference,
                                                                               rel=1e-8)


def test_vanishing_resolution_tends_to_sharp_window():
    sharp = magnetic_recoil_integral(BE7_862, PHASE2_WINDOW)
    narrow = magnetic_recoil_integral(BE7_862, DetectorResponse((0.19, 2.93), 2e-3))
    assert narrow == pytest.approx(sharp, rel=1e-4)


@pytest.mark.parametrize("response", [TOTAL_RATE, DetectorResponse((0.0, 1.0)),
                                      DetectorResponse((0.0, 1.0), 0.05)])
def test_no_threshold_is_refused(response):
    with pytest.raises(ValueError, match="threshold"):
        MagneticKernels.compute([BE7_862], response)


# --- rates ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kernels():
    return MagneticKernels.compute([BE7_862, BE7_384], PHASE2_WINDOW)


def test_rate_is_linear_in_moments_squared(kernels):
    probabilities = _probabilities()
    mu2 = np.array([4e-22, 1e-22, 9e-22])
    rate_sm, rate, fraction = kernels.rate_cpd100t(B16_GS98_BE7_FLUX_CM2S, probabilities, mu2)
    slopes = kernels.rate_per_mu2_cpd100t(B16_GS98_BE7_FLUX_CM2S, probabilities)
    assert rate - rate_sm == pytest.approx(mu2 @ slopes, rel=1e-12)
    assert fraction == pytest.approx(rate / rate_sm - 1, rel=1e-12)


def test_em_rate_against_direct_spectrum_integral(kernels):
    """The window EM counts from a direct integral of flux x dsigma/dT x P over the lines."""
    p = _probabilities()[0]
    mu2 = np.array([1e-22, 4e-22, 0.0])
    direct = 0.0
    for line in (BE7_862, BE7_384):
        t_max = float(t_max_MeV(line.energy_MeV))
        xs, _ = quad(lambda T, e=line.energy_MeV: dsigma_dT_magnetic_cm2_per_MeV(T, e, 1.0),
                     0.19, min(2.93, t_max), epsrel=1e-12)
        direct += line.branching * xs * (p @ mu2)
    em_window = np.einsum("l,la,a->", kernels.em_window_cm2, _probabilities(), mu2)
    assert em_window == pytest.approx(direct, rel=1e-10)


def test_vectorised_over_samples_matches_loop(kernels):
    rng = np.random.default_rng(1)
    n = 7
    p_ee = rng.uniform(0.4, 0.6, n)
    probabilities = np.stack([flavour_model("pee").probabilities(
        {**NUFIT_5_0_NO_CENTRAL, "p_ee": p_ee}, line.energy_MeV) for line in kernels.lines])
    mu2 = rng.uniform(0, 1e-21, (3, n))
    flux = rng.uniform(4.5e9, 5e9, n)
    _, rate, _ = kernels.rate_cpd100t(flux, probabilities, mu2)
    for k in range(n):
        _, one, _ = kernels.rate_cpd100t(flux[k], probabilities[..., k], mu2[:, k])
        assert rate[k] == pytest.approx(one, rel=1e-13)


def test_universal_moment_equals_effective_moment():
    p = np.array([0.55, 0.17, 0.28])
    mu2 = flavour_moments_squared("universal", {"mu_1e-11_muB": 3.0})
    assert effective_moment_squared(mu2, p) == pytest.approx(9e-22, rel=1e-12)
    one = flavour_moments_squared("mu", {"mu_mu_1e-11_muB": 2.0})
    assert np.allclose(one, [0.0, 4e-22, 0.0], rtol=1e-12, atol=0)


def test_moment_schemes_and_errors():
    params = {"mu_e_1e-11_muB": np.array([1.0, 2.0]), "mu_mu_1e-11_muB": 3.0,
              "mu_tau_1e-11_muB": 0.5}
    mu2 = flavour_moments_squared("independent", params)
    assert mu2.shape == (3, 2)
    assert np.allclose(mu2[:, 1], [4e-22, 9e-22, 0.25e-22], rtol=1e-12, atol=0)
    assert set(MOMENT_SCHEMES) == {"universal", "e", "mu", "tau", "independent"}
    with pytest.raises(ValueError, match="unknown magnetic-moment scheme"):
        flavour_moments_squared("transition", params)
    with pytest.raises(ValueError, match="mu_1e-11_muB"):
        flavour_moments_squared("universal", params)


# --- limits ---------------------------------------------------------------------------------

def test_half_normal_quantile():
    """With the data on the SM prediction the posterior of the added rate is half-normal."""
    for sigma in (0.5, 1.17, 3.0):
        assert added_rate_upper_limit(sigma) == pytest.approx(
            stats.halfnorm.ppf(0.9, scale=sigma), rel=1e-12)
    assert added_rate_upper_limit(1.0) == pytest.approx(1.645, abs=5e-4)


@pytest.mark.parametrize("excess", [-2.7, 1.5])
def test_truncated_normal_quantile(excess):
    sigma = 1.17
    a = -excess / sigma
    expected = stats.truncnorm.ppf(0.9, a, np.inf, loc=excess, scale=sigma)
    assert added_rate_upper_limit(sigma, excess) == pytest.approx(expected, rel=1e-10)


def test_mu2_limit_against_numerical_posterior(kernels):
    """Flat prior in mu^2 >= 0, Gaussian rate likelihood centred on the SM rate: the 90%
    quantile of mu^2 from a grid posterior equals 1.645 sigma / (dR/dmu^2)."""
    probabilities = _probabilities()
    sigma = 1.17
    slope = kernels.rate_per_mu2_cpd100t(B16_GS98_BE7_FLUX_CM2S, probabilities).sum()
    mu2_grid = np.linspace(0, 40 * sigma / slope, 400_001)
    rate_sm, rate, _ = kernels.rate_cpd100t(
        B16_GS98_BE7_FLUX_CM2S, probabilities[..., None], np.broadcast_to(mu2_grid, (3,) +
                                                                          mu2_grid.shape))
    posterior = np.exp(-0.5 * ((rate - rate_sm) / sigma) ** 2)
    cdf = np.cumsum(posterior)
    numeric = np.interp(0.9, cdf / cdf[-1], mu2_grid)
    assert moment_squared_upper_limit(sigma, slope) == pytest.approx(numeric, rel=1e-4)
    assert moment_squared_upper_limit(sigma, slope) == pytest.approx(1.645 * sigma / slope,
                                                                     rel=3e-4)


def test_bad_credibility_and_sigma():
    with pytest.raises(ValueError, match="credibility"):
        added_rate_upper_limit(1.0, credibility=1.0)
    with pytest.raises(ValueError, match="sigma"):
        added_rate_upper_limit(0.0)
    with pytest.raises(ValueError, match="slope"):
        moment_squared_upper_limit(1.0, 0.0)
