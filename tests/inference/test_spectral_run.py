"""The spectral likelihood in the engine: spectrum measurements in configs, the posterior of
the Z' over a spectrum, the Standard-Model fit, and bad spectral configs.

Independent numbers: the Fisher-information width of a Poisson fit of one scale parameter,
the exact C^4 scaling of the Z' term without interference, SNO's measured 8B survival
probability, and Asimov data made from known parameters.
"""

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import REPO, SPECTRAL_PRIORS, SPECTRUM
from scipy.stats import poisson

from mcprop.errors import UserError
from mcprop.interface.config import config_from_dict, load_config
from mcprop.physics.parameters import background_parameter
from mcprop.physics.scattering import coupling_product_MeV2

PRIORS = REPO / "priors"


def fit_document(tmp_path, **spectrum) -> dict:
    """A Standard-Model fit of the Phase-II spectrum in 42 bins of 20 N_h."""
    return {"schema_version": 1, "name": "fit", "physics": {
        "model": "standard-model", "flavour_model": "decoherent-msw"},
            "priors": {"files": SPECTRAL_PRIORS},
            "measurements": [{**SPECTRUM, **spectrum}],
            "sampler": {"seed": 3, "n_walkers": 56},
            "output": {"directory": str(tmp_path / "out")}}


def zprime_document(tmp_path, masses=(0.1, 10.0)) -> dict:
    doc = fit_document(tmp_path)
    doc["physics"]["model"] = "Lmu-Ltau"
    doc["mass_grid"] = {"mass_min_MeV": masses[0], "mass_max_MeV": masses[-1],
                        "n_masses": len(masses)}
    return doc


# --- the posterior -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def zprime_posterior(tmp_path_factory):
    doc = zprime_document(tmp_path_factory.mktemp("zprime"))
    doc["physics"]["interference"] = False
    return config_from_dict(doc, REPO).plan.posterior()


def test_rows_of_different_masses_match_each_mass_alone(zprime_posterior):
    posterior = zprime_posterior
    rng = np.random.default_rng(0)
    coords = np.vstack([posterior.start(rng, 4, point, 1.0) for point in (0, 1)])
    point = np.repeat([0, 1], 4)
    together = posterior.expected_counts(coords, point)["Phase-II spectrum"]
    alone = np.vstack([posterior.expected_counts(coords[point == p], p)["Phase-II spectrum"]
                       for p in (0, 1)])
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    np.testing.assert_allclose(posterior(coords, point), np.concatenate(
        [posterior(coords[point == p], p) for p in (0, 1)]), rtol=1e-12)


def test_zprime_counts_scale_as_g4_without_interference(zprime_posterior):
    """Without interference the Z' adds C^2 Q_b per bin: doubling g multiplies the excess
    by 2^4 (C ~ g^2 for L_mu - L_tau, whose electron coupling is loop-induced, ~ g)."""
    posterior = zprime_posterior
    zprime = posterior.new_physics
    centres = posterior.priors.centres()
    nuisances = np.array([centres[name] for name in posterior.nuisance_names])
    g = zprime.coupling_at_np_fraction(0.1)[1]
    t = [zprime.coupling_prior.coordinate_from_g(c, zprime.g_max[1]) for c in (0, g, 2 * g)]
    counts = [posterior.expected_counts(np.r_[ti, nuisances], 1)["Phase-II spectrum"][0]
              for ti in t]
    ratio = (counts[2] - counts[0]) / (counts[1] - counts[0])
    expected = (coupling_product_MeV2(2 * g, zprime.model)
                / coupling_product_MeV2(g, zprime.model)) ** 2
    assert expected == pytest.approx(16, rel=1e-6)
    np.testing.assert_allclose(ratio, expected, rtol=1e-8)
    # the Z' adds 10% of the solar counts in the bins at g(0.1) by construction of g_max
    solar = posterior.components(np.r_[0.0, nuisances][None], 1)["Phase-II spectrum"]
    templates = zprime.kernels[0]
    solar_total = sum(solar[group][0].sum() for group in templates.source_groups)
    assert (counts[1] - counts[0]).sum() / solar_total == pytest.approx(0.1, rel=0.05)


