"""The schema of a run's TOML file: pydantic models, one per section, and the one reader.

Each section is a frozen model: :class:`Physics`, :class:`Priors`, one per kind of
``[[measurements]]`` (:class:`Rate`, :class:`RelativeRate`, :class:`SurvivalProbability`,
:class:`Spectrum`), :class:`Correlation`, :class:`MassGrid`, :class:`CouplingPriorSection`,
:class:`Limits`, :class:`Expected`, :data:`Sampler` and :class:`Output`, gathered in
:class:`RunSchema`. A field is a key: its type says what the key holds (bounds, choices,
kind of text and unit included, see :func:`number`, :func:`text`, :func:`items`), its
default the default (none: required). Where an engine dataclass has the same setting, the
default is read from it (SamplerSettings, CouplingPrior, ScanPlan, DetectorResponse), so
every default is written once; the sampler section is made from the fields of
SamplerSettings.

:func:`read_schema` validates a document: unknown keys are refused, missing required keys
reported, every value checked; relations between the keys of a section are checked by the
section's ``model_validator``. The first error becomes one :class:`ConfigKeyError` (dotted key,
reason in words); relations between sections are checked by the planning in
:mod:`mcprop.interface.config`. ``RunSchema.model_json_schema()`` is the JSON Schema of a run
config (``docs/schemas/``, written by ``scripts/write_schemas.py``).

>>> read_schema({"name": "x"}, Path("."))
Traceback (most recent call last):
...
mcprop.interface.schema.ConfigKeyError: schema_version: missing (required)
"""

import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from annotated_types import Interval, Len
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mcprop.files import InputFileError, brief_repr, output_folder, printable, resolve_path
from mcprop.inference.expected import DRAW_MODES, ExpectedSettings
from mcprop.inference.measurements import (
    RateMeasurement,
    RelativeRateMeasurement,
    SurvivalProbabilityMeasurement,
)
from mcprop.inference.moments import FLAT_MU2
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import G_PRIOR_POWERS, CouplingPrior
from mcprop.inference.results import MAGNETIC_MOMENT, MAX_MASSES, STANDARD_MODEL, mass_grid_MeV
from mcprop.inference.sampler_settings import PROPOSAL_FITS, PROPOSALS, STARTS, SamplerSettings
from mcprop.inference.spectrum import BOREXINO_PHASE2_NH_FLOOR
from mcprop.physics.borexino_phase2 import BOREXINO_PHASE2_EXPOSURE_DAY_100T
from mcprop.physics.flavour import DEFAULT_FLAVOUR_MODEL, FLAVOUR_MODELS
from mcprop.physics.kernels import DetectorResponse
from mcprop.physics.magnetic_moment import MOMENT_SCHEMES
from mcprop.physics.nh_response import NH_RESPONSES
from mcprop.physics.scattering import MASS_RANGE_MEV, MODELS, U1Model, t_max_MeV
from mcprop.physics.solar import BE7_LINES, COMPOSITIONS
from mcprop.physics.threshold_backgrounds import (
    C14_LIGHT_OFFSET_NH,
    C14_NORMALISATIONS,
    THRESHOLD_MODELS,
)

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
#: Largest N_h of a spectrum bin: beyond the Borexino spectrum's 950 and the range of the
#: N_h response (the width grows with N_h up to about 2000 hits).
MAX_NH = 5000

#: Kinds of free text: the pattern a value must match (None: any printable line), and what
#: it requires. Names (of runs and data sets) become parts of paths; labels (of
#: measurements) appear in legends and CSV comment lines; prose (sources, descriptions) in
#: provenance records.
TEXT_KINDS: dict[str, tuple[str | None, str]] = {
    "name": (r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$",
             "1 to 100 characters A-Z a-z 0-9 . _ + -, starting with a letter or digit"),
    "label": (r"^[A-Za-z0-9][A-Za-z0-9 ._+,:;()\[\]'=%&-]{0,99}$",
              "1 to 100 characters: letters, digits, spaces and . _ + , : ; ( ) [ ] ' = % & -, "
              "starting with a letter or digit"),
    "prose": (None, "one line of at most 2000 printable characters (no newline, tab or other "
                    "control character)"),
}
_PROSE_LENGTH = 2000


