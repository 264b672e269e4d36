"""Run configuration: the one reader of a run's TOML file, and the plan it makes.

:func:`load_config` (a file) and :func:`config_from_dict` (a document given in Python) read
a run config with the schema of :mod:`mcprop.interface.schema`, then check the relations
between its sections, read the files it names (priors, solar profile, spectrum tables) and
turn it into a :class:`~mcprop.inference.plan.ScanPlan` (:func:`_plan`). Every error is one
line, ``FILE: KEY: REASON`` (:class:`ConfigError`), raised before anything is written or
computed.

Relative paths resolve against the config's folder. The resolved document (defaults filled
in, paths absolute, the concrete coupling prior) is what a run directory stores and what
the config hash covers.
"""

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mcprop.errors import ConfigError
from mcprop.files import (
    InputFileError,
    brief_repr,
    printable,
    read_bytes,
    read_text,
    read_toml,
    resolve_path,
)
from mcprop.inference.distributions import Fixed, PriorError
from mcprop.inference.expected import ExpectedSettings
from mcprop.inference.measurements import SystematicCorrelation
from mcprop.inference.moments import FLAT_MU2, PARAMETER_NAMES, profile_moments
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import G_PRIOR_POWERS, CouplingPrior, sampled_priors
from mcprop.inference.priors import load_prior_files
from mcprop.inference.results import MAGNETIC_MOMENT, STANDARD_MODEL
from mcprop.inference.spectrum import SpectrumMeasurement, borexino_phase2_spectrum
from mcprop.interface.schema import (
    FLAT_RATE,
    SCHEMA_VERSION,
    ConfigKeyError,
    Correlation,
    CouplingPriorSection,
    Rate,
    RelativeRate,
    RunSchema,
    Spectrum,
    SurvivalProbability,
    as_document,
    read_schema,
)
from mcprop.interface.shipped import find_config, output_here
from mcprop.physics.borexino_phase2 import BorexinoPhase2Data, load_borexino_phase2
from mcprop.physics.flavour import FLAVOUR_MODELS, DecoherentMSW, load_solar_profile
from mcprop.physics.magnetic_moment import MOMENT_SCHEMES
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.scattering import U1Model
from mcprop.physics.tables import csv_rows


def _csv_table(path: str, key_name: str) -> tuple[list[str], np.ndarray]:
    """Header and numbers of a CSV table ('#' lines are comments); ConfigKeyError at
    ``key_name`` if unreadable or not numeric."""
    try:
        text = read_text(path)
    except InputFileError as exc:
        raise ConfigKeyError(key_name, str(exc)) from None
    rows = csv_rows(text)
    if len(rows) < 2 or rows[0][0].strip() != "nh":
        raise ConfigKeyError(key_name, f"{path}: needs a header starting with 'nh' and rows")
    header = [name.strip() for name in rows[0]]
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise ConfigKeyError(key_name, f"{path}: the header names the column {twice[0]!r} twice")
    try:
        table = np.array(rows[1:], dtype=float)
    except ValueError as exc:
        raise ConfigKeyError(key_name, f"{path}: not a numeric table of {len(header)} columns "
                                    f"({exc})") from None
    if table.ndim != 2 or table.shape[1] != len(header):
        raise ConfigKeyError(key_name, f"{path}: rows must have the {len(header)} columns of the "
                                    f"header")
    nh = table[:, 0]
    if np.any(nh != np.round(nh)) or np.any(np.diff(nh) != 1):
        raise ConfigKeyError(key_name, f"{path}: nh must be consecutive integers (unit bins)")
    return header, table


def phase2_tables(spectrum_file: str | None, backgrounds_file: str | None
                  ) -> BorexinoPhase2Data:
    """The Borexino Phase-II spectrum and background tables (package data), with either
    replaced by the CSV file given."""
    data = load_borexino_phase2()
    if spectrum_file is not None:
        header, table = _csv_table(spectrum_file, "spectrum_file")
        if "counts" not in header:
            raise ConfigKeyError("spectrum_file", f"{spectrum_file}: no 'counts' column")
        data = replace(data, nh=table[:, 0].astype(int),
                       counts=table[:, header.index("counts")],
                       best_fit_counts=np.full(len(table), np.nan))
    if backgrounds_file is not None:
        header, table = _csv_table(backgrounds_file, "backgrounds_file")
        names = [name for name in header[1:] if name != "solar"]
        if not names:
            raise ConfigKeyError("backgrounds_file", f"{backgrounds_file}: no background column")
        columns = dict(zip(header, table.T, strict=True))
        data = replace(data, background_nh=table[:, 0].astype(int),
                       background_rates={name: columns[name] for name in names},
                       solar_rate=np.full(len(table), np.nan))
    return data


