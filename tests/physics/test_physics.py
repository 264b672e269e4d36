"""Physics core against independent numbers: closed forms, limits, published values."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from mcprop.physics import constants as c
from mcprop.physics.flavour import (
    NUFIT_5_0_NO_CENTRAL,
    DecoherentMSW,
    flavour_model,
    load_solar_profile,
    mixing_weights,
    one_minus_sum_ue4,
    pmns_matrix,
)
from mcprop.physics.kernels import TOTAL_RATE, DetectorResponse, RateKernels
from mcprop.physics.muon_g2 import G2_2021, delta_a_mu
from mcprop.physics.prediction import predict
from mcprop.physics.scattering import (
    K0_MEV2,
    MODELS,
    coupling_from_product,
    coupling_product_MeV2,
    dsigma_dT_zprime,
    kinetic_mixing_eps,
    sm_chiral_couplings,
    t_max_MeV,
)
from mcprop.physics.seed_factors import decoherence_factor, error_treatment_factor
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_384, BE7_862

CENTRAL = NUFIT_5_0_NO_CENTRAL
E862 = BE7_862.energy_MeV


# --- kinetic mixing -------------------------------------------------------------------------

def test_eps_zero_closed_form():
    closed = c.E_CHARGE * np.log(c.M_TAU_MEV**2 / c.M_MUON_MEV**2) / (12 * np.pi**2)
    assert kinetic_mixing_eps(0.0, 1.0) == pytest.approx(closed, rel=1e-12)
    assert closed == pytest.approx(0.01443, abs=1e-5)
    assert 1 / closed == pytest.approx(69.3, abs=0.05)


def test_k0_value():
    assert K0_MEV2 == pytest.approx(1.3248e8, rel=1e-4)
    assert coupling_product_MeV2(1e-3) == pytest.approx(1e-6 * K0_MEV2, rel=1e-10)


def test_eps_running_negligible_at_t_max():
    q2 = -2 * c.M_ELECTRON_MEV * t_max_MeV(E862)
    ratio = kinetic_mixing_eps(q2, 1.0) / kinetic_mixing_eps(0.0, 1.0)
    assert abs(ratio - 1) < 1e-4
    # spacelike q^2 lowers the heavy-lepton log difference, so |eps| decreases slightly
    assert ratio < 1


# --- kinematics and cross sections ------------------------------------------------------------

def test_t_max_862():
    assert t_max_MeV(E862) == pytest.approx(0.664, abs=1e-3)


def _total_sigma_closed_form(energy, g_left, g_right):
    """Int_0^Tmax dsigma/dT in closed form."""
    t = t_max_MeV(energy)
    pref = 2 * c.G_FERMI_PER_MEV2**2 * c.M_ELECTRON_MEV / np.pi * c.HBARC2_MEV2_CM2
    return pref * (g_left**2 * t + g_right**2 * energy / 3 * (1 - (1 - t / energy) ** 3)
                   - g_left * g_right * c.M_ELECTRON_MEV * t**2 / (2 * energy**2))


def test_sm_kernel_matches_closed_form():
    # tree level (no radiative corrections): the closed-form integral of dsigma/dT
    kernels = RateKernels.compute([1.0], [BE7_862, BE7_384], radiative_corrections=False)
    g_left, g_right = sm_chiral_couplings()
    for k, line in enumerate((BE7_862, BE7_384)):
        closed = _total_sigma_closed_form(line.energy_MeV, g_left, g_right)
        np.testing.assert_allclose(kernels.i0_total_cm2[k], closed, rtol=1e-12)


def test_numu_to_nue_cross_section_ratio():
    g_left, g_right = sm_chiral_couplings()
    sig = _total_sigma_closed_form(E862, g_left, g_right)
    assert 0.19 < sig[1] / sig[0] < 0.23
    assert 0.20 < sig[1] / sig[0] < 0.22  # tree level with the low-energy sin^2 theta_W
    assert sig[1] == pytest.approx(sig[2], rel=1e-14)


def test_nue_cross_section_published_size():
    # sigma(nu_e e) at 862 keV is ~5.8e-45 cm^2 (J.N. Bahcall, Neutrino Astrophysics, Table 8.3)
    g_left, g_right = sm_chiral_couplings()
    assert _total_sigma_closed_form(E862, g_left, g_right)[0] == pytest.approx(5.8e-45, rel=0.05)


# --- flavour ------------------------------------------------------------------------------------

def test_pmns_unitary_and_standard_entries():
    u = pmns_matrix(0.3, 0.022, 0.57, [0.0, 197.0, 290.0])
    eye = np.einsum("nai,nbi->nab", u, u.conj())
    np.testing.assert_allclose(eye, np.broadcast_to(np.eye(3), eye.shape), atol=1e-14)
    np.testing.assert_allclose(np.abs(u[:, 0, 2]) ** 2, 0.022, rtol=1e-14)
    np.testing.assert_allclose(np.abs(u[:, 0, 0]) ** 2, 0.7 * 0.978, rtol=1e-14)
    np.testing.assert_allclose(np.abs(u[:, 1, 2]) ** 2, 0.57 * 0.978, rtol=1e-14)


def test_decoherent_vacuum_closed_form():
    s12, s13 = CENTRAL["sin2_theta12"], CENTRAL["sin2_theta13"]
    ue2 = np.array([(1 - s12) * (1 - s13), s12 * (1 - s13), s13])
    expected = 1 - np.sum(ue2**2)
    assert one_minus_sum_ue4(CENTRAL) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.448, abs=1e-3)
    p = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)
    assert p[0] == pytest.approx(1 - expected, rel=1e-12)
    assert p.sum() == pytest.approx(1.0, abs=1e-14)


def test_flavour_models_vectorised_and_normalised():
    rng = np.random.default_rng(1)
    params = {"sin2_theta12": rng.uniform(0.25, 0.35, 50),
              "sin2_theta13": rng.uniform(0.02, 0.024, 50),
              "sin2_theta23": rng.uniform(0.4, 0.6, 50),
              "delta_cp_deg": rng.uniform(0, 360, 50), "p_ee": rng.uniform(0.4, 0.6, 50)}
    for name in ("equipartition", "decoherent-vacuum", "pee"):
        p = flavour_model(name).probabilities(params, E862)
        assert p.shape == (3, 50)
        np.testing.assert_allclose(p.sum(axis=0), 1.0, atol=1e-14)
    p = flavour_model("pee").probabilities(params, E862)
    np.testing.assert_allclose(p[0], params["p_ee"])
    dv = flavour_model("decoherent-vacuum").probabilities(params, E862)
    np.testing.assert_allclose(p[1] / p[2], dv[1] / dv[2], rtol=1e-12)


def test_mu_tau_symmetry_at_maximal_mixing():
    # theta23 = 45 deg and delta = 90 deg: |U_mu i| = |U_tau i|, so P_emu = P_etau exactly
    params = {**CENTRAL, "sin2_theta23": 0.5, "delta_cp_deg": 90.0}
    p = flavour_model("decoherent-vacuum").probabilities(params, E862)
    assert p[1] == pytest.approx(p[2], rel=1e-12)


def test_unknown_flavour_model():
    with pytest.raises(ValueError, match="unknown flavour model"):
        flavour_model("msw-typo")


def test_seed_factors():
    assert decoherence_factor(CENTRAL) == pytest.approx(1.104, abs=1e-3)
    assert error_treatment_factor() == pytest.approx(1.316, abs=1e-3)
    # seed eq. 6 with its rounded 23%
    assert (0.23 / 0.08 * 0.49 / 0.47) ** 0.25 == pytest.approx(error_treatment_factor(),
                                                                  rel=2e-3)


# --- rates ----------------------------------------------------------------------------------

def test_rates_sanity_values():
    kernels = RateKernels.compute([10.0], [BE7_862], radiative_corrections=False).at_mass(0)
    only_nue = np.array([1.0, 0.0, 0.0])[None, :]
    rate_no_osc, _, _ = kernels.rate_cpd100t(B16_GS98_BE7_FLUX_CM2S, only_nue, 0.0)
    assert 72 < rate_no_osc < 78
    assert 46 < predict(10.0, 0.0)["rate_sm_cpd100t"] < 50
    # closed form of the tree-level no-oscillation rate
    g_left, g_right = sm_chiral_couplings()
    sigma_e = _total_sigma_closed_form(E862, g_left, g_right)[0]
    expected = (B16_GS98_BE7_FLUX_CM2S * BE7_862.branching * c.ELECTRONS_PER_100T_PSEUDOCUMENE
                * 86400 * sigma_e)
    assert rate_no_osc == pytest.approx(expected, rel=1e-12)


def _direct_rate_terms(mass, g, probabilities, response=TOTAL_RATE, line=BE7_862,
                       interference=True):
    """SM and Z' window cross sections by adaptive quadrature of dsigma/dT."""
    t_max = float(t_max_MeV(line.energy_MeV))
    low, high = response.integration_range_MeV(t_max)
    peak = mass**2 / (2 * c.M_ELECTRON_MEV)
    points = [p for p in (peak, 10 * peak, 100 * peak) if low < p < high]

    def integrand(t, coupling):
        d = dsigma_dT_zprime(t, line.energy_MeV, mass, coupling, interference=interference,
                             radiative_corrections=False)
        return float(response.weight(t) * (probabilities @ d[:, 0]))

    opts = dict(epsabs=0, epsrel=1e-11, limit=500, points=points or None)
    sm = quad(integrand, low, high, args=(0.0,), **opts)[0]
    full = quad(integrand, low, high, args=(g,), **opts)[0]
    new_physics = quad(lambda t: integrand(t, g) - integrand(t, 0.0), low, high, **opts)[0]
    return sm, full, new_physics


