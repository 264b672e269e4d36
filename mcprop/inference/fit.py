"""The Standard Model alone as the "new physics" of a posterior: a fit without a Z'.

A run with ``physics.model = "standard-model"`` samples only the nuisances (fluxes,
oscillation parameters, backgrounds, response) against spectrum measurements: one posterior,
a one-point grid, with no coordinate of its own. It reports every sampled parameter and the
nu-e interaction rates of the solar sources [cpd/100t], each as a median with its 68%
credible interval, to compare with the rates an experiment publishes.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mcprop.inference.spectrum import TemplateInputs, template_inputs
from mcprop.physics.flavour import FlavourModel
from mcprop.physics.spectral import SpectralTemplates


def rate_name(group: str) -> str:
    """Reported name of the interaction rate of a source group: ``rate_7be_cpd100t``."""
    return f"rate_{group}_cpd100t"


@dataclass(frozen=True)
class StandardModel:
    """No new physics: the posterior of the nuisances alone (a one-point grid).

    Attributes
    ----------
    kernels : tuple
        SpectralTemplates per spectrum measurement (None for a survival probability).
    reported : tuple of str
        The sampled parameters, reported as quantities in this order (then the rates of the
        first spectrum measurement's sources).
    """

    kernels: tuple[SpectralTemplates | None, ...]
    reported: tuple[str, ...]

    names = ()
    summary = "interval"

    @property
    def n_points(self) -> int:
        return 1

    def label(self, point: int) -> str:
        return "the Standard-Model fit"

    @property
    def templates(self) -> SpectralTemplates:
        """The templates of the first spectrum measurement."""
        return next(k for k in self.kernels if k is not None)

    def log_prior(self, x: np.ndarray, point) -> np.ndarray:
        return np.zeros(len(x))

    def start(self, rng: np.random.Generator, n: int, point: int,
              np_fraction: float) -> np.ndarray:
        return np.empty((n, 0))

    def values(self, x: np.ndarray, point) -> np.ndarray:
        """A zero coupling per row (n,)."""
        return np.zeros(len(x))

    def batch_shape(self, values) -> tuple[int, ...]:
        return np.shape(values)

    def probabilities(self, flavour: FlavourModel, params, energy_MeV: float, values,
                      point) -> np.ndarray:
        return flavour.probabilities(params, energy_MeV)

    def rate(self, measurement: int, flux_cm2s, probabilities, values, point):
        raise ValueError("a Standard-Model fit has spectrum measurements, not rates")

    def counts(self, measurement: int, inputs: TemplateInputs, values, point) -> np.ndarray:
        return inputs.counts(self.kernels[measurement], 0, np.zeros(len(values)), False)

    def components(self, measurement: int, inputs: TemplateInputs, values,
                   point: int) -> dict[str, np.ndarray]:
        return self.kernels[measurement].component_counts(
            0, inputs.fluxes_cm2s, inputs.probabilities, np.zeros(len(values)),
            inputs.background_norms, inputs.response_shifts, interference=False)

    def quantities(self, x: np.ndarray, params: Mapping[str, np.ndarray],
                   probability: Callable[[float, str | None], np.ndarray],
                   point: int) -> dict[str, np.ndarray]:
        """Every sampled parameter, then the interaction rate [cpd/100t] of each source
        group, for draws (n, 0)."""
        n = len(x)
        templates = self.templates
        inputs = template_inputs(templates, params, probability, (n,))
        rates = templates.interaction_rates_cpd100t(inputs.fluxes_cm2s, inputs.probabilities)
        return {**{name: np.broadcast_to(params[name], (n,)) for name in self.reported},
                **{rate_name(group): value for group, value in rates.items()}}
