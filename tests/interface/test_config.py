"""Tests of the run-config schema and reader (mcprop.interface.config) and of the bounded
input reader (mcprop.files)."""

import os
import tomllib
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import DATA, REPO
from scipy.stats import chi2

from mcprop.errors import UserError
from mcprop.files import (
    MAX_INPUT_BYTES,
    InputFileError,
    read_bytes,
    read_toml,
    resolve_path,
    without_none,
)
from mcprop.inference.measurements import RateMeasurement, SurvivalProbabilityMeasurement
from mcprop.inference.posterior import CouplingPrior
from mcprop.inference.sampler import SamplerSettings
from mcprop.interface.config import config_from_dict, load_config
from mcprop.interface.schema import Sampler
from mcprop.physics.scattering import MODELS

PRIORS = REPO / "priors"

#: The smallest config: only the required keys.
MINIMAL = {
    "schema_version": 1,
    "name": "minimal",
    "priors": {"files": ["nufit-5.0-no.toml", "ssm-b16-gs98.toml"]},
    "measurements": [{"kind": "rate", "name": "Phase-I rate", "lines": ["862keV"],
                      "value_cpd100t": 46.0, "stat_cpd100t": 1.5, "syst_plus_cpd100t": 1.5,
                      "syst_minus_cpd100t": 1.6, "source": "PRL 107, 141302 (2011)"}],
    "mass_grid": {"mass_min_MeV": 0.1, "mass_max_MeV": 10.0, "n_masses": 3},
    "sampler": {"seed": 1},
    "output": {"directory": "out"},
}


def minimal(**sections) -> dict:
    """MINIMAL with some sections replaced or added."""
    return {**MINIMAL, **sections}


def read(document: dict, overrides=None):
    return config_from_dict(document, PRIORS, "test.toml", overrides)


# --- defaults and the engine dataclasses ---------------------------------------------------


def test_sampler_section_is_the_seed_and_the_fields_of_sampler_settings():
    assert list(Sampler.model_fields) == ["seed"] + [f.name for f in
                                                           fields(SamplerSettings)]


def test_minimal_config_gets_the_documented_defaults():
    config = read(MINIMAL)
    plan, resolved = config.plan, config.resolved
    assert plan.sampler == SamplerSettings()
    assert plan.coupling_prior == CouplingPrior("flat-g4", 10.0, None)
    assert resolved["physics"] == {"model": "Lmu-Ltau", "flavour_model": "decoherent-msw",
                                   "interference": True, "radiative_corrections": True,
                                   "composition": "gs98", "zprime_matter_potential": True,
                                   "sin2_theta_w": None, "solar_profile": None,
                                   "kinetic_mixing": 0.0}
    assert plan.radiative_corrections is True and plan.interference is True
    assert plan.model == MODELS["Lmu-Ltau"]
    # the 90% quantile of chi^2 with one degree of freedom, z_0.95^2 = 1.6449^2
    assert plan.profile_level == pytest.approx(chi2.ppf(0.9, 1), rel=1e-12)
    assert plan.profile_level == pytest.approx(1.6448536269514722**2, rel=1e-12)
    assert resolved["limits"] == {"credibility": 0.9, "profile_likelihood": True,
                                  "profile_delta_chi2": plan.profile_level}
    assert resolved["description"] == "" and resolved["correlations"] == []
    np.testing.assert_allclose(plan.masses_MeV, [0.1, 1.0, 10.0], rtol=1e-12)
    assert plan.seed == 1 and config.name == "minimal"
    assert config.output_dir == (PRIORS / "out").resolve()
    assert resolved["priors"]["files"] == [str(PRIORS / "nufit-5.0-no.toml"),
                                           str(PRIORS / "ssm-b16-gs98.toml")]
    assert config.path == Path("test.toml")


def test_new_keys_reach_the_plan():
    config = read(minimal(physics={"radiative_corrections": False},
                          limits={"profile_delta_chi2": 1.6424, "credibility": 0.95}))
    assert config.plan.radiative_corrections is False
    assert config.plan.profile_level == 1.6424 and config.plan.credibility == 0.95


