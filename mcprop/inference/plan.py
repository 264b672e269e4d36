"""What a run computes, independent of files and the command line: the scan plan.

A :class:`ScanPlan` is built by the config reader (or directly in Python) and consumed by
the sampling engine. It names the new physics (a Z' over a mass grid, or magnetic moments:
one posterior, a one-point grid), the priors, the flavour model, the measurements, the prior
of the new physics, the limit settings and the sampler.
"""

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mcprop.inference.expected import ExpectedSettings
from mcprop.inference.fit import StandardModel
from mcprop.inference.measurements import (
    Measurement,
    SurvivalProbabilityMeasurement,
    SystematicCorrelation,
)
from mcprop.inference.moments import MagneticMoments
from mcprop.inference.posterior import CouplingPrior, ScanPosterior, ZPrime
from mcprop.inference.priors import PriorSet
from mcprop.inference.sampler_settings import SamplerSettings
from mcprop.inference.spectrum import SpectrumMeasurement
from mcprop.physics.flavour import DecoherentMSW, FlavourModel
from mcprop.physics.kernels import RateKernels
from mcprop.physics.magnetic_moment import MagneticKernels
from mcprop.physics.scattering import LMU_LTAU, U1Model
from mcprop.physics.solar import BE7_LINES
from mcprop.physics.solar_spectra import SOLAR_SOURCES
from mcprop.physics.spectral import SpectralTemplates

#: A fit without a Z' evaluates the spectral templates of one Z' mass [MeV] at zero coupling.
TEMPLATE_MASS_WITHOUT_ZPRIME_MEV = np.array([1.0])

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
        The Z' masses [MeV] of the scan, in grid order (empty for magnetic moments).
    priors : PriorSet
        Priors of the sampled nuisances (only what the model reads).
    flavour : FlavourModel
        Flavour composition at the detector.
    measurements : tuple
        Likelihood terms.
    coupling_prior : CouplingPrior
        The prior on g and its upper bound g_max(m); for magnetic moments only its
        ``upper_np_fraction`` is read (the prior is flat in each mu^2 >= 0).
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
    moments : str or None
        None for the Z'; a moment scheme (``universal``, ``e``, ``mu``, ``tau``,
        ``independent``) for flavour-diagonal magnetic moments instead (no mass grid, no
        profile-likelihood limit).
    standard_model : bool
        No new physics: a fit of the nuisances alone (no mass grid, no limits; every sampled
        parameter reported as a median and 68% interval).
    composition : str or None
        The B16 composition whose production profile of each solar source sets that
        source's MSW flavour content in spectrum measurements; None uses ``flavour`` for
        every source (vacuum weights, or a profile read from a file).
    expected : ExpectedSettings
        Pseudo-experiments for the expected limits of a Z' run (none by default).
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
    moments: str | None = None
    standard_model: bool = False
    composition: str | None = None
    expected: ExpectedSettings = ExpectedSettings()

    @property
    def has_masses(self) -> bool:
        """Whether the run scans Z' masses (not: magnetic moments, a Standard-Model fit)."""
        return self.moments is None and not self.standard_model

    @property
    def n_points(self) -> int:
        """Points of the grid: the masses, or one for a run without masses."""
        return len(self.masses_MeV) if self.has_masses else 1

    def kernels(self) -> list[RateKernels | MagneticKernels | SpectralTemplates | None]:
        """Kernels of every measurement: rate kernels over the whole mass grid for the Z',
        the magnetic ones for moments, spectral templates for a spectrum (with the EM rows for
        moments; None for a survival probability)."""
        kernels = []
        for m in self.measurements:
            if isinstance(m, SurvivalProbabilityMeasurement):
                kernels.append(None)
                continue
            if isinstance(m, SpectrumMeasurement):
                # one BLAS thread: the basis search is many mid-sized products, which a
                # thread pool slows down on a busy machine (0.7 against 1.3 s for 841 bins)
                options = dict(exposure_day_100t=m.exposure_day_100t,
                               radiative_corrections=self.radiative_corrections,
                               sin2_theta_w=self.sin2_theta_w,
                               low_energy_log_response=m.low_energy_log_response)
                with threadpool_limits(1):
                    if self.moments is not None:
                        kernels.append(SpectralTemplates.compute_magnetic_moment(
                            m.nh_edges, m.response, m.background_templates, m.background_names,
                            **options))
                    else:
                        kernels.append(SpectralTemplates.compute(
                            self.masses_MeV if self.has_masses
                            else TEMPLATE_MASS_WITHOUT_ZPRIME_MEV, self.model, m.nh_edges,
                            m.response, m.background_templates, m.background_names, **options))
                continue
            lines = [BE7_LINES[name] for name in m.lines]
            if self.moments is not None:
                kernels.append(MagneticKernels.compute(lines, m.response, self.sin2_theta_w,
                                                       self.radiative_corrections))
            else:
                kernels.append(RateKernels.compute(self.masses_MeV, lines, self.model,
                                                   m.response, self.sin2_theta_w,
                                                   self.radiative_corrections))
        return kernels

    def source_flavours(self) -> dict[str, FlavourModel]:
        """The flavour model of each spectral source: MSW over its own production profile
        in the run's B16 composition (empty without a composition: ``flavour`` for all)."""
        if self.composition is None or not any(isinstance(m, SpectrumMeasurement)
                                               for m in self.measurements):
            return {}
        return {s.name: DecoherentMSW.from_solar_model(self.composition, s.production)
                for s in SOLAR_SOURCES}

    def posterior(self) -> ScanPosterior:
        """The posterior over the whole grid (kernels computed here, once).

        Raises
        ------
        ValueError
            If a log-flat floor is not below g_max (the message starts with
            ``coupling_prior.floor_g``), or a rate measurement of magnetic moments has no
            recoil threshold.
        """
        kernels = tuple(self.kernels())
        centres = self.priors.centres()
        source_flavours = self.source_flavours()

        def central_probability(energy_MeV, source):
            return source_flavours.get(source, self.flavour).probabilities(centres, energy_MeV)

        if self.standard_model:
            new_physics = StandardModel(kernels, self.priors.free_names)
        elif self.moments is not None:
            new_physics = MagneticMoments.build(self.moments,
                                                self.coupling_prior.upper_np_fraction, kernels,
                                                self.measurements, central_probability,
                                                centres)
        else:
            new_physics = ZPrime.build(np.asarray(self.masses_MeV, dtype=float),
                                       self.coupling_prior, kernels, self.measurements,
                                       central_probability, centres, self.interference,
                                       self.model, self.matter_potential)
        return ScanPosterior(self.priors, self.flavour, self.measurements, new_physics,
                             self.correlations, source_flavours)