def test_8b_flavour_content_from_its_own_production_profile(zprime_posterior):
    """P_ee of 8B neutrinos at 10 MeV, MSW over the 8B production region, against SNO's
    measured P_ee at 10 MeV: c0 = 0.317 +- 0.016 (stat) +- 0.009 (syst), B. Aharmim et al.,
    PRC 88, 025501 (2013), Table XIV. The 7Be region lies further out (lower n_e): a higher
    P_ee there."""
    posterior = zprime_posterior
    centres = posterior.priors.centres()
    p_b8 = posterior.flavour_of("b8").probabilities(centres, 10.0)[0]
    p_be7 = posterior.flavour_of("be7_862").probabilities(centres, 10.0)[0]
    assert abs(p_b8 - 0.317) < 2 * np.hypot(0.016, 0.009)
    assert p_be7 > p_b8


# --- the Standard-Model fit on Asimov data -------------------------------------------------

def fit_asimov(cli, tmp_path, doc, bin_counts, sampler) -> dict:
    """Run ``doc`` (one spectrum measurement in 20-N_h bins) on Asimov data made from the
    expected ``bin_counts`` into ``tmp_path / "run"``; its exported limits by parameter.

    Each bin's rounded count is spread over its 20 unit bins: rounding each unit bin instead
    pulls a fit by up to 0.2 sigma (the high-N_h unit bins hold a few counts)."""
    whole, extra = np.divmod(np.round(bin_counts).astype(int), 20)
    unit_bins = (whole[:, None] + (np.arange(20) < extra[:, None])).ravel()
    table = tmp_path / "asimov.csv"
    table.write_text("nh,counts\n" + "\n".join(
        f"{n},{c}" for n, c in zip(np.arange(110, 950), unit_bins, strict=True)))
    doc["measurements"] = [{**doc["measurements"][0], "spectrum_file": str(table)}]
    doc["sampler"] = sampler
    config = tmp_path / "fit.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    assert cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers",
               1).returncode == 0
    exported = cli("export", tmp_path / "run", "--format", "json")
    return {row["parameter"]: row for row in json.loads(exported.stdout)["limits"]}


def test_standard_model_fit_recovers_asimov_truth_with_fisher_width(tmp_path, cli):
    """Asimov counts made at a 7Be flux of 4.6e9 cm^-2 s^-1; a fit with only that flux free
    (uniform prior) gives a posterior with median at the truth and the Fisher width
    sigma^-2 = sum_b (d mu_b / d Phi)^2 / mu_b."""
    truth = 4.6e9
    doc = fit_document(tmp_path)
    doc["priors"]["files"] = [SPECTRAL_PRIORS[0], str(PRIORS / "borexino-phase2-free-fluxes.toml"),
                              SPECTRAL_PRIORS[3], SPECTRAL_PRIORS[4]]
    plan = config_from_dict(doc, REPO).plan
    free = [n for n in plan.priors.free_names if n != "flux_7be_cm2s"]
    posterior = plan.posterior()
    centres = posterior.priors.centres()

    def unit_counts(flux):
        row = np.array([flux if n == "flux_7be_cm2s" else centres[n]
                        for n in posterior.names])
        return posterior.expected_counts(row, 0)["Phase-II spectrum"][0]

    doc["priors"]["fixed"] = free
    rows = fit_asimov(cli, tmp_path, doc, unit_counts(truth),
                      {"seed": 11, "n_walkers": 8, "n_ensembles": 2, "max_steps": 4000,
                       "min_ess": 1500, "min_kept_tau": 10, "checkpoint_interval_s": 0.0})
    assert set(rows) >= {"flux_7be_cm2s", "rate_7be_cpd100t", "rate_pp_cpd100t"}
    row = rows["flux_7be_cm2s"]
    assert row["converged"]

    step = 1e-3 * truth
    mu = unit_counts(truth)
    derivative = (unit_counts(truth + step) - unit_counts(truth - step)) / (2 * step)
    sigma = 1 / np.sqrt(np.sum(derivative**2 / mu))
    assert 0.5 * (row["hi68"] - row["lo68"]) == pytest.approx(sigma, rel=0.1)
    assert abs(row["median"] - truth) < 0.2 * sigma
    # the interaction rate moves with the flux: 7Be rate / flux is the same at the median
    # and at the 68% bounds (the oscillation parameters are fixed)
    rate = rows["rate_7be_cpd100t"]
    assert rate["hi68"] / row["hi68"] == pytest.approx(rate["median"] / row["median"],
                                                       rel=1e-6)
    # goodness of fit at the optimum: Newton from the best walker reaches the maximum, whose
    # deviance is at most that of the truth (computed here with scipy), and close to it
    observed = np.round(mu)
    at_truth = 2 * np.sum(poisson.logpmf(observed, observed) - poisson.logpmf(observed, mu))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    goodness = manifest["points"]["0"]["goodness_of_fit"]["Phase-II spectrum"]
    assert goodness["n_bins"] == mu.size
    assert goodness["deviance"] <= at_truth + 1e-6
    assert at_truth - goodness["deviance"] < 0.05
    assert goodness["deviance"] <= goodness["deviance_best_walker"] + 1e-9
    assert "reference_deviance" not in goodness  # the Asimov file has no Borexino model
    fit = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    assert "mass_grid" not in fit and "coupling_prior" not in fit
    assert (tmp_path / "run" / "spectrum_fit.png").stat().st_size > 10_000


