"""Flavour-diagonal neutrino magnetic moments as the new physics of a posterior.

The sampled coordinates are the squared moments mu_a^2 in units of (1e-11 mu_B)^2, one per
parameter of the run's moment scheme (:data:`~mcprop.physics.magnetic_moment.MOMENT_SCHEMES`:
one universal moment, one flavour, or all three). The rate is linear in every mu_a^2
(:class:`~mcprop.physics.magnetic_moment.MagneticKernels`), so a prior flat in mu^2 >= 0 is
flat in the added rate: the same choice as the Z' prior flat in the new-physics rate. Each
mu^2 is bounded above where that moment alone adds ``upper_np_fraction`` times the SM window
counts of the first rate measurement at central inputs (the analogue of g_max), far beyond
any limit. A run with moments has no mass grid: one posterior, a one-point grid.

Reported quantities, in Bohr magnetons: the sampled moments (``mu_universal``, ``mu_e``,
``mu_mu``, ``mu_tau``) and the effective moment ``mu_eff`` = sqrt(sum_a P_ea mu_a^2)
(docs/physics.md sec. 10), with P_ea averaged over the lines of the first rate measurement,
weighted by their EM window counts (for a single line, P_ea at that line).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mcprop.inference.measurements import Measurement
from mcprop.physics.flavour import FlavourModel
from mcprop.physics.magnetic_moment import (
    MOMENT_SCHEMES,
    MOMENT_UNIT_MUB,
    MagneticKernels,
    effective_moment_squared,
    flavour_moments_squared,
)
from mcprop.physics.solar import BE7_LINES

#: Reported name of the parameter of each key of MOMENT_SCHEMES.
PARAMETER_NAMES = {"mu_1e-11_muB": "mu_universal", "mu_e_1e-11_muB": "mu_e",
                   "mu_mu_1e-11_muB": "mu_mu", "mu_tau_1e-11_muB": "mu_tau"}
#: Reported name of the effective moment.
EFFECTIVE = "mu_eff"
#: The prior kind recorded for a magnetic-moment run: flat in each mu_a^2 >= 0.
FLAT_MU2 = "flat-mu2"


def scheme_parameters(scheme: str) -> tuple[str, ...]:
    """Reported names of the sampled moments of ``scheme`` (e.g. ('mu_e',))."""
    return tuple(PARAMETER_NAMES[key] for key, _ in MOMENT_SCHEMES[scheme])


def reported_quantities(scheme: str) -> tuple[str, ...]:
    """Every reported quantity of ``scheme``: the sampled moments, then ``mu_eff``."""
    return (*scheme_parameters(scheme), EFFECTIVE)


@dataclass(frozen=True)
class MagneticMoments:
    """Flavour-diagonal magnetic moments: the new physics of a run without masses.

    Build it with :meth:`build`.

    Attributes
    ----------
    scheme : str
        A key of MOMENT_SCHEMES.
    kernels : tuple
        MagneticKernels per measurement (None for a survival probability).
    mu2_per_np_fraction : array (k,)
        The mu^2 [(1e-11 mu_B)^2] of each sampled moment at which it alone adds the SM window
        counts of the first rate measurement, at central inputs.
    upper_np_fraction : float
        The prior bound of each mu^2 is this multiple of ``mu2_per_np_fraction``.
    effective_lines : tuple of str
        Lines of the first rate measurement, over which P_ea of mu_eff is averaged.
    effective_weights : array (n_lines,)
        Their EM window cross sections [cm^2 per (mu/mu_B)^2], the weights of the average.
    """

    scheme: str
    kernels: tuple[MagneticKernels | None, ...]
    mu2_per_np_fraction: np.ndarray
    upper_np_fraction: float
    effective_lines: tuple[str, ...]
    effective_weights: np.ndarray

    @classmethod
    def build(cls, scheme: str, upper_np_fraction: float,
              kernels: tuple[MagneticKernels | None, ...],
              measurements: tuple[Measurement, ...], flavour: FlavourModel,
              centres: Mapping[str, float], flux_cm2s: float) -> "MagneticMoments":
        """The moments of ``scheme`` with bounds set at the prior centres ``centres``."""
        if scheme not in MOMENT_SCHEMES:
            raise ValueError(f"unknown magnetic-moment scheme {scheme!r}; choose one of "
                             f"{', '.join(MOMENT_SCHEMES)}")
        index, first = next((i, k) for i, k in enumerate(kernels) if k is not None)
        lines = measurements[index].lines
        p = np.stack([flavour.probabilities(centres, BE7_LINES[name].energy_MeV)
                      for name in lines])
        rate_sm, _, _ = first.rate_cpd100t(flux_cm2s, p, np.zeros(3))
        slopes = first.rate_per_mu2_cpd100t(flux_cm2s, p)  # per (mu_a/mu_B)^2
        per_fraction = np.array([rate_sm / slopes[list(flavours)].sum()
                                 for _, flavours in MOMENT_SCHEMES[scheme]]) / MOMENT_UNIT_MUB**2
        return cls(scheme, tuple(kernels), per_fraction, float(upper_np_fraction),
                   tuple(lines), first.em_window_cm2)

    summary = "upper"

    @property
    def names(self) -> tuple[str, ...]:
        """Sampled coordinates: mu^2 of each moment in (1e-11 mu_B)^2."""
        return tuple(f"{name}_sq_1e-22_muB2" for name in scheme_parameters(self.scheme))

    @property
    def n_points(self) -> int:
        return 1

    def label(self, point: int) -> str:
        return f"the magnetic moments ({self.scheme})"

    @property
    def upper(self) -> np.ndarray:
        """Upper bounds of the sampled mu^2 [(1e-11 mu_B)^2]."""
        return self.upper_np_fraction * self.mu2_per_np_fraction

    def upper_muB(self) -> dict[str, float]:
        """The prior's upper bound on each sampled moment [mu_B]."""
        return {name: float(np.sqrt(bound) * MOMENT_UNIT_MUB)
                for name, bound in zip(scheme_parameters(self.scheme), self.upper, strict=True)}

    def log_prior(self, x: np.ndarray, point) -> np.ndarray:
        inside = np.all((x >= 0) & (x <= self.upper), axis=-1)
        return np.where(inside, 0.0, -np.inf)

    def start(self, rng: np.random.Generator, n: int, point: int,
              np_fraction: float) -> np.ndarray:
        """Each mu^2 uniform from 0 up to where that moment alone adds ``np_fraction``."""
        return rng.uniform(0.0, np_fraction * self.mu2_per_np_fraction, (n, len(self.names)))

    def values(self, x: np.ndarray, point) -> np.ndarray:
        """The sampled mu^2 themselves (n, k)."""
        return x

    def batch_shape(self, x) -> tuple[int, ...]:
        return np.shape(x)[:-1]

    def moments_squared(self, x: np.ndarray) -> np.ndarray:
        """(mu_a/mu_B)^2 for a = e, mu, tau, shape (3, ...), from coordinates (..., k)."""
        x = np.asarray(x, dtype=float)
        params = {key: np.sqrt(x[..., j])
                  for j, (key, _) in enumerate(MOMENT_SCHEMES[self.scheme])}
        return flavour_moments_squared(self.scheme, params)

    def probabilities(self, flavour: FlavourModel, params, energy_MeV: float, x,
                      point) -> np.ndarray:
        return flavour.probabilities(params, energy_MeV)

    def rate(self, measurement: int, flux_cm2s, probabilities, x, point):
        rate_sm, rate, _ = self.kernels[measurement].rate_cpd100t(
            flux_cm2s, probabilities, self.moments_squared(x))
        return rate_sm, rate

    def quantities(self, x: np.ndarray, params: Mapping[str, np.ndarray],
                   probability: Callable[[float, str | None], np.ndarray],
                   point: int) -> dict[str, np.ndarray]:
        """Each sampled moment and mu_eff [mu_B] of draws x (n, k)."""
        out = {name: np.sqrt(x[:, j]) * MOMENT_UNIT_MUB
               for j, name in enumerate(scheme_parameters(self.scheme))}
        p = np.stack([probability(BE7_LINES[line].energy_MeV, None)
                      for line in self.effective_lines])
        averaged = np.einsum("l,la...->a...", self.effective_weights, p) / np.sum(
            self.effective_weights)
        out[EFFECTIVE] = np.sqrt(effective_moment_squared(self.moments_squared(x), averaged))
        return out
