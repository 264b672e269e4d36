"""One-loop electroweak and QED corrections to neutrino-electron elastic scattering.

J.N. Bahcall, M. Kamionkowski, A. Sirlin, "Solar neutrinos: radiative corrections in
neutrino-electron scattering experiments", PRD 51, 6146 (1995) (BKS), eqs. (A1)-(A3) for
the electroweak part and Appendix B for the QED functions; see docs/physics.md sec. 5.

BKS write the corrected cross section as

    dsigma/dT = (2 G_F^2 m_e / pi) { gL(T)^2 [1 + (alpha/pi) f_-(z)]
                                     + gR(T)^2 [(1-z)^2 + (alpha/pi) (1-z)^2 f_+(z)]
                                     - gL(T) gR(T) (m_e/E) z [1 + (alpha/pi) f_+-(z)] },

z = T/E, with the neutral-current couplings rescaled by rho_NC and the running weak mixing
angle kappa(T) sin^2 theta_W(M_Z) (MS-bar). In the sign convention of this package (the
charged current adds +1 to gL of nu_e, see :func:`mcprop.physics.scattering.sm_chiral_couplings`):

    nu_e:        gL = 1 - rho_NC (1/2 - kappa_e(T) s^2),    gR = rho_NC kappa_e(T) s^2
    nu_mu, tau:  gL = - rho_NC (1/2 - kappa_mu(T) s^2),     gR = rho_NC kappa_mu(T) s^2

(BKS's couplings are minus these; the cross section is even in the common sign). BKS give
kappa for nu_e and nu_mu; nu_tau takes the nu_mu value (the neutrino charge radius, which
differs by ln(m_tau^2/m_mu^2), is neglected: docs/physics.md sec. 5).
"""

import numpy as np
from scipy.special import spence

from mcprop.physics.constants import ALPHA_EM, M_ELECTRON_MEV

#: rho_NC^(nu, l) = 1.0126 +- 0.0016, BKS eq. (A2).
RHO_NC = 1.0126
#: kappa^(nu_e, e)(T) = 0.9791 + 0.0097 I(T) +- 0.0025, BKS eq. (A3): (constant, slope).
KAPPA_NUE = (0.9791, 0.0097)
#: kappa^(nu_mu, e)(T) = 0.9970 - 0.00037 I(T) +- 0.0025, BKS eq. (A3): (constant, slope).
KAPPA_NUMU = (0.9970, -0.00037)


