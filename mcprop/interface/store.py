"""The run directory: the one writer and the one reader of a run's files.

Layout of ``RUN_DIR``::

    config.toml            the resolved config (defaults filled in, absolute paths)
    manifest.json          versions, seed, config hash, timings, per-point convergence
    chains/mNNN.nc         ArviZ InferenceData (netCDF) of grid point NNN: the stored draws
    results/mNNN.json      limits and diagnostics of point NNN (written last: marks it done)
    checkpoints/mNNN.npz   state of a point in progress (removed when it finishes)
    checkpoints/mNNN.KKKK.npz  its chains, one chunk of steps per checkpoint
    limits.csv, limits.json, limit_curve.png (a Z' run), spectrum_fit.png (a Standard-Model
    fit)
    .mcprop-run            the marker: the run's identity, written first when the run is made
    .lock                  PID and identity of the process running the run (held with flock)

The points of the grid are the Z' masses; a run without masses (magnetic moments, a
Standard-Model fit) has the one point 000. Everything is written atomically; a finished
point is written as soon as it finishes. Every file read back is checked: a result and a
chain file must carry the run's identity (config hash, seed) and a point index inside the
grid with that grid's mass, a result only finite numbers, and the stored config must have
the sha256 the manifest records.

A folder is a run directory to write into (``--force``, ``--resume``) only if it holds the
marker ``.mcprop-run``, never because of the names of the other files in it, and never
through a symlink. Runs written before the marker existed can still be read.
"""

import fcntl
import hashlib
import json
import logging
import os
import platform
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from mcprop import __version__
from mcprop.errors import RunDirectoryError
from mcprop.files import (
    InputFileError,
    atomic_write_bytes,
    atomic_write_json,
    brief_repr,
    json_text,
    parse_toml,
    printable,
    read_bytes,
    read_json,
    toml_text,
)
from mcprop.inference.diagnostics import CHAIN_LAYOUT
from mcprop.inference.results import (
    MAGNETIC_MOMENT,
    STANDARD_MODEL,
    FitResult,
    MomentResult,
    PointResult,
    ResultError,
    mass_grid_MeV,
    result_type,
)
from mcprop.inference.storage import (
    read_inference_data,
    remove_checkpoint,
    write_inference_data,
)

log = logging.getLogger(__name__)

PACKAGES = ("mcprop", "numpy", "scipy", "emcee", "arviz", "corner", "matplotlib", "xarray",
            "netCDF4", "distributed", "pandas")
#: Files and folders a run writes; --force removes these and nothing else.
OWN_FILES = ("config.toml", "manifest.json", "limits.csv", "limits.json", "limit_curve.png",
             "spectrum_fit.png")
OWN_FOLDERS = {"chains": ".nc", "results": ".json", "checkpoints": ".npz"}
#: Keys of the stored config that readers use, as dotted paths; those of the coupling prior
#: and the mass grid of a Z' run.
CONFIG_KEYS = ("name", "measurements", "physics.model", "physics.flavour_model",
               "physics.interference", "priors.files", "limits.credibility", "sampler.seed")
PRIOR_KEYS = ("coupling_prior.kind", "coupling_prior.upper_np_fraction")
GRID_KEYS = ("mass_grid.mass_min_MeV", "mass_grid.mass_max_MeV", "mass_grid.n_masses")
#: Keys that depend on the kind of run (``physics.model``); a Z' run has the others.
MODEL_KEYS = {MAGNETIC_MOMENT: ("physics.moments", *PRIOR_KEYS), STANDARD_MODEL: ()}
#: The marker file of a run directory, and its lock.
MARKER = ".mcprop-run"
LOCK = ".lock"
#: The type of each of those keys (a number: finite).
NUMBER = (int, float)
KEY_TYPES = {"name": str, "measurements": list, "physics.model": str,
             "physics.flavour_model": str, "physics.interference": bool, "priors.files": list,
             "limits.credibility": NUMBER, "sampler.seed": int, "physics.moments": str,
             "coupling_prior.kind": str, "coupling_prior.upper_np_fraction": NUMBER,
             "mass_grid.mass_min_MeV": NUMBER, "mass_grid.mass_max_MeV": NUMBER,
             "mass_grid.n_masses": int}
