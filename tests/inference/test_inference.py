"""Inference against independent numbers: the seed's factors, the half-normal, closed-form
profile limits, reproducibility, resume and scale-out."""

import dataclasses
import json
import re
import signal

import arviz as az
import numpy as np
import pytest
from conftest import DATA, REPO, interrupted_run
from scipy.optimize import brentq
from scipy.stats import multivariate_normal, norm

import mcprop
from mcprop.inference.diagnostics import ensembles_as_chains, time_halves
from mcprop.inference.distributions import Normal, Uniform
from mcprop.inference.limits import allowance_limit_g, profile_likelihood_limit
from mcprop.inference.measurements import (
    RateMeasurement,
    RelativeRateMeasurement,
    SystematicCorrelation,
    asymmetric_gaussian_log_likelihood,
)
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import CouplingPrior, sampled_priors
from mcprop.inference.priors import load_prior_files
from mcprop.inference.sampler import (
    MassChains,
    SamplerSettings,
    reset_stray_walkers,
    sample_points,
)
from mcprop.inference.storage import write_inference_data
from mcprop.interface.api import WALKER_LAYOUT
from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import RateKernels
from mcprop.physics.scattering import coupling_product_MeV2
from mcprop.physics.seed_factors import decoherence_factor, error_treatment_factor
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_862

SEED_RUNS = REPO / "runs"


def _limits(run_dir):
    return json.loads((run_dir / "limits.json").read_text())["limits"]


def _seed_plan(flavour="pee", min_ess=2000.0, masses=(10.0,), coupling_prior=None):
    model = flavour_model(flavour)
    priors = sampled_priors(load_prior_files([REPO / "priors/seed-fixed-inputs.toml"]), model)
    measurement = RelativeRateMeasurement("seed", ("862keV",), 0.14, 46.0, "seed sec. 3")
    return ScanPlan(np.array(masses), priors, model, (measurement,),
                    coupling_prior or CouplingPrior(),
                    sampler=SamplerSettings(n_walkers=16, min_ess=min_ess), seed=3,
                    interference=False, radiative_corrections=False)


def _sample(plan, index=0):
    """The posterior of a plan and the sample of its mass ``index``."""
    posterior = plan.posterior()
    (sample,) = sample_points(posterior, [index], plan.sampler, plan.seed, plan.credibility)
    return posterior, sample


def _np_rate(plan, index, g, p_ee):
    """New-physics rate [cpd/100t] at coupling g with fixed inputs (total rate)."""
    kernels = plan.kernels()[0].at_mass(index)
    p = flavour_model("pee").probabilities({**NUFIT_5_0_NO_CENTRAL, "p_ee": p_ee},
                                           BE7_862.energy_MeV)[None]
    rate_sm, rate, _ = kernels.rate_cpd100t(B16_GS98_BE7_FLUX_CM2S, p, coupling_product_MeV2(g),
                                            interference=False)
    return float(rate - rate_sm)


def test_asymmetric_gaussian_sides():
    assert asymmetric_gaussian_log_likelihood(48.0, 46.0, 2.0, 1.0) == pytest.approx(-0.5)
    assert asymmetric_gaussian_log_likelihood(44.0, 46.0, 2.0, 1.0) == pytest.approx(-2.0)


def test_half_normal_quantile():
    """Flat prior on the new-physics rate, Gaussian centred on the SM: the posterior is
    half-normal and its 90% quantile is 1.645 sigma (docs/physics.md)."""
    plan = _seed_plan(min_ess=20000.0)
    _, sample = _sample(plan)
    diag = sample.diagnostics["g"]
    assert diag.converged, diag.problems
    sigma = 0.14 * 46.0
    # the rate goes as g^4 (no interference): its relative MC error is 4x that of g_90
    tolerance = 4 * 4 * diag.upper_mcse / diag.upper
    assert _np_rate(plan, 0, diag.upper, 0.53) / sigma == pytest.approx(norm.ppf(0.95),
                                                                         rel=tolerance)
    assert tolerance < 0.05
    # the whole posterior of the rate is half-normal: check two more quantiles
    g = sample.quantities["g"].ravel()
    for q, z in ((0.5, 0.6745), (0.68, 0.9945)):
        assert _np_rate(plan, 0, np.quantile(g, q), 0.53) / sigma == pytest.approx(z, rel=0.03)


