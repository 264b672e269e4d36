"""A corpus of malformed inputs: each gives one error line naming the problem, exit code 2,
no traceback, and leaves every existing file untouched."""

import os
import tomllib
from pathlib import Path

import pytest
import tomli_w
from conftest import DATA, REPO

PRIORS = REPO / "priors"


def snapshot(root: Path) -> dict:
    """Bytes and modification time of every file under ``root``, and its folders."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file()
            else "folder" for p in sorted(root.rglob("*"))}


def assert_one_line_error(result, *needles):
    """Exit code 2 and a single 'mcprop: error:' line holding every needle."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mcprop: error: "), lines[0]
    for needle in needles:
        assert str(needle) in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


def tiny_config(tmp_path: Path) -> dict:
    """tests/data/tiny.toml with absolute prior paths and its output in tmp_path/out."""
    doc = tomllib.loads((DATA / "tiny.toml").read_text())
    doc["priors"]["files"] = [str(PRIORS / Path(f).name) for f in doc["priors"]["files"]]
    doc["output"]["directory"] = str(tmp_path / "out")
    return doc


def prior_copy(tmp_path: Path, name: str, old: str, new: str) -> str:
    """A copy of priors/NAME in tmp_path with ``old`` replaced by ``new``; its path."""
    text = (PRIORS / name).read_text()
    assert old in text
    target = tmp_path / "priors" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text.replace(old, new))
    return str(target)


def set_key(dotted: str, value):
    def mutate(doc, tmp_path):
        *parents, last = dotted.split(".")
        table = doc
        for part in parents:
            table = table.setdefault(part, {})
            table = table[0] if isinstance(table, list) else table
        table[last] = value
    return mutate


def missing_prior(doc, tmp_path):
    doc["priors"]["files"][1] = str(tmp_path / "no-such-prior.toml")


def unknown_family(doc, tmp_path):
    doc["priors"]["files"][1] = prior_copy(tmp_path, "ssm-b16-gs98.toml", 'family = "normal"',
                                           'family = "lognormal"')


def negative_width(doc, tmp_path):
    doc["priors"]["files"][1] = prior_copy(tmp_path, "ssm-b16-gs98.toml",
                                           "sigma = 0.2958e9", "sigma = -0.2958e9")


def reversed_masses(doc, tmp_path):
    doc["mass_grid"].update(mass_min_MeV=100.0, mass_max_MeV=0.1)


def drop_schema_version(doc, tmp_path):
    del doc["schema_version"]


CONFIG_CASES = {
    "unknown top-level key": (set_key("colour", "red"), ["colour", "unknown key"]),
    "unknown sampler key": (set_key("sampler.n_walker", 16), ["sampler.n_walker", "unknown"]),
    "missing prior file": (missing_prior, ["priors.files", "no-such-prior.toml",
                                           "cannot read"]),
    "unknown prior family": (unknown_family, ["ssm-b16-gs98.toml", "family", "lognormal"]),
    "negative prior width": (negative_width, ["ssm-b16-gs98.toml", "sigma", "positive"]),
    "mass range reversed": (reversed_masses, ["mass_grid.mass_max_MeV"]),
    "zero mass": (set_key("mass_grid.mass_min_MeV", 0.0), ["mass_grid.mass_min_MeV"]),
    "negative mass": (set_key("mass_grid.mass_min_MeV", -1.0), ["mass_grid.mass_min_MeV"]),
    "no masses": (set_key("mass_grid.n_masses", 0), ["mass_grid.n_masses"]),
    "credibility 1.5": (set_key("limits.credibility", 1.5), ["limits.credibility", "1.5"]),
    "credibility 0": (set_key("limits.credibility", 0), ["limits.credibility"]),
    "unknown flavour model": (set_key("physics.flavour_model", "bogus"),
                              ["physics.flavour_model", "bogus"]),
    "unknown measurement kind": (set_key("measurements.kind", "flux"),
                                 ["measurements[0].kind", "flux"]),
    "wrong schema_version": (set_key("schema_version", 2), ["schema_version", "2"]),
    "no schema_version": (drop_schema_version, ["schema_version"]),
    "negative stat error": (set_key("measurements.stat_cpd100t", -1.5),
                            ["measurements[0].stat_cpd100t", "-1.5"]),
    "too few walkers": (set_key("sampler.n_walkers", 4), ["sampler.n_walkers", "4"]),
    "seed not an integer": (set_key("sampler.seed", 1.5), ["sampler.seed"]),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_config(cli, tmp_path, case):
    mutate, needles = CONFIG_CASES[case]
    doc = tiny_config(tmp_path)
    mutate(doc, tmp_path)
    config = tmp_path / "bad.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    before = snapshot(tmp_path)
    result = cli("run", config)
    assert_one_line_error(result, *needles)
    assert "bad.toml" in result.stderr
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "out").exists()


