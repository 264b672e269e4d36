"""Messages in each caller's words: the API's errors name its parameters, the command
line's its flags; no nan, inf or control characters in problem texts; predict names the
range it accepts."""

import json
import re

import numpy as np
import pytest
from conftest import (
    DATA,
    assert_one_line_error,
    one_line_error,
)

import mcprop
from mcprop.errors import UserError


def test_api_error_names_api_parameters(tiny_run, copy_run):
    run = copy_run(tiny_run)
    with pytest.raises(UserError) as error:
        mcprop.run(DATA / "tiny.toml", out=run, workers=1)
    message = str(error.value)
    assert "resume=True" in message and "force=True" in message, message
    assert "--" not in message, message


def test_numpy_seed_accepted_and_bool_refused():
    scan = mcprop.run(DATA / "tiny.toml", seed=np.int64(5), workers=1)
    assert scan.seed == 5 and type(scan.config["sampler"]["seed"]) is int
    with pytest.raises(UserError, match="sampler.seed: must be an integer, got True"):
        mcprop.run(DATA / "tiny.toml", seed=True, workers=1)


def test_one_context_name_as_a_string(tiny_run):
    figure = mcprop.load(tiny_run).plot(context="ccfr")
    labels = [text.get_text() for legend in figure.legends + [a.get_legend() for a in
                                                               figure.axes if a.get_legend()]
              for text in legend.get_texts()]
    assert any("CCFR" in label for label in labels), labels


def test_problem_texts_without_nan_or_control_characters(cli, tiny_run, copy_run):
    """A result whose problems hold nan, inf and an escape sequence (as a sampler with a
    degenerate chain or a forged file would give): diagnose and the result's JSON summary
    show neither."""
    run = copy_run(tiny_run)
    path = run / "results" / "m001.json"
    record = json.loads(path.read_text())
    record.update(converged=False, problems=["R-hat = nan >= 1.05",
                                             "MCSE(g_upper)/g_upper = inf > 0.05",
                                             "forged\x1b[2J\nmcprop: all converged"])
    path.write_text(json.dumps(record))
    result = cli("diagnose", run)
    out = result.stdout
    assert result.returncode == 1
    summary = json.dumps(mcprop.load(run).results[1].summary())  # as the manifest holds it
    assert "R-hat = undefined" in summary
    for text in (out, summary):
        assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE), text
        assert "\x1b" not in text
    assert "R-hat = undefined >= 1.05" in out
    assert not any(line.startswith("mcprop: all converged") for line in out.splitlines())


@pytest.mark.parametrize(("mass", "needles"), [
    ("inf", ["mass must be a finite number", "[1e-06, 1e+06] MeV"]),
    ("nan", ["mass must be a finite number"]),
    ("1e-8", ["mass must lie in [1e-06, 1e+06] MeV", "got 1e-08"]),
    ("2e6", ["mass must lie in [1e-06, 1e+06] MeV"]),
])
def test_predict_mass_outside_the_range_configs_allow(cli, mass, needles):
    result = cli("predict", "--mass-MeV", mass, "--g", "1e-4")
    assert_one_line_error(result, "predict", *needles)
    assert "inf" not in result.stderr.replace("info", "") and "nan" not in result.stderr


def test_predict_refuses_a_result_that_is_not_finite(cli):
    one_line_error(cli("predict", "--mass-MeV", "10", "--g", "1e155"), "not finite")
