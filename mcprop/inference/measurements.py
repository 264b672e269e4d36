"""Measurements as likelihood terms on the model's predictions.

Each term reads what it needs from a :class:`Prediction` (rates per rate measurement,
P_ee at the line energies) and returns a vectorised log-likelihood. Terms multiply
(log-likelihoods add).
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mcprop.physics.kernels import DetectorResponse


def asymmetric_gaussian_log_likelihood(predicted, observed: float, sigma_plus: float,
                                       sigma_minus: float) -> np.ndarray:
    """-0.5 ((pred - obs)/sigma)^2 with sigma_plus above and sigma_minus below obs.

    The normalisation is constant in the parameters and left out.
    """
    residual = np.asarray(predicted) - observed
    sigma = np.where(residual > 0, sigma_plus, sigma_minus)
    return -0.5 * (residual / sigma) ** 2


def quadrature(*errors: float) -> float:
    """Errors added in quadrature."""
    return float(np.sqrt(np.sum(np.square(errors))))


@dataclass(frozen=True)
class RateMeasurement:
    """A measured 7Be rate [cpd/100t] of one or both lines; stat and syst in quadrature.

    The detector response (analysis window, resolution) says which recoils the fit saw;
    the model rate is the SM total rate rescaled by the Z' change of the window counts.
    """

    name: str
    lines: tuple[str, ...]
    value_cpd100t: float
    stat_cpd100t: float
    syst_plus_cpd100t: float
    syst_minus_cpd100t: float
    source: str
    response: DetectorResponse = DetectorResponse()

    @cached_property
    def sigma_plus_cpd100t(self) -> float:
        return quadrature(self.stat_cpd100t, self.syst_plus_cpd100t)

    @cached_property
    def sigma_minus_cpd100t(self) -> float:
        return quadrature(self.stat_cpd100t, self.syst_minus_cpd100t)

    def log_likelihood(self, rate_cpd100t, rate_sm_cpd100t) -> np.ndarray:
        return asymmetric_gaussian_log_likelihood(rate_cpd100t, self.value_cpd100t,
                                                  self.sigma_plus_cpd100t,
                                                  self.sigma_minus_cpd100t)


@dataclass(frozen=True)
class RelativeRateMeasurement:
    """Data equal to the SM prediction with a relative error (the seed's error treatment).

    The new-physics rate R - R_SM is measured to be 0 with a Gaussian error of
    ``relative_error x reference_rate_cpd100t`` (e.g. 14% of the measured 46 cpd/100t).
    """

    name: str
    lines: tuple[str, ...]
    relative_error: float
    reference_rate_cpd100t: float
    source: str
    response: DetectorResponse = DetectorResponse()

    def log_likelihood(self, rate_cpd100t, rate_sm_cpd100t) -> np.ndarray:
        sigma = self.relative_error * self.reference_rate_cpd100t
        return -0.5 * ((np.asarray(rate_cpd100t) - rate_sm_cpd100t) / sigma) ** 2


@dataclass(frozen=True)
class SurvivalProbabilityMeasurement:
    """A measured survival probability P_ee at one line energy (asymmetric Gaussian)."""

    name: str
    line: str
    value: float
    sigma_plus: float
    sigma_minus: float
    source: str

    def log_likelihood(self, p_ee) -> np.ndarray:
        return asymmetric_gaussian_log_likelihood(p_ee, self.value, self.sigma_plus,
                                                  self.sigma_minus)


Measurement = RateMeasurement | RelativeRateMeasurement | SurvivalProbabilityMeasurement


@dataclass(frozen=True)
class SystematicCorrelation:
    """Correlated systematic errors of two rate measurements (indices into the run's
    measurements): their statistical errors are independent, their systematic errors
    have correlation coefficient ``coefficient``."""

    first: int
    second: int
    coefficient: float
    source: str

    def log_likelihood(self, first: RateMeasurement, rate_first, second: RateMeasurement,
                       rate_second) -> np.ndarray:
        """Bivariate Gaussian of the two rates; each side's systematic error (plus or minus)
        follows the sign of its residual, as in the one-dimensional terms."""
        r1 = np.asarray(rate_first) - first.value_cpd100t
        r2 = np.asarray(rate_second) - second.value_cpd100t
        syst1 = np.where(r1 > 0, first.syst_plus_cpd100t, first.syst_minus_cpd100t)
        syst2 = np.where(r2 > 0, second.syst_plus_cpd100t, second.syst_minus_cpd100t)
        var1 = first.stat_cpd100t**2 + syst1**2
        var2 = second.stat_cpd100t**2 + syst2**2
        cov = self.coefficient * syst1 * syst2
        return -0.5 * (r1**2 * var2 - 2 * r1 * r2 * cov + r2**2 * var1) / (var1 * var2 - cov**2)
