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

import html
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcprop import __version__
from mcprop.inference.diagnostics import CHAIN_LAYOUT
from mcprop.inference.results import (
    MAGNETIC_MOMENT,
    STANDARD_MODEL,
    FitResult,
    MomentResult,
    PointResult,
    result_type,
)
from mcprop.interface.errors import UserError, require_extra

log = logging.getLogger("mcprop")

#: ``chain_layout`` of chain files written before :data:`CHAIN_LAYOUT` (still read).
WALKER_LAYOUT = "chain = ensemble * walkers + walker"
#: Rows of the limits a notebook shows under a ScanResult (``_repr_html_``).
HTML_ROWS = 10


def model_label(model: str) -> str:
    """Readable name of a U(1)' model: 'Lmu-Ltau' -> 'L_mu - L_tau', 'B-L' -> 'B - L'."""
    return " - ".join(re.sub(r"^L(e|mu|tau)$", r"L_\1", part) for part in model.split("-"))


def chain_attrs(config: dict, result: PointResult,
                draws: Mapping[str, np.ndarray] | None = None) -> dict:
    """Attributes stored with a grid point's chains (the posterior group of its
    InferenceData); ``draws``: those of the result when not given. The layout is the
    stored one (:data:`CHAIN_LAYOUT`), or one chain per walker for draws read from a chain
    file written before it."""
    sampler = config["sampler"]
    draws = result.draws if draws is None else draws
    n_chains = next(iter(draws.values())).shape[0] if draws else sampler["n_ensembles"]
    layout = {"thin": result.thin, "burn_in": result.burn_in,
              "n_ensembles": sampler["n_ensembles"], "walkers_per_ensemble": sampler["n_walkers"],
              "chain_layout": CHAIN_LAYOUT if n_chains == sampler["n_ensembles"]
              else WALKER_LAYOUT}
    run = {"mcprop_version": __version__, "seed": int(sampler["seed"])}
    if isinstance(result, FitResult):
        return {**run, "point_index": result.point_index,
                "fit": "Standard Model, no new physics",
                "units": "each parameter in the unit its name gives",
                **{f"{p.parameter}_median": p.median if p.median is not None else ""
                   for p in result.parameters}, **layout}
    if isinstance(result, MomentResult):
        limits = {f"{limit.parameter}_upper_muB": limit.upper_muB
                  if limit.upper_muB is not None else "" for limit in result.limits}
        return {**run, "point_index": result.point_index, "moments": result.moments,
                "units": "moments in Bohr magnetons (mu_B)",
                "credibility": config["limits"]["credibility"],
                "prior": "flat in each sampled mu^2 >= 0 (flat in the added rate)",
                **{f"{name}_prior_upper_muB": value
                   for name, value in result.prior_upper_muB.items()},
                **limits, **layout}
    return {**run, "mass_index": result.mass_index, "m_zprime_MeV": result.m_zprime_MeV,
            "credibility": config["limits"]["credibility"],
            "coupling_prior": config["coupling_prior"]["kind"], "g_max": result.g_max,
            "g_upper": result.g_upper if result.g_upper is not None else "", **layout}


