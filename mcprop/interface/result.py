"""The result of a run as data: limits, diagnostics, chains and provenance per grid point.

A :class:`ScanResult` is what :func:`mcprop.run` returns and :func:`mcprop.load` reads
back; it writes itself as text (CSV, JSON, HEPData), as figures, or as a run directory
(:meth:`ScanResult.save`). It samples nothing: the runner (``mcprop.interface.runner``)
makes one, the run directory (``mcprop.interface.store``) stores its points, :func:`load`
reads one back without the sampling stack.

>>> r = mcprop.load("runs/output/borexino-phase1")                   # doctest: +SKIP
>>> r.limits.head()                                                 # doctest: +SKIP
>>> r.save("copy-of-phase1")                                        # doctest: +SKIP
"""

import html
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcprop.errors import (
    ArgumentError,
    ConfigError,
    OutputError,
    RunDirectoryError,
    require_extra,
)
from mcprop.files import atomic_write_text
from mcprop.inference.results import (
    MAGNETIC_MOMENT,
    STANDARD_MODEL,
    PointResult,
    ResultError,
    band_statistic,
    result_type,
)
from mcprop.inference.storage import inference_data
from mcprop.interface import formats
from mcprop.interface.provenance import model_label, provenance_lines
from mcprop.interface.store import (
    PointWriter,
    RunDirectory,
    RunIdentity,
    chain_attrs,
    n_points,
    now,
)

