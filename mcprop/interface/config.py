"""Run configuration: the schema of a run's TOML file, and the one reader that applies it.

The schema is a set of frozen dataclasses, one per section: :class:`Physics`,
:class:`Priors`, one per kind of ``[[measurements]]`` (:class:`Rate`,
:class:`RelativeRate`, :class:`SurvivalProbability`), :class:`Correlation`,
:class:`MassGrid`, :class:`CouplingPriorSection`, :class:`Limits`, :data:`Sampler` and
:class:`Output`, gathered in :class:`RunSchema`. A field is a key: its annotation is the
type, its default the default (none: required) and its metadata the :class:`Rule` (bounds,
choices, kind of text, unit). Where an engine dataclass has the same setting, the default
is read from it (SamplerSettings, CouplingPrior, ScanPlan, DetectorResponse), so every
default is written once; the sampler section is made from the fields of SamplerSettings.

One generic reader turns a TOML table into a section: unknown keys are refused, missing
required keys reported, every value checked against its type and rule. Relations between
the keys of a section are checked by the section's ``__post_init__``, relations between
sections by :func:`_plan`. Every error is one line, ``FILE: KEY: REASON``
(:class:`UserError`), raised before anything is written or computed.

Relative paths resolve against the config's folder. The resolved document (defaults filled
in, paths absolute, the concrete coupling prior) is what a run directory stores and what
the config hash covers.
"""

import copy
import hashlib
import json
import math
import numbers
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, make_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

import numpy as np

from mcprop.files import (
    InputFileError,
    brief_repr,
    output_folder,
    printable,
    read_bytes,
    read_text,
    read_toml,
    resolve_path,
)
from mcprop.inference.expected import DRAW_MODES, ExpectedSettings
from mcprop.inference.measurements import (
    RateMeasurement,
    RelativeRateMeasurement,
    SurvivalProbabilityMeasurement,
    SystematicCorrelation,
)
from mcprop.inference.moments import FLAT_MU2, PARAMETER_NAMES, profile_moments
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import G_PRIOR_POWERS, CouplingPrior, sampled_priors
from mcprop.inference.priors import Fixed, PriorError, load_prior_files
from mcprop.inference.results import MAGNETIC_MOMENT, MAX_MASSES, STANDARD_MODEL, mass_grid_MeV
from mcprop.inference.sampler import PROPOSALS, SamplerSettings
from mcprop.inference.spectrum import (
    BOREXINO_PHASE2_NH_FLOOR,
    SpectrumMeasurement,
    borexino_phase2_spectrum,
)
from mcprop.interface.errors import UserError
from mcprop.interface.shipped import find_config, output_here
from mcprop.physics.flavour import (
    DEFAULT_FLAVOUR_MODEL,
    FLAVOUR_MODELS,
    DecoherentMSW,
    load_solar_profile,
)
from mcprop.physics.kernels import DetectorResponse
from mcprop.physics.magnetic_moment import MOMENT_SCHEMES
from mcprop.physics.scattering import MASS_RANGE_MEV, MODELS, U1Model, t_max_MeV
from mcprop.physics.solar import BE7_LINES, COMPOSITIONS
from mcprop.physics.spectral import (
    BOREXINO_PHASE2_EXPOSURE_DAY_100T,
    NH_RESPONSES,
    BorexinoPhase2Data,
    load_borexino_phase2,
    load_nh_response,
)
from mcprop.physics.threshold_backgrounds import THRESHOLD_MODELS

SCHEMA_VERSION = 1

#: Largest rate a measurement may state [cpd/100t]: 75 times the largest solar-neutrino
#: rate Borexino measures (pp, 134 +- 10 cpd/100t, Nature 562, 505 (2018)).
MAX_RATE_CPD100T = 1e4
#: Smallest total error of a measurement relative to its value (or to 1 for P_ee).
MIN_RELATIVE_ERROR = 1e-6
#: Largest recoil energy of a window [MeV]: beyond every solar-neutrino recoil (the 8B and
#: hep spectra end below 20 MeV).
MAX_RECOIL_MEV = 100.0
#: Largest resolution coefficient a [MeV] (sigma_T = a sqrt(T/MeV)): 100% at 1 MeV,
#: twenty times Borexino's 5%.
MAX_RESOLUTION_MEV = 1.0
#: Most entries of any list (prior files, lines, measurements, correlations).
MAX_ITEMS = 100

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+,:;()\[\]'=%&-]{0,99}")
#: Kinds of free text: the test a value must pass, and what it requires. Names (of runs and
#: data sets) become parts of paths; labels (of measurements) appear in legends and CSV
#: comment lines; prose (sources, descriptions) in provenance records.
TEXT_KINDS: dict[str, tuple[Callable[[str], bool], str]] = {
    "name": (_NAME.fullmatch, "1 to 100 characters A-Z a-z 0-9 . _ + -, starting with a "
                              "letter or digit"),
    "label": (_LABEL.fullmatch, "1 to 100 characters: letters, digits, spaces and "
                                ". _ + , : ; ( ) [ ] ' = % & -, starting with a letter or digit"),
    "prose": (lambda text: 0 < len(text) <= 2000 and text.isprintable(),
              "one line of at most 2000 printable characters (no newline, tab or other "
              "control character)"),
}


