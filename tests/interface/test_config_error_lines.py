"""Exact error lines of the run-config reader: where pydantic's error locations become the
project's dotted keys (a table in a list by its index, a number or string in a list by the
list's key, a table name = value by its name, a measurement without its kind's tag)."""

import copy
import tomllib

import pytest
from conftest import REPO

from mcprop.errors import UserError
from mcprop.interface.config import config_from_dict

DOCUMENT = tomllib.loads((REPO / "runs" / "borexino-phase1.toml").read_text())


def _set(path, value):
    def change(document):
        *parents, last = path
        for key in parents:
            document = document[key]
        document[last] = value
    return change


CASES = {
    "table of a list": (_set(("measurements",), [1]),
                        "measurements[0]: must be a table, got 1"),
    "no kind": (_set(("measurements", 0), {}),
                "measurements[0].kind: missing (required): one of rate, relative-rate, "
                "survival-probability, spectrum"),
    "unknown kind": (_set(("measurements", 0, "kind"), 3),
                     "measurements[0].kind: unknown value 3 (choose one of rate, "
                     "relative-rate, survival-probability, spectrum)"),
    "key of a measurement": (_set(("measurements", 0, "value_cpd100t"), -1),
                             "measurements[0].value_cpd100t: must lie in (0, 10000] cpd/100t, "
                             "got -1.0"),
    "string of a list": (_set(("priors", "files"), [1, "a"]),
                         "priors.files: must be a string, got 1"),
    "number of a pair": (_set(("measurements", 0, "window_MeV"), [0.1, 200]),
                         "measurements[0].window_MeV: must lie in [0, 100] MeV, got 200.0"),
    "relation in a measurement": (_set(("measurements", 0, "window_MeV"), [2.0, 1.0]),
                                  "measurements[0].window_MeV: T1 must be below T2, got "
                                  "[2.0, 1.0]"),
    "name of a table name = value": (_set(("priors", "fixed_at"), {"a b": 1.0}),
                                     "priors.fixed_at: must be 1 to 100 characters A-Z a-z "
                                     "0-9 . _ + -, starting with a letter or digit, got 'a b'"),
    "value of a table name = value": (_set(("priors", "fixed_at"), {"p_ee": "x"}),
                                      "priors.fixed_at.p_ee: must be a number, got 'x'"),
    "unknown key with a newline": (_set(("physics", "a\nb"), 1),
                                   "physics.a\\nb: unknown key (allowed: model, moments, "
                                   "flavour_model, interference, radiative_corrections, "
                                   "composition, zprime_matter_potential, sin2_theta_w, "
                                   "solar_profile, kinetic_mixing)"),
    "missing section key": (_set(("mass_grid",), {}), "mass_grid.mass_min_MeV: missing (required)"),
    "relation of a whole section": (_set(("sampler", "chunk_steps"), 300),
                                    "sampler: need 1 <= chunk_steps <= max_steps"),
    "integer": (_set(("sampler", "seed"), True), "sampler.seed: must be an integer, got True"),
    "correlation": (_set(("correlations",), [{"measurements": ["a", "a"], "source": "s",
                                              "systematic_correlation": 0.5}]),
                    "correlations[0].measurements: must name two different measurements"),
}


@pytest.mark.parametrize("change, line", CASES.values(), ids=CASES)
def test_error_line(change, line):
    document = copy.deepcopy(DOCUMENT)
    if "chunk_steps" in line:
        document["sampler"]["max_steps"] = 200
    change(document)
    with pytest.raises(UserError) as error:
        config_from_dict(document, REPO / "runs", "c.toml")
    assert str(error.value) == f"c.toml: {line}"
