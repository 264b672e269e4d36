"""Magnetic-moment runs: the sampled posterior against closed forms, refused configs, the run
directory, exports and figures of a run without masses."""

import json

import numpy as np
import pandas as pd
import pytest
import tomli_w
from conftest import DATA, REPO, run_cli
from scipy import stats

import mcprop
from mcprop.errors import UserError
from mcprop.inference.priors import load_prior_files
from mcprop.inference.results import MOMENT_COLUMNS, MomentResult, ResultError
from mcprop.interface.config import load_config
from mcprop.physics.flavour import flavour_model
from mcprop.physics.kernels import DetectorResponse
from mcprop.physics.magnetic_moment import MagneticKernels
from mcprop.physics.solar import BE7_384, BE7_862

FIXED = REPO / "priors/seed-fixed-inputs.toml"
PHASE2 = DetectorResponse((0.19, 2.93), 0.05)
#: Data on the SM prediction with a 2.5% Gaussian error of 48.3 cpd/100t.
SIGMA_CPD100T = 0.025 * 48.3
RELATIVE = {"kind": "relative-rate", "name": "rate on the SM", "lines": ["862keV", "384keV"],
            "relative_error": 0.025, "reference_rate_cpd100t": 48.3, "window_MeV": [0.19, 2.93],
            "resolution_MeV": 0.05, "source": "test: data equal to the SM prediction"}
PHASE2_RATE = {"kind": "rate", "name": "Phase-II rate", "lines": ["862keV", "384keV"],
               "value_cpd100t": 48.3, "stat_cpd100t": 1.1, "syst_plus_cpd100t": 0.4,
               "syst_minus_cpd100t": 0.7, "window_MeV": [0.19, 2.93], "resolution_MeV": 0.05,
               "source": "Borexino, PRD 100, 082004 (2019)"}


def _document(moments="universal", measurement=RELATIVE, priors=(FIXED,), **sections):
    """A magnetic-moment config with fixed flavour content and flux (no nuisance sampled)."""
    document = {"schema_version": 1, "name": f"moments-{moments}",
                "physics": {"model": "magnetic-moment", "moments": moments,
                            "flavour_model": "pee"},
                "priors": {"files": [str(p) for p in priors]},
                "measurements": [measurement],
                "sampler": {"seed": 11, "n_walkers": 16, "min_kept_tau": 10},
                "output": {"directory": "unused"}}
    for name, values in sections.items():
        document[name] = {**document.get(name, {}), **values}
    return document


def _slopes_cpd100t():
    """dR/d(mu_a/mu_B)^2 per flavour at the fixed inputs of the seed's prior file."""
    inputs = load_prior_files([FIXED]).fixed_values
    p = np.stack([flavour_model("pee").probabilities(inputs, line.energy_MeV)
                  for line in (BE7_862, BE7_384)])
    kernels = MagneticKernels.compute([BE7_862, BE7_384], PHASE2)
    return kernels.rate_per_mu2_cpd100t(inputs["flux_7be_cm2s"], p)


# --- the sampled posterior against closed forms ---------------------------------------------

@pytest.mark.parametrize("moments, dof", [("universal", 1), ("e", 1), ("independent", 3)])
def test_limits_against_the_closed_form(moments, dof):
    """Flat prior in mu^2 >= 0, fixed flavour content and a Gaussian rate likelihood on the SM:
    the added rate s = sum_a (dR/dmu_a^2) mu_a^2 has the posterior of the length of a
    k-dimensional normal vector, chi with k = number of sampled moments (k = 1: half-normal,
    90% quantile 1.645 sigma), and mu_eff^2 = s / sum_a dR/dmu_a^2."""
    r = mcprop.run(_document(moments), workers=1)
    assert r.converged, r.results[0].problems
    assert list(r.limits.columns) == list(MOMENT_COLUMNS)
    rows = r.limits.set_index("parameter").to_dict("index")
    slopes = _slopes_cpd100t()
    quantile = stats.chi.ppf(0.9, dof) * SIGMA_CPD100T
    if dof == 1:
        assert stats.chi.ppf(0.9, 1) == pytest.approx(stats.halfnorm.ppf(0.9))
    expected = {"mu_eff": np.sqrt(quantile / slopes.sum())}
    if moments == "universal":
        expected["mu_universal"] = expected["mu_eff"]
    if moments == "e":
        expected["mu_e"] = np.sqrt(quantile / slopes[0])
        # mu_eff = sqrt(P_ee) mu_e draw by draw (P_ee = 0.53 at both lines)
        assert rows["mu_eff"]["upper_muB"] == pytest.approx(
            np.sqrt(0.53) * rows["mu_e"]["upper_muB"], rel=1e-9)
    for name, value in expected.items():
        row = rows[name]
        assert abs(row["upper_muB"] - value) < 4 * row["upper_mcse_muB"], (name, row, value)
        assert row["upper_mcse_muB"] < 0.01 * row["upper_muB"]
    # The profile likelihood of one moment on Asimov data (the SM) with nothing else free:
    # -2 Delta ln L = (s mu^2 / sigma)^2, crossing 2.7055 = 1.6449^2 at s mu^2 = 1.6449
    # sigma, where the half-normal posterior has its 90% quantile; no MC error. mu_eff is
    # profiled only where it is the sampled moment (universal); independent: none.
    crossing = np.sqrt(stats.chi2.ppf(0.9, 1)) * SIGMA_CPD100T
    profiled = {"universal": {"mu_universal": slopes.sum(), "mu_eff": slopes.sum()},
                "e": {"mu_e": slopes[0]}, "independent": {}}[moments]
    for name, row in rows.items():
        if name in profiled:
            assert row["upper_profile_muB"] == pytest.approx(
                np.sqrt(crossing / profiled[name]), rel=1e-4), (name, row)
        else:
            assert pd.isna(row["upper_profile_muB"]), (name, row)