MASSES = [1e-3, 1e-2, 0.1, 1.0, 10.0, 1e3, 1e4]


@pytest.mark.parametrize("response", [DetectorResponse(),
                                      DetectorResponse((0.27, 1.6)),
                                      DetectorResponse((0.19, 2.93), 0.05)],
                         ids=["total", "sharp-window", "window-resolution"])
def test_kernels_match_direct_integration(response):
    # tree level here (fast quadrature); tests/test_radiative.py repeats it with corrections
    kernels = RateKernels.compute(MASSES, [BE7_862], response=response,
                                  radiative_corrections=False)
    p = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)
    for i, mass in enumerate(MASSES):
        k = kernels.at_mass(i)
        # couplings spanning the limits: new-physics fraction from ~1e-3 to ~10
        scale = (k.sm_window.sum() / k.quadratic.sum()) ** 0.25 / np.sqrt(K0_MEV2)
        for g in scale * np.array([0.2, 1.8]):
            for interference in (True, False):
                _, _, np_fraction = k.rate_cpd100t(1.0, p[None], coupling_product_MeV2(g),
                                                   interference)
                sm, full, new = _direct_rate_terms(mass, g, p, response,
                                                   interference=interference)
                assert full / sm - 1 == pytest.approx(float(np_fraction), rel=1e-6, abs=1e-12)
                assert new / sm == pytest.approx(float(np_fraction), rel=1e-6)