def test_profile_limit_closed_form():
    """Without nuisances the 90% C.L. profile limit (the plan's default level) is where the
    new-physics rate is the 95% quantile of a unit normal, 1.645 sigma."""
    plan = _seed_plan()
    result = profile_likelihood_limit(plan.posterior(), 0, plan.profile_level)
    sigma = 0.14 * 46.0
    assert _np_rate(plan, 0, result["g_upper_profile"], 0.53) == pytest.approx(
        norm.ppf(0.95) * sigma, rel=1e-4)
    assert result["g_hat_profile"] == pytest.approx(0.0, abs=1e-3 * result["g_upper_profile"])


@pytest.mark.parametrize("scale", [None, 0.3, 1.0])
def test_profile_limit_with_a_flux_nuisance_closed_form(scale):
    """With the flux free under a normal prior of width s around F0 and the relative-rate
    measurement of width sigma, profiling the flux gives -2 Delta ln L = r^2 / (sigma^2 +
    r^2 s^2 / F0^2) for the new-physics rate r at F0: the 90% C.L. limit is at
    r = 1.645 sigma / sqrt(1 - 1.645^2 s^2 / F0^2). ``scale`` starts the coupling grid
    around that fraction of the limit (0.3: the grid must be extended)."""
    plan = _seed_plan()
    width = 0.1 * B16_GS98_BE7_FLUX_CM2S
    priors = plan.priors.with_override("flux_7be_cm2s", Normal(B16_GS98_BE7_FLUX_CM2S, width))
    plan = dataclasses.replace(plan, priors=priors)
    posterior = plan.posterior()
    level = plan.profile_level
    sigma = 0.14 * 46.0
    expected = np.sqrt(level) * sigma / np.sqrt(1 - level * (width / B16_GS98_BE7_FLUX_CM2S)**2)
    g_scale = None
    if scale is not None:  # the coupling of the expected limit, times scale
        g = np.geomspace(1e-6, 1.0, 20001) * float(posterior.new_physics.g_max[0])
        rates = np.array([_np_rate(plan, 0, x, 0.53) for x in g[::200]])
        g_scale = scale * float(np.interp(expected, rates, g[::200]))
    result = profile_likelihood_limit(posterior, 0, level, start=np.array([1.05 * width]) +
                                      B16_GS98_BE7_FLUX_CM2S, g_scale=g_scale)
    assert _np_rate(plan, 0, result["g_upper_profile"], 0.53) == pytest.approx(expected,
                                                                                rel=1e-4)
    assert result["g_hat_profile"] == pytest.approx(0.0, abs=1e-3 * result["g_upper_profile"])
    assert result["min_neg2_log_likelihood"] == pytest.approx(
        -2 * posterior.priors.log_density({"flux_7be_cm2s": B16_GS98_BE7_FLUX_CM2S}), abs=1e-8)


def test_profile_limit_with_a_nuisance_pulled_to_its_wall():
    """With the flux flat on [0.8 F0, 1.2 F0] (no constraint term) the new-physics rate,
    proportional to the flux, is smallest on the lower wall: profiling puts the flux there
    for every g > 0, so -2 Delta ln L = (0.8 r)^2 / sigma^2 for the rate r at F0 and the
    limit is at r = 1.645 sigma / 0.8. The fit starts at F0, away from the wall."""
    plan = _seed_plan()
    flux = B16_GS98_BE7_FLUX_CM2S
    priors = plan.priors.with_override("flux_7be_cm2s", Uniform(0.8 * flux, 1.2 * flux))
    plan = dataclasses.replace(plan, priors=priors)
    result = profile_likelihood_limit(plan.posterior(), 0, plan.profile_level,
                                      start=np.array([flux]), widths=np.array([0.05 * flux]))
    sigma = 0.14 * 46.0
    assert _np_rate(plan, 0, result["g_upper_profile"], 0.53) == pytest.approx(
        np.sqrt(plan.profile_level) * sigma / 0.8, rel=1e-4)


