"""`mcprop predict` driven as a user would."""

import json
import shutil

import pytest

from mcprop.physics.kernels import RateKernels
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_862

KEYS = {"P_ee", "P_emu", "P_etau", "rate_sm_cpd100t", "rate_cpd100t", "np_fraction"}


def test_predict_json(cli):
    out = cli("predict", "--mass-MeV", 10, "--g", 5e-4, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == KEYS
    assert result["P_ee"] + result["P_emu"] + result["P_etau"] == pytest.approx(1.0)
    assert result["rate_cpd100t"] == pytest.approx(
        result["rate_sm_cpd100t"] * (1 + result["np_fraction"]), rel=1e-12)
    assert result["np_fraction"] > 0


def test_predict_equipartition_no_interference(cli):
    out = cli("predict", "--mass-MeV", 1, "--g", 0, "--flavour", "equipartition",
              "--no-interference", "--json")
    result = json.loads(out.stdout)
    assert result["P_ee"] == pytest.approx(1 / 3)
    assert result["np_fraction"] == 0
    sigma = RateKernels.compute([1.0], [BE7_862]).i0_total_cm2[0]
    expected = B16_GS98_BE7_FLUX_CM2S * BE7_862.branching * 3.307e31 * 86400 * sigma.mean()
    assert result["rate_sm_cpd100t"] == pytest.approx(expected, rel=1e-3)


def test_console_script_installed():
    assert shutil.which("mcprop"), "the mcprop console script is not on PATH"


@pytest.mark.parametrize("args,needle", [
    (["--mass-MeV", 0, "--g", 1e-3], "mass"),
    (["--mass-MeV", -5, "--g", 1e-3], "mass"),
    (["--mass-MeV", 10, "--g", -1e-3], "coupling"),
    (["--mass-MeV", 10, "--g", 1e-3, "--flavour", "bogus"], "flavour"),
    (["--mass-MeV", "ten", "--g", 1e-3], "mass-MeV"),
    (["--mass-MeV", "nan", "--g", 1e-3], "mass"),
])
def test_predict_bad_arguments(cli, args, needle):
    out = cli("predict", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr
