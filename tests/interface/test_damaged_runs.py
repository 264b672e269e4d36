"""Damaged run directories: nothing on disk is trusted. A result, manifest, stored config,
chain file or checkpoint that is corrupted, forged, from another run or not a regular file is
refused by the commands that read it (one line, exit code 2, nothing written) or discarded
and recomputed by a resumed run, which then gives the undamaged run's limits."""

import hashlib
import json
import os
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import (
    DATA,
    assert_one_line_error,
    interrupted_run,
    limits_of,
    one_line_error,
    run_process,
    snapshot,
)

# --- folders that are not run directories --------------------------------------------------------


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

# --- damaged files refused by the commands that read them ----------------------------------------


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


@pytest.mark.parametrize("case", ["nan", "copied over", "stray", "converged no"])
def test_damaged_results_are_refused_by_readers(cli, tiny_run, copy_run, case):
    run = copy_run(tiny_run)
    first, second = run / "results" / "m000.json", run / "results" / "m001.json"
    if case == "nan":
        second.write_text(second.read_text().replace('"g_upper": ', '"g_upper": NaN, "x": '))
    elif case == "copied over":
        second.write_bytes(first.read_bytes())
    elif case == "stray":
        (run / "results" / "m007.json").write_bytes(first.read_bytes())
    else:
        second.write_text(second.read_text().replace('"converged": true',
                                                     '"converged": "no"'))
    for command in ("export", "diagnose"):
        args = [command, run] + (["--format", "json"] if command == "export" else [])
        out = cli(*args)
        one_line_error(out, "m00")
        assert out.stdout == ""


def nested_json(path: Path):
    path.write_text("[" * 100_000 + "]" * 100_000)


def nested_toml(path: Path):
    path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")


def stored_config(edit):
    """An edit of the run's stored config.toml (as a TOML document), with the manifest's
    config_sha256 made to match, so that the edited keys themselves are read and checked."""
    def change(path: Path):
        doc = tomllib.loads(path.read_text())
        edit(doc)
        document = tomli_w.dumps(doc).encode()
        path.write_bytes(document)
        manifest_file = path.parent / "manifest.json"
        manifest = json.loads(manifest_file.read_text())
        manifest["config_sha256"] = hashlib.sha256(document).hexdigest()
        manifest_file.write_text(json.dumps(manifest))
    return change


RUN_FILE_CASES = {
    "a result nested 100000 deep": ("results/m001.json", nested_json,
                                    ["m001.json", "nested too deeply"]),
    "a manifest nested 100000 deep": ("manifest.json", nested_json,
                                      ["manifest.json", "nested too deeply"]),
    "a stored config nested 100000 deep": ("config.toml", nested_toml,
                                           ["config.toml", "nested too deeply"]),
    "a credibility that is a string": (
        "config.toml", stored_config(lambda doc: doc["limits"].update(credibility="high")),
        ["config.toml", "limits.credibility", "must be a finite number", "'high'"]),
    "interference 'yes'": (
        "config.toml", stored_config(lambda doc: doc["physics"].update(interference="yes")),
        ["config.toml", "physics.interference", "true or false"]),
    "a mass that is a list": (
        "config.toml", stored_config(lambda doc: doc["mass_grid"].update(mass_min_MeV=[1])),
        ["config.toml", "mass_grid.mass_min_MeV", "must be a finite number"]),
    "10**12 masses": (
        "config.toml", stored_config(lambda doc: doc["mass_grid"].update(n_masses=10**12)),
        ["config.toml", "n_masses", "[1, 10000]"]),
}


@pytest.mark.parametrize("command", [["export", "--format", "json"], ["diagnose"],
                                     ["corner", "--mass-MeV", 1]])
@pytest.mark.parametrize("case", RUN_FILE_CASES)
def test_damaged_run_file(cli, tiny_run, copy_run, tmp_path, case, command):
    run = copy_run(tiny_run)
    name, damage, needles = RUN_FILE_CASES[case]
    damage(run / name)
    before = snapshot(tmp_path)
    result = cli(command[0], run, *command[1:], *(["--out", tmp_path / "c.png"]
                                                   if command[0] == "corner" else []))
    assert_one_line_error(result, *needles)
    assert snapshot(tmp_path) == before