@dataclass
class ScanResult:
    """The result of a run: limits, diagnostics, chains and provenance per grid point.

    A Z' run has a grid of masses (one MassResult each, one limits row each); a
    magnetic-moment run has no masses and one MomentResult (one limits row per moment); a
    Standard-Model fit has no masses and one FitResult (one row per parameter: median and
    68% interval).

    Attributes
    ----------
    config : dict
        The resolved config of the run.
    masses_MeV : array
        The run's mass grid [MeV] (empty for a run without masses).
    results : list of MassResult, MomentResult or FitResult
        The finished grid points in grid order (all of them for a complete run).
    config_hash : str
        sha256 of what determines the numbers (config and input files).
    run_dir : Path or None
        Where the run is stored, if anywhere.

    Examples
    --------
    >>> r = mcprop.load("runs/output/borexino-phase1")                 # doctest: +SKIP
    >>> r.limits[["m_zprime_MeV", "g_upper", "g_upper_mcse"]].head()   # doctest: +SKIP
    >>> r.plot("curve.pdf"); r.corner(10, "corner.png")                # doctest: +SKIP
    >>> r.to_hepdata("hepdata-submission")                             # doctest: +SKIP
    >>> m = mcprop.load("runs/output/magnetic-moment-e")               # doctest: +SKIP
    >>> m.limits[["parameter", "upper_muB", "upper_mcse_muB"]]         # doctest: +SKIP
    """

    config: dict
    masses_MeV: np.ndarray
    results: list[PointResult]
    config_hash: str
    run_dir: Path | None = None
    manifest: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        """One line: name, kind of run, points finished and converged, seed, directory.

        >>> mcprop.load("runs/output/borexino-phase1")                    # doctest: +SKIP
        <ScanResult 'borexino-phase1': L_mu - L_tau Z' limits, 50 masses 0.01-1e+03 MeV,
        50/50 done, 50 converged, seed 20200731, in runs/output/borexino-phase1>
        """
        physics = self.config["physics"]
        if self.is_fit:
            kind = "Standard-Model fit, 1 point"
        elif not self.has_masses:
            kind = f"magnetic-moment limits ({physics['moments']}), 1 point"
        else:
            masses = self.masses_MeV
            kind = (f"{model_label(physics['model'])} Z' limits, {len(masses)} masses "
                    f"{masses.min():.3g}-{masses.max():.3g} MeV")
        where = f", in {self.run_dir}" if self.run_dir is not None else ""
        return (f"<ScanResult {self.name!r}: {kind}, {len(self.results)}/{self.n_points} done, "
                f"{sum(r.converged for r in self.results)} converged, seed {self.seed}{where}>")

    def _repr_html_(self) -> str:
        """In a notebook: the summary line above the first rows of the limits."""
        limits = self.limits
        head = limits.head(HTML_ROWS)
        rest = (f"<p>{len(head)} of {len(limits)} rows; all in <code>.limits</code></p>"
                if len(head) < len(limits) else "")
        return f"<p><code>{html.escape(repr(self))}</code></p>{head.to_html(index=False)}{rest}"

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def seed(self) -> int:
        return int(self.config["sampler"]["seed"])

    @property
    def has_masses(self) -> bool:
        """Whether the run scans Z' masses (False: magnetic moments or a Standard-Model fit,
        one posterior)."""
        return self.config["physics"]["model"] not in (MAGNETIC_MOMENT, STANDARD_MODEL)

    @property
    def is_fit(self) -> bool:
        """Whether the run is a Standard-Model fit (medians and intervals, no limits)."""
        return self.config["physics"]["model"] == STANDARD_MODEL

    @property
    def has_spectrum(self) -> bool:
        """Whether the run fits a spectrum (a ``kind = "spectrum"`` measurement)."""
        return any(m["kind"] == "spectrum" for m in self.config["measurements"])

    @property
    def n_points(self) -> int:
        """Points of the grid: the masses, or one for a run without masses."""
        return len(self.masses_MeV) if self.has_masses else 1

    @property
    def complete(self) -> bool:
        return len(self.results) == self.n_points

    @property
    def converged(self) -> bool:
        return self.complete and all(r.converged for r in self.results)

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of limits.csv: per mass for a Z' run, per moment for magnetic moments,
        per parameter for a Standard-Model fit; a Z' run with pseudo-experiments adds the
        expected limits (EXPECTED_COLUMNS)."""
        return result_type(self.config["physics"]["model"]).columns(self.has_expected)

    @property
    def has_expected(self) -> bool:
        """Whether the run computed expected limits from pseudo-experiments."""
        return self.config.get("expected", {}).get("n_toys", 0) > 0

    def rows(self) -> list[dict]:
        """The rows of limits.csv, in grid order."""
        columns = self.columns
        return [{key: row[key] for key in columns} for r in self.results for row in r.rows()]

    @property
    def limits(self):
        """The limits as a pandas DataFrame with the columns of limits.csv."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=list(self.columns))

    def result_at(self, mass_MeV: float | None = None
                  ) -> PointResult:
        """The finished result at the grid mass nearest ``mass_MeV`` (in log m); for a run
        without masses, its one result (``mass_MeV`` None)."""
        where = self.run_dir or self.name
        if not self.has_masses:
            if mass_MeV is not None:
                raise UserError(f"--mass-MeV: {where} has no mass grid (one posterior); "
                                f"leave --mass-MeV out")
            if not self.results:
                raise UserError(f"{where}: no finished result")
            return self.results[0]
        if mass_MeV is None:
            raise UserError(f"--mass-MeV: required for {where}, a run over a mass grid")
        if not (isinstance(mass_MeV, int | float) and np.isfinite(mass_MeV) and mass_MeV > 0):
            raise UserError(f"--mass-MeV: must be a finite number > 0, got {mass_MeV!r}")
        if not self.results:
            raise UserError(f"{where}: no finished masses")
        masses = np.array([r.m_zprime_MeV for r in self.results])
        return self.results[int(np.argmin(np.abs(np.log(masses / mass_MeV))))]

    def chains(self, mass_MeV: float | None = None):
        """ArviZ InferenceData of the stored draws at the grid mass nearest ``mass_MeV`` (of
        the one posterior of a run without masses)."""
        from mcprop.inference.storage import inference_data

        result = self.result_at(mass_MeV)
        draws = result.draws
        if not draws and self.run_dir is not None:
            from mcprop.inference.results import ResultError
            from mcprop.interface.store import RunDirectory

            try:
                draws = RunDirectory(self.run_dir).read_draws(result.point_index)
            except ResultError as exc:
                raise UserError(str(exc)) from None
        return inference_data(draws, chain_attrs(self.config, result, draws))

    def provenance(self) -> list[str]:
        """What the numbers are and where they come from (the '#' lines of limits.csv)."""
        c = self.config
        measurements = "; ".join(f"{m['name']} ({m['source']})" for m in c["measurements"])
        physics = c["physics"]
        correlations = [f"systematic correlation {k['systematic_correlation']} between "
                        f"{' and '.join(k['measurements'])} ({k['source']})"
                        for k in c.get("correlations", [])]
        if self.is_fit:
            return [f"mcprop {__version__}: Standard-Model fit (no new physics): posterior "
                    f"medians and central 68% credible intervals",
                    f"run: {c['name']}",
                    f"flavour model: {physics['flavour_model']}; radiative corrections: "
                    f"{physics.get('radiative_corrections', False)}",
                    f"data: {measurements}",
                    f"priors: {', '.join(Path(p).name for p in c['priors']['files'])}"
                    + (f"; held at their prior centres: {', '.join(c['priors']['fixed'])}"
                       if c["priors"].get("fixed") else ""),
                    *(f"goodness of fit at the best fit, {name}: Poisson deviance "
                      f"{v['deviance']:.1f} for {v['n_bins']} bins"
                      + (f" (best walker {v['deviance_best_walker']:.1f})"
                         if "deviance_best_walker" in v else "")
                      + (f"; the experiment's own best-fit model on the same bins: "
                         f"{v['reference_deviance']:.1f}" if "reference_deviance" in v else "")
                      for r in self.results for name, v in r.goodness_of_fit.items()),
                    f"seed: {self.seed}; config hash: {self.config_hash}",
                    "columns: parameter (its unit in its name: _cm2s = cm^-2 s^-1, "
                    "_cpd100t = counts per day per 100 t, _norm = multiple of Borexino's fitted "
                    "background, nh_ = N_h response); median, lo68, hi68, median_mcse in that "
                    "unit; tau_steps, n_steps, burn_in [steps]"]
        cp = c["coupling_prior"]
        prior = cp["kind"] + (f" (floor g = {cp['floor_g']:g})" if cp.get("floor_g") else "")
        if not self.has_masses:
            spectral = next(m["kind"] for m in c["measurements"]
                            if m["kind"] != "survival-probability") == "spectrum"
            if spectral:
                bound = "SM solar counts of the spectrum"
                average = ("the solar neutrinos of the first spectrum (its probability "
                           "nodes, weighted by their EM counts)")
            else:
                bound = "SM window rate"
                average = ("the lines of the first rate measurement (weighted by their EM "
                           "window counts)")
            return [f"mcprop {__version__}: Bayesian upper limits on flavour-diagonal "
                    f"neutrino magnetic moments ({physics['moments']})",
                    f"run: {c['name']}",
                    f"credibility: {c['limits']['credibility']}",
                    f"prior on each sampled mu_a^2: {cp['kind']} (flat in mu^2 >= 0, i.e. "
                    f"flat in the added rate), upper bound where that moment alone adds "
                    f"{cp['upper_np_fraction']:g} x the {bound}",
                    f"mu_eff = sqrt(sum_a P_ea mu_a^2), P_ea averaged over {average}",
                    f"flavour model: {physics['flavour_model']}; radiative corrections: "
                    f"{physics.get('radiative_corrections', False)}",
                    f"data: {measurements}", *correlations,
                    f"priors: {', '.join(Path(p).name for p in c['priors']['files'])}",
                    f"seed: {self.seed}; config hash: {self.config_hash}",
                    "columns: parameter; upper_muB, upper_mcse_muB, upper_profile_muB (the "
                    f"profile-likelihood limit, -2 Delta ln L = "
                    f"{c['limits']['profile_delta_chi2']:g}; one moment) [Bohr magnetons]; "
                    "tau_steps, n_steps, burn_in [steps]"]
        return [f"mcprop {__version__}: Bayesian upper limits on the "
                f"{model_label(physics['model'])} Z' coupling g",
                f"run: {c['name']}",
                f"credibility: {c['limits']['credibility']}",
                f"prior on g: {prior}, upper bound at {cp['upper_np_fraction']:g} x SM rate",
                f"flavour model: {physics['flavour_model']}; interference: "
                f"{physics['interference']}; radiative corrections: "
                f"{physics.get('radiative_corrections', False)}",
                f"data: {measurements}", *correlations,
                f"priors: {', '.join(Path(p).name for p in c['priors']['files'])}",
                *self._expected_provenance(),
                f"seed: {self.seed}; config hash: {self.config_hash}",
                "columns: m_zprime_MeV [MeV]; g_upper, g_upper_mcse, g_upper_profile "
                + ("and g_expected_* " if self.has_expected else "")
                + "[dimensionless]; tau_steps, n_steps, burn_in [steps]"]

    def _expected_provenance(self) -> list[str]:
        """What the expected limits are (a provenance line), if the run has them."""
        if not self.has_expected:
            return []
        e = self.config["expected"]
        return [f"expected limits: credible limits of {e['n_toys']} Standard-Model "
                f"pseudo-experiments (truth nuisances: {e['draw']}; each measurement drawn "
                f"with its own errors), their median and central 68% and 95% ranges; "
                f"g_expected_asimov: the limit of data at the SM prediction at the prior "
                f"centres"]

    # --- outputs -------------------------------------------------------------------------

    def to_csv(self) -> str:
        from mcprop.interface.formats import csv_text

        return csv_text(self.provenance(), self.rows(), self.columns)

    def to_json(self) -> str:
        from mcprop.interface.formats import json_text

        return json_text(self.provenance(), self.rows(), self.columns)

    def _need_masses(self, what: str) -> None:
        if not self.has_masses:
            kind = "Standard-Model fit" if self.is_fit else "magnetic-moment run"
            raise UserError(f"{self.run_dir or self.name}: a {kind} has no mass grid, so no "
                            f"limit curve for {what}; its numbers are in limits.csv (export "
                            f"--format csv or json), its posterior in 'mcprop corner'")

    def to_hepdata_table(self) -> str:
        """The limit curve as one HEPData table (YAML, provenance in '#' comments)."""
        from mcprop.interface.formats import hepdata_text

        self._need_masses("a HEPData table")
        require_extra("hepdata", "a HEPData table")
        return hepdata_text(self.provenance(), self.config, self.rows())

    def to_hepdata(self, directory: Path | str) -> Path:
        """A HEPData submission in the new folder ``directory``: submission.yaml, the table,
        the limit-curve plot and the tarball to upload (made and validated by hepdata_lib).
        """
        import tempfile

        from mcprop.interface.formats import hepdata_submission

        self._need_masses("a HEPData submission")
        require_extra("hepdata", "a HEPData submission")
        with tempfile.TemporaryDirectory() as folder:
            plot = Path(folder) / "limit_curve.png"
            self.plot(plot)
            return hepdata_submission(self.provenance(), self.config, self.rows(),
                                      Path(directory), plot)

    def plot(self, out: Path | str | None = None, others: Sequence["ScanResult"] = (),
             overlays: Sequence[str] = (), context: Sequence[str] = ()):
        """The limit-curve figure of this run (and ``others``); saved to ``out`` if given.

        Returns the matplotlib Figure. A run without masses has no curve (UserError).
        """
        from mcprop.interface.plots import limit_figure, save_figure

        figure = limit_figure([self, *others], overlays, context)
        if out is not None:
            save_figure(figure, Path(out))
        return figure

    def plot_spectrum(self, out: Path | str | None = None):
        """The spectrum of the first spectrum measurement: data, model, every solar source
        group and background, and the residuals; for a Standard-Model fit at its best fit,
        for a magnetic-moment run without a moment at the posterior medians of the
        nuisances, with the counts the first moment adds at its limit. Returned and saved to
        ``out`` if given."""
        from mcprop.interface.plots import (
            fit_spectrum_figure,
            moment_spectrum_figure,
            save_figure,
        )

        figure = (fit_spectrum_figure if self.is_fit else moment_spectrum_figure)(self)
        if out is not None:
            save_figure(figure, Path(out))
        return figure

    def posterior(self):
        """The run's posterior, rebuilt from its resolved config (templates and kernels are
        computed again)."""
        from mcprop.interface.config import config_from_dict

        config = config_from_dict(self.config, Path.cwd(), str(self.run_dir or self.name))
        try:
            return config.plan.posterior()
        except ValueError as exc:
            raise UserError(f"{self.run_dir or self.name}: {exc}") from None

    def corner(self, mass_MeV: float | None = None, out: Path | str | None = None):
        """Corner plot of g and the nuisances at the grid mass nearest ``mass_MeV``; for a run
        without masses (``mass_MeV`` None), of the moments, mu_eff and the nuisances with
        their 90% (the run's credibility) credible regions."""
        from mcprop.interface.plots import corner_figure, save_figure

        figure = corner_figure(self, mass_MeV)
        if out is not None:
            save_figure(figure, Path(out))
        return figure

    def save(self, directory: Path | str) -> Path:
        """Write the run directory (config, manifest, chains, results, limits, the plot of a
        Z' run)."""
        from mcprop.interface.runner import save_result

        return save_result(self, Path(directory))