def test_new_physics_scales_as_g4_over_m4_at_high_mass():
    low, high = predict(100.0, 1e-2, interference=False), predict(1000.0, 1e-2,
                                                                  interference=False)
    assert low["np_fraction"] / high["np_fraction"] == pytest.approx(1e4, rel=1e-3)
    doubled = predict(100.0, 2e-2, interference=False)
    assert doubled["np_fraction"] / low["np_fraction"] == pytest.approx(16.0, rel=1e-12)


def test_new_physics_mass_independent_below_threshold_scale():
    # With a recoil threshold T1, the propagator 1/(m^2 + 2 m_e T) no longer depends on m
    # once m^2 << 2 m_e T1 = 0.28 MeV^2.
    kernels = RateKernels.compute([1e-3, 1e-2, 0.03], [BE7_862],
                                  response=DetectorResponse((0.27, 1.6), 0.05))
    i2 = kernels.i2_cm2_per_MeV4[:, 0]
    assert i2[0] / i2[1] == pytest.approx(1.0, rel=1e-3)
    assert i2[0] / i2[2] == pytest.approx(1.0, rel=5e-3)


def test_total_rate_light_mediator_limit():
    # Without a threshold the recoil integral diverges as m -> 0:
    # I2 -> prefactor x c2(T=0) / (2 m_e m^2) = prefactor / (m_e m^2).
    mass = 1e-3
    kernels = RateKernels.compute([mass], [BE7_862])
    pref = 2 * c.G_FERMI_PER_MEV2**2 * c.M_ELECTRON_MEV / np.pi * c.HBARC2_MEV2_CM2
    assert kernels.i2_cm2_per_MeV4[0, 0] == pytest.approx(pref / (c.M_ELECTRON_MEV * mass**2),
                                                         rel=2e-3)