class ConfigKeyError(ValueError):
    """A bad value in a config document: the dotted ``key`` and the ``reason``."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")

    def under(self, prefix: str) -> "ConfigKeyError":
        """The same error with its key placed under ``prefix``."""
        return ConfigKeyError(_join(prefix, self.key), self.reason)


def _join(prefix: str, key: str) -> str:
    if not prefix:
        return key
    if not key or key.startswith("["):
        return f"{prefix}{key}"
    return f"{prefix}.{key}"


def _refuse(reason: str, key: str = "", *, table: bool = False) -> PydanticCustomError:
    """The error of a value (``table``: of a whole table), in the project's words; ``key``
    is where it lies below the value."""
    return PydanticCustomError("mcprop_table" if table else "mcprop", "{reason}",
                               {"reason": reason, "key": key})


# --- values ------------------------------------------------------------------------------


def interval_text(low: float, high: float, low_open: bool = False, high_open: bool = False,
                  unit: str = "") -> str:
    """``[low, high] unit``, with ``(`` or ``)`` for an open bound."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    return f"{interval} {unit}".rstrip()


def number(low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False, unit: str = "", integer: bool = False) -> Any:
    """A finite number (``integer``: an integer) in [``low``, ``high``] (``*_open``: bound
    excluded), in ``unit``."""
    bounds = {}
    if math.isfinite(low):
        bounds["gt" if low_open else "ge"] = low
    if math.isfinite(high):
        bounds["lt" if high_open else "le"] = high
    where = interval_text(low, high, low_open, high_open, unit)

    def check(value: Any, handler: Callable) -> Any:
        kinds = numbers.Integral if integer else numbers.Real  # numpy's numbers too
        if isinstance(value, bool | np.bool_) or not isinstance(value, kinds):
            raise _refuse(f"must be {'an integer' if integer else 'a number'}, got "
                          f"{brief_repr(value)}")
        if integer:
            value = int(value)
        else:
            try:
                read = float(value)
            except OverflowError:  # an integer beyond the range of floats
                read = math.inf
            if not math.isfinite(read):
                raise _refuse(f"must be finite, got {brief_repr(value)}")
            value = read
        try:
            return handler(value)
        except ValidationError:
            raise _refuse(f"must lie in {where}, got {brief_repr(value)}") from None

    extra = {"unit": unit} if unit else None
    return Annotated[int if integer else float, Interval(**bounds),
                     Field(json_schema_extra=extra), WrapValidator(check)]


def integer(low: float = -math.inf, high: float = math.inf) -> Any:
    """An integer in [``low``, ``high``]."""
    return number(low, high, integer=True)


def _flag(value: Any, handler: Callable) -> bool:
    if not isinstance(value, bool):
        raise _refuse(f"must be true or false, got {brief_repr(value)}")
    return handler(value)


#: true or false.
Flag = Annotated[bool, WrapValidator(_flag)]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _refuse(f"must be a string, got {brief_repr(value)}")
    return value


def choice(choices: tuple[str, ...]) -> Any:
    """One of the strings ``choices``."""

    def check(value: Any, handler: Callable) -> str:
        if _string(value) not in choices:
            raise _refuse(f"unknown value {brief_repr(value)} (choose one of "
                          f"{', '.join(choices)})")
        return handler(value)

    return Annotated[Literal[choices], WrapValidator(check)]


def text(kind: str = "prose", *, empty_ok: bool = False) -> Any:
    """Free text of a kind of :data:`TEXT_KINDS` (``empty_ok``: or empty)."""
    pattern, meaning = TEXT_KINDS[kind]
    matches = (re.compile(pattern).fullmatch if pattern else
               lambda line: 0 < len(line) <= _PROSE_LENGTH and line.isprintable())

    def check(value: Any, handler: Callable) -> str:
        if not (_string(value) == "" and empty_ok) and not matches(value):
            raise _refuse(f"must be {meaning}, got {brief_repr(value)}")
        return handler(value)

    if pattern and empty_ok:
        pattern = f"^$|{pattern}"
    limits = dict(pattern=pattern) if pattern else dict(min_length=0 if empty_ok else 1,
                                                       max_length=_PROSE_LENGTH)
    return Annotated[str, Field(description=meaning + (" (or empty)" if empty_ok else ""),
                                **limits), WrapValidator(check)]