# --- bad spectral configs -------------------------------------------------------------------

def _negative_backgrounds(tmp_path):
    text = (REPO / "mcprop/physics/data/borexino_phase2_backgrounds.csv").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    fields = lines[200].split(",")
    fields[1] = "-0.5"
    lines[200] = ",".join(fields)
    path = tmp_path / "negative.csv"
    path.write_text("\n".join(lines))
    return str(path)


BAD_SPECTRA = {
    "bins below the spectrum": ({"nh_range": [50, 949]}, ["measurements[0]",
                                                         "outside the spectrum's 93-950"]),
    "bins above the spectrum": ({"nh_range": [110, 1200], "bin_width_nh": 1},
                                ["measurements[0]", "outside the spectrum's"]),
    "a bin width that does not divide the range": ({"bin_width_nh": 9},
                                                   ["measurements[0].bin_width_nh", "840"]),
    "a missing data file": ({"spectrum_file": "no-such-spectrum.csv"},
                            ["measurements[0].spectrum_file", "no-such-spectrum.csv"]),
    "a template with negative entries": (_negative_backgrounds,
                                         ["measurements[0]", "N_h = 292", "is negative"]),
    "exposure 0": ({"exposure_day_100t": 0.0}, ["measurements[0].exposure_day_100t"]),
    "exposure below 0": ({"exposure_day_100t": -582.3}, ["measurements[0].exposure_day_100t"]),
    "an unknown background": ({"backgrounds": ["c14", "radon"]},
                              ["measurements[0].backgrounds", "radon"]),
    "an unknown response": ({"response": "gaussian"},
                            ["measurements[0].response", "gaussian", "calibrated"]),
    "backgrounds_follow_response not a boolean": (
        {"backgrounds_follow_response": "yes"},
        ["measurements[0].backgrounds_follow_response", "true or false"]),
    "threshold_tilt not a boolean": ({"threshold_tilt": 1},
                                     ["measurements[0].threshold_tilt", "true or false"]),
    "a misspelt response key": ({"respones": "calibrated"},
                                ["measurements[0].respones", "unknown key"]),
}


@pytest.mark.parametrize("case", BAD_SPECTRA)
def test_bad_spectral_config(cli, tmp_path, case):
    change, needles = BAD_SPECTRA[case]
    doc = fit_document(tmp_path, **({"backgrounds_file": change(tmp_path)}
                                    if callable(change) else change))
    config = tmp_path / "bad.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    result = cli("run", config, "--out", tmp_path / "run", "--quiet")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in [str(config), *needles]:
        assert needle in lines[0], lines[0]
    assert not (tmp_path / "run").exists()


BAD_RUNS = {
    "a mass grid in a Standard-Model fit": (
        lambda doc: doc.update(mass_grid={"mass_min_MeV": 1, "mass_max_MeV": 10,
                                          "n_masses": 2}), ["mass_grid", "no mass grid"]),
    "a rate in a Standard-Model fit": (
        lambda doc: doc["measurements"].append(
            {"kind": "rate", "name": "rate", "lines": ["862keV"], "value_cpd100t": 48.3,
             "stat_cpd100t": 1.1, "syst_plus_cpd100t": 0.4, "syst_minus_cpd100t": 0.7,
             "source": "Nature 562, 505 (2018)"}), ["measurements[1].kind", "spectrum"]),
    "a spectrum and a rate of one dataset": (
        lambda doc: (doc["physics"].update(model="Lmu-Ltau"),
                     doc.update(mass_grid={"mass_min_MeV": 1, "mass_max_MeV": 10,
                                           "n_masses": 2}),
                     doc["measurements"].append(
                         {"kind": "rate", "name": "rate", "lines": ["862keV"],
                          "value_cpd100t": 48.3, "stat_cpd100t": 1.1,
                          "syst_plus_cpd100t": 0.4, "syst_minus_cpd100t": 0.7,
                          "dataset": "borexino-phase2", "source": "Nature 562, 505 (2018)"})),
        ["measurements[1].dataset", "count the same events twice"]),
    "no prior for the backgrounds": (
        lambda doc: doc["priors"].update(files=SPECTRAL_PRIORS[:-1]),
        ["priors.files", background_parameter("c14")]),
    "fixing a parameter the run does not sample": (
        lambda doc: doc["priors"].update(fixed=["p_ee"]), ["priors.fixed", "p_ee"]),
    "a value outside the prior's support": (
        lambda doc: doc["priors"].update(fixed_at={"bkg_kr85_norm": 3.5}),
        ["priors.fixed_at.bkg_kr85_norm", "3.5", "[0, 3]"]),
    "a parameter both at its centre and at a value": (
        lambda doc: doc["priors"].update(fixed=["bkg_kr85_norm"],
                                         fixed_at={"bkg_kr85_norm": 1.0}),
        ["priors.fixed_at", "bkg_kr85_norm", "already in priors.fixed"]),
    "fixed_at not a table": (
        lambda doc: doc["priors"].update(fixed_at=["bkg_kr85_norm"]),
        ["priors.fixed_at", "table of name = value"]),
}


