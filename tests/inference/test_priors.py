"""Tests of mcprop.inference.priors against scipy.stats, closed forms and published numbers."""

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from mcprop.inference.distributions import (
    FAMILIES,
    AsymmetricNormal,
    Circular,
    Fixed,
    LogUniform,
    Normal,
    NormalMixture,
    PriorError,
    TruncatedNormal,
    Uniform,
)
from mcprop.inference.priors import PriorSet, load_prior_files
from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL
from mcprop.physics.parameters import PARAMETER_SCALES, PHYSICAL_DOMAINS
from mcprop.physics.solar import B16_AGSS09MET_BE7_FLUX_CM2S, B16_GS98_BE7_FLUX_CM2S

PRIOR_DIR = Path(__file__).resolve().parents[2] / "priors"
N_SAMPLES = 200_000
PHI_MINUS_1 = stats.norm.cdf(-1.0)  # 0.1587


def split_normal_pdf(x, mean, sigma_plus, sigma_minus):
    """Closed form of the continuous split normal, written independently of the module."""
    x = np.asarray(x, dtype=float)
    norm = 2.0 / (math.sqrt(2.0 * math.pi) * (sigma_plus + sigma_minus))
    return np.where(x >= mean, norm * np.exp(-0.5 * ((x - mean) / sigma_plus) ** 2),
                    norm * np.exp(-0.5 * ((x - mean) / sigma_minus) ** 2))


def integrate_density(dist, low, high, points=None):
    value, _ = integrate.quad(lambda x: math.exp(dist.log_density(np.array([x]))[0]), low, high,
                              points=points, limit=500, epsabs=1e-12, epsrel=1e-12)
    return value


# --- log densities against independent references ---------------------------------------


def test_normal_log_density_matches_scipy():
    dist = Normal(mean=4.93e9, sigma=0.2958e9)
    x = np.array([3.5e9, 4.6e9, 4.93e9, 5.2e9, 6.5e9])
    np.testing.assert_allclose(dist.log_density(x), stats.norm(4.93e9, 0.2958e9).logpdf(x),
                               rtol=1e-12)


def test_asymmetric_normal_log_density_closed_form():
    dist = AsymmetricNormal(mean=0.573, sigma_plus=0.016, sigma_minus=0.020)
    x = np.array([0.50, 0.553, 0.5729999, 0.573, 0.589, 0.65])
    np.testing.assert_allclose(np.exp(dist.log_density(x)),
                               split_normal_pdf(x, 0.573, 0.016, 0.020), rtol=1e-12)
    # Symmetric widths reduce it to the normal distribution.
    symmetric = AsymmetricNormal(mean=0.304, sigma_plus=0.012, sigma_minus=0.012)
    np.testing.assert_allclose(symmetric.log_density(x), stats.norm(0.304, 0.012).logpdf(x),
                               rtol=1e-12)


def test_truncated_normal_log_density_closed_form():
    dist = TruncatedNormal(mean=0.51, sigma=0.07, low=0.0, high=1.0)
    x = np.array([0.0, 0.2, 0.51, 0.8, 1.0])
    mass = stats.norm.cdf(1.0, 0.51, 0.07) - stats.norm.cdf(0.0, 0.51, 0.07)
    expected = stats.norm.logpdf(x, 0.51, 0.07) - math.log(mass)
    np.testing.assert_allclose(dist.log_density(x), expected, rtol=1e-12)
    assert np.all(dist.log_density(np.array([-0.01, 1.01])) == -np.inf)


def test_uniform_and_log_uniform_closed_forms():
    uniform = Uniform(low=-2.0, high=3.0)
    x = np.array([-2.0, 0.0, 2.9])
    np.testing.assert_allclose(uniform.log_density(x), -math.log(5.0))
    assert np.all(uniform.log_density(np.array([-2.1, 3.1])) == -np.inf)

    log_uniform = LogUniform(low=1e-6, high=1e-2)
    x = np.array([1e-6, 3e-5, 1e-3, 1e-2])
    np.testing.assert_allclose(log_uniform.log_density(x), -np.log(x * math.log(1e4)),
                               rtol=1e-12)
    assert np.all(log_uniform.log_density(np.array([-1.0, 0.0, 5e-7, 0.02])) == -np.inf)


def test_centres_and_supports():
    assert Normal(2.0, 1.0).centre == 2.0
    assert AsymmetricNormal(2.0, 1.0, 3.0).centre == 2.0
    assert TruncatedNormal(0.5, 0.1, 0.0, 1.0).centre == 0.5
    assert TruncatedNormal(-0.2, 0.3, 0.0, 1.0).centre == 0.0  # the mode of the truncation
    assert TruncatedNormal(-0.2, 0.3, 0.0, 1.0).support == (0.0, 1.0)
    assert Uniform(-2.0, 3.0).centre == 0.5
    assert LogUniform(1e-6, 1e-2).centre == pytest.approx(1e-4, rel=1e-12)
    assert Circular(212.0, 27.0, 24.0).centre == 212.0
    assert Circular(212.0, 27.0, 24.0).support == (32.0, 392.0)
    assert Normal(2.0, 1.0).support == (-math.inf, math.inf)


def test_fixed_log_density_and_flags():
    dist = Fixed(value=0.51)
    np.testing.assert_array_equal(dist.log_density(np.array([0.51, 0.5, 0.52])),
                                  [0.0, -np.inf, -np.inf])
    assert dist.is_fixed and dist.centre == 0.51 and dist.support == (0.51, 0.51)
    assert not any(cls(**args).is_fixed for cls, args in (
        (Normal, {"mean": 0, "sigma": 1}), (Uniform, {"low": 0, "high": 1})))


def test_circular_log_density_is_the_wrapped_split_normal():
    dist = Circular(mean_deg=197.0, sigma_plus_deg=27.0, sigma_minus_deg=24.0)
    x = np.array([17.0, 60.0, 150.0, 197.0, 250.0, 376.9])
    wrapped = sum(split_normal_pdf(x + 360.0 * k, 197.0, 27.0, 24.0) for k in range(-2, 3))
    # The wraps |k| <= 2 hold all but ~1e-250 of a 27 deg wide split normal.
    np.testing.assert_allclose(np.exp(dist.log_density(x)), wrapped, rtol=1e-12)
    assert np.all(dist.log_density(np.array([16.9, 377.0, 400.0, -163.0])) == -np.inf)