def test_interference_sign_follows_theta23_octant():
    kernels = RateKernels.compute([100.0], [BE7_862]).at_mass(0)
    coupling = coupling_product_MeV2(1e-2)
    signs = []
    for s23 in (0.573, 0.427):
        p = flavour_model("decoherent-vacuum").probabilities({**CENTRAL, "sin2_theta23": s23},
                                                             E862)
        with_int = kernels.rate_cpd100t(1.0, p[None], coupling, True)[2]
        without = kernels.rate_cpd100t(1.0, p[None], coupling, False)[2]
        signs.append(np.sign(with_int - without))
    assert signs[0] == -signs[1] != 0


def test_interference_size_at_high_mass():
    # The interference is kept (docs/physics.md sec. 3); at NuFIT 5.0 central values it moves
    # the high-mass limit by a few percent; at a new-physics fraction of 10% the linear term
    # is a few percent of the quadratic one in g.
    without = predict(1000.0, 1.0, interference=False)["np_fraction"]
    g = (0.1 / without) ** 0.25
    with_int = predict(1000.0, g)["np_fraction"]
    shift = (0.1 / with_int) ** 0.25  # limit ratio with/without interference
    assert 0.01 < abs(shift - 1) < 0.1


# --- muon g-2 -----------------------------------------------------------------------------------

def test_delta_a_mu_limits():
    assert delta_a_mu(1.0, 1e-3) == pytest.approx(1 / (8 * np.pi**2), rel=1e-4)
    # heavy vector: Delta a_mu -> g^2 m_mu^2 / (12 pi^2 m^2)
    heavy = 1e5
    assert delta_a_mu(1.0, heavy) == pytest.approx(
        c.M_MUON_MEV**2 / (12 * np.pi**2 * heavy**2), rel=1e-3)


@pytest.mark.parametrize("mass,g", [(1.0, 4.5e-4), (10.0, 5.0e-4), (100.0, 9.5e-4)])
def test_g2_coupling_for_2021_central(mass, g):
    needed = np.sqrt(G2_2021.central / delta_a_mu(1.0, mass))
    assert needed == pytest.approx(g, rel=0.02)
    low, high = G2_2021.coupling_band(mass)
    assert low < needed < high


def test_closed_form_mixing_weights_equal_pmns_moduli():
    rng = np.random.default_rng(7)
    params = {"sin2_theta12": rng.uniform(0, 1, 20), "sin2_theta13": rng.uniform(0, 0.1, 20),
              "sin2_theta23": rng.uniform(0, 1, 20), "delta_cp_deg": rng.uniform(-180, 540, 20)}
    u = pmns_matrix(params["sin2_theta12"], params["sin2_theta13"], params["sin2_theta23"],
                    params["delta_cp_deg"])
    np.testing.assert_allclose(np.moveaxis(np.abs(u) ** 2, 0, -1), mixing_weights(params),
                               atol=1e-14)


# --- MSW ------------------------------------------------------------------------------------

def test_msw_survival_probability_at_862_kev():
    p = flavour_model("decoherent-msw").probabilities(CENTRAL, E862)
    assert 0.51 < p[0] < 0.55
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    vacuum = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)
    # matter raises the nu_mu + nu_tau content from ~0.45 toward ~0.47
    assert 0.46 < 1 - p[0] < 0.49 and 1 - p[0] > 1 - vacuum[0]


