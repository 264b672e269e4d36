"""`mcprop predict` driven as a user would."""

import contextlib
import io
import json
import shutil

import numpy as np
import pytest

from mcprop.interface import cli as cli_module
from mcprop.physics.flavour import (
    DEFAULT_FLAVOUR_MODEL,
    NUFIT_5_0_NO_CENTRAL,
    msw_probabilities,
)
from mcprop.physics.kernels import RateKernels
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_862, solar_model

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


def test_predict_defaults_to_msw_like_the_config_schema(cli):
    """Without --flavour, predict uses the configs' default flavour model, adiabatic MSW over
    the B16-GS98 7Be production profile: compared with the three-flavour diagonalisation
    averaged over every row of the profile table (a second method; the closed form keeps
    theta13 in vacuum, a difference of order 1e-4)."""
    out = cli("predict", "--mass-MeV", 10, "--g", 0, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    profile = solar_model("gs98").profile("7Be")
    expected = msw_probabilities(NUFIT_5_0_NO_CENTRAL, BE7_862.energy_MeV, profile,
                                 density_nodes=(profile.electron_density_per_NA_cm3,
                                                profile.production_weight))
    got = [result[key] for key in ("P_ee", "P_emu", "P_etau")]
    np.testing.assert_allclose(got, expected, atol=3e-4)
    assert DEFAULT_FLAVOUR_MODEL == "decoherent-msw"
    assert abs(result["P_ee"] - 0.552) > 0.02  # not the vacuum weights (P_ee = 0.552)
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit):
        cli_module.main(["predict", "--help"])
    assert f"default {DEFAULT_FLAVOUR_MODEL}" in " ".join(help_text.getvalue().split())


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