def test_wide_circular_density_sums_five_wraps():
    """For widths comparable to 360 deg the five wraps k = -2..2 hold only part of the split
    normal; the density is their sum divided by the mass they hold (|x - mean| < 900 deg)."""
    mean, sp, sm = 30.0, 500.0, 800.0
    dist = Circular(mean_deg=mean, sigma_plus_deg=sp, sigma_minus_deg=sm)
    mass, _ = integrate.quad(lambda x: split_normal_pdf(x, mean, sp, sm), mean - 900.0,
                             mean + 900.0, points=[mean], epsabs=1e-13)
    assert mass < 0.95  # the test case is wide enough for the wraps to matter
    x = np.array([-150.0, -100.0, 0.0, 30.0, 100.0, 209.0])
    wrapped = sum(split_normal_pdf(x + 360.0 * k, mean, sp, sm) for k in range(-2, 3))
    np.testing.assert_allclose(np.exp(dist.log_density(x)), wrapped / mass, rtol=1e-9)


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("dist", [
    Normal(0.3, 0.01),
    AsymmetricNormal(0.3, 0.01, 0.02),
    TruncatedNormal(0.5, 0.1, 0.0, 1.0),
    Uniform(0.0, 1.0),
    LogUniform(1e-3, 1.0),
    Fixed(0.5),
    Circular(197.0, 27.0, 24.0),
    Circular(0.0, 500.0, 800.0),
], ids=lambda dist: dist.family)
def test_log_density_is_never_nan_for_finite_x(dist):
    x = np.array([-1e300, -1e6, -360.0, -1.0, 0.0, 1e-300, 0.3, 0.5, 1.0, 359.9, 1e6, 1e300])
    values = dist.log_density(x)
    assert values.shape == x.shape
    assert not np.any(np.isnan(values))
    assert np.all(values < np.inf)


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(("dist", "low", "high", "points"), [
    (Normal(0.02219, 0.00063), 0.02219 - 0.03, 0.02219 + 0.03, [0.02219]),
    (Normal(0.0, 1.0), -np.inf, np.inf, None),
    (AsymmetricNormal(0.573, 0.016, 0.020), -np.inf, np.inf, None),
    (AsymmetricNormal(7.42, 0.21, 0.02), 6.0, 9.0, [7.42]),
    (TruncatedNormal(0.51, 0.07, 0.0, 1.0), 0.0, 1.0, [0.51]),
    (TruncatedNormal(0.0, 1.0, 2.0, 2.5), 2.0, 2.5, None),
    (Uniform(-3.0, 7.0), -3.0, 7.0, None),
    (LogUniform(1e-4, 10.0), 1e-4, 10.0, [1e-3, 1e-2, 1e-1, 1.0]),
    (Circular(197.0, 27.0, 24.0), 17.0, 377.0, [197.0]),
    (Circular(-30.0, 90.0, 150.0), -210.0, 150.0, [-30.0]),
    (Circular(10.0, 400.0, 250.0), -170.0, 190.0, [10.0]),
], ids=lambda value: getattr(value, "family", ""))
def test_density_integrates_to_one(dist, low, high, points):
    assert integrate_density(dist, low, high, points) == pytest.approx(1.0, abs=1e-6)


# --- probability of an interval -------------------------------------------------------------


def split_normal_probability(low, high, mean, sigma_plus, sigma_minus):
    """Quadrature of the closed-form split-normal density over [low, high]."""
    value, _ = integrate.quad(lambda x: split_normal_pdf(x, mean, sigma_plus, sigma_minus),
                              low, high, points=[mean] if low < mean < high else None,
                              epsabs=1e-13, epsrel=1e-12, limit=200)
    return value


@pytest.mark.parametrize(("dist", "low", "high", "expected"), [
    (Normal(0.3, 0.1), 0.0, 1.0, stats.norm.cdf(7.0) - stats.norm.cdf(-3.0)),
    (Normal(-0.1, 0.045), 0.0, np.inf, stats.norm.sf(0.1 / 0.045)),
    (Normal(4.93e9, 0.2958e9), 0.0, np.inf, stats.norm.sf(-4.93 / 0.2958)),
    (AsymmetricNormal(0.573, 0.016, 0.020), 0.55, 0.6,
     split_normal_probability(0.55, 0.6, 0.573, 0.016, 0.020)),
    (AsymmetricNormal(0.573, 0.016, 0.020), 0.58, 0.6,
     split_normal_probability(0.58, 0.6, 0.573, 0.016, 0.020)),
    (AsymmetricNormal(0.573, 0.016, 0.020), 0.5, 0.56,
     split_normal_probability(0.5, 0.56, 0.573, 0.016, 0.020)),
    (TruncatedNormal(0.51, 0.07, 0.0, 1.0), 0.4, 2.0,
     stats.truncnorm.sf(0.4, -0.51 / 0.07, 0.49 / 0.07, 0.51, 0.07)),
    (TruncatedNormal(3.0, 0.5, -5.0, 5.0), 0.0, 1.0,
     np.diff(stats.truncnorm.cdf([0.0, 1.0], -16.0, 4.0, 3.0, 0.5))[0]),
    (Uniform(-2.0, 3.0), 0.0, 10.0, 0.6),
    (LogUniform(1e-6, 1e-2), 1e-4, 1.0, 0.5),
    (Fixed(0.3), 0.0, 1.0, 1.0),
    (Fixed(1.3), 0.0, 1.0, 0.0),
])
def test_probability_between(dist, low, high, expected):
    assert dist.probability_between(low, high) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("dist", [Circular(197.0, 27.0, 24.0), Circular(10.0, 400.0, 250.0)],
                         ids=["narrow", "wide"])
def test_circular_probability_between_integrates_the_density(dist):
    support_low, support_high = dist.support
    assert dist.probability_between(-np.inf, np.inf) == pytest.approx(1.0, rel=1e-12)
    for low, high in [(support_low, support_low + 90.0), (150.0, 260.0), (0.0, 1000.0)]:
        inside_low, inside_high = max(low, support_low), min(high, support_high)
        peak = [dist.mean_deg] if inside_low < dist.mean_deg < inside_high else None
        expected = integrate_density(dist, inside_low, inside_high, peak)
        assert dist.probability_between(low, high) == pytest.approx(expected, rel=1e-7)


