"""The result of one grid point: its limits, diagnostics and stored draws, and its one
record format (the ``results/mNNN.json`` of a run directory and its rows of ``limits.csv``).

A Z' run has one :class:`MassResult` per mass (one row: the limit on g); a run without
masses has one :class:`MomentResult` (magnetic moments: one row per reported moment) or one
:class:`FitResult` (a Standard-Model fit: one row per reported parameter).
Every number a result reports is finite or absent (``None``, with the reason in
``problems``); a record read back is checked against the same definition.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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


def limit_columns(expected: bool, moments: bool = False) -> tuple[str, ...]:
    """Columns of limits.csv of a Z' run (of a magnetic-moment run), with the expected
    limits if it has them."""
    columns, extra = (MOMENT_COLUMNS, MOMENT_EXPECTED_COLUMNS) if moments else (
        LIMIT_COLUMNS, EXPECTED_COLUMNS)
    return columns + extra if expected else columns


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


class _Problems:
    """The ``problems`` of a result are :func:`problem_text`: whatever made them (the
    sampler, a file read back), they hold no control character and no nan or inf."""

    def __post_init__(self):
        object.__setattr__(self, "problems", tuple(map(problem_text, self.problems)))


class ResultError(ValueError):
    """A result record that does not hold a valid result."""


def result_type(model: str) -> type:
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


def _point_numbers(diagnostics: Diagnostics, problems: list[str]) -> dict:
    """R-hat, tau and acceptance of a grid point (shared by its quantities), via _finite."""
    return _finite({key: getattr(diagnostics, key) for key in
                    ("rhat", "tau_steps", "acceptance")}, problems)


@dataclass(frozen=True)
class MassResult(_Problems):
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

    def record(self) -> dict:
        """The JSON-ready record (everything but the draws; the expected limits only if
        there are any)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "draws"}
        out["problems"] = list(self.problems)
        if all(out[key] is None for key in EXPECTED_COLUMNS):
            for key in EXPECTED_COLUMNS:
                del out[key]
        return out

    @classmethod
    def from_record(cls, record: Mapping, draws: Mapping[str, np.ndarray] | None = None
                    ) -> "MassResult":
        """A result from its record; ResultError naming the first bad key otherwise."""
        if not isinstance(record, Mapping):
            raise ResultError("not a JSON object")
        values = {}
        for f in fields(cls):
            if f.name == "draws":
                continue
            if f.name not in record:
                if f.name in EXPECTED_COLUMNS:  # a run without pseudo-experiments
                    continue
                raise ResultError(f"{f.name}: missing")
            values[f.name] = _checked(f.name, record[f.name])
        unknown = sorted(set(record) - set(values))
        if unknown:
            raise ResultError(f"{unknown[0]}: unknown key")
        values["problems"] = tuple(values["problems"])
        if values["converged"] and (values["g_upper"] is None or values["g_upper_mcse"] is None):
            raise ResultError("converged: true without a limit and its MC error")
        return cls(**values, draws=dict(draws or {}))

    @property
    def point_index(self) -> int:
        """Index of the grid point: the mass index."""
        return self.mass_index

    def label(self) -> str:
        return f"m = {self.m_zprime_MeV:.6g} MeV"

    def row(self) -> dict:
        """The limits.csv row (``LIMIT_COLUMNS``, then ``EXPECTED_COLUMNS``)."""
        return {key: getattr(self, key) for key in LIMIT_COLUMNS + EXPECTED_COLUMNS}

    def with_expected(self, band: Mapping[str, float]) -> "MassResult":
        """This result with the expected limits ``band`` (EXPECTED_COLUMNS); a non-finite
        one becomes None and a problem."""
        problems = list(self.problems)
        numbers = _finite({key: band.get(key) for key in EXPECTED_COLUMNS}, problems)
        return replace(self, **numbers, problems=tuple(problems))

    def rows(self) -> list[dict]:
        return [self.row()]

    def summary(self) -> dict:
        """What the manifest records of the finished mass."""
        return {"m_zprime_MeV": self.m_zprime_MeV, "g_upper": self.g_upper,
                "converged": self.converged, "problems": list(self.problems)}