@pytest.mark.parametrize("case", BAD_RUNS)
def test_bad_spectral_run(tmp_path, case):
    change, needles = BAD_RUNS[case]
    doc = fit_document(tmp_path)
    change(doc)
    with pytest.raises(UserError) as error:
        config_from_dict(doc, REPO, "bad.toml")
    message = str(error.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_fixed_backgrounds_reach_the_likelihood_at_borexinos_best_fit():
    """runs/spectral-nuisances/fixed-backgrounds.toml holds the backgrounds at Borexino's
    best fit (norm 1; the 14C at its activity) and the 14C light at its nominal, not at the
    midpoint 1.5 of the uniform [0, 3] priors."""
    config = load_config(REPO / "runs/spectral-nuisances/fixed-backgrounds.toml")
    posterior = config.plan.posterior()
    held = posterior.parameters({})
    for component in ("c14", "pileup", "po210", "kr85", "bi210", "c11", "ext"):
        name = background_parameter(component)
        assert name not in posterior.nuisance_names
        assert held[name] == 1.0, (name, held[name])
    assert held["nh_c14_offset"] == held["nh_c14_resolution_scale"] == 0.0
    # the list form still means the prior centre: 1.5 for the uniform [0, 3] prior
    doc = fit_document(Path("/nonexistent"))
    doc["priors"].update(fixed=["bkg_kr85_norm"], fixed_at={"bkg_po210_norm": 0.25})
    plan = config_from_dict(doc, REPO).plan
    assert plan.priors.fixed_values["bkg_kr85_norm"] == 1.5
    assert plan.priors.fixed_values["bkg_po210_norm"] == 0.25


@pytest.mark.parametrize("name", ["universal", "e", "mu", "tau", "independent",
                                  "borexino-setup"])
def test_spectral_moment_configs_fit_what_the_standard_model_fit_fits(name):
    """The magnetic-moment spectral runs share the SM fit's range, binning and response."""
    def spectrum(path):
        (measurement,) = load_config(REPO / path).resolved["measurements"]
        return {k: v for k, v in measurement.items() if k not in ("name", "source")}

    assert spectrum(f"runs/magnetic-moment/spectral-{name}.toml") == spectrum(
        "runs/borexino-phase2-spectral-sm.toml")


def test_shipped_spectral_configs_are_valid():
    sm = load_config(REPO / "runs/borexino-phase2-spectral-sm.toml")
    assert sm.plan.standard_model and sm.plan.n_points == 1
    assert {"flux_pp_cm2s", "flux_7be_cm2s", "flux_pep_cm2s"} <= set(sm.plan.priors.free_names)
    zprime = load_config(REPO / "runs/borexino-phase2-spectral.toml")
    assert zprime.plan.has_masses and zprime.plan.composition == "gs98"


def test_config_hash_covers_the_spectrum_and_background_files(tmp_path):
    """A run resumed after its data file changed must not reuse results: the hash holds
    the bytes of the spectrum and background tables."""
    table = tmp_path / "spectrum.csv"
    text = (REPO / "mcprop/physics/data/borexino_phase2_spectrum.csv").read_text()
    table.write_text(text)
    doc = fit_document(tmp_path, spectrum_file=str(table))
    before = config_from_dict(doc, REPO).config_hash
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("300,"))
    nh, counts, *rest = lines[row].split(",")
    lines[row] = ",".join([nh, str(int(counts) + 1), *rest])
    table.write_text("\n".join(lines))
    assert config_from_dict(doc, REPO).config_hash != before
