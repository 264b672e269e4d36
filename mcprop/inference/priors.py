"""Prior distributions of the nuisance parameters, and prior sets loaded from TOML files.

A prior file (``priors/*.toml``) names its schema and gives one table per parameter, each
number with its source::

    schema_version = 1
    name = "ssm-b16-gs98"
    description = "B16 standard solar model, GS98 composition"
    reference = "N. Vinyoles et al., ApJ 835, 202 (2017)"

    [parameters.flux_7be_cm2s]
    family = "normal"
    mean = 4.93e9
    sigma = 0.2958e9
    source = "B16-GS98 total 7Be flux, 6% uncertainty"

The families are the keys of :data:`FAMILIES`. Every number is in the unit of its parameter:
mixing angles as sin^2, delta_CP in degrees, Dm^2_21 in eV^2, the 7Be flux in cm^-2 s^-1.

Beyond its family's own rules, a prior must make sense for its parameter: at least
:data:`MIN_DOMAIN_PROBABILITY` of it inside the parameter's physical domain, its numbers
within :data:`SANITY_FACTOR` times the parameter's typical size (:data:`PARAMETER_SCALES`)
and its widths at least :data:`MIN_RELATIVE_WIDTH` times that size (narrower is a fixed
value: use the ``fixed`` family).
"""

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from scipy import special, stats

from mcprop.files import InputFileError, brief_repr, printable, read_toml
from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL
from mcprop.physics.nh_response import RESPONSE_PARAMETERS
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, b16_flux_cm2s

#: The only prior-file schema this module reads.
SCHEMA_VERSION = 1

#: Physical range (low, high) of each parameter a prior may describe; bounds included,
#: except the lower bound 0 of the parameters in :data:`POSITIVE_PARAMETERS`.
PHYSICAL_DOMAINS: dict[str, tuple[float, float]] = {
    "sin2_theta12": (0.0, 1.0),
    "sin2_theta13": (0.0, 1.0),
    "sin2_theta23": (0.0, 1.0),
    "delta_cp_deg": (-math.inf, math.inf),
    "dm2_21_eV2": (0.0, math.inf),
    "flux_7be_cm2s": (0.0, math.inf),
    "p_ee": (0.0, 1.0),
}
#: Fluxes of the other solar sources (the spectral likelihood), by their B16 table names.
SOLAR_FLUX_PARAMETERS = {"flux_pp_cm2s": "pp", "flux_pep_cm2s": "pep", "flux_n13_cm2s": "13N",
                         "flux_o15_cm2s": "15O", "flux_f17_cm2s": "17F", "flux_b8_cm2s": "8B"}
#: Normalisations of the Borexino Phase-II background shapes (relative to Borexino's fit).
BACKGROUND_PARAMETERS = tuple(f"bkg_{name}_norm" for name in
                              ("c14", "pileup", "po210", "kr85", "bi210", "c11", "ext"))
PHYSICAL_DOMAINS.update({name: (0.0, math.inf) for name in SOLAR_FLUX_PARAMETERS})
PHYSICAL_DOMAINS.update({name: (0.0, math.inf) for name in BACKGROUND_PARAMETERS})
PHYSICAL_DOMAINS.update(RESPONSE_PARAMETERS)
#: Amplitude of the tilt of the threshold backgrounds' shape (mcprop.inference.spectrum;
#: 0 = Borexino's shapes), of either sign.
THRESHOLD_TILT_PARAMETER = "bkg_threshold_tilt_norm"
PHYSICAL_DOMAINS[THRESHOLD_TILT_PARAMETER] = (-math.inf, math.inf)
#: Parameters that must be > 0: no solar neutrinos or no mass splitting cannot be computed.
POSITIVE_PARAMETERS = frozenset({"dm2_21_eV2", "flux_7be_cm2s", *SOLAR_FLUX_PARAMETERS})

#: Typical size of each parameter [its unit], used only to refuse absurd prior numbers:
#: the width of the domain for sin^2 and P_ee, one turn for delta_CP, the NuFIT 5.0 best
#: fit of Dm^2_21 (JHEP 09 (2020) 178) and the B16-GS98 7Be flux (ApJ 835, 202 (2017)).
PARAMETER_SCALES: dict[str, float] = {
    "sin2_theta12": 1.0,
    "sin2_theta13": 1.0,
    "sin2_theta23": 1.0,
    "delta_cp_deg": 360.0,
    "dm2_21_eV2": NUFIT_5_0_NO_CENTRAL["dm2_21_eV2"],
    "flux_7be_cm2s": B16_GS98_BE7_FLUX_CM2S,
    "p_ee": 1.0,
    # the B16-GS98 flux of each source; 1 for relative normalisations and scales; 10 N_h
    **{name: b16_flux_cm2s(source)[0] for name, source in SOLAR_FLUX_PARAMETERS.items()},
    **dict.fromkeys((*BACKGROUND_PARAMETERS, THRESHOLD_TILT_PARAMETER), 1.0),
    "nh_energy_scale": 1.0, "nh_offset": 10.0, "nh_resolution_scale": 1.0,
}
#: Every number of a prior lies within this multiple of its parameter's scale.
SANITY_FACTOR = 1e3
#: Widths (and the length of a bounded support) below this fraction of the parameter's scale
#: are refused: the walkers could not move (use the ``fixed`` family).
MIN_RELATIVE_WIDTH = 1e-9
#: Least probability a prior must put inside its parameter's physical domain.
MIN_DOMAIN_PROBABILITY = 1e-3