def test_msw_limits_vacuum_at_low_and_sin2_theta12_at_high_energy():
    msw = flavour_model("decoherent-msw")
    low = msw.probabilities(CENTRAL, 1e-7)
    np.testing.assert_allclose(low, flavour_model("decoherent-vacuum").probabilities(CENTRAL, 1),
                               rtol=1e-6)
    s12, s13 = CENTRAL["sin2_theta12"], CENTRAL["sin2_theta13"]
    high = msw.probabilities(CENTRAL, 1e5)
    assert high[0] == pytest.approx((1 - s13) ** 2 * s12 + s13**2, rel=1e-4)
    assert high[0] == pytest.approx(s12, rel=0.06)


def test_msw_probabilities_are_mass_weights_times_pmns_moduli():
    """The closed-form P_ea of decoherent MSW equals sum_i w_i |U_ai|^2 with |U_ai|^2 from
    the complex PMNS matrix, over a spread of parameters (delta_CP around the circle)."""
    rng = np.random.default_rng(7)
    n = 200
    params = {"sin2_theta12": rng.uniform(0.2, 0.4, n), "sin2_theta13": rng.uniform(0.01, 0.04, n),
              "sin2_theta23": rng.uniform(0.35, 0.65, n), "delta_cp_deg": rng.uniform(0, 360, n),
              "dm2_21_eV2": rng.uniform(5e-5, 1e-4, n)}
    model = flavour_model("decoherent-msw")
    u2 = np.abs(pmns_matrix(params["sin2_theta12"], params["sin2_theta13"],
                            params["sin2_theta23"], params["delta_cp_deg"])) ** 2
    for energy in (E862, 0.384, 5.0):
        w = model.mass_weights(params, energy)
        expected = np.einsum("in,nai->an", w, u2)
        np.testing.assert_allclose(model.probabilities(params, energy), expected, atol=1e-14)


def test_msw_one_shell_profile_closed_form(tmp_path):
    table = tmp_path / "shell.csv"
    table.write_text("# one shell\nr_over_Rsun,n_e_per_NA_cm3,production_weight\n0.06,90,1\n")
    model = DecoherentMSW(load_solar_profile(table))
    s12, s13, dm2 = CENTRAL["sin2_theta12"], CENTRAL["sin2_theta13"], CENTRAL["dm2_21_eV2"]
    beta = 2 * 7.6325e-14 * 90 * E862 * 1e6 * (1 - s13) / dm2
    cos2 = 1 - 2 * s12
    cos2m = (cos2 - beta) / np.hypot(cos2 - beta, np.sqrt(1 - cos2**2))
    c12m_sq = (1 + cos2m) / 2
    expected = (1 - s13) ** 2 * (c12m_sq * (1 - s12) + (1 - c12m_sq) * s12) + s13**2
    assert model.probabilities(CENTRAL, E862)[0] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("content,needle", [
    ("r,n,w\n0.1,1,1\n", "header"),
    ("r_over_Rsun,n_e_per_NA_cm3,production_weight\n0.1,abc,1\n", "row 2"),
    ("r_over_Rsun,n_e_per_NA_cm3,production_weight\n0.1,-5,1\n", "non-negative"),
    ("r_over_Rsun,n_e_per_NA_cm3,production_weight\n0.1,5,0\n", "sum to zero"),
])
def test_bad_solar_profile(tmp_path, content, needle):
    table = tmp_path / "bad.csv"
    table.write_text(content)
    with pytest.raises(ValueError, match=needle) as info:
        load_solar_profile(table)
    assert str(table) in str(info.value)


# --- other U(1)' models -------------------------------------------------------------------

LMU_LTAU_EPS = replace(MODELS["Lmu-Ltau"], kinetic_mixing=2e-5)


@pytest.mark.parametrize("model", [MODELS["Le-Lmu"], MODELS["Le-Ltau"], MODELS["B-L"],
                                   LMU_LTAU_EPS], ids=lambda m: f"{m.name}-{m.kinetic_mixing}")