def spectrum_measurement(section: Spectrum) -> SpectrumMeasurement:
    """The spectrum measurement of a ``kind = "spectrum"`` section (data, backgrounds and
    response read); ConfigKeyError with keys relative to the section."""
    data = phase2_tables(section.spectrum_file, section.backgrounds_file)
    rates = data.background_rates
    chosen = list(rates) if section.backgrounds is None else list(section.backgrounds)
    unknown = [name for name in chosen if name not in rates]
    if unknown:
        raise ConfigKeyError("backgrounds", f"no background {unknown[0]!r} in the "
                                         f"background table (it has {', '.join(rates)})")
    data = replace(data, background_rates={name: rates[name] for name in chosen},
                   exposure_day_100t=section.exposure_day_100t)
    try:
        measurement = borexino_phase2_spectrum(*section.nh_range, section.bin_width_nh, data,
                                               section.name, load_nh_response(section.response),
                                               section.threshold_tilt,
                                               section.threshold_backgrounds,
                                               section.threshold_width_scale,
                                               section.threshold_offset_nh,
                                               section.c14_normalisation)
    except ValueError as exc:
        raise ConfigKeyError("", str(exc)) from None
    if not section.backgrounds_follow_response:
        measurement = replace(measurement, background_shapes=None)
    return measurement