def test_profile_limit_is_the_upper_end_of_an_island():
    """With the SM-Z' interference the L_mu - L_tau rate change dR(C) = L C + Q C^2 dips
    below zero (L < 0) and returns to zero at C0 = -L/Q. A relative-rate measurement at the
    SM with an error sigma so small that the dip is excluded makes the profile -2 Delta ln L
    = (dR / sigma)^2 bimodal: allowed near g = 0 and again around C0. The limit is the upper
    end of that island, where dR = +1.645 sigma, not the first crossing (dR = -1.645
    sigma); a point inside the island is given, as the posterior's quantiles give it."""
    plan = _seed_plan()
    sigma_relative = 5e-4
    plan = dataclasses.replace(plan, interference=True, measurements=(
        RelativeRateMeasurement("tight", ("862keV",), sigma_relative, 46.0, "test"),))
    kernels = plan.kernels()[0].at_mass(0)
    p = flavour_model("pee").probabilities({**NUFIT_5_0_NO_CENTRAL, "p_ee": 0.53},
                                           BE7_862.energy_MeV)[None]

    def change(g):
        rate_sm, rate, _ = kernels.rate_cpd100t(B16_GS98_BE7_FLUX_CM2S, p,
                                                coupling_product_MeV2(g), interference=True)
        return float(rate - rate_sm)

    allowed = np.sqrt(plan.profile_level) * sigma_relative * 46.0
    g = np.geomspace(1e-6, 1e-2, 4001)
    dr = np.array([change(x) for x in g])
    assert dr.min() < -1.5 * allowed   # the dip is excluded
    second_zero = g[np.flatnonzero((dr[:-1] < 0) & (dr[1:] >= 0))[0] + 1]
    first = brentq(lambda x: change(x) + allowed, g[0], g[np.argmin(dr)])
    upper = brentq(lambda x: change(x) - allowed, second_zero, g[-1])
    result = profile_likelihood_limit(plan.posterior(), 0, plan.profile_level,
                                      g_points=np.array([second_zero]))
    assert result["g_upper_profile"] == pytest.approx(upper, rel=1e-4)
    assert result["g_upper_profile"] > 1.1 * first


def test_arviz_reads_the_run_diagnostics_from_a_chain_file(tiny_run):
    """az.summary / az.ess / az.mcse of a stored chain file give the ESS and quantile MCSE
    the run reports, and az.rhat of its draws split in time (time_halves) the R-hat (the
    largest over the stored variables)."""
    for index, row in enumerate(_limits(tiny_run)):
        idata = az.from_netcdf(tiny_run / "chains" / f"m{index:03d}.nc")
        assert idata.posterior.sizes["chain"] == 4   # the ensembles
        summary = az.summary(idata, kind="diagnostics", round_to="none")
        assert summary.loc["g", "ess_bulk"] == pytest.approx(row["ess"], rel=1e-6)
        walkers = idata.posterior.attrs["walkers_per_ensemble"]
        halves = {name: time_halves(x.values, walkers) for name, x in idata.posterior.items()}
        rhat = az.rhat(az.convert_to_dataset(halves)).to_array().max()
        assert float(rhat) == pytest.approx(row["rhat"], rel=1e-6)
        assert float(az.ess(idata, var_names=["g"])["g"]) == pytest.approx(row["ess"], rel=1e-6)
        mcse = float(az.mcse(idata, var_names=["g"], method="quantile", prob=0.9)["g"])
        assert mcse == pytest.approx(row["g_upper_mcse"], rel=1e-6)
        g = idata.posterior["g"].values
        assert float(np.quantile(g, 0.9)) == pytest.approx(row["g_upper"], rel=1e-6)


def test_stored_layout_is_each_walkers_draws_in_time_order():
    """chain = ensemble; within it walker 0's thinned draws in time order, then walker 1's."""
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)   # (ensemble, thinned step, walker)
    stored = ensembles_as_chains(x)
    assert stored.shape == (2, 12) and stored.dtype == np.float32
    assert stored[1, 3:6].tolist() == [13.0, 17.0, 21.0]   # ensemble 1, walker 1, steps 0-2


