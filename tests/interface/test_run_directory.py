"""The run directory: known by its marker, never reached through a symlink, locked
atomically, refused when it holds another run; a failed start or a write failure leaves
nothing behind and loses nothing; outputs are strict JSON. Every refusal is exit code 2 with
one line and no traceback, and the user's files are byte-identical before and after."""

import errno
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
from arviz import InferenceData
from conftest import (
    DATA,
    REPO,
    assert_one_line_error,
    limits_of,
    one_line_error,
    prior_copy,
    snapshot,
    tiny_config,
)

import mcprop
from mcprop.errors import UserError
from mcprop.inference import storage
from mcprop.interface import runner, store
from mcprop.interface.store import RunDirectory

TINY = DATA / "tiny.toml"

# --- what --force may remove ---------------------------------------------------------------------


def test_force_refuses_a_directory_that_is_not_a_run(cli, tmp_path):
    folder = tmp_path / "mine"
    (folder / "chains").mkdir(parents=True)
    (folder / "chains" / "keep.txt").write_text("my notes")
    (folder / "chains" / "m000.nc").write_text("not mcprop's")
    before = snapshot(folder)
    one_line_error(cli("run", DATA / "tiny.toml", "--out", folder, "--force", "--quiet"),
                    "not an mcprop run directory")
    assert snapshot(folder) == before


def test_force_refuses_a_folder_that_only_has_run_file_names(cli, tmp_path):
    folder = tmp_path / "p"
    (folder / "results").mkdir(parents=True)
    (folder / "config.toml").write_text("x\n")
    (folder / "manifest.json").write_text("{}\n")
    (folder / "results" / "m2024.json").write_text("y\n")
    before = snapshot(folder)
    one_line_error(cli("run", TINY, "--out", folder, "--force", "--quiet"),
                    "no .mcprop-run marker")
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "manifest.json",
                                                        "results"]


def test_a_run_without_the_marker_is_read_but_not_cleared_or_resumed(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)  # as written by an earlier mcprop: no marker
    (run / ".mcprop-run").unlink(missing_ok=True)
    before = snapshot(run)
    assert cli("export", run, "--format", "json").returncode == 0
    one_line_error(cli("run", TINY, "--out", run, "--force", "--quiet"), "marker")
    one_line_error(cli("run", TINY, "--out", run, "--resume", "--quiet"), "marker")
    assert snapshot(run) == before


def test_force_never_follows_a_symlinked_folder(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "m000.npz").write_text("someone else's file")
    os.rmdir(run / "checkpoints") if (run / "checkpoints").is_dir() else None
    (run / "checkpoints").symlink_to(target)
    one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--force", "--quiet"),
                    "checkpoints", "symlink")
    assert (target / "m000.npz").read_text() == "someone else's file"


def test_force_and_resume_refuse_a_symlinked_run_directory(cli, tiny_run, copy_run, tmp_path):
    other = copy_run(tiny_run)
    link = tmp_path / "link"
    link.symlink_to(other)
    before = snapshot(other)
    for mode in ("--force", "--resume"):
        one_line_error(cli("run", TINY, "--out", link, mode, "--quiet"), "symlink")
    assert snapshot(other) == before
    assert link.is_symlink()
    assert cli("export", link, "--format", "csv").returncode == 0  # reading follows it


