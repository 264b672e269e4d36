"""The run configs and prior files that ship with mcprop, and configs named by them.

The repository keeps them in ``runs/`` and ``priors/`` at its root. A wheel installs both
folders, with the same layout, as the package data ``mcprop/shipped/`` (pyproject.toml:
the package ``mcprop.shipped`` is the repository root, with only these files), so the
configs' relative prior paths hold in an installed copy as in a clone. A shipped config is
named by its path in ``runs/`` without ``.toml``: ``borexino-phase1``, ``models/b-l``.

>>> find_config("borexino-phase1")[0].name
'borexino-phase1.toml'
>>> find_config("my-run.toml")
(PosixPath('my-run.toml'), None)
"""

import os
from importlib.resources import files
from pathlib import Path

from mcprop.files import InputFileError

#: Where the configs lie in ``runs/`` (a run's outputs, ``runs/output/NAME/``, lie deeper);
#: the same patterns as the package data of ``mcprop.shipped`` in pyproject.toml.
CONFIG_PATTERNS = ("*.toml", "*/*.toml")


def shipped_root() -> Path:
    """The folder holding ``runs/`` and ``priors/``: the package data of an installed wheel,
    else the repository (a clone, or an editable install)."""
    installed = files("mcprop").joinpath("shipped")
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2]


def shipped_names() -> list[str]:
    """Names of the shipped run configs, sorted."""
    runs = shipped_root() / "runs"
    return sorted(path.relative_to(runs).with_suffix("").as_posix()
                  for pattern in CONFIG_PATTERNS for path in runs.glob(pattern)
                  if path.is_file())


def find_config(config: Path | str) -> tuple[Path, str | None]:
    """The file of the run config ``config`` and, if ``config`` is the name of a shipped
    config rather than a path, that name.

    Text ending in ``.toml`` or naming anything that exists (a file, a folder, a device) is a
    path, read (or refused) as such; other text is looked up among the shipped names.
    InputFileError for neither.
    """
    text = os.fspath(config)
    if text.endswith(".toml") or os.path.lexists(text):
        return Path(text), None
    if text in shipped_names():
        return shipped_root() / "runs" / f"{text}.toml", text
    raise InputFileError(text, "no such file, and no shipped config of that name (names "
                               "such as borexino-phase1 or models/b-l: the files of runs/ "
                               "without .toml, listed in the README, Run configs)")


def output_here(name: str, directory: str) -> str:
    """Where the run of the shipped config ``name`` goes when it is named: its output folder
    ``directory`` (relative to the config's place in ``runs/``) under the current folder, as
    if the repository were here, so that ``mcprop run borexino-phase1`` writes
    ``runs/output/borexino-phase1`` like ``mcprop run runs/borexino-phase1.toml`` from the
    repository root (and never into an installed package).

    >>> output_here("models/b-l", "../output/models/b-l") == os.path.abspath(
    ...     "runs/output/models/b-l")
    True
    """
    return os.path.abspath(Path("runs", name).parent / directory)
