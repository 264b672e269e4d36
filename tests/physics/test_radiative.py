"""Radiative corrections (Bahcall, Kamionkowski, Sirlin, PRD 51, 6146 (1995)) against
published numbers, closed forms, limits and a second integration method."""

import numpy as np
import pytest
from scipy.integrate import quad

from mcprop.physics import constants as c
from mcprop.physics.flavour import NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import DetectorResponse, RateKernels
from mcprop.physics.radiative import (
    corrected_chiral_couplings,
    kappa_function_I,
    qed_factors,
    weak_kappa,
)
from mcprop.physics.scattering import (
    K0_MEV2,
    coupling_product_MeV2,
    cross_section_coefficients,
    dsigma_dT_zprime,
    t_max_MeV,
)
from mcprop.physics.solar import BE7_862

E862 = BE7_862.energy_MeV
T_MAX = float(t_max_MeV(E862))
PREFACTOR = 2 * c.G_FERMI_PER_MEV2**2 * c.M_ELECTRON_MEV / np.pi * c.HBARC2_MEV2_CM2
ALPHA_OVER_PI = c.ALPHA_EM / np.pi


def total_sigma_cm2(radiative_corrections: bool) -> np.ndarray:
    """Int_0^T_max dsigma/dT for nu_e, nu_mu, nu_tau at 862 keV, by adaptive quadrature."""
    def integrand(t, flavour):
        c0, _, _ = cross_section_coefficients(np.array([t]), E862, radiative_corrections)
        return PREFACTOR * c0[0, flavour]

    return np.array([quad(integrand, 0, T_MAX, args=(a,), epsabs=0, epsrel=1e-10,
                          limit=200)[0] for a in range(3)])


def test_tree_level_coefficients_are_the_textbook_bracket():
    # dsigma/dT = pref [gL^2 + gR^2 (1-y)^2 - gL gR m_e T/E^2], gL = s^2 +- 1/2, gR = s^2
    T = np.linspace(0.01, 0.66, 7)
    c0, c1, c2 = cross_section_coefficients(T, E862, radiative_corrections=False)
    s2, y, r = 0.23867, T / E862, c.M_ELECTRON_MEV * T / E862**2
    for a, g_left in enumerate((s2 + 0.5, s2 - 0.5, s2 - 0.5)):
        for kappa in (0.0, 0.1, -0.3):
            gl, gr = g_left + kappa, s2 + kappa
            bracket = gl**2 + gr**2 * (1 - y) ** 2 - gl * gr * r
            np.testing.assert_allclose(c0[:, a] + kappa * c1[:, a] + kappa**2 * c2, bracket,
                                       rtol=1e-13)


def test_corrected_coefficients_expand_the_bks_bracket():
    # The Z' shift adds to the corrected couplings; the QED factors multiply each term.
    T = np.linspace(0.005, 0.66, 9)
    c0, c1, c2 = cross_section_coefficients(T, E862)
    g_left, g_right = corrected_chiral_couplings(T, 0.23121)
    f_minus, f_plus, f_mixed = qed_factors(T, E862)
    y, r = T / E862, c.M_ELECTRON_MEV * T / E862**2
    for a in range(3):
        for kappa in (0.0, 0.05, -0.2):
            gl, gr = g_left[:, a] + kappa, g_right[:, a] + kappa
            bracket = (gl**2 * f_minus + gr**2 * (1 - y) ** 2 * f_plus
                       - gl * gr * r * f_mixed)
            np.testing.assert_allclose(c0[:, a] + kappa * c1[:, a] + kappa**2 * c2, bracket,
                                       rtol=1e-13)