def _path(folder: bool) -> Any:
    """A path resolved against the config's folder (``folder``: an output folder, its own
    name never resolved, see :func:`mcprop.files.output_folder`)."""

    def check(value: Any, handler: Callable, info: ValidationInfo) -> str:
        base_dir = (info.context or {}).get("base_dir")
        try:
            resolved = (output_folder if folder else resolve_path)(_string(value), base_dir)
        except InputFileError as exc:
            raise _refuse(exc.reason) from None
        return handler(str(resolved))

    return Annotated[str, Field(json_schema_extra={"format": "folder" if folder else "path"}),
                     WrapValidator(check)]


#: A file, relative to the config's folder.
FilePath = _path(folder=False)
#: An output folder, relative to the config's folder.
Folder = _path(folder=True)


def items(item: Any, low: int = 1, high: int = MAX_ITEMS) -> Any:
    """A list of ``low`` to ``high`` entries ``item``."""
    size = f"{low}" if low == high else f"{low} to {high}"

    def check(value: Any, handler: Callable) -> tuple:
        if not isinstance(value, list | tuple):
            raise _refuse(f"must be a list, got {brief_repr(value)}")
        if not low <= len(value) <= high:
            raise _refuse(f"must be a list of {size} entries, got {brief_repr(value)}")
        return handler(value)

    return Annotated[tuple[item, ...], Len(low, high), WrapValidator(check)]


def pair(item: Any) -> Any:
    """A list of two entries ``item``."""

    def check(value: Any, handler: Callable) -> tuple:
        if not isinstance(value, list | tuple):
            raise _refuse(f"must be a list, got {brief_repr(value)}")
        if len(value) != 2:
            raise _refuse(f"must be a list of 2 entries, got {brief_repr(value)}")
        return handler(value)

    return Annotated[tuple[item, item], WrapValidator(check)]


def table_of(key: Any, value: Any, high: int = MAX_ITEMS) -> Any:
    """A table of at most ``high`` entries name = value."""

    def check(table: Any, handler: Callable) -> dict:
        if not isinstance(table, Mapping):
            raise _refuse(f"must be a table of name = value, got {brief_repr(table)}")
        if len(table) > high:
            raise _refuse(f"must have at most {high} entries")
        return handler(table)

    return Annotated[dict[key, value], Len(0, high), WrapValidator(check)]


def default_of(cls: type, name: str) -> Any:
    """The default of field ``name`` of the dataclass ``cls`` (an engine setting)."""
    return next(f.default for f in fields(cls) if f.name == name)


# --- sections --------------------------------------------------------------------------


class Section(BaseModel):
    """A table of the config: its keys are the fields; no other key is allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, table: Any) -> Any:
        if not isinstance(table, Mapping):
            raise _refuse(f"must be a table, got {brief_repr(table)}", table=True)
        names = list(cls.model_fields)
        for name in table:
            if name not in names:
                raise _refuse(f"unknown key (allowed: {', '.join(names)})",
                              printable(str(name)), table=True)
        return table


def _table(**kw) -> Any:
    """A section that may be left out: read from an empty table (its defaults)."""
    return Field(default_factory=dict, validate_default=True, **kw)


class Physics(Section):
    """``[physics]``: the new physics (a U(1)' model, or flavour-diagonal magnetic moments
    with their scheme ``moments``), the flavour picture and the cross section."""

    model: choice((*MODELS, MAGNETIC_MOMENT, STANDARD_MODEL)) = \
        default_of(ScanPlan, "model").name
    moments: choice(tuple(MOMENT_SCHEMES)) | None = None
    flavour_model: choice(tuple(FLAVOUR_MODELS)) = DEFAULT_FLAVOUR_MODEL
    interference: Flag = default_of(ScanPlan, "interference")
    radiative_corrections: Flag = True
    composition: choice(COMPOSITIONS) = "gs98"
    zprime_matter_potential: Flag = True
    sin2_theta_w: number(0, 1, low_open=True, high_open=True) | None = \
        default_of(ScanPlan, "sin2_theta_w")
    solar_profile: FilePath | None = None
    kinetic_mixing: number(-1, 1) = default_of(U1Model, "kinetic_mixing")

    @model_validator(mode="after")
    def _relations(self) -> "Physics":
        if self.solar_profile is not None and self.flavour_model != "decoherent-msw":
            raise _refuse("only the decoherent-msw flavour model reads a solar profile",
                          "solar_profile")
        if self.model == STANDARD_MODEL and self.kinetic_mixing:
            raise _refuse(f"a Z' setting; model = {STANDARD_MODEL!r} has no Z'",
                          "kinetic_mixing")
        if self.model != MAGNETIC_MOMENT:
            if self.moments is not None:
                raise _refuse(f"only model = {MAGNETIC_MOMENT!r} has moments (model is "
                              f"{self.model!r})", "moments")
            return self
        if self.kinetic_mixing:
            raise _refuse(f"a Z' setting; model = {MAGNETIC_MOMENT!r} has no Z'",
                          "kinetic_mixing")
        if self.moments is None:  # one moment shared by all flavours
            return self.model_copy(update={"moments": "universal"})
        return self

    @property
    def magnetic_moment(self) -> bool:
        return self.model == MAGNETIC_MOMENT

    @property
    def standard_model(self) -> bool:
        return self.model == STANDARD_MODEL

    def u1_model(self) -> U1Model:
        """The U(1)' model with the extra kinetic mixing."""
        return replace(MODELS[self.model], kinetic_mixing=self.kinetic_mixing)


