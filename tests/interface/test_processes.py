"""Workers, executors and signals: the number of workers is bounded, no process outlives
the run, Ctrl-C under dask prints one line and no traceback. Real processes where signals
need them."""

import os
import signal
import subprocess
import sys
import time
import tomllib

import pytest
import tomli_w
from conftest import (
    DATA,
    REPO,
    assert_one_line_error,
    one_line_error,
)

import mcprop
from mcprop.errors import UserError
from mcprop.inference.scan import blocks

# --- workers and executors -----------------------------------------------------------------------


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


def test_bad_scheduler_address(cli, tmp_path):
    one_line_error(cli("run", DATA / "tiny.toml", "--out", tmp_path / "x", "--executor",
                        "dask", "--scheduler", "bogus://x:y"), "--scheduler")
    assert not (tmp_path / "x").exists()

# --- signals -------------------------------------------------------------------------------------


def test_workers_stop_when_the_main_process_is_killed(tmp_path):
    """SIGKILL to the main process alone: no process of the run is alive 2 s later."""
    config = (DATA / "tiny.toml").read_text().replace("max_steps = 400", "max_steps = 40000")
    config = config.replace("min_ess = 200", "min_ess = 1e9").replace(
        '"../../priors/', f'"{REPO}/priors/')
    (tmp_path / "long.toml").write_text(config)
    process = subprocess.Popen([sys.executable, "-m", "mcprop", "run", tmp_path / "long.toml",
                                "--out", tmp_path / "run", "--workers", "2", "--quiet"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        children = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(children) < 2:
            children = _children(process.pid)
            time.sleep(0.05)
        assert len(children) >= 2, "the workers did not start"
        time.sleep(1.0)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(2.0)
        alive = [pid for pid in children if _alive(pid)]
        assert not alive
    finally:
        for pid in _children(process.pid):
            os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


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