#: Wraps k of the circular family: its density at x sums the split normal at x + 360 k.
_WRAPS = np.arange(-2, 3)
#: Reach [deg] of the wrapped sum on either side of the mean: 180 + 360 * max(k).
_WRAP_REACH_DEG = 180.0 + 360.0 * _WRAPS.max()
#: Widths [deg] above which the wraps |k| = 2 of the circular family contribute.
_WIDE_WRAP_DEG = 57.0
#: A wrap term below exp(-_NEGLIGIBLE_LOG) of the largest (< 2^-53) leaves the log of their
#: sum unchanged to the last bit.
_NEGLIGIBLE_LOG = 40.0
#: Rounds of redraws in PriorSet.sample before giving up on a parameter's physical domain.
_MAX_REDRAWS = 100


class PriorError(ValueError):
    """An invalid prior or prior file; the message is one line, ``file: key.path: reason``.

    ``reason``, ``key`` (dotted key path, or None) and ``path`` (file, or None) are kept as
    attributes.
    """

    def __init__(self, reason: str, *, key: str | None = None, path: Path | str | None = None):
        self.reason = " ".join(str(reason).splitlines())
        self.key = key
        self.path = path
        parts = (path, key, self.reason)
        super().__init__(": ".join(printable(str(part)) for part in parts if part is not None))


def _prefixed(err: PriorError, prefix: str) -> PriorError:
    """The same error with its key path placed under ``prefix``."""
    key = prefix if err.key is None else f"{prefix}.{err.key}"
    return PriorError(err.reason, key=key, path=err.path)


