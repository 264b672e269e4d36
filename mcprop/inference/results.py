"""The result of one grid point: its limits, diagnostics and stored draws, and its one
record format (the ``results/mNNN.json`` of a run directory and its rows of ``limits.csv``).

A Z' run has one :class:`MassResult` per mass (one row: the limit on g); a run without
masses has one :class:`MomentResult` (magnetic moments: one row per reported moment) or one
:class:`FitResult` (a Standard-Model fit: one row per reported parameter). All three are
:class:`PointResult`: one record, rows and summary format, read back by one checked reader.
Every number a result reports is finite or absent (``None``, with the reason in
``problems``); a record read back is checked against the same definition.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from typing import ClassVar

import numpy as np

from mcprop.files import printable
from mcprop.inference.diagnostics import Diagnostics

#: Columns of limits.csv and ScanResult.limits of a Z' run, in order, with units in the names.
LIMIT_COLUMNS = ("m_zprime_MeV", "g_upper", "g_upper_mcse", "g_upper_profile", "ess", "rhat",
                 "tau_steps", "acceptance", "n_steps", "burn_in", "converged")
#: Columns of the expected credible limits of a Z' run with pseudo-experiments (after
#: LIMIT_COLUMNS): the median and the central 68% and 95% ranges of the limits of
#: Standard-Model toys, and the limit of the Asimov data set (mcprop.inference.expected).
EXPECTED_COLUMNS = ("g_expected_median", "g_expected_lo68", "g_expected_hi68",
                    "g_expected_lo95", "g_expected_hi95", "g_expected_asimov")
#: Columns of a magnetic-moment run: one row per reported moment (limits in mu_B).
MOMENT_COLUMNS = ("parameter", "upper_muB", "upper_mcse_muB", "upper_profile_muB", "ess",
                  "rhat", "tau_steps", "acceptance", "n_steps", "burn_in", "converged")
#: Columns of a Standard-Model fit: one row per reported parameter (in its own unit, named
#: in the parameter), its median, central 68% credible interval and the median's MC error.
FIT_COLUMNS = ("parameter", "median", "lo68", "hi68", "median_mcse", "ess", "rhat",
               "tau_steps", "acceptance", "n_steps", "burn_in", "converged")


#: ``physics.model`` of a Standard-Model fit (one FitResult) and of a magnetic-moment run
#: (one MomentResult); every other model is a Z' over a mass grid (a MassResult per mass).
STANDARD_MODEL = "standard-model"
MAGNETIC_MOMENT = "magnetic-moment"


#: Most masses of a grid: 200 per decade over the nine decades of masses a config allows,
#: far finer than any limit curve needs (the default run has 50).
MAX_MASSES = 10_000
#: Columns of the expected limits of a magnetic-moment run (after MOMENT_COLUMNS), per
#: reported moment [mu_B]; empty for mu_eff where it is not the sampled moment itself.
MOMENT_EXPECTED_COLUMNS = ("upper_expected_median_muB", "upper_expected_lo68_muB",
                           "upper_expected_hi68_muB", "upper_expected_lo95_muB",
                           "upper_expected_hi95_muB", "upper_expected_asimov_muB")


def mass_grid_MeV(mass_min_MeV: float, mass_max_MeV: float, n_masses: int) -> np.ndarray:
    """The Z' masses of a run [MeV]: ``n_masses`` (1 to :data:`MAX_MASSES`) log-spaced from
    min to max; ValueError for another number of masses."""
    if not 1 <= n_masses <= MAX_MASSES:
        raise ValueError(f"n_masses must lie in [1, {MAX_MASSES}], got {n_masses}")
    return np.geomspace(mass_min_MeV, mass_max_MeV, n_masses)


_NON_FINITE = re.compile(r"(?<![\w.])[-+]?(nan|inf(inity)?)(?![\w])", re.IGNORECASE)


def problem_text(text) -> str:
    """A problem as a result holds it: one line, control characters escaped, non-finite
    numbers said in words.

    >>> problem_text("R-hat = nan >= 1.05\x1b[2J")
    'R-hat = undefined >= 1.05\\x1b[2J'
    """
    return _NON_FINITE.sub("undefined", printable(str(text)))


#: The statistic of the expected limits: the credible limit (rate analyses, integrated on
#: a grid) or the profile-likelihood limit (a spectrum: one fit per toy and coupling).
CREDIBLE, PROFILE = "credible", "profile"


def band_statistic(spectral: bool, several_moments: bool) -> str:
    """The limit whose expected band a run reports: PROFILE for a spectrum (a credible
    limit per pseudo-spectrum would need a Markov chain each) and for several moments (a
    marginal credible limit needs the joint posterior, which the one-dimensional grid
    integral does not give), CREDIBLE otherwise."""
    return PROFILE if spectral or several_moments else CREDIBLE


class ResultError(ValueError):
    """A result record that does not hold a valid result."""


class PointResult:
    """What the result of every grid point is and does: :class:`MassResult`,
    :class:`MomentResult` and :class:`FitResult` are frozen dataclasses of this protocol.

    Every result has the fields ``rhat``, ``tau_steps``, ``acceptance`` (of the point),
    ``n_steps``, ``burn_in``, ``thin``, ``converged``, ``problems`` (as
    :func:`problem_text`) and ``draws`` (not in the record), and ``point_index``. Its
    record (``results/mNNN.json``) is its fields but the draws, nested dataclasses as
    objects and tuples as lists; :meth:`from_record` reads a record back, checked, and
    raises ResultError naming the first bad key. :meth:`rows` are its rows of limits.csv
    (:meth:`columns`), :meth:`summary` what the manifest records of it.

    A result class sets ``COLUMNS`` (its rows' columns), ``EXPECTED_COLUMNS`` (those of
    expected limits, after them), ``OPTIONAL`` (record keys left out together when all are
    empty, and read back as their default when absent: the expected limits of a run
    without pseudo-experiments) and ``NESTED`` (record keys :meth:`_read_nested` reads), and
    defines :meth:`label`, :meth:`_entries`, :meth:`_summary_numbers` and
    :meth:`_read_nested`.
    """

    COLUMNS: ClassVar[tuple[str, ...]]
    EXPECTED_COLUMNS: ClassVar[tuple[str, ...]] = ()
    OPTIONAL: ClassVar[tuple[str, ...]] = ()
    NESTED: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        object.__setattr__(self, "problems", tuple(map(problem_text, self.problems)))

    @classmethod
    def columns(cls, expected: bool = False) -> tuple[str, ...]:
        """Columns of the rows, with those of the expected limits if ``expected``."""
        return cls.COLUMNS + cls.EXPECTED_COLUMNS if expected else cls.COLUMNS

    @property
    def mass_MeV(self) -> float | None:
        """The Z' mass of the point [MeV]; None for a run without masses."""
        return None

    def label(self) -> str:
        """The point in words, for messages."""
        raise NotImplementedError

    def record(self) -> dict:
        """The JSON-ready record (everything but the draws; the ``OPTIONAL`` keys only if
        one of them holds something)."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "draws"}
        if all(out[key] in (None, {}) for key in self.OPTIONAL):
            for key in self.OPTIONAL:
                del out[key]
        return out

    @classmethod
    def from_record(cls, record: Mapping, draws: Mapping[str, np.ndarray] | None = None):
        """A result from its record; ResultError naming the first bad key otherwise."""
        if not isinstance(record, Mapping):
            raise ResultError("not a JSON object")
        defaults = {f.name: f.default if f.default_factory is MISSING else f.default_factory()
                    for f in fields(cls) if f.name in cls.OPTIONAL}
        record = {**defaults, **record}
        names = [f.name for f in fields(cls) if f.name != "draws"]
        missing = [name for name in names if name not in record]
        if missing:
            raise ResultError(f"{missing[0]}: missing")
        unknown = sorted(set(record) - set(names))
        if unknown:
            raise ResultError(f"{unknown[0]}: unknown key")
        values = {name: _checked(name, record[name]) for name in names
                  if name not in cls.NESTED}
        # a run without masses has one point
        if values.get("point_index", 0) != 0:
            raise ResultError(f"point_index: must be 0, got {values['point_index']!r}")
        values["problems"] = tuple(values["problems"])
        values.update(cls._read_nested(record, values))
        return cls(**values, draws=dict(draws or {}))

    @classmethod
    def _read_nested(cls, record: Mapping, values: dict) -> dict:
        """The values of the ``NESTED`` keys of ``record``, checked against each other and
        against the checked ``values`` of the other keys; ResultError otherwise."""
        raise NotImplementedError

    def _entries(self) -> list[dict]:
        """Per row, the values that are not the point's own fields."""
        raise NotImplementedError

    def rows(self) -> list[dict]:
        """The limits.csv rows (:meth:`columns` with the expected limits)."""
        return [{key: entry[key] if key in entry else getattr(self, key)
                 for key in self.columns(expected=True)} for entry in self._entries()]

    def _summary_numbers(self) -> dict:
        """The numbers the manifest records of the point."""
        raise NotImplementedError

    def summary(self) -> dict:
        """What the manifest records of the finished point."""
        return {**self._summary_numbers(), "converged": self.converged,
                "problems": list(self.problems)}