def test_bks_couplings_reduce_to_tree_level_for_rho_kappa_one():
    # BKS eq. (A1): gL = rho (1/2 - kappa s^2) - 1 for nu_e, rho (1/2 - kappa s^2) for nu_mu,
    # gR = -rho kappa s^2 (minus this package's convention). At T -> 0, I(T) -> 0 and
    # kappa -> 0.9791 (nu_e), 0.9970 (nu_mu) with rho = 1.0126.
    g_left, g_right = corrected_chiral_couplings(np.array([1e-12]), 0.23121)
    for a, (kappa, cc) in enumerate(((0.9791, 1.0), (0.9970, 0.0), (0.9970, 0.0))):
        assert -g_left[0, a] == pytest.approx(1.0126 * (0.5 - kappa * 0.23121) - cc, rel=1e-9)
        assert -g_right[0, a] == pytest.approx(-1.0126 * kappa * 0.23121, rel=1e-9)


def test_kappa_function_I_closed_form_and_small_T_limit():
    # I(T) = (1/6)[1/3 + (3 - x^2)((x/2) ln((x+1)/(x-1)) - 1)], x^2 = 1 + 2 m_e/T (BKS A3);
    # for T << m_e it tends to (2/15) u, u = 1/x^2 = T/(T + 2 m_e) (series of the log).
    for T in (0.05, 0.3, 0.66, 10.0):
        x = np.sqrt(1 + 2 * c.M_ELECTRON_MEV / T)
        closed = (1 / 3 + (3 - x**2) * (x / 2 * np.log((x + 1) / (x - 1)) - 1)) / 6
        assert kappa_function_I(T) == pytest.approx(closed, rel=1e-10)
    for T in (1e-9, 1e-6):
        u = T / (T + 2 * c.M_ELECTRON_MEV)
        assert kappa_function_I(T) == pytest.approx(2 / 15 * u, rel=1e-5)
    np.testing.assert_allclose(weak_kappa(1e-12), [0.9791, 0.9970, 0.9970], rtol=1e-12)


def test_dilogarithm_convention():
    # BKS's L(x) = Int_0^x ln|1-t|/t dt; the QED functions use it at z, beta and 1 - z.
    from mcprop.physics.radiative import _spence_L
    for x in (0.1, 0.5, 0.9, 1.0):
        expected = quad(lambda t: np.log(abs(1 - t)) / t, 0, x, limit=200)[0]
        assert _spence_L(x) == pytest.approx(expected, rel=1e-9)
    assert _spence_L(1.0) == pytest.approx(-np.pi**2 / 6, rel=1e-12)


def test_qed_functions_vanish_at_zero_recoil_and_have_the_endpoint_logarithm():
    # Every term of f_-, f_+, f_+- vanishes as T -> 0 (the common factor
    # E/l ln((E+l)/m) - 1 -> 2T/(3 m_e); z ln z, beta ln z -> 0).
    factors = np.array(qed_factors(np.array([1e-10]), E862))
    np.testing.assert_allclose(factors, 1.0, atol=1e-6)
    # Near T_max the soft-photon logarithm 2 [E/l ln((E+l)/m) - 1] ln(1 - z - m/(E+l))
    # dominates f_- and f_+ (its coefficient is the same, the rest stays finite).
    T = T_MAX * (1 - 1e-12)
    e_total, m = T + c.M_ELECTRON_MEV, c.M_ELECTRON_MEV
    momentum = np.sqrt(e_total**2 - m**2)
    soft = 2 * (e_total / momentum * np.log((e_total + momentum) / m) - 1) * np.log(
        1 - T / E862 - m / (e_total + momentum))
    f_minus, f_plus, f_mixed = ((np.array(f) - 1) / ALPHA_OVER_PI for f in qed_factors(T, E862))
    assert f_mixed == pytest.approx(soft, rel=1e-6)
    assert soft < -20
    for f in (f_minus, f_plus):
        assert abs(f / soft - 1) < 0.1