# --- the asymmetric normal ------------------------------------------------------------------


def test_asymmetric_normal_is_continuous_at_the_mean():
    dist = AsymmetricNormal(mean=0.02219, sigma_plus=0.00062, sigma_minus=0.00063)
    eps = 1e-13
    below, at, above = dist.log_density(np.array([0.02219 - eps, 0.02219, 0.02219 + eps]))
    assert below == pytest.approx(at, abs=1e-9)
    assert above == pytest.approx(at, abs=1e-9)


def test_asymmetric_normal_one_sigma_interval():
    """The split normal puts 68.27% in [mean - sigma_minus, mean + sigma_plus].

    Continuity at the mean makes the mass below the mean sigma_minus / (sigma_plus +
    sigma_minus), so mean -+ sigma are the 15.87% / 84.13% quantiles only when the widths
    are equal; otherwise those quantiles move by the ratio of the widths.
    """
    mean, sp, sm = 197.0, 27.0, 24.0
    dist = AsymmetricNormal(mean=mean, sigma_plus=sp, sigma_minus=sm)
    mass_in = integrate_density(dist, mean - sm, mean + sp, points=[mean])
    assert mass_in == pytest.approx(1.0 - 2.0 * PHI_MINUS_1, abs=1e-9)
    below_minus = integrate_density(dist, -np.inf, mean - sm)
    assert below_minus == pytest.approx(2.0 * sm / (sp + sm) * PHI_MINUS_1, abs=1e-9)
    assert integrate_density(dist, -np.inf, mean) == pytest.approx(sm / (sp + sm), abs=1e-9)

    symmetric = AsymmetricNormal(mean=0.304, sigma_plus=0.012, sigma_minus=0.012)
    assert integrate_density(symmetric, -np.inf, 0.304 - 0.012) == pytest.approx(
        PHI_MINUS_1, abs=1e-9)
    assert integrate_density(symmetric, -np.inf, 0.304 + 0.012) == pytest.approx(
        1.0 - PHI_MINUS_1, abs=1e-9)


def test_asymmetric_normal_sample_quantiles():
    mean, sp, sm = 0.573, 0.016, 0.020
    x = AsymmetricNormal(mean, sp, sm).sample(np.random.default_rng(11), N_SAMPLES)
    q_lo = 2.0 * sm / (sp + sm) * PHI_MINUS_1  # the CDF at mean - sm
    q_hi = 1.0 - 2.0 * sp / (sp + sm) * PHI_MINUS_1  # the CDF at mean + sp
    tol = 5.0 * math.sqrt(0.16 * 0.84 / N_SAMPLES)
    assert np.mean(x < mean - sm) == pytest.approx(q_lo, abs=tol)
    assert np.mean(x < mean + sp) == pytest.approx(q_hi, abs=tol)
    assert np.mean(x < mean) == pytest.approx(sm / (sp + sm), abs=tol)


# --- sampling -------------------------------------------------------------------------------


def truncated_normal_moments(mean, sigma, low, high):
    a, b = (low - mean) / sigma, (high - mean) / sigma
    z = stats.norm.cdf(b) - stats.norm.cdf(a)
    pa, pb = stats.norm.pdf(a), stats.norm.pdf(b)
    mu = mean + sigma * (pa - pb) / z
    var = sigma**2 * (1.0 + (a * pa - b * pb) / z - ((pa - pb) / z) ** 2)
    return mu, math.sqrt(var)


def split_normal_moments(mean, sp, sm):
    mu = mean + math.sqrt(2.0 / math.pi) * (sp - sm)
    var = (1.0 - 2.0 / math.pi) * (sp - sm) ** 2 + sp * sm
    return mu, math.sqrt(var)


def log_uniform_moments(low, high):
    log_ratio = math.log(high / low)
    mu = (high - low) / log_ratio
    return mu, math.sqrt((high**2 - low**2) / (2.0 * log_ratio) - mu**2)


@pytest.mark.parametrize(("dist", "mean", "std", "quantiles"), [
    (Normal(4.93e9, 0.2958e9), 4.93e9, 0.2958e9,
     {0.1: 4.93e9 + 0.2958e9 * stats.norm.ppf(0.1), 0.5: 4.93e9}),
    (AsymmetricNormal(0.573, 0.016, 0.020), *split_normal_moments(0.573, 0.016, 0.020),
     {20 / 36: 0.573}),
    (TruncatedNormal(0.1, 0.2, 0.0, 1.0), *truncated_normal_moments(0.1, 0.2, 0.0, 1.0),
     {0.5: 0.1 + 0.2 * stats.norm.ppf(0.5 * (stats.norm.cdf(-0.5) + stats.norm.cdf(4.5)))}),
    (Uniform(-2.0, 3.0), 0.5, 5.0 / math.sqrt(12.0), {0.25: -0.75, 0.9: 2.5}),
    (LogUniform(1e-3, 10.0), *log_uniform_moments(1e-3, 10.0),
     {0.25: 1e-2, 0.5: 0.1, 0.75: 1.0}),
], ids=lambda value: getattr(value, "family", ""))
def test_sample_moments_and_quantiles(dist, mean, std, quantiles):
    x = dist.sample(np.random.default_rng(2024), N_SAMPLES)
    assert x.shape == (N_SAMPLES,)
    low, high = dist.support
    assert np.all((x >= low) & (x <= high))
    # Standard errors of the sample mean and standard deviation (from the sample's own
    # fourth moment), with a 5-sigma margin.
    assert np.mean(x) == pytest.approx(mean, abs=5.0 * std / math.sqrt(N_SAMPLES))
    mu4 = np.mean((x - np.mean(x)) ** 4)
    std_error = math.sqrt((mu4 - std**4) / (4.0 * std**2 * N_SAMPLES))
    assert np.std(x) == pytest.approx(std, abs=5.0 * std_error)
    for p, q in quantiles.items():
        # Compare the empirical CDF at the analytic quantile with p (binomial error).
        assert np.mean(x <= q) == pytest.approx(p, abs=5.0 * math.sqrt(p * (1 - p) / N_SAMPLES))


