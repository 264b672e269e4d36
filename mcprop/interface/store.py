"""The run directory: resolved config, manifest, per-mass chains and results, limits.

Layout of ``RUN_DIR``::

    config.toml            the resolved config (defaults filled in, absolute paths)
    manifest.json          versions, seed, config hash, timings, per-mass convergence
    chains/mNNN.nc         ArviZ InferenceData (netCDF) of mass NNN, post burn-in
    results/mNNN.json      limit and diagnostics of mass NNN (written last: marks it done)
    checkpoints/mNNN.npz   chains of a mass in progress (removed when it finishes)
    limits.csv, limits.json, limit_curve.png

Everything is written atomically; a finished mass is written as soon as it finishes.
"""

import csv
import io
import json
import logging
import platform
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import tomli_w

from mcprop import __version__
from mcprop.inference.scan import RESULT_KEYS, MassFiles
from mcprop.inference.storage import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    read_inference_data,
)
from mcprop.interface.config import RunConfig, without_none
from mcprop.interface.errors import UserError

log = logging.getLogger(__name__)

#: Columns of limits.csv, in order, with their units in the names.
LIMIT_COLUMNS = ("m_zprime_MeV", "g_upper", "g_upper_mcse", "g_upper_profile", "ess", "rhat",
                 "tau_steps", "acceptance", "n_steps", "burn_in", "converged")
PACKAGES = ("mcprop", "numpy", "scipy", "emcee", "arviz", "corner", "matplotlib", "xarray",
            "netCDF4", "distributed")


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


