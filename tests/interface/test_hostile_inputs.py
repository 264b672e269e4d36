"""A corpus of hostile inputs, second round: inputs that gave silent wrong numbers, hangs,
tracebacks or misleading messages. Each is refused with one error line (exit code 2, or the
API's exception), no traceback, and leaves existing files as they were.

The command line runs in-process (``cli.main``); real processes only where signals or dask
need them.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from arviz import InferenceData
from conftest import DATA, REPO, SPECTRAL_PRIORS, SPECTRUM, run_process

import mcprop
from mcprop.inference.scan import blocks
from mcprop.interface.cli import main
from mcprop.interface.config import config_from_dict
from mcprop.interface.errors import UserError

PACKAGE_DATA = REPO / "mcprop/physics/data"


@pytest.fixture
def cli(capsys):
    """``mcprop ARGS`` run in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()

    def call(*args):
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call


def snapshot(root: Path) -> dict:
    """Bytes of every regular file under ``root``; other entries by name only."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() and not p.is_symlink()
            else "other" for p in sorted(root.rglob("*"))}


def assert_one_line_error(result, *needles):
    """Exit code 2 and a single 'mcprop: error:' line holding every needle, nothing else."""
    code, out, err = result
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mcprop: error: "), lines[0]
    for needle in needles:
        assert str(needle) in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert code == 2, err
    assert out == ""


def write_config(tmp_path: Path, doc: dict, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


# --- spectral inputs: the data must be a measurement of every bin fitted --------------------

def fit_document(tmp_path: Path, **spectrum) -> dict:
    """A Standard-Model fit of the Phase-II spectrum in 42 bins of 20 N_h, sampled briefly
    (so that on code that accepts a bad input the test ends fast, and fails)."""
    return {"schema_version": 1, "name": "fit",
            "physics": {"model": "standard-model", "flavour_model": "decoherent-vacuum"},
            "priors": {"files": SPECTRAL_PRIORS},
            "measurements": [{**SPECTRUM, **spectrum}],
            "sampler": {"seed": 3, "n_walkers": 48, "chunk_steps": 5, "max_steps": 5,
                        "min_kept_tau": 0, "burn_in_tau": 0, "checkpoint_interval_s": 0.0},
            "output": {"directory": str(tmp_path / "out")}}


def package_table(name: str) -> tuple[list[str], list[list[str]]]:
    """Comment lines and rows (fields) of a package-data CSV table."""
    lines = (PACKAGE_DATA / name).read_text().splitlines()
    return ([line for line in lines if line.startswith("#")],
            [line.split(",") for line in lines if not line.startswith("#")])


def spectrum_table(tmp_path: Path, edit) -> str:
    """The Phase-II spectrum as a CSV ``nh,counts`` with ``edit(rows)`` applied ({nh: count})."""
    _, rows = package_table("borexino_phase2_spectrum.csv")
    counts = {int(r[0]): r[1] for r in rows[1:]}
    edit(counts)
    path = tmp_path / "spectrum.csv"
    path.write_text("nh,counts\n" + "".join(f"{nh},{c}\n" for nh, c in counts.items()))
    return str(path)


def backgrounds_table(tmp_path: Path, edit) -> str:
    """The Phase-II background table with ``edit(header, rows)`` applied."""
    comments, rows = package_table("borexino_phase2_backgrounds.csv")
    header, body = rows[0], rows[1:]
    edit(header, body)
    path = tmp_path / "backgrounds.csv"
    path.write_text("\n".join([*comments, ",".join(header), *map(",".join, body)]) + "\n")
    return str(path)


def only(low: int, high: int):
    def edit(counts):
        for nh in list(counts):
            if not low <= nh <= high:
                del counts[nh]
    return edit


def _set(counts, values):
    counts.update(values)


def duplicate_column(header, body):
    header[2] = header[1]  # c14,c14: the second used to win


def zero_column(header, body):
    column = header.index("kr85")
    for row in body:
        row[column] = "0"


SPECTRAL_CASES = {
    "a spectrum of N_h 300-400 only": (
        lambda tmp_path: {"spectrum_file": spectrum_table(tmp_path, only(300, 400))},
        ["measurements[0]", "N_h range 110-949", "outside the spectrum's 300-400"]),
    "a negative unit bin hidden by rebinning": (
        lambda tmp_path: {"spectrum_file": spectrum_table(
            tmp_path, lambda c: _set(c, {300: -3, 301: int(c[301]) + int(c[300]) + 3}))},
        ["measurements[0]", "spectrum counts", "N_h = 300", "is negative"]),
    "fractional unit bins that add up to an integer": (
        lambda tmp_path: {"spectrum_file": spectrum_table(
            tmp_path, lambda c: _set(c, {300: f"{c[300]}.5", 301: f"{int(c[301]) - 1}.5"}))},
        ["measurements[0]", "N_h = 300", "not an integer"]),
    "a count of 1e300": (
        lambda tmp_path: {"spectrum_file": spectrum_table(tmp_path, lambda c: _set(
            c, {500: "1e300"}))},
        ["measurements[0]", "N_h = 500", "above the plausible"]),
    "a background column named twice": (
        lambda tmp_path: {"backgrounds_file": backgrounds_table(tmp_path, duplicate_column)},
        ["measurements[0].backgrounds_file", "backgrounds.csv", "'c14' twice"]),
    "an all-zero background shape": (
        lambda tmp_path: {"backgrounds_file": backgrounds_table(tmp_path, zero_column)},
        ["measurements[0]", "background 'kr85'", "0 in every unit bin of N_h 110-949"]),
}


@pytest.mark.parametrize("case", SPECTRAL_CASES)
def test_spectral_input_refused(cli, tmp_path, case):
    make, needles = SPECTRAL_CASES[case]
    config = write_config(tmp_path, fit_document(tmp_path, **make(tmp_path)))
    before = snapshot(tmp_path)
    result = cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers", 1)
    assert_one_line_error(result, config, *needles)
    assert snapshot(tmp_path) == before


def test_the_same_spectrum_twice_in_one_dataset(cli, tmp_path):
    doc = fit_document(tmp_path)
    doc["measurements"].append({**SPECTRUM, "name": "Phase-II spectrum again"})
    config = write_config(tmp_path, doc)
    result = cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers", 1)
    assert_one_line_error(result, "measurements[1].dataset", "'Phase-II spectrum'",
                          "count the same events twice")
    assert not (tmp_path / "run").exists()


# --- hangs: every file read is a bounded read of a regular file; workers are bounded --------

@pytest.fixture
def fifo(tmp_path):
    """``fifo(path)`` makes a FIFO at ``path``. Should a reader block on it (the bug), from
    20 s on a writer opens and closes it every second, so that every read ends at
    end-of-file: the test then fails instead of hanging."""
    done = threading.Event()

    def unblock(path):
        done.wait(20.0)
        while not done.wait(1.0):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader: nothing blocked
                pass

    def make(path: Path) -> Path:
        path.unlink(missing_ok=True)
        os.mkfifo(path)
        threading.Thread(target=unblock, args=(path,), daemon=True).start()
        return path
    yield make
    done.set()


def test_absurd_number_of_workers(cli, tmp_path):
    result = cli("run", DATA / "tiny.toml", "--out", tmp_path / "out", "--workers",
                 99999999999)
    assert_one_line_error(result, "--workers", "from 1 to 10000", "99999999999")
    assert not (tmp_path / "out").exists()


def test_absurd_number_of_workers_in_the_api(tmp_path):
    with pytest.raises(UserError) as error:
        mcprop.run(DATA / "tiny.toml", out=tmp_path / "out", workers=10**11)
    assert str(error.value).startswith("workers: must be an integer from 1 to 10000")
    assert not (tmp_path / "out").exists()


def test_blocks_are_bounded_by_the_points():
    """One loop per point, not per requested worker (10**12 used to run for hours)."""
    assert blocks(list(range(3)), 10**12) == [(0,), (1,), (2,)]


@pytest.mark.parametrize("kind", ["/dev/zero", "a FIFO"])
def test_overlay_that_is_not_a_regular_file(cli, tiny_run, copy_run, tmp_path, fifo, kind):
    run = copy_run(tiny_run)
    overlay = Path("/dev/zero") if kind == "/dev/zero" else fifo(tmp_path / "overlay.csv")
    before = snapshot(tmp_path)
    result = cli("plot", run, "--overlay", overlay, "--out", tmp_path / "curve.png")
    assert_one_line_error(result, overlay, "not a regular file")
    assert snapshot(tmp_path) == before


def test_chain_file_that_is_a_fifo(tiny_run, copy_run, tmp_path):
    """In a real process with a time limit: netCDF blocked on a FIFO cannot be woken."""
    run = copy_run(tiny_run)
    (run / "chains" / "m001.nc").unlink()
    os.mkfifo(run / "chains" / "m001.nc")
    before = snapshot(tmp_path)
    result = run_process("corner", run, "--mass-MeV", 3.16, "--out", tmp_path / "corner.png",
                         timeout=120)
    assert_one_line_error((result.returncode, result.stdout, result.stderr), "m001.nc",
                          "not a regular file")
    assert snapshot(tmp_path) == before


def test_checkpoint_that_is_a_fifo(cli, tiny_run, copy_run, tmp_path, fifo):
    run = copy_run(tiny_run)
    (run / "results" / "m002.json").unlink()
    fifo(run / "checkpoints" / "m002.npz")
    before = snapshot(tmp_path)
    result = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert_one_line_error(result, "m002.npz", "not a regular file")
    assert snapshot(tmp_path) == before  # the lock released, nothing written


# --- tracebacks: files of a run directory and configs that used to crash a command -----------

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


def test_disk_full_while_writing_a_chain_file(cli, tmp_path, monkeypatch):
    """netCDF reports a full disk as 'NetCDF: HDF error'; the run stops with one line naming
    the chain file, and leaves no half-written file and no result without its chains."""
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF partial")
        raise RuntimeError("NetCDF: HDF error")
    monkeypatch.setattr(InferenceData, "to_netcdf", full)
    out = tmp_path / "out"
    result = cli("run", DATA / "tiny.toml", "--out", out, "--quiet", "--workers", 1)
    assert_one_line_error(result, out / "chains" / "m000.nc", "cannot write the chain file",
                          "HDF error")
    assert sorted(p.name for p in (out / "chains").iterdir()) == []
    assert sorted(p.name for p in (out / "results").iterdir()) == []
    assert not (out / ".lock").exists()


def test_overlay_label_that_is_not_mathtext(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    overlay = tmp_path / "overlay.csv"
    overlay.write_text("m_zprime_MeV,g\n1,1e-4\n10,1e-3\n")
    before = snapshot(tmp_path)
    result = cli("plot", run, "--overlay", f"{overlay}:$\\frac$", "--out", tmp_path / "x.png")
    assert_one_line_error(result, "overlay.csv", "overlay label $\\frac$", "not valid mathtext")
    assert snapshot(tmp_path) == before


def test_fit_with_every_parameter_fixed(cli, tmp_path):
    doc = fit_document(tmp_path)
    names = list(config_from_dict(doc, REPO).plan.priors.free_names)
    assert "flux_7be_cm2s" in names
    doc["priors"]["fixed"] = names
    config = write_config(tmp_path, doc)
    result = cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers", 1)
    assert_one_line_error(result, config, "priors.fixed", "fixes every sampled parameter")
    assert not (tmp_path / "run").exists()


# --- messages: each caller's own words, no nan/inf or control characters in problem texts ----

def test_api_error_names_api_parameters(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    with pytest.raises(UserError) as error:
        mcprop.run(DATA / "tiny.toml", out=run, workers=1)
    message = str(error.value)
    assert "resume=True" in message and "force=True" in message, message
    assert "--" not in message, message
    # the command line keeps its flags
    assert_one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--quiet"),
                          "--resume", "--force")


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
    code, out, err = cli("diagnose", run)
    assert code == 1
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
    assert "inf" not in result[2].replace("info", "") and "nan" not in result[2]


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "not-quiet"])
def test_ctrl_c_under_dask_prints_no_traceback(tmp_path, quiet):
    """A real process group gets SIGINT, as from a terminal's Ctrl-C, during a run on a dask
    LocalCluster: dask.distributed logs nothing (it printed about 45 INFO lines, and its
    closing errors with tracebacks), the worker processes ignore SIGINT (the main process
    stops the run), and the last line is the main process's (with --quiet the only one)."""
    out = tmp_path / "out"
    # tiny.toml made long enough (its step cap and ESS raised) that it cannot end before the
    # interrupt: a run that ends first dies of the SIGINT in its interpreter's shutdown
    document = tomllib.loads((DATA / "tiny.toml").read_text())
    document["sampler"].update(max_steps=100_000, min_ess=1_000_000)
    config = tmp_path / "tiny-long.toml"
    document["priors"]["files"] = [str((DATA / f).resolve()) for f in document["priors"]["files"]]
    config.write_text(tomli_w.dumps(document))
    process = subprocess.Popen(
        [sys.executable, "-m", "mcprop", "run", config, "--out", out,
         *(["--quiet"] if quiet else []), "--executor", "dask", "--workers", "2"], cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(4)  # the workers are sampling
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    stdout, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert stdout == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("mcprop: interrupted"), err
    # not quiet: mcprop's own start line, none of dask.distributed's
    assert len(lines) == 1 if quiet else (len(lines) == 2 and "3 masses" in lines[0]), err