def test_fixed_sample_is_constant():
    np.testing.assert_array_equal(Fixed(7.0).sample(np.random.default_rng(0), 4), [7.0] * 4)


@pytest.mark.parametrize("dist", [
    Circular(197.0, 27.0, 24.0),
    Circular(212.0, 120.0, 90.0),
    Circular(-10.0, 300.0, 600.0),
], ids=str)
def test_circular_samples_follow_the_wrapped_density(dist):
    x = dist.sample(np.random.default_rng(5), N_SAMPLES)
    low, high = dist.mean_deg - 180.0, dist.mean_deg + 180.0
    assert dist.support == (low, high)
    assert np.all((x >= low) & (x < high))
    edges = np.linspace(low, high, 13)
    for edge in edges[1:-1]:
        cdf = integrate_density(dist, low, edge, points=[dist.mean_deg] if edge > dist.mean_deg
                                else None)
        tol = 5.0 * math.sqrt(max(cdf * (1.0 - cdf), 1e-6) / N_SAMPLES)
        assert np.mean(x < edge) == pytest.approx(cdf, abs=tol)


def test_circular_centre_and_wrapping_of_a_narrow_peak():
    dist = Circular(mean_deg=197.0, sigma_plus_deg=27.0, sigma_minus_deg=24.0)
    assert dist.centre == 197.0
    x = dist.sample(np.random.default_rng(1), N_SAMPLES)
    # 180 deg is 6.7 and 7.5 sigma away: essentially nothing wraps, so the sample mean is
    # the split-normal mean.
    mu, std = split_normal_moments(197.0, 27.0, 24.0)
    assert np.mean(x) == pytest.approx(mu, abs=5.0 * std / math.sqrt(N_SAMPLES))


# --- validation of the families --------------------------------------------------------------


@pytest.mark.parametrize(("cls", "kwargs", "key"), [
    (Normal, {"mean": 0.3, "sigma": 0.0}, "sigma"),
    (Normal, {"mean": 0.3, "sigma": -0.1}, "sigma"),
    (Normal, {"mean": math.nan, "sigma": 0.1}, "mean"),
    (Normal, {"mean": math.inf, "sigma": 0.1}, "mean"),
    (Normal, {"mean": "0.3", "sigma": 0.1}, "mean"),
    (Normal, {"mean": True, "sigma": 0.1}, "mean"),
    (AsymmetricNormal, {"mean": 0.3, "sigma_plus": 0.1, "sigma_minus": -0.1}, "sigma_minus"),
    (TruncatedNormal, {"mean": 0.5, "sigma": 0.1, "low": 1.0, "high": 0.0}, "low"),
    (TruncatedNormal, {"mean": 0.5, "sigma": 0.1, "low": 0.0, "high": math.inf}, "high"),
    (Uniform, {"low": 1.0, "high": 1.0}, "low"),
    (LogUniform, {"low": 0.0, "high": 1.0}, "low"),
    (LogUniform, {"low": -1.0, "high": 1.0}, "low"),
    (Fixed, {"value": math.nan}, "value"),
    (Circular, {"mean_deg": 197.0, "sigma_plus_deg": 0.0, "sigma_minus_deg": 24.0},
     "sigma_plus_deg"),
])
def test_invalid_fields_raise(cls, kwargs, key):
    with pytest.raises(PriorError) as info:
        cls(**kwargs)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")


def test_normal_mixture_closed_forms():
    """Weighted sum of two normal densities (scipy), normalised; moments and interval
    probabilities of the mixture against their closed forms."""
    dist = NormalMixture(4.93, 0.2958, 4.50, 0.27, 0.3)
    x = np.linspace(3.0, 6.5, 13)
    expected = np.log(0.7 * stats.norm.pdf(x, 4.93, 0.2958) + 0.3 * stats.norm.pdf(x, 4.50, 0.27))
    np.testing.assert_allclose(dist.log_density(x), expected, rtol=1e-12)
    assert integrate.quad(lambda t: np.exp(dist.log_density(t)), 2.0, 8.0)[0] == pytest.approx(
        1.0, abs=1e-9)
    assert dist.centre == pytest.approx(0.7 * 4.93 + 0.3 * 4.50)
    assert dist.probability_between(4.5, 4.93) == pytest.approx(
        0.7 * (stats.norm.cdf(0) - stats.norm.cdf(-0.43 / 0.2958))
        + 0.3 * (stats.norm.cdf(0.43 / 0.27) - 0.5), rel=1e-12)
    draws = dist.sample(np.random.default_rng(3), N_SAMPLES)
    variance = 0.7 * (0.2958**2 + 4.93**2) + 0.3 * (0.27**2 + 4.50**2) - dist.centre**2
    assert draws.mean() == pytest.approx(dist.centre, abs=4 * np.sqrt(variance / N_SAMPLES))
    assert draws.var() == pytest.approx(variance, rel=0.01)
    with pytest.raises(PriorError, match="weight_b"):
        NormalMixture(4.93, 0.2958, 4.50, 0.27, 1.0)


def test_families_registry():
    assert set(FAMILIES) == {"normal", "asymmetric-normal", "normal-mixture",
                             "truncated-normal", "uniform", "log-uniform", "fixed", "circular"}
    assert issubclass(PriorError, ValueError)


# --- shipped prior files --------------------------------------------------------------------

