"""Run configuration: loading, validation and resolution of a run's TOML file.

Every error names the file, the key and the reason in one line (:class:`UserError`).
Relative paths resolve against the config's folder. The resolved config (defaults filled
in, paths absolute) is what a run directory stores and what the config hash covers.
"""

import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from mcprop.inference.measurements import (
    RateMeasurement,
    RelativeRateMeasurement,
    SurvivalProbabilityMeasurement,
    SystematicCorrelation,
)
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import G_PRIOR_POWERS, CouplingPrior, sampled_priors
from mcprop.inference.priors import PriorError, load_prior_files
from mcprop.inference.sampler import SamplerSettings
from mcprop.interface.errors import UserError
from mcprop.physics.constants import SIN2_THETA_W_LOW_ENERGY
from mcprop.physics.flavour import (
    FLAVOUR_MODELS,
    DecoherentMSW,
    flavour_model,
    load_solar_profile,
)
from mcprop.physics.kernels import DetectorResponse
from mcprop.physics.scattering import LMU_LTAU, MODELS
from mcprop.physics.solar import BE7_LINES

SCHEMA_VERSION = 1

#: Every section and key a config may hold, with defaults (None: required, no default).
DEFAULTS: dict[str, Any] = {
    "schema_version": None,
    "name": None,
    "description": "",
    "physics": {"model": LMU_LTAU.name, "flavour_model": "decoherent-vacuum",
                "interference": True, "sin2_theta_w": SIN2_THETA_W_LOW_ENERGY,
                "solar_profile": None, "kinetic_mixing": 0.0},
    "priors": {"files": None},
    "measurements": None,
    "correlations": [],
    "mass_grid": {"mass_min_MeV": None, "mass_max_MeV": None, "n_masses": None},
    "coupling_prior": {"kind": "flat-g4", "upper_np_fraction": 10.0, "floor_g": None},
    "limits": {"credibility": 0.9, "profile_likelihood": True},
    "sampler": {"seed": None, **{f.name: f.default for f in fields(SamplerSettings)}},
    "output": {"directory": None},
}

MEASUREMENT_KEYS: dict[str, dict[str, Any]] = {
    "rate": {"name": None, "lines": None, "value_cpd100t": None, "stat_cpd100t": None,
             "syst_plus_cpd100t": None, "syst_minus_cpd100t": None, "source": None,
             "window_MeV": None, "resolution_MeV": 0.0},
    "relative-rate": {"name": None, "lines": None, "relative_error": None,
                      "reference_rate_cpd100t": None, "source": None, "window_MeV": None,
                      "resolution_MeV": 0.0},
    "survival-probability": {"name": None, "line": None, "value": None, "sigma_plus": None,
                             "sigma_minus": None, "source": None},
}
OPTIONAL = {"floor_g", "window_MeV", "solar_profile"}


@dataclass(frozen=True)
class RunConfig:
    """A validated run config: the resolved document, where it came from, the scan plan."""

    path: Path
    resolved: dict[str, Any]
    plan: ScanPlan

    @property
    def name(self) -> str:
        return self.resolved["name"]

    @property
    def output_dir(self) -> Path:
        return Path(self.resolved["output"]["directory"])

    @property
    def config_hash(self) -> str:
        return config_hash(self.resolved)


def mass_grid_MeV(mass_min_MeV: float, mass_max_MeV: float, n_masses: int) -> np.ndarray:
    """The run's Z' masses [MeV]: ``n_masses`` log-spaced from min to max."""
    return np.geomspace(mass_min_MeV, mass_max_MeV, n_masses)