@pytest.mark.parametrize("model, interference, kind", [
    ("Lmu-Ltau", True, "flat-g4"),
    ("Le-Lmu", True, "flat-g2"),
    ("Le-Ltau", True, "flat-g2"),
    ("B-L", True, "flat-g2"),
    ("Le-Lmu", False, "flat-g4"),  # no interference: the Z' term ~ g^4 alone
])
def test_flat_rate_prior_resolves_per_model(model, interference, kind):
    config = read(minimal(physics={"model": model, "interference": interference}))
    assert config.resolved["coupling_prior"] == {"kind": kind, "upper_np_fraction": 10.0,
                                                 "floor_g": None}
    assert config.plan.coupling_prior.kind == kind


@pytest.mark.parametrize("prior", [{"kind": "flat-g"}, {"kind": "flat-g4"},
                                   {"kind": "log-flat", "floor_g": 1e-7}])
def test_explicit_coupling_prior_kinds_are_kept(prior):
    config = read(minimal(physics={"model": "B-L"}, coupling_prior=prior))
    assert config.plan.coupling_prior == CouplingPrior(prior["kind"], 10.0,
                                                       prior.get("floor_g"))


def test_measurements_and_correlations_are_built():
    second = dict(MINIMAL["measurements"][0], name="Phase-II rate", lines=["862keV", "384keV"],
                  window_MeV=[0.19, 2.93], resolution_MeV=0.05, dataset="borexino-phase2")
    p_ee = {"kind": "survival-probability", "name": "Phase-II P_ee", "line": "862keV",
            "value": 0.53, "sigma_plus": 0.05, "sigma_minus": 0.05, "source": "PRD 100",
            "dataset": "borexino-phase1"}
    correlation = {"measurements": ["Phase-I rate", "Phase-II rate"],
                   "systematic_correlation": 0.5, "source": "test"}
    config = read(minimal(measurements=[MINIMAL["measurements"][0], second, p_ee],
                          correlations=[correlation]))
    rate, rate2, survival = config.plan.measurements
    assert isinstance(rate, RateMeasurement) and rate.response.window_MeV is None
    assert rate2.lines == ("862keV", "384keV")
    assert rate2.response.window_MeV == (0.19, 2.93) and rate2.response.resolution_MeV == 0.05
    assert isinstance(survival, SurvivalProbabilityMeasurement) and survival.value == 0.53
    (built,) = config.plan.correlations
    assert (built.first, built.second, built.coefficient) == (0, 1, 0.5)
    kinds = [m["kind"] for m in config.resolved["measurements"]]
    assert kinds == ["rate", "rate", "survival-probability"]
    assert config.resolved["measurements"][2]["allow_shared_dataset"] is False


# --- overrides, Python documents, resolved documents ----------------------------------------


def test_overrides_are_merged_before_resolution(tmp_path):
    config_file = tmp_path / "run.toml"
    document = minimal(priors={"files": [str(PRIORS / "nufit-5.0-no.toml"),
                                         str(PRIORS / "ssm-b16-gs98.toml")]})
    config_file.write_text(tomli_w.dumps(document))
    overrides = {"sampler": {"seed": 5}, "output": {"directory": "elsewhere"}}
    config = load_config(config_file, overrides)
    assert config.plan.seed == 5
    assert config.output_dir == tmp_path / "elsewhere"
    assert config.resolved["sampler"]["n_walkers"] == SamplerSettings().n_walkers
    assert overrides == {"sampler": {"seed": 5}, "output": {"directory": "elsewhere"}}
    assert load_config(config_file).plan.seed == 1
    with pytest.raises(UserError, match=r"run.toml: sampler.sed: unknown key"):
        load_config(config_file, {"sampler": {"sed": 5}})


def test_config_from_dict_does_not_change_the_document():
    document = minimal(physics={"model": "Le-Lmu"})
    before = repr(document)
    read(document)
    assert repr(document) == before


def test_errors_name_the_document():
    with pytest.raises(UserError) as info:
        config_from_dict(minimal(name="a b"), PRIORS, "my-run")
    assert str(info.value).startswith("my-run: name: must be 1 to 100 characters")


def test_stored_resolved_config_reads_back_to_itself(tmp_path):
    """The run directory's config.toml (the resolved document) is a config: read again,
    it resolves to the same document and hash."""
    config = load_config(REPO / "runs" / "borexino-combined.toml")
    stored = tmp_path / "config.toml"
    stored.write_text(tomli_w.dumps(without_none(config.resolved)))
    again = load_config(stored)
    assert again.resolved == config.resolved
    assert again.config_hash == config.config_hash