def load(run_dir: Path | str, strict: bool = True) -> ScanResult:
    """The result stored in a run directory (checked: UserError naming what is wrong).

    ``strict=False`` leaves out a damaged result with a warning instead.

    Examples
    --------
    >>> r = mcprop.load("runs/output/borexino-phase1")                 # doctest: +SKIP
    >>> r.converged, len(r.results)                                    # doctest: +SKIP
    (True, 50)
    """
    from mcprop.interface.store import RunDirectory, n_points

    run = RunDirectory.open(run_dir)
    config, manifest = run.config(), run.manifest()
    grid = run.grid_MeV(config)
    if manifest["n_points"] != n_points(grid):
        raise UserError(f"{run.manifest_file}: n_points = {manifest['n_points']} does not "
                        f"match the config's grid of {n_points(grid)} points")
    return ScanResult(config, grid, run.results(strict), manifest["config_hash"], run.root,
                      manifest)


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
    from mcprop.interface.runner import run_config

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
    from mcprop.interface.config import config_from_dict, load_config

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
    from mcprop.inference.expected import DRAW_MODES
    from mcprop.inference.expected import coverage as toy_coverage

    for name, value in (("--mass-MeV", mass_MeV), ("--g", g)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                np.isfinite(value) and value > 0):
            raise UserError(f"{name}: must be a finite number > 0, got {value!r}")
    if isinstance(toys, bool) or not isinstance(toys, int) or toys < 1:
        raise UserError(f"--toys: must be an integer >= 1, got {toys!r}")
    if draw is not None and draw not in DRAW_MODES:
        raise UserError(f"--draw: unknown value {draw!r} (choose one of "
                        f"{', '.join(DRAW_MODES)})")
    overrides: dict = {"mass_grid": {"mass_min_MeV": float(mass_MeV),
                                     "mass_max_MeV": float(mass_MeV), "n_masses": 1}}
    if seed is not None:
        overrides["sampler"] = {"seed": seed}
    resolved = _resolved_config(config, overrides)
    plan = resolved.plan
    if not plan.has_masses:
        raise UserError(f"{resolved.path}: coverage is computed for Z' runs")
    if draw is None:
        spectral = any(m["kind"] == "spectrum" for m in resolved.resolved["measurements"])
        draw = "best-fit" if spectral else "prior-draws"
    try:
        posterior = plan.posterior()
        with_profile = plan.profile if profile is None else profile
        return toy_coverage(posterior, 0, float(g), toys, draw, plan.seed, plan.credibility,
                            plan.profile_level if with_profile else None)
    except ValueError as exc:
        raise UserError(f"{resolved.path}: {exc}") from None