# --- the run config ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """A validated run config: where it came from, the resolved document, the scan plan.

    ``path`` is the config file, or ``Path(name_for_errors)`` for a document given in Python.
    """

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


def config_hash(resolved: dict[str, Any]) -> str:
    """sha256 of what determines the results: the resolved config without its output
    folder and description, and the bytes of every prior, profile and data file."""
    content = copy.deepcopy(resolved)
    content.pop("output", None)
    content.pop("description", None)
    files = [*resolved["priors"]["files"], resolved["physics"]["solar_profile"],
             *(m.get(key) for m in resolved["measurements"]
               for key in ("spectrum_file", "backgrounds_file"))]
    try:
        data = [read_bytes(p).hex() for p in files if p is not None]
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    digest = hashlib.sha256(json.dumps([content, data], sort_keys=True).encode())
    return digest.hexdigest()


def load_config(path: Path | str, overrides: Mapping | None = None) -> RunConfig:
    """Read, validate and resolve the run config in the file ``path`` (or the shipped config
    of that name, see :mod:`mcprop.interface.shipped`); build its plan.

    ``overrides`` is a nested mapping merged into the document before it is read (e.g.
    ``{"sampler": {"seed": 5}, "output": {"directory": "/abs/dir"}}``); relative paths in
    it resolve against the config's folder like those of the file.
    """
    path, document = _config_file(path)
    return _resolve(document, path.parent, str(path), path, overrides)


def read_config(path: Path | str) -> dict[str, Any]:
    """The run config document in the file ``path`` (or the shipped config of that name) as
    a dict to edit and pass to :func:`mcprop.run`: checked like a run's config, its relative
    paths made absolute as a run resolves them (against the file's folder), the keys it
    leaves out left out (their defaults apply when it runs).

    Examples
    --------
    >>> d = mcprop.read_config("borexino-phase1")        # or "runs/borexino-phase1.toml"
    >>> d["mass_grid"]["n_masses"] = 10
    >>> r = mcprop.run(d)                                                # doctest: +SKIP
    """
    path, written = _config_file(path)
    _resolve(written, path.parent, str(path), path, None)  # checked as a run reads it
    return _as_written(written, as_document(read_schema(written, path.parent)))


def _as_written(written: Any, read: Any) -> Any:
    """The values of the document ``read`` at the keys (and list entries) of ``written``."""
    if isinstance(written, Mapping):
        return {name: _as_written(value, read[name]) for name, value in written.items()}
    if isinstance(written, list):
        return [_as_written(*pair) for pair in zip(written, read, strict=True)]
    return read


def _config_file(config: Path | str) -> tuple[Path, dict[str, Any]]:
    """The path and TOML document of the run config ``config`` (a file or a shipped name);
    a shipped config named writes its run under the current folder (``output_here``)."""
    try:
        path, name = find_config(config)
        path = resolve_path(path)
        document = read_toml(path)
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    if name is not None:
        document["output"]["directory"] = output_here(name, document["output"]["directory"])
    return path, document


def config_from_dict(document: Mapping, base_dir: Path | str, name_for_errors: str = "<dict>",
                     overrides: Mapping | None = None) -> RunConfig:
    """Validate and resolve a config given as a nested mapping (the TOML document's shape).

    Relative paths resolve against ``base_dir``; errors name ``name_for_errors``.
    """
    try:
        base = resolve_path(base_dir)
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    return _resolve(document, base, name_for_errors, Path(name_for_errors), overrides)


def _merged(document: Mapping, overrides: Mapping) -> dict:
    """``document`` with ``overrides`` merged in, table by table (neither is changed)."""
    merged = dict(document)
    for name, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = _merged(merged[name], value)
        else:
            merged[name] = value
    return merged


def _resolve(document: Any, base_dir: Path, source: str, path: Path,
             overrides: Mapping | None) -> RunConfig:
    try:
        if not isinstance(document, Mapping):
            raise ConfigKeyError("", f"must be a table of keys, got {brief_repr(document)}")
        if overrides is not None:
            if not isinstance(overrides, Mapping):
                raise ConfigKeyError("", f"overrides must be a table of keys, got "
                                      f"{brief_repr(overrides)}")
            document = _merged(document, overrides)
        version = document.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise ConfigKeyError("schema_version", f"must be {SCHEMA_VERSION}, got "
                                                f"{brief_repr(version)}")
        schema = read_schema(document, base_dir)
        resolved, plan = _plan(schema)
    except ConfigKeyError as exc:
        raise ConfigError(": ".join(part for part in (printable(source), exc.key, exc.reason)
                                  if part)) from None
    return RunConfig(path, resolved, plan)


def _plan(schema: RunSchema) -> tuple[dict[str, Any], ScanPlan]:
    """Check the relations between sections; the resolved document and the scan plan."""
    physics, sections = schema.physics, schema.measurements
    model, prior = _new_physics(schema)
    if schema.sampler.initial_np_fraction > prior.upper_np_fraction:
        raise ConfigKeyError("sampler.initial_np_fraction",
                          f"must not exceed coupling_prior.upper_np_fraction = "
                          f"{prior.upper_np_fraction:g} (walkers start inside the prior)")

    names = [m.name for m in sections]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigKeyError(f"measurements[{i}].name", f"{name!r} is already the name of "
                                                         f"measurements[{names.index(name)}]")
    if all(isinstance(m, SurvivalProbability) for m in sections):
        raise ConfigKeyError("measurements", "needs at least one rate, relative-rate or "
                                          "spectrum measurement")
    _check_datasets(sections)
    for i, m in enumerate(sections):
        if physics.standard_model and isinstance(m, Rate | RelativeRate):
            raise ConfigKeyError(f"measurements[{i}].kind",
                              f"a {STANDARD_MODEL} fit takes spectrum (and "
                              f"survival-probability) measurements, not {m.kind!r}")
    if physics.magnetic_moment:
        for i, m in enumerate(sections):
            if isinstance(m, Rate | RelativeRate) and (m.window_MeV is None
                                                       or m.window_MeV[0] <= 0):
                raise ConfigKeyError(f"measurements[{i}].window_MeV",
                                  f"a magnetic moment needs a recoil threshold: its 1/T "
                                  f"recoil spectrum diverges at T -> 0, so a rate without a "
                                  f"window [T1, T2] with T1 > 0 (a total line rate) cannot "
                                  f"constrain it (got {brief_repr(m.window_MeV)})")
    correlations = _correlations(schema.correlations, sections)

    flavour = FLAVOUR_MODELS[physics.flavour_model]
    if physics.flavour_model == "decoherent-msw":
        flavour = DecoherentMSW.from_solar_model(physics.composition)
    if physics.solar_profile is not None:
        try:
            read_text(physics.solar_profile)  # a bounded read: a regular, small text file
            flavour = DecoherentMSW(load_solar_profile(physics.solar_profile))
        except ValueError as exc:  # InputFileError included
            raise ConfigKeyError("physics.solar_profile", str(exc)) from None
    measurements = []
    for i, m in enumerate(sections):
        try:
            measurements.append(spectrum_measurement(m) if isinstance(m, Spectrum)
                                else m.measurement())
        except ConfigKeyError as exc:
            raise exc.under(f"measurements[{i}]") from None
    measurements = tuple(measurements)
    try:
        priors = sampled_priors(load_prior_files(schema.priors.files), flavour, measurements)
    except PriorError as exc:
        name = (exc.key or "").removeprefix("parameters.").partition(".")[0]
        if name in MOMENT_PARAMETERS:
            raise ConfigKeyError("priors.files", f"{exc.path}: parameters.{name}: a magnetic "
                                              f"moment is not a parameter of a prior file; a "
                                              f"magnetic-moment run samples the moments of "
                                              f"physics.moments with a prior flat in each "
                                              f"mu^2 >= 0") from None
        raise ConfigKeyError("priors.files", str(exc)) from None
    priors = _fixed(priors, schema.priors.fixed, schema.priors.fixed_at or {})
    n_new = (len(MOMENT_SCHEMES[physics.moments]) if physics.magnetic_moment
             else 0 if physics.standard_model else 1)
    n_sampled = len(priors.free_names) + n_new
    if not n_sampled:
        raise ConfigKeyError("priors.fixed", "fixes every sampled parameter: a fit needs at "
                                          "least one free parameter")
    if schema.sampler.n_walkers < 2 * n_sampled:
        raise ConfigKeyError("sampler.n_walkers", f"must be at least twice the {n_sampled} "
                                               f"sampled parameters, got "
                                               f"{schema.sampler.n_walkers}")

    if schema.expected.n_toys:
        _check_expected(schema)
    resolved = as_document(schema)
    resolved["coupling_prior"] = as_document(prior)
    if not schema.expected.n_toys:
        del resolved["expected"]  # no pseudo-experiments: the config hash as without them
    composition = (physics.composition if isinstance(flavour, DecoherentMSW)
                   and physics.solar_profile is None else None)
    common = dict(priors=priors, flavour=flavour, measurements=measurements,
                  composition=composition,
                  credibility=schema.limits.credibility, sampler=schema.sampler.settings(),
                  seed=schema.sampler.seed, sin2_theta_w=physics.sin2_theta_w,
                  radiative_corrections=physics.radiative_corrections,
                  profile_level=schema.limits.profile_delta_chi2, correlations=correlations)
    if physics.standard_model:
        for section in ("mass_grid", "coupling_prior"):
            resolved.pop(section, None)
        del resolved["physics"]["moments"]
        resolved["limits"]["profile_likelihood"] = False  # no new physics, no limit
        plan = ScanPlan(masses_MeV=np.empty(0), profile=False, standard_model=True, **common)
        return resolved, plan
    if physics.magnetic_moment:
        del resolved["mass_grid"]
        profile = schema.limits.profile_likelihood and bool(profile_moments(physics.moments))
        resolved["limits"]["profile_likelihood"] = profile
        plan = ScanPlan(masses_MeV=np.empty(0),
                        coupling_prior=CouplingPrior(upper_np_fraction=prior.upper_np_fraction),
                        profile=profile, moments=physics.moments,
                        expected=ExpectedSettings(schema.expected.n_toys, schema.expected.draw),
                        **common)
        return resolved, plan
    del resolved["physics"]["moments"]
    plan = ScanPlan(
        masses_MeV=schema.mass_grid.masses_MeV(),
        coupling_prior=CouplingPrior(prior.kind, prior.upper_np_fraction, prior.floor_g),
        interference=physics.interference,
        model=model,
        matter_potential=(physics.zprime_matter_potential and isinstance(flavour, DecoherentMSW)
                          and model.electron_charge != 0
                          and len(set(model.neutrino_charges)) > 1),  # B - L: universal
        profile=schema.limits.profile_likelihood,
        expected=ExpectedSettings(schema.expected.n_toys, schema.expected.draw),
        **common,
    )
    return resolved, plan


def _check_expected(schema: RunSchema) -> None:
    """Expected limits need a Z' or magnetic moments, and measured values to vary (rates,
    P_ee, spectra: a spectrum's toys at the constrained fit of its data)."""
    physics, sections = schema.physics, schema.measurements
    if physics.standard_model:
        raise ConfigKeyError("expected.n_toys", f"expected limits are computed for Z' runs and "
                                             f"magnetic moments, not for physics.model = "
                                             f"{physics.model!r}")
    for i, m in enumerate(sections):
        if isinstance(m, RelativeRate):
            raise ConfigKeyError("expected.n_toys", f"measurements[{i}] is a relative rate: its "
                                                 f"data equal the SM prediction by "
                                                 f"construction, so it has no value to vary")
        if isinstance(m, Spectrum) and schema.expected.draw != "best-fit":
            raise ConfigKeyError("expected.draw", f"measurements[{i}] is a spectrum: its toys "
                                               f"are drawn at the constrained fit of its data; "
                                               f"set draw = \"best-fit\" (got "
                                               f"{schema.expected.draw!r})")


#: Names a magnetic moment goes by (public keys and reported names).
MOMENT_PARAMETERS = frozenset({*PARAMETER_NAMES, *PARAMETER_NAMES.values(), "mu_eff"})


def _check_datasets(sections: tuple) -> None:
    """ConfigKeyError where two likelihood terms count the same events: the events of a
    ``dataset`` enter through one rate, relative-rate or spectrum measurement, except that a
    data set may give rates of several lines and no spectrum; a P_ee derived from a data set
    that gives a rate or spectrum needs ``allow_shared_dataset``."""
    counted: dict[str, list[int]] = {}
    for i, m in enumerate(sections):
        if not isinstance(m, SurvivalProbability) and m.dataset is not None:
            counted.setdefault(m.dataset, []).append(i)
    for i, m in enumerate(sections):
        if isinstance(m, SurvivalProbability):
            if m.dataset in counted and not m.allow_shared_dataset:
                raise ConfigKeyError(f"measurements[{i}].dataset",
                                  f"{m.dataset!r} is also the dataset of the measurement "
                                  f"{sections[counted[m.dataset][0]].name!r}: a P_ee derived "
                                  f"from the same data counts them twice (set "
                                  f"allow_shared_dataset = true, with the reason, if the two "
                                  f"are independent)")
            continue
        earlier = [sections[j] for j in counted.get(m.dataset, ()) if j < i]
        spectra = [e for e in earlier if isinstance(e, Spectrum)]
        if earlier and (spectra or isinstance(m, Spectrum)):
            other = earlier[0] if isinstance(m, Spectrum) else spectra[0]
            raise ConfigKeyError(f"measurements[{i}].dataset",
                              f"{m.dataset!r} is also the dataset of the {other.kind} "
                              f"measurement {other.name!r}: a spectrum holds every event of "
                              f"its dataset, so both count the same events twice")


def _fixed(priors, names: tuple[str, ...], values: Mapping[str, float]):
    """The priors with the parameters ``names`` held at their prior centres
    (``priors.fixed``) and those of ``values`` at the values given (``priors.fixed_at``);
    ConfigKeyError naming one the run does not sample or a value outside its prior."""
    held = {**{name: ("priors.fixed", None) for name in names},
            **{name: (f"priors.fixed_at.{name}", value) for name, value in values.items()}}
    for name, (where, value) in held.items():
        if name not in priors.free_names:
            raise ConfigKeyError(where.removesuffix(f".{name}"),
                              f"{name!r} is not a sampled parameter of this run (it samples "
                              f"{', '.join(priors.free_names)})")
        prior = priors.distributions[name]
        if value is None:
            value, why = prior.centre, "held at its prior centre by priors.fixed"
        else:
            low, high = prior.support
            if not low <= value <= high or not np.isfinite(prior.log_density(value)):
                raise ConfigKeyError(where, f"{value:g} lies outside the support of its prior "
                                         f"[{low:g}, {high:g}]")
            why = f"held at {value:g} by priors.fixed_at"
        priors = priors.with_override(name, Fixed(value=value),
                                      f"{why}; the prior: {priors.references[name]}")
    return priors


def flat_rate_kind(model: U1Model, interference: bool) -> str:
    """The prior flat in the new-physics rate near the limit, for ``model``.

    With a tree-level electron charge (L_e - L_mu, L_e - L_tau, B - L) the SM-Z'
    interference dominates and the rate change goes as C ~ g^2: ``flat-g2``. With a
    loop-induced electron coupling (L_mu - L_tau), or without interference, the Z' term
    C^2 ~ g^4 dominates: ``flat-g4``.
    """
    return "flat-g2" if interference and model.electron_charge else "flat-g4"


def _new_physics(schema: RunSchema) -> tuple[U1Model | None, "CouplingPriorSection"]:
    """The U(1)' model (None for magnetic moments and a Standard-Model fit) and the concrete
    prior section of the new physics; ConfigKeyError when the mass grid or the prior does not
    fit the model."""
    physics, prior = schema.physics, schema.coupling_prior
    if physics.standard_model:
        if schema.mass_grid is not None:
            raise ConfigKeyError("mass_grid", f"a {STANDARD_MODEL} fit has no mass grid (one "
                                           f"posterior); remove [mass_grid]")
        return None, prior
    if physics.magnetic_moment:
        if prior.kind not in (FLAT_RATE, FLAT_MU2):
            raise ConfigKeyError("coupling_prior.kind", f"{prior.kind!r} is a prior on the Z' "
                                                     f"coupling; a magnetic-moment run is flat "
                                                     f"in each mu^2 >= 0 (flat in the added "
                                                     f"rate): use {FLAT_RATE} or {FLAT_MU2}")
        if schema.mass_grid is not None:
            raise ConfigKeyError("mass_grid", "a magnetic-moment run has no mass grid (one "
                                           "posterior); remove [mass_grid]")
        return None, CouplingPriorSection(kind=FLAT_MU2,
                                          upper_np_fraction=prior.upper_np_fraction)
    if prior.kind == FLAT_MU2:
        raise ConfigKeyError("coupling_prior.kind", f"{FLAT_MU2} is the prior of "
                                                 f"magnetic-moment runs; for a Z' choose one "
                                                 f"of {FLAT_RATE}, {', '.join(G_PRIOR_POWERS)}")
    if schema.mass_grid is None:
        raise ConfigKeyError("mass_grid", f"missing (required): the Z' masses to scan "
                                       f"(mass_min_MeV, mass_max_MeV, n_masses); only model = "
                                       f"{MAGNETIC_MOMENT!r} runs without masses")
    model = physics.u1_model()
    if prior.kind == FLAT_RATE:
        if physics.kinetic_mixing:
            raise ConfigKeyError("coupling_prior.kind", "flat-rate is not a power of g with "
                                                     "physics.kinetic_mixing != 0; choose "
                                                     f"one of {', '.join(G_PRIOR_POWERS)}")
        prior = CouplingPriorSection(kind=flat_rate_kind(model, physics.interference),
                                     upper_np_fraction=prior.upper_np_fraction)
    return model, prior


def _correlations(entries: tuple[Correlation, ...], sections: tuple) -> tuple:
    """The correlated systematics of ``[[correlations]]``, by measurement index."""
    names = [m.name for m in sections]
    built, used = [], set()
    for i, entry in enumerate(entries):
        where = f"correlations[{i}].measurements"
        indices = []
        for name in entry.measurements:
            if name not in names:
                raise ConfigKeyError(where, f"no measurement named {name!r}")
            index = names.index(name)
            if not isinstance(sections[index], Rate):
                raise ConfigKeyError(where, f"{name!r} is not a rate measurement")
            if index in used:
                raise ConfigKeyError(where, f"{name!r} is already in a correlation")
            used.add(index)
            indices.append(index)
        built.append(SystematicCorrelation(*indices, entry.systematic_correlation,
                                           entry.source))
    return tuple(built)
