"""Expected limits of spectral runs (profile-likelihood limits of pseudo-spectra, all fitted
in one batch) against the one-at-a-time profile limit, and the correlated-systematics draw
of pseudo-measurements against its closed-form covariance."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import REPO, SPECTRAL_PRIORS, SPECTRUM, one_line_error

from mcprop.inference.expected import (
    ExpectedSettings,
    coverage,
    draw_values,
    expected_band,
    profile_limits,
    truth_nuisances,
)
from mcprop.inference.limits import profile_likelihood_limit
from mcprop.inference.measurements import RateMeasurement, SystematicCorrelation
from mcprop.inference.plan import PROFILE_LEVEL_90
from mcprop.interface.api import ScanResult
from mcprop.interface.config import config_from_dict, load_config


@pytest.fixture(scope="module")
def spectral_posterior(tmp_path_factory):
    """The Z' over the Phase-II spectrum in 42 bins of 20 N_h, one mass (10 MeV), five
    nuisances free (the 7Be and pp fluxes, the 85Kr, 210Po and 210Bi backgrounds)."""
    free = ("flux_7be_cm2s", "flux_pp_cm2s", "bkg_kr85_norm", "bkg_po210_norm",
            "bkg_bi210_norm")
    document = {"schema_version": 1, "name": "spectral-toys",
                "physics": {"model": "Lmu-Ltau", "flavour_model": "decoherent-msw"},
                "priors": {"files": SPECTRAL_PRIORS}, "measurements": [SPECTRUM],
                "mass_grid": {"mass_min_MeV": 10.0, "mass_max_MeV": 10.0, "n_masses": 1},
                "sampler": {"seed": 3, "n_walkers": 56},
                "output": {"directory": str(tmp_path_factory.mktemp("out"))}}
    every = config_from_dict(document, tmp_path_factory.getbasetemp()).plan.priors.free_names
    document["priors"]["fixed"] = [name for name in every if name not in free]
    posterior = config_from_dict(document, tmp_path_factory.getbasetemp()).plan.posterior()
    assert sorted(posterior.nuisance_names) == sorted(free)
    return posterior


def test_batched_profile_limits_equal_the_one_at_a_time_profile_limit(spectral_posterior):
    """Two pseudo-spectra and the observed one fitted in one batch (the counts entering
    through sum n ln mu) give the limit of profile_likelihood_limit on each spectrum alone
    (the run's own likelihood, its own grid and refinement to 1e-4)."""
    posterior = spectral_posterior
    truth = truth_nuisances(posterior, 2, "best-fit", 11)
    start = np.array([truth[name][0] for name in posterior.nuisance_names])
    predictions = posterior.predictions(np.zeros(2), truth, np.zeros(2, int))
    (toys,) = draw_values(posterior, predictions, 11, 2)
    counts = np.vstack([posterior.measurements[0].counts, toys])
    single = []
    for row in counts:
        alone = replace(posterior, measurements=(replace(posterior.measurements[0],
                                                         counts=row),))
        single.append(profile_likelihood_limit(alone, 0, PROFILE_LEVEL_90, start=start,
                                               g_scale=5e-4)["g_upper_profile"])
    batched = profile_limits(posterior, 0, [counts], PROFILE_LEVEL_90, start,
                             np.median(single) * np.geomspace(0.5, 2, 6))
    np.testing.assert_allclose(batched, single, rtol=2e-3)
    assert np.ptp(single) > 0.02 * np.median(single)  # the toys differ: a real check


def test_spectral_band_brackets_the_asimov_profile_limit(spectral_posterior):
    """The band of 8 pseudo-spectra is ordered, and the Asimov limit (the expected counts
    as data) lies inside the 95% range of the toys (it approximates their median)."""
    band = expected_band(spectral_posterior, 0, ExpectedSettings(8, "best-fit"), 5, 0.9,
                         PROFILE_LEVEL_90)
    values = [band[f"g_expected_{k}"] for k in ("lo95", "lo68", "median", "hi68", "hi95")]
    assert values == sorted(values) and values[0] < values[-1]
    assert band["g_expected_lo95"] < band["g_expected_asimov"] < band["g_expected_hi95"]


def _pair(syst_plus, syst_minus, rho):
    first = RateMeasurement("a", ("862keV",), 48.0, 1.1, syst_plus[0], syst_minus[0], "test")
    second = RateMeasurement("b", ("862keV",), 46.0, 1.5, syst_plus[1], syst_minus[1], "test")
    return SimpleNamespace(measurements=(first, second),
                           correlations=(SystematicCorrelation(0, 1, rho, "test"),))


def test_correlated_pair_pseudo_measurements_have_the_likelihoods_covariance():
    """Symmetric systematic errors: the pseudo-measurements of a correlated pair are
    bivariate normal around the predictions with the covariance of the pair's likelihood,
    [[stat1^2 + syst1^2, rho syst1 syst2], [., stat2^2 + syst2^2]]."""
    rho, syst = 0.7, (1.2, 2.0)
    fake = _pair(syst, syst, rho)
    n = 40000
    prediction = [np.array([np.full(n, 47.0), np.full(n, 47.5)]),
                  np.array([np.full(n, 45.0), np.full(n, 45.5)])]
    d1, d2 = draw_values(fake, prediction, 9, n)
    covariance = np.array([[1.1**2 + syst[0]**2, rho * syst[0] * syst[1]],
                           [rho * syst[0] * syst[1], 1.5**2 + syst[1]**2]])
    sample = np.cov(np.vstack([d1, d2]))
    error = np.sqrt((covariance**2 + np.outer(np.diag(covariance), np.diag(covariance))) / n)
    assert np.all(np.abs(sample - covariance) < 4.5 * error)
    assert abs(d1.mean() - 47.5) < 4.5 * np.sqrt(covariance[0, 0] / n)
    assert abs(d2.mean() - 45.5) < 4.5 * np.sqrt(covariance[1, 1] / n)


def test_correlated_pair_with_asymmetric_systematics_against_orthant_moments():
    """Asymmetric systematic errors (the minus error above the prediction, the plus error
    below it, the sides on which the likelihood uses them): the mean shift, variances and
    covariance of the systematic parts from the moments of a bivariate standard normal
    over its quadrants, A = E[XY; X > 0, Y > 0] = rho/4 + (rho arcsin rho + sqrt(1 -
    rho^2)) / (2 pi)."""
    rho, plus, minus = 0.6, (0.4, 0.9), (1.6, 2.2)
    fake = _pair(plus, minus, rho)
    n = 60000
    prediction = [np.array([np.zeros(n), np.zeros(n)]), np.array([np.zeros(n), np.zeros(n)])]
    d1, d2 = draw_values(fake, prediction, 4, n)
    half = 1 / np.sqrt(2 * np.pi)  # E[X; X > 0]
    mean = [(minus[i] - plus[i]) * half for i in range(2)]
    second = [(minus[i] ** 2 + plus[i] ** 2) / 2 for i in range(2)]
    variance = [s**2 + second[i] - mean[i] ** 2 for i, s in enumerate((1.1, 1.5))]
    a = rho / 4 + (rho * np.arcsin(rho) + np.sqrt(1 - rho**2)) / (2 * np.pi)
    mixed = (minus[0] * minus[1] + plus[0] * plus[1]) * a \
        + (minus[0] * plus[1] + plus[0] * minus[1]) * (rho / 2 - a)
    covariance = mixed - mean[0] * mean[1]
    assert d1.mean() == pytest.approx(mean[0], abs=4.5 * np.sqrt(variance[0] / n))
    assert d2.mean() == pytest.approx(mean[1], abs=4.5 * np.sqrt(variance[1] / n))
    assert np.var(d1) == pytest.approx(variance[0], rel=4.5 * np.sqrt(2 / n) * 1.5)
    assert np.var(d2) == pytest.approx(variance[1], rel=4.5 * np.sqrt(2 / n) * 1.5)
    tolerance = 4.5 * np.sqrt((variance[0] * variance[1] + covariance**2) / n)
    assert np.cov(d1, d2)[0, 1] == pytest.approx(covariance, abs=tolerance)


def test_spectral_toys_at_prior_draws_refused_in_one_line(cli, tmp_path):
    text = (REPO / "runs" / "borexino-phase2-spectral.toml").read_text()
    config = tmp_path / "spectral.toml"
    config.write_text(text.replace('"../priors/', f'"{REPO}/priors/').replace(
        'draw = "best-fit"', 'draw = "prior-draws"'))
    result = cli("run", config, "--expected", "5", "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 2
    one_line_error(result, "expected.draw", "measurements[0] is a spectrum", "best-fit")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("config", "statistic"), [
    ("borexino-phase2-spectral.toml", "profile"), ("borexino-phase1.toml", "credible")])
def test_the_statistic_of_the_band_is_in_the_provenance(config, statistic):
    resolved = load_config(REPO / "runs" / config, {"expected": {"n_toys": 10}})
    scan = ScanResult(resolved.resolved, resolved.plan.masses_MeV, [], "0" * 64)
    assert scan.expected_statistic == statistic
    line = next(line for line in scan.provenance() if line.startswith("expected limits"))
    assert f"expected_statistic: {statistic}" in line
    assert ("profile-likelihood" in line) == (statistic == "profile")


def test_spectral_coverage_counts_the_batched_profile_limits(spectral_posterior):
    """A Z' a tenth of the sensitivity (5e-5 at 10 MeV, where the limits lie near 5e-4) is
    covered by every pseudo-spectrum: each batched profile limit lies above it; a spectrum
    has no credible limit here."""
    result = coverage(spectral_posterior, 0, 5e-5, 4, "best-fit", 2, 0.9, PROFILE_LEVEL_90)
    record = result.record()
    assert record["credible_coverage"] is None and record["profile_coverage"] == 1.0
    assert np.all(result.profile_limits > 5e-5)