def test_bad_toml_syntax(cli, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(tomli_w.dumps(tiny_config(tmp_path)).replace("n_masses = 3",
                                                                   "n_masses = = 3"))
    before = snapshot(tmp_path)
    assert_one_line_error(cli("run", config), config, "invalid TOML")
    assert snapshot(tmp_path) == before


def test_missing_config_file(cli, tmp_path):
    assert_one_line_error(cli("run", tmp_path / "nowhere.toml"), "nowhere.toml", "no such")
    assert list(tmp_path.iterdir()) == []


# --- commands given a folder that is not a run directory --------------------------------

@pytest.mark.parametrize("command", [["corner", "--mass-MeV", "1"], ["export", "--format",
                                     "csv"], ["diagnose"]])
def test_not_a_run_directory(cli, tmp_path, command):
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a run\n")
    before = snapshot(tmp_path)
    result = cli(command[0], folder, *command[1:])
    assert_one_line_error(result, folder, "not a run directory")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [["export", "--format", "json"], ["diagnose"]])
def test_run_directory_that_does_not_exist(cli, tmp_path, command):
    result = cli(command[0], tmp_path / "missing", *command[1:])
    assert_one_line_error(result, tmp_path / "missing", "not a directory")


# --- exports that cannot be written -------------------------------------------------------

def test_export_into_read_only_folder(cli, tiny_run, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    target = folder / "limits.csv"
    target.write_text("an older export\n")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing")
        before = snapshot(tmp_path)
        result = cli("export", tiny_run, "--format", "csv", "--out", target)
        assert_one_line_error(result, target, "cannot write")
        assert snapshot(tmp_path) == before
    finally:
        folder.chmod(0o755)


def test_export_into_missing_folder(cli, tiny_run, tmp_path):
    target = tmp_path / "no-such-folder" / "limits.csv"
    result = cli("export", tiny_run, "--format", "csv", "--out", target)
    assert_one_line_error(result, target, "cannot write")
    assert list(tmp_path.iterdir()) == []


def test_export_onto_a_folder(cli, tiny_run, tmp_path):
    target = tmp_path / "limits.yaml"
    target.mkdir()
    (target / "keep.txt").write_text("keep\n")
    before = snapshot(tmp_path)
    result = cli("export", tiny_run, "--format", "hepdata", "--out", target)
    assert_one_line_error(result, target, "cannot write")
    assert snapshot(tmp_path) == before


# --- existing run directories ---------------------------------------------------------------

def test_run_refuses_an_existing_run_directory(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    before = snapshot(run)
    result = cli("run", DATA / "tiny.toml", "--out", run)
    assert_one_line_error(result, run, "exists", "--force")
    assert snapshot(run) == before


def test_resume_with_another_seed(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    before = snapshot(run)
    result = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--seed", 8)
    assert_one_line_error(result, run, "different config")
    assert snapshot(run) == before


def test_resume_with_another_prior_value(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    doc = tiny_config(tmp_path)
    doc["priors"]["files"][1] = prior_copy(tmp_path, "ssm-b16-gs98.toml", "mean = 4.93e9",
                                           "mean = 5.00e9")
    config = tmp_path / "other-prior.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    before = snapshot(run)
    result = cli("run", config, "--out", run, "--resume")
    assert_one_line_error(result, run, "different config")
    assert snapshot(run) == before


# --- corrupted files in a run directory -----------------------------------------------------

CORRUPTIONS = {
    "truncated result": ("results/m001.json", lambda data: data[:len(data) // 2],
                         ["m001.json"]),
    "binary result": ("results/m001.json", lambda data: b"\xff\xfe\x00\x9c" + data,
                      ["m001.json"]),
    "result is a list": ("results/m001.json", lambda data: b"[1, 2]\n", ["m001.json"]),
    "result without a limit": ("results/m001.json",
                               lambda data: b'{"mass_index": 1, "m_zprime_MeV": 3.16}\n',
                               ["m001.json", "run identity"]),
    "truncated manifest": ("manifest.json", lambda data: data[:40], ["manifest.json"]),
    "bad stored config": ("config.toml", lambda data: data + b"\n[limits\n", ["config.toml"]),
}


@pytest.mark.parametrize("command", ["export", "diagnose"])
@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corrupted_run_directory(cli, tiny_run, copy_run, tmp_path, case, command):
    run = copy_run(tiny_run)
    name, corrupt, needles = CORRUPTIONS[case]
    path = run / name
    path.write_bytes(corrupt(path.read_bytes()))
    target = tmp_path / "limits.csv"
    target.write_text("an older export\n")
    args = ["--format", "csv", "--out", target] if command == "export" else []
    before = snapshot(tmp_path)
    result = cli(command, run, *args)
    assert_one_line_error(result, *needles)
    assert snapshot(tmp_path) == before
