"""Robustness: corrupted files, write failures, too-short chains, the whole parameter space."""

import json
import os
import shutil

import numpy as np
import pytest
from conftest import DATA, REPO
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


def _limits(run_dir):
    return json.loads((run_dir / "limits.json").read_text())["limits"]


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_corrupted_checkpoint_is_reported_and_recomputed(tiny_run, copy_run, cli):
    run = copy_run(tiny_run)
    (run / "results" / "m001.json").unlink()
    (run / "chains" / "m001.nc").unlink()
    (run / "checkpoints" / "m001.npz").write_bytes(b"PK\x03\x04 truncated")
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if "m001.npz" in line]
    assert len(warnings) == 1 and "checkpoint" in warnings[0]
    assert _limits(run) == _limits(tiny_run)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "result"])
def test_corrupted_chain_or_result_is_recomputed(tiny_run, copy_run, cli, damage):
    run = copy_run(tiny_run)
    chain, result = run / "chains" / "m002.nc", run / "results" / "m002.json"
    if damage == "truncate":
        chain.write_bytes(chain.read_bytes()[:200])
    elif damage == "garbage":
        chain.write_bytes(b"\x00" * 1000)
    else:
        result.write_text('{"mass_index": 2, "g_upper"')
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "mass 2" in line]
    assert len(lines) == 1 and "recomputed" in lines[0]
    assert _limits(run) == _limits(tiny_run)


def test_write_failure_gives_one_line(cli, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run directory's parent should be")
    out = cli("run", DATA / "tiny.toml", "--out", blocker / "run", "--quiet")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert str(blocker) in out.stderr
    assert blocker.read_text().startswith("a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_output_directory(cli, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = cli("run", DATA / "tiny.toml", "--out", folder / "run", "--quiet")
    finally:
        folder.chmod(0o755)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert list(folder.iterdir()) == []


def test_write_failure_mid_run(tiny_run, copy_run, cli):
    """A write failure after the run has started (the checkpoint folder replaced by a file):
    one line, exit 2, and nothing already written is lost or half-written."""
    run = copy_run(tiny_run)
    (run / "results" / "m001.json").unlink()
    (run / "chains" / "m001.nc").unlink()
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").write_text("not a folder")
    before = _snapshot(run)
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "checkpoints" in out.stderr
    after = _snapshot(run)
    for path, content in before.items():
        if path.name != "manifest.json":
            assert after.get(path) == content, path
    assert not list(run.rglob("*.tmp"))


def test_too_short_chains_are_flagged(cli, tmp_path):
    config = (DATA / "tiny.toml").read_text()
    config = config.replace("max_steps = 400", "max_steps = 100").replace(
        "min_ess = 200", "min_ess = 5000")
    config = config.replace('"../../priors/', f'"{REPO}/priors/')
    path = tmp_path / "short.toml"
    path.write_text(config.replace('directory = "../../runs/output/test-tiny"',
                                   f'directory = "{tmp_path / "short"}"'))
    out = cli("run", path, "--quiet")
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("did not converge") == 3
    rows = _limits(tmp_path / "short")
    assert all(row["converged"] is False for row in rows)
    csv_lines = (tmp_path / "short" / "limits.csv").read_text().splitlines()
    header = [line for line in csv_lines if not line.startswith("#")][0].split(",")
    flags = [line.split(",")[header.index("converged")] for line in csv_lines
             if not line.startswith("#")][1:]
    assert flags == ["False"] * 3
    diagnose = cli("diagnose", tmp_path / "short")
    assert diagnose.returncode != 0


# --- the whole parameter space ------------------------------------------------------------

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


def test_shipped_configs_validate():
    from mcprop.interface.config import load_config

    configs = sorted((REPO / "runs").rglob("*.toml"))
    assert len(configs) >= 9
    for path in configs:
        config = load_config(path)
        assert config.plan.n_points >= 1
        assert shutil.which("mcprop")