@dataclass(frozen=True)
class Distribution(ABC):
    """A one-dimensional prior; its numbers are in the unit of the parameter it describes.

    Every field must be a finite real number (stored as float); each family checks the
    relations between its fields in ``_validate``.
    """

    family: ClassVar[str]
    #: Fields that are widths (checked against the parameter's scale).
    widths: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for field_ in fields(self):
            value = getattr(self, field_.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise PriorError(f"must be a number, got {brief_repr(value)}", key=field_.name)
            try:
                number = float(value)
            except OverflowError:  # an integer beyond the range of floats
                number = math.inf
            if not math.isfinite(number):
                raise PriorError(f"must be finite, got {brief_repr(value)}", key=field_.name)
            object.__setattr__(self, field_.name, number)
        self._validate()

    @abstractmethod
    def _validate(self) -> None:
        """Check the relations between the fields; raise PriorError naming the bad one."""

    def _require_positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise PriorError(f"must be positive, got {getattr(self, name)}", key=name)

    @abstractmethod
    def log_density(self, x: np.ndarray) -> np.ndarray:
        """Normalised log pdf at ``x`` (any shape); -inf outside the support."""

    @classmethod
    def summed_log_density(cls, members: Sequence["Distribution"]
                           ) -> Callable[[np.ndarray], np.ndarray]:
        """A function of x (len(members), ...) giving the sum over ``members`` (all of this
        family) of each one's log density at its row of x. Families override it to fix
        their constants once and evaluate all rows in one pass."""
        if len(members) == 1:
            return lambda x: members[0].log_density(x[0])
        return lambda x: sum(member.log_density(row) for member, row in zip(members, x,
                                                                              strict=True))

    @abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws, shape ``(size,)``."""

    @abstractmethod
    def probability_between(self, low: float, high: float) -> float:
        """Probability of [``low``, ``high``] (infinite bounds allowed)."""

    @property
    @abstractmethod
    def support(self) -> tuple[float, float]:
        """(low, high) bounds of the support."""

    @property
    @abstractmethod
    def centre(self) -> float:
        """The central value used as the point estimate of the parameter."""

    @property
    def is_fixed(self) -> bool:
        """True when the parameter is fixed rather than sampled."""
        return False


def _column(members: Sequence["Distribution"], values) -> np.ndarray:
    """One number per member as a column (len(members), 1), to broadcast against rows of
    samples (len(members), n)."""
    return np.array([values(m) for m in members], dtype=float)[:, None]


def _require_ordered(low: float, high: float) -> None:
    if low >= high:
        raise PriorError(f"must be below high = {high}, got {low}", key="low")


def _normal_probability(low: float, high: float) -> float:
    """P(low <= Z <= high) of a standard normal Z, accurate in either tail."""
    if low > 0:
        return float(special.ndtr(-low) - special.ndtr(-high))
    return float(special.ndtr(high) - special.ndtr(low))


def _split_normal_probability(low: float, high: float, mean: float, sigma_plus: float,
                              sigma_minus: float) -> float:
    """Probability of [low, high] under the split normal of :func:`_split_normal_logpdf`:
    each half is a normal of its own width holding sigma_side / (sigma_plus + sigma_minus)."""
    if low >= high:
        return 0.0
    total = 0.0
    for sigma, side_low, side_high in ((sigma_minus, low, min(high, mean)),
                                       (sigma_plus, max(low, mean), high)):
        if side_low < side_high:
            total += 2 * sigma / (sigma_plus + sigma_minus) * _normal_probability(
                (side_low - mean) / sigma, (side_high - mean) / sigma)
    return total


def _split_normal_logpdf(x: np.ndarray, mean: float, sigma_plus: float,
                         sigma_minus: float) -> np.ndarray:
    """Log pdf of the split normal: width sigma_plus above ``mean``, sigma_minus below.

    The two half-Gaussians share their peak value, so the density is continuous at the mean
    and the mass below the mean is sigma_minus / (sigma_plus + sigma_minus).
    """
    offset = x - mean
    z = offset * np.where(offset >= 0, 1.0 / sigma_plus, 1.0 / sigma_minus)
    log_norm = math.log(0.5 * math.sqrt(2.0 * math.pi) * (sigma_plus + sigma_minus))
    return -0.5 * z * z - log_norm


@dataclass(frozen=True)
class _OnTheRealLine(Distribution):
    """A family on the whole real line, centred on its field ``mean``."""

    mean: float

    @property
    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    @property
    def centre(self) -> float:
        return self.mean


@dataclass(frozen=True)
class Normal(_OnTheRealLine):
    """Normal distribution with ``mean`` and standard deviation ``sigma`` > 0."""

    family: ClassVar[str] = "normal"
    widths: ClassVar[tuple[str, ...]] = ("sigma",)
    sigma: float

    def _validate(self) -> None:
        self._require_positive("sigma")

    def log_density(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=float) - self.mean) / self.sigma
        return -0.5 * z**2 - math.log(self.sigma * math.sqrt(2.0 * math.pi))

    @classmethod
    def summed_log_density(cls, members: Sequence["Normal"]
                           ) -> Callable[[np.ndarray], np.ndarray]:
        mean = _column(members, lambda m: m.mean)
        inverse_sigma = _column(members, lambda m: 1.0 / m.sigma)
        log_norm = sum(math.log(m.sigma * math.sqrt(2.0 * math.pi)) for m in members)

        def density(x: np.ndarray) -> np.ndarray:
            z = (x - mean) * inverse_sigma
            return -0.5 * np.sum(z * z, axis=0) - log_norm

        return density

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.normal(self.mean, self.sigma, size)

    def probability_between(self, low: float, high: float) -> float:
        return _normal_probability((low - self.mean) / self.sigma, (high - self.mean) / self.sigma)


@dataclass(frozen=True)
class AsymmetricNormal(_OnTheRealLine):
    """Split normal: mode ``mean``, width ``sigma_plus`` above it and ``sigma_minus`` below.

    Continuous at the mean and normalised, so [mean - sigma_minus, mean + sigma_plus] holds
    68.27% of the probability; the masses below and above the mean are in the ratio
    sigma_minus : sigma_plus.
    """

    family: ClassVar[str] = "asymmetric-normal"
    widths: ClassVar[tuple[str, ...]] = ("sigma_plus", "sigma_minus")
    sigma_plus: float
    sigma_minus: float

    def _validate(self) -> None:
        self._require_positive("sigma_plus", "sigma_minus")

    def log_density(self, x: np.ndarray) -> np.ndarray:
        return _split_normal_logpdf(np.asarray(x, dtype=float), self.mean, self.sigma_plus,
                                    self.sigma_minus)

    @classmethod
    def summed_log_density(cls, members: Sequence["AsymmetricNormal"]
                           ) -> Callable[[np.ndarray], np.ndarray]:
        mean = _column(members, lambda m: m.mean)
        inverse_plus = _column(members, lambda m: 1.0 / m.sigma_plus)
        inverse_minus = _column(members, lambda m: 1.0 / m.sigma_minus)
        log_norm = sum(math.log(0.5 * math.sqrt(2.0 * math.pi) * (m.sigma_plus + m.sigma_minus))
                       for m in members)

        def density(x: np.ndarray) -> np.ndarray:
            offset = x - mean
            z = offset * np.where(offset >= 0, inverse_plus, inverse_minus)
            return -0.5 * np.sum(z * z, axis=0) - log_norm

        return density

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        below = rng.random(size) < self.sigma_minus / (self.sigma_plus + self.sigma_minus)
        half_normal = np.abs(rng.standard_normal(size))
        return self.mean + np.where(below, -self.sigma_minus, self.sigma_plus) * half_normal

    def probability_between(self, low: float, high: float) -> float:
        return _split_normal_probability(low, high, self.mean, self.sigma_plus,
                                          self.sigma_minus)


@dataclass(frozen=True)
class NormalMixture(Distribution):
    """Two normal components: weight 1 - ``weight_b`` on (``mean_a``, ``sigma_a``) and
    ``weight_b`` on (``mean_b``, ``sigma_b``). It marginalises over a discrete choice, such
    as the solar composition (the B16-GS98 or B16-AGSS09met 7Be flux).
    """

    family: ClassVar[str] = "normal-mixture"
    widths: ClassVar[tuple[str, ...]] = ("sigma_a", "sigma_b")
    mean_a: float
    sigma_a: float
    mean_b: float
    sigma_b: float
    weight_b: float

    def _validate(self) -> None:
        self._require_positive("sigma_a", "sigma_b")
        if not 0 < self.weight_b < 1:
            raise PriorError(f"must lie in (0, 1), got {self.weight_b}", key="weight_b")

    def _components(self):
        return ((1.0 - self.weight_b, self.mean_a, self.sigma_a),
                (self.weight_b, self.mean_b, self.sigma_b))

    def log_density(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        terms = [math.log(w) - 0.5 * ((x - m) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))
                 for w, m, s in self._components()]
        return np.logaddexp(*terms)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        second = rng.random(size) < self.weight_b
        z = rng.standard_normal(size)
        return np.where(second, self.mean_b + self.sigma_b * z, self.mean_a + self.sigma_a * z)

    def probability_between(self, low: float, high: float) -> float:
        return sum(w * _normal_probability((low - m) / s, (high - m) / s)
                   for w, m, s in self._components())

    @property
    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    @property
    def centre(self) -> float:
        return sum(w * m for w, m, _ in self._components())


@dataclass(frozen=True)
class TruncatedNormal(Distribution):
    """Normal(``mean``, ``sigma``) restricted to [``low``, ``high``] and renormalised."""

    family: ClassVar[str] = "truncated-normal"
    widths: ClassVar[tuple[str, ...]] = ("sigma",)
    mean: float
    sigma: float
    low: float
    high: float

    def _validate(self) -> None:
        self._require_positive("sigma")
        _require_ordered(self.low, self.high)
        if not _normal_probability(*self._standard_bounds) > 1e-300:
            raise PriorError(f"the normal of mean {self.mean} and sigma {self.sigma} has no "
                             f"probability in [low, high] = [{self.low}, {self.high}]",
                             key="mean")

    @property
    def _standard_bounds(self) -> tuple[float, float]:
        return (self.low - self.mean) / self.sigma, (self.high - self.mean) / self.sigma

    def log_density(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        log_mass = math.log(_normal_probability(*self._standard_bounds))
        z = (x - self.mean) / self.sigma
        log_pdf = -0.5 * z**2 - math.log(self.sigma * math.sqrt(2.0 * math.pi)) - log_mass
        return np.where((x >= self.low) & (x <= self.high), log_pdf, -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return stats.truncnorm.rvs(*self._standard_bounds, loc=self.mean, scale=self.sigma,
                                   size=size, random_state=rng)

    def probability_between(self, low: float, high: float) -> float:
        low, high = max(low, self.low), min(high, self.high)
        if low >= high:
            return 0.0
        inside = _normal_probability((low - self.mean) / self.sigma,
                                     (high - self.mean) / self.sigma)
        return inside / _normal_probability(*self._standard_bounds)

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def centre(self) -> float:
        """The mode: ``mean`` clipped to the support."""
        return min(max(self.mean, self.low), self.high)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on [``low``, ``high``]."""

    family: ClassVar[str] = "uniform"
    low: float
    high: float

    def _validate(self) -> None:
        _require_ordered(self.low, self.high)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        return stats.uniform.logpdf(np.asarray(x, dtype=float), self.low, self.high - self.low)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def probability_between(self, low: float, high: float) -> float:
        overlap = min(high, self.high) - max(low, self.low)
        return max(overlap, 0.0) / (self.high - self.low)

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def centre(self) -> float:
        return 0.5 * (self.low + self.high)


@dataclass(frozen=True)
class LogUniform(Distribution):
    """Density proportional to 1/x on [``low``, ``high``], 0 < low < high."""

    family: ClassVar[str] = "log-uniform"
    low: float
    high: float

    def _validate(self) -> None:
        self._require_positive("low")
        _require_ordered(self.low, self.high)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        return stats.loguniform.logpdf(np.asarray(x, dtype=float), self.low, self.high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return stats.loguniform.rvs(self.low, self.high, size=size, random_state=rng)

    def probability_between(self, low: float, high: float) -> float:
        low, high = max(low, self.low), min(high, self.high)
        if low >= high:
            return 0.0
        return math.log(high / low) / math.log(self.high / self.low)

    @property
    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def centre(self) -> float:
        """The geometric mean sqrt(low * high)."""
        return math.sqrt(self.low * self.high)


@dataclass(frozen=True)
class Fixed(Distribution):
    """A parameter held at ``value``: log density 0 there and -inf elsewhere; not sampled."""

    family: ClassVar[str] = "fixed"
    value: float

    def _validate(self) -> None:
        """Any finite value is valid."""

    def log_density(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(x, dtype=float) == self.value, 0.0, -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)

    def probability_between(self, low: float, high: float) -> float:
        return float(low <= self.value <= high)

    @property
    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    @property
    def centre(self) -> float:
        return self.value

    @property
    def is_fixed(self) -> bool:
        return True


@dataclass(frozen=True)
class Circular(Distribution):
    """A split normal [deg] wrapped on the circle, for delta_CP.

    The density at x is the sum over k = -2..2 of the split-normal density (mode
    ``mean_deg``, widths ``sigma_plus_deg`` above and ``sigma_minus_deg`` below) at
    x + 360 k, on the support [mean_deg - 180, mean_deg + 180): the circle is cut opposite
    the peak. The five wraps cover the split normal within 900 deg of the mode; the density
    is divided by that mass, and samples are drawn from the same truncated split normal and
    wrapped, so density and sampler agree exactly for any width.
    """

    family: ClassVar[str] = "circular"
    widths: ClassVar[tuple[str, ...]] = ("sigma_plus_deg", "sigma_minus_deg")
    mean_deg: float
    sigma_plus_deg: float
    sigma_minus_deg: float

    def _validate(self) -> None:
        self._require_positive("sigma_plus_deg", "sigma_minus_deg")

    @cached_property
    def _half_masses(self) -> tuple[float, float]:
        """Split-normal mass within the reach of the wraps below and above the mode."""
        total = self.sigma_plus_deg + self.sigma_minus_deg
        return tuple(
            sigma / total * special.erf(_WRAP_REACH_DEG / (sigma * math.sqrt(2.0)))
            for sigma in (self.sigma_minus_deg, self.sigma_plus_deg)
        )

    @property
    def _wraps(self) -> np.ndarray:
        """Wraps that contribute: |k| = 2 adds less than 1e-17 of the density anywhere on
        the support unless a width exceeds 57 deg (exp(-8 x 180^2 / 2 sigma^2) < 1e-17)."""
        wide = max(self.sigma_plus_deg, self.sigma_minus_deg) > _WIDE_WRAP_DEG
        return _WRAPS if wide else _WRAPS[1:-1]

    def _wrapped_log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density from the sum over the wraps (any x; -inf outside the support)."""
        low, high = self.support
        inside = (x >= low) & (x < high)
        x = np.where(inside, x, self.mean_deg)
        terms = [_split_normal_logpdf(x + 360.0 * k, self.mean_deg, self.sigma_plus_deg,
                                      self.sigma_minus_deg) for k in self._wraps]
        peak = np.maximum.reduce(terms)
        log_pdf = (peak + np.log(sum(np.exp(term - peak) for term in terms))
                   - math.log(sum(self._half_masses)))
        return np.where(inside, log_pdf, -np.inf)

    @cached_property
    def _single_term_reach_deg(self) -> tuple[float, float]:
        """(below, above) [deg]: within mean_deg - below <= x <= mean_deg + above every wrap
        k != 0 is below exp(-_NEGLIGIBLE_LOG) of the k = 0 term, so the wrapped sum equals
        the k = 0 term to the last bit (found on a 0.01 deg grid, one step kept as margin)."""
        offset = np.linspace(-180.0, 180.0, 36001)[:-1]
        terms = [_split_normal_logpdf(offset + 360.0 * k, 0.0, self.sigma_plus_deg,
                                      self.sigma_minus_deg) for k in self._wraps if k != 0]
        single = np.maximum.reduce(terms) - _split_normal_logpdf(
            offset, 0.0, self.sigma_plus_deg, self.sigma_minus_deg) < -_NEGLIGIBLE_LOG
        centre = np.searchsorted(offset, 0.0)
        above = centre + np.argmin(np.append(single[centre:], False)) - 1
        below = centre - np.argmin(np.append(single[centre::-1], False)) + 1
        return float(-offset[below]), float(offset[above])

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """The wrapped sum; near the mode it is the k = 0 term alone, evaluated directly."""
        x = np.asarray(x, dtype=float)
        below, above = self._single_term_reach_deg
        offset = x - self.mean_deg
        log_pdf = (_split_normal_logpdf(x, self.mean_deg, self.sigma_plus_deg,
                                        self.sigma_minus_deg)
                   - math.log(sum(self._half_masses)))
        far = np.flatnonzero(~((offset >= -below) & (offset <= above)))
        if far.size:
            log_pdf = np.array(log_pdf, ndmin=1)
            log_pdf.reshape(-1)[far] = self._wrapped_log_pdf(x.reshape(-1)[far])
            log_pdf = log_pdf.reshape(np.shape(x))
        return log_pdf

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        below_mass, above_mass = self._half_masses
        below = rng.random(size) * (below_mass + above_mass) < below_mass
        sigma = np.where(below, self.sigma_minus_deg, self.sigma_plus_deg)
        half_normal = stats.truncnorm.rvs(0.0, _WRAP_REACH_DEG / sigma, size=size,
                                          random_state=rng)
        x = self.mean_deg + np.where(below, -sigma, sigma) * half_normal
        low, high = self.support
        x = low + np.mod(x - low, 360.0)
        # Rounding can land a draw on `high`, which is the same point of the circle as `low`.
        return np.where(x < high, x, low)

    def probability_between(self, low: float, high: float) -> float:
        """Sum over the wraps of the split-normal probability of [low, high] + 360 k, within
        the reach of the wraps, divided by the probability within that reach."""
        support_low, support_high = self.support
        low, high = max(low, support_low), min(high, support_high)
        if low >= high:
            return 0.0
        reach_low, reach_high = self.mean_deg - _WRAP_REACH_DEG, self.mean_deg + _WRAP_REACH_DEG
        inside = sum(_split_normal_probability(max(low + 360.0 * k, reach_low),
                                               min(high + 360.0 * k, reach_high), self.mean_deg,
                                               self.sigma_plus_deg, self.sigma_minus_deg)
                     for k in _WRAPS)
        return inside / sum(self._half_masses)

    @property
    def support(self) -> tuple[float, float]:
        low = self.mean_deg - 180.0
        return (low, low + 360.0)

    @property
    def centre(self) -> float:
        return self.mean_deg


#: Prior families by the name used in the ``family`` key of a prior file.
FAMILIES: dict[str, type[Distribution]] = {
    cls.family: cls
    for cls in (Normal, AsymmetricNormal, NormalMixture, TruncatedNormal, Uniform, LogUniform,
                Fixed, Circular)
}


def _check_name(name: str) -> None:
    if name not in PHYSICAL_DOMAINS:
        raise PriorError(f"unknown parameter (known: {', '.join(PHYSICAL_DOMAINS)})")


def _domain_text(name: str) -> str:
    low, high = PHYSICAL_DOMAINS[name]
    return f"{'(' if name in POSITIVE_PARAMETERS else '['}{low:g}, {high:g}]"


def _check_physical(name: str, distribution: Distribution) -> None:
    """Raise PriorError if ``distribution`` makes no sense as the prior of ``name``.

    Refused: a number beyond SANITY_FACTOR times the parameter's scale, a width (or a
    bounded support) narrower than MIN_RELATIVE_WIDTH times it, a fixed value outside the
    physical domain, or less than MIN_DOMAIN_PROBABILITY of the prior inside it.
    """
    scale = PARAMETER_SCALES[name]
    for field_ in fields(distribution):
        value = getattr(distribution, field_.name)
        if abs(value) > SANITY_FACTOR * scale:
            raise PriorError(f"{value:g} is beyond {SANITY_FACTOR:g} times the typical size "
                             f"{scale:g} of {name}", key=field_.name)
    for width in distribution.widths:
        value = getattr(distribution, width)
        if value < MIN_RELATIVE_WIDTH * scale:
            raise PriorError(f"{value:g} is below {MIN_RELATIVE_WIDTH:g} times the typical "
                             f"size {scale:g} of {name} (for a parameter held at one value "
                             f"use family = \"fixed\")", key=width)
    support_low, support_high = distribution.support
    if not distribution.is_fixed and support_high - support_low < MIN_RELATIVE_WIDTH * scale:
        raise PriorError(f"the support [{support_low:g}, {support_high:g}] is narrower than "
                         f"{MIN_RELATIVE_WIDTH:g} times the typical size {scale:g} of {name}")
    low, high = PHYSICAL_DOMAINS[name]
    if distribution.is_fixed:
        value = distribution.centre
        if not (low < value if name in POSITIVE_PARAMETERS else low <= value) or value > high:
            raise PriorError(f"fixed value {value:g} lies outside the physical domain "
                             f"{_domain_text(name)}")
        return
    probability = distribution.probability_between(low, high)
    if probability == 0:
        raise PriorError(f"prior support [{support_low:g}, {support_high:g}] lies outside the "
                         f"physical domain {_domain_text(name)}")
    if probability < MIN_DOMAIN_PROBABILITY:
        raise PriorError(f"only {probability:.2g} of the prior lies inside the physical "
                         f"domain {_domain_text(name)} (at least {MIN_DOMAIN_PROBABILITY:g})")


@dataclass(frozen=True)
class PriorFile:
    """Provenance of one prior file: its path and its top-level strings."""

    path: Path
    name: str
    description: str
    reference: str


@dataclass(frozen=True)
class PriorSet:
    """Priors of the nuisance parameters, in order, with their provenance.

    ``distributions`` maps parameter names (keys of :data:`PHYSICAL_DOMAINS`) to priors,
    ``references`` maps the same names to the source of each prior's numbers, and ``files``
    lists the prior files the set was loaded from. Both mappings are stored read-only.
    """

    distributions: Mapping[str, Distribution]
    references: Mapping[str, str]
    files: tuple[PriorFile, ...] = ()

    def __post_init__(self) -> None:
        for name, distribution in self.distributions.items():
            try:
                _check_name(name)
                if not isinstance(distribution, Distribution):
                    raise PriorError(f"not a Distribution: {distribution!r}")
                _check_physical(name, distribution)
                source = self.references.get(name)
                if not isinstance(source, str) or not source.strip():
                    raise PriorError("needs a non-empty source string in references")
            except PriorError as err:
                raise _prefixed(err, name) from None
        extra = set(self.references) - set(self.distributions)
        if extra:
            raise PriorError(f"references name parameters without a prior: {sorted(extra)}")
        object.__setattr__(self, "distributions", dict(self.distributions))
        object.__setattr__(self, "references", dict(self.references))

    @property
    def name(self) -> str:
        """The names of the files, joined by '+'."""
        return "+".join(file.name for file in self.files)

    @property
    def description(self) -> str:
        """The descriptions of the files, joined by '; '."""
        return "; ".join(file.description for file in self.files if file.description)

    @property
    def paths(self) -> tuple[Path, ...]:
        """Paths of the files, in load order."""
        return tuple(file.path for file in self.files)

    @cached_property
    def free_names(self) -> tuple[str, ...]:
        """Names of the sampled (non-fixed) parameters, in file order."""
        return tuple(name for name, dist in self.distributions.items() if not dist.is_fixed)

    @property
    def fixed_values(self) -> dict[str, float]:
        """Values of the fixed parameters."""
        return {name: dist.centre for name, dist in self.distributions.items() if dist.is_fixed}

    def centres(self) -> dict[str, float]:
        """Central value of every parameter, fixed ones included."""
        return {name: dist.centre for name, dist in self.distributions.items()}

    @cached_property
    def _family_densities(self) -> tuple[np.ndarray, tuple[tuple[Callable, slice], ...]]:
        """The free parameters grouped by family: the rows of :attr:`free_names` in family
        order, and per family its summed log density
        (:meth:`Distribution.summed_log_density`) and its slice of those rows."""
        groups: dict[type, list[int]] = {}
        for k, name in enumerate(self.free_names):
            groups.setdefault(type(self.distributions[name]), []).append(k)
        densities, start = [], 0
        for family, rows in groups.items():
            members = [self.distributions[self.free_names[k]] for k in rows]
            densities.append((family.summed_log_density(members),
                              slice(start, start + len(rows))))
            start += len(rows)
        order = np.array([k for rows in groups.values() for k in rows], dtype=np.intp)
        return order, tuple(densities)

    @cached_property
    def _domains(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds (n_free, 1) of the free parameters' physical domains, in
        the family order of :attr:`_family_densities`."""
        order, _ = self._family_densities
        bounds = np.array([PHYSICAL_DOMAINS[self.free_names[k]] for k in order]).reshape(-1, 2)
        return bounds[:, :1], bounds[:, 1:]

    @cached_property
    def _domain_probabilities(self) -> dict[str, float]:
        """Probability of each free parameter's prior inside its physical domain."""
        return {name: self.distributions[name].probability_between(*PHYSICAL_DOMAINS[name])
                for name in self.free_names}

    def log_density(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Sum of the free parameters' log priors; -inf outside a physical domain.

        ``values`` maps each free parameter to an array of shape (n,); other keys are
        ignored. The sum is not renormalised for the cut at the physical domains. The
        parameters of a family are evaluated together
        (:meth:`Distribution.summed_log_density`).
        """
        if not self.free_names:
            return np.zeros(())
        x = np.array(np.broadcast_arrays(*(np.asarray(values[name], dtype=float)
                                           for name in self.free_names)))
        return self.log_density_of_rows(x.reshape(len(x), -1)).reshape(x.shape[1:])

    def log_density_of_rows(self, x: np.ndarray) -> np.ndarray:
        """:meth:`log_density` of samples given as rows x (n_free, n), one row per free
        parameter in :attr:`free_names` order (the sampler's coordinates, transposed)."""
        order, densities = self._family_densities
        x = x[order]
        low, high = self._domains
        inside = np.all((x >= low) & (x <= high), axis=0)
        total = 0.0
        with np.errstate(over="ignore"):  # far outside the prior: -inf, not a warning
            for density, rows in densities:
                total = total + density(x[rows])
        return np.where(inside, total, -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """``size`` draws of each free parameter, redrawn until inside its physical domain.

        Draws outside the domain are replaced from batches sized by the prior's probability
        inside it (at least MIN_DOMAIN_PROBABILITY), so a few rounds always suffice.
        """
        draws = {}
        for name in self.free_names:
            distribution = self.distributions[name]
            low, high = PHYSICAL_DOMAINS[name]
            probability = self._domain_probabilities[name]
            x = distribution.sample(rng, size)
            outside = np.flatnonzero((x < low) | (x > high))
            for _ in range(_MAX_REDRAWS):
                if outside.size == 0:
                    break
                batch = distribution.sample(rng, math.ceil(outside.size / probability))
                batch = batch[(batch >= low) & (batch <= high)][:outside.size]
                x[outside[:batch.size]] = batch
                outside = outside[batch.size:]
            if outside.size:
                raise PriorError(f"almost all of the prior lies outside the physical domain "
                                 f"{_domain_text(name)}", key=name)
            draws[name] = x
        return draws

    def with_override(self, name: str, distribution: Distribution,
                      source: str = "set by PriorSet.with_override") -> Self:
        """A copy with ``name``'s prior replaced (or added, at the end) by ``distribution``."""
        return replace(self, distributions={**self.distributions, name: distribution},
                       references={**self.references, name: source})

    def restricted_to(self, names: Sequence[str]) -> Self:
        """A copy holding only ``names`` (PriorError naming any that is missing)."""
        missing = [name for name in names if name not in self.distributions]
        if missing:
            raise PriorError(f"no prior for {', '.join(missing)} in "
                             f"{', '.join(str(p) for p in self.paths) or 'the prior set'}")
        return replace(self, distributions={n: d for n, d in self.distributions.items()
                                            if n in names},
                       references={n: r for n, r in self.references.items() if n in names})

    def provenance(self) -> dict[str, Any]:
        """JSON-serialisable record: each parameter's family, numbers and source; the files."""
        return {
            "name": self.name,
            "files": [
                {"path": str(file.path), "name": file.name, "description": file.description,
                 "reference": file.reference}
                for file in self.files
            ],
            "parameters": {
                name: {"family": dist.family, **asdict(dist), "source": self.references[name]}
                for name, dist in self.distributions.items()
            },
        }


_TOP_LEVEL_KEYS = ("schema_version", "name", "description", "reference", "parameters")
_STRING_KEYS = ("family", "source")


def load_prior_files(paths: Sequence[Path | str]) -> PriorSet:
    """Load prior files and merge them, in order, into one PriorSet.

    Raises
    ------
    PriorError
        One line naming the file, the key path and the reason, for an unreadable or invalid
        file, or a parameter defined in more than one file.
    """
    if not paths:
        raise PriorError("no prior files given")
    distributions: dict[str, Distribution] = {}
    references: dict[str, str] = {}
    files: list[PriorFile] = []
    defined_in: dict[str, Path] = {}
    for path in map(Path, paths):
        prior_file, file_distributions, file_references = _read_prior_file(path)
        for name in file_distributions:
            if name in defined_in:
                raise PriorError(f"already defined in {defined_in[name]}",
                                 key=f"parameters.{name}", path=path)
            defined_in[name] = path
        distributions.update(file_distributions)
        references.update(file_references)
        files.append(prior_file)
    return PriorSet(distributions, references, tuple(files))


def _read_prior_file(path: Path) -> tuple[PriorFile, dict[str, Distribution], dict[str, str]]:
    """Parse and validate one prior file; PriorError messages name ``path``."""
    try:
        document = read_toml(path)
    except InputFileError as err:
        raise PriorError(err.reason, path=err.path) from None
    try:
        return _parse_document(path, document)
    except PriorError as err:
        raise PriorError(err.reason, key=err.key, path=path) from None


def _parse_document(path: Path, document: dict[str, Any]
                    ) -> tuple[PriorFile, dict[str, Distribution], dict[str, str]]:
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            raise PriorError(f"unknown top-level key (allowed: {', '.join(_TOP_LEVEL_KEYS)})",
                             key=key)
    if "schema_version" not in document:
        raise PriorError(f"missing; this version reads schema_version = {SCHEMA_VERSION}",
                         key="schema_version")
    version = document["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise PriorError(f"unsupported value {brief_repr(version)}; only {SCHEMA_VERSION} is "
                         f"supported", key="schema_version")
    strings = {key: document.get(key, "") for key in ("name", "description", "reference")}
    for key, value in strings.items():
        if not isinstance(value, str) or not value.isprintable():
            raise PriorError(f"must be a string without control characters (newline, tab, "
                             f"NUL), got {brief_repr(value)}", key=key)
    if not strings["name"].strip():
        raise PriorError("missing or empty", key="name")
    if "parameters" not in document:
        raise PriorError("missing [parameters] table", key="parameters")
    parameters = document["parameters"]
    if not isinstance(parameters, dict) or not parameters:
        raise PriorError("must be a non-empty table of parameters", key="parameters")
    distributions, references = {}, {}
    for name, table in parameters.items():
        try:
            distributions[name], references[name] = _parse_parameter(name, table)
        except PriorError as err:
            raise _prefixed(err, f"parameters.{name}") from None
    return PriorFile(path, **strings), distributions, references


def _parse_parameter(name: str, table: Any) -> tuple[Distribution, str]:
    """The prior and source string of ``[parameters.<name>]``; key paths relative to it."""
    _check_name(name)
    if not isinstance(table, dict):
        raise PriorError("must be a table")
    if "family" not in table:
        raise PriorError("missing", key="family")
    if "source" not in table:
        raise PriorError("missing; every prior needs a source string", key="source")
    for key in _STRING_KEYS:
        value = table[key]
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise PriorError(f"must be a non-empty string without control characters "
                             f"(newline, tab, NUL), got {brief_repr(value)}", key=key)
    family = table["family"]
    if family not in FAMILIES:
        raise PriorError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})",
                         key="family")
    cls = FAMILIES[family]
    field_names = [field_.name for field_ in fields(cls)]
    for key in table:
        if key not in (*field_names, *_STRING_KEYS):
            raise PriorError(f"unknown field for family {family!r} (fields: "
                             f"{', '.join(field_names)})", key=key)
    for key in field_names:
        if key not in table:
            raise PriorError(f"missing; family {family!r} needs {', '.join(field_names)}",
                             key=key)
    distribution = cls(**{key: table[key] for key in field_names})
    _check_physical(name, distribution)
    return distribution, table["source"]