def _plain(value):
    """A field's value as JSON holds it: dataclasses as dicts, tuples as lists, mappings as
    dicts."""
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [_plain(x) for x in value]
    if isinstance(value, Mapping):
        return {key: _plain(x) for key, x in value.items()}
    return value


def result_type(model: str) -> type[PointResult]:
    """The result class of a run of ``physics.model``: MassResult for a Z',
    MomentResult for magnetic moments, FitResult for a Standard-Model fit."""
    return {MAGNETIC_MOMENT: MomentResult, STANDARD_MODEL: FitResult}.get(model, MassResult)


def finite_or_none(value) -> float | None:
    """A float if finite, else None (JSON and CSV outputs hold no NaN or infinity)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _finite(values: Mapping[str, float], problems: list[str], prefix: str = "") -> dict:
    """``values`` as finite floats or None; each None adds '{prefix}{key} could not be
    computed' to ``problems``."""
    numbers = {key: finite_or_none(value) for key, value in values.items()}
    problems += [f"{prefix}{key} could not be computed"
                 for key, value in numbers.items() if value is None]
    return numbers


def _entry_numbers(name: str, diagnostics: Diagnostics, values: Mapping[str, float],
                   problems: list[str]) -> dict:
    """The numbers of one reported quantity ``name``, via _finite; its diagnostics'
    problems join ``problems`` (once each)."""
    numbers = _finite(values, problems, f"{name}: ")
    problems += [p for p in diagnostics.problems if p not in problems]
    return numbers