SHIPPED = {
    "nufit-5.0-no.toml": {
        "sin2_theta12": ("asymmetric-normal", 0.304, 0.012, 0.012),
        "sin2_theta13": ("asymmetric-normal", 0.02219, 0.00062, 0.00063),
        "sin2_theta23": ("asymmetric-normal", 0.573, 0.016, 0.020),
        "delta_cp_deg": ("circular", 197.0, 27.0, 24.0),
        "dm2_21_eV2": ("asymmetric-normal", 7.42e-5, 0.21e-5, 0.20e-5),
    },
    "nufit-6.0-no.toml": {  # NuFIT 6.0 NO with SK-atm, JHEP 12 (2024) 216, 1-sigma ranges
        "sin2_theta12": ("asymmetric-normal", 0.308, 0.012, 0.011),
        "sin2_theta13": ("asymmetric-normal", 0.02215, 0.00056, 0.00058),
        "sin2_theta23": ("asymmetric-normal", 0.470, 0.017, 0.013),
        "delta_cp_deg": ("circular", 212.0, 26.0, 41.0),
        "dm2_21_eV2": ("asymmetric-normal", 7.49e-5, 0.19e-5, 0.19e-5),
    },
    # B16 fluxes and 1-sigma errors, Vinyoles et al., ApJ 835, 202 (2017), Table 6
    "ssm-b16-gs98.toml": {"flux_7be_cm2s": ("normal", 4.93e9, 0.2958e9)},
    "ssm-b16-gs98-pp-pep.toml": {"flux_pp_cm2s": ("normal", 5.98e10, 0.03588e10),
                                 "flux_pep_cm2s": ("normal", 1.44e8, 0.0144e8)},
    "ssm-b16-gs98-cno-b8.toml": {"flux_n13_cm2s": ("normal", 2.78e8, 0.417e8),
                                 "flux_o15_cm2s": ("normal", 2.05e8, 0.3485e8),
                                 "flux_f17_cm2s": ("normal", 5.28e6, 1.056e6),
                                 "flux_b8_cm2s": ("normal", 5.46e6, 0.6552e6)},
    "ssm-b16-agss09met.toml": {"flux_7be_cm2s": ("normal", 4.50e9, 0.27e9)},
    "ssm-b16-composition-mixture.toml": {
        "flux_7be_cm2s": ("normal-mixture", 4.93e9, 0.2958e9, 4.50e9, 0.27e9, 0.5)},
    "ssm-b16-agss09met-pp-pep.toml": {"flux_pp_cm2s": ("normal", 6.03e10, 0.03015e10),
                                      "flux_pep_cm2s": ("normal", 1.46e8, 0.01314e8)},
    "ssm-b16-agss09met-cno-b8.toml": {"flux_n13_cm2s": ("normal", 2.04e8, 0.2856e8),
                                      "flux_o15_cm2s": ("normal", 1.44e8, 0.2304e8),
                                      "flux_f17_cm2s": ("normal", 3.26e6, 0.5868e6),
                                      "flux_b8_cm2s": ("normal", 4.5e6, 0.54e6)},
    # each flux an equal mixture of its two B16 values (Table 6 of Vinyoles et al., as above)
    "ssm-b16-composition-mixture-pp-pep.toml": {
        "flux_pp_cm2s": ("normal-mixture", 5.98e10, 0.03588e10, 6.03e10, 0.03015e10, 0.5),
        "flux_pep_cm2s": ("normal-mixture", 1.44e8, 0.0144e8, 1.46e8, 0.01314e8, 0.5)},
    "ssm-b16-composition-mixture-cno-b8.toml": {
        "flux_n13_cm2s": ("normal-mixture", 2.78e8, 0.417e8, 2.04e8, 0.2856e8, 0.5),
        "flux_o15_cm2s": ("normal-mixture", 2.05e8, 0.3485e8, 1.44e8, 0.2304e8, 0.5),
        "flux_f17_cm2s": ("normal-mixture", 5.28e6, 1.056e6, 3.26e6, 0.5868e6, 0.5),
        "flux_b8_cm2s": ("normal-mixture", 5.46e6, 0.6552e6, 4.5e6, 0.54e6, 0.5)},
    # pp, 7Be and pep free in Borexino's Phase-II fit (the file's sources: Nature 562, 505)
    "borexino-phase2-free-fluxes.toml": {"flux_pp_cm2s": ("uniform", 2.0e10, 1.2e11),
                                         "flux_7be_cm2s": ("uniform", 2.0e9, 8.0e9),
                                         "flux_pep_cm2s": ("uniform", 0.0, 5.0e8)},
    # Borexino Phase-II backgrounds and response (the file's sources: PRD 100, 082004 (2019))
    "borexino-phase2-backgrounds.toml": {
        "bkg_c14_norm": ("normal", 1.0, 0.05),
        "bkg_pileup_norm": ("normal", 1.0, 0.0204),
        **{f"bkg_{name}_norm": ("uniform", 0.0, 3.0)
           for name in ("po210", "kr85", "bi210", "c11", "ext")},
        "bkg_threshold_tilt_norm": ("normal", 0.0, 0.1),  # mcprop's choice (physics.md 14)
        # the response calibration's 1-sigma (scripts/calibrate_response.py)
        "nh_energy_scale": ("normal", 0.0, 0.0052),
        "nh_offset": ("normal", 0.0, 0.53),
        "nh_resolution_scale": ("normal", 0.0, 0.0021),
        # the 14C light below the calibrated range: mcprop's choice around the calibration
        # on Borexino's 14C component (scripts/calibrate_c14_light.py; physics.md 14)
        "nh_c14_offset": ("normal", 0.0, 0.5),
        "nh_c14_resolution_scale": ("normal", 0.0, 0.03)},
    "borexino-pee-phase1.toml": {"p_ee": ("truncated-normal", 0.51, 0.07, 0.0, 1.0)},
    "borexino-pee-phase2.toml": {"p_ee": ("truncated-normal", 0.53, 0.05, 0.0, 1.0)},
    "pure-nue.toml": {"p_ee": ("fixed", 1.0)},  # no flavour conversion, a hypothesis
    "seed-fixed-inputs.toml": {  # the seed paper's fixed inputs (arXiv:2007.16098, sec. 3)
        "sin2_theta12": ("fixed", 0.304),
        "sin2_theta13": ("fixed", 0.02219),
        "sin2_theta23": ("fixed", 0.573),
        "delta_cp_deg": ("fixed", 197.0),
        "flux_7be_cm2s": ("fixed", 4.93e9),
        "p_ee": ("fixed", 0.53),
    },
}


def test_every_shipped_file_is_tested():
    assert sorted(path.name for path in PRIOR_DIR.glob("*.toml")) == sorted(SHIPPED)


@pytest.mark.parametrize("filename", sorted(SHIPPED))
def test_shipped_file_loads_with_published_numbers(filename):
    prior_set = load_prior_files([PRIOR_DIR / filename])
    expected = SHIPPED[filename]
    assert list(prior_set.distributions) == list(expected)
    assert prior_set.name == filename.removesuffix(".toml")
    assert prior_set.paths == (PRIOR_DIR / filename,)
    assert prior_set.files[0].reference and prior_set.description
    for name, (family, *numbers) in expected.items():
        dist = prior_set.distributions[name]
        assert dist.family == family
        assert [getattr(dist, field.name) for field in fields(dist)] == numbers
        if family not in ("uniform", "normal-mixture"):  # their centres are averages
            assert prior_set.centres()[name] == numbers[0]
        assert len(prior_set.references[name]) > 20
    provenance = prior_set.provenance()
    json.dumps(provenance, allow_nan=False)
    assert all(entry["source"] for entry in provenance["parameters"].values())