class RunDirectory:
    """A run directory on disk."""

    def __init__(self, root: Path):
        self.root = Path(root)

    config_file = property(lambda self: self.root / "config.toml")
    manifest_file = property(lambda self: self.root / "manifest.json")
    limits_csv = property(lambda self: self.root / "limits.csv")
    limits_json = property(lambda self: self.root / "limits.json")
    plot_file = property(lambda self: self.root / "limit_curve.png")

    def files_for(self, index: int) -> MassFiles:
        return MassFiles(self.root / "checkpoints" / f"m{index:03d}.npz",
                         self.root / "chains" / f"m{index:03d}.nc",
                         self.root / "results" / f"m{index:03d}.json")

    # --- creating and opening -------------------------------------------------------------

    @classmethod
    def create(cls, config: RunConfig, force: bool = False) -> "RunDirectory":
        """A new run directory for ``config`` (an existing one only with ``force``)."""
        run = cls(config.output_dir)
        if run.root.exists() and any(run.root.iterdir()) and not force:
            raise UserError(f"{run.root}: run directory exists; use --resume to continue it "
                            f"or --force to start it again")
        try:
            run.root.mkdir(parents=True, exist_ok=True)
            for sub in ("chains", "results", "checkpoints"):
                folder = run.root / sub
                folder.mkdir(exist_ok=True)
                for old in folder.iterdir():
                    old.unlink()
            for old in (run.limits_csv, run.limits_json, run.plot_file):
                old.unlink(missing_ok=True)
            document = tomli_w.dumps(without_none(config.resolved))
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

    def manifest(self) -> dict:
        try:
            return json.loads(self.manifest_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{self.manifest_file}: unreadable manifest ({exc})") from None

    def write_manifest(self, manifest: dict) -> None:
        atomic_write_json(self.manifest_file, manifest)

    def new_manifest(self, config: RunConfig, argv: list[str]) -> dict:
        plan = config.plan
        return {"mcprop_version": __version__, "name": config.name, "config": str(config.path),
                "config_hash": config.config_hash, "seed": plan.seed,
                "command": " ".join(argv), "packages": package_versions(),
                "platform": platform.platform(), "started": now(), "finished": None,
                "n_masses": len(plan.masses_MeV), "masses": {}}

    # --- per-mass results ----------------------------------------------------------------

    def finished_results(self, n_masses: int) -> dict[int, dict]:
        """Results of finished masses; a corrupted result or chain file is reported in one
        line and its mass left to be recomputed."""
        done = {}
        for index in range(n_masses):
            files = self.files_for(index)
            if not files.result.exists():
                continue
            problem = self._check_finished(files)
            if problem is None:
                done[index] = json.loads(files.result.read_text())
                continue
            log.warning("mass %d: %s; it will be recomputed", index, problem)
            files.result.unlink(missing_ok=True)
            files.chains.unlink(missing_ok=True)
        return done

    @staticmethod
    def _check_finished(files: MassFiles) -> str | None:
        try:
            result = json.loads(files.result.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return f"corrupted result file {files.result}"
        if not isinstance(result, dict) or any(k not in result for k in RESULT_KEYS):
            return f"incomplete result file {files.result}"
        try:
            idata = read_inference_data(files.chains)
            idata.posterior["g"].values  # noqa: B018 - reads the data
        except Exception:
            return f"corrupted or missing chain file {files.chains}"
        return None

    def results(self) -> list[dict]:
        """All finished results in grid order (reads results/*.json)."""
        paths = sorted((self.root / "results").glob("m*.json"))
        out = []
        for path in paths:
            try:
                result = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UserError(f"{path}: unreadable result ({exc})") from None
            if not isinstance(result, dict) or type(result.get("mass_index")) is not int:
                raise UserError(f"{path}: not a result (no integer mass_index)")
            out.append(result)
        return sorted(out, key=lambda r: r["mass_index"])

    # --- limits ---------------------------------------------------------------------------

    def provenance_lines(self, config: dict) -> list[str]:
        """'#' lines of limits.csv: what the numbers are and where they come from."""
        measurements = "; ".join(f"{m['name']} ({m['source']})" for m in config["measurements"])
        cp = config["coupling_prior"]
        prior = cp["kind"] + (f" (floor g = {cp['floor_g']:g})" if cp.get("floor_g") else "")
        return [f"mcprop {__version__}: Bayesian upper limits on the L_mu - L_tau Z' coupling g",
                f"run: {config['name']}",
                f"credibility: {config['limits']['credibility']}",
                f"prior on g: {prior}, upper bound at {cp['upper_np_fraction']:g} x SM rate",
                f"flavour model: {config['physics']['flavour_model']}; interference: "
                f"{config['physics']['interference']}",
                f"data: {measurements}",
                *[f"systematic correlation {c['systematic_correlation']} between "
                  f"{' and '.join(c['measurements'])} ({c['source']})"
                  for c in config.get("correlations", [])],
                f"priors: {', '.join(Path(p).name for p in config['priors']['files'])}",
                f"seed: {config['sampler']['seed']}; config hash: "
                f"{self.manifest().get('config_hash', '')}",
                "columns: m_zprime_MeV [MeV]; g_upper, g_upper_mcse, g_upper_profile "
                "[dimensionless]; tau_steps [steps]"]

    def write_limits(self, results: list[dict], config: dict) -> None:
        """limits.csv and limits.json of the finished masses, atomically."""
        provenance, rows = self.provenance_lines(config), limit_rows(results)
        atomic_write_text(self.limits_csv, csv_text(provenance, rows))
        atomic_write_text(self.limits_json, json_text(provenance, rows))


def limit_rows(results: list[dict]) -> list[dict]:
    """One row of ``LIMIT_COLUMNS`` per result, in the order given."""
    return [{key: result.get(key) for key in LIMIT_COLUMNS} for result in results]


def csv_text(provenance: list[str], rows: list[dict]) -> str:
    """limits.csv: '#' provenance lines, a header, one row per mass (floats as repr)."""
    buffer = io.StringIO()
    for line in provenance:
        buffer.write(f"# {line}\n")
    writer = csv.DictWriter(buffer, fieldnames=LIMIT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v
                         for k, v in row.items()})
    return buffer.getvalue()


def json_text(provenance: list[str], rows: list[dict]) -> str:
    """limits.json: {"provenance": [...], "columns": [...], "limits": [rows]}."""
    document = {"provenance": provenance, "columns": list(LIMIT_COLUMNS), "limits": rows}
    return json.dumps(document, indent=2) + "\n"


def read_config(run: RunDirectory) -> dict:
    """The resolved config stored in a run directory."""
    try:
        return tomllib.loads(run.config_file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{run.config_file}: unreadable resolved config ({exc})") from None