def _point_fields(diagnostics: Mapping[str, Diagnostics], entries: Sequence,
                  problems: list[str]) -> dict:
    """The fields a point's reported quantities share (R-hat, tau, acceptance, via _finite;
    the lengths), and ``converged``: every entry converged and R-hat is known."""
    first = next(iter(diagnostics.values()))
    shared = _finite({key: getattr(first, key) for key in
                      ("rhat", "tau_steps", "acceptance")}, problems)
    return {**shared, "n_steps": int(first.n_steps), "burn_in": int(first.burn_in),
            "thin": int(first.thin), "converged": all(e.converged for e in entries)
            and shared["rhat"] is not None}


def _read_entry(kind: type, entry: Mapping, where: str):
    """A ``kind`` (ParameterLimit, ParameterSummary) from its record: the first field its
    name, the others checked; ResultError prefixed with ``where`` otherwise."""
    keys = [f.name for f in fields(kind)]
    try:
        return kind(entry[keys[0]], **{key: _checked(key, entry.get(key)) for key in keys[1:]})
    except ResultError as exc:
        raise ResultError(f"{where}.{exc}") from None


@dataclass(frozen=True)
class MassResult(PointResult):
    """The limit at one Z' mass with the evidence behind it.

    Attributes
    ----------
    mass_index : int
        Index of the mass in the run's grid.
    m_zprime_MeV : float
        The Z' mass [MeV].
    g_upper, g_upper_mcse : float or None
        Credible upper limit on g and its Monte Carlo standard error (None if it could not
        be computed; ``problems`` says why).
    g_upper_profile, g_hat_profile : float or None
        Profile-likelihood upper limit and best fit (None when not computed).
    ess, rhat, tau_steps, acceptance : float or None
        Bulk ESS of g, largest split R-hat, largest autocorrelation time [steps], mean
        acceptance fraction.
    n_steps, burn_in, thin : int
        Steps sampled, burn-in steps, steps between stored draws.
    converged : bool
        Whether every convergence criterion passed.
    problems : tuple of str
        Why the mass did not converge, or what could not be computed.
    g_max : float
        Upper bound of the prior on g at this mass.
    g_expected_median, g_expected_lo68, g_expected_hi68, g_expected_lo95, g_expected_hi95,
    g_expected_asimov : float or None
        Expected credible limits under the Standard Model (EXPECTED_COLUMNS; None without
        pseudo-experiments).
    draws : mapping of str to array (chain, draw)
        The stored draws of g and the nuisances; chain = ensemble, draw = walker x
        draws per walker + thinned step (:mod:`mcprop.inference.diagnostics`).
    """

    COLUMNS: ClassVar[tuple[str, ...]] = LIMIT_COLUMNS
    EXPECTED_COLUMNS: ClassVar[tuple[str, ...]] = EXPECTED_COLUMNS
    OPTIONAL: ClassVar[tuple[str, ...]] = EXPECTED_COLUMNS

    mass_index: int
    m_zprime_MeV: float
    g_upper: float | None
    g_upper_mcse: float | None
    g_upper_profile: float | None
    g_hat_profile: float | None
    ess: float | None
    rhat: float | None
    tau_steps: float | None
    acceptance: float | None
    n_steps: int
    burn_in: int
    thin: int
    converged: bool
    problems: tuple[str, ...]
    g_max: float
    g_expected_median: float | None = None
    g_expected_lo68: float | None = None
    g_expected_hi68: float | None = None
    g_expected_lo95: float | None = None
    g_expected_hi95: float | None = None
    g_expected_asimov: float | None = None
    draws: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_sampling(cls, mass_index: int, m_zprime_MeV: float, diagnostics: Diagnostics,
                      g_max: float, draws: Mapping[str, np.ndarray],
                      profile: Mapping[str, float] | None = None) -> "MassResult":
        """Assemble a result; a non-finite number becomes None and a problem."""
        d = diagnostics
        problems = list(d.problems)
        numbers = _finite({"g_upper": d.upper, "g_upper_mcse": d.upper_mcse, "ess": d.ess,
                           "rhat": d.rhat, "tau_steps": d.tau_steps,
                           "acceptance": d.acceptance}, problems)
        profile = profile or {}
        converged = d.converged and numbers["g_upper"] is not None and numbers[
            "g_upper_mcse"] is not None
        return cls(mass_index, float(m_zprime_MeV), numbers["g_upper"], numbers["g_upper_mcse"],
                   finite_or_none(profile.get("g_upper_profile")),
                   finite_or_none(profile.get("g_hat_profile")), numbers["ess"],
                   numbers["rhat"], numbers["tau_steps"], numbers["acceptance"],
                   int(d.n_steps), int(d.burn_in), int(d.thin), bool(converged),
                   tuple(problems), float(g_max), draws=dict(draws))

    @classmethod
    def _read_nested(cls, record: Mapping, values: dict) -> dict:
        if values["converged"] and (values["g_upper"] is None or values["g_upper_mcse"] is None):
            raise ResultError("converged: true without a limit and its MC error")
        return {}

    @property
    def point_index(self) -> int:
        """Index of the grid point: the mass index."""
        return self.mass_index

    @property
    def mass_MeV(self) -> float:
        return self.m_zprime_MeV

    def label(self) -> str:
        return f"m = {self.m_zprime_MeV:.6g} MeV"

    def with_expected(self, band: Mapping[str, float]) -> "MassResult":
        """This result with the expected limits ``band`` (EXPECTED_COLUMNS); a non-finite
        one becomes None and a problem."""
        problems = list(self.problems)
        numbers = _finite({key: band.get(key) for key in EXPECTED_COLUMNS}, problems)
        return replace(self, **numbers, problems=tuple(problems))

    def _entries(self) -> list[dict]:
        return [{}]

    def _summary_numbers(self) -> dict:
        return {"m_zprime_MeV": self.m_zprime_MeV, "g_upper": self.g_upper}