def test_nufit_6_file_cites_its_own_ranges():
    prior_set = load_prior_files([PRIOR_DIR / "nufit-6.0-no.toml"])
    for source in prior_set.references.values():
        assert "JHEP 12 (2024) 216" in source and "BORROWED" not in source


def test_shipped_centres_match_the_physics_constants():
    assert load_prior_files([PRIOR_DIR / "nufit-5.0-no.toml"]).centres() == NUFIT_5_0_NO_CENTRAL
    gs98 = load_prior_files([PRIOR_DIR / "ssm-b16-gs98.toml"]).centres()
    agss = load_prior_files([PRIOR_DIR / "ssm-b16-agss09met.toml"]).centres()
    assert gs98 == {"flux_7be_cm2s": B16_GS98_BE7_FLUX_CM2S}
    assert agss == {"flux_7be_cm2s": B16_AGSS09MET_BE7_FLUX_CM2S}
    assert gs98["flux_7be_cm2s"] * 0.06 == pytest.approx(
        load_prior_files([PRIOR_DIR / "ssm-b16-gs98.toml"]).distributions["flux_7be_cm2s"].sigma)


# --- prior sets ---------------------------------------------------------------------------


@pytest.fixture
def standard_set():
    return load_prior_files([PRIOR_DIR / "nufit-5.0-no.toml", PRIOR_DIR / "ssm-b16-gs98.toml",
                             PRIOR_DIR / "borexino-pee-phase1.toml"])


def test_merged_set_order_names_and_provenance(standard_set):
    assert standard_set.free_names == (
        "sin2_theta12", "sin2_theta13", "sin2_theta23", "delta_cp_deg", "dm2_21_eV2",
        "flux_7be_cm2s", "p_ee")
    assert standard_set.fixed_values == {}
    assert standard_set.name == "nufit-5.0-no+ssm-b16-gs98+borexino-pee-phase1"
    provenance = json.loads(json.dumps(standard_set.provenance(), allow_nan=False))
    assert [file["name"] for file in provenance["files"]] == standard_set.name.split("+")
    assert provenance["parameters"]["p_ee"] == {
        "family": "truncated-normal", "mean": 0.51, "sigma": 0.07, "low": 0.0, "high": 1.0,
        "source": standard_set.references["p_ee"]}


def test_set_log_density_is_the_sum_of_independent_terms(standard_set):
    values = {
        "sin2_theta12": np.array([0.30, 0.31]),
        "sin2_theta13": np.array([0.022, 0.0225]),
        "sin2_theta23": np.array([0.56, 0.58]),
        "delta_cp_deg": np.array([180.0, 220.0]),
        "dm2_21_eV2": np.array([7.3e-5, 7.6e-5]),
        "flux_7be_cm2s": np.array([4.8e9, 5.1e9]),
        "p_ee": np.array([0.45, 0.6]),
    }
    expected = (
        np.log(split_normal_pdf(values["sin2_theta12"], 0.304, 0.012, 0.012))
        + np.log(split_normal_pdf(values["sin2_theta13"], 0.02219, 0.00062, 0.00063))
        + np.log(split_normal_pdf(values["sin2_theta23"], 0.573, 0.016, 0.020))
        + np.log(sum(split_normal_pdf(values["delta_cp_deg"] + 360 * k, 197.0, 27.0, 24.0)
                     for k in range(-2, 3)))
        + np.log(split_normal_pdf(values["dm2_21_eV2"], 7.42e-5, 0.21e-5, 0.20e-5))
        + stats.norm.logpdf(values["flux_7be_cm2s"], 4.93e9, 0.2958e9)
        + stats.truncnorm.logpdf(values["p_ee"], -0.51 / 0.07, 0.49 / 0.07, 0.51, 0.07)
    )
    np.testing.assert_allclose(standard_set.log_density(values), expected, rtol=1e-10)


def test_set_log_density_of_scalars_is_that_of_arrays(standard_set):
    values = {"sin2_theta12": np.array([0.30, 0.31, 1.2]), "sin2_theta13": np.array([0.022] * 3),
              "sin2_theta23": np.array([0.56] * 3), "delta_cp_deg": np.array([180.0, 40.0, 200.0]),
              "dm2_21_eV2": np.array([7.3e-5] * 3), "flux_7be_cm2s": np.array([4.8e9] * 3),
              "p_ee": np.array([0.45] * 3)}
    arrays = standard_set.log_density(values)
    for i in range(3):
        scalar = standard_set.log_density({k: float(v[i]) for k, v in values.items()})
        assert np.shape(scalar) == () and scalar == arrays[i]
    assert arrays[2] == -np.inf


def test_set_log_density_is_minus_inf_outside_physical_domains():
    prior_set = PriorSet({"sin2_theta13": Normal(0.0, 0.1),
                          "flux_7be_cm2s": Normal(1e9, 2e9)},
                         {"sin2_theta13": "test", "flux_7be_cm2s": "test"})
    values = {"sin2_theta13": np.array([-0.01, 0.01, 0.5, 1.01]),
              "flux_7be_cm2s": np.array([1e9, -0.5e9, 1e9, 1e9])}
    result = prior_set.log_density(values)
    assert np.all(np.isinf(result[[0, 1, 3]])) and np.all(result[[0, 1, 3]] < 0)
    expected = stats.norm.logpdf(0.5, 0.0, 0.1) + stats.norm.logpdf(1e9, 1e9, 2e9)
    assert result[2] == pytest.approx(expected)


def test_set_sample_stays_in_physical_domains():
    prior_set = PriorSet({"p_ee": Normal(0.9, 0.2), "dm2_21_eV2": Uniform(-1e-4, 1e-4)},
                         {"p_ee": "test", "dm2_21_eV2": "test"})
    draws = prior_set.sample(np.random.default_rng(3), 10_000)
    assert set(draws) == {"p_ee", "dm2_21_eV2"}
    assert np.all((draws["p_ee"] >= 0) & (draws["p_ee"] <= 1))
    assert np.all(draws["dm2_21_eV2"] >= 0)
    assert np.all(np.isfinite(prior_set.log_density(draws)))


