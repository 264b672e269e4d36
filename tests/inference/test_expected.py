"""Expected limits from pseudo-experiments: against an independent integration, reproducible,
the same with any number of workers, and bad settings refused."""

import json
import signal
import tomllib
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import DATA, REPO, interrupted_run
from scipy import integrate, optimize
from scipy.stats import norm

import mcprop
from mcprop.inference.expected import (
    ExpectedSettings,
    GridPosterior,
    asimov_data,
    coverage,
    draw_values,
    expected_band,
    expected_moment_band,
    pseudo_data,
    truth_nuisances,
    with_values,
)
from mcprop.inference.limits import profile_fit
from mcprop.inference.plan import PROFILE_LEVEL_90
from mcprop.inference.results import (
    EXPECTED_COLUMNS,
    LIMIT_COLUMNS,
    MOMENT_EXPECTED_COLUMNS,
    MassResult,
    MomentResult,
)
from mcprop.inference.spectrum import borexino_phase2_spectrum
from mcprop.interface.config import config_from_dict


def _tiny_dict(**sections):
    document = tomllib.loads((DATA / "tiny.toml").read_text())
    document["priors"]["files"] = [str((DATA / f).resolve()) for f in
                                   document["priors"]["files"]]
    document.update(sections)
    return document


def _fixed_nuisances_posterior():
    """The tiny run with every nuisance at its prior centre: the rate is a function of g."""
    names = [*config_from_dict(_tiny_dict(), DATA).plan.priors.free_names]
    document = _tiny_dict(priors={**_tiny_dict()["priors"], "fixed": names})
    config = config_from_dict(document, DATA)
    posterior = config.plan.posterior()
    assert posterior.nuisance_names == ()
    return posterior


def test_median_expected_limit_is_the_limit_at_the_median_pseudo_measurement():
    """One Gaussian rate, nuisances fixed: the limit is monotone in the measured rate, so the
    toys' median limit is the limit at the median of the two-piece normal of the
    pseudo-measurement; both computed here by direct 1-D integration (scipy quad)."""
    posterior = _fixed_nuisances_posterior()
    point, credibility = 2, 0.9  # m = 100 MeV
    m = posterior.measurements[0]
    zprime = posterior.new_physics

    def rate(g):
        return float(posterior.predictions(np.array([g]), {}, np.array([point]))[0][1][0])

    r_sm = rate(0.0)

    def density(d):  # the pseudo-measurement: sigma_plus below the prediction, minus above
        sigma = m.sigma_plus_cpd100t if d < r_sm else m.sigma_minus_cpd100t
        return np.exp(-0.5 * ((d - r_sm) / sigma) ** 2)

    total = integrate.quad(density, r_sm - 12, r_sm + 12, points=[r_sm])[0]
    d_median = optimize.brentq(
        lambda d: integrate.quad(density, r_sm - 12, d, points=[r_sm])[0] / total - 0.5,
        r_sm - 3, r_sm + 3)

    def limit(d):  # prior flat in t = (g/g_max)^4 on [0, 1]
        def like(t):
            residual = rate(float(zprime.coupling(t, point))) - d
            sigma = m.sigma_plus_cpd100t if residual > 0 else m.sigma_minus_cpd100t
            return np.exp(-0.5 * (residual / sigma) ** 2)

        t_scale = 1e-2
        norm = integrate.quad(like, 0, 1, points=[t_scale / 10, t_scale], limit=200)[0]
        t90 = optimize.brentq(lambda t: integrate.quad(like, 0, t, limit=200)[0] / norm
                              - credibility, 1e-8, 1)
        return float(zprime.coupling(t90, point))

    band = expected_band(posterior, point, ExpectedSettings(2000, "prior-centres"), 7,
                         credibility, PROFILE_LEVEL_90)
    independent = limit(d_median)
    assert band["g_expected_median"] == pytest.approx(independent, rel=0.01)
    # the Asimov data (the SM prediction itself) lie next to the median pseudo-measurement
    assert band["g_expected_asimov"] == pytest.approx(limit(r_sm), rel=0.005)
    assert band["g_expected_asimov"] == pytest.approx(band["g_expected_median"], rel=0.01)
    # the 68% range: the limits at the 16% and 84% points of the two-piece normal
    for key, q in (("g_expected_lo68", 0.158655), ("g_expected_hi68", 0.841345)):
        d_q = optimize.brentq(lambda d, q=q: integrate.quad(density, r_sm - 12, d,
                                                            points=[r_sm])[0] / total - q,
                              r_sm - 6, r_sm + 6)
        assert band[key] == pytest.approx(limit(d_q), rel=0.015)


