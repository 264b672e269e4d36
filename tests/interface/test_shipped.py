"""A newcomer's first hour: configs as dicts and shipped configs by name (read_config,
`mcprop run NAME`, the package data that carries runs/ and priors/ into a wheel), and the
optional dependencies (extras) named when they are missing."""

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, REPO

import mcprop
from mcprop.errors import EXTRAS, UserError
from mcprop.interface import runner
from mcprop.interface.config import config_from_dict, load_config
from mcprop.interface.shipped import CONFIG_PATTERNS, shipped_names, shipped_root


def _without_output(resolved: dict) -> dict:
    return {key: value for key, value in resolved.items() if key != "output"}


def test_a_config_read_edited_and_passed_as_a_dict_runs_from_any_folder(tmp_path,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the config's folder: its relative prior paths must hold
    d = mcprop.read_config(DATA / "tiny.toml")
    assert d["priors"]["files"] == [str((REPO / "priors" / name).resolve()) for name in
                                    ("nufit-5.0-no.toml", "ssm-b16-gs98.toml")]
    assert "coupling_prior" not in d and set(d["sampler"]) == set(
        tomllib.loads((DATA / "tiny.toml").read_text())["sampler"])  # as written, no defaults
    d["mass_grid"]["n_masses"] = 2
    r = mcprop.run(d, workers=1)
    np.testing.assert_allclose(r.limits.m_zprime_MeV, [0.1, 100.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("name", shipped_names())
def test_read_config_resolves_as_the_config_reader(name, tmp_path, monkeypatch):
    """A shipped config read into a dict (by path or by name) and read back from another
    folder is the config the reader makes of the file; by name, its run goes under the
    current folder's runs/output, where the repository's copy writes from the repository."""
    path = REPO / "runs" / f"{name}.toml"
    from_file = load_config(path)
    monkeypatch.chdir(tmp_path)
    for given in (path, name):
        again = config_from_dict(mcprop.read_config(given), "/")
        assert _without_output(again.resolved) == _without_output(from_file.resolved)
        assert again.config_hash == from_file.config_hash
    by_name = load_config(name)
    assert by_name.path == path.resolve()
    assert by_name.output_dir == tmp_path / from_file.output_dir.relative_to(REPO)
    assert by_name.output_dir.is_relative_to(tmp_path / "runs" / "output")


def test_mcprop_run_names_a_shipped_config(cli, tmp_path, monkeypatch):
    seen = []

    def capture(config, **options):
        seen.append(config)
        raise UserError("stopped before sampling")

    monkeypatch.setattr(runner, "run_config", capture)
    out = cli("run", "models/b-l", "--quiet", cwd=tmp_path)
    assert out.returncode == 2 and "stopped before sampling" in out.stderr
    assert seen[0].path == (REPO / "runs" / "models" / "b-l.toml").resolve()
    assert seen[0].output_dir == tmp_path / "runs" / "output" / "models" / "b-l"


@pytest.mark.parametrize("given", ["borexino-phase9", "../runs/borexino-phase1"])
def test_an_unknown_name_is_one_line(cli, tmp_path, given):
    out = cli("run", given, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and given in lines[0] and "shipped config" in lines[0], out.stderr
    with pytest.raises(UserError, match="shipped config"):
        mcprop.read_config(given)


def test_every_config_and_prior_is_package_data():
    """pyproject.toml lists every package and puts every config of runs/ and prior of
    priors/ into the wheel at mcprop/shipped/, with the layout of the repository."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {".".join(p.parent.relative_to(REPO).parts)
                for p in (REPO / "mcprop").rglob("__init__.py")}
    assert set(setuptools["packages"]) == packages | {"mcprop.shipped"}
    assert setuptools["package-dir"] == {"mcprop.shipped": "."}
    shipped = {p for pattern in setuptools["package-data"]["mcprop.shipped"]
               for p in REPO.glob(pattern)}
    runs = REPO / "runs"
    configs = {p for p in runs.rglob("*.toml") if p.relative_to(runs).parts[0] != "output"}
    assert shipped == configs | set((REPO / "priors").glob("*.toml"))
    assert {p for pattern in CONFIG_PATTERNS for p in runs.glob(pattern)} == configs
    assert shipped_root() == REPO  # a source tree: the repository
    assert len(shipped_names()) == len(configs) > 40
    assert all(Path(name).suffix == "" for name in shipped_names())


# --- optional dependencies (extras) -------------------------------------------------------


def _one_line(out, *needles):
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_the_dask_executor_without_dask_names_the_extra(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    out = cli("run", DATA / "tiny.toml", "--out", tmp_path / "x", "--executor", "dask",
              "--quiet")
    _one_line(out, "dask executor", 'pip install "mcprop[dask]"')
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match=r"mcprop\[dask\]"):
        mcprop.run(DATA / "tiny.toml", tmp_path / "y", executor="dask")
    assert not (tmp_path / "y").exists()


def test_hepdata_without_hepdata_lib_names_the_extra(cli, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "hepdata_lib", None)
    _one_line(cli("export", tiny_run, "--format", "hepdata"), 'pip install "mcprop[hepdata]"')
    _one_line(cli("export", tiny_run, "--format", "hepdata-submission", "--out",
                  tmp_path / "sub"), "--format hepdata-submission", "mcprop[hepdata]")
    assert not (tmp_path / "sub").exists()
    r = mcprop.load(tiny_run)
    for call in (r.to_hepdata_table, lambda: r.to_hepdata(tmp_path / "sub2")):
        with pytest.raises(UserError, match=r"needs hepdata_lib.*mcprop\[hepdata\]"):
            call()
    assert sorted(tmp_path.iterdir()) == []


def test_extras_of_pyproject_are_the_optional_modules():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = " ".join(project["dependencies"]).lower()
    assert "dask" not in required and "hepdata" not in required and "netcdf4" in required
    extras = project["optional-dependencies"]
    assert set(EXTRAS) <= set(extras) and extras["all"] == ["mcprop[dask,hepdata]"]
    assert "mcprop[all]" in extras["test"]