def test_set_sample_draws_a_prior_mostly_outside_its_domain():
    """1.3% of Normal(-0.1, 0.045) lies in [0, 1]: the draws are its truncation there."""
    dist = Normal(-0.1, 0.045)
    inside = stats.norm.sf(0.0, -0.1, 0.045)
    assert dist.probability_between(0.0, 1.0) == pytest.approx(inside, rel=1e-12)
    draws = PriorSet({"p_ee": dist}, {"p_ee": "test"}).sample(np.random.default_rng(4),
                                                               20_000)["p_ee"]
    assert np.all((draws >= 0) & (draws <= 1))
    # mean of the normal truncated to [0, inf): mu + sigma phi(a) / (1 - Phi(a)), a = -mu/sigma
    expected = stats.truncnorm.mean(0.1 / 0.045, np.inf, loc=-0.1, scale=0.045)
    assert draws.mean() == pytest.approx(expected, rel=0.02)


def test_set_sample_gives_up_when_the_probability_inside_is_overstated():
    class Overstated(Normal):
        def probability_between(self, low, high):
            return 1.0

    prior_set = PriorSet({"p_ee": Normal(0.5, 0.1)}, {"p_ee": "test"})
    prior_set.distributions["p_ee"] = Overstated(-10.0, 1.0)
    with pytest.raises(PriorError, match="p_ee"):
        prior_set.sample(np.random.default_rng(0), 10)


def test_with_override_fixes_a_parameter(standard_set):
    fixed = standard_set.with_override("p_ee", Fixed(0.51), source="seed value")
    assert "p_ee" not in fixed.free_names
    assert fixed.fixed_values == {"p_ee": 0.51}
    assert fixed.centres()["p_ee"] == 0.51
    assert fixed.references["p_ee"] == "seed value"
    assert set(fixed.sample(np.random.default_rng(0), 3)) == set(fixed.free_names)
    assert "p_ee" in standard_set.free_names  # the original is unchanged
    values = standard_set.sample(np.random.default_rng(1), 5)
    del values["p_ee"]
    assert np.all(np.isfinite(fixed.log_density(values)))
    added = load_prior_files([PRIOR_DIR / "ssm-b16-gs98.toml"]).with_override(
        "p_ee", Uniform(0.0, 1.0))
    assert added.free_names == ("flux_7be_cm2s", "p_ee")


def test_with_override_validates():
    prior_set = load_prior_files([PRIOR_DIR / "borexino-pee-phase1.toml"])
    with pytest.raises(PriorError, match="outside the physical domain"):
        prior_set.with_override("p_ee", Fixed(1.5))
    with pytest.raises(PriorError, match="unknown parameter"):
        prior_set.with_override("theta12", Fixed(0.3))


def test_physical_domains():
    assert PHYSICAL_DOMAINS["delta_cp_deg"] == (-math.inf, math.inf)
    assert PHYSICAL_DOMAINS["p_ee"] == (0.0, 1.0)
    assert PHYSICAL_DOMAINS["dm2_21_eV2"] == (0.0, math.inf)
    assert set(PARAMETER_SCALES) == set(PHYSICAL_DOMAINS)


# --- priors that make no physical sense -------------------------------------------------------

SENSELESS = {
    "flux fixed at 0": ("flux_7be_cm2s", Fixed(0.0), None, "fixed value 0"),
    "Dm^2_21 fixed at 0": ("dm2_21_eV2", Fixed(0.0), None, "(0, inf]"),
    "P_ee fixed above 1": ("p_ee", Fixed(1.2), None, "outside the physical domain [0, 1]"),
    "flux width 1e308": ("flux_7be_cm2s", Normal(4.93e9, 1e308), "sigma", "1e+308"),
    "flux mean 1e300": ("flux_7be_cm2s", Normal(1e300, 1e9), "mean", "1000 times"),
    "circular width 1e-300": ("delta_cp_deg", Circular(197.0, 1e-300, 24.0),
                              "sigma_plus_deg", "fixed"),
    "flux width 1e-3": ("flux_7be_cm2s", Normal(4.93e9, 1e-3), "sigma", "below 1e-09"),
    "uniform narrower than resolution": ("sin2_theta12", Uniform(0.3, 0.3 + 1e-12), None,
                                         "narrower"),
    "normal far outside [0, 1]": ("p_ee", Normal(-10.0, 1.0), None, "only"),
    "truncated normal outside [0, 1]": ("p_ee", TruncatedNormal(3.0, 0.5, -5.0, 5.0), None,
                                        "inside the physical domain"),
    "uniform outside [0, 1]": ("sin2_theta13", Uniform(1.5, 2.0), None,
                               "outside the physical domain"),
}


@pytest.mark.parametrize("case", SENSELESS)
def test_senseless_priors_are_refused(case):
    name, dist, key, reason = SENSELESS[case]
    with pytest.raises(PriorError) as info:
        PriorSet({name: dist}, {name: "test"})
    assert info.value.key == (name if key is None else f"{name}.{key}")
    assert reason in str(info.value)


@pytest.mark.parametrize(("name", "dist"), [
    ("sin2_theta13", Fixed(0.0)),                     # two-flavour limit
    ("flux_7be_cm2s", Normal(4.93e9, 4.93e9)),         # 100% uncertain
    ("flux_7be_cm2s", Uniform(0.0, 2e10)),
    ("sin2_theta12", Normal(0.3, 5.0)),                # 8% of it inside [0, 1]
    ("p_ee", TruncatedNormal(-0.5, 0.1, 0.0, 1.0)),    # mean 5 sigma below the range
    ("dm2_21_eV2", LogUniform(1e-10, 1e-3)),           # vacuum to LMA solutions
    ("delta_cp_deg", Uniform(-180.0, 180.0)),
])
def test_wide_but_sensible_priors_are_accepted(name, dist):
    prior_set = PriorSet({name: dist}, {name: "test"})
    draws = prior_set.sample(np.random.default_rng(5), 1000)
    assert np.all(np.isfinite(prior_set.log_density(draws)))