def test_grid_limit_of_the_observed_data_matches_the_sampled_limit(tiny_run):
    """The grid integration (nuisances over prior draws) of the observed data against the
    MCMC credible limit of the tiny run (MC error a few percent there)."""
    run = mcprop.load(tiny_run)
    posterior = run.posterior()
    for result in run.results:
        grid = GridPosterior(posterior, result.mass_index, 7)
        observed = grid.upper_limits(with_values(posterior.measurements,
                                                 [np.array([46.0])]), 0.9)[0]
        assert observed == pytest.approx(result.g_upper, abs=3 * result.g_upper_mcse
                                         + 0.01 * result.g_upper)


def test_pseudo_data_reproducible_and_independent_of_the_number_of_toys():
    posterior = _fixed_nuisances_posterior()
    config = config_from_dict(_tiny_dict(), DATA)
    full = config.plan.posterior()
    a = pseudo_data(full, 50, "prior-draws", 3)[0].value_cpd100t
    b = pseudo_data(full, 20, "prior-draws", 3)[0].value_cpd100t
    np.testing.assert_array_equal(a[:20], b)
    assert not np.array_equal(a, pseudo_data(full, 50, "prior-draws", 4)[0].value_cpd100t)
    # prior draws spread the pseudo-data by the prediction's prior error as well
    centres = pseudo_data(posterior, 2000, "prior-centres", 3)[0].value_cpd100t
    draws = pseudo_data(full, 2000, "prior-draws", 3)[0].value_cpd100t
    sigma = np.mean([posterior.measurements[0].sigma_plus_cpd100t,
                     posterior.measurements[0].sigma_minus_cpd100t])
    assert np.std(centres) == pytest.approx(sigma, rel=0.06)
    assert np.std(draws) > 1.2 * np.std(centres)
    asimov = asimov_data(posterior)[0].value_cpd100t
    assert np.median(centres) == pytest.approx(float(asimov[0]), abs=0.15)


@pytest.fixture(scope="module")
def expected_run():
    """The tiny run with 20 pseudo-experiments, in this process."""
    return mcprop.run(_tiny_dict(), workers=1, expected=20)


def test_expected_bands_the_same_with_one_or_two_workers(expected_run, tmp_path):
    one = expected_run
    two = mcprop.run(_tiny_dict(), workers=2, expected=20, out=tmp_path / "two")
    assert list(one.limits.columns) == list(LIMIT_COLUMNS + EXPECTED_COLUMNS)
    assert one.limits.equals(two.limits)
    assert one.limits.equals(mcprop.load(tmp_path / "two").limits)
    band = one.limits
    assert (band.g_expected_lo95 < band.g_expected_lo68).all()
    assert (band.g_expected_lo68 < band.g_expected_median).all()
    assert (band.g_expected_median < band.g_expected_hi68).all()
    assert (band.g_expected_hi68 < band.g_expected_hi95).all()
    # a result record keeps its expected limits
    result = one.results[0]
    assert MassResult.from_record(result.record()).g_expected_hi95 == result.g_expected_hi95