@dataclass(frozen=True)
class ParameterLimit:
    """The credible upper limit on one reported moment, in Bohr magnetons, and the
    profile-likelihood limit (``upper_profile_muB``: of every sampled moment, of several each
    with the others profiled, and of mu_eff when it is the one moment, i.e. ``universal``;
    None otherwise).

    ``converged``: its ESS and MCSE pass, and so do the R-hat and the chain length of the
    point.
    """

    parameter: str
    upper_muB: float | None
    upper_mcse_muB: float | None
    ess: float | None
    converged: bool
    upper_profile_muB: float | None = None


@dataclass(frozen=True)
class MomentResult(PointResult):
    """The limits on magnetic moments: the one point of a run without masses.

    Attributes
    ----------
    point_index : int
        0, the one grid point.
    moments : str
        The moment scheme (``universal``, ``e``, ``mu``, ``tau``, ``independent``).
    limits : tuple of ParameterLimit
        The sampled moments, then ``mu_eff``, in that order
        (:func:`mcprop.inference.moments.reported_quantities`).
    rhat, tau_steps, acceptance : float or None
        Largest split R-hat of the sampled coordinates, largest autocorrelation time
        [steps], mean acceptance fraction.
    n_steps, burn_in, thin : int
    converged : bool
        Whether every limit converged.
    problems : tuple of str
    prior_upper_muB : mapping of str to float
        Upper bound of the prior on each sampled moment [mu_B].
    expected : mapping of str to mapping
        Expected limits (MOMENT_EXPECTED_COLUMNS) per reported moment, from
        pseudo-experiments; empty without them.
    draws : mapping of str to array (chain, draw)
        The stored draws of the moments [mu_B] and the nuisances.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = MOMENT_COLUMNS
    EXPECTED_COLUMNS: ClassVar[tuple[str, ...]] = MOMENT_EXPECTED_COLUMNS
    OPTIONAL: ClassVar[tuple[str, ...]] = ("expected",)
    NESTED: ClassVar[tuple[str, ...]] = ("moments", "limits", "prior_upper_muB", "expected")

    point_index: int
    moments: str
    limits: tuple[ParameterLimit, ...]
    rhat: float | None
    tau_steps: float | None
    acceptance: float | None
    n_steps: int
    burn_in: int
    thin: int
    converged: bool
    problems: tuple[str, ...]
    prior_upper_muB: Mapping[str, float]
    expected: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    draws: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_sampling(cls, point_index: int, moments: str,
                      diagnostics: Mapping[str, Diagnostics],
                      prior_upper_muB: Mapping[str, float],
                      draws: Mapping[str, np.ndarray],
                      profile_muB: Mapping[str, float] | None = None) -> "MomentResult":
        """Assemble a result from the diagnostics of each reported moment and the
        profile-likelihood limits ``profile_muB`` (by reported name, where computed); a
        non-finite number becomes None and a problem."""
        problems: list[str] = []
        limits = []
        profile_muB = profile_muB or {}
        for name, d in diagnostics.items():
            numbers = _entry_numbers(name, d, {"upper_muB": d.upper,
                                               "upper_mcse_muB": d.upper_mcse, "ess": d.ess},
                                     problems)
            limits.append(ParameterLimit(
                name, **numbers, upper_profile_muB=finite_or_none(profile_muB.get(name)),
                converged=bool(d.converged and numbers["upper_muB"] is not None
                               and numbers["upper_mcse_muB"] is not None)))
        return cls(int(point_index), moments, tuple(limits),
                   **_point_fields(diagnostics, limits, problems), problems=tuple(problems),
                   prior_upper_muB={k: float(v) for k, v in prior_upper_muB.items()},
                   draws=dict(draws))

    def with_expected(self, bands: Mapping[str, Mapping[str, float]]) -> "MomentResult":
        """This result with the expected limits ``bands`` (per moment: MOMENT_EXPECTED_COLUMNS);
        a non-finite one becomes None and a problem."""
        problems = list(self.problems)
        expected = {name: _finite({key: band.get(key) for key in MOMENT_EXPECTED_COLUMNS},
                                  problems, f"{name}: ") for name, band in bands.items()}
        return replace(self, expected=expected, problems=tuple(problems))

    def label(self) -> str:
        return f"the magnetic moments ({self.moments})"

    @classmethod
    def _read_nested(cls, record: Mapping, values: dict) -> dict:
        from mcprop.inference.moments import reported_quantities, scheme_parameters
        from mcprop.physics.magnetic_moment import MOMENT_SCHEMES

        scheme = record["moments"]
        if not isinstance(scheme, str) or scheme not in MOMENT_SCHEMES:
            raise ResultError(f"moments: unknown scheme {scheme!r}")
        expected_names = reported_quantities(scheme)
        limits = record["limits"]
        if not isinstance(limits, list) or [
                entry.get("parameter") if isinstance(entry, Mapping) else None
                for entry in limits] != list(expected_names):
            raise ResultError(f"limits: must list the parameters {', '.join(expected_names)}")
        parsed = []
        for entry in limits:
            keys = [f.name for f in fields(ParameterLimit)]
            # records written before the profile limit existed lack its key
            if sorted({**entry, "upper_profile_muB": None}) != sorted(keys):
                raise ResultError(f"limits: each entry has the keys {', '.join(keys)}")
            where = f"limits[{entry['parameter']}]"
            parsed.append(_read_entry(ParameterLimit, entry, where))
            if parsed[-1].converged and (parsed[-1].upper_muB is None
                                         or parsed[-1].upper_mcse_muB is None):
                raise ResultError(f"{where}.converged: true without a limit and its MC error")
        bounds = record["prior_upper_muB"]
        if not isinstance(bounds, Mapping) or sorted(bounds) != sorted(
                scheme_parameters(scheme)):
            raise ResultError(f"prior_upper_muB: must give the bound of "
                              f"{', '.join(scheme_parameters(scheme))}")
        bounds = {name: _checked("prior_upper_muB", value) for name, value in bounds.items()}
        if any(value is None or value <= 0 for value in bounds.values()):
            raise ResultError("prior_upper_muB: bounds must be > 0")
        if values["converged"] and not all(limit.converged for limit in parsed):
            raise ResultError("converged: true with a limit that did not converge")
        expected = record["expected"]
        if not isinstance(expected, Mapping) or not all(
                name in expected_names and isinstance(band, Mapping)
                and sorted(band) == sorted(MOMENT_EXPECTED_COLUMNS)
                for name, band in expected.items()):
            raise ResultError(f"expected: must map reported moments to the keys "
                              f"{', '.join(MOMENT_EXPECTED_COLUMNS)}")
        expected = {name: {key: _checked(key, value) for key, value in band.items()}
                    for name, band in expected.items()}
        return {"moments": scheme, "limits": tuple(parsed), "prior_upper_muB": bounds,
                "expected": expected}

    def _entries(self) -> list[dict]:
        """One row per reported moment, with its expected limits."""
        return [{**_plain(limit), **{key: self.expected.get(limit.parameter, {}).get(key)
                                     for key in MOMENT_EXPECTED_COLUMNS}}
                for limit in self.limits]

    def _summary_numbers(self) -> dict:
        return {"upper_muB": {limit.parameter: limit.upper_muB for limit in self.limits}}


@dataclass(frozen=True)
class ParameterSummary:
    """One reported parameter of a fit: median, central 68% interval, the median's MC error
    and the bulk ESS; ``converged`` when its ESS passes (and the point's R-hat and length)."""

    parameter: str
    median: float | None
    lo68: float | None
    hi68: float | None
    median_mcse: float | None
    ess: float | None
    converged: bool


#: Keys of a spectrum's goodness of fit in a FitResult record.
GOODNESS_KEYS = frozenset({"deviance", "n_bins", "deviance_best_walker", "reference_deviance"})


@dataclass(frozen=True)
class FitResult(PointResult):
    """A Standard-Model fit: the one point of a run without masses and without new physics.

    Attributes
    ----------
    point_index : int
        0, the one grid point.
    parameters : tuple of ParameterSummary
        Every sampled parameter, then the derived interaction rates, in that order.
    rhat, tau_steps, acceptance : float or None
        Largest split R-hat, largest autocorrelation time [steps], mean acceptance.
    n_steps, burn_in, thin : int
    converged : bool
        Whether every parameter converged.
    problems : tuple of str
    best_fit : mapping of str to float
        The sampled parameters at the maximum of the posterior density (the nuisance
        priors as constraint terms), found by Newton from the highest-posterior walker.
    goodness_of_fit : mapping of str to mapping
        Per spectrum measurement at ``best_fit``: the Poisson deviance
        2 sum_b [mu_b - n_b + n_b ln(n_b / mu_b)] (``deviance``) and the number of bins
        (``n_bins``); optionally the deviance at the best walker (``deviance_best_walker``)
        and that of the experiment's own best-fit model on the same bins
        (``reference_deviance``).
    draws : mapping of str to array (chain, draw)
    """

    COLUMNS: ClassVar[tuple[str, ...]] = FIT_COLUMNS
    NESTED: ClassVar[tuple[str, ...]] = ("parameters", "best_fit", "goodness_of_fit")

    point_index: int
    parameters: tuple[ParameterSummary, ...]
    rhat: float | None
    tau_steps: float | None
    acceptance: float | None
    n_steps: int
    burn_in: int
    thin: int
    converged: bool
    problems: tuple[str, ...]
    best_fit: Mapping[str, float]
    goodness_of_fit: Mapping[str, Mapping[str, float]]
    draws: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_sampling(cls, diagnostics: Mapping[str, Diagnostics], best_fit: Mapping[str, float],
                      goodness_of_fit: Mapping[str, Mapping[str, float]],
                      draws: Mapping[str, np.ndarray]) -> "FitResult":
        """Assemble a result; a non-finite number becomes None and a problem."""
        problems: list[str] = []
        parameters = []
        for name, d in diagnostics.items():
            numbers = _entry_numbers(name, d, {key: getattr(d, key) for key in (
                "median", "lo68", "hi68", "median_mcse", "ess")}, problems)
            parameters.append(ParameterSummary(name, **numbers, converged=bool(
                d.converged and None not in numbers.values())))
        return cls(0, tuple(parameters), **_point_fields(diagnostics, parameters, problems),
                   problems=tuple(problems), best_fit={k: float(v) for k, v in best_fit.items()},
                   goodness_of_fit={k: {key: int(x) if key == "n_bins" else float(x)
                                        for key, x in v.items()}
                                    for k, v in goodness_of_fit.items()},
                   draws=dict(draws))

    def label(self) -> str:
        return "the Standard-Model fit"

    @classmethod
    def _read_nested(cls, record: Mapping, values: dict) -> dict:
        entries = record["parameters"]
        keys = [f.name for f in fields(ParameterSummary)]
        if not isinstance(entries, list) or not entries or not all(
                isinstance(e, Mapping) and sorted(e) == sorted(keys) for e in entries):
            raise ResultError(f"parameters: must be a list of entries with the keys "
                              f"{', '.join(keys)}")
        parsed = []
        for entry in entries:
            if not isinstance(entry["parameter"], str):
                raise ResultError("parameters: a parameter name must be a string")
            parsed.append(_read_entry(ParameterSummary, entry,
                                      f"parameters[{entry['parameter']}]"))
        best_fit = record["best_fit"]
        if not isinstance(best_fit, Mapping) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in best_fit.values()):
            raise ResultError("best_fit: must map parameter names to finite numbers")
        goodness = record["goodness_of_fit"]
        if not isinstance(goodness, Mapping) or not all(
                isinstance(v, Mapping) and {"deviance", "n_bins"} <= set(v) <= GOODNESS_KEYS
                for v in goodness.values()):
            raise ResultError("goodness_of_fit: must map measurements to a deviance and "
                              f"n_bins (keys among {', '.join(sorted(GOODNESS_KEYS))})")
        goodness = {k: {key: _checked(key, x) for key, x in v.items()}
                    for k, v in goodness.items()}
        if values["converged"] and not all(p.converged for p in parsed):
            raise ResultError("converged: true with a parameter that did not converge")
        return {"parameters": tuple(parsed), "best_fit": dict(best_fit),
                "goodness_of_fit": goodness}

    def _entries(self) -> list[dict]:
        """One row per reported parameter."""
        return [_plain(p) for p in self.parameters]

    def _summary_numbers(self) -> dict:
        return {"median": {p.parameter: p.median for p in self.parameters},
                "goodness_of_fit": {k: dict(v) for k, v in self.goodness_of_fit.items()}}