def test_force_removes_only_the_runs_own_files(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    (run / "notes.txt").write_text("kept")
    (run / "chains" / "keep.txt").write_text("kept")
    out = cli("run", DATA / "tiny.toml", "--out", run, "--force", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert (run / "notes.txt").read_text() == "kept"
    assert (run / "chains" / "keep.txt").read_text() == "kept"
    assert limits_of(run) == limits_of(tiny_run)

# --- an existing run directory and resuming it ---------------------------------------------------


def test_run_refuses_an_existing_run_directory(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    before = snapshot(run)
    result = cli("run", DATA / "tiny.toml", "--out", run)
    assert_one_line_error(result, run, "exists", "--force", "--resume")
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


def test_resume_under_another_version_is_refused(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["mcprop_version"] = "0.0.1"
    (run / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(run)
    one_line_error(cli("run", TINY, "--out", run, "--resume", "--quiet"), "mcprop 0.0.1")
    assert snapshot(run) == before

# --- the lock ------------------------------------------------------------------------------------


def test_a_run_directory_in_use_is_refused(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (run / ".lock").write_text(f"{owner.pid}\n")
        before = snapshot(run)
        one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet"),
                        "in use by process", str(owner.pid))
        assert snapshot(run) == before
    finally:
        owner.kill()
        owner.wait()
    # a lock left by a process that is gone is taken over
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet")
    assert out.returncode == 0, out.stderr
    assert not (run / ".lock").exists()


def _slow_getpid(getpid=os.getpid):
    time.sleep(0.05)
    return getpid()


def _hold_lock(root, barrier, log, index):
    """In a process of its own: take the lock after the barrier, hold it 0.3 s, record.

    os.getpid is made slow (50 ms): a pause between a lock file's creation and the writing
    of the PID into it, or between reading a stale PID and acting on it, as a loaded machine
    may give any process."""
    run = RunDirectory(root)
    barrier.wait()
    os.getpid = _slow_getpid
    try:
        run.acquire_lock({"config_hash": "race", "seed": index})
    except UserError:
        return
    start = time.monotonic()
    time.sleep(0.3)
    with open(log, "a") as handle:
        handle.write(f"{start} {time.monotonic()}\n")
    run.release_lock()


@pytest.mark.parametrize("stale", [False, True], ids=["new", "stale"])
def test_lock_is_exclusive_under_a_race(tmp_path, stale):
    """Processes racing for one lock (new, or left by a dead process): never two holders
    at once, and at least one holder."""
    context = multiprocessing.get_context("fork")
    for attempt in range(3):
        root = tmp_path / f"run{attempt}"
        root.mkdir()
        if stale:
            dead = subprocess.Popen([sys.executable, "-c", "pass"])
            dead.wait()
            (root / ".lock").write_text(f"{dead.pid}\n")
        log = tmp_path / f"held{attempt}.txt"
        barrier = context.Barrier(6)
        workers = [context.Process(target=_hold_lock, args=(root, barrier, log, i))
                   for i in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
        assert spans, "nobody took the lock"
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two processes held the lock at once: {spans}"
        assert not (root / ".lock").exists()


def test_two_runs_racing_for_one_new_directory(tmp_path):
    """mcprop run --out NEW --seed 1 & mcprop run --out NEW --seed 2: one run wins, the other
    exits 2 with one line, and the directory holds one run's files."""
    out = tmp_path / "new"
    command = [sys.executable, "-m", "mcprop", "run", TINY, "--out", out, "--quiet",
               "--workers", "1"]
    runs = [subprocess.Popen([*map(str, command), "--seed", str(seed)], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for seed in (1, 2)]
    codes = [(run.wait(300), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in codes) == [0, 2], codes
    loser = next(err for code, err in codes if code == 2)
    assert len(loser.strip().splitlines()) == 1 and "Traceback" not in loser, loser
    seed = tomllib.loads((out / "config.toml").read_text())["sampler"]["seed"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == seed
    for result in (out / "results").glob("m*.json"):
        assert json.loads(result.read_text())["run"]["seed"] == seed
    assert mcprop.load(out).complete
    assert json.loads((out / ".mcprop-run").read_text())["seed"] == seed

# --- half-written state and write failures -------------------------------------------------------


@pytest.mark.parametrize("bad", [{"workers": 0}, {"workers": -2}, {"executor": "bogus"},
                                 {"resume": True, "force": True}])
def test_api_checks_arguments_before_making_the_directory(tmp_path, bad):
    out = tmp_path / "run"
    with pytest.raises(UserError) as error:
        mcprop.run(TINY, out=out, **bad)
    assert len(str(error.value).splitlines()) == 1
    assert not out.exists()


def _disk_full_at(monkeypatch, name):
    """Make every atomic write of the file ``name`` fail as on a full disk."""
    original = storage.atomic_write_bytes

    def write(path, data, sync=True):
        if os.path.basename(path) == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(path, data, sync)

    monkeypatch.setattr(storage, "atomic_write_bytes", write)
    monkeypatch.setattr(store, "atomic_write_bytes", write)


@pytest.mark.parametrize("name", [".mcprop-run", "config.toml", "manifest.json"])
def test_disk_full_while_making_a_run_leaves_nothing(cli, tmp_path, monkeypatch, name):
    out = tmp_path / "deep" / "run"
    _disk_full_at(monkeypatch, name)
    one_line_error(cli("run", TINY, "--out", out, "--quiet"), out / name,
                    "No space left on device")
    assert list(tmp_path.iterdir()) == []  # not even the folders above it


def test_disk_full_while_starting_a_run_again_leaves_what_force_accepts(
        cli, tiny_run, copy_run, monkeypatch):
    run = copy_run(tiny_run)
    with monkeypatch.context() as patch:
        _disk_full_at(patch, "config.toml")
        one_line_error(cli("run", TINY, "--out", run, "--force", "--quiet"),
                        run / "config.toml", "No space left on device")
    assert not (run / ".lock").exists()
    assert (run / ".mcprop-run").is_file()
    out = cli("run", TINY, "--out", run, "--force", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert mcprop.load(run).complete


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


def test_save_with_a_missing_chain_file_makes_no_directory(tiny_run, copy_run, tmp_path):
    source = copy_run(tiny_run)
    scan = mcprop.load(source)
    (source / "chains" / "m001.nc").unlink()
    with pytest.raises(UserError, match="m001.nc"):
        scan.save(tmp_path / "saved")
    assert not (tmp_path / "saved").exists()


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
    before = snapshot(run)
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "checkpoints" in out.stderr
    after = snapshot(run)
    for path, content in before.items():
        if Path(path).name != "manifest.json":
            assert after.get(path) == content, path
    assert not list(run.rglob("*.tmp"))


def test_ctrl_c_advice_names_the_run_directory_and_seed(cli, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_config", interrupted)
    out = cli("run", TINY, "--out", tmp_path / "my run", "--seed", 3, "--quiet")
    assert out.returncode == 130
    assert out.stderr.strip().endswith(
        f"mcprop run {TINY} --out '{tmp_path / 'my run'}' --seed 3 --resume"), out.stderr

# --- what a run writes ---------------------------------------------------------------------------


def test_too_short_chains_are_flagged_in_strict_json_and_readable_files(cli, tmp_path):
    """A run that cannot converge: every point flagged (stderr, limits.json, limits.csv,
    diagnose), null written for what could not be computed, never NaN or Infinity; files are
    0644."""
    config = (DATA / "tiny.toml").read_text().replace("max_steps = 400", "max_steps = 100")
    config = config.replace("min_ess = 200", "min_ess = 5000").replace(
        '"../../priors/', f'"{REPO}/priors/').replace(
        'directory = "../../runs/output/test-tiny"', f'directory = "{tmp_path / "short"}"')
    (tmp_path / "short.toml").write_text(config)
    out = cli("run", tmp_path / "short.toml", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("did not converge") == 3

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    json.loads((tmp_path / "short" / "limits.json").read_text(), parse_constant=refuse)
    assert all(row["converged"] is False for row in limits_of(tmp_path / "short"))
    csv_text = (tmp_path / "short" / "limits.csv").read_text()
    assert "nan" not in csv_text.lower()
    csv_lines = [line for line in csv_text.splitlines() if not line.startswith("#")]
    column = csv_lines[0].split(",").index("converged")
    assert [line.split(",")[column] for line in csv_lines[1:]] == ["False"] * 3
    for path in (tmp_path / "short").rglob("*"):
        if path.is_file() and path.name != ".lock":
            assert path.stat().st_mode & 0o777 == 0o644, path
    assert cli("diagnose", tmp_path / "short").returncode != 0
