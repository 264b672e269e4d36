"""Shared test helpers and fixtures."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def run_cli(*args, cwd=None, timeout=1200) -> subprocess.CompletedProcess:
    """Run ``python -m mcprop ARGS`` as a user would and capture its output."""
    return subprocess.run([sys.executable, "-m", "mcprop", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished run directory of tests/data/tiny.toml (3 masses), made once per session.

    Tests must not modify it; copy it (``copy_run``) to change anything.
    """
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = run_cli("run", DATA / "tiny.toml", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def copy_run(tmp_path):
    """Copy a run directory into tmp_path and return the copy's path."""
    def _copy(run_dir: Path) -> Path:
        target = tmp_path / run_dir.name
        shutil.copytree(run_dir, target)
        return target
    return _copy