def test_chain_files_of_the_walker_layout_still_read(tiny_run, copy_run):
    """A run whose chain files hold one chain per walker (mcprop before the ensemble layout)
    loads, and its chains say which layout they have."""
    run = copy_run(tiny_run)
    path = run / "chains" / "m001.nc"
    idata = az.from_netcdf(path)
    old = {name: idata.posterior[name].values.reshape(4, 16, -1).reshape(64, -1)
           for name in idata.posterior.data_vars}
    attrs = {**idata.posterior.attrs, "chain_layout": WALKER_LAYOUT}
    idata.close()
    write_inference_data(path, old, attrs)
    scan = mcprop.load(run)
    chains = scan.chains(3.16)
    assert chains.posterior.sizes["chain"] == 64
    assert chains.posterior.attrs["chain_layout"] == WALKER_LAYOUT
    np.testing.assert_array_equal(chains.posterior["g"].values, old["g"])


def test_allowance_limit_closed_form():
    kernels = RateKernels.compute([100.0], [BE7_862], radiative_corrections=False).at_mass(0)
    p = flavour_model("pee").probabilities({**NUFIT_5_0_NO_CENTRAL, "p_ee": 0.51},
                                           BE7_862.energy_MeV)[None]
    g = allowance_limit_g(kernels, p, B16_GS98_BE7_FLUX_CM2S, 3.68)
    plan = _seed_plan(masses=(100.0,))
    assert _np_rate(plan, 0, g, 0.51) == pytest.approx(3.68, rel=1e-10)
    g_int = allowance_limit_g(kernels, p, B16_GS98_BE7_FLUX_CM2S, 3.68, interference=True)
    rate_sm, rate, _ = kernels.rate_cpd100t(B16_GS98_BE7_FLUX_CM2S, p, coupling_product_MeV2(g_int))
    assert float(rate - rate_sm) == pytest.approx(3.68, rel=1e-10)


def test_seed_equivalent_runs_reproduce_fixed_factors(cli, tmp_path):
    """Sampling the seed's own assumptions reproduces its factors 1.316 and 1.10, and there
    the profile-likelihood and the Bayesian limits coincide (both are 1.645 sigma of the
    new-physics rate)."""
    for name in ("seed-reproduction", "seed-equipartition", "seed-decoherent-vacuum"):
        out = cli("run", SEED_RUNS / f"{name}.toml", "--out", tmp_path / name, "--quiet")
        assert out.returncode == 0, out.stderr
    sampled = _limits(tmp_path / "seed-reproduction")
    p51 = flavour_model("pee").probabilities({**NUFIT_5_0_NO_CENTRAL, "p_ee": 0.51},
                                             BE7_862.energy_MeV)[None]
    masses = [row["m_zprime_MeV"] for row in sampled]
    kernels = RateKernels.compute(masses, [BE7_862], radiative_corrections=False)
    for i, row in enumerate(sampled):
        assert row["converged"]
        allowance = allowance_limit_g(kernels.at_mass(i), p51, B16_GS98_BE7_FLUX_CM2S,
                                      0.08 * 46.0)
        assert row["g_upper"] / allowance == pytest.approx(error_treatment_factor(), rel=0.02)
        assert row["g_upper_profile"] / row["g_upper"] == pytest.approx(1.0, abs=0.02)
    equi = _limits(tmp_path / "seed-equipartition")
    deco = _limits(tmp_path / "seed-decoherent-vacuum")
    factor = decoherence_factor(NUFIT_5_0_NO_CENTRAL)
    for e, d in zip(equi, deco, strict=True):
        assert d["g_upper"] / e["g_upper"] == pytest.approx(factor, rel=0.02)