class ConfigError(ValueError):
    """A bad value in a config document: the dotted ``key`` and the ``reason``."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")

    def under(self, prefix: str) -> "ConfigError":
        """The same error with its key placed under ``prefix``."""
        return ConfigError(_join(prefix, self.key), self.reason)


def _join(prefix: str, key: str) -> str:
    if not prefix:
        return key
    if not key or key.startswith("["):
        return f"{prefix}{key}"
    return f"{prefix}.{key}"


@dataclass(frozen=True)
class Rule:
    """How the value of one key is checked beyond its type.

    Attributes
    ----------
    low, high, low_open, high_open : float, bool
        Bounds of a number (or of each number of a list); open bounds are excluded.
    choices : tuple of str or None
        The allowed values of a string.
    text : str
        Kind of free text (a key of :data:`TEXT_KINDS`; ``path``: resolved against the
        config's folder; ``folder``: an output folder, the same but its own name never
        resolved, see :func:`mcprop.files.output_folder`) when there are no choices.
    empty_ok : bool
        An empty string is allowed.
    min_items, max_items : int
        Length bounds of a list.
    unit : str
        Unit named in the error messages.
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    text: str = "prose"
    empty_ok: bool = False
    min_items: int = 1
    max_items: int = MAX_ITEMS
    unit: str = ""

    def bounds_text(self) -> str:
        interval = (f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        return f"{interval} {self.unit}".rstrip()


def key(default: Any = MISSING, **rule) -> Any:
    """A schema field: its default (none: required) and its :class:`Rule`."""
    return field(default=default, metadata={"rule": Rule(**rule)})


def default_of(cls: type, name: str) -> Any:
    """The default of field ``name`` of the dataclass ``cls`` (an engine setting)."""
    return next(f.default for f in fields(cls) if f.name == name)


# --- sections --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Physics:
    """``[physics]``: the new physics (a U(1)' model, or flavour-diagonal magnetic moments
    with their scheme ``moments``), the flavour picture and the cross section."""

    model: str = key(default_of(ScanPlan, "model").name,
                     choices=(*MODELS, MAGNETIC_MOMENT, STANDARD_MODEL))
    moments: str | None = key(None, choices=tuple(MOMENT_SCHEMES))
    flavour_model: str = key(DEFAULT_FLAVOUR_MODEL, choices=tuple(FLAVOUR_MODELS))
    interference: bool = key(default_of(ScanPlan, "interference"))
    radiative_corrections: bool = key(True)
    composition: str = key("gs98", choices=COMPOSITIONS)
    zprime_matter_potential: bool = key(True)
    sin2_theta_w: float | None = key(default_of(ScanPlan, "sin2_theta_w"), low=0, high=1,
                                     low_open=True, high_open=True)
    solar_profile: str | None = key(None, text="path")
    kinetic_mixing: float = key(default_of(U1Model, "kinetic_mixing"), low=-1, high=1)

    def __post_init__(self):
        if self.solar_profile is not None and self.flavour_model != "decoherent-msw":
            raise ConfigError("solar_profile", "only the decoherent-msw flavour model reads a "
                                               "solar profile")
        if self.model == STANDARD_MODEL and self.kinetic_mixing:
            raise ConfigError("kinetic_mixing", f"a Z' setting; model = {STANDARD_MODEL!r} "
                                                f"has no Z'")
        if self.model != MAGNETIC_MOMENT:
            if self.moments is not None:
                raise ConfigError("moments", f"only model = {MAGNETIC_MOMENT!r} has moments "
                                             f"(model is {self.model!r})")
            return
        if self.moments is None:  # one moment shared by all flavours
            object.__setattr__(self, "moments", "universal")
        if self.kinetic_mixing:
            raise ConfigError("kinetic_mixing", f"a Z' setting; model = {MAGNETIC_MOMENT!r} "
                                                f"has no Z'")

    @property
    def magnetic_moment(self) -> bool:
        return self.model == MAGNETIC_MOMENT

    @property
    def standard_model(self) -> bool:
        return self.model == STANDARD_MODEL

    def u1_model(self) -> U1Model:
        """The U(1)' model with the extra kinetic mixing."""
        return replace(MODELS[self.model], kinetic_mixing=self.kinetic_mixing)


@dataclass(frozen=True, kw_only=True)
class Priors:
    """``[priors]``: the prior files; only the parameters the model reads are sampled.
    ``fixed`` holds parameters at their prior centres (a uniform prior's midpoint),
    ``fixed_at`` at stated values: ``fixed_at = {bkg_kr85_norm = 1.0}``."""

    files: tuple[str, ...] = key(text="path")
    fixed: tuple[str, ...] = key((), text="name", min_items=0)
    fixed_at: dict[str, float] | None = key(None, text="name")

    def __post_init__(self):
        if len(set(self.fixed)) < len(self.fixed):
            raise ConfigError("fixed", f"names a parameter twice: {list(self.fixed)}")
        both = sorted(set(self.fixed) & set(self.fixed_at or {}))
        if both:
            raise ConfigError("fixed_at", f"names {', '.join(both)}, already in priors.fixed")


@dataclass(frozen=True, kw_only=True)
class _Measured:
    """Keys every measurement has; ``dataset`` names the data it is derived from."""

    kind: ClassVar[str]
    name: str = key(text="label")
    source: str = key(text="prose")
    dataset: str | None = key(None, text="name")


@dataclass(frozen=True, kw_only=True)
class _LineRate(_Measured):
    """Keys of the measurements of a line rate: the lines and the detector response."""

    lines: tuple[str, ...] = key(choices=tuple(BE7_LINES), max_items=len(BE7_LINES))
    window_MeV: tuple[float, float] | None = key(default_of(DetectorResponse, "window_MeV"),
                                                 low=0, high=MAX_RECOIL_MEV, unit="MeV")
    resolution_MeV: float = key(default_of(DetectorResponse, "resolution_MeV"), low=0,
                                high=MAX_RESOLUTION_MEV, unit="MeV")

    def __post_init__(self):
        if len(set(self.lines)) < len(self.lines):
            raise ConfigError("lines", f"names a line twice: {list(self.lines)}")
        if self.window_MeV is None:
            if self.resolution_MeV:
                raise ConfigError("resolution_MeV", "needs window_MeV")
            return
        low, high = self.window_MeV
        if low >= high:
            raise ConfigError("window_MeV", f"T1 must be below T2, got {list(self.window_MeV)}")
        t_max = max(float(t_max_MeV(BE7_LINES[line].energy_MeV)) for line in self.lines)
        if low >= t_max:
            raise ConfigError("window_MeV", f"starts at T1 = {low:g} MeV, above the largest "
                                            f"recoil energy T_max = {t_max:.4g} MeV of the "
                                            f"lines {', '.join(self.lines)} (energies in MeV)")

    def response(self) -> DetectorResponse:
        return DetectorResponse(self.window_MeV, self.resolution_MeV)


@dataclass(frozen=True, kw_only=True)
class Rate(_LineRate):
    """``kind = "rate"``: a measured rate; stat and syst errors add in quadrature."""

    kind: ClassVar[str] = "rate"
    value_cpd100t: float = key(low=0, high=MAX_RATE_CPD100T, low_open=True, unit="cpd/100t")
    stat_cpd100t: float = key(low=0, high=MAX_RATE_CPD100T, unit="cpd/100t")
    syst_plus_cpd100t: float = key(low=0, high=MAX_RATE_CPD100T, unit="cpd/100t")
    syst_minus_cpd100t: float = key(low=0, high=MAX_RATE_CPD100T, unit="cpd/100t")

    def __post_init__(self):
        super().__post_init__()
        smallest = MIN_RELATIVE_ERROR * self.value_cpd100t
        for side in ("syst_plus_cpd100t", "syst_minus_cpd100t"):
            total = math.hypot(self.stat_cpd100t, getattr(self, side))
            if total < smallest:
                raise ConfigError(side, f"the total error on this side, {total:g} cpd/100t "
                                        f"with the stat error, is below {MIN_RELATIVE_ERROR:g} "
                                        f"of the value")

    def measurement(self) -> RateMeasurement:
        return RateMeasurement(self.name, self.lines, self.value_cpd100t, self.stat_cpd100t,
                               self.syst_plus_cpd100t, self.syst_minus_cpd100t, self.source,
                               self.response())


@dataclass(frozen=True, kw_only=True)
class RelativeRate(_LineRate):
    """``kind = "relative-rate"``: data equal to the SM with a relative error."""

    kind: ClassVar[str] = "relative-rate"
    relative_error: float = key(low=MIN_RELATIVE_ERROR, high=10)
    reference_rate_cpd100t: float = key(low=0, high=MAX_RATE_CPD100T, low_open=True,
                                        unit="cpd/100t")

    def measurement(self) -> RelativeRateMeasurement:
        return RelativeRateMeasurement(self.name, self.lines, self.relative_error,
                                       self.reference_rate_cpd100t, self.source,
                                       self.response())


@dataclass(frozen=True, kw_only=True)
class SurvivalProbability(_Measured):
    """``kind = "survival-probability"``: a measured P_ee at one line.

    A P_ee derived from the same data as a rate of the run counts those data twice: it is
    refused when its ``dataset`` is that of a rate measurement, unless
    ``allow_shared_dataset`` says the two are independent.
    """

    kind: ClassVar[str] = "survival-probability"
    line: str = key(choices=tuple(BE7_LINES))
    value: float = key(low=0, high=1)
    sigma_plus: float = key(low=MIN_RELATIVE_ERROR, high=1)
    sigma_minus: float = key(low=MIN_RELATIVE_ERROR, high=1)
    allow_shared_dataset: bool = key(False)

    def measurement(self) -> SurvivalProbabilityMeasurement:
        return SurvivalProbabilityMeasurement(self.name, self.line, self.value,
                                              self.sigma_plus, self.sigma_minus, self.source)


#: Largest N_h of a spectrum bin: beyond the Borexino spectrum's 950 and the range of the
#: N_h response (the width grows with N_h up to about 2000 hits).
MAX_NH = 5000


@dataclass(frozen=True, kw_only=True)
class Spectrum(_Measured):
    """``kind = "spectrum"``: a binned recoil spectrum in N_h (Poisson likelihood on the
    counts), by default the Borexino Phase-II spectrum with Borexino's fitted background
    components as templates (package data); ``spectrum_file`` and ``backgrounds_file``
    replace them with CSV tables of the same columns (``nh,counts``; ``nh,<background>...``
    in counts per day x 100 t per unit bin). ``response`` names the N_h response (the one
    calibrated on Borexino's best fit, or that of Coloma et al. 2022);
    ``backgrounds_follow_response`` applies the response nuisances to the background shapes
    as to the solar counts (false: fixed shapes); ``threshold_tilt`` adds the shape nuisance
    of the 14C and pile-up tails (``bkg_threshold_tilt_norm``); ``threshold_backgrounds``
    takes the 14C and pile-up shapes from Borexino's fit (``digitised``) or from physics."""

    kind: ClassVar[str] = "spectrum"
    nh_range: tuple[int, int] = key((BOREXINO_PHASE2_NH_FLOOR, 949), low=0, high=MAX_NH)
    bin_width_nh: int = key(1, low=1, high=MAX_NH)
    exposure_day_100t: float = key(BOREXINO_PHASE2_EXPOSURE_DAY_100T, low=0, high=1e6,
                                   low_open=True, unit="day x 100 t")
    backgrounds: tuple[str, ...] | None = key(None, text="name")
    spectrum_file: str | None = key(None, text="path")
    backgrounds_file: str | None = key(None, text="path")
    response: str = key("calibrated", choices=tuple(NH_RESPONSES))
    backgrounds_follow_response: bool = True
    threshold_tilt: bool = True
    threshold_backgrounds: str = key("digitised", choices=THRESHOLD_MODELS)

    def __post_init__(self):
        low, high = self.nh_range
        if low >= high:
            raise ConfigError("nh_range", f"the first N_h must be below the last, got "
                                          f"{list(self.nh_range)}")
        width = high - low + 1
        if width % self.bin_width_nh:
            raise ConfigError("bin_width_nh", f"{self.bin_width_nh} does not divide the "
                                              f"{width} unit bins of N_h {low}-{high}")

    def measurement(self) -> SpectrumMeasurement:
        data = phase2_tables(self.spectrum_file, self.backgrounds_file)
        rates = data.background_rates
        chosen = list(rates) if self.backgrounds is None else list(self.backgrounds)
        unknown = [name for name in chosen if name not in rates]
        if unknown:
            raise ConfigError("backgrounds", f"no background {unknown[0]!r} in the "
                                             f"background table (it has {', '.join(rates)})")
        data = replace(data, background_rates={name: rates[name] for name in chosen},
                       exposure_day_100t=self.exposure_day_100t)
        try:
            measurement = borexino_phase2_spectrum(*self.nh_range, self.bin_width_nh, data,
                                                   self.name, load_nh_response(self.response),
                                                   self.threshold_tilt,
                                                   self.threshold_backgrounds)
        except ValueError as exc:
            raise ConfigError("", str(exc)) from None
        if not self.backgrounds_follow_response:
            measurement = replace(measurement, background_shapes=None)
        return measurement


def _csv_table(path: str, key_name: str) -> tuple[list[str], np.ndarray]:
    """Header and numbers of a CSV table ('#' lines are comments); ConfigError at
    ``key_name`` if unreadable or not numeric."""
    try:
        text = read_text(path)
    except InputFileError as exc:
        raise ConfigError(key_name, str(exc)) from None
    rows = [line.split(",") for line in text.splitlines()
            if line.strip() and not line.startswith("#")]
    if len(rows) < 2 or rows[0][0].strip() != "nh":
        raise ConfigError(key_name, f"{path}: needs a header starting with 'nh' and rows")
    header = [name.strip() for name in rows[0]]
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise ConfigError(key_name, f"{path}: the header names the column {twice[0]!r} twice")
    try:
        table = np.array(rows[1:], dtype=float)
    except ValueError as exc:
        raise ConfigError(key_name, f"{path}: not a numeric table of {len(header)} columns "
                                    f"({exc})") from None
    if table.ndim != 2 or table.shape[1] != len(header):
        raise ConfigError(key_name, f"{path}: rows must have the {len(header)} columns of the "
                                    f"header")
    nh = table[:, 0]
    if np.any(nh != np.round(nh)) or np.any(np.diff(nh) != 1):
        raise ConfigError(key_name, f"{path}: nh must be consecutive integers (unit bins)")
    return header, table


def phase2_tables(spectrum_file: str | None, backgrounds_file: str | None
                  ) -> BorexinoPhase2Data:
    """The Borexino Phase-II spectrum and background tables (package data), with either
    replaced by the CSV file given."""
    data = load_borexino_phase2()
    if spectrum_file is not None:
        header, table = _csv_table(spectrum_file, "spectrum_file")
        if "counts" not in header:
            raise ConfigError("spectrum_file", f"{spectrum_file}: no 'counts' column")
        data = replace(data, nh=table[:, 0].astype(int),
                       counts=table[:, header.index("counts")],
                       best_fit_counts=np.full(len(table), np.nan))
    if backgrounds_file is not None:
        header, table = _csv_table(backgrounds_file, "backgrounds_file")
        names = [name for name in header[1:] if name != "solar"]
        if not names:
            raise ConfigError("backgrounds_file", f"{backgrounds_file}: no background column")
        columns = dict(zip(header, table.T, strict=True))
        data = replace(data, background_nh=table[:, 0].astype(int),
                       background_rates={name: columns[name] for name in names},
                       solar_rate=np.full(len(table), np.nan))
    return data


MeasurementSection = Rate | RelativeRate | SurvivalProbability | Spectrum


@dataclass(frozen=True, kw_only=True)
class Correlation:
    """``[[correlations]]``: correlated systematic errors of two rate measurements."""

    measurements: tuple[str, ...] = key(text="label", min_items=2, max_items=2)
    systematic_correlation: float = key(low=-1, high=1, low_open=True, high_open=True)
    source: str = key(text="prose")

    def __post_init__(self):
        if self.measurements[0] == self.measurements[1]:
            raise ConfigError("measurements", "must name two different measurements")


@dataclass(frozen=True, kw_only=True)
class MassGrid:
    """``[mass_grid]``: ``n_masses`` log-spaced Z' masses."""

    mass_min_MeV: float = key(low=MASS_RANGE_MEV[0], high=MASS_RANGE_MEV[1], unit="MeV")
    mass_max_MeV: float = key(low=MASS_RANGE_MEV[0], high=MASS_RANGE_MEV[1], unit="MeV")
    n_masses: int = key(low=1, high=MAX_MASSES)

    def __post_init__(self):
        if self.mass_max_MeV < self.mass_min_MeV or (
                self.mass_max_MeV == self.mass_min_MeV and self.n_masses > 1):
            raise ConfigError("mass_max_MeV", f"must exceed mass_min_MeV = "
                                              f"{self.mass_min_MeV:g}")

    def masses_MeV(self) -> np.ndarray:
        return mass_grid_MeV(self.mass_min_MeV, self.mass_max_MeV, self.n_masses)


#: The coupling-prior kind that is flat in the new-physics rate, resolved per model.
FLAT_RATE = "flat-rate"


def flat_rate_kind(model: U1Model, interference: bool) -> str:
    """The prior flat in the new-physics rate near the limit, for ``model``.

    With a tree-level electron charge (L_e - L_mu, L_e - L_tau, B - L) the SM-Z'
    interference dominates and the rate change goes as C ~ g^2: ``flat-g2``. With a
    loop-induced electron coupling (L_mu - L_tau), or without interference, the Z' term
    C^2 ~ g^4 dominates: ``flat-g4``.
    """
    return "flat-g2" if interference and model.electron_charge else "flat-g4"


@dataclass(frozen=True, kw_only=True)
class CouplingPriorSection:
    """``[coupling_prior]``: the prior on g and its upper bound g_max(m)."""

    kind: str = key(FLAT_RATE, choices=(FLAT_RATE, *G_PRIOR_POWERS, FLAT_MU2))
    upper_np_fraction: float = key(default_of(CouplingPrior, "upper_np_fraction"), low=0,
                                   high=1e6, low_open=True)
    floor_g: float | None = key(default_of(CouplingPrior, "floor_g"), low=0, high=1,
                                low_open=True)

    def __post_init__(self):
        if self.kind == "log-flat" and self.floor_g is None:
            raise ConfigError("floor_g", "required for the log-flat prior")
        if self.kind != "log-flat" and self.floor_g is not None:
            raise ConfigError("floor_g", f"only the log-flat prior has a floor (kind is "
                                         f"{self.kind!r})")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """``[limits]``: the credible limit and the profile-likelihood limit."""

    credibility: float = key(default_of(ScanPlan, "credibility"), low=0, high=1, low_open=True,
                             high_open=True)
    profile_likelihood: bool = key(default_of(ScanPlan, "profile"))
    profile_delta_chi2: float = key(default_of(ScanPlan, "profile_level"), low=0, high=100,
                                    low_open=True)


@dataclass(frozen=True, kw_only=True)
class Expected:
    """``[expected]``: expected limits from Standard-Model pseudo-experiments (Z' rate
    analyses; ``n_toys = 0``: none)."""

    n_toys: int = key(default_of(ExpectedSettings, "n_toys"), low=0, high=100000)
    draw: str = key(default_of(ExpectedSettings, "draw"), choices=DRAW_MODES)


#: Rules of the sampler keys; their types and defaults are those of SamplerSettings.
SAMPLER_RULES: dict[str, Rule] = {
    "n_ensembles": Rule(low=2, high=64),
    "n_walkers": Rule(low=4, high=10000),
    "proposal": Rule(choices=PROPOSALS),
    "chunk_steps": Rule(low=1, high=10**6),
    "max_steps": Rule(low=1, high=10**8),
    "burn_in_tau": Rule(low=0, high=1000),
    "min_kept_tau": Rule(low=0, high=10**4),
    "min_kept_tau_t": Rule(low=0, high=10**4),
    "min_kept_steps": Rule(low=0, high=10**8),
    "min_ess": Rule(low=0),  # an unreachable ESS runs every mass to max_steps
    "max_rhat": Rule(low=1, high=10, low_open=True),
    "max_relative_mcse": Rule(low=0, high=1, low_open=True),
    "initial_np_fraction": Rule(low=0, high=1e6, low_open=True),
    "checkpoint_interval_s": Rule(low=0, high=1e6),
}


def _sampler_section() -> type:
    """``[sampler]``: the run seed and the fields of SamplerSettings, with their defaults."""
    settings = fields(SamplerSettings)
    unruled = [f.name for f in settings if f.name not in SAMPLER_RULES]
    if unruled:
        raise RuntimeError(f"SAMPLER_RULES lacks the SamplerSettings fields {unruled}")
    hints = get_type_hints(SamplerSettings)

    def settings_of(self) -> SamplerSettings:
        return SamplerSettings(**{f.name: getattr(self, f.name) for f in settings})

    def check(self):
        try:
            settings_of(self)
        except ValueError as exc:
            raise ConfigError("", str(exc)) from None

    return make_dataclass(
        "Sampler",
        [("seed", int, key(low=0, high=2**63 - 1))]
        + [(f.name, hints[f.name], field(default=f.default,
                                         metadata={"rule": SAMPLER_RULES[f.name]}))
           for f in settings],
        namespace={"settings": settings_of, "__post_init__": check,
                   "__doc__": _sampler_section.__doc__},
        frozen=True, kw_only=True)


Sampler = _sampler_section()


@dataclass(frozen=True, kw_only=True)
class Output:
    """``[output]``: the run directory."""

    directory: str = key(text="folder")


@dataclass(frozen=True, kw_only=True)
class RunSchema:
    """A whole run config."""

    schema_version: int = key(low=SCHEMA_VERSION, high=SCHEMA_VERSION)
    name: str = key(text="name")
    description: str = key("", empty_ok=True)
    physics: Physics
    priors: Priors
    measurements: tuple[MeasurementSection, ...]
    correlations: tuple[Correlation, ...] = key((), min_items=0)
    mass_grid: MassGrid | None = None  # required for a Z', refused for magnetic moments
    coupling_prior: CouplingPriorSection
    limits: Limits
    expected: Expected
    sampler: Sampler
    output: Output


# --- the reader --------------------------------------------------------------------------


def _read_section(cls: type, table: Any, where: str, base_dir: Path):
    """The section ``cls`` from the table ``table`` found at key ``where``."""
    if not isinstance(table, Mapping):
        raise ConfigError(where, f"must be a table, got {brief_repr(table)}")
    names = [f.name for f in fields(cls)]
    for name in table:
        if name not in names:
            raise ConfigError(_join(where, printable(str(name))),
                              f"unknown key (allowed: {', '.join(names)})")
    hints = get_type_hints(cls)
    values = {}
    for f in fields(cls):
        at = _join(where, f.name)
        rule = f.metadata.get("rule", Rule())
        if f.name in table:
            values[f.name] = _read_value(hints[f.name], table[f.name], rule, at, base_dir)
        elif is_dataclass(hints[f.name]):
            values[f.name] = _read_section(hints[f.name], {}, at, base_dir)
        elif f.default is not MISSING:
            values[f.name] = f.default
        else:
            raise ConfigError(at, "missing (required)")
    try:
        return cls(**values)
    except ConfigError as exc:
        raise exc.under(where) from None


def _read_value(tp: Any, value: Any, rule: Rule, where: str, base_dir: Path):
    """``value`` read as the annotated type ``tp`` and checked against ``rule``."""
    if is_dataclass(tp):
        return _read_section(tp, value, where, base_dir)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if type(None) in args:
            if value is None:
                return None
            (inner,) = (arg for arg in args if arg is not type(None))
            return _read_value(inner, value, rule, where, base_dir)
        return _read_tagged(args, value, where, base_dir)
    if origin is dict:  # a table of name = value; ``rule.text`` checks the names
        if not isinstance(value, Mapping):
            raise ConfigError(where, f"must be a table of name = value, got {brief_repr(value)}")
        if len(value) > rule.max_items:
            raise ConfigError(where, f"must have at most {rule.max_items} entries")
        return {_read_text(name, rule, where, base_dir):
                _read_value(args[1], item, rule, _join(where, printable(str(name))), base_dir)
                for name, item in value.items()}
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(where, f"must be a list, got {brief_repr(value)}")
        variable = len(args) == 2 and args[1] is Ellipsis
        low, high = (rule.min_items, rule.max_items) if variable else (len(args), len(args))
        if not low <= len(value) <= high:
            size = f"{low}" if low == high else f"{low} to {high}"
            raise ConfigError(where, f"must be a list of {size} entries, got {brief_repr(value)}")
        item_types = [args[0]] * len(value) if variable else args
        # Tables of a list are named by their index; numbers and strings by the list's key.
        return tuple(_read_value(item_type, item, rule,
                                 where if item_type in (bool, int, float, str) else f"{where}[{i}]",
                                 base_dir)
                     for i, (item_type, item) in enumerate(zip(item_types, value, strict=True)))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(where, f"must be true or false, got {brief_repr(value)}")
        return value
    if tp is int or tp is float:
        return _read_number(tp, value, rule, where)
    if tp is str:
        return _read_text(value, rule, where, base_dir)
    raise TypeError(f"the config schema cannot read the type {tp!r} of {where}")


def _read_tagged(classes: tuple[type, ...], table: Any, where: str, base_dir: Path):
    """One of the sections ``classes``, chosen by the table's ``kind`` key."""
    if not isinstance(table, Mapping):
        raise ConfigError(where, f"must be a table, got {brief_repr(table)}")
    by_kind = {cls.kind: cls for cls in classes}
    if "kind" not in table:
        raise ConfigError(_join(where, "kind"), f"missing (required): one of "
                                                f"{', '.join(by_kind)}")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in by_kind:
        raise ConfigError(_join(where, "kind"), f"unknown value {brief_repr(kind)} (choose one of "
                                                f"{', '.join(by_kind)})")
    return _read_section(by_kind[kind], {k: v for k, v in table.items() if k != "kind"}, where,
                         base_dir)


def _read_number(tp: type, value: Any, rule: Rule, where: str):
    kinds = numbers.Integral if tp is int else numbers.Real  # numpy's numbers too
    if isinstance(value, bool | np.bool_) or not isinstance(value, kinds):
        raise ConfigError(where, f"must be {'an integer' if tp is int else 'a number'}, "
                                 f"got {brief_repr(value)}")
    if tp is float:
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the range of floats
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(where, f"must be finite, got {brief_repr(value)}")
        value = number
    too_low = value <= rule.low if rule.low_open else value < rule.low
    too_high = value >= rule.high if rule.high_open else value > rule.high
    if too_low or too_high:
        raise ConfigError(where, f"must lie in {rule.bounds_text()}, got {brief_repr(value)}")
    return tp(value)


def _read_text(value: Any, rule: Rule, where: str, base_dir: Path) -> str:
    if not isinstance(value, str):
        raise ConfigError(where, f"must be a string, got {brief_repr(value)}")
    if rule.choices is not None:
        if value not in rule.choices:
            raise ConfigError(where, f"unknown value {brief_repr(value)} (choose one of "
                                     f"{', '.join(rule.choices)})")
        return value
    if rule.text in ("path", "folder"):
        try:
            return str(resolve_path(value, base_dir) if rule.text == "path"
                       else output_folder(value, base_dir))
        except InputFileError as exc:
            raise ConfigError(where, exc.reason) from None
    if value == "" and rule.empty_ok:
        return value
    passes, meaning = TEXT_KINDS[rule.text]
    if not passes(value):
        raise ConfigError(where, f"must be {meaning}, got {brief_repr(value)}")
    return value


def _document(value: Any) -> Any:
    """The TOML-ready form of a section (a measurement's ``kind`` first) or value."""
    if is_dataclass(value):
        kind = {"kind": value.kind} if isinstance(value, _Measured) else {}
        return {**kind, **{f.name: _document(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, tuple):
        return [_document(item) for item in value]
    return value


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
        raise UserError(str(exc)) from None
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
    path, document = _config_file(path)
    _resolve(document, path.parent, str(path), path, None)  # checked as a run reads it
    return _as_written(document, _document(_read_section(RunSchema, document, "", path.parent)))


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
        raise UserError(str(exc)) from None
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
        raise UserError(str(exc)) from None
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
            raise ConfigError("", f"must be a table of keys, got {brief_repr(document)}")
        if overrides is not None:
            if not isinstance(overrides, Mapping):
                raise ConfigError("", f"overrides must be a table of keys, got "
                                      f"{brief_repr(overrides)}")
            document = _merged(document, overrides)
        version = document.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise ConfigError("schema_version", f"must be {SCHEMA_VERSION}, got "
                                                f"{brief_repr(version)}")
        schema = _read_section(RunSchema, document, "", base_dir)
        resolved, plan = _plan(schema)
    except ConfigError as exc:
        raise UserError(": ".join(part for part in (printable(source), exc.key, exc.reason)
                                  if part)) from None
    return RunConfig(path, resolved, plan)


def _plan(schema: RunSchema) -> tuple[dict[str, Any], ScanPlan]:
    """Check the relations between sections; the resolved document and the scan plan."""
    physics, sections = schema.physics, schema.measurements
    model, prior = _new_physics(schema)
    if schema.sampler.initial_np_fraction > prior.upper_np_fraction:
        raise ConfigError("sampler.initial_np_fraction",
                          f"must not exceed coupling_prior.upper_np_fraction = "
                          f"{prior.upper_np_fraction:g} (walkers start inside the prior)")

    names = [m.name for m in sections]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"measurements[{i}].name", f"{name!r} is already the name of "
                                                         f"measurements[{names.index(name)}]")
    if all(isinstance(m, SurvivalProbability) for m in sections):
        raise ConfigError("measurements", "needs at least one rate, relative-rate or "
                                          "spectrum measurement")
    _check_datasets(sections)
    for i, m in enumerate(sections):
        if physics.standard_model and isinstance(m, Rate | RelativeRate):
            raise ConfigError(f"measurements[{i}].kind",
                              f"a {STANDARD_MODEL} fit takes spectrum (and "
                              f"survival-probability) measurements, not {m.kind!r}")
    if physics.magnetic_moment:
        for i, m in enumerate(sections):
            if isinstance(m, Rate | RelativeRate) and (m.window_MeV is None
                                                       or m.window_MeV[0] <= 0):
                raise ConfigError(f"measurements[{i}].window_MeV",
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
            raise ConfigError("physics.solar_profile", str(exc)) from None
    measurements = []
    for i, m in enumerate(sections):
        try:
            measurements.append(m.measurement())
        except ConfigError as exc:
            raise exc.under(f"measurements[{i}]") from None
    measurements = tuple(measurements)
    try:
        priors = sampled_priors(load_prior_files(schema.priors.files), flavour, measurements)
    except PriorError as exc:
        name = (exc.key or "").removeprefix("parameters.").partition(".")[0]
        if name in MOMENT_PARAMETERS:
            raise ConfigError("priors.files", f"{exc.path}: parameters.{name}: a magnetic "
                                              f"moment is not a parameter of a prior file; a "
                                              f"magnetic-moment run samples the moments of "
                                              f"physics.moments with a prior flat in each "
                                              f"mu^2 >= 0") from None
        raise ConfigError("priors.files", str(exc)) from None
    priors = _fixed(priors, schema.priors.fixed, schema.priors.fixed_at or {})
    n_new = (len(MOMENT_SCHEMES[physics.moments]) if physics.magnetic_moment
             else 0 if physics.standard_model else 1)
    n_sampled = len(priors.free_names) + n_new
    if not n_sampled:
        raise ConfigError("priors.fixed", "fixes every sampled parameter: a fit needs at "
                                          "least one free parameter")
    if schema.sampler.n_walkers < 2 * n_sampled:
        raise ConfigError("sampler.n_walkers", f"must be at least twice the {n_sampled} "
                                               f"sampled parameters, got "
                                               f"{schema.sampler.n_walkers}")

    if schema.expected.n_toys:
        _check_expected(physics, sections)
    resolved = _document(schema)
    resolved["coupling_prior"] = _document(prior)
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
        # a profile limit needs one moment: none for `independent`
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


def _check_expected(physics: Physics, sections: tuple) -> None:
    """Expected limits need a Z' or one moment, and measured values to vary (rates,
    P_ee)."""
    if physics.standard_model or physics.moments == "independent":
        what = (f"physics.model = {physics.model!r}" if physics.standard_model
                else "independent moments")
        raise ConfigError("expected.n_toys", f"expected limits are computed for Z' runs and "
                                             f"one magnetic moment, not for {what}")
    for i, m in enumerate(sections):
        if isinstance(m, RelativeRate | Spectrum):
            raise ConfigError("expected.n_toys", f"expected limits are computed for rate "
                                                 f"analyses; measurements[{i}] is a "
                                                 f"{m.kind!r} measurement")


#: Names a magnetic moment goes by (public keys and reported names).
MOMENT_PARAMETERS = frozenset({*PARAMETER_NAMES, *PARAMETER_NAMES.values(), "mu_eff"})


def _check_datasets(sections: tuple) -> None:
    """ConfigError where two likelihood terms count the same events: the events of a
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
                raise ConfigError(f"measurements[{i}].dataset",
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
            raise ConfigError(f"measurements[{i}].dataset",
                              f"{m.dataset!r} is also the dataset of the {other.kind} "
                              f"measurement {other.name!r}: a spectrum holds every event of "
                              f"its dataset, so both count the same events twice")


def _fixed(priors, names: tuple[str, ...], values: Mapping[str, float]):
    """The priors with the parameters ``names`` held at their prior centres
    (``priors.fixed``) and those of ``values`` at the values given (``priors.fixed_at``);
    ConfigError naming one the run does not sample or a value outside its prior."""
    held = {**{name: ("priors.fixed", None) for name in names},
            **{name: (f"priors.fixed_at.{name}", value) for name, value in values.items()}}
    for name, (where, value) in held.items():
        if name not in priors.free_names:
            raise ConfigError(where.removesuffix(f".{name}"),
                              f"{name!r} is not a sampled parameter of this run (it samples "
                              f"{', '.join(priors.free_names)})")
        prior = priors.distributions[name]
        if value is None:
            value, why = prior.centre, "held at its prior centre by priors.fixed"
        else:
            low, high = prior.support
            if not low <= value <= high or not np.isfinite(prior.log_density(value)):
                raise ConfigError(where, f"{value:g} lies outside the support of its prior "
                                         f"[{low:g}, {high:g}]")
            why = f"held at {value:g} by priors.fixed_at"
        priors = priors.with_override(name, Fixed(value=value),
                                      f"{why}; the prior: {priors.references[name]}")
    return priors


def _new_physics(schema: RunSchema) -> tuple[U1Model | None, "CouplingPriorSection"]:
    """The U(1)' model (None for magnetic moments and a Standard-Model fit) and the concrete
    prior section of the new physics; ConfigError when the mass grid or the prior does not
    fit the model."""
    physics, prior = schema.physics, schema.coupling_prior
    if physics.standard_model:
        if schema.mass_grid is not None:
            raise ConfigError("mass_grid", f"a {STANDARD_MODEL} fit has no mass grid (one "
                                           f"posterior); remove [mass_grid]")
        return None, prior
    if physics.magnetic_moment:
        if prior.kind not in (FLAT_RATE, FLAT_MU2):
            raise ConfigError("coupling_prior.kind", f"{prior.kind!r} is a prior on the Z' "
                                                     f"coupling; a magnetic-moment run is flat "
                                                     f"in each mu^2 >= 0 (flat in the added "
                                                     f"rate): use {FLAT_RATE} or {FLAT_MU2}")
        if schema.mass_grid is not None:
            raise ConfigError("mass_grid", "a magnetic-moment run has no mass grid (one "
                                           "posterior); remove [mass_grid]")
        return None, CouplingPriorSection(kind=FLAT_MU2,
                                          upper_np_fraction=prior.upper_np_fraction)
    if prior.kind == FLAT_MU2:
        raise ConfigError("coupling_prior.kind", f"{FLAT_MU2} is the prior of "
                                                 f"magnetic-moment runs; for a Z' choose one "
                                                 f"of {FLAT_RATE}, {', '.join(G_PRIOR_POWERS)}")
    if schema.mass_grid is None:
        raise ConfigError("mass_grid", f"missing (required): the Z' masses to scan "
                                       f"(mass_min_MeV, mass_max_MeV, n_masses); only model = "
                                       f"{MAGNETIC_MOMENT!r} runs without masses")
    model = physics.u1_model()
    if prior.kind == FLAT_RATE:
        if physics.kinetic_mixing:
            raise ConfigError("coupling_prior.kind", "flat-rate is not a power of g with "
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
                raise ConfigError(where, f"no measurement named {name!r}")
            index = names.index(name)
            if not isinstance(sections[index], Rate):
                raise ConfigError(where, f"{name!r} is not a rate measurement")
            if index in used:
                raise ConfigError(where, f"{name!r} is already in a correlation")
            used.add(index)
            indices.append(index)
        built.append(SystematicCorrelation(*indices, entry.systematic_correlation,
                                           entry.source))
    return tuple(built)