@pytest.mark.parametrize(("section", "message"), [
    ({"n_toys": -1}, "expected.n_toys: must lie in [0, 100000], got -1"),
    ({"n_toys": 5, "draw": "bootstrap"}, "expected.draw: unknown value 'bootstrap'"),
    ({"n_toys": 5, "ntoys": 3}, "expected.ntoys: unknown key"),
])
def test_bad_expected_settings_one_line_exit_2(cli, tmp_path, section, message):
    text = (DATA / "tiny.toml").read_text().replace('"../../priors/', f'"{DATA}/../../priors/')
    entries = "\n".join(f"{key} = {json.dumps(value)}" for key, value in section.items())
    config = tmp_path / "bad.toml"
    config.write_text(text.replace("[sampler]", f"[expected]\n{entries}\n\n[sampler]"))
    result = cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_expected_option_refuses_negative_and_unsupported_runs(cli, tmp_path):
    result = cli("run", DATA / "tiny.toml", "--expected", "-3", "--out", tmp_path / "o")
    assert result.returncode == 2 and "--expected" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for config in ("runs/seed-reproduction.toml",):
        result = cli("run", config, "--expected", "10", "--out", tmp_path / "m")
        assert result.returncode == 2 and "expected.n_toys" in result.stderr, config
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "m").exists()


def test_coverage_against_the_closed_form_of_one_gaussian_rate():
    """Nuisances fixed, one rate, a Z' far above the sensitivity (100 MeV, 1.5x the expected
    limit): the credible limit covers g iff the pseudo-measurement lies above d*, where the
    limit at d* is g (found here by direct integration); the profile limit at -2 Delta ln L
    = 2.7055 covers iff d > R(g) - 1.645 sigma_plus. Both against the toys' fractions within
    3.5 binomial errors."""
    posterior = _fixed_nuisances_posterior()
    point, n_toys = 2, 400
    m = posterior.measurements[0]
    zprime = posterior.new_physics

    def rate(g):
        return float(posterior.predictions(np.array([g]), {}, np.array([point]))[0][1][0])

    g_true = 1.5 * expected_band(posterior, point, ExpectedSettings(50, "prior-centres"), 7,
                                 0.9, PROFILE_LEVEL_90)["g_expected_median"]
    r_true, sp, sm = rate(g_true), m.sigma_plus_cpd100t, m.sigma_minus_cpd100t
    below = sp / (sp + sm)  # the two-piece normal around r_true: sigma_plus below it

    def cdf(d):
        z = d - r_true
        return 2 * below * norm.cdf(z / sp) if z < 0 else below + (1 - below) * (
            2 * norm.cdf(z / sm) - 1)

    def limit(d):
        def like(t):
            residual = rate(float(zprime.coupling(t, point))) - d
            sigma = sp if residual > 0 else sm
            return np.exp(-0.5 * (residual / sigma) ** 2)
        norm_ = integrate.quad(like, 0, 1, points=[1e-3, 1e-2, 0.1], limit=200)[0]
        t90 = optimize.brentq(lambda t: integrate.quad(like, 0, t, limit=200)[0] / norm_
                              - 0.9, 1e-9, 1)
        return float(zprime.coupling(t90, point))

    d_star = optimize.brentq(lambda d: limit(d) - g_true, r_true - 8, r_true + 2)
    expected_credible = 1 - cdf(d_star)
    expected_profile = 1 - cdf(r_true - np.sqrt(PROFILE_LEVEL_90) * sp)
    result = coverage(posterior, point, g_true, n_toys, "prior-centres", 11, 0.9,
                      PROFILE_LEVEL_90).record()
    for key, expected in (("credible", expected_credible), ("profile", expected_profile)):
        error = np.sqrt(expected * (1 - expected) / n_toys)
        assert abs(result[f"{key}_coverage"] - expected) < 3.5 * error, (key, expected)
    assert 0.85 < expected_credible < 0.93 and 0.93 < expected_profile < 0.97