def without_none(value):
    """A copy of a resolved document without unset (None) entries, as TOML has no null."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def config_hash(resolved: dict[str, Any]) -> str:
    """sha256 of what determines the results: the resolved config without its output
    folder and description, and the bytes of every prior and profile file."""
    content = copy.deepcopy(resolved)
    content.pop("output", None)
    content.pop("description", None)
    files = [*resolved["priors"]["files"], resolved["physics"]["solar_profile"]]
    data = [Path(p).read_bytes().hex() for p in files if p is not None]
    digest = hashlib.sha256(json.dumps([content, data], sort_keys=True).encode())
    return digest.hexdigest()


class _Reader:
    """Reads typed values from a TOML table, naming file and key in every error."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, reason: str) -> UserError:
        return UserError(f"{self.path}: {key}: {reason}")

    def table(self, doc: dict, key: str, defaults: dict[str, Any]) -> dict[str, Any]:
        """Merge ``doc`` over ``defaults``, refusing unknown and missing keys."""
        if not isinstance(doc, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(doc) - set(defaults))
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0],
                            f"unknown key (allowed: {', '.join(defaults)})")
        merged = {}
        for name, default in defaults.items():
            full = f"{key}.{name}" if key else name
            if isinstance(default, dict):
                merged[name] = self.table(doc.get(name, {}), full, default)
            elif name in doc:
                merged[name] = doc[name]
            elif default is None and name not in OPTIONAL:
                raise self.fail(full, "missing (required)")
            else:
                merged[name] = default
        return merged

    def number(self, value, key: str, low: float = -math.inf, high: float = math.inf,
               low_open: bool = False, high_open: bool = False, integer: bool = False):
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(key, f"must be {'an integer' if integer else 'a number'}, "
                                 f"got {value!r}")
        if not math.isfinite(value):
            raise self.fail(key, f"must be finite, got {value!r}")
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise self.fail(key, f"must lie in {bounds}, got {value!r}")
        return value

    def string(self, value, key: str, choices=None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(key, f"unknown value {value!r} (choose one of "
                                 f"{', '.join(sorted(choices))})")
        return value

    def boolean(self, value, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value


def _merged(document: dict, overrides: Mapping | None) -> dict:
    """``document`` with the nested ``overrides`` applied (tables merged, values replaced)."""
    merged = dict(document)
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_from_dict(document: Mapping, base_dir: Path | str = ".",
                     overrides: Mapping | None = None) -> RunConfig:
    """Validate a config given as a dict; relative paths resolve against ``base_dir``."""
    path = Path(base_dir).resolve() / "<dict>"
    return resolve_config(_merged(copy.deepcopy(dict(document)), overrides), path)


def load_config(path: Path | str, overrides: Mapping | None = None) -> RunConfig:
    """Read, validate and resolve a run config (with ``overrides``, a nested dict such as
    ``{"sampler": {"seed": 5}}``, applied before resolution); build its scan plan."""
    path = Path(path).resolve() if Path(path).exists() else Path(path)
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML ({exc})") from None
    return resolve_config(_merged(document, overrides), path)


def resolve_config(document: dict[str, Any], path: Path) -> RunConfig:
    """Validate a parsed config whose relative paths resolve against ``path``'s folder."""
    r = _Reader(path)
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise r.fail("schema_version", f"must be {SCHEMA_VERSION}, got {version!r}")
    doc = r.table(document, "", DEFAULTS)
    doc["name"] = r.string(doc["name"], "name")
    if not isinstance(doc["description"], str):
        raise r.fail("description", "must be a string")
    base = path.parent

    physics = doc["physics"]
    r.string(physics["model"], "physics.model", MODELS)
    r.string(physics["flavour_model"], "physics.flavour_model", FLAVOUR_MODELS)
    r.boolean(physics["interference"], "physics.interference")
    r.number(physics["sin2_theta_w"], "physics.sin2_theta_w", 0, 1, True, True)
    r.number(physics["kinetic_mixing"], "physics.kinetic_mixing", -1, 1)
    model = replace(MODELS[physics["model"]], kinetic_mixing=physics["kinetic_mixing"])

    flavour = _flavour(r, physics, base)

    files = doc["priors"]["files"]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise r.fail("priors.files", "must be a non-empty list of file paths")
    doc["priors"]["files"] = [str((base / f).resolve()) for f in files]
    try:
        priors = sampled_priors(load_prior_files(doc["priors"]["files"]), flavour)
    except PriorError as exc:
        raise r.fail("priors.files", str(exc)) from None

    measurements = _measurements(r, doc)
    correlations = _correlations(r, doc, measurements)
    grid = doc["mass_grid"]
    low = r.number(grid["mass_min_MeV"], "mass_grid.mass_min_MeV", 0, low_open=True)
    high = r.number(grid["mass_max_MeV"], "mass_grid.mass_max_MeV", 0, low_open=True)
    count = r.number(grid["n_masses"], "mass_grid.n_masses", 1, 10000, integer=True)
    if high < low or (high == low and count > 1):
        raise r.fail("mass_grid.mass_max_MeV", f"must exceed mass_min_MeV = {low:g}")

    cp = doc["coupling_prior"]
    r.string(cp["kind"], "coupling_prior.kind", G_PRIOR_POWERS)
    r.number(cp["upper_np_fraction"], "coupling_prior.upper_np_fraction", 0, low_open=True)
    if cp["kind"] == "log-flat" or cp["floor_g"] is not None:
        if cp["floor_g"] is None:
            raise r.fail("coupling_prior.floor_g", "required for the log-flat prior")
        r.number(cp["floor_g"], "coupling_prior.floor_g", 0, low_open=True)

    lim = doc["limits"]
    r.number(lim["credibility"], "limits.credibility", 0, 1, True, True)
    r.boolean(lim["profile_likelihood"], "limits.profile_likelihood")

    s = doc["sampler"]
    r.number(s["seed"], "sampler.seed", 0, 2**63 - 1, integer=True)
    for key in ("n_ensembles", "n_walkers", "chunk_steps", "max_steps"):
        r.number(s[key], f"sampler.{key}", 1, integer=True)
    for key in ("burn_in_tau", "min_kept_tau", "min_ess", "initial_np_fraction"):
        r.number(s[key], f"sampler.{key}", 0)
    r.number(s["max_rhat"], "sampler.max_rhat", 1, low_open=True)
    r.number(s["max_relative_mcse"], "sampler.max_relative_mcse", 0, low_open=True)
    n_sampled = len(priors.free_names) + 1
    if s["n_walkers"] < 2 * n_sampled:
        raise r.fail("sampler.n_walkers", f"must be at least twice the {n_sampled} sampled "
                                          f"parameters, got {s['n_walkers']}")
    try:
        settings = SamplerSettings(**{k: v for k, v in s.items() if k != "seed"})
        coupling_prior = CouplingPrior(cp["kind"], cp["upper_np_fraction"], cp["floor_g"])
    except ValueError as exc:
        raise r.fail("sampler", str(exc)) from None

    out = r.string(doc["output"]["directory"], "output.directory")
    doc["output"]["directory"] = str((base / out).resolve())

    plan = ScanPlan(
        masses_MeV=mass_grid_MeV(low, high, count),
        priors=priors,
        flavour=flavour,
        measurements=measurements,
        coupling_prior=coupling_prior,
        credibility=lim["credibility"],
        sampler=settings,
        seed=s["seed"],
        interference=physics["interference"],
        model=model,
        sin2_theta_w=physics["sin2_theta_w"],
        profile=lim["profile_likelihood"],
        correlations=correlations,
    )
    return RunConfig(path, doc, plan)


def _flavour(r: _Reader, physics: dict[str, Any], base: Path):
    """The flavour model; ``decoherent-msw`` reads ``physics.solar_profile`` if given."""
    name = physics["flavour_model"]
    if physics["solar_profile"] is None:
        return flavour_model(name)
    if name != "decoherent-msw":
        raise r.fail("physics.solar_profile", "only the decoherent-msw model uses a profile")
    path = base / r.string(physics["solar_profile"], "physics.solar_profile")
    physics["solar_profile"] = str(path.resolve())
    try:
        return DecoherentMSW(load_solar_profile(path))
    except ValueError as exc:
        raise r.fail("physics.solar_profile", str(exc)) from None


def _measurements(r: _Reader, doc: dict[str, Any]) -> tuple:
    """Build the measurement terms of ``[[measurements]]``."""
    entries = doc["measurements"]
    if not isinstance(entries, list) or not entries:
        raise r.fail("measurements", "must be a non-empty array of tables [[measurements]]")
    built, resolved = [], []
    for i, entry in enumerate(entries):
        key = f"measurements[{i}]"
        if not isinstance(entry, dict):
            raise r.fail(key, "must be a table")
        kind = r.string(entry.get("kind"), f"{key}.kind", MEASUREMENT_KEYS)
        m = r.table({k: v for k, v in entry.items() if k != "kind"}, key, MEASUREMENT_KEYS[kind])
        r.string(m["name"], f"{key}.name")
        r.string(m["source"], f"{key}.source")
        if kind == "survival-probability":
            r.string(m["line"], f"{key}.line", BE7_LINES)
            r.number(m["value"], f"{key}.value", 0, 1)
            for side in ("sigma_plus", "sigma_minus"):
                r.number(m[side], f"{key}.{side}", 0, low_open=True)
            built.append(SurvivalProbabilityMeasurement(m["name"], m["line"], m["value"],
                                                        m["sigma_plus"], m["sigma_minus"],
                                                        m["source"]))
        else:
            lines = m["lines"]
            if not isinstance(lines, list) or not lines:
                raise r.fail(f"{key}.lines", f"must be a non-empty list of lines from "
                                             f"{', '.join(BE7_LINES)}")
            for line in lines:
                r.string(line, f"{key}.lines", BE7_LINES)
            response = _response(r, m, key)
            if kind == "rate":
                r.number(m["value_cpd100t"], f"{key}.value_cpd100t", 0, low_open=True)
                for err in ("stat_cpd100t", "syst_plus_cpd100t", "syst_minus_cpd100t"):
                    r.number(m[err], f"{key}.{err}", 0)
                if m["stat_cpd100t"] == 0 and 0 in (m["syst_plus_cpd100t"],
                                                    m["syst_minus_cpd100t"]):
                    raise r.fail(f"{key}.stat_cpd100t", "the total error must be > 0")
                built.append(RateMeasurement(m["name"], tuple(lines), m["value_cpd100t"],
                                             m["stat_cpd100t"], m["syst_plus_cpd100t"],
                                             m["syst_minus_cpd100t"], m["source"], response))
            else:
                r.number(m["relative_error"], f"{key}.relative_error", 0, low_open=True)
                r.number(m["reference_rate_cpd100t"], f"{key}.reference_rate_cpd100t", 0,
                         low_open=True)
                built.append(RelativeRateMeasurement(m["name"], tuple(lines),
                                                     m["relative_error"],
                                                     m["reference_rate_cpd100t"], m["source"],
                                                     response))
        resolved.append({"kind": kind, **m})
    if all(isinstance(b, SurvivalProbabilityMeasurement) for b in built):
        raise r.fail("measurements", "needs at least one rate or relative-rate measurement")
    doc["measurements"] = resolved
    return tuple(built)


CORRELATION_KEYS = {"measurements": None, "systematic_correlation": None, "source": None}


def _correlations(r: _Reader, doc: dict[str, Any], measurements: tuple) -> tuple:
    """``[[correlations]]``: correlated systematics of pairs of rate measurements."""
    entries = doc["correlations"]
    if not isinstance(entries, list):
        raise r.fail("correlations", "must be an array of tables [[correlations]]")
    names = [getattr(m, "name", None) for m in measurements]
    built, used = [], set()
    for i, entry in enumerate(entries):
        key = f"correlations[{i}]"
        c = r.table(entry, key, CORRELATION_KEYS)
        pair = c["measurements"]
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]):
            raise r.fail(f"{key}.measurements", "must name two different measurements")
        indices = []
        for name in pair:
            if name not in names:
                raise r.fail(f"{key}.measurements", f"no measurement named {name!r}")
            index = names.index(name)
            if not isinstance(measurements[index], RateMeasurement):
                raise r.fail(f"{key}.measurements", f"{name!r} is not a rate measurement")
            if index in used:
                raise r.fail(f"{key}.measurements", f"{name!r} is already in a correlation")
            used.add(index)
            indices.append(index)
        r.number(c["systematic_correlation"], f"{key}.systematic_correlation", -1, 1, True,
                 True)
        r.string(c["source"], f"{key}.source")
        built.append(SystematicCorrelation(*indices, c["systematic_correlation"], c["source"]))
        entries[i] = c
    return tuple(built)


def _response(r: _Reader, m: dict[str, Any], key: str) -> DetectorResponse:
    window = m["window_MeV"]
    resolution = r.number(m["resolution_MeV"], f"{key}.resolution_MeV", 0)
    if window is None:
        if resolution:
            raise r.fail(f"{key}.resolution_MeV", "needs window_MeV")
        return DetectorResponse()
    if not (isinstance(window, list) and len(window) == 2):
        raise r.fail(f"{key}.window_MeV", "must be [T1, T2] in MeV")
    for value in window:
        r.number(value, f"{key}.window_MeV", 0)
    if window[0] >= window[1]:
        raise r.fail(f"{key}.window_MeV", f"T1 must be below T2, got {window}")
    return DetectorResponse(tuple(window), resolution)