# --- refused configs --------------------------------------------------------------------------

def _one_line_error(result, *needles):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


NEGATIVE_PRIOR = """schema_version = 1
name = "negative-moment"
[parameters.mu_e_1e-11_muB]
family = "fixed"
value = -2.0
source = "test: a negative moment"
"""


def _without_window(measurement):
    return {k: v for k, v in measurement.items() if k not in ("window_MeV", "resolution_MeV")}


BAD = {
    "negative fixed moment in a prior file": (
        {"priors": "negative"}, ["priors.files", "mu_e_1e-11_muB", "magnetic moment"]),
    "unknown moment scheme": (
        {"physics": {"moments": "transition"}}, ["physics.moments", "transition"]),
    "total rate without a window": (
        {"measurements": [_without_window(PHASE2_RATE)]},
        ["measurements[0].window_MeV", "threshold", "1/T"]),
    "window from T = 0": (
        {"measurements": [{**RELATIVE, "window_MeV": [0.0, 2.93]}]},
        ["measurements[0].window_MeV", "threshold"]),
    "mass grid with moments": (
        {"mass_grid": {"mass_min_MeV": 1.0, "mass_max_MeV": 10.0, "n_masses": 2}},
        ["mass_grid", "no mass grid"]),
    "prior on g": ({"coupling_prior": {"kind": "flat-g4"}}, ["coupling_prior.kind", "mu^2"]),
    "moments of a Z'": ({"physics": {"model": "Lmu-Ltau"}}, ["physics.moments", "Lmu-Ltau"]),
    "Z' without masses": ({"physics": {"model": "Lmu-Ltau", "moments": None}},
                          ["mass_grid", "missing"]),
    "flat-mu2 for a Z'": ({"physics": {"model": "Lmu-Ltau", "moments": None},
                           "coupling_prior": {"kind": "flat-mu2"},
                           "mass_grid": {"mass_min_MeV": 1.0, "mass_max_MeV": 10.0,
                                         "n_masses": 2}},
                          ["coupling_prior.kind", "magnetic-moment"]),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_moment_configs_are_one_line(case, tmp_path):
    change, needles = BAD[case]
    document = _document()
    for name, value in change.items():
        if name == "priors":
            (tmp_path / "negative.toml").write_text(NEGATIVE_PRIOR)
            document["priors"] = {"files": [str(FIXED), str(tmp_path / "negative.toml")]}
        elif isinstance(value, dict):
            document[name] = {k: v for k, v in {**document.get(name, {}), **value}.items()
                              if v is not None}
        else:
            document[name] = value
    document["output"] = {"directory": str(tmp_path / "out")}
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(document))
    _one_line_error(run_cli("run", path, "--quiet", "--workers", 1), "bad.toml", *needles)
    assert not (tmp_path / "out").exists()


# --- the run directory of a moment run ------------------------------------------------------

@pytest.fixture(scope="module")
def moment_run(tmp_path_factory):
    """A finished run directory of tests/data/tiny-moments.toml (three flavour moments)."""
    out = tmp_path_factory.mktemp("moments") / "tiny-moments"
    result = run_cli("run", DATA / "tiny-moments.toml", "--out", out, "--quiet",
                     "--workers", 1)
    assert result.returncode == 0, result.stderr
    return out