#: ``chain_layout`` of chain files written before :data:`CHAIN_LAYOUT` (still read).
WALKER_LAYOUT = "chain = ensemble * walkers + walker"
#: Keys of the manifest with their types.
MANIFEST_TYPES = {"mcprop_version": str, "name": str, "config_hash": str, "seed": int,
                  "n_points": int, "points": dict}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class RunIdentity:
    """What ties a file to its run: the config hash and the seed."""

    config_hash: str
    seed: int

    def for_point(self, index: int, mass_MeV: float | None) -> dict:
        """The identity of grid point ``index``: a Z' mass, or (``mass_MeV`` None) the
        point of a run without masses."""
        if mass_MeV is None:
            return {"config_hash": self.config_hash, "seed": self.seed,
                    "point_index": int(index)}
        return {"config_hash": self.config_hash, "seed": self.seed, "mass_index": int(index),
                "m_zprime_MeV": float(mass_MeV)}


class RunDirectory:
    """A run directory on disk."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock_fd: int | None = None  # the open, flocked .lock while this process runs

    config_file = property(lambda self: self.root / "config.toml")
    manifest_file = property(lambda self: self.root / "manifest.json")
    limits_csv = property(lambda self: self.root / "limits.csv")
    limits_json = property(lambda self: self.root / "limits.json")
    plot_file = property(lambda self: self.root / "limit_curve.png")
    spectrum_plot_file = property(lambda self: self.root / "spectrum_fit.png")
    lock_file = property(lambda self: self.root / LOCK)
    marker_file = property(lambda self: self.root / MARKER)

    def chains_file(self, index: int) -> Path:
        return self.root / "chains" / f"m{index:03d}.nc"

    def result_file(self, index: int) -> Path:
        return self.root / "results" / f"m{index:03d}.json"

    def checkpoint_file(self, index: int) -> Path:
        return self.root / "checkpoints" / f"m{index:03d}.npz"

    def check_checkpoints(self) -> None:
        """RunDirectoryError naming a checkpoint that is not a regular file (its loader would wait
        forever on a FIFO)."""
        folder = self.root / "checkpoints"
        for path in sorted(folder.glob("m*.npz")) if folder.is_dir() else ():
            if path.is_symlink() or not path.is_file():
                raise RunDirectoryError(f"{path}: not a regular file (a folder, device, FIFO, "
                                        f"socket or symlink); remove it to resume")

    # --- creating, opening, locking ------------------------------------------------------

    @classmethod
    def create(cls, root: Path, resolved: dict, manifest: dict,
               force: bool = False) -> "RunDirectory":
        """A new run directory at ``root`` for the resolved config ``resolved``, locked, with
        its marker, config and ``manifest`` (which gains the config's sha256).

        An existing non-empty directory is started again only with ``force`` and only if it
        holds the marker; then only the run's own files are removed. A symlink is never
        followed. If writing fails, what this call made is removed again (a started-again
        run keeps its marker, so --force accepts it). RunDirectoryError naming the file."""
        run = cls(root)
        if run.root.is_symlink():
            raise RunDirectoryError(f"{run.root}: a symlink; a run directory is never written "
                                    f"through a symlink (give the folder itself)")
        if run.root.exists() and not run.root.is_dir():
            raise RunDirectoryError(f"{run.root}: not a directory")
        if run.root.is_dir() and any(run.root.iterdir()):
            run._check_may_start_again(force)  # before touching anything in the folder
        made = [p for p in (run.root, *run.root.parents) if not p.exists()]
        try:
            run.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _remove_empty(made)
            raise RunDirectoryError(f"{run.root}: cannot make the folder ({exc.strerror})") \
                from None
        try:
            run.acquire_lock(manifest)
        except RunDirectoryError:
            _remove_empty(made)
            raise
        fresh = True
        try:
            if any(not _is_lock(p.name) for p in run.root.iterdir()):  # again, locked
                fresh = False
                run._check_may_start_again(force)
                run._remove_own_files()
            document = toml_text(resolved).encode()
            manifest["config_sha256"] = hashlib.sha256(document).hexdigest()
            marker = {"mcprop_run": uuid.uuid4().hex, "name": manifest["name"],
                      "config_hash": manifest["config_hash"], "seed": manifest["seed"],
                      "mcprop_version": manifest["mcprop_version"], "created": now()}
            manifest["run_id"] = marker["mcprop_run"]
            _write(run.marker_file, json_text(marker).encode())
            for sub in OWN_FOLDERS:
                _mkdir(run.root / sub)
            _write(run.config_file, document)
            run.write_manifest(manifest)
        except BaseException:
            if fresh:  # a new run: remove what was written (the marker last)
                for path in (run.manifest_file, run.config_file, run.marker_file):
                    path.unlink(missing_ok=True)
                _remove_empty([run.root / sub for sub in OWN_FOLDERS])
            run.release_lock()
            if fresh:
                _remove_empty(made)
            raise
        return run

    def _check_may_start_again(self, force: bool) -> None:
        """RunDirectoryError unless the existing, non-empty directory may be started again: with
        ``force``, and only if it holds the marker."""
        if not force:
            raise RunDirectoryError(f"{self.root}: run directory exists; use --resume to continue "
                                    f"it or --force to start it again")
        if self.marker_file.is_symlink() or not self.marker_file.is_file():
            raise RunDirectoryError(f"{self.root}: not an mcprop run directory (no {MARKER} "
                                    f"marker; runs of earlier mcprop versions have none); "
                                    f"refusing to remove anything in it (remove it yourself or "
                                    f"choose another --out)")
        for sub in OWN_FOLDERS:
            folder = self.root / sub
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                raise RunDirectoryError(f"{folder}: not a plain folder (a symlink?); refusing to "
                                        f"remove anything in it")

    def _remove_own_files(self) -> None:
        """Remove the files a run writes (--force; checked by _check_may_start_again)."""
        try:
            for sub, suffix in OWN_FOLDERS.items():
                folder = self.root / sub
                for old in folder.glob(f"m*{suffix}") if folder.is_dir() else ():
                    if old.is_file() and not old.is_symlink():
                        old.unlink()
            for name in OWN_FILES:
                path = self.root / name
                if path.is_file() or path.is_symlink():
                    path.unlink()
        except OSError as exc:
            raise RunDirectoryError(f"{exc.filename or self.root}: cannot remove "
                                    f"({exc.strerror})") \
                from None

    @classmethod
    def open(cls, root: Path | str, write: bool = False) -> "RunDirectory":
        """An existing run directory; RunDirectoryError if it is not one. ``write`` (resuming):
        only a run directory with the marker, not reached through a symlink."""
        run = cls(Path(root))
        if write and run.root.is_symlink():
            raise RunDirectoryError(f"{run.root}: a symlink; a run directory is never written "
                                    f"through a symlink (give the folder itself)")
        if not run.root.is_dir():
            raise RunDirectoryError(f"{run.root}: not a directory")
        for required in (run.config_file, run.manifest_file):
            if not required.is_file():
                raise RunDirectoryError(f"{run.root}: not a run directory (no {required.name})")
        if write and (run.marker_file.is_symlink() or not run.marker_file.is_file()):
            raise RunDirectoryError(f"{run.root}: no {MARKER} marker (a run of an earlier mcprop, "
                                    f"or not a run); it can be read but not resumed: start the "
                                    f"run in another folder (--out)")
        return run

    def acquire_lock(self, identity: dict) -> None:
        """Take the run's lock; RunDirectoryError if another live process holds it.

        ``.lock`` holds this process's PID (first line) and the run's identity (the
        config hash and seed of ``identity``): written into a temporary file, which is
        flocked and then linked to ``.lock`` (the link fails if ``.lock`` exists), so the
        lock never exists without its content or unheld. The kernel releases the flock
        when the process dies; a ``.lock`` nobody holds is stale, and is removed by the
        one process that flocks it while it is still the file at ``.lock``.
        """
        text = f"{os.getpid()}\n" + json.dumps(
            {"pid": os.getpid(), "config_hash": identity["config_hash"],
             "seed": identity["seed"], "since": now()}) + "\n"
        try:
            fd, tmp = tempfile.mkstemp(prefix=f"{LOCK}.", suffix=".tmp", dir=self.root)
        except OSError as exc:
            raise RunDirectoryError(f"{self.lock_file}: cannot write ({exc.strerror or exc})") \
                from None
        try:
            os.write(fd, text.encode())
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows this file
            for _ in range(LOCK_ATTEMPTS):
                try:
                    os.link(tmp, self.lock_file)
                except FileExistsError:
                    self._remove_stale_lock()
                    continue
                self._lock_fd, fd = fd, None
                return
            raise RunDirectoryError(f"{self.lock_file}: the lock keeps changing; another process "
                                    f"is starting this run")
        except OSError as exc:
            raise RunDirectoryError(f"{self.lock_file}: cannot write ({exc.strerror or exc})") \
                from None
        finally:
            os.unlink(tmp)
            if fd is not None:
                os.close(fd)

    def _remove_stale_lock(self) -> None:
        """Remove ``.lock`` if no live process holds it; RunDirectoryError if one does."""
        try:
            fd = os.open(self.lock_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return  # released meanwhile: try again
        except OSError as exc:
            raise RunDirectoryError(f"{self.lock_file}: not a lock file ({exc.strerror}); remove "
                                    f"it if no mcprop runs in {self.root}") from None
        try:
            owner = _lock_owner(os.read(fd, 4096))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
            except BlockingIOError:
                held = True
            # a lock of an earlier mcprop has no flock: its PID tells if it is alive
            if held or (owner and owner != os.getpid() and _alive(owner)):
                raise RunDirectoryError(f"{self.root}: in use by process {owner or '(unknown)'} "
                                        f"(remove {LOCK} if that is wrong)")
            try:
                if os.path.samestat(os.fstat(fd), os.stat(self.lock_file,
                                                          follow_symlinks=False)):
                    os.unlink(self.lock_file)
                    log.info("%s: took over the lock of process %s, which is gone",
                             self.root, owner)
            except FileNotFoundError:
                pass
        finally:
            os.close(fd)

    def release_lock(self) -> None:
        """Remove and release this process's lock (nothing if it holds none)."""
        if self._lock_fd is None:
            return
        try:
            if os.path.samestat(os.fstat(self._lock_fd),
                                os.stat(self.lock_file, follow_symlinks=False)):
                os.unlink(self.lock_file)
        except OSError:
            pass
        finally:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- config and manifest -------------------------------------------------------------

    def config(self) -> dict:
        """The resolved config stored in the run, checked for the keys readers use."""
        try:
            data = read_bytes(self.config_file, MAX_TEXT_BYTES)
            config = parse_toml(data, self.config_file)
        except InputFileError as exc:
            raise RunDirectoryError(f"{self.config_file}: unreadable resolved config "
                                    f"({exc.reason})") from None
        expected = self.manifest().get("config_sha256")  # none in runs of earlier versions
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise RunDirectoryError(f"{self.config_file}: changed since the run was made (its "
                                    f"sha256 is not the manifest's config_sha256); restore it")
        model = config.get("physics", {}).get("model") if isinstance(
            config.get("physics"), dict) else None
        for dotted in (*CONFIG_KEYS, *MODEL_KEYS.get(model, (*PRIOR_KEYS, *GRID_KEYS))):
            value = config
            for part in dotted.split("."):
                if not isinstance(value, dict) or part not in value:
                    raise RunDirectoryError(f"{self.config_file}: {dotted}: missing from the "
                                            f"resolved "
                                            f"config")
                value = value[part]
            kind = KEY_TYPES[dotted]
            if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind) or (
                    isinstance(value, float) and not np.isfinite(value)):
                name = {str: "a string", list: "a list", bool: "true or false",
                        int: "an integer"}.get(kind, "a finite number")
                raise RunDirectoryError(f"{self.config_file}: {dotted}: must be {name}, got "
                                        f"{brief_repr(value)}")
        if not isinstance(config["measurements"], list) or not all(
                isinstance(m, dict) and isinstance(m.get("name"), str)
                and isinstance(m.get("source"), str) for m in config["measurements"]):
            raise RunDirectoryError(f"{self.config_file}: measurements: must be tables with a name "
                                    f"and a source")
        return config

    def manifest(self) -> dict:
        """The manifest, checked for its keys and their types."""
        try:
            manifest = read_json(self.manifest_file, MAX_TEXT_BYTES)
        except InputFileError as exc:
            raise RunDirectoryError(f"{self.manifest_file}: unreadable manifest ({exc.reason})") \
                from None
        if not isinstance(manifest, dict):
            raise RunDirectoryError(f"{self.manifest_file}: not a JSON object")
        for key, kind in MANIFEST_TYPES.items():
            value = manifest.get(key)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise RunDirectoryError(f"{self.manifest_file}: {key}: must be a {kind.__name__}, "
                                        f"got {value!r}")
        if manifest["n_points"] < 1:
            raise RunDirectoryError(f"{self.manifest_file}: n_points: must be >= 1")
        return manifest

    def write_manifest(self, manifest: dict) -> None:
        _write(self.manifest_file, json_text(manifest).encode())

    @staticmethod
    def new_manifest(name: str, config_path: str, config_hash: str, seed: int, n_points: int,
                     argv: list[str]) -> dict:
        """A new manifest; ``points`` collects the summary of each finished grid point."""
        return {"mcprop_version": __version__, "name": name, "config": config_path,
                "config_hash": config_hash, "seed": seed, "command": " ".join(argv),
                "packages": package_versions(), "platform": platform.platform(),
                "started": now(), "finished": None, "n_points": n_points, "points": {}}

    def identity(self) -> RunIdentity:
        manifest = self.manifest()
        return RunIdentity(manifest["config_hash"], manifest["seed"])

    def grid_MeV(self, config: dict | None = None) -> np.ndarray:
        """The Z' masses of the run's grid; empty for a run without masses."""
        config = config or self.config()
        if config["physics"]["model"] in MODEL_KEYS:  # no mass grid
            return np.empty(0)
        grid = config["mass_grid"]
        try:
            return mass_grid_MeV(float(grid["mass_min_MeV"]), float(grid["mass_max_MeV"]),
                                 int(grid["n_masses"]))
        except (TypeError, ValueError, OverflowError) as exc:
            raise RunDirectoryError(f"{self.config_file}: mass_grid: {exc}") from None

    # --- per-mass results ----------------------------------------------------------------

    def write_point(self, result: PointResult, identity: RunIdentity, attrs: dict) -> None:
        """The chains and the result of a finished grid point (the result last),
        atomically; then its checkpoint goes."""
        index = result.point_index
        write_inference_data(self.chains_file(index), result.draws,
                             {**attrs, "config_hash": identity.config_hash})
        record = {"run": identity.for_point(index, result.mass_MeV), **result.record()}
        atomic_write_json(self.result_file(index), record)
        remove_checkpoint(self.checkpoint_file(index))

    def read_result(self, index: int, identity: RunIdentity, grid_MeV: np.ndarray,
                    result_class: type, with_draws: bool = False
                    ) -> PointResult:
        """The result of grid point ``index`` (a mass of ``grid_MeV``; the one point of a
        run without masses when ``grid_MeV`` is empty) as a ``result_class``, verified;
        ResultError saying what is wrong."""
        path = self.result_file(index)
        try:
            record = read_json(path, MAX_TEXT_BYTES)
        except InputFileError as exc:
            raise ResultError(f"{path}: unreadable result ({exc.reason})") from None
        if not isinstance(record, dict):
            raise ResultError(f"{path}: not a JSON object")
        masses = len(grid_MeV) > 0
        expected = identity.for_point(index, grid_MeV[index] if masses else None)
        stored = record.pop("run", None)
        if not isinstance(stored, dict) or {k: stored.get(k) for k in expected} != expected:
            raise ResultError(f"{path}: result of another run or mass (run identity "
                              f"{stored!r} does not match {expected!r})")
        try:
            result = result_class.from_record(record)
        except ResultError as exc:
            raise ResultError(f"{path}: {exc}") from None
        if masses and (result.mass_index != index or not np.isclose(
                result.m_zprime_MeV, grid_MeV[index], rtol=1e-12)):
            raise ResultError(f"{path}: holds mass {result.mass_index} "
                              f"(m = {result.m_zprime_MeV:g} MeV), not mass {index}")
        if with_draws:
            result = result_class.from_record(record, self.read_draws(index, identity,
                                                                      grid_MeV))
        return result

    def read_draws(self, index: int, identity: RunIdentity | None = None,
                   grid_MeV: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The stored draws of grid point ``index``, checked: the chain file's attributes
        must name this run (``identity``) and this point of ``grid_MeV`` (both read from
        the run when not given); ResultError saying what is wrong."""
        identity = identity or self.identity()
        grid_MeV = self.grid_MeV() if grid_MeV is None else grid_MeV
        path = self.chains_file(index)
        try:
            posterior = read_inference_data(path).posterior
            draws = {name: np.asarray(posterior[name].values) for name in posterior.data_vars}
            attrs = dict(posterior.attrs)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ResultError(f"{path}: unreadable chain file ({reason})") from None
        expected = identity.for_point(index, grid_MeV[index] if len(grid_MeV) else None)
        stored = {key: attrs.get(key) for key in expected}
        try:
            same = all(
                np.isclose(float(stored[key]), value, rtol=1e-12) if isinstance(value, float)
                else type(value)(stored[key]) == value for key, value in expected.items())
        except (TypeError, ValueError):
            same = False
        if not same:
            raise ResultError(f"{path}: chains of another run or point (attributes "
                              f"{_brief(stored)} do not match {_brief(expected)})")
        return draws

    def stray_results(self, n_points: int) -> list[Path]:
        """Result files that name no grid point (a run's own writer never makes them)."""
        names = {self.result_file(i).name for i in range(n_points)}
        folder = self.root / "results"
        return sorted(p for p in folder.glob("*.json") if p.name not in names) \
            if folder.is_dir() else []

    def results(self, strict: bool = True) -> list[PointResult]:
        """Every finished result in grid order. ``strict``: a bad or stray result file is a
        RunDirectoryError; otherwise it is reported in a warning and left out (to be recomputed)."""
        config, identity = self.config(), self.identity()
        grid = self.grid_MeV(config)
        stray = self.stray_results(n_points(grid))
        if stray and strict:
            raise RunDirectoryError(f"{stray[0]}: result file for no mass of the grid")
        out = []
        for index in range(n_points(grid)):
            if not self.result_file(index).exists():
                continue
            try:
                out.append(self.read_result(index, identity, grid,
                                            result_type(config["physics"]["model"])))
                if not strict:  # resuming: the chains must be readable too
                    self.read_draws(index, identity, grid)
            except ResultError as exc:
                if strict:
                    raise RunDirectoryError(str(exc)) from None
                log.warning("%s; mass %d will be recomputed", exc, index)
                self.result_file(index).unlink(missing_ok=True)
                self.chains_file(index).unlink(missing_ok=True)
        return out


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


@dataclass(frozen=True)
class PointWriter:
    """Writes a finished grid point into a run directory (picklable: runs in workers)."""

    root: Path
    identity: RunIdentity
    config: dict

    def __call__(self, result: PointResult) -> None:
        RunDirectory(self.root).write_point(result, self.identity, chain_attrs(self.config,
                                                                              result))


def n_points(grid_MeV: np.ndarray) -> int:
    """Points of a grid of masses: one for a run without masses (an empty grid)."""
    return max(len(grid_MeV), 1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_lock(name: str) -> bool:
    """The lock, or a lock being written (a temporary file of :meth:`acquire_lock`)."""
    return name == LOCK or (name.startswith(f"{LOCK}.") and name.endswith(".tmp"))


def _lock_owner(content: bytes) -> int:
    """The PID on the first line of a lock file (0 if there is none)."""
    try:
        return int(content.decode().split("\n", 1)[0].strip() or 0)
    except (UnicodeDecodeError, ValueError):
        return 0


def _brief(values: dict) -> str:
    """Short, printable ``{key=value, ...}`` of attributes read from a file."""
    return "{" + ", ".join(f"{k}={printable(str(v)[:16])}" for k, v in values.items()) + "}"


def _write(path: Path, data: bytes) -> None:
    """Write a file of a run being made, atomically; RunDirectoryError naming it."""
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise RunDirectoryError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise RunDirectoryError(f"{path}: cannot make the folder ({exc.strerror or exc})") from None


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders (deepest first) that are empty; never anything in them."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


#: Attempts at taking a lock that others keep taking and releasing.
LOCK_ATTEMPTS = 20
#: Largest text file a reader accepts [bytes]: far above any config, manifest or result.
MAX_TEXT_BYTES = 16 * 1024 * 1024
