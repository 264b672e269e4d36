"""Neutrino-electron elastic scattering in the Standard Model and with a light Z'.

Conventions (docs/physics.md secs. 3-4): the SM effective Lagrangian is
-2 sqrt2 G_F (nubar gamma P_L nu)(ebar gamma (gL P_L + gR P_R) e); a Z' with coupling
g x_a to nu_a and vector coupling g_e to electrons shifts both gL and gR by

    kappa_a(T) = x_a g g_e(q^2) / (2 sqrt2 G_F (m^2 + 2 m_e T)),   q^2 = -2 m_e T.

For models without a tree-level electron charge, g_e = e eps(q^2) comes from the kinetic
mixing induced by the charged-lepton loop (Z' to photon); for L_mu - L_tau this makes
kappa_mu < 0 and kappa_tau > 0.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mcprop.physics.constants import (
    E_CHARGE,
    G_FERMI_PER_MEV2,
    HBARC2_MEV2_CM2,
    M_ELECTRON_MEV,
    M_MUON_MEV,
    M_TAU_MEV,
    SIN2_THETA_W_LOW_ENERGY,
    SIN2_THETA_W_MZ,
)
from mcprop.physics.quadrature import composite_unit_rule
from mcprop.physics.radiative import corrected_chiral_couplings, qed_factors

#: Gauss-Legendre rule on [0, 1] for the Feynman-parameter integral of the loop.
_X_NODES, _X_WEIGHTS = composite_unit_rule(1, 48)


@dataclass(frozen=True)
class U1Model:
    """A U(1)' gauge model as seen by solar-neutrino electron scattering.

    The Z' couples to electrons with g_e(q^2) = g [q_e + e eps_loop(q^2)/g] + e eps_extra.

    Attributes
    ----------
    name : str
        Model name used in run configs.
    neutrino_charges : tuple of float
        Charges (x_e, x_mu, x_tau) of the neutrinos under the U(1)'.
    electron_charge : float
        Tree-level charge q_e of the electron under the U(1)'.
    loop_leptons : tuple of (charge, mass_MeV)
        Charged leptons whose loop induces Z'-photon kinetic mixing (charges must sum to
        zero so that the mixing is finite and calculable); empty where it is not.
    kinetic_mixing : float
        An extra, fixed kinetic mixing eps_extra. With it, the 1e-5-level running of the
        loop mixing with q^2 is neglected so that the coupling still factors out of the
        recoil integrals.
    """

    name: str
    neutrino_charges: tuple[float, float, float]
    electron_charge: float
    loop_leptons: tuple[tuple[float, float], ...]
    kinetic_mixing: float = 0.0

    def electron_coupling_per_g(self, q2_MeV2) -> np.ndarray:
        """The part of g_e(q^2) proportional to g, divided by g: q_e + e eps_loop(q^2)/g."""
        return self.electron_charge + E_CHARGE * loop_kinetic_mixing_per_g(q2_MeV2,
                                                                           self.loop_leptons)

    @cached_property
    def coupling_per_g2_MeV2(self) -> float:
        """g_e(0) / (g 2 sqrt2 G_F) [MeV^2] without eps_extra (K0 for L_mu - L_tau)."""
        return float(self.electron_coupling_per_g(0.0)) / (2.0 * np.sqrt(2.0) * G_FERMI_PER_MEV2)

    @property
    def coupling_per_g_MeV2(self) -> float:
        """e eps_extra / (2 sqrt2 G_F) [MeV^2]: the part of C linear in g."""
        return E_CHARGE * self.kinetic_mixing / (2.0 * np.sqrt(2.0) * G_FERMI_PER_MEV2)


#: The models a run config can name (docs/physics.md sec. 3): neutrino charges
#: (x_e, x_mu, x_tau), tree-level electron charge, and the leptons of the mixing loop.
#: B - L has a tree-level electron charge; its loop mixing involves all quarks and leptons
#: and is not finite by itself, so any kinetic mixing is set with ``kinetic_mixing``.
#: Z' masses mcprop computes [MeV]: 1 eV to 1 TeV. Below 1 eV, m^2 is below 1e-9 of
#: 2 m_e T at every recoil above 1 keV (a massless Z'); above 1 TeV only g/m matters.
MASS_RANGE_MEV = (1e-6, 1e6)

LMU_LTAU = U1Model("Lmu-Ltau", (0.0, -1.0, 1.0), 0.0,
                   ((-1.0, M_MUON_MEV), (1.0, M_TAU_MEV)))
LE_LMU = U1Model("Le-Lmu", (1.0, -1.0, 0.0), 1.0,
                 ((1.0, M_ELECTRON_MEV), (-1.0, M_MUON_MEV)))
LE_LTAU = U1Model("Le-Ltau", (1.0, 0.0, -1.0), 1.0,
                  ((1.0, M_ELECTRON_MEV), (-1.0, M_TAU_MEV)))
B_MINUS_L = U1Model("B-L", (-1.0, -1.0, -1.0), -1.0, ())
MODELS: dict[str, U1Model] = {m.name: m for m in (LMU_LTAU, LE_LMU, LE_LTAU, B_MINUS_L)}


def loop_kinetic_mixing_per_g(q2_MeV2, loop_leptons) -> np.ndarray:
    """eps(q^2)/g from the charged-lepton loop (all loop leptons have electric charge -1).

    eps(q^2) = (e g / 2 pi^2) sum_f x_f Int_0^1 dx x(1-x) ln(m_f^2 - x(1-x) q^2),
    which for L_mu - L_tau is docs/physics.md sec. 4, eps(0) = e g ln(m_tau^2/m_mu^2)/(12 pi^2).
    """
    q2 = np.asarray(q2_MeV2, dtype=float)[..., None]
    xx = _X_NODES * (1.0 - _X_NODES)
    total = 0.0
    for charge, mass in loop_leptons:
        total = total + charge * np.sum(_X_WEIGHTS * xx * np.log(mass**2 - xx * q2), axis=-1)
    return E_CHARGE / (2.0 * np.pi**2) * total


def kinetic_mixing_eps(q2_MeV2, g) -> np.ndarray:
    """Loop-induced kinetic mixing eps(q^2) of the L_mu - L_tau Z' with coupling g."""
    return np.asarray(g) * loop_kinetic_mixing_per_g(q2_MeV2, LMU_LTAU.loop_leptons)


