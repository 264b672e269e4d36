"""Shared test helpers."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, timeout=900) -> subprocess.CompletedProcess:
    """Run ``python -m mcprop ARGS`` as a user would and capture its output."""
    return subprocess.run([sys.executable, "-m", "mcprop", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