def test_vectorised_posterior_matches_rows_and_is_never_nan():
    plan = ScanPlan(np.array([0.05, 30.0]),
                    sampled_priors(load_prior_files([REPO / "priors/nufit-5.0-no.toml",
                                                     REPO / "priors/ssm-b16-gs98.toml"]),
                                   flavour_model("decoherent-vacuum")),
                    flavour_model("decoherent-vacuum"),
                    (RelativeRateMeasurement("r", ("862keV",), 0.1, 46.0, "test"),))
    posterior = plan.posterior()
    rng = np.random.default_rng(0)
    draws = posterior.priors.sample(rng, 200)
    coords = np.column_stack([rng.uniform(-0.2, 1.2, 200)]
                             + [draws[n] for n in posterior.nuisance_names])
    coords[:5, 1] = [-0.1, 1.5, np.inf, -np.inf, 0.3]
    vector = posterior(coords, 1)
    rows = np.array([posterior(row[None], 1)[0] for row in coords])
    mixed = posterior(np.vstack([coords, coords]), np.repeat([1, 0], len(coords)))
    np.testing.assert_array_equal(mixed[:len(coords)], vector)
    np.testing.assert_array_equal(mixed[len(coords):], posterior(coords, 0))
    np.testing.assert_allclose(vector, rows, rtol=1e-12)
    assert not np.isnan(vector).any()
    outside = (coords[:, 0] < 0) | (coords[:, 0] > 1) | ~np.isfinite(coords[:, 1]) | (
        coords[:, 1] < 0) | (coords[:, 1] > 1)
    assert np.all(vector[outside] == -np.inf)
    assert np.all(np.isfinite(vector[~outside]))


@pytest.mark.parametrize("kind", ["flat-g4", "flat-g2", "flat-g", "log-flat"])
def test_coupling_prior_coordinates(kind):
    prior = CouplingPrior(kind, floor_g=1e-9 if kind == "log-flat" else None)
    g = np.geomspace(1e-8, 1e-3, 7)
    np.testing.assert_allclose(prior.g_from_coordinate(prior.coordinate_from_g(g, 1e-3), 1e-3),
                               g, rtol=1e-12)
    # flat in the coordinate == the stated prior: the density of g is d t / d g
    t = np.linspace(*prior.coordinate_bounds(1e-3), 200001)[1:]
    samples = prior.g_from_coordinate(t, 1e-3)
    power = {"flat-g4": 4, "flat-g2": 2, "flat-g": 1}.get(kind)
    lo, hi = 2e-4, 4e-4
    fraction = np.mean((samples > lo) & (samples < hi))
    expected = ((hi**power - lo**power) / 1e-3**power if power else
                np.log(hi / lo) / np.log(1e-3 / 1e-9))
    assert fraction == pytest.approx(expected, rel=1e-3)


def test_upper_bound_does_not_change_the_limit():
    limits = []
    for upper in (10.0, 40.0):
        plan = _seed_plan(coupling_prior=CouplingPrior("flat-g4", upper))
        diag = _sample(plan)[1].diagnostics["g"]
        limits.append((diag.upper, diag.upper_mcse))
    (a, da), (b, db) = limits
    assert abs(a - b) < 4 * np.hypot(da, db)


def test_same_seed_same_limits(tiny_run, cli, tmp_path):
    out = cli("run", DATA / "tiny.toml", "--out", tmp_path / "again", "--quiet")
    assert out.returncode == 0, out.stderr
    assert _limits(tmp_path / "again") == _limits(tiny_run)


def test_different_seed_different_chains(tiny_run, cli, tmp_path):
    out = cli("run", DATA / "tiny.toml", "--out", tmp_path / "other", "--seed", 8, "--quiet")
    assert out.returncode == 0, out.stderr
    other, base = _limits(tmp_path / "other"), _limits(tiny_run)
    assert all(o["g_upper"] != b["g_upper"] for o, b in zip(other, base, strict=True))
    # but the same limits within their Monte Carlo errors
    for o, b in zip(other, base, strict=True):
        assert abs(o["g_upper"] - b["g_upper"]) < 5 * np.hypot(o["g_upper_mcse"],
                                                               b["g_upper_mcse"])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_run_resumes_to_the_same_limits(tiny_run, tmp_path, sig, cli):
    """A run killed with masses in progress continues them from their checkpoints (it says
    at which step) and ends with the limits of an uninterrupted run."""
    out = tmp_path / "killed"

    def in_flight(folder):  # a mass finished and another checkpointed
        return (list(folder.glob("results/*.json")) and list(folder.glob("checkpoints/m???.npz")))

    process = interrupted_run(out, in_flight, sig)
    assert process.returncode != 0
    assert "Traceback" not in process.stderr.read().decode()
    assert len(list((out / "results").glob("*.json"))) < 3
    # in this process, so that its log lines are captured
    resumed = cli("run", DATA / "tiny.toml", "--out", out, "--resume", "--workers", 1)
    assert resumed.returncode == 0, resumed.stderr
    continued = re.findall(r"continuing from the checkpoint at step (\d+)", resumed.stderr)
    assert continued and all(int(step) >= 100 for step in continued), resumed.stderr
    assert "sampling" not in resumed.stderr
    assert _limits(out) == _limits(tiny_run)
    assert not list((out / "checkpoints").iterdir())