def test_kernels_match_direct_integration_other_models(model):
    masses = [1e-2, 1.0, 100.0, 1e4]
    response = DetectorResponse((0.27, 1.6), 0.05)
    kernels = RateKernels.compute(masses, [BE7_862], model, response, radiative_corrections=False)
    p = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)
    for i, mass in enumerate(masses):
        k = kernels.at_mass(i)
        scale = coupling_from_product(np.sqrt(k.sm_window.sum() / k.quadratic.sum()), model)
        for g in scale * np.array([0.05, 0.3, 1.0]):
            _, _, np_fraction = k.rate_cpd100t(1.0, p[None], coupling_product_MeV2(g, model))
            t_max = float(t_max_MeV(E862))

            def integrand(t, coupling, mass=mass):
                d = dsigma_dT_zprime(t, E862, mass, coupling, model,
                                     radiative_corrections=False)[:, 0]
                return float(response.weight(t) * (p @ d))

            opts = dict(epsabs=0, epsrel=1e-11, limit=500)
            sm = quad(integrand, 0, t_max, args=(0.0,), **opts)[0]
            new = quad(lambda t, g=g: integrand(t, g) - integrand(t, 0.0), 0, t_max, **opts)[0]
            assert new / sm == pytest.approx(float(np_fraction), rel=1e-6)


def test_tree_level_models_limit_is_g2_dominated_at_high_mass():
    """With a tree-level electron charge the nu_e charged-current interference is linear in
    C ~ g^2 and dominates at the limit: the new-physics fraction scales as g^2/m^2 there,
    while L_mu - L_tau (loop-suppressed, mu-tau cancelling interference) scales as g^4/m^4.
    Either way the high-mass limit grows as g ~ m; it scales with the allowed fraction as
    its square root (tree level) or fourth root (L_mu - L_tau)."""
    p = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)[None]
    for model, power in ((MODELS["Le-Lmu"], 2), (MODELS["Lmu-Ltau"], 4)):
        kernels = RateKernels.compute([100.0, 1000.0], [BE7_862], model)
        limits = []
        for i in range(2):
            k = kernels.at_mass(i)

            def fraction(g, k=k, model=model):
                return float(k.rate_cpd100t(1.0, p, coupling_product_MeV2(g, model))[2])

            g = brentq(lambda g, f=fraction: abs(f(g)) - 0.1, 1e-8, 10.0, rtol=1e-12)
            limits.append(g)
            c = coupling_product_MeV2(g, model)
            linear = abs(c * np.einsum("la,la->", k.linear, p))
            quadratic = c**2 * np.einsum("la,la->", k.quadratic, p)
            assert (linear > 10 * quadratic) if power == 2 else (quadratic > 3 * linear)
            slope = np.log(fraction(g * 1.001) / fraction(g * 0.999)) / np.log(1.001 / 0.999)
            assert (1.9 < slope < 2.1) if power == 2 else (4.0 < slope < 5.0)
        assert limits[1] / limits[0] == pytest.approx(10.0, rel=1e-3)


# --- predict: lines, composition, corrections -------------------------------------------------

def test_predict_lines_composition_and_corrections():
    both = predict(10.0, 1e-3, lines=("862keV", "384keV"))
    parts = [predict(10.0, 1e-3, lines=(name,)) for name in ("862keV", "384keV")]
    for key in ("rate_sm_cpd100t", "rate_cpd100t"):
        assert both[key] == pytest.approx(parts[0][key] + parts[1][key], rel=1e-12)
    # B16 7Be fluxes, Vinyoles et al., ApJ 835, 202 (2017), Table 6: 4.50e9 / 4.93e9
    gs98, agss = (predict(10.0, 0.0, "decoherent-vacuum", composition=c_)["rate_sm_cpd100t"]
                  for c_ in ("gs98", "agss09met"))
    assert agss / gs98 == pytest.approx(4.50 / 4.93, rel=1e-12)
    # tree level: the closed-form rate with the low-energy sin^2 theta_W
    p = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)
    sigma = _total_sigma_closed_form(E862, *sm_chiral_couplings())
    expected = (4.93e9 * BE7_862.branching * c.ELECTRONS_PER_100T_PSEUDOCUMENE * 86400
                * (p @ sigma))
    tree = predict(10.0, 0.0, "decoherent-vacuum",
                   radiative_corrections=False)["rate_sm_cpd100t"]
    assert tree == pytest.approx(expected, rel=1e-10)
    for bad in ((), ("862keV", "862keV"), ("pep",)):
        with pytest.raises(ValueError, match="lines"):
            predict(10.0, 0.0, lines=bad)
    with pytest.raises(ValueError, match="composition"):
        predict(10.0, 0.0, composition="bs05")
