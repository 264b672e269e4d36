"""Hostile inputs, round two: a run directory is known by its marker, never reached through a
symlink, locked atomically; a failed start leaves nothing behind; run files are checked
against each other. Every refusal is exit code 2 with one line and no traceback, and the
user's files are byte-identical before and after."""

import errno
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import tomllib

import pytest
from conftest import DATA, REPO, one_line_error

import mcprop
from mcprop.inference import storage
from mcprop.interface import runner, store
from mcprop.interface.errors import UserError
from mcprop.interface.plots import read_overlay
from mcprop.interface.store import RunDirectory

TINY = DATA / "tiny.toml"




def _files(folder):
    """Every file and symlink under ``folder`` with its bytes (a symlink: its target)."""
    return {p: (os.readlink(p) if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


# --- data loss ----------------------------------------------------------------------------


def test_force_refuses_a_folder_that_only_has_run_file_names(cli, tmp_path):
    folder = tmp_path / "p"
    (folder / "results").mkdir(parents=True)
    (folder / "config.toml").write_text("x\n")
    (folder / "manifest.json").write_text("{}\n")
    (folder / "results" / "m2024.json").write_text("y\n")
    before = _files(folder)
    one_line_error(cli("run", TINY, "--out", folder, "--force", "--quiet"),
                    "no .mcprop-run marker")
    assert _files(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "manifest.json",
                                                        "results"]


def test_a_run_without_the_marker_is_read_but_not_cleared_or_resumed(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)  # as written by an earlier mcprop: no marker
    (run / ".mcprop-run").unlink(missing_ok=True)
    before = _files(run)
    assert cli("export", run, "--format", "json").returncode == 0
    one_line_error(cli("run", TINY, "--out", run, "--force", "--quiet"), "marker")
    one_line_error(cli("run", TINY, "--out", run, "--resume", "--quiet"), "marker")
    assert _files(run) == before


def test_force_and_resume_refuse_a_symlinked_run_directory(cli, tiny_run, copy_run, tmp_path):
    other = copy_run(tiny_run)
    link = tmp_path / "link"
    link.symlink_to(other)
    before = _files(other)
    for mode in ("--force", "--resume"):
        one_line_error(cli("run", TINY, "--out", link, mode, "--quiet"), "symlink")
    assert _files(other) == before
    assert link.is_symlink()
    assert cli("export", link, "--format", "csv").returncode == 0  # reading follows it


def test_hepdata_submission_to_a_relative_folder(cli, tiny_run, tmp_path):
    out = cli("export", tiny_run, "--format", "hepdata-submission", "--out", "sub",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sub" / "submission.yaml").is_file()
    assert (tmp_path / "sub" / "submission.tar.gz").is_file()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        path = mcprop.load(tiny_run).to_hepdata("api-sub")
    assert (tmp_path / "api-sub" / "submission.yaml").is_file()
    assert path.resolve() == (tmp_path / "api-sub").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api-sub", "sub"]  # no staging


def test_export_never_replaces_a_symlink_or_a_fifo(cli, tiny_run, tmp_path):
    target = tmp_path / "mine.csv"
    target.write_text("my data\n")
    (tmp_path / "link.csv").symlink_to(target)
    os.mkfifo(tmp_path / "fifo")
    before = _files(tmp_path)
    for name in ("link.csv", "fifo"):
        out = cli("export", tiny_run, "--format", "csv", "--out", tmp_path / name)
        one_line_error(out, name, "cannot write")
        assert out.stdout == ""
    assert _files(tmp_path) == before
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "fifo").is_fifo()


@pytest.mark.parametrize("command", [["plot"], ["corner", "--mass-MeV", "1"]])
def test_figures_never_replace_a_symlink(cli, tiny_run, tmp_path, command):
    target = tmp_path / "mine.png"
    target.write_bytes(b"my figure")
    (tmp_path / "link.png").symlink_to(target)
    before = _files(tmp_path)
    out = cli(command[0], tiny_run, *command[1:], "--out", tmp_path / "link.png")
    one_line_error(out, "link.png", "symlink")
    assert _files(tmp_path) == before


@pytest.mark.parametrize("name", ["manifest.json", "results/m000.json", "new.csv"])
def test_export_refuses_to_write_into_the_run_it_reads(cli, tiny_run, copy_run, name):
    run = copy_run(tiny_run)
    before = _files(run)
    one_line_error(cli("export", run, "--format", "json", "--out", run / name),
                    "inside the run directory")
    assert _files(run) == before


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


# --- half-written state -------------------------------------------------------------------


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


def test_save_with_a_missing_chain_file_makes_no_directory(tiny_run, copy_run, tmp_path):
    source = copy_run(tiny_run)
    scan = mcprop.load(source)
    (source / "chains" / "m001.nc").unlink()
    with pytest.raises(UserError, match="m001.nc"):
        scan.save(tmp_path / "saved")
    assert not (tmp_path / "saved").exists()


def test_ctrl_c_advice_names_the_run_directory_and_seed(cli, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_config", interrupted)
    out = cli("run", TINY, "--out", tmp_path / "my run", "--seed", 3, "--quiet")
    assert out.returncode == 130
    assert out.stderr.strip().endswith(
        f"mcprop run {TINY} --out '{tmp_path / 'my run'}' --seed 3 --resume"), out.stderr


# --- run files checked against each other -------------------------------------------------


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


def test_resume_under_another_version_is_refused(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["mcprop_version"] = "0.0.1"
    (run / "manifest.json").write_text(json.dumps(manifest))
    before = _files(run)
    one_line_error(cli("run", TINY, "--out", run, "--resume", "--quiet"), "mcprop 0.0.1")
    assert _files(run) == before


def test_overlay_with_a_byte_order_mark_keeps_its_first_row(tmp_path):
    path = tmp_path / "curve.csv"
    path.write_bytes("1.0,1e-4\n10,2e-4\n100,3e-4\n".encode("utf-8-sig"))
    overlay = read_overlay(str(path))
    assert list(overlay.masses_MeV) == [1.0, 10.0, 100.0]
    assert list(overlay.g) == [1e-4, 2e-4, 3e-4]