class Priors(Section):
    """``[priors]``: the prior files; only the parameters the model reads are sampled.
    ``fixed`` holds parameters at their prior centres (a uniform prior's midpoint),
    ``fixed_at`` at stated values: ``fixed_at = {bkg_kr85_norm = 1.0}``."""

    files: items(FilePath)
    fixed: items(text("name"), low=0) = ()
    fixed_at: table_of(text("name"), number()) | None = None

    @model_validator(mode="after")
    def _relations(self) -> "Priors":
        if len(set(self.fixed)) < len(self.fixed):
            raise _refuse(f"names a parameter twice: {list(self.fixed)}", "fixed")
        both = sorted(set(self.fixed) & set(self.fixed_at or {}))
        if both:
            raise _refuse(f"names {', '.join(both)}, already in priors.fixed", "fixed_at")
        return self


class _Measured(Section):
    """Keys every measurement has; ``dataset`` names the data it is derived from."""

    kind: str
    name: text("label")
    source: text("prose")
    dataset: text("name") | None = None


class _LineRate(_Measured):
    """Keys of the measurements of a line rate: the lines and the detector response."""

    lines: items(choice(tuple(BE7_LINES)), high=len(BE7_LINES))
    window_MeV: pair(number(0, MAX_RECOIL_MEV, unit="MeV")) | None = \
        default_of(DetectorResponse, "window_MeV")
    resolution_MeV: number(0, MAX_RESOLUTION_MEV, unit="MeV") = \
        default_of(DetectorResponse, "resolution_MeV")

    @model_validator(mode="after")
    def _window(self) -> "_LineRate":
        if len(set(self.lines)) < len(self.lines):
            raise _refuse(f"names a line twice: {list(self.lines)}", "lines")
        if self.window_MeV is None:
            if self.resolution_MeV:
                raise _refuse("needs window_MeV", "resolution_MeV")
            return self
        low, high = self.window_MeV
        if low >= high:
            raise _refuse(f"T1 must be below T2, got {list(self.window_MeV)}", "window_MeV")
        t_max = max(float(t_max_MeV(BE7_LINES[line].energy_MeV)) for line in self.lines)
        if low >= t_max:
            raise _refuse(f"starts at T1 = {low:g} MeV, above the largest recoil energy "
                          f"T_max = {t_max:.4g} MeV of the lines {', '.join(self.lines)} "
                          f"(energies in MeV)", "window_MeV")
        return self

    def response(self) -> DetectorResponse:
        return DetectorResponse(self.window_MeV, self.resolution_MeV)


RATE = number(0, MAX_RATE_CPD100T, unit="cpd/100t")
POSITIVE_RATE = number(0, MAX_RATE_CPD100T, low_open=True, unit="cpd/100t")


