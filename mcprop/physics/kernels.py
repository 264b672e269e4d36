"""Rate kernels: the recoil-energy integrals of the cross section, computed once per mass.

Expanding dsigma_a/dT in kappa_a = x_a C r(T) h(T), h = 1/(m^2 + 2 m_e T) (docs/physics.md
sec. 6),

    sigma_eff = sum_a P_a [ I0_a + x_a C I1_a(m) + x_a^2 C^2 I2(m) ],

with I0_a = Int resp c0_a, I1_a = Int resp c1_a r h, I2 = Int resp c2 r^2 h^2 (times the
cross-section prefactor) over 0 <= T <= T_max; c0, c1, c2 are those of
:func:`mcprop.physics.scattering.cross_section_coefficients`, with or without the radiative
corrections. Every sampled quantity (flavour
probabilities, flux, coupling) factors out of the integrals, so evaluating a rate is a few
multiply-adds: no quadrature at run time.

With a detector window the rate a spectral fit reports is the SM total rate rescaled by the
change of the counts in the window: R = Phi N_e t sigma_SM,total (1 + NP_window/SM_window).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import erf

from mcprop.physics.constants import (
    ELECTRONS_PER_100T_PSEUDOCUMENE,
    M_ELECTRON_MEV,
    SECONDS_PER_DAY,
)
from mcprop.physics.quadrature import endpoint_crowded_rule
from mcprop.physics.scattering import (
    CROSS_SECTION_PREFACTOR_CM2_PER_MEV,
    LMU_LTAU,
    U1Model,
    cross_section_coefficients,
    default_sin2_theta_w,
    electron_coupling_running,
    t_max_MeV,
)
from mcprop.physics.solar import NeutrinoLine

#: Composite Gauss-Legendre rule on [0, 1] (64 panels of 16 nodes) in v, mapped to
#: s = 1 - (1 - v)^3: the nodes crowd toward the upper end, where the O(alpha) QED factors
#: have an integrable logarithmic singularity at T_max (machine precision for it, and for the
#: smooth tree-level integrands).
_PANELS, _ORDER = 64, 16
_S_NODES, _S_WEIGHTS = endpoint_crowded_rule(_PANELS, _ORDER)
#: Masses per block when the running coupling is evaluated on the quadrature nodes.
_MASS_BLOCK = 32


@dataclass(frozen=True)
class DetectorResponse:
    """Detector response to an electron recoil of kinetic energy T.

    Attributes
    ----------
    window_MeV : (float, float) or None
        Analysis window [T1, T2] in visible energy [MeV]; None for the total line rate.
    resolution_MeV : float
        a in the Gaussian resolution sigma_T = a sqrt(T/MeV) [MeV]; 0 for a sharp window.
    """

    window_MeV: tuple[float, float] | None = None
    resolution_MeV: float = 0.0

    def __post_init__(self):
        if self.resolution_MeV < 0:
            raise ValueError(f"resolution_MeV must be >= 0, got {self.resolution_MeV}")
        if self.window_MeV is not None:
            low, high = self.window_MeV
            if not 0 <= low < high:
                raise ValueError(f"window_MeV must satisfy 0 <= T1 < T2, got {self.window_MeV}")

    def weight(self, T_MeV) -> np.ndarray:
        """Probability that a recoil of true energy T is seen inside the window."""
        T = np.asarray(T_MeV, dtype=float)
        if self.window_MeV is None:
            return np.ones_like(T)
        low, high = self.window_MeV
        if self.resolution_MeV == 0:
            return ((T >= low) & (T <= high)).astype(float)
        width = np.sqrt(2.0 * T) * self.resolution_MeV
        with np.errstate(divide="ignore"):
            return 0.5 * (erf((high - T) / width) - erf((low - T) / width))

    def integration_range_MeV(self, t_max: float) -> tuple[float, float]:
        """Recoil range the integrals run over: the window itself when it is sharp."""
        if self.window_MeV is None or self.resolution_MeV > 0:
            return 0.0, t_max
        low, high = self.window_MeV
        if low >= t_max:
            raise ValueError(f"window starts at {low} MeV, above T_max = {t_max:.4f} MeV")
        return low, min(high, t_max)


TOTAL_RATE = DetectorResponse()


def sm_kernel_cm2(line, response, corrections) -> np.ndarray:
    """Int resp(T) c0_a(T) dT x prefactor [cm^2], per flavour: the SM cross section of a
    line seen through ``response``; ``corrections`` is the pair (radiative_corrections,
    sin2_theta_w) of :func:`cross_section_coefficients`."""
    low, high = response.integration_range_MeV(float(t_max_MeV(line.energy_MeV)))
    T = low + (high - low) * _S_NODES
    c0, _, _ = cross_section_coefficients(T, line.energy_MeV, *corrections)
    weights = (high - low) * _S_WEIGHTS * response.weight(T)
    return CROSS_SECTION_PREFACTOR_CM2_PER_MEV * weights @ c0


def _zprime_kernels(line, masses, response, model, corrections):
    """I1_a(m) [cm^2/MeV^2] (n_m, 3) and I2(m) [cm^2/MeV^4] (n_m,) for one line.

    The recoil integral is taken in u = ln(m^2 + 2 m_e T), in which the Z' propagator peak
    at T ~ m^2/(2 m_e) is smooth for every mass.
    """
    low, high = response.integration_range_MeV(float(t_max_MeV(line.energy_MeV)))
    a = masses[:, None] ** 2 + 2 * M_ELECTRON_MEV * low
    log_span = np.log1p(2 * M_ELECTRON_MEV * (high - low) / a)
    growth = np.exp(_S_NODES * log_span)
    T = low + a / (2 * M_ELECTRON_MEV) * np.expm1(_S_NODES * log_span)
    dT = _S_WEIGHTS * a / (2 * M_ELECTRON_MEV) * log_span * growth
    h = electron_coupling_running(T, model) / (a * growth)
    _, c1, c2 = cross_section_coefficients(T, line.energy_MeV, *corrections)
    weights = dT * response.weight(T)
    i1 = np.einsum("mn,mna->ma", weights * h, c1)
    i2 = np.sum(weights * h**2 * c2, axis=-1)
    return (CROSS_SECTION_PREFACTOR_CM2_PER_MEV * i1,
            CROSS_SECTION_PREFACTOR_CM2_PER_MEV * i2)


def contract(kernel: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """sum over lines l and flavours a of kernel[l, a, ...] probabilities[l, a, ...].

    Either array may carry trailing sample axes (the other is broadcast); the sum runs in
    the same order for every sample, so a sample's value does not depend on the batch.
    """
    kernel, probabilities = np.asarray(kernel), np.asarray(probabilities)
    extra = probabilities.ndim - kernel.ndim
    if extra > 0:
        kernel = kernel.reshape(kernel.shape + (1,) * extra)
    elif extra < 0:
        probabilities = probabilities.reshape(probabilities.shape + (1,) * -extra)
    return (kernel * probabilities).sum(axis=(0, 1))


@dataclass(frozen=True)
class MassKernels:
    """Kernels at one mass, contracted with the line branchings and the model charges.

    Arrays have shape (n_lines, 3 flavours); ``linear`` and ``quadratic`` gathered per
    sample at n grid masses (``RateKernels.at_mass`` of an index array) have shape
    (n_lines, 3, n). Units: cm^2 (times MeV^-2 for ``linear`` and MeV^-4 for
    ``quadratic``, to be multiplied by C and C^2).
    """

    mass_MeV: float
    sm_window: np.ndarray
    sm_total: np.ndarray
    linear: np.ndarray
    quadratic: np.ndarray
    electrons: float

    def rate_cpd100t(self, flux_cm2s, probabilities, coupling_MeV2, interference: bool = True):
        """Rate [cpd/100t] and new-physics fraction of the window counts.

        Parameters
        ----------
        flux_cm2s : array
            Total 7Be flux [cm^-2 s^-1].
        probabilities : array (n_lines, 3, ...)
            P_ee, P_emu, P_etau at each line energy.
        coupling_MeV2 : array
            C = g g_e(0)/(2 sqrt2 G_F) [MeV^2] (g^2 K0 for L_mu - L_tau).
        interference : bool
            Keep the SM-Z' interference (terms linear in C).

        Returns
        -------
        (rate_sm, rate, np_fraction) : arrays broadcast over the sample axes.
        """
        sm_window = contract(self.sm_window, probabilities)
        new_physics = coupling_MeV2**2 * contract(self.quadratic, probabilities)
        if interference:
            new_physics = new_physics + coupling_MeV2 * contract(self.linear, probabilities)
        np_fraction = new_physics / sm_window
        rate_sm = (flux_cm2s * self.electrons * SECONDS_PER_DAY
                   * contract(self.sm_total, probabilities))
        return rate_sm, rate_sm * (1.0 + np_fraction), np_fraction


@dataclass(frozen=True)
class RateKernels:
    """I0, I1, I2 for a set of neutrino lines over a grid of Z' masses."""

    masses_MeV: np.ndarray
    lines: tuple[NeutrinoLine, ...]
    model: U1Model
    response: DetectorResponse
    i0_window_cm2: np.ndarray         # (n_lines, 3)
    i0_total_cm2: np.ndarray          # (n_lines, 3)
    i1_cm2_per_MeV2: np.ndarray       # (n_masses, n_lines, 3)
    i2_cm2_per_MeV4: np.ndarray       # (n_masses, n_lines)
    radiative_corrections: bool
    sin2_theta_w: float
    electrons: float = ELECTRONS_PER_100T_PSEUDOCUMENE

    @classmethod
    def compute(cls, masses_MeV, lines: Sequence[NeutrinoLine], model: U1Model = LMU_LTAU,
                response: DetectorResponse = TOTAL_RATE, sin2_theta_w: float | None = None,
                radiative_corrections: bool = True) -> "RateKernels":
        """Integrate the kernels for every mass and line in one vectorised pass.

        ``radiative_corrections`` selects the BKS cross section (default) or tree level;
        ``sin2_theta_w`` None takes the convention's value (0.23121 at M_Z with corrections,
        0.23867 at low energy without; docs/physics.md sec. 5).
        """
        masses = np.atleast_1d(np.asarray(masses_MeV, dtype=float))
        if np.any(~np.isfinite(masses)) or np.any(masses <= 0):
            raise ValueError("Z' masses must be finite and > 0 MeV")
        if sin2_theta_w is None:
            sin2_theta_w = default_sin2_theta_w(radiative_corrections)
        corrections = (bool(radiative_corrections), float(sin2_theta_w))
        i0_window = np.array([sm_kernel_cm2(line, response, corrections) for line in lines])
        i0_total = np.array([sm_kernel_cm2(line, TOTAL_RATE, corrections) for line in lines])
        i1 = np.empty((masses.size, len(lines), 3))
        i2 = np.empty((masses.size, len(lines)))
        for start in range(0, masses.size, _MASS_BLOCK):
            block = slice(start, start + _MASS_BLOCK)
            for k, line in enumerate(lines):
                i1[block, k], i2[block, k] = _zprime_kernels(line, masses[block], response, model,
                                                             corrections)
        return cls(masses, tuple(lines), model, response, i0_window, i0_total, i1, i2,
                   *corrections)

    @cached_property
    def _weighted(self) -> tuple[np.ndarray, ...]:
        """The kernels weighted by branchings and model charges: SM window and total
        (n_lines, 3), linear and quadratic (n_masses, n_lines, 3)."""
        branching = np.array([line.branching for line in self.lines])[:, None]
        charges = np.asarray(self.model.neutrino_charges)
        return (branching * self.i0_window_cm2, branching * self.i0_total_cm2,
                branching * charges * self.i1_cm2_per_MeV2,
                branching * charges**2 * self.i2_cm2_per_MeV4[..., None])

    def at_mass(self, index) -> MassKernels:
        """Kernels at grid mass ``index``, weighted by branchings and model charges.

        An integer index gives arrays (n_lines, 3); an index array (n,) gathers the mass
        kernels per sample, with the sample axis last: (n_lines, 3, n).
        """
        sm_window, sm_total, linear, quadratic = self._weighted
        linear, quadratic = linear[index], quadratic[index]
        if np.ndim(index):  # sample axis last
            linear, quadratic = linear.transpose(1, 2, 0), quadratic.transpose(1, 2, 0)
        return MassKernels(self.masses_MeV[index], sm_window, sm_total, linear, quadratic,
                           self.electrons)
