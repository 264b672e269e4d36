"""Shared test helpers and fixtures."""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcprop.interface import cli as cli_module

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
PRIORS = REPO / "priors"


@dataclass
class CliResult:
    """Exit code and output of one command, in-process or in a real process."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args, cwd=None) -> CliResult:
    """Run ``mcprop ARGS`` in this process (``cli.main``) and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or REPO), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = cli_module.main([str(a) for a in args])
    return CliResult(code, out.getvalue(), err.getvalue())



def one_line_error(out: CliResult, *needles) -> None:
    """Exit code 2, no traceback and exactly one line on stderr holding every needle."""
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for needle in needles:
        assert str(needle) in lines[0], lines[0]


def assert_one_line_error(result, *needles):
    """Exit code 2, nothing on stdout and a single 'mcprop: error:' line holding every
    needle (``result``: a CliResult or a CompletedProcess)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mcprop: error: "), lines[0]
    for needle in needles:
        assert str(needle) in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


def snapshot(root: Path) -> dict:
    """Bytes and modification time of every regular file under ``root``, the target of every
    symlink; other entries (folders, FIFOs) by name only."""
    def entry(path: Path):
        if path.is_symlink():
            return ("symlink", os.readlink(path))
        if path.is_file():
            return path.read_bytes(), path.stat().st_mtime_ns
        return "other"
    return {str(p.relative_to(root)): entry(p) for p in sorted(root.rglob("*"))}


def limits_of(run_dir: Path) -> list:
    """The limit rows of a run directory's limits.json."""
    return json.loads((run_dir / "limits.json").read_text())["limits"]


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


#: The prior files and the measurement of a small spectral config (N_h 110-949, bins of 20).
SPECTRAL_PRIORS = [str(REPO / "priors" / name) for name in (
    "nufit-5.0-no.toml", "ssm-b16-gs98.toml", "ssm-b16-gs98-pp-pep.toml",
    "ssm-b16-gs98-cno-b8.toml", "borexino-phase2-backgrounds.toml")]
SPECTRUM = {"kind": "spectrum", "name": "Phase-II spectrum", "nh_range": [110, 949],
            "bin_width_nh": 20, "dataset": "borexino-phase2",
            "source": "Borexino, Nature 562, 505 (2018)"}

def run_process(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run ``python -m mcprop ARGS`` in a real process (signals, the console script)."""
    return subprocess.run([sys.executable, "-m", "mcprop", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


def interrupted_run(out: Path, ready, sig=signal.SIGKILL, extra_args=(), timeout=300):
    """Start ``mcprop run tests/data/tiny.toml --out OUT [EXTRA_ARGS]`` in a real process (its
    own session), wait until ``ready(out)`` holds, send ``sig`` to its process group; return
    the finished Popen (stderr captured). Temporary files of interrupted writes are removed."""
    process = subprocess.Popen([sys.executable, "-m", "mcprop", "run", DATA / "tiny.toml",
                                "--out", out, "--workers", "1", "--quiet", *extra_args],
                               cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None and not ready(out):
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be interrupted"
    os.killpg(process.pid, sig)
    process.wait(timeout=120)
    for leftover in out.rglob(".*.tmp"):  # no half-written file under a final name
        leftover.unlink()
    return process


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished run directory of tests/data/tiny.toml (3 masses), made once per session.

    Tests must not modify it; copy it (``copy_run``) to change anything.
    """
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = run_cli("run", DATA / "tiny.toml", "--out", out, "--quiet", "--workers", "1")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def copy_run(tmp_path):
    """Copy a run directory into tmp_path and return the copy's path."""
    def _copy(run_dir: Path) -> Path:
        target = tmp_path / run_dir.name
        shutil.copytree(run_dir, target)
        (target / ".lock").unlink(missing_ok=True)
        return target
    return _copy


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