class Rate(_LineRate):
    """``kind = "rate"``: a measured rate; stat and syst errors add in quadrature."""

    kind: Literal["rate"]
    value_cpd100t: POSITIVE_RATE
    stat_cpd100t: RATE
    syst_plus_cpd100t: RATE
    syst_minus_cpd100t: RATE

    @model_validator(mode="after")
    def _errors(self) -> "Rate":
        smallest = MIN_RELATIVE_ERROR * self.value_cpd100t
        for side in ("syst_plus_cpd100t", "syst_minus_cpd100t"):
            total = math.hypot(self.stat_cpd100t, getattr(self, side))
            if total < smallest:
                raise _refuse(f"the total error on this side, {total:g} cpd/100t with the "
                              f"stat error, is below {MIN_RELATIVE_ERROR:g} of the value", side)
        return self

    def measurement(self) -> RateMeasurement:
        return RateMeasurement(self.name, self.lines, self.value_cpd100t, self.stat_cpd100t,
                               self.syst_plus_cpd100t, self.syst_minus_cpd100t, self.source,
                               self.response())


class RelativeRate(_LineRate):
    """``kind = "relative-rate"``: data equal to the SM with a relative error."""

    kind: Literal["relative-rate"]
    relative_error: number(MIN_RELATIVE_ERROR, 10)
    reference_rate_cpd100t: POSITIVE_RATE

    def measurement(self) -> RelativeRateMeasurement:
        return RelativeRateMeasurement(self.name, self.lines, self.relative_error,
                                       self.reference_rate_cpd100t, self.source,
                                       self.response())