def kappa_function_I(T_MeV) -> np.ndarray:
    """BKS's I(T) = (1/6)[1/3 + (3 - x^2)((x/2) ln((x+1)/(x-1)) - 1)], x = sqrt(1 + 2 m_e/T).

    Dimensionless, T > 0 [MeV]; I -> 0 as T -> 0 (x -> infinity), I = 0.069 at the Compton
    edge of the 862 keV line and 0.36 at T = 10 MeV. Evaluated with a series in 1/x^2 where
    the closed form cancels.
    """
    T = np.asarray(T_MeV, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # T = 0: the series is taken
        x2 = 1.0 + 2.0 * M_ELECTRON_MEV / T
        x = np.sqrt(x2)
        closed = (1.0 / 3.0 + (3.0 - x2) * (0.5 * x * np.log((x + 1.0) / (x - 1.0)) - 1.0)
                  ) / 6.0
    # (x/2) ln((x+1)/(x-1)) - 1 = sum_{k>=1} u^k/(2k+1), u = 1/x^2, so that
    # I = (1/6) sum_{k>=1} u^k (4k+8)/((2k+1)(2k+3)): the closed form cancels for T << m_e.
    u = 1.0 / x2
    series = sum((4 * k + 8) / ((2 * k + 1) * (2 * k + 3)) * u**k for k in range(1, 16)) / 6.0
    return np.where(u < 0.1, series, closed)


def weak_kappa(T_MeV) -> np.ndarray:
    """kappa_a(T) for a = e, mu, tau on the last axis (BKS eq. A3; nu_tau = nu_mu)."""
    i_t = kappa_function_I(T_MeV)[..., None]
    constant = np.array([KAPPA_NUE[0], KAPPA_NUMU[0], KAPPA_NUMU[0]])
    slope = np.array([KAPPA_NUE[1], KAPPA_NUMU[1], KAPPA_NUMU[1]])
    return constant + slope * i_t


def corrected_chiral_couplings(T_MeV, sin2_theta_w_mz: float) -> tuple[np.ndarray, np.ndarray]:
    """BKS couplings (gL, gR) for nu_e, nu_mu, nu_tau (last axis) at recoil T [MeV].

    ``sin2_theta_w_mz`` is sin^2 theta_W(M_Z) in the MS-bar scheme (BKS's s-hat_Z^2).
    """
    neutral = RHO_NC * weak_kappa(T_MeV) * sin2_theta_w_mz
    charged_current = np.array([1.0, 0.0, 0.0])
    return charged_current - 0.5 * RHO_NC + neutral, neutral


def _spence_L(x) -> np.ndarray:
    """BKS's L(x) = Int_0^x ln|1-t|/t dt = -Li_2(x) for x <= 1."""
    return -spence(1.0 - np.asarray(x, dtype=float))


def qed_factors(T_MeV, energy_MeV) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The QED factors (F_-, F_+, F_+-) multiplying gL^2, gR^2 (1-z)^2 and gL gR m_e T/E^2.

    F_- = 1 + (alpha/pi) f_-(z), F_+ = 1 + (alpha/pi) f_+(z), F_+- = 1 + (alpha/pi) f_+-(z),
    with f_-, (1-z)^2 f_+ and f_+- of BKS Appendix B (eqs. B1-B3), z = T/E, for electron
    total energy E_e = T + m_e, momentum l = sqrt(E_e^2 - m_e^2), velocity beta = l/E_e.

    Valid for 0 < T < T_max; each f tends to 0 as T -> 0 and has an integrable logarithmic
    singularity at T_max (the soft-photon endpoint). Outside the open interval the factors
    are set to 1 (the cross section is zero there).
    """
    T, energy = np.broadcast_arrays(np.asarray(T_MeV, dtype=float),
                                    np.asarray(energy_MeV, dtype=float))
    m = M_ELECTRON_MEV
    e_total = T + m
    with np.errstate(divide="ignore", invalid="ignore"):
        momentum = np.sqrt(T * (T + 2.0 * m))
        z = T / energy
        beta = momentum / e_total
        endpoint = 1.0 - z - m / (e_total + momentum)
        inside = (T > 0) & (endpoint > 0)
        z, beta = np.where(inside, z, 0.5), np.where(inside, beta, 0.5)
        endpoint = np.where(inside, endpoint, 0.5)
        momentum = np.where(inside, momentum, 1.0)
        energy = np.where(inside, energy, 1.0)
        e_total = np.where(inside, e_total, 1.0 + m)
        # E_e/l ln((E_e + l)/m) - 1, common to all three functions
        common = e_total / momentum * np.log1p((T + momentum) / m) - 1.0
        common = np.where(inside, common, 0.0)
        log_end, log_1z, log_z = np.log(endpoint), np.log1p(-z), np.log(z)

        f_minus = (common * (2 * log_end - log_1z - 0.5 * log_z - 5.0 / 12.0)
                   + 0.5 * (_spence_L(z) - _spence_L(beta))
                   - 0.5 * log_1z**2 - (11.0 / 12.0 + 0.5 * z) * log_1z
                   + z * (log_z + 0.5 * np.log(2.0 * energy / m))
                   - (31.0 / 18.0 + log_z / 12.0) * beta
                   - 11.0 / 12.0 * z + z**2 / 24.0)
        one_z2_f_plus = (
            common * ((1 - z) ** 2 * (2 * log_end - log_1z - 0.5 * log_z - 2.0 / 3.0)
                      - 0.5 * (z**2 * log_z + 1 - z))
            - 0.5 * (1 - z) ** 2 * (log_1z**2 + beta * (_spence_L(1 - z) - log_z * log_1z))
            + log_1z * (0.5 * z**2 * log_z + (1 - z) / 3.0 * (2 * z - 0.5))
            - 0.5 * z**2 * _spence_L(1 - z) - z * (1 - 2 * z) / 3.0 * log_z - z * (1 - z) / 6.0
            - beta / 12.0 * (log_z + (1 - z) * (115.0 - 109.0 * z) / 6.0))
        f_plus_minus = 2.0 * common * log_end

    scale = ALPHA_EM / np.pi
    f_plus = one_z2_f_plus / (1 - z) ** 2
    return tuple(np.where(inside, 1.0 + scale * f, 1.0)
                 for f in (f_minus, f_plus, f_plus_minus))
