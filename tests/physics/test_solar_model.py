"""B16 solar models, MSW flavour content and the Z' matter potential against independent
numbers: published model values, closed-form limits, a second averaging method."""

import numpy as np
import pytest

from mcprop.physics import constants as c
from mcprop.physics.flavour import (
    NUFIT_5_0_NO_CENTRAL,
    DecoherentMSW,
    flavour_model,
    load_solar_profile,
    mixing_weights,
    msw_probabilities,
    zprime_potential_ratios,
)
from mcprop.physics.scattering import MODELS, U1Model, zprime_kappa
from mcprop.physics.solar import (
    COMPOSITIONS,
    SOURCES,
    SolarProfile,
    b16_flux_cm2s,
    gauss_rule,
    solar_model,
)

CENTRAL = NUFIT_5_0_NO_CENTRAL
E862 = 0.8618
DATA = __import__("pathlib").Path(__file__).parents[1] / "data"


def full_table(profile: SolarProfile):
    return profile.electron_density_per_NA_cm3, profile.production_weight


# --- the B16 tables ---------------------------------------------------------------------------

@pytest.mark.parametrize("composition", COMPOSITIONS)
def test_production_densities_are_normalised(composition):
    model = solar_model(composition)
    assert model.radius.size == 1000 and model.zone_width == pytest.approx(5e-4)
    for source in SOURCES:
        density = model.production_density[source]
        assert np.all(density >= 0)
        assert density.sum() * model.zone_width == pytest.approx(1.0, abs=2e-4)


@pytest.mark.parametrize("composition", COMPOSITIONS)
def test_structure_matches_standard_solar_models(composition):
    model = solar_model(composition)
    # central density ~150 g/cm^3 and hydrogen fraction X_c ~ 0.35 in standard solar models
    # (J.N. Bahcall, A.M. Serenelli, S. Basu, ApJ 621, L85 (2005)):
    # n_e/N_A = rho (1 + X)/2 ~ 101 cm^-3
    assert model.electron_density_per_NA_cm3[0] == pytest.approx(101, rel=0.05)
    # n_e falls roughly as exp(-10.5 r) outside the core (J.N. Bahcall, Neutrino
    # Astrophysics (1989), eq. 6.5: n_e = 245 exp(-10.54 r) N_A/cm^3, 0.1 < r < 0.9)
    for r in (0.2, 0.3, 0.4):
        n_e = np.interp(r, model.radius, model.electron_density_per_NA_cm3)
        assert n_e == pytest.approx(245 * np.exp(-10.54 * r), rel=0.15)
    # 7Be neutrinos are made near r = 0.06 R_sun (Bahcall, Neutrino Astrophysics), 8B deeper
    peak = model.radius[np.argmax(model.production_density["7Be"])]
    assert 0.05 < peak < 0.07
    assert (model.radius[np.argmax(model.production_density["8B"])] < peak)


def test_b16_fluxes_are_those_of_table_6():
    # N. Vinyoles et al., ApJ 835, 202 (2017), Table 6
    assert b16_flux_cm2s("7Be", "gs98") == (pytest.approx(4.93e9), pytest.approx(0.06))
    assert b16_flux_cm2s("7Be", "agss09met") == (pytest.approx(4.50e9), pytest.approx(0.06))
    assert b16_flux_cm2s("8B", "gs98")[0] == pytest.approx(5.46e6)
    assert b16_flux_cm2s("pp", "agss09met")[0] == pytest.approx(6.03e10)
    assert b16_flux_cm2s("hep", "gs98")[0] == pytest.approx(7.98e3)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="composition"):
        solar_model("bs05")
    with pytest.raises(ValueError, match="source"):
        solar_model("gs98").profile("7Li")
    with pytest.raises(ValueError, match="composition"):
        b16_flux_cm2s("7Be", "GS98 ")