class SurvivalProbability(_Measured):
    """``kind = "survival-probability"``: a measured P_ee at one line.

    A P_ee derived from the same data as a rate of the run counts those data twice: it is
    refused when its ``dataset`` is that of a rate measurement, unless
    ``allow_shared_dataset`` says the two are independent.
    """

    kind: Literal["survival-probability"]
    line: choice(tuple(BE7_LINES))
    value: number(0, 1)
    sigma_plus: number(MIN_RELATIVE_ERROR, 1)
    sigma_minus: number(MIN_RELATIVE_ERROR, 1)
    allow_shared_dataset: Flag = False

    def measurement(self) -> SurvivalProbabilityMeasurement:
        return SurvivalProbabilityMeasurement(self.name, self.line, self.value,
                                              self.sigma_plus, self.sigma_minus, self.source)


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
    takes the 14C and pile-up shapes from physics (the default) or from Borexino's fit
    (``digitised``). The physics model has the nominal low-energy width scale
    ``threshold_width_scale`` and offset ``threshold_offset_nh`` of the 14C light and its
    pile-up, around which the nuisances ``nh_c14_resolution_scale`` and ``nh_c14_offset``
    act, and the 14C normalisation ``c14_normalisation`` (the absolute activity or
    Borexino's fitted counts)."""

    kind: Literal["spectrum"]
    nh_range: pair(integer(0, MAX_NH)) = (BOREXINO_PHASE2_NH_FLOOR, 949)
    bin_width_nh: integer(1, MAX_NH) = 1
    exposure_day_100t: number(0, 1e6, low_open=True, unit="day x 100 t") = \
        BOREXINO_PHASE2_EXPOSURE_DAY_100T
    backgrounds: items(text("name")) | None = None
    spectrum_file: FilePath | None = None
    backgrounds_file: FilePath | None = None
    response: choice(tuple(NH_RESPONSES)) = "calibrated"
    backgrounds_follow_response: Flag = True
    threshold_tilt: Flag = False
    threshold_backgrounds: choice(THRESHOLD_MODELS) = "physics"
    threshold_width_scale: number(-0.5, 1.0) = 0.0
    threshold_offset_nh: number(-20.0, 20.0, unit="N_h") = C14_LIGHT_OFFSET_NH
    c14_normalisation: choice(C14_NORMALISATIONS) = "activity"

    @model_validator(mode="after")
    def _bins(self) -> "Spectrum":
        low, high = self.nh_range
        if low >= high:
            raise _refuse(f"the first N_h must be below the last, got {list(self.nh_range)}",
                          "nh_range")
        width = high - low + 1
        if width % self.bin_width_nh:
            raise _refuse(f"{self.bin_width_nh} does not divide the {width} unit bins of N_h "
                          f"{low}-{high}", "bin_width_nh")
        for key in ("threshold_width_scale", "threshold_offset_nh", "c14_normalisation"):
            if self.threshold_backgrounds != "physics" and \
                    getattr(self, key) != type(self).model_fields[key].default:
                raise _refuse("needs threshold_backgrounds = 'physics'", key)
        return self


#: The sections of the kinds of measurement, by their ``kind``.
MEASUREMENT_KINDS = {cls.model_fields["kind"].annotation.__args__[0]: cls
                     for cls in (Rate, RelativeRate, SurvivalProbability, Spectrum)}


def _tagged(table: Any, handler: Callable) -> Any:
    """A measurement: the section of its ``kind``."""
    if not isinstance(table, Mapping):
        raise _refuse(f"must be a table, got {brief_repr(table)}", table=True)
    kinds = ", ".join(MEASUREMENT_KINDS)
    if "kind" not in table:
        raise _refuse(f"missing (required): one of {kinds}", "kind", table=True)
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in MEASUREMENT_KINDS:
        raise _refuse(f"unknown value {brief_repr(kind)} (choose one of {kinds})", "kind",
                      table=True)
    return handler(table)


MeasurementSection = Annotated[Rate | RelativeRate | SurvivalProbability | Spectrum,
                               Field(discriminator="kind"), WrapValidator(_tagged)]


class Correlation(Section):
    """``[[correlations]]``: correlated systematic errors of two rate measurements."""

    measurements: items(text("label"), low=2, high=2)
    systematic_correlation: number(-1, 1, low_open=True, high_open=True)
    source: text("prose")

    @model_validator(mode="after")
    def _two(self) -> "Correlation":
        if self.measurements[0] == self.measurements[1]:
            raise _refuse("must name two different measurements", "measurements")
        return self


class MassGrid(Section):
    """``[mass_grid]``: ``n_masses`` log-spaced Z' masses."""

    mass_min_MeV: number(*MASS_RANGE_MEV, unit="MeV")
    mass_max_MeV: number(*MASS_RANGE_MEV, unit="MeV")
    n_masses: integer(1, MAX_MASSES)

    @model_validator(mode="after")
    def _ordered(self) -> "MassGrid":
        if self.mass_max_MeV < self.mass_min_MeV or (
                self.mass_max_MeV == self.mass_min_MeV and self.n_masses > 1):
            raise _refuse(f"must exceed mass_min_MeV = {self.mass_min_MeV:g}", "mass_max_MeV")
        return self

    def masses_MeV(self) -> np.ndarray:
        return mass_grid_MeV(self.mass_min_MeV, self.mass_max_MeV, self.n_masses)


#: The coupling-prior kind that is flat in the new-physics rate, resolved per model.
FLAT_RATE = "flat-rate"


class CouplingPriorSection(Section):
    """``[coupling_prior]``: the prior on g and its upper bound g_max(m)."""

    kind: choice((FLAT_RATE, *G_PRIOR_POWERS, FLAT_MU2)) = FLAT_RATE
    upper_np_fraction: number(0, 1e6, low_open=True) = \
        default_of(CouplingPrior, "upper_np_fraction")
    floor_g: number(0, 1, low_open=True) | None = default_of(CouplingPrior, "floor_g")

    @model_validator(mode="after")
    def _floor(self) -> "CouplingPriorSection":
        if self.kind == "log-flat" and self.floor_g is None:
            raise _refuse("required for the log-flat prior", "floor_g")
        if self.kind != "log-flat" and self.floor_g is not None:
            raise _refuse(f"only the log-flat prior has a floor (kind is {self.kind!r})",
                          "floor_g")
        return self


class Limits(Section):
    """``[limits]``: the credible limit and the profile-likelihood limit."""

    credibility: number(0, 1, low_open=True, high_open=True) = \
        default_of(ScanPlan, "credibility")
    profile_likelihood: Flag = default_of(ScanPlan, "profile")
    profile_delta_chi2: number(0, 100, low_open=True) = default_of(ScanPlan, "profile_level")


class Expected(Section):
    """``[expected]``: expected limits from Standard-Model pseudo-experiments (Z' runs and
    magnetic moments; a spectrum's toys need ``draw = "best-fit"``; ``n_toys = 0``:
    none)."""

    n_toys: integer(0, 100000) = default_of(ExpectedSettings, "n_toys")
    draw: choice(DRAW_MODES) = default_of(ExpectedSettings, "draw")


#: What each sampler key holds; the keys, their order and defaults are those of
#: SamplerSettings.
SAMPLER_KEYS: dict[str, Any] = {
    "n_ensembles": integer(2, 64),
    "n_walkers": integer(4, 10000),
    "proposal": choice(PROPOSALS),
    "proposal_fit": choice(PROPOSAL_FITS),
    "proposal_floor": number(0, 1),
    "start": choice(STARTS),
    "chunk_steps": integer(1, 10**6),
    "max_steps": integer(1, 10**8),
    "burn_in_tau": number(0, 1000),
    "min_kept_tau": number(0, 10**4),
    "min_kept_tau_t": number(0, 10**4),
    "min_kept_steps": integer(0, 10**8),
    "min_ess": number(0),  # an unreachable ESS runs every mass to max_steps
    "max_rhat": number(1, 10, low_open=True),
    "max_relative_mcse": number(0, 1, low_open=True),
    "initial_np_fraction": number(0, 1e6, low_open=True),
    "checkpoint_interval_s": number(0, 1e6),
}


class _SamplerSection(Section):
    """``[sampler]``: the run seed and the fields of SamplerSettings, with their defaults."""

    seed: integer(0, 2**63 - 1)

    def settings(self) -> SamplerSettings:
        return SamplerSettings(**self.model_dump(exclude={"seed"}))

    @model_validator(mode="after")
    def _settings(self) -> "_SamplerSection":
        try:
            self.settings()
        except ValueError as exc:
            raise _refuse(str(exc)) from None
        return self


Sampler = create_model(
    "Sampler", __base__=_SamplerSection, __doc__=_SamplerSection.__doc__,
    __module__=__name__,
    **{f.name: (SAMPLER_KEYS[f.name], f.default) for f in fields(SamplerSettings)})


class Output(Section):
    """``[output]``: the run directory."""

    directory: Folder


class RunSchema(Section):
    """A whole run config."""

    schema_version: integer(SCHEMA_VERSION, SCHEMA_VERSION)
    name: text("name")
    description: text("prose", empty_ok=True) = ""
    physics: Physics = _table()
    priors: Priors = _table()
    measurements: items(MeasurementSection)
    correlations: items(Correlation, low=0) = ()
    mass_grid: MassGrid | None = None  # required for a Z', refused for magnetic moments
    coupling_prior: CouplingPriorSection = _table()
    limits: Limits = _table()
    expected: Expected = _table()
    sampler: Sampler = _table()
    output: Output = _table()


# --- the reader --------------------------------------------------------------------------


def read_schema(document: Any, base_dir: Path) -> RunSchema:
    """The run config ``document`` read as a :class:`RunSchema`, relative paths resolved
    against ``base_dir``; ConfigKeyError (the first error, dotted key and reason)."""
    try:
        return RunSchema.model_validate(document, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise config_error(exc.errors()[0]) from None


def config_error(error: Mapping[str, Any]) -> ConfigKeyError:
    """The :class:`ConfigKeyError` of one of pydantic's errors: its ``loc`` as a dotted key
    (``measurements[0].lines``; an entry of a list of numbers or strings is named by the
    list's key), its reason in the project's words."""
    loc, context = list(error["loc"]), error.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a bad name in a table name = value: the table's key
        loc = loc[:-2]
    mine = error["type"] in ("mcprop", "mcprop_table")
    of_table = error["type"] == "mcprop_table" or context.get("key")  # not of a value
    if loc and isinstance(loc[-1], int) and not of_table:
        loc = loc[:-1]
    key = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            key += f"[{part}]"
        elif not (i and isinstance(loc[i - 1], int) and part in MEASUREMENT_KINDS):
            key = _join(key, printable(str(part)))
    if error["type"] == "missing":
        return ConfigKeyError(key, "missing (required)")
    if mine:
        return ConfigKeyError(_join(key, context["key"]), context["reason"])
    return ConfigKeyError(key, error["msg"])


def as_document(section: BaseModel) -> dict[str, Any]:
    """The TOML-ready form of a section (lists for tuples)."""
    return _lists(section.model_dump())


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _lists(item) for name, item in value.items()}
    if isinstance(value, tuple | list):
        return [_lists(item) for item in value]
    return value
