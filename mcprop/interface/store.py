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
    .lock                  PID of the process running the run

The points of the grid are the Z' masses; a run without masses (magnetic moments, a
Standard-Model fit) has the one point 000. Everything is written atomically; a finished
point is written as soon as it finishes. Every file read back is checked: a result must
carry the run's identity (config hash, seed), a point index inside the grid with that grid's
mass, and only finite numbers.
"""

import json
import logging
import os
import platform
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import tomli_w

from mcprop import __version__
from mcprop.files import without_none
from mcprop.inference.results import (
    MAGNETIC_MOMENT,
    STANDARD_MODEL,
    FitResult,
    MassResult,
    MomentResult,
    ResultError,
    mass_grid_MeV,
    result_type,
)
from mcprop.inference.storage import (
    atomic_write_bytes,
    atomic_write_json,
    read_inference_data,
    write_inference_data,
)
from mcprop.interface.errors import UserError

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

    config_file = property(lambda self: self.root / "config.toml")
    manifest_file = property(lambda self: self.root / "manifest.json")
    limits_csv = property(lambda self: self.root / "limits.csv")
    limits_json = property(lambda self: self.root / "limits.json")
    plot_file = property(lambda self: self.root / "limit_curve.png")
    spectrum_plot_file = property(lambda self: self.root / "spectrum_fit.png")
    lock_file = property(lambda self: self.root / ".lock")

    def chains_file(self, index: int) -> Path:
        return self.root / "chains" / f"m{index:03d}.nc"

    def result_file(self, index: int) -> Path:
        return self.root / "results" / f"m{index:03d}.json"

    def checkpoint_file(self, index: int) -> Path:
        return self.root / "checkpoints" / f"m{index:03d}.npz"

    # --- creating, opening, locking ------------------------------------------------------

    def is_run(self) -> bool:
        return self.config_file.is_file() and self.manifest_file.is_file()

    @classmethod
    def create(cls, root: Path, resolved: dict, force: bool = False) -> "RunDirectory":
        """A new run directory at ``root`` for the resolved config ``resolved``. An existing
        non-empty directory is started again only with ``force`` and only if it is a run
        directory; then only the run's own files are removed, and no symlink is followed."""
        run = cls(root)
        if run.root.is_symlink() or (run.root.exists() and not run.root.is_dir()):
            raise UserError(f"{run.root}: not a directory")
        if run.root.exists() and any(run.root.iterdir()):
            if not force:
                raise UserError(f"{run.root}: run directory exists; use --resume to continue "
                                f"it or --force to start it again")
            if not run.is_run():
                raise UserError(f"{run.root}: not an mcprop run directory (no config.toml "
                                f"and manifest.json); refusing to remove anything in it")
            for sub in OWN_FOLDERS:
                folder = run.root / sub
                if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                    raise UserError(f"{folder}: not a plain folder (a symlink?); refusing to "
                                    f"remove anything in it")
        try:
            run.root.mkdir(parents=True, exist_ok=True)
            run.acquire_lock()
            for sub, suffix in OWN_FOLDERS.items():
                folder = run.root / sub
                folder.mkdir(exist_ok=True)
                for old in folder.glob(f"m*{suffix}"):
                    if old.is_file() and not old.is_symlink():
                        old.unlink()
            for name in OWN_FILES:
                (run.root / name).unlink(missing_ok=True)
            document = tomli_w.dumps(without_none(resolved))
            atomic_write_bytes(run.config_file, document.encode())
        except OSError as exc:
            raise UserError(f"{run.root}: cannot write the run directory ({exc.strerror})") \
                from None
        return run

    @classmethod
    def open(cls, root: Path | str) -> "RunDirectory":
        """An existing run directory; UserError if it is not one."""
        run = cls(Path(root))
        if not run.root.is_dir():
            raise UserError(f"{run.root}: not a directory")
        for required in (run.config_file, run.manifest_file):
            if not required.is_file():
                raise UserError(f"{run.root}: not a run directory (no {required.name})")
        return run

    def acquire_lock(self) -> None:
        """Mark the directory as in use by this process; UserError if another live
        process holds it (a lock left by a dead process is taken over)."""
        try:
            fd = os.open(self.lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(self.lock_file.read_text().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and owner != os.getpid() and _alive(owner):
                raise UserError(f"{self.root}: in use by process {owner} (remove "
                                f"{self.lock_file.name} if that is wrong)") from None
            self.lock_file.unlink(missing_ok=True)
            return self.acquire_lock()
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")

    def release_lock(self) -> None:
        try:
            if int(self.lock_file.read_text().strip()) == os.getpid():
                self.lock_file.unlink()
        except (OSError, ValueError):
            pass

    # --- config and manifest -------------------------------------------------------------

    def config(self) -> dict:
        """The resolved config stored in the run, checked for the keys readers use."""
        try:
            config = tomllib.loads(_read_text(self.config_file))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"{self.config_file}: unreadable resolved config ({exc})") from None
        model = config.get("physics", {}).get("model") if isinstance(
            config.get("physics"), dict) else None
        for dotted in (*CONFIG_KEYS, *MODEL_KEYS.get(model, (*PRIOR_KEYS, *GRID_KEYS))):
            value = config
            for part in dotted.split("."):
                if not isinstance(value, dict) or part not in value:
                    raise UserError(f"{self.config_file}: {dotted}: missing from the resolved "
                                    f"config")
                value = value[part]
        if not isinstance(config["measurements"], list) or not all(
                isinstance(m, dict) and isinstance(m.get("name"), str)
                and isinstance(m.get("source"), str) for m in config["measurements"]):
            raise UserError(f"{self.config_file}: measurements: must be tables with a name "
                            f"and a source")
        return config

    def manifest(self) -> dict:
        """The manifest, checked for its keys and their types."""
        try:
            manifest = json.loads(_read_text(self.manifest_file))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{self.manifest_file}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict):
            raise UserError(f"{self.manifest_file}: not a JSON object")
        for key, kind in MANIFEST_TYPES.items():
            value = manifest.get(key)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise UserError(f"{self.manifest_file}: {key}: must be a {kind.__name__}, got "
                                f"{value!r}")
        if manifest["n_points"] < 1:
            raise UserError(f"{self.manifest_file}: n_points: must be >= 1")
        return manifest

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_json(self.manifest_file, manifest)

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
        except (TypeError, ValueError) as exc:
            raise UserError(f"{self.config_file}: mass_grid: {exc}") from None

    # --- per-mass results ----------------------------------------------------------------

    def write_mass(self, result: MassResult | MomentResult | FitResult, identity: RunIdentity,
                   attrs: dict) -> None:
        """The chains and the result of a finished grid point (the result last),
        atomically; then its checkpoint goes."""
        index = result.point_index
        write_inference_data(self.chains_file(index), result.draws,
                             {**attrs, "config_hash": identity.config_hash})
        mass = result.m_zprime_MeV if isinstance(result, MassResult) else None
        record = {"run": identity.for_point(index, mass), **result.record()}
        atomic_write_json(self.result_file(index), record)
        self.checkpoint_file(index).unlink(missing_ok=True)

    def read_result(self, index: int, identity: RunIdentity, grid_MeV: np.ndarray,
                    result_class: type, with_draws: bool = False
                    ) -> MassResult | MomentResult | FitResult:
        """The result of grid point ``index`` (a mass of ``grid_MeV``; the one point of a
        run without masses when ``grid_MeV`` is empty) as a ``result_class``, verified;
        ResultError saying what is wrong."""
        path = self.result_file(index)
        try:
            record = json.loads(_read_text(path))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ResultError(f"{path}: unreadable result ({exc})") from None
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
            result = result_class.from_record(record, self.read_draws(index))
        return result

    def read_draws(self, index: int) -> dict[str, np.ndarray]:
        path = self.chains_file(index)
        try:
            posterior = read_inference_data(path).posterior
            return {name: np.asarray(posterior[name].values) for name in posterior.data_vars}
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ResultError(f"{path}: unreadable chain file ({reason})") from None

    def stray_results(self, n_points: int) -> list[Path]:
        """Result files that name no grid point (a run's own writer never makes them)."""
        names = {self.result_file(i).name for i in range(n_points)}
        folder = self.root / "results"
        return sorted(p for p in folder.glob("*.json") if p.name not in names) \
            if folder.is_dir() else []

    def results(self, strict: bool = True) -> list[MassResult | MomentResult | FitResult]:
        """Every finished result in grid order. ``strict``: a bad or stray result file is a
        UserError; otherwise it is reported in a warning and left out (to be recomputed)."""
        config, identity = self.config(), self.identity()
        grid = self.grid_MeV(config)
        stray = self.stray_results(n_points(grid))
        if stray and strict:
            raise UserError(f"{stray[0]}: result file for no mass of the grid")
        out = []
        for index in range(n_points(grid)):
            if not self.result_file(index).exists():
                continue
            try:
                out.append(self.read_result(index, identity, grid,
                                            result_type(config["physics"]["model"])))
                if not strict:  # resuming: the chains must be readable too
                    self.read_draws(index)
            except ResultError as exc:
                if strict:
                    raise UserError(str(exc)) from None
                log.warning("%s; mass %d will be recomputed", exc, index)
                self.result_file(index).unlink(missing_ok=True)
                self.chains_file(index).unlink(missing_ok=True)
        return out


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


#: Largest text file a reader accepts [bytes]: far above any config, manifest or result.
MAX_TEXT_BYTES = 16 * 1024 * 1024


def _read_text(path: Path) -> str:
    """A regular file's text, refusing anything else or anything too large."""
    if not path.is_file():
        raise OSError(f"not a regular file: {path}")
    with open(path, "rb") as handle:
        data = handle.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise OSError(f"larger than {MAX_TEXT_BYTES} bytes")
    return data.decode()