def test_user_profile_loader_reads_the_analytic_fixture():
    # tests/data/solar_profile_analytic.csv: n_e = min(100, 245 exp(-10.54 r)), weights
    # proportional to r^2 exp(-(r/0.06)^2) on r = 0.005, 0.010, ..., 0.20
    profile = load_solar_profile(DATA / "solar_profile_analytic.csv")
    r = np.arange(1, 41) * 0.005
    n_e = np.minimum(100.0, 245 * np.exp(-10.54 * r))
    weight = r**2 * np.exp(-(r / 0.06) ** 2)
    np.testing.assert_allclose(profile.electron_density_per_NA_cm3, n_e, rtol=2e-3)
    expected_mean = (weight @ n_e) / weight.sum()
    assert profile.mean_electron_density_per_NA_cm3() == pytest.approx(expected_mean, rel=2e-3)


def test_b16_7be_production_sees_a_lower_density_than_the_analytic_profile():
    b16 = solar_model("gs98").profile("7Be").mean_electron_density_per_NA_cm3()
    analytic = load_solar_profile(DATA / "solar_profile_analytic.csv")
    assert 75 < b16 < 85
    assert analytic.mean_electron_density_per_NA_cm3() > b16 + 10


# --- averaging over the production region -----------------------------------------------------

def test_gauss_rule_integrates_polynomials_exactly():
    rng = np.random.default_rng(3)
    x, w = rng.uniform(20, 100, 400), rng.uniform(0, 1, 400)
    nodes, weights = gauss_rule(x, w, 5)
    for k in range(10):
        assert weights @ nodes**k == pytest.approx(w @ x**k, rel=1e-11)


@pytest.mark.parametrize("composition", COMPOSITIONS)
def test_node_average_equals_full_table(composition):
    profile = solar_model(composition).profile("7Be")
    nodes = msw_probabilities(CENTRAL, E862, profile)
    full = msw_probabilities(CENTRAL, E862, profile, density_nodes=full_table(profile))
    np.testing.assert_allclose(nodes, full, atol=1e-12)
    eps = zprime_potential_ratios(MODELS["Le-Lmu"], 1e-6, 0.1)
    nodes = msw_probabilities(CENTRAL, E862, profile, eps)
    full = msw_probabilities(CENTRAL, E862, profile, eps, density_nodes=full_table(profile))
    np.testing.assert_allclose(nodes, full, atol=1e-9)


# --- MSW flavour content ----------------------------------------------------------------------

def test_survival_probability_at_862_kev_against_borexino():
    # Borexino Phase II, PRD 100, 082004 (2019): P_ee(7Be) = 0.53 +- 0.05;
    # Phase I, PRL 107, 141302 (2011): P_ee(862 keV) = 0.51 +- 0.07
    for composition in COMPOSITIONS:
        p = DecoherentMSW.from_solar_model(composition).probabilities(CENTRAL, E862)
        assert abs(p[0] - 0.53) < 0.05 and abs(p[0] - 0.51) < 0.07
        assert p.sum() == pytest.approx(1.0, abs=1e-14)
    assert flavour_model("decoherent-msw").profile.source.startswith("B16-GS98")


def test_three_flavour_msw_without_extra_potential_is_the_standard_result():
    # the closed form keeps theta13 in vacuum; the 3x3 diagonalisation differs by the
    # matter correction to theta13, of order s13^2 x 2 V E / Dm^2_31 ~ 1e-4
    profile = solar_model("gs98").profile("7Be")
    closed = DecoherentMSW(profile).probabilities(CENTRAL, E862)
    numeric = msw_probabilities(CENTRAL, E862, profile)
    np.testing.assert_allclose(numeric, closed, atol=3e-4)
    assert numeric.sum() == pytest.approx(1.0, abs=1e-12)


def test_vacuum_limit():
    profile = SolarProfile(np.array([0.1]), np.array([0.0]), np.array([1.0]), "empty")
    vacuum = flavour_model("decoherent-vacuum").probabilities(CENTRAL, E862)
    np.testing.assert_allclose(msw_probabilities(CENTRAL, E862, profile), vacuum, atol=1e-12)
    b16 = solar_model("gs98").profile("7Be")
    np.testing.assert_allclose(msw_probabilities(CENTRAL, 1e-8, b16), vacuum, atol=1e-7)


