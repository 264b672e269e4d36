"""Flavour-diagonal neutrino magnetic moments in solar-neutrino electron scattering.

A neutrino of flavour a with magnetic moment mu_a scatters on an electron through photon
exchange with (P. Vogel and J. Engel, PRD 39, 3378 (1989), eq. 2; C. Giunti and
A. Studenikin, Rev. Mod. Phys. 87, 531 (2015), sec. VI.A)

    dsigma_EM/dT = (pi alpha^2 / m_e^2) (1/T - 1/E) (mu_a/mu_B)^2      [x (hbar c)^2 -> cm^2/MeV]

The magnetic interaction flips the neutrino helicity and the weak one does not, so for
relativistic neutrinos the two amplitudes do not interfere: the EM cross section adds to the
weak one incoherently (Vogel & Engel 1989). Solar neutrinos reach the detector as an
incoherent mixture of mass states (Gninenko & Gorbunov, arXiv:2007.16098, eq. 3); with
flavour-diagonal moments the detector sees the effective moment

    mu_eff^2 = sum_a P_ea mu_a^2.

Every run-time quantity factors out of the recoil integral, as for the Z' (docs/physics.md sec. 6
sec. 6): per line, J = Int resp(T) (1/T - 1/E) dT x pi alpha^2/m_e^2 (hbar c)^2 [cm^2 per
(mu/mu_B)^2]. The integral diverges logarithmically at T -> 0, so a moment needs a recoil
threshold: a detector response without a window (the total line rate) or with a window
starting at T = 0 is refused.

The rate follows the convention of :meth:`mcprop.physics.kernels.MassKernels.rate_cpd100t`:
R = R_SM,total (1 + NP_window / SM_window).

Units: public parameters are moments in units of 1e-11 mu_B (keys ``mu_e_1e-11_muB``, ...);
inside this module moments are mu/mu_B and squares (mu/mu_B)^2.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from mcprop.physics.constants import (
    ALPHA_EM,
    ELECTRONS_PER_100T_PSEUDOCUMENE,
    HBARC2_MEV2_CM2,
    M_ELECTRON_MEV,
    SECONDS_PER_DAY,
)
from mcprop.physics.kernels import DetectorResponse, contract, sm_kernel_cm2
from mcprop.physics.quadrature import composite_unit_rule
from mcprop.physics.scattering import default_sin2_theta_w, t_max_MeV
from mcprop.physics.solar import NeutrinoLine

#: pi alpha^2 / m_e^2 x (hbar c)^2 [cm^2]: the EM cross-section scale per (mu/mu_B)^2
#: (Vogel & Engel 1989, eq. 2); numerically 2.495e-25 cm^2.
EM_PREFACTOR_CM2 = np.pi * ALPHA_EM**2 / M_ELECTRON_MEV**2 * HBARC2_MEV2_CM2

#: Unit of the public moment parameters, in Bohr magnetons.
MOMENT_UNIT_MUB = 1e-11

#: Public parameter name of the moment of each flavour (e, mu, tau) and of a universal one.
FLAVOUR_MOMENT_KEYS = ("mu_e_1e-11_muB", "mu_mu_1e-11_muB", "mu_tau_1e-11_muB")
UNIVERSAL_MOMENT_KEY = "mu_1e-11_muB"

#: Moment hypotheses a run can choose: the parameters each one reads and, per parameter,
#: the flavours (e, mu, tau) that carry that moment.
MOMENT_SCHEMES: dict[str, tuple[tuple[str, tuple[int, ...]], ...]] = {
    "universal": ((UNIVERSAL_MOMENT_KEY, (0, 1, 2)),),
    "e": ((FLAVOUR_MOMENT_KEYS[0], (0,)),),
    "mu": ((FLAVOUR_MOMENT_KEYS[1], (1,)),),
    "tau": ((FLAVOUR_MOMENT_KEYS[2], (2,)),),
    "independent": tuple((key, (a,)) for a, key in enumerate(FLAVOUR_MOMENT_KEYS)),
}

#: With a Gaussian resolution the integral starts where the threshold is this many
#: sqrt(2) sigma_T above the recoil energy: below, the response erfc(z)/2 < 1e-29.
_EDGE_WIDTHS = 8.0
#: Composite Gauss-Legendre rule on [0, 1] (64 panels of 16 nodes), applied in ln T.
_NODES, _WEIGHTS = composite_unit_rule(64, 16)


def dsigma_dT_magnetic_cm2_per_MeV(T_MeV, energy_MeV, mu_over_muB) -> np.ndarray:
    """EM differential cross section [cm^2/MeV] of a neutrino with moment mu.

    (pi alpha^2/m_e^2)(1/T - 1/E)(mu/mu_B)^2 (hbar c)^2 for 0 < T <= T_max, zero elsewhere.
    """
    T = np.asarray(T_MeV, dtype=float)
    inside = (T > 0) & (T <= t_max_MeV(energy_MeV))
    with np.errstate(divide="ignore"):
        shape = np.where(inside, 1.0 / T - 1.0 / energy_MeV, 0.0)
    return EM_PREFACTOR_CM2 * shape * np.asarray(mu_over_muB, dtype=float) ** 2


def effective_moment_squared(mu2_flavour, probabilities) -> np.ndarray:
    """mu_eff^2 = sum_a P_ea mu_a^2 for decoherent mass states and flavour-diagonal moments.

    Parameters
    ----------
    mu2_flavour : array (3, ...)
        (mu_a/mu_B)^2 for a = e, mu, tau.
    probabilities : array (3, ...)
        P_ee, P_emu, P_etau.
    """
    return np.sum(np.asarray(probabilities) * np.asarray(mu2_flavour), axis=0)


def flavour_moments_squared(scheme: str, params: Mapping[str, np.ndarray | float]) -> np.ndarray:
    """(mu_a/mu_B)^2 for a = e, mu, tau, shape (3, ...), from public parameters.

    Parameters
    ----------
    scheme : str
        One of :data:`MOMENT_SCHEMES`: ``universal`` (one moment for all flavours, key
        ``mu_1e-11_muB``), ``e``, ``mu``, ``tau`` (only that flavour), ``independent``.
    params : mapping
        Moments in units of 1e-11 mu_B under the scheme's keys.
    """
    try:
        parts = MOMENT_SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown magnetic-moment scheme {scheme!r}; choose one of "
                         f"{', '.join(MOMENT_SCHEMES)}") from None
    missing = [key for key, _ in parts if key not in params]
    if missing:
        raise ValueError(f"moment scheme {scheme!r} needs the parameter(s) {', '.join(missing)}")
    values = {key: (np.asarray(params[key], dtype=float) * MOMENT_UNIT_MUB) ** 2
              for key, _ in parts}
    shape = np.broadcast_shapes(*(v.shape for v in values.values()))
    mu2 = np.zeros((3,) + shape)
    for key, flavours in parts:
        mu2[list(flavours)] = values[key]
    return mu2


def magnetic_recoil_integral(line: NeutrinoLine, response: DetectorResponse) -> float:
    """Int resp(T) (1/T - 1/E) dT over 0 < T <= T_max for one line (dimensionless).

    The integral runs in ln T: over the window itself when it is sharp; with a Gaussian
    resolution from the T at which T1 lies 8 sqrt(2) sigma_T above it (response < 1e-29)
    up to T_max.

    Raises
    ------
    ValueError
        If the response has no window (total rate) or its window starts at T = 0: the
        1/T spectrum then makes the integral diverge.
    """
    if response.window_MeV is None or response.window_MeV[0] <= 0:
        raise ValueError("a magnetic moment needs a recoil threshold: the 1/T spectrum "
                         "diverges at T -> 0, so give a detector window [T1, T2] with T1 > 0 "
                         f"(got window_MeV = {response.window_MeV})")
    t_max = float(t_max_MeV(line.energy_MeV))
    low, high = response.integration_range_MeV(t_max)
    if response.resolution_MeV > 0:
        half_width = _EDGE_WIDTHS * response.resolution_MeV / np.sqrt(2.0)
        threshold = response.window_MeV[0]
        low = (np.sqrt(half_width**2 + threshold) - half_width) ** 2
        if low >= high:
            return 0.0
    log_span = np.log(high / low)
    T = low * np.exp(_NODES * log_span)
    dT = _WEIGHTS * log_span * T
    return float(np.sum(dT * response.weight(T) * (1.0 / T - 1.0 / line.energy_MeV)))


@dataclass(frozen=True)
class MagneticKernels:
    """Recoil integrals for the magnetic-moment rate of a set of lines and a detector window.

    All arrays are already weighted by the line branchings.

    Attributes
    ----------
    lines : tuple of NeutrinoLine
    response : DetectorResponse
        With a window starting above T = 0.
    em_window_cm2 : array (n_lines,)
        B_l J_l [cm^2 per (mu/mu_B)^2]: the EM cross section seen in the window.
    sm_window_cm2, sm_total_cm2 : array (n_lines, 3)
        B_l I0_la: the SM cross section per flavour in the window and over all T [cm^2].
    electrons : float
        Target electrons per 100 t.
    """

    lines: tuple[NeutrinoLine, ...]
    response: DetectorResponse
    em_window_cm2: np.ndarray
    sm_window_cm2: np.ndarray
    sm_total_cm2: np.ndarray
    electrons: float = ELECTRONS_PER_100T_PSEUDOCUMENE

    @classmethod
    def compute(cls, lines: Sequence[NeutrinoLine], response: DetectorResponse,
                sin2_theta_w: float | None = None,
                radiative_corrections: bool = True) -> "MagneticKernels":
        """Integrate the EM and SM kernels of every line; ValueError without a threshold.

        The SM cross section is the one of :mod:`mcprop.physics.kernels` (with BKS
        corrections by default; ``sin2_theta_w`` None takes the convention's value)."""
        if not lines:
            raise ValueError("at least one neutrino line is needed")
        if sin2_theta_w is None:
            sin2_theta_w = default_sin2_theta_w(radiative_corrections)
        corrections = (bool(radiative_corrections), float(sin2_theta_w))
        total = DetectorResponse()
        branching = np.array([line.branching for line in lines])
        em = np.array([magnetic_recoil_integral(line, response) for line in lines])
        sm_window = np.array([sm_kernel_cm2(line, response, corrections) for line in lines])
        sm_total = np.array([sm_kernel_cm2(line, total, corrections) for line in lines])
        return cls(tuple(lines), response, branching * EM_PREFACTOR_CM2 * em,
                   branching[:, None] * sm_window, branching[:, None] * sm_total)

    def rate_per_mu2_cpd100t(self, flux_cm2s, probabilities) -> np.ndarray:
        """dR/d(mu_a/mu_B)^2 [cpd/100t] per flavour, shape (3, ...).

        The rate is linear in every mu_a^2: R = R_SM + sum_a mu_a^2 dR/dmu_a^2.

        Parameters
        ----------
        flux_cm2s : array
            Total 7Be flux [cm^-2 s^-1].
        probabilities : array (n_lines, 3, ...)
            P_ee, P_emu, P_etau at each line energy.
        """
        probabilities = np.asarray(probabilities, dtype=float)
        exposure = np.asarray(flux_cm2s, dtype=float) * self.electrons * SECONDS_PER_DAY
        total_over_window = (contract(self.sm_total_cm2, probabilities)
                             / contract(self.sm_window_cm2, probabilities))
        em = np.einsum("l,la...->a...", self.em_window_cm2, probabilities)
        return exposure * total_over_window * em

    def rate_cpd100t(self, flux_cm2s, probabilities, mu2_flavour):
        """Rate [cpd/100t] with flavour-diagonal moments.

        Parameters
        ----------
        flux_cm2s : array
            Total 7Be flux [cm^-2 s^-1].
        probabilities : array (n_lines, 3, ...)
            P_ee, P_emu, P_etau at each line energy.
        mu2_flavour : array (3, ...)
            (mu_a/mu_B)^2 for a = e, mu, tau.

        Returns
        -------
        (rate_sm, rate, np_fraction) : arrays broadcast over the sample axes
            SM rate, rate with the moments (R_SM,total (1 + EM_window/SM_window)), and the
            EM fraction of the window counts.
        """
        probabilities = np.asarray(probabilities, dtype=float)
        exposure = np.asarray(flux_cm2s, dtype=float) * self.electrons * SECONDS_PER_DAY
        sm_window = contract(self.sm_window_cm2, probabilities)
        em_window = np.einsum("l,la...,a...->...", self.em_window_cm2, probabilities,
                              np.asarray(mu2_flavour, dtype=float))
        np_fraction = em_window / sm_window
        rate_sm = exposure * contract(self.sm_total_cm2, probabilities)
        return rate_sm, rate_sm * (1.0 + np_fraction), np_fraction


def added_rate_upper_limit(sigma, excess=0.0, credibility: float = 0.9) -> np.ndarray:
    """Credible upper limit on an added rate s >= 0 with a flat prior in s.

    With a Gaussian likelihood of width sigma centred at ``excess`` = R_obs - R_SM, the
    posterior is a normal truncated to s >= 0; for ``excess`` = 0 it is half-normal and the
    limit is Phi^-1((1 + c)/2) sigma (1.645 sigma at 90%). Because the rate is linear in
    mu^2, a flat prior in mu^2 is a flat prior in s, and mu^2 limits are s limits divided by
    dR/dmu^2.
    """
    if not 0 < credibility < 1:
        raise ValueError(f"credibility must lie in (0, 1), got {credibility}")
    sigma = np.asarray(sigma, dtype=float)
    if np.any(~(sigma > 0)):
        raise ValueError("the rate uncertainty sigma must be > 0")
    lower_tail = ndtr(-np.asarray(excess, dtype=float) / sigma)
    return excess + sigma * ndtri(lower_tail + credibility * (1.0 - lower_tail))


def moment_squared_upper_limit(sigma, rate_per_mu2, excess=0.0,
                               credibility: float = 0.9) -> np.ndarray:
    """Credible upper limit on (mu/mu_B)^2 with a flat prior in mu^2 >= 0.

    The rate is linear in mu^2 with slope ``rate_per_mu2`` [cpd/100t per (mu/mu_B)^2] at
    fixed flavour content, so the limit is :func:`added_rate_upper_limit` / slope (for data
    on the SM prediction, 1.645 sigma / slope at 90%).
    """
    slope = np.asarray(rate_per_mu2, dtype=float)
    if np.any(~(slope > 0)):
        raise ValueError("the rate slope dR/dmu^2 must be > 0")
    return added_rate_upper_limit(sigma, excess, credibility) / slope
