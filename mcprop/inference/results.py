"""The result of one mass: its limits, diagnostics and stored draws, and its one record
format (the ``results/mNNN.json`` of a run directory and a row of ``limits.csv``).

Every number a result reports is finite or absent (``None``, with the reason in
``problems``); a record read back is checked against the same definition.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from mcprop.inference.diagnostics import Diagnostics

#: Columns of limits.csv and ScanResult.limits, in order, with units in the names.
LIMIT_COLUMNS = ("m_zprime_MeV", "g_upper", "g_upper_mcse", "g_upper_profile", "ess", "rhat",
                 "tau_steps", "acceptance", "n_steps", "burn_in", "converged")
#: Units of the columns (for provenance lines and HEPData).
COLUMN_UNITS = {"m_zprime_MeV": "MeV", "tau_steps": "steps", "n_steps": "steps",
                "burn_in": "steps"}


class ResultError(ValueError):
    """A result record that does not hold a valid result."""


def finite_or_none(value) -> float | None:
    """A float if finite, else None (JSON and CSV outputs hold no NaN or infinity)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class MassResult:
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
    draws : mapping of str to array (chain, draw)
        The stored draws of g and the nuisances; chain = ensemble x walkers + walker.
    """

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
    draws: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_sampling(cls, mass_index: int, m_zprime_MeV: float, diagnostics: Diagnostics,
                      g_max: float, draws: Mapping[str, np.ndarray],
                      profile: Mapping[str, float] | None = None) -> "MassResult":
        """Assemble a result; a non-finite number becomes None and a problem."""
        d = diagnostics
        problems = list(d.problems)
        numbers = {}
        for name in ("g_upper", "g_upper_mcse", "ess", "rhat", "tau_steps", "acceptance"):
            numbers[name] = finite_or_none(getattr(d, name))
            if numbers[name] is None:
                problems.append(f"{name} could not be computed")
        profile = profile or {}
        converged = d.converged and numbers["g_upper"] is not None and numbers[
            "g_upper_mcse"] is not None
        return cls(mass_index, float(m_zprime_MeV), numbers["g_upper"], numbers["g_upper_mcse"],
                   finite_or_none(profile.get("g_upper_profile")),
                   finite_or_none(profile.get("g_hat_profile")), numbers["ess"],
                   numbers["rhat"], numbers["tau_steps"], numbers["acceptance"],
                   int(d.n_steps), int(d.burn_in), int(d.thin), bool(converged),
                   tuple(problems), float(g_max), dict(draws))

    def record(self) -> dict:
        """The JSON-ready record (everything but the draws)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "draws"}
        out["problems"] = list(self.problems)
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
                raise ResultError(f"{f.name}: missing")
            values[f.name] = _checked(f.name, record[f.name])
        unknown = sorted(set(record) - set(values))
        if unknown:
            raise ResultError(f"{unknown[0]}: unknown key")
        values["problems"] = tuple(values["problems"])
        if values["converged"] and (values["g_upper"] is None or values["g_upper_mcse"] is None):
            raise ResultError("converged: true without a limit and its MC error")
        return cls(**values, draws=dict(draws or {}))

    def row(self) -> dict:
        """The limits.csv row (``LIMIT_COLUMNS``)."""
        return {key: getattr(self, key) for key in LIMIT_COLUMNS}


_INTEGERS = {"mass_index", "n_steps", "burn_in", "thin"}
_OPTIONAL = {"g_upper", "g_upper_mcse", "g_upper_profile", "g_hat_profile", "ess", "rhat",
             "tau_steps", "acceptance"}


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
    if name not in ("g_hat_profile",) and value < 0:
        raise ResultError(f"{name}: must be >= 0, got {value!r}")
    return float(value)
