"""Expected limits of independent magnetic moments (mu_e, mu_mu, mu_tau sampled together):
the profile-likelihood limit of each moment with the other two profiled at >= 0, against
its closed form for one Gaussian rate, reproducible with the seed, written by a run."""

import tomllib

import numpy as np
import pytest
from conftest import REPO

import mcprop
from mcprop.inference.expected import (
    ExpectedSettings,
    expected_moment_band,
    pseudo_data,
    statistic,
)
from mcprop.inference.plan import PROFILE_LEVEL_90
from mcprop.inference.results import MOMENT_EXPECTED_COLUMNS
from mcprop.interface.config import config_from_dict

RUNS = REPO / "runs/magnetic-moment"
MOMENTS = ("mu_e", "mu_mu", "mu_tau")


def _document(**priors):
    document = tomllib.loads((RUNS / "independent.toml").read_text())
    document["priors"].update(priors)
    return document


@pytest.fixture(scope="module")
def fixed_posterior():
    """The rate run of independent moments with every nuisance at its prior centre: the
    rate is R_SM + sum_a c_a mu_a^2, one Gaussian measurement."""
    names = list(config_from_dict(_document(), RUNS).plan.priors.free_names)
    posterior = config_from_dict(_document(fixed=names), RUNS).plan.posterior()
    assert posterior.nuisance_names == ()
    return posterior


def test_profile_limit_of_each_moment_against_its_closed_form(fixed_posterior):
    """R = R_SM + sum_a c_a x_a (x_a = mu_a^2 >= 0), data d, errors sigma_plus (prediction
    above d) and sigma_minus. Profiling the other two moments at x_k: below d - R_SM they
    make up the excess (q = 0), above it they sit at 0. So the limit solves
    (R_SM + c_k x_k - d)^2 = level sigma_plus^2 + max(R_SM - d, 0)^2, for every toy, and
    for the Asimov data d = R_SM: x_k = sqrt(level) sigma_plus / c_k."""
    posterior = fixed_posterior
    m = posterior.measurements[0]

    def rate(x):
        return float(posterior.predictions(np.array([x], dtype=float), {},
                                           np.array([0]))[0][1][0])

    r_sm = rate([0, 0, 0])
    slopes = np.array([rate(np.eye(3)[k]) - r_sm for k in range(3)])
    assert np.all(slopes > 0) and len(set(np.round(slopes, 6))) == 3
    settings, seed = ExpectedSettings(60, "prior-centres"), 7
    band = expected_moment_band(posterior, settings, seed, 0.9, PROFILE_LEVEL_90)
    assert sorted(band) == sorted(MOMENTS)  # mu_eff depends on the three: no band
    d = pseudo_data(posterior, settings.n_toys, settings.draw, seed)[0].value_cpd100t
    assert np.any(d > r_sm) and np.any(d < r_sm)  # both branches of the closed form
    sigma = m.sigma_plus_cpd100t
    for k, name in enumerate(MOMENTS):
        added = np.sqrt(PROFILE_LEVEL_90 * sigma**2 + np.maximum(r_sm - d, 0) ** 2) + d - r_sm
        limits = np.sqrt(added / slopes[k]) * 1e-11
        asimov = np.sqrt(np.sqrt(PROFILE_LEVEL_90) * sigma / slopes[k]) * 1e-11
        assert band[name]["upper_expected_asimov_muB"] == pytest.approx(asimov, rel=2e-3)
        for q_name, q in (("median", 0.5), ("lo95", 0.02275), ("hi95", 0.97725)):
            assert band[name][f"upper_expected_{q_name}_muB"] == pytest.approx(
                np.quantile(limits, q), rel=2e-3), (name, q_name)


def test_independent_bands_reproducible_with_the_seed():
    posterior = config_from_dict(_document(), RUNS).plan.posterior()
    assert statistic(posterior) == "profile"
    settings = ExpectedSettings(12, "prior-draws")
    first = expected_moment_band(posterior, settings, 3, 0.9, PROFILE_LEVEL_90)
    assert first == expected_moment_band(posterior, settings, 3, 0.9, PROFILE_LEVEL_90)
    other = expected_moment_band(posterior, settings, 4, 0.9, PROFILE_LEVEL_90)
    assert other["mu_e"]["upper_expected_median_muB"] != \
        first["mu_e"]["upper_expected_median_muB"]
    for band in first.values():
        assert band["upper_expected_lo95_muB"] < band["upper_expected_median_muB"] \
            < band["upper_expected_hi95_muB"]


def test_independent_run_writes_a_profile_band_per_moment(tmp_path):
    document = _document()
    document["sampler"].update(n_walkers=20, max_steps=200, min_ess=50, max_rhat=1.2,
                               max_relative_mcse=0.2, min_kept_tau=2)
    config = config_from_dict(document, RUNS)
    result = mcprop.run(config.resolved, workers=1, expected=10, out=tmp_path / "run")
    assert result.expected_statistic == "profile"
    assert any("expected_statistic: profile" in line and "others profiled" in line
               for line in result.provenance())
    rows = result.limits.set_index("parameter")
    assert list(result.limits.columns[-6:]) == list(MOMENT_EXPECTED_COLUMNS)
    assert rows.loc[list(MOMENTS), "upper_expected_median_muB"].notna().all()
    assert np.isnan(rows.loc["mu_eff", "upper_expected_median_muB"])
    assert mcprop.load(tmp_path / "run").limits.equals(result.limits)


def test_bad_expected_draw_of_independent_moments_one_line_exit_2(cli, tmp_path):
    text = (RUNS / "independent.toml").read_text().replace(
        '"../../priors/', f'"{REPO}/priors/')
    config = tmp_path / "bad.toml"
    config.write_text(text.replace("[sampler]", '[expected]\nn_toys = 5\ndraw = "toys"\n\n'
                                                "[sampler]"))
    result = cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "expected.draw: unknown value 'toys'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_observed_profile_limit_of_each_moment_against_its_closed_form(fixed_posterior,
                                                                          tmp_path):
    """The run writes each moment's observed profile limit (the others profiled), the
    statistic of its band: with every nuisance fixed, the closed form of the first test at
    the measured rate d."""
    names = list(config_from_dict(_document(), RUNS).plan.priors.free_names)
    document = _document(fixed=names)
    document["sampler"].update(n_walkers=20, max_steps=200, min_ess=50, max_rhat=1.2,
                               max_relative_mcse=0.2, min_kept_tau=2)
    result = mcprop.run(config_from_dict(document, RUNS).resolved, workers=1,
                        out=tmp_path / "run")
    posterior = fixed_posterior
    m = posterior.measurements[0]

    def rate(x):
        return float(posterior.predictions(np.array([x], dtype=float), {},
                                           np.array([0]))[0][1][0])

    r_sm, d, sigma = rate([0, 0, 0]), m.value_cpd100t, m.sigma_plus_cpd100t
    rows = result.limits.set_index("parameter")
    for k, name in enumerate(MOMENTS):
        slope = rate(np.eye(3)[k]) - r_sm
        added = np.sqrt(PROFILE_LEVEL_90 * sigma**2 + max(r_sm - d, 0) ** 2) + d - r_sm
        assert rows.loc[name, "upper_profile_muB"] == pytest.approx(
            np.sqrt(added / slope) * 1e-11, rel=2e-3), name
    assert np.isnan(rows.loc["mu_eff", "upper_profile_muB"])