def test_coverage_command(cli):
    result = cli("coverage", DATA / "tiny.toml", "--mass-MeV", 10, "--g", 6e-4, "--toys", 20,
                 "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["n_toys"] == 20 and 0 <= record["credible_coverage"] <= 1
    assert record["credible_coverage_error"] == pytest.approx(np.sqrt(
        record["credible_coverage"] * (1 - record["credible_coverage"]) / 20))
    bad = cli("coverage", DATA / "tiny.toml", "--mass-MeV", 10, "--g", 5.0, "--toys", 20)
    assert bad.returncode == 2 and "g_max" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_moment_band_against_the_half_normal_closed_form():
    """One universal moment, nuisances fixed: the rate grows linearly in mu^2 and the prior is
    flat in mu^2, so for data at the SM prediction (Asimov) the posterior of the added rate
    is a half-normal of width sigma_plus: the limit is mu^2 = 1.6449 sigma_plus / slope. The
    toys' median is the limit at the median pseudo-measurement (direct integration)."""
    document = tomllib.loads((REPO / "runs/magnetic-moment/universal.toml").read_text())
    config = config_from_dict(document, REPO / "runs/magnetic-moment")
    fixed = list(config.plan.priors.free_names)
    document["priors"]["fixed"] = fixed
    posterior = config_from_dict(document, REPO / "runs/magnetic-moment").plan.posterior()
    m = posterior.measurements[0]

    def rate(mu2):
        return float(posterior.predictions(np.array([[mu2]]), {}, np.array([0]))[0][1][0])

    r_sm, slope = rate(0.0), rate(1.0) - rate(0.0)  # per (1e-11 mu_B)^2
    band = expected_moment_band(posterior, ExpectedSettings(2000, "prior-centres"), 5, 0.9,
                                PROFILE_LEVEL_90)
    half_normal = np.sqrt(norm.ppf(0.95) * m.sigma_plus_cpd100t / slope) * 1e-11
    for name in ("mu_universal", "mu_eff"):
        assert band[name]["upper_expected_asimov_muB"] == pytest.approx(half_normal, rel=0.005)
    below = m.sigma_plus_cpd100t / (m.sigma_plus_cpd100t + m.sigma_minus_cpd100t)
    d_median = r_sm + (m.sigma_minus_cpd100t * norm.ppf(0.5 + (0.5 - below) / (2 * (1 - below)))
                       if below < 0.5 else m.sigma_plus_cpd100t * norm.ppf(0.25 / below))

    def like(added):
        residual = r_sm + added - d_median
        sigma = m.sigma_plus_cpd100t if residual > 0 else m.sigma_minus_cpd100t
        return np.exp(-0.5 * (residual / sigma) ** 2)

    total = integrate.quad(like, 0, 50)[0]
    added90 = optimize.brentq(lambda a: integrate.quad(like, 0, a)[0] / total - 0.9, 0, 50)
    assert band["mu_universal"]["upper_expected_median_muB"] == pytest.approx(
        np.sqrt(added90 / slope) * 1e-11, rel=0.01)


def test_moment_result_keeps_its_expected_limits(tmp_path):
    document = tomllib.loads((REPO / "runs/magnetic-moment/e.toml").read_text())
    document["sampler"].update(n_walkers=16, max_steps=200, min_ess=50, max_rhat=1.2,
                               max_relative_mcse=0.2, min_kept_tau=2)
    config = config_from_dict(document, REPO / "runs/magnetic-moment")
    result = mcprop.run(config.resolved, workers=1, expected=20)
    columns = list(result.limits.columns)
    assert columns[-6:] == list(MOMENT_EXPECTED_COLUMNS)
    e = result.limits.set_index("parameter")
    assert e.loc["mu_e", "upper_expected_lo68_muB"] < e.loc["mu_e", "upper_expected_hi68_muB"]
    assert np.isnan(e.loc["mu_eff", "upper_expected_median_muB"])  # a flavour's mu_eff: none
    moment = result.results[0]
    assert MomentResult.from_record(moment.record()).expected == moment.expected


def test_killed_run_with_toys_resumes_to_the_same_bands(expected_run, tmp_path, cli):
    out = tmp_path / "killed"

    def in_flight(folder):  # a mass finished and another checkpointed
        return list(folder.glob("results/*.json")) and list(folder.glob("checkpoints/*.npz"))

    process = interrupted_run(out, in_flight, signal.SIGKILL, extra_args=("--expected", "20"))
    assert process.returncode != 0
    assert len(list((out / "results").glob("*.json"))) < 3
    resumed = cli("run", DATA / "tiny.toml", "--out", out, "--resume", "--expected", 20,
                  "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert mcprop.load(out).limits.equals(expected_run.limits)


def test_best_fit_truth_is_the_constrained_fit_of_the_data():
    """The tiny run with only the 7Be flux f sampled (normal prior f0 +- s_f): its rate is
    R = k f at g = 0: the constrained fit minimises ((k f - d)/sigma)^2 + ((f - f0)/s_f)^2,
    a weighted mean in closed form (sigma = sigma_plus where k f > d)."""
    names = [n for n in config_from_dict(_tiny_dict(), DATA).plan.priors.free_names
             if n != "flux_7be_cm2s"]
    document = _tiny_dict(priors={**_tiny_dict()["priors"], "fixed": names})
    posterior = config_from_dict(document, DATA).plan.posterior()
    assert posterior.nuisance_names == ("flux_7be_cm2s",)
    prior = posterior.priors.distributions["flux_7be_cm2s"]
    f0, s_f = prior.mean, prior.sigma
    m = posterior.measurements[0]
    k = float(posterior.predictions(np.zeros(1), {"flux_7be_cm2s": np.array([f0])},
                                    np.zeros(1, int))[0][1][0]) / f0
    d = m.value_cpd100t
    sigma = m.sigma_plus_cpd100t if k * f0 > d else m.sigma_minus_cpd100t
    fitted = (k * d / sigma**2 + f0 / s_f**2) / (k**2 / sigma**2 + 1 / s_f**2)
    assert (k * fitted > d) == (k * f0 > d)  # the same side: one sigma throughout
    truth = truth_nuisances(posterior, 3, "best-fit", 7)["flux_7be_cm2s"]
    np.testing.assert_allclose(truth, fitted, rtol=1e-5)
    _, nuisances = profile_fit(posterior, 0, 0.0)
    assert nuisances[0] == pytest.approx(fitted, rel=1e-5)


def test_pseudo_spectra_are_poisson():
    """Counts drawn around expected counts mu: per bin mean mu and variance mu (Poisson),
    integers, reproducible with the seed."""
    spectrum = borexino_phase2_spectrum(110, 949, 35)
    fake = SimpleNamespace(measurements=(spectrum,), correlations=())
    n_toys = 4000
    mu = np.linspace(2.0, 400.0, spectrum.n_bins)
    (counts,) = draw_values(fake, [np.tile(mu, (n_toys, 1))], 3, n_toys)
    assert counts.shape == (n_toys, spectrum.n_bins) and np.all(counts == np.round(counts))
    mean, var = counts.mean(axis=0), counts.var(axis=0)
    assert np.all(np.abs(mean - mu) < 4.5 * np.sqrt(mu / n_toys))
    assert np.all(np.abs(var / mu - 1) < 4.5 * np.sqrt(2 / n_toys) + 0.01)
    np.testing.assert_array_equal(draw_values(fake, [np.tile(mu, (n_toys, 1))], 3, n_toys)[0],
                                  counts)


def test_band_in_the_hepdata_table_and_the_plot(expected_run):
    table = expected_run.to_hepdata_table()
    assert "expected upper limit" in table and "label: 1 sigma" in table
    median = expected_run.limits.g_expected_median.iloc[0]
    lo95 = expected_run.limits.g_expected_lo95.iloc[0]
    assert lo95 < median and "minus: -" in table
    figure = expected_run.plot()
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert any("expected" in label and "68%" in label for label in labels)
    assert any("expected" in label and "95%" in label for label in labels)
