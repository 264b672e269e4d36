"""Prior distributions: the families a prior file may name (:data:`FAMILIES`).

Each family is a frozen dataclass whose fields are the numbers of its table in a prior file,
in the unit of the parameter it describes; it checks its own numbers (finite, widths > 0,
bounds ordered) and gives the log density, draws, the probability of an interval, its
support and centre. Which parameter a prior describes, and whether the prior makes sense for
it, is the business of :mod:`mcprop.inference.priors`.

>>> Normal(mean=0.51, sigma=0.07).probability_between(0.44, 0.58)  # doctest: +ELLIPSIS
0.6826...
"""

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy import special, stats

from mcprop.files import brief_repr, printable

#: Wraps k of the circular family: its density at x sums the split normal at x + 360 k.
_WRAPS = np.arange(-2, 3)
#: Reach [deg] of the wrapped sum on either side of the mean: 180 + 360 * max(k).
_WRAP_REACH_DEG = 180.0 + 360.0 * _WRAPS.max()
#: Widths [deg] above which the wraps |k| = 2 of the circular family contribute.
_WIDE_WRAP_DEG = 57.0
#: A wrap term below exp(-_NEGLIGIBLE_LOG) of the largest (< 2^-53) leaves the log of their
#: sum unchanged to the last bit.
_NEGLIGIBLE_LOG = 40.0


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


def finite_number(value) -> float:
    """``value`` as a float; PriorError unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PriorError(f"must be a number, got {brief_repr(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the range of floats
        number = math.inf
    if not math.isfinite(number):
        raise PriorError(f"must be finite, got {brief_repr(value)}")
    return number


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
            try:
                number = finite_number(getattr(self, field_.name))
            except PriorError as err:
                raise PriorError(err.reason, key=field_.name) from None
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