def test_dask_local_cluster_gives_the_same_limits(tiny_run, cli, tmp_path):
    out = cli("run", DATA / "tiny.toml", "--out", tmp_path / "dask", "--executor", "dask",
              "--workers", 2, "--quiet")
    assert out.returncode == 0, out.stderr
    assert _limits(tmp_path / "dask") == _limits(tiny_run)
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["executor"] == "dask"


def test_run_directory_contents(tiny_run):
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert manifest["seed"] == 7 and len(manifest["config_hash"]) == 64
    assert manifest["finished"] and manifest["n_converged"] == 3
    assert {"numpy", "emcee", "arviz"} <= set(manifest["packages"])
    idata = az.from_netcdf(tiny_run / "chains" / "m001.nc")
    assert set(idata.posterior.data_vars) == {"g", "sin2_theta12", "sin2_theta13",
                                              "sin2_theta23", "delta_cp_deg", "flux_7be_cm2s"}
    attrs = idata.posterior.attrs
    assert attrs["seed"] == 7 and attrs["coupling_prior"] == "flat-g4"
    assert attrs["credibility"] == 0.9 and attrs["m_zprime_MeV"] == pytest.approx(3.16227766)
    row = _limits(tiny_run)[1]
    g = idata.posterior["g"].values.ravel()
    # the stored (thinned) draws give the same quantile within a few MC errors
    assert abs(np.quantile(g, 0.9) - row["g_upper"]) < 5 * row["g_upper_mcse"] + 0.02 * row[
        "g_upper"]


def test_correlated_systematics_likelihood():
    first = RateMeasurement("I", ("862keV",), 46.0, 1.5, 1.5, 1.5, "test")
    second = RateMeasurement("II", ("862keV",), 48.3, 1.1, 0.6, 0.6, "test")
    rates = np.array([[45.0, 49.0], [47.5, 47.0], [46.0, 48.3]])
    for rho in (0.0, 0.5, 0.9):
        term = SystematicCorrelation(0, 1, rho, "test")
        cov = np.array([[1.5**2 + 1.5**2, rho * 1.5 * 0.6], [rho * 1.5 * 0.6, 1.1**2 + 0.6**2]])
        dist = multivariate_normal([46.0, 48.3], cov)
        expected = dist.logpdf(rates) - dist.logpdf([46.0, 48.3])
        np.testing.assert_allclose(term.log_likelihood(first, rates[:, 0], second, rates[:, 1]),
                                   expected, rtol=1e-12)
    independent = (first.log_likelihood(rates[:, 0], None)
                   + second.log_likelihood(rates[:, 1], None))
    np.testing.assert_allclose(SystematicCorrelation(0, 1, 0.0, "t").log_likelihood(
        first, rates[:, 0], second, rates[:, 1]), independent, rtol=1e-12)