def test_nue_cross_section_862_against_borexino_nue_equivalent_flux():
    # Borexino, PRL 107, 141302 (2011), abstract: R(862 keV) = 46.0 cpd/100t "corresponds to
    # a nu_e-equivalent 7Be solar neutrino flux of (3.10 +- 0.15) x 10^9 cm^-2 s^-1", i.e.
    # Phi = R / (B_862 N_e t sigma(nu_e e)). The corrected cross section reproduces it to the
    # rounding of 3.10; tree level with the low-energy sin^2 theta_W gives 2.96.
    def nue_equivalent_flux(sigma_cm2):
        return 46.0 / (BE7_862.branching * c.ELECTRONS_PER_100T_PSEUDOCUMENE
                       * c.SECONDS_PER_DAY * sigma_cm2)

    corrected, tree = total_sigma_cm2(True), total_sigma_cm2(False)
    assert nue_equivalent_flux(corrected[0]) == pytest.approx(3.10e9, rel=0.005)
    assert nue_equivalent_flux(tree[0]) == pytest.approx(2.96e9, rel=0.005)
    # the weak corrections lower sigma(nu_e e) and raise sigma(nu_mu e) by a few percent
    assert -0.06 < corrected[0] / tree[0] - 1 < -0.03
    assert 0.03 < corrected[1] / tree[1] - 1 < 0.06
    assert corrected[1] == pytest.approx(corrected[2], rel=1e-14)


def test_qed_part_of_the_total_cross_section_is_small_and_negative():
    # The O(alpha) QED factors change the 862 keV total cross sections by a fraction of a
    # percent (order alpha/pi x logs), lowering both.
    import mcprop.physics.scattering as scattering

    corrected = total_sigma_cm2(True)
    original = scattering.qed_factors
    try:
        scattering.qed_factors = lambda T, E: (np.ones_like(np.asarray(T, float)),) * 3
        weak_only = total_sigma_cm2(True)
    finally:
        scattering.qed_factors = original
    qed = corrected / weak_only - 1
    assert np.all((qed < 0) & (qed > -3 * ALPHA_OVER_PI))


def test_borexino_phase2_expectation_both_lines():
    # Borexino, Nature 562, 505 (2018), Table 1: expected 7Be rate (both lines, MSW-LMA)
    # 47.9 +- 2.8 cpd/100t for the B16-GS98 and 43.7 +- 2.5 for the B16-AGSS09met flux.
    from mcprop.physics.prediction import predict

    for composition, expected in (("gs98", 47.9), ("agss09met", 43.7)):
        rate = predict(10.0, 0.0, "decoherent-msw", lines=("862keV", "384keV"),
                       composition=composition)["rate_sm_cpd100t"]
        assert rate == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("response", [DetectorResponse(), DetectorResponse((0.19, 2.93), 0.05)],
                         ids=["total", "window-resolution"])
def test_corrected_kernels_match_direct_integration(response):
    masses = [1e-2, 1.0, 100.0]
    kernels = RateKernels.compute(masses, [BE7_862], response=response)
    p = flavour_model("decoherent-vacuum").probabilities(NUFIT_5_0_NO_CENTRAL, E862)
    low, high = response.integration_range_MeV(T_MAX)
    for i, mass in enumerate(masses):
        k = kernels.at_mass(i)
        # a coupling with a new-physics fraction of order 30%
        g = (0.3 * k.sm_window.sum() / k.quadratic.sum()) ** 0.25 / np.sqrt(K0_MEV2)

        def integrand(t, g_value, mass=mass):
            d = dsigma_dT_zprime(t, E862, mass, g_value)[:, 0]
            return float(response.weight(t) * (p @ d))

        peak = mass**2 / (2 * c.M_ELECTRON_MEV)
        opts = dict(epsabs=0, epsrel=1e-10, limit=300,
                    points=[peak] if low < peak < high else None)
        sm = quad(integrand, low, high, args=(0.0,), **opts)[0]
        new = quad(lambda t, g=g: integrand(t, g) - integrand(t, 0.0), low, high, **opts)[0]
        _, _, np_fraction = k.rate_cpd100t(1.0, p[None], coupling_product_MeV2(g))
        assert new / sm == pytest.approx(float(np_fraction), rel=1e-6)
        assert sm == pytest.approx(float(p @ k.sm_window[0]), rel=1e-8)
