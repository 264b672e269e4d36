"""The JSON Schemas in docs/schemas/: up to date with the pydantic models (the CI check), and
meaningful to an independent validator (jsonschema) on the shipped configs and priors."""

import functools
import importlib.util
import json
import tomllib

import jsonschema
import pytest
from conftest import REPO

from mcprop.errors import UserError
from mcprop.interface.config import config_from_dict

SCHEMAS = REPO / "docs" / "schemas"
RUN_SCHEMA = SCHEMAS / "run-config-v1.schema.json"
PRIOR_SCHEMA = SCHEMAS / "prior-file-v1.schema.json"
RUN_CONFIGS = sorted((REPO / "runs").rglob("*.toml"))
PRIOR_FILES = sorted((REPO / "priors").glob("*.toml"))


def _script():
    spec = importlib.util.spec_from_file_location("write_schemas",
                                                  REPO / "scripts" / "write_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _validator(path):
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_checked_in_schemas_are_what_the_script_writes():
    written = _script().schemas()
    assert sorted(written) == sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    for name, text in written.items():
        assert (SCHEMAS / name).read_text() == text, (
            f"docs/schemas/{name} is out of date: run python3 scripts/write_schemas.py")


def test_check_mode_fails_on_a_stale_schema(tmp_path, monkeypatch, capsys):
    script = _script()
    monkeypatch.setattr(script, "FOLDER", tmp_path)
    assert script.main(["--check"]) == 1  # missing
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0
    stale = tmp_path / RUN_SCHEMA.name
    stale.write_text(stale.read_text().replace('"maximum": 64', '"maximum": 65'))
    assert script.main(["--check"]) == 1
    assert RUN_SCHEMA.name in capsys.readouterr().err


@pytest.mark.parametrize("path", RUN_CONFIGS, ids=lambda p: p.stem)
def test_shipped_run_configs_follow_the_json_schema(path):
    assert len(RUN_CONFIGS) > 20
    _validator(RUN_SCHEMA).validate(tomllib.loads(path.read_text()))


@pytest.mark.parametrize("path", PRIOR_FILES, ids=lambda p: p.stem)
def test_shipped_prior_files_follow_the_json_schema(path):
    _validator(PRIOR_SCHEMA).validate(tomllib.loads(path.read_text()))


@pytest.mark.parametrize("change", [
    lambda d: d["sampler"].update(n_ensembles=65),            # beyond [2, 64]
    lambda d: d["physics"].update(model="L_mu-L_tau"),        # not a model
    lambda d: d.update(colour="red"),                         # unknown key
    lambda d: d["measurements"][0].update(kind="ratio"),      # unknown kind
    lambda d: d["measurements"][0].update(value_cpd100t=0),   # open bound
    lambda d: d.update(name="a/b"),                           # a name becomes a path
])
def test_json_schema_refuses_what_the_reader_refuses(change):
    document = tomllib.loads((REPO / "runs" / "borexino-phase1.toml").read_text())
    change(document)
    with pytest.raises(jsonschema.ValidationError):
        _validator(RUN_SCHEMA).validate(document)
    with pytest.raises(UserError):
        config_from_dict(document, REPO / "runs")


def test_prior_json_schema_refuses_an_unknown_parameter_and_family():
    document = tomllib.loads((REPO / "priors" / "nufit-5.0-no.toml").read_text())
    validator = _validator(PRIOR_SCHEMA)
    bad_name = {**document, "parameters": {"theta12": document["parameters"]["sin2_theta12"]}}
    bad_family = json.loads(json.dumps(document))
    bad_family["parameters"]["sin2_theta12"]["family"] = "gaussian"
    for bad in (bad_name, bad_family):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)