def test_hash_follows_the_prior_bytes_not_the_output_or_description(tmp_path):
    prior = tmp_path / "flux.toml"
    prior.write_text((PRIORS / "ssm-b16-gs98.toml").read_text())
    document = minimal(priors={"files": [str(PRIORS / "nufit-5.0-no.toml"), str(prior)]})
    reference = read(document).config_hash
    assert read(minimal(**{**document, "description": "other",
                           "output": {"directory": "x"}})).config_hash == reference
    prior.write_text(prior.read_text().replace("mean = 4.93e9", "mean = 4.94e9"))
    assert read(document).config_hash != reference


def test_every_shipped_config_loads():
    paths = sorted((REPO / "runs").rglob("*.toml")) + [DATA / "tiny.toml"]
    assert len(paths) >= 16
    for path in paths:
        config = load_config(path)
        assert config.plan.n_points >= 1
        document = tomllib.loads(path.read_text())
        if document["physics"].get("model") in ("Le-Lmu", "Le-Ltau", "B-L"):
            assert config.plan.coupling_prior.kind == "flat-g2", path
        assert all(m["dataset"] in ("borexino-phase1", "borexino-phase2")
                   for m in config.resolved["measurements"]), path


@pytest.mark.parametrize("name", ["borexino-phase2-spectral-sm",
                                  "borexino-phase2-spectral-sm-threshold-digitised",
                                  "spectral-nuisances/threshold-digitised"])
def test_a_spectral_runs_stored_config_reads_back_as_itself(name):
    """The resolved document (what a run directory keeps as config.toml) is a config that
    resolves to itself, the threshold model's defaults written out included."""
    config = load_config(REPO / "runs" / f"{name}.toml")
    again = config_from_dict(config.resolved, REPO / "runs", "config.toml")
    assert again.resolved == config.resolved


# --- mcprop.files ------------------------------------------------------------------------


def test_read_bytes_is_bounded(tmp_path):
    path = tmp_path / "exact.txt"
    path.write_bytes(b"x" * 1000)
    assert read_bytes(path, max_bytes=1000) == b"x" * 1000
    with pytest.raises(InputFileError, match="999-byte limit"):
        read_bytes(path, max_bytes=999)
    assert MAX_INPUT_BYTES == 2**20


def test_read_bytes_bounds_files_that_report_no_size():
    """/proc files report size 0 but have content: the read itself is bounded."""
    path = Path("/proc/self/status")
    if not path.exists():
        pytest.skip("no /proc")
    assert os.stat(path).st_size == 0
    with pytest.raises(InputFileError, match="10-byte limit"):
        read_bytes(path, max_bytes=10)


@pytest.mark.parametrize("make, reason", [
    (lambda tmp: Path("/dev/zero"), "not a regular file"),
    (lambda tmp: tmp, "not a regular file"),
    (lambda tmp: (os.mkfifo(tmp / "pipe"), tmp / "pipe")[1], "not a regular file"),
    (lambda tmp: tmp / "absent.toml", "cannot read: no such file"),
    (lambda tmp: tmp / "nul\0.toml", "NUL"),
    (lambda tmp: tmp / "new\nline.toml", "control character"),
])
def test_read_bytes_refuses(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(InputFileError, match=reason) as info:
        read_bytes(path)
    assert "\n" not in str(info.value)


def test_symlink_loops_are_refused(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(InputFileError, match="symlink loop"):
        resolve_path(tmp_path / "a")
    with pytest.raises(InputFileError, match="too many levels of symbolic links"):
        read_bytes(tmp_path / "a")


def test_read_toml(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text("a = 1\n[b]\nc = [1, 2]\n")
    assert read_toml(path) == {"a": 1, "b": {"c": [1, 2]}}
    path.write_bytes(b"a = '\xff'\n")
    with pytest.raises(InputFileError, match="not UTF-8"):
        read_toml(path)
    path.write_text("a = " + "[" * 2000 + "]" * 2000)
    with pytest.raises(InputFileError, match="nested too deeply"):
        read_toml(path)