#: Rows of the limits a notebook shows under a ScanResult (``_repr_html_``).
HTML_ROWS = 10


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
                raise ArgumentError(f"--mass-MeV: {where} has no mass grid (one posterior); "
                                    f"leave --mass-MeV out")
            if not self.results:
                raise RunDirectoryError(f"{where}: no finished result")
            return self.results[0]
        if mass_MeV is None:
            raise ArgumentError(f"--mass-MeV: required for {where}, a run over a mass grid")
        if not (isinstance(mass_MeV, int | float) and np.isfinite(mass_MeV) and mass_MeV > 0):
            raise ArgumentError(f"--mass-MeV: must be a finite number > 0, got {mass_MeV!r}")
        if not self.results:
            raise RunDirectoryError(f"{where}: no finished masses")
        masses = np.array([r.m_zprime_MeV for r in self.results])
        return self.results[int(np.argmin(np.abs(np.log(masses / mass_MeV))))]

    def chains(self, mass_MeV: float | None = None):
        """ArviZ InferenceData of the stored draws at the grid mass nearest ``mass_MeV`` (of
        the one posterior of a run without masses)."""
        result = self.result_at(mass_MeV)
        draws = result.draws
        if not draws and self.run_dir is not None:
            try:
                draws = RunDirectory(self.run_dir).read_draws(result.point_index)
            except ResultError as exc:
                raise RunDirectoryError(str(exc)) from None
        return inference_data(draws, chain_attrs(self.config, result, draws))

    def provenance(self) -> list[str]:
        """What the numbers are and where they come from (the '#' lines of limits.csv)."""
        return provenance_lines(self)

    @property
    def expected_statistic(self) -> str | None:
        """The limit of the expected band: ``profile`` (the profile-likelihood limit, for a
        spectrum or independent moments), ``credible`` (a rate analysis) or None (no
        pseudo-experiments)."""
        if not self.has_expected:
            return None
        return band_statistic(any(m["kind"] == "spectrum" for m in self.config["measurements"]),
                              self.config["physics"].get("moments") == "independent")

    # --- outputs -------------------------------------------------------------------------

    def to_csv(self) -> str:
        return formats.csv_text(self.provenance(), self.rows(), self.columns)

    def to_json(self) -> str:
        return formats.json_text(self.provenance(), self.rows(), self.columns)

    def _need_masses(self, what: str) -> None:
        if not self.has_masses:
            kind = "Standard-Model fit" if self.is_fit else "magnetic-moment run"
            raise ArgumentError(f"{self.run_dir or self.name}: a {kind} has no mass grid, so no "
                                f"limit curve for {what}; its numbers are in limits.csv (export "
                                f"--format csv or json), its posterior in 'mcprop corner'")

    def to_hepdata_table(self) -> str:
        """The limit curve as one HEPData table (YAML, provenance in '#' comments)."""
        self._need_masses("a HEPData table")
        require_extra("hepdata", "a HEPData table")
        return formats.hepdata_text(self.provenance(), self.config, self.rows())

    def to_hepdata(self, directory: Path | str) -> Path:
        """A HEPData submission in the new folder ``directory``: submission.yaml, the table,
        the limit-curve plot and the tarball to upload (made and validated by hepdata_lib).
        """
        self._need_masses("a HEPData submission")
        require_extra("hepdata", "a HEPData submission")
        with tempfile.TemporaryDirectory() as folder:
            plot = Path(folder) / "limit_curve.png"
            self.plot(plot)
            return formats.hepdata_submission(self.provenance(), self.config, self.rows(),
                                      Path(directory), plot)

    def plot(self, out: Path | str | None = None, others: Sequence["ScanResult"] = (),
             overlays: Sequence[str] = (), context: Sequence[str] = ()):
        """The limit-curve figure of this run (and ``others``); saved to ``out`` if given.

        Returns the matplotlib Figure. A run without masses has no curve (ArgumentError).
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
            raise ConfigError(f"{self.run_dir or self.name}: {exc}") from None

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
        Z' run) at the new folder ``directory``."""
        directory = Path(directory)
        results = self.results
        if self.run_dir is not None and not all(r.draws for r in results):
            # read (and check) every chain before the new directory is made
            source = RunDirectory(self.run_dir)
            try:
                source_identity, grid = source.identity(), source.grid_MeV()
                results = [r if r.draws else type(r).from_record(
                    r.record(), source.read_draws(r.point_index, source_identity, grid))
                    for r in results]
            except ResultError as exc:
                raise RunDirectoryError(str(exc)) from None
        resolved = {**self.config, "output": {"directory": str(directory.absolute())}}
        manifest = RunDirectory.new_manifest(self.name, "<saved from Python>", self.config_hash,
                                             self.seed, self.n_points, [])
        store = RunDirectory.create(directory, resolved, manifest, force=False)
        try:
            writer = PointWriter(store.root, RunIdentity(self.config_hash, self.seed),
                                self.config)
            for result in results:
                try:
                    writer(result)
                except OSError as exc:
                    raise OutputError(f"{exc.filename or store.root}: cannot write "
                                      f"({exc.strerror or exc})") from None
                manifest["points"][str(result.point_index)] = result.summary()
            manifest.update(finished=now(), n_converged=sum(r.converged for r in self.results))
            store.write_manifest(manifest)
            self.write_limits(store)
            self.write_figures(store)
        finally:
            store.release_lock()
        return store.root

    def write_limits(self, store: RunDirectory) -> None:
        """limits.csv and limits.json of the run directory ``store`` (atomically)."""
        atomic_write_text(store.limits_csv, self.to_csv())
        atomic_write_text(store.limits_json, self.to_json())

    def write_figures(self, store: RunDirectory) -> None:
        """The figure of a finished run in ``store``: the limit curve of a Z' run, the fitted
        spectrum of a Standard-Model fit or of a magnetic-moment run with a spectrum."""
        if self.has_masses:
            self.plot(store.plot_file)
        elif self.has_spectrum and self.results:
            self.plot_spectrum(store.spectrum_plot_file)


def load(run_dir: Path | str, strict: bool = True) -> ScanResult:
    """The result stored in a run directory (checked: RunDirectoryError naming what is wrong).

    ``strict=False`` leaves out a damaged result with a warning instead.

    Examples
    --------
    >>> r = mcprop.load("runs/output/borexino-phase1")                 # doctest: +SKIP
    >>> r.converged, len(r.results)                                    # doctest: +SKIP
    (True, 50)
    """
    run = RunDirectory.open(run_dir)
    config, manifest = run.config(), run.manifest()
    grid = run.grid_MeV(config)
    if manifest["n_points"] != n_points(grid):
        raise RunDirectoryError(f"{run.manifest_file}: n_points = {manifest['n_points']} does not "
                                f"match the config's grid of {n_points(grid)} points")
    return ScanResult(config, grid, run.results(strict), manifest["config_hash"], run.root,
                      manifest)