def test_chain_file_of_another_mass_is_refused(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    shutil.copyfile(run / "chains" / "m001.nc", run / "chains" / "m000.nc")
    out = cli("corner", run, "--mass-MeV", 0.1, "--out", tmp_path / "corner.png")
    one_line_error(out, "m000.nc", "another run or point")
    assert not (tmp_path / "corner.png").exists()


def test_an_edited_stored_config_is_refused(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    config = run / "config.toml"
    config.write_text(config.read_text().replace("seed = 7", "seed = 2"))
    for command in (["export", run, "--format", "json"], ["diagnose", run]):
        out = cli(*command)
        one_line_error(out, "config.toml", "changed")
        assert out.stdout == ""


def test_chain_file_that_is_a_fifo(tiny_run, copy_run, tmp_path):
    """In a real process with a time limit: netCDF blocked on a FIFO cannot be woken."""
    run = copy_run(tiny_run)
    (run / "chains" / "m001.nc").unlink()
    os.mkfifo(run / "chains" / "m001.nc")
    before = snapshot(tmp_path)
    result = run_process("corner", run, "--mass-MeV", 3.16, "--out", tmp_path / "corner.png",
                         timeout=120)
    assert_one_line_error(result, "m001.nc",
                          "not a regular file")
    assert snapshot(tmp_path) == before

# --- damaged files discarded and recomputed by a resumed run -------------------------------------


def test_bad_manifest_on_resume_is_one_line(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["seed"] = "seven"
    (run / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet"),
                    "manifest.json", "seed")


def test_resume_recomputes_a_damaged_result(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    path = run / "results" / "m001.json"
    path.write_text(path.read_text().replace('"converged": true', '"converged": "no"'))
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert "mass 1 will be recomputed" in out.stderr
    assert limits_of(run) == limits_of(tiny_run)


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
    assert limits_of(run) == limits_of(tiny_run)


def test_corrupted_checkpoint_is_reported_and_recomputed(tiny_run, copy_run, cli):
    run = copy_run(tiny_run)
    (run / "results" / "m001.json").unlink()
    (run / "chains" / "m001.nc").unlink()
    (run / "checkpoints" / "m001.npz").write_bytes(b"PK\x03\x04 truncated")
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if "m001.npz" in line]
    assert len(warnings) == 1 and "checkpoint" in warnings[0]
    assert limits_of(run) == limits_of(tiny_run)


def test_checkpoint_of_another_seed_is_discarded(cli, tiny_run, copy_run, tmp_path):
    other = tmp_path / "other-seed"
    interrupted_run(other, lambda folder: list(folder.glob("checkpoints/m00?.npz")),
                    extra_args=("--seed", "8"))
    stolen = sorted(other.glob("checkpoints/m00?.npz"))[0]
    run = copy_run(tiny_run)
    index = stolen.name
    (run / "results" / index.replace(".npz", ".json")).unlink()
    (run / "chains" / index.replace(".npz", ".nc")).unlink()
    (run / "checkpoints" / index).write_bytes(stolen.read_bytes())
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert "another run or mass" in out.stderr
    assert limits_of(run) == limits_of(tiny_run)


def _checkpoint_of_a_killed_run(tmp_path) -> tuple:
    """A run directory killed while masses were in progress, and one of its checkpoints."""
    out = tmp_path / "killed"
    interrupted_run(out, lambda folder: list(folder.glob("checkpoints/m???.npz")))
    (out / ".lock").unlink(missing_ok=True)
    return out, sorted(out.glob("checkpoints/m???.npz"))[0]


@pytest.mark.parametrize("damage", ["walker at 1e30", "longer than max_steps"])
def test_tampered_checkpoint_is_discarded(cli, tiny_run, tmp_path, damage):
    out, path = _checkpoint_of_a_killed_run(tmp_path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    chunk = path.with_name(f"{path.stem}.0000.npz")
    with np.load(chunk) as data:
        history = data["history"]
    if damage == "walker at 1e30":
        arrays["coords"][0, 0, 0] = 1e30
        history[0, -1, 0, 0] = 1e30
        np.savez(chunk, history=history)
    else:
        extra = path.with_name(f"{path.stem}.{int(arrays['n_chunks']):04d}.npz")
        np.savez(extra, history=np.repeat(history[:, -1:], 400, axis=1))
        arrays["n_chunks"] += 1
        arrays["n_steps"] += 400
    np.savez(path, **arrays)
    out_run = cli("run", DATA / "tiny.toml", "--out", out, "--resume", "--quiet", "--workers", 1)
    assert out_run.returncode == 0, out_run.stderr
    assert path.name in out_run.stderr and "checkpoint" in out_run.stderr
    assert limits_of(out) == limits_of(tiny_run)


def test_checkpoint_that_is_a_fifo(cli, tiny_run, copy_run, tmp_path, fifo):
    run = copy_run(tiny_run)
    (run / "results" / "m002.json").unlink()
    fifo(run / "checkpoints" / "m002.npz")
    before = snapshot(tmp_path)
    result = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert_one_line_error(result, "m002.npz", "not a regular file")
    assert snapshot(tmp_path) == before  # the lock released, nothing written