def test_truncated_normal_without_probability_in_its_range():
    with pytest.raises(PriorError, match="no probability") as info:
        TruncatedNormal(5.1, 0.01, 0.0, 1.0)
    assert info.value.key == "mean"
    # 40 sigma away still has a representable probability, and a finite density
    far = TruncatedNormal(-3.5, 0.1, 0.0, 1.0)
    x = np.array([0.0, 0.05])
    expected = stats.truncnorm.logpdf(x, 35.0, 45.0, -3.5, 0.1)
    np.testing.assert_allclose(far.log_density(x), expected, rtol=1e-9)


# --- malformed prior files ------------------------------------------------------------------

HEADER = 'schema_version = 1\nname = "test"\n'
GOOD_P_EE = ('[parameters.p_ee]\nfamily = "normal"\nmean = 0.5\nsigma = 0.1\n'
             'source = "a source"\n')

MALFORMED = {
    "bad-toml": (HEADER + "[parameters.p_ee\nfamily = 'normal'\n", None, "invalid TOML"),
    "unknown-family": (HEADER + GOOD_P_EE.replace('"normal"', '"gaussian"'),
                       "parameters.p_ee.family", "unknown family 'gaussian'"),
    "negative-sigma": (HEADER + GOOD_P_EE.replace("0.1", "-0.1"),
                       "parameters.p_ee.sigma", "must be positive"),
    "missing-source": (HEADER + GOOD_P_EE.replace('source = "a source"\n', ""),
                       "parameters.p_ee.source", "source"),
    "empty-source": (HEADER + GOOD_P_EE.replace('"a source"', '""'),
                     "parameters.p_ee.source", "non-empty string"),
    "unknown-parameter": (HEADER + GOOD_P_EE.replace("p_ee", "p_emu"),
                          "parameters.p_emu", "unknown parameter"),
    "wrong-schema-version": (HEADER.replace("= 1", "= 2") + GOOD_P_EE,
                             "schema_version", "only 1 is supported"),
    "missing-schema-version": (HEADER.replace("schema_version = 1\n", "") + GOOD_P_EE,
                               "schema_version", "missing"),
    "low-above-high": (HEADER + '[parameters.p_ee]\nfamily = "uniform"\nlow = 0.8\n'
                       'high = 0.2\nsource = "s"\n', "parameters.p_ee.low", "below high"),
    "log-uniform-nonpositive": (HEADER + '[parameters.dm2_21_eV2]\nfamily = "log-uniform"\n'
                                'low = 0.0\nhigh = 1e-4\nsource = "s"\n',
                                "parameters.dm2_21_eV2.low", "must be positive"),
    "non-numeric": (HEADER + GOOD_P_EE.replace("0.5", '"0.5"'),
                    "parameters.p_ee.mean", "must be a number"),
    "nan": (HEADER + GOOD_P_EE.replace("0.5", "nan"), "parameters.p_ee.mean", "finite"),
    "unknown-field": (HEADER + GOOD_P_EE.replace("sigma", "width"),
                      "parameters.p_ee.width", "unknown field"),
    "missing-field": (HEADER + GOOD_P_EE.replace("sigma = 0.1\n", ""),
                      "parameters.p_ee.sigma", "missing"),
    "missing-family": (HEADER + GOOD_P_EE.replace('family = "normal"\n', ""),
                       "parameters.p_ee.family", "missing"),
    "unknown-top-level-key": (HEADER + "version = 3\n" + GOOD_P_EE, "version", "unknown"),
    "no-parameters": (HEADER, "parameters", "missing"),
    "outside-domain": (HEADER + '[parameters.sin2_theta12]\nfamily = "uniform"\nlow = 1.5\n'
                       'high = 2.0\nsource = "s"\n', "parameters.sin2_theta12",
                       "outside the physical domain"),
    "flux-fixed-at-zero": (HEADER + '[parameters.flux_7be_cm2s]\nfamily = "fixed"\n'
                           'value = 0.0\nsource = "s"\n', "parameters.flux_7be_cm2s",
                           "outside the physical domain (0, inf]"),
    "source-with-newline": (HEADER + GOOD_P_EE.replace('"a source"', '"a\\nsource"'),
                            "parameters.p_ee.source", "control characters"),
    "name-with-escape": (HEADER.replace('"test"', '"te\\u001bst"') + GOOD_P_EE, "name",
                         "control characters"),
    "not-utf8": (HEADER.replace("test", "t\xe9st") + GOOD_P_EE, None, "not UTF-8"),
    "deeply-nested": (HEADER + "x = " + "[" * 1000 + "]" * 1000 + "\n", None,
                      "nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_raises_one_line_error_naming_file_and_key(tmp_path, case):
    text, key, reason = MALFORMED[case]
    path = tmp_path / f"{case}.toml"
    path.write_bytes(text.encode("latin-1" if case == "not-utf8" else "utf-8"))
    with pytest.raises(PriorError) as info:
        load_prior_files([path])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    if key is not None:
        assert f": {key}: " in message
    assert reason in message


def test_unknown_family_lists_known_families(tmp_path):
    path = tmp_path / "prior.toml"
    path.write_text(HEADER + GOOD_P_EE.replace('"normal"', '"gaussian"'))
    with pytest.raises(PriorError) as info:
        load_prior_files([path])
    assert all(family in str(info.value) for family in FAMILIES)


@pytest.mark.parametrize(("path", "reason"), [
    ("/dev/zero", "not a regular file"),
    ("/", "not a regular file"),
    ("nul\0.toml", "NUL"),
])
def test_unusable_prior_paths_raise(path, reason):
    with pytest.raises(PriorError, match=reason) as info:
        load_prior_files([path])
    assert "\n" not in str(info.value)


def test_missing_file_raises(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(PriorError, match="cannot read") as info:
        load_prior_files([path])
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_parameter_defined_in_two_files_names_both(tmp_path):
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text(HEADER + GOOD_P_EE)
    second.write_text(HEADER.replace("test", "other") + GOOD_P_EE)
    with pytest.raises(PriorError) as info:
        load_prior_files([first, second])
    message = str(info.value)
    assert "\n" not in message
    assert str(first) in message and str(second) in message
    assert "parameters.p_ee" in message
