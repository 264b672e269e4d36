"""Running a config: the scan, with or without a run directory, and saving a result.

With a run directory every finished grid point (a Z' mass; the one point of a run without
masses) is written by the worker that sampled it (chains first, result last), the manifest
and limits are updated as blocks finish, and points in progress are checkpointed;
``--resume`` reuses what is there after verifying it.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcprop import __version__
from mcprop.inference.results import MassResult, PointResult, ResultError
from mcprop.inference.sampler import Progress
from mcprop.inference.scan import check_workers, make_executor, run_scan
from mcprop.inference.storage import remove_checkpoint
from mcprop.interface.api import ScanResult, chain_attrs
from mcprop.interface.config import RunConfig
from mcprop.interface.errors import UserError, require_extra
from mcprop.interface.store import RunDirectory, RunIdentity, now

log = logging.getLogger("mcprop")

#: Where the grid points are sampled: local processes or a dask.distributed cluster.
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class MassWriter:
    """Writes a finished grid point into a run directory (picklable: runs in workers)."""

    root: Path
    identity: RunIdentity
    config: dict

    def __call__(self, result: PointResult) -> None:
        RunDirectory(self.root).write_mass(result, self.identity, chain_attrs(self.config,
                                                                              result))


@dataclass(frozen=True)
class CheckpointIdentity:
    """The identity a point's checkpoint must carry: the run, the point (mass), the
    sampler."""

    identity: RunIdentity
    masses_MeV: tuple[float, ...]
    sampler: tuple

    def __call__(self, index: int) -> dict:
        mass = self.masses_MeV[index] if self.masses_MeV else None
        return {**self.identity.for_point(index, mass), "sampler": list(self.sampler)}


#: Without a terminal, progress is an INFO line at each further tenth of the work, at most
#: one per this many seconds.
PROGRESS_LOG_INTERVAL_S = 30.0


class RunProgress:
    """The progress of a run on stderr: a tqdm bar on a terminal; otherwise (a file, a CI
    log) an INFO line at each further tenth of the work, at most one per
    ``interval_s``; nothing unless ``shown``.

    ``steps``: the points are sampled in this process, and the bar follows the lockstep
    steps (:meth:`chunk`: steps made of those predicted, with the points finished after
    them); otherwise it counts finished points (:meth:`points`), and the elapsed time.
    """

    def __init__(self, name: str, n_points: int, done: int, unit: str, units: str,
                 steps: bool, shown: bool, interval_s: float = PROGRESS_LOG_INTERVAL_S):
        self.n_points, self.units, self.steps, self.interval_s = n_points, units, steps, \
            interval_s
        self.before = done   # points finished before the running block
        self.bar = tqdm(total=None if steps else n_points, initial=0 if steps else done,
                        unit="step" if steps else unit, desc=name,
                        disable=None if shown else True)
        self.log_lines = shown and self.bar.disable
        self.start = self.last_line = time.monotonic()
        self.tenths = 0

    def chunk(self, progress: Progress) -> None:
        """A block in this process made another chunk of steps."""
        if progress.step < self.bar.n:   # the next block (more than 64 masses) starts
            self.bar.reset()
            self.tenths = 0
        if progress.expected_steps is not None:
            self.bar.total = progress.expected_steps
        points = self.before + progress.done
        self.bar.set_postfix_str(f"{points}/{self.n_points} {self.units} done", refresh=False)
        self.bar.update(progress.step - self.bar.n)
        if progress.expected_steps:
            self._line(progress.step / progress.expected_steps,
                       f"step {progress.step} of about {progress.expected_steps}, "
                       f"{points}/{self.n_points} {self.units} done")

    def points(self, finished: int) -> None:
        """``finished`` points are done."""
        if self.steps:
            self.before = finished
            return
        self.bar.update(max(0, finished - self.bar.n))
        self._line(finished / max(self.n_points, 1), f"{finished}/{self.n_points} "
                   f"{self.units} done")

    def _line(self, fraction: float, text: str) -> None:
        now = time.monotonic()
        tenths = int(10 * min(fraction, 1.0))
        if self.log_lines and tenths > self.tenths and now - self.last_line >= self.interval_s:
            self.tenths, self.last_line = tenths, now
            log.info("%s after %.0f s", text, now - self.start)

    def close(self) -> None:
        self.bar.close()


def run_config(config: RunConfig, write: bool = True, workers: int = 2,
               executor: str = "local", scheduler: str | None = None, resume: bool = False,
               force: bool = False, progress: bool = True,
               argv: list[str] | None = None) -> ScanResult:
    """Sample every grid point of ``config``; with ``write``, into its run directory.

    The arguments are checked before anything is written (UserError)."""
    try:
        workers = check_workers(workers)
    except ValueError as exc:
        raise UserError(f"workers: {exc}") from None
    if executor not in EXECUTORS:
        raise UserError(f"executor: must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "dask":
        require_extra("dask", "the dask executor")
    if resume and force:
        raise UserError("resume and force: give one of them (resume continues the run, "
                        "force starts it again)")
    plan = config.plan
    masses = np.asarray(plan.masses_MeV, dtype=float) if plan.has_masses else np.empty(0)
    try:
        posterior = plan.posterior()
    except ValueError as exc:
        raise UserError(f"{config.path}: {exc}") from None
    identity = RunIdentity(config.config_hash, plan.seed)
    store, manifest, done = None, None, {}
    if write:
        store, manifest, done = _open_store(config, identity, resume, force, argv or [])
    results = dict(done)
    todo = [i for i in range(plan.n_points) if i not in done]
    where = f"; writing to {store.root}" if store else ""
    if plan.has_masses:
        log.info("%s: %d masses from %g to %g MeV, %d already done%s", config.name,
                 len(masses), masses[0], masses[-1], len(done), where)
    else:
        log.info("%s: %s, one posterior, %s%s", config.name, posterior.new_physics.label(0),
                 "already done" if done else "no mass grid", where)

    def task_files(indices):
        if store is None:
            return {}
        return {"writer": MassWriter(store.root, identity, config.resolved),
                "checkpoint_for": store.checkpoint_file,
                "identity_for": CheckpointIdentity(identity, tuple(masses.tolist()),
                                                   tuple(vars(plan.sampler).values()))}

    try:
        if store is not None:
            manifest.update(executor=executor, workers=workers)
            store.write_manifest(manifest)
        # processes started here beyond the points to do would idle (one without masses)
        processes = workers if scheduler and executor == "dask" \
            else min(workers, max(len(todo), 1))
        with make_executor(executor, processes, scheduler) as pool:
            display = RunProgress(config.name, plan.n_points, len(done),
                                  *(("mass", "masses") if plan.has_masses
                                    else ("posterior", "posteriors")), pool is None, progress)

            def on_block(block: list) -> None:
                for result in block:
                    results[result.point_index] = result
                    if not result.converged:
                        if isinstance(result, MassResult):
                            log.warning("m = %.4g MeV did not converge: %s",
                                        result.m_zprime_MeV, "; ".join(result.problems))
                        else:
                            log.warning("%s did not converge: %s", result.label(),
                                        "; ".join(result.problems))
                if store is not None:
                    for result in block:
                        manifest["points"][str(result.point_index)] = result.summary()
                    store.write_manifest(manifest)
                    _write_limits(store, _scan_result(config, masses, results, store))
                display.points(len(results))

            def poll() -> None:
                if store is not None:
                    display.points(sum(store.result_file(i).exists()
                                       for i in range(plan.n_points)))

            try:
                run_scan(plan, posterior, todo, pool, workers, on_block, poll, task_files,
                         display.chunk)
            finally:
                display.close()
        scan = _scan_result(config, masses, results, store)
        if store is not None:
            _write_limits(store, scan)
            _write_plots(store, scan)
            manifest.update(finished=now(), n_converged=sum(r.converged for r in scan.results))
            store.write_manifest(manifest)
            scan.manifest = manifest
        return scan
    finally:
        if store is not None:
            store.release_lock()


def _scan_result(config: RunConfig, masses: np.ndarray, results: dict,
                 store: RunDirectory | None) -> ScanResult:
    return ScanResult(config.resolved, masses, [results[i] for i in sorted(results)],
                      config.config_hash, store.root if store else None)


def _open_store(config: RunConfig, identity: RunIdentity, resume: bool, force: bool,
                argv: list[str]) -> tuple[RunDirectory, dict, dict]:
    """The run directory, its manifest and the verified finished results."""
    n_points = config.plan.n_points
    if not (resume and (config.output_dir.exists() or config.output_dir.is_symlink())):
        manifest = RunDirectory.new_manifest(config.name, str(config.path), config.config_hash,
                                             identity.seed, n_points, argv)
        return RunDirectory.create(config.output_dir, config.resolved, manifest, force), \
            manifest, {}
    store = RunDirectory.open(config.output_dir, write=True)
    manifest = store.manifest()
    if manifest["mcprop_version"] != __version__:
        raise UserError(f"{store.root}: made by mcprop {manifest['mcprop_version']}, this is "
                        f"mcprop {__version__}; resuming would mix the results of two "
                        f"versions: start it again with --force")
    if manifest["config_hash"] != config.config_hash or manifest["seed"] != identity.seed:
        raise UserError(f"{store.root}: was run with a different config, prior files or "
                        f"seed (config hash differs); start it again with --force")
    if manifest["n_points"] != n_points:
        raise UserError(f"{store.manifest_file}: n_points: {manifest['n_points']} does "
                        f"not match the config's {n_points}")
    store.acquire_lock(manifest)
    try:
        store.check_checkpoints()
        done = {r.point_index: r for r in store.results(strict=False)}
        for index in done:  # a run stopped between a point's result and its checkpoint's end
            remove_checkpoint(store.checkpoint_file(index))
        manifest.setdefault("resumed", []).append(now())
        for result in done.values():
            manifest["points"][str(result.point_index)] = result.summary()
        manifest.update(finished=None)
        store.write_manifest(manifest)
    except BaseException:
        store.release_lock()
        raise
    return store, manifest, done


def _write_limits(store: RunDirectory, scan: ScanResult) -> None:
    from mcprop.inference.storage import atomic_write_text

    atomic_write_text(store.limits_csv, scan.to_csv())
    atomic_write_text(store.limits_json, scan.to_json())


def _write_plots(store: RunDirectory, scan: ScanResult) -> None:
    """The figure of a finished run: the limit curve of a Z' run, the fitted spectrum of a
    Standard-Model fit or of a magnetic-moment run with a spectrum."""
    if scan.has_masses:
        scan.plot(store.plot_file)
    elif scan.has_spectrum and scan.results:
        scan.plot_spectrum(store.spectrum_plot_file)


def save_result(scan: ScanResult, directory: Path) -> Path:
    """Write a result held in memory as a run directory at ``directory``."""
    results = scan.results
    if scan.run_dir is not None and not all(r.draws for r in results):
        # read (and check) every chain before the new directory is made
        source = RunDirectory(scan.run_dir)
        try:
            source_identity, grid = source.identity(), source.grid_MeV()
            results = [r if r.draws else type(r).from_record(
                r.record(), source.read_draws(r.point_index, source_identity, grid))
                for r in results]
        except ResultError as exc:
            raise UserError(str(exc)) from None
    resolved = {**scan.config, "output": {"directory": str(directory.absolute())}}
    manifest = RunDirectory.new_manifest(scan.name, "<saved from Python>", scan.config_hash,
                                         scan.seed, scan.n_points, [])
    store = RunDirectory.create(directory, resolved, manifest, force=False)
    try:
        identity = RunIdentity(scan.config_hash, scan.seed)
        writer = MassWriter(store.root, identity, scan.config)
        for result in results:
            try:
                writer(result)
            except OSError as exc:
                raise UserError(f"{exc.filename or store.root}: cannot write "
                                f"({exc.strerror or exc})") from None
            manifest["points"][str(result.point_index)] = result.summary()
        manifest.update(finished=now(), n_converged=sum(r.converged for r in scan.results))
        store.write_manifest(manifest)
        _write_limits(store, scan)
        _write_plots(store, scan)
    finally:
        store.release_lock()
    return store.root
