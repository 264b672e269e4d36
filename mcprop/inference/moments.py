"""Flavour-diagonal neutrino magnetic moments as the new physics of a posterior.

The sampled coordinates are the squared moments mu_a^2 in units of (1e-11 mu_B)^2, one per
parameter of the run's moment scheme (:data:`~mcprop.physics.magnetic_moment.MOMENT_SCHEMES`:
one universal moment, one flavour, or all three). The rate is linear in every mu_a^2
(:class:`~mcprop.physics.magnetic_moment.MagneticKernels`), so a prior flat in mu^2 >= 0 is
flat in the added rate: the same choice as the Z' prior flat in the new-physics rate. Each
mu^2 is bounded above where that moment alone adds ``upper_np_fraction`` times the SM
counts of the first measurement (a rate's window, or a spectrum summed over its bins) at
central inputs (the analogue of g_max), far beyond any limit. A run with moments has no mass
grid: one posterior, a one-point grid. A spectrum measurement reads the EM recoil spectra of
:meth:`~mcprop.physics.spectral.SpectralTemplates.compute_magnetic_moment`.

Reported quantities, in Bohr magnetons: the sampled moments (``mu_universal``, ``mu_e``,
``mu_mu``, ``mu_tau``) and the effective moment ``mu_eff`` = sqrt(sum_a P_ea mu_a^2)
(docs/physics.md sec. 10), with P_ea averaged over the neutrinos the first measurement sees,
weighted by their EM counts: the lines of a rate measurement (for a single line, P_ea at
that line), or the probability nodes of a spectrum.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mcprop.inference.measurements import Measurement
from mcprop.inference.posterior import FLUX
from mcprop.inference.spectrum import TemplateInputs, template_inputs
from mcprop.physics.flavour import FlavourModel
from mcprop.physics.magnetic_moment import (
    MOMENT_SCHEMES,
    MOMENT_UNIT_MUB,
    MagneticKernels,
    effective_moment_squared,
    flavour_moments_squared,
)
from mcprop.physics.solar import BE7_LINES
from mcprop.physics.spectral import SpectralTemplates

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


def profile_moments(scheme: str) -> tuple[str, ...]:
    """The reported quantities that get a profile-likelihood limit: every sampled moment
    (of several, each with the others profiled), and mu_eff too when it is the one moment
    (``universal``: sum_a P_ea = 1).

    >>> profile_moments("universal"), profile_moments("e"), profile_moments("independent")
    (('mu_universal', 'mu_eff'), ('mu_e',), ('mu_e', 'mu_mu', 'mu_tau'))
    """
    names = scheme_parameters(scheme)
    return (*names, EFFECTIVE) if scheme == "universal" else names


@dataclass(frozen=True)
class MagneticMoments:
    """Flavour-diagonal magnetic moments: the new physics of a run without masses.

    Build it with :meth:`build`.

    Attributes
    ----------
    scheme : str
        A key of MOMENT_SCHEMES.
    kernels : tuple
        MagneticKernels (rates) or magnetic SpectralTemplates (spectra) per measurement
        (None for a survival probability).
    mu2_per_np_fraction : array (k,)
        The mu^2 [(1e-11 mu_B)^2] of each sampled moment at which it alone adds the SM counts
        of the first measurement, at central inputs.
    upper_np_fraction : float
        The prior bound of each mu^2 is this multiple of ``mu2_per_np_fraction``.
    effective_nodes : tuple of (energy [MeV], source or None)
        The neutrinos over which P_ea of mu_eff is averaged: the 7Be lines of the first
        rate measurement (source None), or the probability nodes of the first spectrum.
    effective_weights : array (n_nodes,)
        Their EM counts per (mu/mu_B)^2 at central inputs (for lines: their EM window cross
        sections [cm^2]), the weights of the average.
    """

    scheme: str
    kernels: tuple[MagneticKernels | SpectralTemplates | None, ...]
    mu2_per_np_fraction: np.ndarray
    upper_np_fraction: float
    effective_nodes: tuple[tuple[float, str | None], ...]
    effective_weights: np.ndarray

    @classmethod
    def build(cls, scheme: str, upper_np_fraction: float,
              kernels: tuple[MagneticKernels | SpectralTemplates | None, ...],
              measurements: tuple[Measurement, ...],
              central_probability: Callable[[float, str | None], np.ndarray],
              centres: Mapping[str, float]) -> "MagneticMoments":
        """The moments of ``scheme`` with bounds set at the prior centres ``centres``
        (``central_probability(energy_MeV, source)``: P_ea (3,) there; source None for a 7Be
        line of a rate measurement)."""
        if scheme not in MOMENT_SCHEMES:
            raise ValueError(f"unknown magnetic-moment scheme {scheme!r}; choose one of "
                             f"{', '.join(MOMENT_SCHEMES)}")
        index, first = next((i, k) for i, k in enumerate(kernels) if k is not None)
        if isinstance(first, SpectralTemplates):
            nodes, weights, sm, slopes = _spectral_reference(first, centres,
                                                             central_probability)
        else:
            nodes = tuple((BE7_LINES[name].energy_MeV, None)
                          for name in measurements[index].lines)
            p = np.stack([central_probability(energy, None) for energy, _ in nodes])
            sm, _, _ = first.rate_cpd100t(centres[FLUX], p, np.zeros(3))
            slopes = first.rate_per_mu2_cpd100t(centres[FLUX], p)  # per (mu_a/mu_B)^2
            weights = first.em_window_cm2
        per_fraction = np.array([sm / slopes[list(flavours)].sum()
                                 for _, flavours in MOMENT_SCHEMES[scheme]]) / MOMENT_UNIT_MUB**2
        return cls(scheme, tuple(kernels), per_fraction, float(upper_np_fraction), nodes,
                   np.asarray(weights, dtype=float))

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

    def coordinates(self, moments_muB: Mapping[str, float]) -> np.ndarray:
        """The sampled coordinates (k,) of moments given in mu_B by reported name (``mu_e``,
        ...); moments not given are zero.

        >>> moments.coordinates({"mu_e": 4.5e-11})      # doctest: +SKIP
        array([20.25, 0., 0.])
        """
        return np.array([(moments_muB.get(name, 0.0) / MOMENT_UNIT_MUB) ** 2
                         for name in scheme_parameters(self.scheme)])

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

    def counts(self, measurement: int, inputs: TemplateInputs, x, point) -> np.ndarray:
        return self.kernels[measurement].magnetic_counts(
            inputs.fluxes_cm2s, inputs.probabilities, self.moments_squared(x),
            inputs.background_norms, inputs.response_shifts)

    def components(self, measurement: int, inputs: TemplateInputs, x,
                   point: int) -> dict[str, np.ndarray]:
        return self.kernels[measurement].magnetic_component_counts(
            inputs.fluxes_cm2s, inputs.probabilities, self.moments_squared(x),
            inputs.background_norms, inputs.response_shifts)

    def quantities(self, x: np.ndarray, params: Mapping[str, np.ndarray],
                   probability: Callable[[float, str | None], np.ndarray],
                   point: int) -> dict[str, np.ndarray]:
        """Each sampled moment and mu_eff [mu_B] of draws x (n, k)."""
        out = {name: np.sqrt(x[:, j]) * MOMENT_UNIT_MUB
               for j, name in enumerate(scheme_parameters(self.scheme))}
        p = np.stack([probability(energy, source) for energy, source in self.effective_nodes])
        averaged = np.einsum("l,la...->a...", self.effective_weights, p) / np.sum(
            self.effective_weights)
        out[EFFECTIVE] = np.sqrt(effective_moment_squared(self.moments_squared(x), averaged))
        return out


def _spectral_reference(templates: SpectralTemplates, centres: Mapping[str, float],
                        central_probability: Callable[[float, str | None], np.ndarray]):
    """At central inputs: the probability nodes of magnetic spectral templates, the EM
    counts of each per (mu/mu_B)^2, the SM solar counts summed over the bins and the EM
    counts per (mu_a/mu_B)^2 of each flavour (3,)."""
    inputs = template_inputs(templates, centres, central_probability, (1,))
    zero_background = np.zeros_like(inputs.background_norms)

    def solar_counts(probabilities, mu2_flavour):
        return float(templates.magnetic_counts(inputs.fluxes_cm2s, probabilities, mu2_flavour,
                                               zero_background, inputs.response_shifts).sum())

    sm = solar_counts(inputs.probabilities, np.zeros((3, 1)))
    slopes = np.array([solar_counts(inputs.probabilities, np.eye(3)[:, [a]]) - sm
                       for a in range(3)])
    # a node's EM counts per unit mu_eff^2 (its neutrinos alone, P_ea summing to one)
    weights = []
    for alone in np.eye(len(templates.node_energies_MeV))[:, :, None, None] / 3:
        probabilities = np.broadcast_to(alone, inputs.probabilities.shape)
        weights.append(solar_counts(probabilities, np.ones((3, 1)))
                       - solar_counts(probabilities, np.zeros((3, 1))))
    node_list = tuple(zip(templates.node_energies_MeV.tolist(), templates.node_sources,
                          strict=True))
    return node_list, np.array(weights), sm, slopes