def test_dominant_potential_limits():
    # A potential eps_e >> Dm^2_31/(2 E V) makes nu_e the heaviest matter state, which
    # evolves into nu_3: P_ea = |U_a3|^2; a large negative one makes it the lightest: |U_a1|^2.
    profile = solar_model("gs98").profile("7Be")
    u2 = mixing_weights(CENTRAL)
    heavy = msw_probabilities(CENTRAL, E862, profile, np.array([1e5, 0.0, 0.0]))
    light = msw_probabilities(CENTRAL, E862, profile, np.array([-1e5, 0.0, 0.0]))
    np.testing.assert_allclose(heavy, u2[:, 2], atol=1e-6)
    np.testing.assert_allclose(light, u2[:, 0], atol=1e-6)


def test_msw_vectorised_over_samples():
    rng = np.random.default_rng(5)
    n = 200
    params = {"sin2_theta12": rng.uniform(0.28, 0.33, n),
              "sin2_theta13": rng.uniform(0.02, 0.024, n),
              "sin2_theta23": rng.uniform(0.4, 0.6, n), "delta_cp_deg": rng.uniform(0, 360, n),
              "dm2_21_eV2": rng.uniform(7e-5, 8e-5, n)}
    eps = np.vstack([rng.uniform(-3, 3, n), rng.uniform(-3, 3, n), np.zeros(n)])
    profile = solar_model("gs98").profile("7Be")
    batch = msw_probabilities(params, E862, profile, eps)
    assert batch.shape == (3, n)
    np.testing.assert_allclose(batch.sum(axis=0), 1.0, atol=1e-12)
    for i in (0, 77, 199):
        one = msw_probabilities({k: v[i] for k, v in params.items()}, E862, profile, eps[:, i])
        np.testing.assert_allclose(batch[:, i], one, atol=1e-13)


# --- the Z' matter potential ------------------------------------------------------------------

def test_potential_ratio_closed_form_and_sign():
    # eps_a = x_a q_e g^2 / (sqrt2 G_F m^2): for L_e - L_mu, g = 1e-6, m = 10 keV
    eps = zprime_potential_ratios(MODELS["Le-Lmu"], 1e-6, 0.01)
    expected = 1e-12 / (np.sqrt(2) * 1.1663788e-11 * 1e-4)
    np.testing.assert_allclose(eps, [expected, -expected, 0.0], rtol=1e-12)
    assert eps[0] == pytest.approx(606.24, rel=1e-4)
    # Z' exchange between like charges raises the energy, as for the W-exchange potential
    assert eps[0] > 0


def test_potential_ratio_is_twice_the_forward_scattering_shift():
    # V'_a / (sqrt2 G_F n_e) = (gL + gR) shift of nu_a on electrons at q^2 = 0 = 2 kappa_a(0),
    # with the tree-level electron charge only (kinetic mixing cancels in neutral matter)
    for name in ("Le-Lmu", "Le-Ltau"):
        tree_only = U1Model(name, MODELS[name].neutrino_charges, 1.0, ())
        for g, mass in ((1e-6, 0.01), (3e-5, 2.0)):
            kappa = zprime_kappa(0.0, mass, g, tree_only)
            np.testing.assert_allclose(zprime_potential_ratios(MODELS[name], g, mass),
                                       2 * kappa, rtol=1e-12)


def test_no_flavour_potential_without_tree_level_electron_charge_or_flavour_difference():
    for name in ("Lmu-Ltau", "B-L"):
        np.testing.assert_array_equal(zprime_potential_ratios(MODELS[name], 1e-3, 1.0), 0.0)
    with pytest.raises(ValueError, match="mass"):
        zprime_potential_ratios(MODELS["Le-Lmu"], 1e-6, 0.0)


def test_constants_used_by_the_potential():
    # sqrt2 G_F N_A (hbar c)^3 = 7.63e-14 eV (per N_A cm^-3)
    assert c.MATTER_POTENTIAL_EV_PER_NA_CM3 == pytest.approx(7.63e-14, rel=1e-3)
