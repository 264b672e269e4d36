"""The Python API: run a config, load a run directory, and work with the result.

>>> import mcprop                                                    # doctest: +SKIP
>>> r = mcprop.run("runs/borexino-phase1.toml")          # in memory, no files written
>>> r.limits.head()                                      # a pandas DataFrame
>>> r.corner(10)                                         # corner plot at m = 10 MeV
>>> r.save("runs/output/phase1")                         # a run directory
>>> mcprop.load("runs/output/phase1").limits.equals(r.limits)
True
>>> m = mcprop.run("runs/magnetic-moment/independent.toml")   # no mass grid: one posterior
>>> m.limits[["parameter", "upper_muB"]]                  # mu_e, mu_mu, mu_tau, mu_eff
>>> m.corner()                                           # the moments' posterior
>>> f = mcprop.run("runs/borexino-phase2-spectral-sm.toml")   # a Standard-Model fit
>>> f.limits[["parameter", "median", "lo68", "hi68"]]     # every parameter and the rates
>>> f.plot_spectrum()                                    # the fitted spectrum, residuals

The command line (``mcprop run``, ``export``, ``plot``, ``corner``, ``diagnose``) is a thin
layer over these functions.
"""

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mcprop.errors import ArgumentError, ConfigError
from mcprop.inference.expected import DRAW_MODES
from mcprop.inference.expected import coverage as toy_coverage
from mcprop.interface.config import config_from_dict, load_config
from mcprop.interface.result import ScanResult, load, model_label
from mcprop.interface.runner import run_config
from mcprop.interface.store import WALKER_LAYOUT, chain_attrs

log = logging.getLogger("mcprop")

__all__ = ["WALKER_LAYOUT", "ScanResult", "chain_attrs", "coverage", "load", "model_label",
           "run"]


def run(config: Path | str | Mapping, out: Path | str | None = None, *, workers: int = 2,
        seed: int | None = None, expected: int | None = None, executor: str = "local",
        scheduler: str | None = None, resume: bool = False, force: bool = False,
        progress: bool = False, argv: Sequence[str] | None = None) -> ScanResult:
    """Sample every grid point (every mass; the one posterior of magnetic moments) of a run
    config and return the result.

    Parameters
    ----------
    config : path, name or dict
        A run config (TOML file), the name of a shipped config (``"borexino-phase1"``) or
        the same content as a dict (relative paths resolve against the current folder;
        :func:`mcprop.read_config` reads a file into a dict with absolute paths).
    out : path, optional
        Write the run directory here (each mass as soon as it finishes). Without it,
        nothing is written.
    workers : int
        Parallel processes (1: sample in this process).
    seed : int, optional
        Override the config's seed.
    expected : int, optional
        Expected limits from this many Standard-Model pseudo-experiments (overrides
        ``expected.n_toys``; 0: none).
    executor, scheduler : str
        ``"local"`` processes or ``"dask"`` (a LocalCluster, or the scheduler's address).
    resume, force : bool
        Continue an interrupted run in ``out``, or start an existing one again (not
        both; only a folder with mcprop's ``.mcprop-run`` marker, never through a symlink).
    progress : bool
        Show progress: a bar on a terminal (over steps when sampled in this process, else
        over finished points), otherwise a few INFO log lines.

    Examples
    --------
    >>> r = mcprop.run("runs/borexino-phase1.toml", workers=2)         # doctest: +SKIP
    >>> float(r.limits.g_upper.iloc[0])                                # doctest: +SKIP
    3.1e-05
    """
    overrides: dict = {}
    if seed is not None:
        overrides["sampler"] = {"seed": seed}
    if expected is not None:
        overrides["expected"] = {"n_toys": expected}
    if out is not None:
        overrides["output"] = {"directory": os.path.abspath(out)}
    resolved = _resolved_config(config, overrides)
    return run_config(resolved, write=out is not None, workers=workers, executor=executor,
                      scheduler=scheduler, resume=resume, force=force, progress=progress,
                      argv=list(argv if argv is not None else sys.argv))


def _resolved_config(config: Path | str | Mapping, overrides: dict):
    """The run config of a file, a shipped name or a dict (relative paths from the current
    folder), with ``overrides`` applied."""
    if isinstance(config, Mapping):
        document = dict(config)
        document.setdefault("output", {"directory": "mcprop-output"})
        return config_from_dict(document, Path.cwd(), overrides=overrides)
    return load_config(config, overrides)


def coverage(config: Path | str | Mapping, mass_MeV: float, g: float, toys: int, *,
             draw: str | None = None, seed: int | None = None, profile: bool | None = None):
    """How often the limits cover a Z' injected at (``mass_MeV``, ``g``): ``toys``
    pseudo-experiments of the run's measurements with that Z' (truth nuisances as ``draw``:
    ``prior-draws`` by default, ``best-fit`` for a spectrum), the fraction whose credible
    limit (rate analyses) and whose profile-likelihood limit (``profile``: the config's
    ``limits.profile_likelihood`` if None) lie at or above ``g``.

    Returns a :class:`~mcprop.inference.expected.Coverage`; ``.record()`` has the fractions
    and their binomial errors.

    Examples
    --------
    >>> c = mcprop.coverage("runs/borexino-phase1.toml", 10, 5e-4, 200)   # doctest: +SKIP
    >>> c.record()["credible_coverage"], c.record()["credible_coverage_error"]  # doctest: +SKIP
    (0.905, 0.021)
    """
    for name, value in (("--mass-MeV", mass_MeV), ("--g", g)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                np.isfinite(value) and value > 0):
            raise ArgumentError(f"{name}: must be a finite number > 0, got {value!r}")
    if isinstance(toys, bool) or not isinstance(toys, int) or toys < 1:
        raise ArgumentError(f"--toys: must be an integer >= 1, got {toys!r}")
    if draw is not None and draw not in DRAW_MODES:
        raise ArgumentError(f"--draw: unknown value {draw!r} (choose one of "
                            f"{', '.join(DRAW_MODES)})")
    overrides: dict = {"mass_grid": {"mass_min_MeV": float(mass_MeV),
                                     "mass_max_MeV": float(mass_MeV), "n_masses": 1}}
    if seed is not None:
        overrides["sampler"] = {"seed": seed}
    resolved = _resolved_config(config, overrides)
    plan = resolved.plan
    if not plan.has_masses:
        raise ArgumentError(f"{resolved.path}: coverage is computed for Z' runs")
    if draw is None:
        spectral = any(m["kind"] == "spectrum" for m in resolved.resolved["measurements"])
        draw = "best-fit" if spectral else "prior-draws"
    try:
        posterior = plan.posterior()
        with_profile = plan.profile if profile is None else profile
        return toy_coverage(posterior, 0, float(g), toys, draw, plan.seed, plan.credibility,
                            plan.profile_level if with_profile else None)
    except ValueError as exc:
        raise ConfigError(f"{resolved.path}: {exc}") from None