#: K0 = e^2 ln(m_tau^2/m_mu^2)/(24 sqrt2 pi^2 G_F) [MeV^2]: kappa_a = x_a g^2 K0/(m^2+2 m_e T)
#: for L_mu - L_tau at q^2 = 0 (docs/physics.md sec. 4).
K0_MEV2 = E_CHARGE**2 * np.log(M_TAU_MEV**2 / M_MUON_MEV**2) / (
    24.0 * np.sqrt(2.0) * np.pi**2 * G_FERMI_PER_MEV2)


def coupling_product_MeV2(g, model: U1Model = LMU_LTAU) -> np.ndarray:
    """C = g g_e(0) / (2 sqrt2 G_F) [MeV^2], so that kappa_a(T) = x_a C r(T)/(m^2 + 2 m_e T).

    r(T) = g_e(q^2)/g_e(0) is the running of the electron coupling (folded into the kernels).
    For L_mu - L_tau, C = g^2 K0.
    """
    g = np.asarray(g, dtype=float)
    if model.kinetic_mixing:
        return g**2 * model.coupling_per_g2_MeV2 + g * model.coupling_per_g_MeV2
    return g**2 * model.coupling_per_g2_MeV2


def coupling_from_product(coupling_MeV2: float, model: U1Model = LMU_LTAU) -> float:
    """The smallest g > 0 with |coupling_product_MeV2(g)| = |C|."""
    a, b, c = model.coupling_per_g2_MeV2, model.coupling_per_g_MeV2, abs(float(coupling_MeV2))
    roots = np.concatenate([np.roots([a, b, -sign * c]) for sign in (1.0, -1.0)])
    positive = roots[(np.abs(roots.imag) < 1e-12 * np.abs(roots)) & (roots.real > 0)].real
    return float(positive.min())


def electron_coupling_running(T_MeV, model: U1Model = LMU_LTAU) -> np.ndarray:
    """r(T) = g_e(q^2 = -2 m_e T) / g_e(0); 1 when the model has an extra kinetic mixing."""
    T = np.asarray(T_MeV, dtype=float)
    if model.kinetic_mixing:
        return np.ones_like(T)
    q2 = -2.0 * M_ELECTRON_MEV * T
    return model.electron_coupling_per_g(q2) / model.electron_coupling_per_g(0.0)