def test_export_json_lists_the_moments_in_bohr_magnetons(moment_run):
    out = run_cli("export", moment_run, "--format", "json")
    assert out.returncode == 0, out.stderr

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    document = json.loads(out.stdout, parse_constant=refuse)
    assert document["columns"] == list(MOMENT_COLUMNS)
    assert [row["parameter"] for row in document["limits"]] == ["mu_e", "mu_mu", "mu_tau",
                                                                "mu_eff"]
    for row in document["limits"]:
        assert 1e-12 < row["upper_muB"] < 1e-9, row  # mu_B, not units of 1e-11 mu_B
        assert 0 < row["upper_mcse_muB"] < 0.05 * row["upper_muB"]
        assert row["ess"] > 200 and 1 <= row["rhat"] < 1.05 and row["converged"] is True
    # mu_eff^2 = sum_a P_ea mu_a^2 <= max_a mu_a^2 draw by draw, so its limit is below the
    # largest flavour limit; P_ee > 1/2 at 7Be energies puts it near mu_e
    uppers = {row["parameter"]: row["upper_muB"] for row in document["limits"]}
    assert uppers["mu_eff"] < max(uppers["mu_e"], uppers["mu_mu"], uppers["mu_tau"])
    assert "magnetic moments (independent)" in document["provenance"][0]
    assert any("flat-mu2" in line for line in document["provenance"])
    assert (moment_run / "limits.csv").read_text() == run_cli(
        "export", moment_run, "--format", "csv").stdout


def test_run_directory_round_trips_through_load(moment_run, tmp_path):
    r = mcprop.load(moment_run)
    assert r.complete and r.converged and not r.has_masses and len(r.masses_MeV) == 0
    assert list(r.limits.columns) == list(MOMENT_COLUMNS) and len(r.limits) == 4
    saved = mcprop.load(r.save(tmp_path / "saved"))
    assert saved.limits.equals(r.limits)
    np.testing.assert_array_equal(saved.chains().posterior["mu_mu"].values,
                                  r.chains().posterior["mu_mu"].values)
    manifest = json.loads((moment_run / "manifest.json").read_text())
    assert manifest["n_points"] == 1 and manifest["points"]["0"]["converged"] is True
    assert not (moment_run / "limit_curve.png").exists()
    # the stored, resolved config reads back as the same run
    stored = load_config(moment_run / "config.toml")
    assert stored.config_hash == manifest["config_hash"]
    assert stored.resolved["coupling_prior"]["kind"] == "flat-mu2"
    assert "mass_grid" not in stored.resolved and stored.plan.moments == "independent"
    # a finished run resumed does nothing and changes nothing
    before = (moment_run / "limits.json").read_text()
    again = run_cli("run", DATA / "tiny-moments.toml", "--out", moment_run, "--resume",
                    "--quiet")
    assert again.returncode == 0, again.stderr
    assert (moment_run / "limits.json").read_text() == before


def test_diagnose_tables_the_moments(moment_run):
    out = run_cli("diagnose", moment_run)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["parameter", "upper_muB"]
    assert [line.split()[0] for line in lines[1:5]] == ["mu_e", "mu_mu", "mu_tau", "mu_eff"]
    assert lines[-1] == "tiny-moments: 4/4 moment limits converged"


def test_corner_without_a_mass_and_plot_refused(moment_run, tiny_run, copy_run, tmp_path):
    run = copy_run(moment_run)
    out = run_cli("corner", run)
    assert out.returncode == 0, out.stderr
    assert (run / "corner_m000.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _one_line_error(run_cli("corner", run, "--mass-MeV", 3), "--mass-MeV", "no mass grid")
    _one_line_error(run_cli("plot", run, "--out", tmp_path / "x.png"), "no limit curve")
    _one_line_error(run_cli("export", run, "--format", "hepdata"), "no limit curve")
    _one_line_error(run_cli("corner", tiny_run, "--out", tmp_path / "c.png"),
                    "--mass-MeV", "required")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "c.png").exists()
    assert not (run / "spectrum_fit.png").exists()  # a rate run has no spectrum to draw
    with pytest.raises(UserError, match="no spectrum measurement"):
        mcprop.load(run).plot_spectrum()
    with pytest.raises(UserError, match="not a magnetic-moment run"):
        mcprop.load(tiny_run).plot_spectrum()


def test_damaged_moment_results_are_refused(moment_run, copy_run):
    run = copy_run(moment_run)
    path = run / "results" / "m000.json"
    record = json.loads(path.read_text())
    record.pop("run")
    assert MomentResult.from_record(record).record() == record
    for change, needle in (({"limits": record["limits"][:2]}, "limits"),
                           ({"moments": "transition"}, "moments"),
                           ({"prior_upper_muB": {"mu_e": 1e-10}}, "prior_upper_muB")):
        with pytest.raises(ResultError, match=needle):
            MomentResult.from_record({**record, **change})
    record["limits"][1]["upper_muB"] = None
    with pytest.raises(ResultError, match="converged"):
        MomentResult.from_record(record)
    text = path.read_text()
    path.write_text(text.replace('"upper_muB": ', '"upper_muB": NaN, "x": ', 1))
    _one_line_error(run_cli("export", run, "--format", "json"), "m000.json")