def test_zprime_matter_potential_enters_the_posterior():
    """L_e - L_mu with MSW: the flavour content follows the Z' potential of each walker's
    (g, m); at negligible g it is the SM MSW content."""
    from dataclasses import replace

    from mcprop.interface.config import load_config
    from mcprop.physics.flavour import msw_probabilities, zprime_potential_ratios
    from mcprop.physics.scattering import MODELS

    plan = load_config(REPO / "runs/models/le-lmu.toml",
                       {"mass_grid": {"mass_min_MeV": 0.01, "mass_max_MeV": 0.1,
                                      "n_masses": 2}}).plan
    assert plan.matter_potential
    with_potential, without = plan.posterior(), replace(plan, matter_potential=False).posterior()
    centres = plan.priors.centres()
    nuisances = {n: np.full(2, centres[n]) for n in with_potential.nuisance_names}
    tiny, near_limit = np.full(2, 1e-12), np.full(2, 1e-6)
    index = np.array([0, 1])
    # (the 3x3 diagonalisation and the closed-form MSW weights differ by ~1e-4 in P_ee)
    np.testing.assert_allclose(with_potential.log_likelihood(tiny, nuisances, index),
                               without.log_likelihood(tiny, nuisances, index), atol=1e-3)
    assert np.all(np.abs(with_potential.log_likelihood(near_limit, nuisances, index)
                         - without.log_likelihood(near_limit, nuisances, index)) > 0.1)
    # the rate seen by the posterior is the one of the MSW content with the potential
    params = with_potential.parameters(nuisances)
    ratios = zprime_potential_ratios(MODELS["Le-Lmu"], near_limit, plan.masses_MeV)
    p = msw_probabilities(params, BE7_862.energy_MeV, plan.flavour.profile, ratios)[None]
    kernels = plan.kernels()[0].at_mass(index)
    _, rate, _ = kernels.rate_cpd100t(params["flux_7be_cm2s"], p,
                                      coupling_product_MeV2(near_limit, MODELS["Le-Lmu"]))
    measurement = plan.measurements[0]
    np.testing.assert_allclose(with_potential.log_likelihood(near_limit, nuisances, index),
                               measurement.log_likelihood(rate, None), rtol=1e-12)


def _chains_with(log_prob: np.ndarray) -> MassChains:
    """Chains of 2 ensembles x 20 walkers in 3 dimensions whose coordinates name the walker,
    with the given log posterior, after 101 steps."""
    n_ens, n_walkers = log_prob.shape
    coords = np.arange(n_ens * n_walkers * 3, dtype=float).reshape(n_ens, n_walkers, 3)
    history = np.zeros((n_ens, 101, n_walkers, 3), dtype=np.float32)
    return MassChains(history, coords, log_prob.copy(), np.zeros((n_ens, n_walkers), int))


def test_stray_walkers_are_moved_onto_good_ones_and_burn_in_follows():
    """A walker 1e4 below its ensemble's best (for 3 coordinates the threshold is half the
    1e-9 chi^2 quantile, 22.9) moves onto a good walker of the same ensemble with its log
    posterior; the burn-in floor becomes the next step. A walker 20 below is left alone."""
    log_prob = np.zeros((2, 20))
    log_prob[0, 3] = -1e4
    log_prob[1, 5] = -20.0
    chains = _chains_with(log_prob)
    before = chains.coords.copy()
    reset_stray_walkers(chains, seed=1, point_index=0)
    assert chains.burn_floor == 101
    moved = chains.coords[0, 3]
    assert any(np.array_equal(moved, before[0, j]) for j in range(20) if j != 3)
    assert chains.log_prob[0, 3] == 0.0
    np.testing.assert_array_equal(np.delete(chains.coords[0], 3, axis=0),
                                  np.delete(before[0], 3, axis=0))
    np.testing.assert_array_equal(chains.coords[1], before[1])
    again = _chains_with(log_prob)
    reset_stray_walkers(again, seed=1, point_index=0)
    np.testing.assert_array_equal(again.coords, chains.coords)  # keyed, reproducible


def test_no_reset_while_many_walkers_are_far_out():
    """Early on most walkers are far out: copies of the few good ones would collapse the
    ensemble, so nothing moves while more than 10% of it is stray."""
    log_prob = np.zeros((2, 20))
    log_prob[0, :3] = -1e4   # 15% of the ensemble
    chains = _chains_with(log_prob)
    before = chains.coords.copy()
    reset_stray_walkers(chains, seed=1, point_index=0)
    np.testing.assert_array_equal(chains.coords, before)
    assert chains.burn_floor == 0


