"""What a run computes, independent of files and the command line: the scan plan.

A :class:`ScanPlan` is built by the config reader (or directly in Python) and consumed by
the sampling engine. It names the mass grid (or none: one posterior), the priors, the
flavour model, the measurements, the coupling prior, the limit settings and the sampler.
"""

from dataclasses import dataclass

import numpy as np

from mcprop.inference.measurements import (
    Measurement,
    SurvivalProbabilityMeasurement,
    SystematicCorrelation,
)
from mcprop.inference.posterior import CouplingPrior, ScanPosterior
from mcprop.inference.priors import PriorSet
from mcprop.inference.sampler import SamplerSettings
from mcprop.physics.flavour import FlavourModel
from mcprop.physics.kernels import RateKernels
from mcprop.physics.scattering import LMU_LTAU, U1Model
from mcprop.physics.solar import BE7_LINES

#: -2 Delta ln L of the conventional 90% C.L. profile-likelihood limit: 1.6449^2 = 2.7055,
#: chi2.ppf(0.9, 1), the upper end of a two-sided 90% interval (Wilks). With a Gaussian
#: likelihood in the new-physics rate it puts the limit at 1.645 sigma, where the Bayesian
#: limit with a prior flat in that rate also lies (a half-normal posterior). A one-sided test
#: with the boundary at g = 0 (Chernoff: half chi^2_0, half chi^2_1) would use
#: chi2.ppf(0.8, 1) = 1.642; ``limits.profile_delta_chi2`` selects either.
PROFILE_LEVEL_90 = 2.705543454095404


@dataclass(frozen=True)
class ScanPlan:
    """Everything a scan needs, independent of files and the command line.

    Attributes
    ----------
    masses_MeV : array
        The Z' masses [MeV] of the scan, in grid order.
    priors : PriorSet
        Priors of the sampled nuisances (only what the model reads).
    flavour : FlavourModel
        Flavour composition at the detector.
    measurements : tuple
        Likelihood terms.
    coupling_prior : CouplingPrior
        The prior on g and its upper bound g_max(m).
    credibility : float
        Credibility of the upper limit (0.9).
    sampler : SamplerSettings
        Ensembles, walkers, chunking and convergence criteria.
    seed : int
        The run seed (SeedSequence root).
    interference : bool
        Keep the SM-Z' interference.
    model : U1Model
        The U(1)' model.
    sin2_theta_w : float or None
        Weak mixing angle; None takes the convention of the cross section (0.23121 at M_Z
        MS-bar with radiative corrections, 0.23867 at low energy at tree level).
    radiative_corrections : bool
        One-loop electroweak and QED corrections to nu-e scattering (Bahcall, Kamionkowski,
        Sirlin 1995; docs/physics.md).
    matter_potential : bool
        The Z' matter potential in the Sun enters the MSW flavour content (models with a
        tree-level electron charge and the decoherent-msw flavour model; docs/physics.md
        sec. 9).
    profile : bool
        Compute the profile-likelihood limit beside the credible limit.
    profile_level : float
        -2 Delta ln L of the profile-likelihood limit (``PROFILE_LEVEL_90``).
    correlations : tuple
        Correlated systematics between rate measurements.
    """

    masses_MeV: np.ndarray
    priors: PriorSet
    flavour: FlavourModel
    measurements: tuple[Measurement, ...]
    coupling_prior: CouplingPrior = CouplingPrior()
    credibility: float = 0.9
    sampler: SamplerSettings = SamplerSettings()
    seed: int = 0
    interference: bool = True
    model: U1Model = LMU_LTAU
    sin2_theta_w: float | None = None
    radiative_corrections: bool = True
    matter_potential: bool = False
    profile: bool = True
    profile_level: float = PROFILE_LEVEL_90
    correlations: tuple[SystematicCorrelation, ...] = ()

    def kernels(self) -> list[RateKernels | None]:
        """Rate kernels over the whole mass grid for every rate measurement."""
        return [None if isinstance(m, SurvivalProbabilityMeasurement) else
                RateKernels.compute(self.masses_MeV, [BE7_LINES[name] for name in m.lines],
                                    self.model, m.response, self.sin2_theta_w,
                                    self.radiative_corrections)
                for m in self.measurements]

    def posterior(self) -> ScanPosterior:
        """The posterior over the whole mass grid (kernels computed here, once)."""
        return ScanPosterior(np.asarray(self.masses_MeV, dtype=float), self.priors,
                             self.flavour, self.coupling_prior, self.measurements,
                             tuple(self.kernels()), self.interference, self.model,
                             self.correlations, self.matter_potential)