def sm_chiral_couplings(sin2_theta_w: float = SIN2_THETA_W_LOW_ENERGY) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Tree-level SM (gL, gR) for nu_e, nu_mu, nu_tau on electrons; nu_e includes the charged
    current."""
    g_left = np.array([sin2_theta_w + 0.5, sin2_theta_w - 0.5, sin2_theta_w - 0.5])
    g_right = np.full(3, sin2_theta_w)
    return g_left, g_right


def t_max_MeV(energy_MeV) -> np.ndarray:
    """Maximum electron recoil kinetic energy T_max = 2E^2/(m_e + 2E) [MeV]."""
    e = np.asarray(energy_MeV, dtype=float)
    return 2.0 * e**2 / (M_ELECTRON_MEV + 2.0 * e)


#: 2 G_F^2 m_e / pi x (hbar c)^2 [cm^2/MeV]: dsigma/dT = PREFACTOR x (bracket).
CROSS_SECTION_PREFACTOR_CM2_PER_MEV = (2.0 * G_FERMI_PER_MEV2**2 * M_ELECTRON_MEV / np.pi
                                       * HBARC2_MEV2_CM2)


def default_sin2_theta_w(radiative_corrections: bool) -> float:
    """The weak mixing angle each convention takes (docs/physics.md sec. 5).

    Tree level: the low-energy MS-bar value 0.23867, which carries the running to q^2 -> 0.
    With the BKS corrections: sin^2 theta_W(M_Z) MS-bar, 0.23121; the running is in kappa(T).
    """
    return SIN2_THETA_W_MZ if radiative_corrections else SIN2_THETA_W_LOW_ENERGY


def cross_section_coefficients(T_MeV, energy_MeV, radiative_corrections: bool = True,
                               sin2_theta_w: float | None = None):
    """Coefficients of the nu_a e cross section as a polynomial in the Z' shift kappa_a.

    dsigma_a/dT = CROSS_SECTION_PREFACTOR_CM2_PER_MEV x [c0_a + kappa_a c1_a + kappa_a^2 c2],
    from the bracket F_- (gL + kappa)^2 + F_+ (gR + kappa)^2 (1-y)^2
    - F_+- (gL + kappa)(gR + kappa) m_e T/E^2 (y = T/E; docs/physics.md secs. 3, 5, 6).

    Parameters
    ----------
    T_MeV : array
        Electron recoil kinetic energy, 0 < T < T_max [MeV].
    energy_MeV : float or array broadcasting with T
        Neutrino energy [MeV].
    radiative_corrections : bool
        True: gL(T), gR(T) and the QED factors F of Bahcall, Kamionkowski, Sirlin, PRD 51,
        6146 (1995) (:mod:`mcprop.physics.radiative`); False: tree level, F = 1.
    sin2_theta_w : float or None
        Weak mixing angle; None takes :func:`default_sin2_theta_w`. With corrections it is
        the MS-bar value at M_Z.

    Returns
    -------
    c0, c1 : arrays (..., 3)
        Per flavour (e, mu, tau on the last axis).
    c2 : array (...)
        Flavour independent.
    """
    T = np.asarray(T_MeV, dtype=float)
    energy = np.asarray(energy_MeV, dtype=float)
    if sin2_theta_w is None:
        sin2_theta_w = default_sin2_theta_w(radiative_corrections)
    y = (T / energy)[..., None]
    recoil = (M_ELECTRON_MEV * T / energy**2)[..., None]
    if radiative_corrections:
        g_left, g_right = corrected_chiral_couplings(T, sin2_theta_w)
        f_left, f_right, f_mixed = (f[..., None] for f in qed_factors(T, energy))
    else:
        g_left, g_right = sm_chiral_couplings(sin2_theta_w)
        f_left = f_right = f_mixed = 1.0
    left, right, mixed = f_left, (1 - y) ** 2 * f_right, recoil * f_mixed
    c0 = g_left**2 * left + g_right**2 * right - g_left * g_right * mixed
    c1 = 2 * g_left * left + 2 * g_right * right - (g_left + g_right) * mixed
    c2 = (left + right - mixed)[..., 0]
    return c0, c1, c2


def zprime_kappa(T_MeV, mass_MeV, g, model: U1Model = LMU_LTAU) -> np.ndarray:
    """kappa_a(T) for a = e, mu, tau, stacked on axis 0 (docs/physics.md sec. 3)."""
    T = np.asarray(T_MeV, dtype=float)
    propagator = electron_coupling_running(T, model) / (mass_MeV**2 + 2 * M_ELECTRON_MEV * T)
    c = coupling_product_MeV2(g, model)
    return np.stack([x * c * propagator for x in model.neutrino_charges])


def dsigma_dT_zprime(T_MeV, energy_MeV, mass_MeV, g, model: U1Model = LMU_LTAU,
                     sin2_theta_w: float | None = None, interference: bool = True,
                     radiative_corrections: bool = True) -> np.ndarray:
    """dsigma_a/dT [cm^2/MeV] with the Z' for a = e, mu, tau (axis 0); zero outside
    0 <= T <= T_max.

    ``interference=False`` keeps only the SM and the pure-Z' (order kappa^2) terms;
    ``radiative_corrections`` and ``sin2_theta_w`` as in :func:`cross_section_coefficients`.
    """
    T = np.atleast_1d(np.asarray(T_MeV, dtype=float))
    kappa = zprime_kappa(T, mass_MeV, g, model)
    c0, c1, c2 = cross_section_coefficients(T, energy_MeV, radiative_corrections, sin2_theta_w)
    bracket = np.moveaxis(c0, -1, 0) + kappa**2 * c2
    if interference:
        bracket = bracket + kappa * np.moveaxis(c1, -1, 0)
    inside = (T >= 0) & (T <= t_max_MeV(energy_MeV))
    return np.where(inside, CROSS_SECTION_PREFACTOR_CM2_PER_MEV * bracket, 0.0)