_INTEGERS = {"mass_index", "point_index", "n_steps", "burn_in", "thin", "n_bins"}
_OPTIONAL = {*EXPECTED_COLUMNS, *MOMENT_EXPECTED_COLUMNS, "g_upper", "g_upper_mcse",
             "g_upper_profile", "g_hat_profile", "ess", "rhat", "tau_steps", "acceptance",
             "upper_muB", "upper_mcse_muB", "upper_profile_muB", "median", "lo68", "hi68",
             "median_mcse"}
#: Values that may be negative (a best fit of g, the median of an offset).
_SIGNED = {"g_hat_profile", "median", "lo68", "hi68"}


def _checked(name: str, value):
    """A record value checked for its type, finiteness and range."""
    if name == "converged":
        if not isinstance(value, bool):
            raise ResultError(f"converged: must be true or false, got {value!r}")
        return value
    if name == "problems":
        if not (isinstance(value, list) and all(isinstance(p, str) for p in value)):
            raise ResultError("problems: must be a list of strings")
        return value
    if value is None and name in _OPTIONAL:
        return None
    if name in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ResultError(f"{name}: must be an integer >= 0, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value):
        raise ResultError(f"{name}: must be a finite number, got {value!r}")
    if name in ("m_zprime_MeV", "g_max") and value <= 0:
        raise ResultError(f"{name}: must be > 0, got {value!r}")
    if name not in _SIGNED and value < 0:
        raise ResultError(f"{name}: must be >= 0, got {value!r}")
    return float(value)