@dataclass(frozen=True)
class ParameterLimit:
    """The credible upper limit on one reported moment, in Bohr magnetons, and the
    profile-likelihood limit (``upper_profile_muB``: a run with one moment, for that moment
    and for mu_eff when it is that moment, i.e. ``universal``; None otherwise).

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
class MomentResult(_Problems):
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
            numbers = _finite({"upper_muB": d.upper, "upper_mcse_muB": d.upper_mcse,
                               "ess": d.ess}, problems, f"{name}: ")
            numbers["upper_profile_muB"] = finite_or_none(profile_muB.get(name))
            problems += [p for p in d.problems if p not in problems]
            limits.append(ParameterLimit(name, **numbers, converged=bool(
                d.converged and numbers["upper_muB"] is not None
                and numbers["upper_mcse_muB"] is not None)))
        first = next(iter(diagnostics.values()))
        shared = _point_numbers(first, problems)
        converged = all(limit.converged for limit in limits) and shared["rhat"] is not None
        return cls(int(point_index), moments, tuple(limits), shared["rhat"],
                   shared["tau_steps"], shared["acceptance"], int(first.n_steps),
                   int(first.burn_in), int(first.thin), converged, tuple(problems),
                   {k: float(v) for k, v in prior_upper_muB.items()}, draws=dict(draws))

    def with_expected(self, bands: Mapping[str, Mapping[str, float]]) -> "MomentResult":
        """This result with the expected limits ``bands`` (per moment: MOMENT_EXPECTED_COLUMNS);
        a non-finite one becomes None and a problem."""
        problems = list(self.problems)
        expected = {name: _finite({key: band.get(key) for key in MOMENT_EXPECTED_COLUMNS},
                                  problems, f"{name}: ") for name, band in bands.items()}
        return replace(self, expected=expected, problems=tuple(problems))

    def label(self) -> str:
        return f"the magnetic moments ({self.moments})"

    def record(self) -> dict:
        """The JSON-ready record (everything but the draws)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "draws"}
        out["limits"] = [{f.name: getattr(limit, f.name) for f in fields(ParameterLimit)}
                         for limit in self.limits]
        out["problems"] = list(self.problems)
        out["prior_upper_muB"] = dict(self.prior_upper_muB)
        out["expected"] = {name: dict(band) for name, band in self.expected.items()}
        if not self.expected:
            del out["expected"]
        return out

    @classmethod
    def from_record(cls, record: Mapping, draws: Mapping[str, np.ndarray] | None = None
                    ) -> "MomentResult":
        """A result from its record; ResultError naming the first bad key otherwise."""
        from mcprop.inference.moments import reported_quantities, scheme_parameters
        from mcprop.physics.magnetic_moment import MOMENT_SCHEMES

        if isinstance(record, Mapping):  # a run without pseudo-experiments has no "expected"
            record = {"expected": {}, **record}
        names = _record_keys(cls, record)
        scheme = record["moments"]
        if not isinstance(scheme, str) or scheme not in MOMENT_SCHEMES:
            raise ResultError(f"moments: unknown scheme {scheme!r}")
        values = {name: _checked(name, record[name]) for name in names
                  if name not in ("moments", "limits", "prior_upper_muB", "expected")}
        if values["point_index"] != 0:
            raise ResultError(f"point_index: must be 0, got {values['point_index']!r}")
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
            try:
                parsed.append(ParameterLimit(entry["parameter"], **{
                    key: _checked(key, entry.get(key)) for key in keys[1:]}))
            except ResultError as exc:
                raise ResultError(f"{where}.{exc}") from None
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
        values["problems"] = tuple(values["problems"])
        return cls(**values, moments=scheme, limits=tuple(parsed), prior_upper_muB=bounds,
                   expected=expected, draws=dict(draws or {}))

    def rows(self) -> list[dict]:
        """The limits.csv rows (``MOMENT_COLUMNS``, then ``MOMENT_EXPECTED_COLUMNS``), one per
        reported moment."""
        return [{"parameter": limit.parameter, "upper_muB": limit.upper_muB,
                 "upper_mcse_muB": limit.upper_mcse_muB,
                 "upper_profile_muB": limit.upper_profile_muB, "ess": limit.ess, "rhat": self.rhat,
                 "tau_steps": self.tau_steps, "acceptance": self.acceptance,
                 "n_steps": self.n_steps, "burn_in": self.burn_in,
                 "converged": limit.converged,
                 **{key: self.expected.get(limit.parameter, {}).get(key)
                    for key in MOMENT_EXPECTED_COLUMNS}} for limit in self.limits]

    def summary(self) -> dict:
        """What the manifest records of the finished point."""
        return {"upper_muB": {limit.parameter: limit.upper_muB for limit in self.limits},
                "converged": self.converged, "problems": list(self.problems)}


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
class FitResult(_Problems):
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
            numbers = _finite({key: getattr(d, key) for key in
                               ("median", "lo68", "hi68", "median_mcse", "ess")},
                              problems, f"{name}: ")
            problems += [p for p in d.problems if p not in problems]
            parameters.append(ParameterSummary(name, **numbers, converged=bool(
                d.converged and None not in numbers.values())))
        first = next(iter(diagnostics.values()))
        shared = _point_numbers(first, problems)
        converged = all(p.converged for p in parameters) and shared["rhat"] is not None
        return cls(0, tuple(parameters), shared["rhat"], shared["tau_steps"],
                   shared["acceptance"], int(first.n_steps), int(first.burn_in),
                   int(first.thin), converged, tuple(problems),
                   {k: float(v) for k, v in best_fit.items()},
                   {k: {key: int(x) if key == "n_bins" else float(x)
                        for key, x in v.items()} for k, v in goodness_of_fit.items()},
                   dict(draws))

    def label(self) -> str:
        return "the Standard-Model fit"

    def record(self) -> dict:
        """The JSON-ready record (everything but the draws)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "draws"}
        out["parameters"] = [{f.name: getattr(p, f.name) for f in fields(ParameterSummary)}
                             for p in self.parameters]
        out["problems"] = list(self.problems)
        out["best_fit"] = dict(self.best_fit)
        out["goodness_of_fit"] = {k: dict(v) for k, v in self.goodness_of_fit.items()}
        return out

    @classmethod
    def from_record(cls, record: Mapping, draws: Mapping[str, np.ndarray] | None = None
                    ) -> "FitResult":
        """A result from its record; ResultError naming the first bad key otherwise."""
        names = _record_keys(cls, record)
        values = {name: _checked(name, record[name]) for name in names
                  if name not in ("parameters", "best_fit", "goodness_of_fit")}
        if values["point_index"] != 0:
            raise ResultError(f"point_index: must be 0, got {values['point_index']!r}")
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
            where = f"parameters[{entry['parameter']}]"
            try:
                numbers = {key: _checked(key, entry[key]) for key in keys[1:]}
            except ResultError as exc:
                raise ResultError(f"{where}.{exc}") from None
            parsed.append(ParameterSummary(entry["parameter"], **numbers))
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
        values["problems"] = tuple(values["problems"])
        return cls(**values, parameters=tuple(parsed), best_fit=dict(best_fit),
                   goodness_of_fit=goodness, draws=dict(draws or {}))

    def rows(self) -> list[dict]:
        """The limits.csv rows (``FIT_COLUMNS``), one per reported parameter."""
        return [{"parameter": p.parameter, "median": p.median, "lo68": p.lo68, "hi68": p.hi68,
                 "median_mcse": p.median_mcse, "ess": p.ess, "rhat": self.rhat,
                 "tau_steps": self.tau_steps, "acceptance": self.acceptance,
                 "n_steps": self.n_steps, "burn_in": self.burn_in, "converged": p.converged}
                for p in self.parameters]

    def summary(self) -> dict:
        """What the manifest records of the finished point."""
        return {"median": {p.parameter: p.median for p in self.parameters},
                "goodness_of_fit": {k: dict(v) for k, v in self.goodness_of_fit.items()},
                "converged": self.converged, "problems": list(self.problems)}


def _record_keys(cls: type, record) -> list[str]:
    """The keys a record of ``cls`` has (its fields but the draws); ResultError if
    ``record`` is not a mapping of exactly those keys."""
    if not isinstance(record, Mapping):
        raise ResultError("not a JSON object")
    names = [f.name for f in fields(cls) if f.name != "draws"]
    missing = [name for name in names if name not in record]
    if missing:
        raise ResultError(f"{missing[0]}: missing")
    unknown = sorted(set(record) - set(names))
    if unknown:
        raise ResultError(f"{unknown[0]}: unknown key")
    return names


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