def test_independence_proposal_samples_the_target_whatever_it_was_fitted_to():
    """The DE + Student-t mixture, with a proposal deliberately off (shifted by 0.7 sigma,
    1.6x too wide, uncorrelated), samples a correlated 2-D normal: its 90% quantile and
    correlation match the closed forms. Without the Hastings ratio q(x)/q(x') the quantile
    is off by 16 MC errors (0.18 sigma)."""
    import emcee

    from mcprop.inference.moves import GroupedDEMove, IndependenceProposal

    rho, n_groups, n_walkers, n_steps = 0.8, 4, 32, 1500
    precision = np.linalg.inv(np.array([[1.0, rho], [rho, 1.0]]))

    def log_prob(x, group):
        return -0.5 * np.einsum("ni,ij,nj->n", x, precision, x)

    q = IndependenceProposal(np.tile([0.7, -0.7], (n_groups, 1)),
                             np.tile(1.6 * np.eye(2), (n_groups, 1, 1)), np.full(n_groups, 0.8),
                             np.ones((n_groups, 2)))
    keys = np.arange(1, n_groups + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    move = GroupedDEMove(log_prob, keys, np.zeros(n_groups), n_walkers, independence=q)
    start = np.random.default_rng(3).normal(size=(n_groups * n_walkers, 2))
    sampler = emcee.EnsembleSampler(len(start), 2, lambda x: log_prob(x, None), moves=[move],
                                    vectorize=True)
    sampler.run_mcmc(start, n_steps, progress=False)
    chain = sampler.get_chain(discard=300)            # (steps, walkers, 2)
    x = chain.reshape(-1, 2)
    ess = len(x) / np.max(sampler.get_autocorr_time(discard=300, quiet=True))
    quantile_error = np.sqrt(0.9 * 0.1 / ess) / norm.pdf(norm.ppf(0.9))
    assert abs(np.quantile(x[:, 0], 0.9) - norm.ppf(0.9)) < 4 * quantile_error
    assert abs(np.corrcoef(x.T)[0, 1] - rho) < 0.02


def test_island_posterior_keeps_both_islands(caplog):
    """L_e - L_mu at 0.01 MeV with its matter potential has two allowed islands of g (near
    0, up to 6.4e-8, and around 2.5e-6; README "models"). The Student-t proposal's fit
    drops the far island's positions as more than 8 MAD out, so it is not used there, and
    every ensemble keeps walkers in both islands."""
    import logging

    from mcprop.interface.config import load_config

    config = load_config(REPO / "runs/models/le-lmu.toml",
                         {"sampler": {"n_walkers": 16, "max_steps": 300,
                                      "proposal": "student-t"}})
    plan = config.plan
    posterior = plan.posterior()
    with caplog.at_level(logging.DEBUG, logger="mcprop"):
        (sample,) = sample_points(posterior, [0], plan.sampler, plan.seed, plan.credibility)
    assert "proposal frozen" not in caplog.text
    g = sample.quantities["g"]
    for ensemble in g:
        assert np.mean(ensemble < 2e-7) > 0.03 and np.mean(ensemble > 1e-6) > 0.3


def test_checkpoints_append(tmp_path):
    """Each checkpoint writes only the steps since the last one (a chunk file), and the
    state last; loading joins the chunks into the history that was saved."""
    from mcprop.inference import sampler as sampler_module
    from mcprop.inference.random import group_keys

    plan = _seed_plan(masses=(1.0,))
    settings = dataclasses.replace(plan.sampler, n_walkers=8, chunk_steps=10)
    posterior = plan.posterior()
    keys = {0: group_keys(plan.seed, [0], settings.n_ensembles)[0]}
    chains = sampler_module.initial_chains(posterior, 0, settings, plan.seed)
    path = tmp_path / "m000.npz"
    for _ in range(3):
        sampler_module._advance(posterior, {0: chains}, keys, settings)
        chains.save(path, {"run": 1})
    lengths = [np.load(tmp_path / f"m000.{k:04d}.npz")["history"].shape[1] for k in range(3)]
    assert lengths == [11, 10, 10]
    loaded = MassChains.load(path, {"run": 1}, posterior, 0, settings)
    assert np.array_equal(loaded.history, chains.full_history())
    assert np.array_equal(loaded.coords, chains.coords) and loaded.n_steps == 31
