"""Borexino Phase-II spectral model against independent numbers and second methods."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import poisson
from threadpoolctl import threadpool_limits

from mcprop.inference.spectrum import (
    THRESHOLD_TILT,
    SpectrumMeasurement,
    borexino_phase2_spectrum,
)
from mcprop.physics.borexino_phase2 import (
    BOREXINO_PHASE2_EXPOSURE_DAY_100T,
    SOURCE_GROUPS,
    load_borexino_phase2,
    rebin,
)
from mcprop.physics.constants import (
    ELECTRONS_PER_100T_PSEUDOCUMENE,
    M_ELECTRON_MEV,
    SECONDS_PER_DAY,
)
from mcprop.physics.kernels import RateKernels
from mcprop.physics.nh_response import RESPONSE_STEPS, load_nh_response
from mcprop.physics.parameters import (
    LOW_ENERGY_RESPONSE_PARAMETERS,
    RESPONSE_PARAMETERS,
    background_parameter,
)
from mcprop.physics.scattering import (
    CROSS_SECTION_PREFACTOR_CM2_PER_MEV,
    LMU_LTAU,
    coupling_product_MeV2,
    cross_section_coefficients,
    dsigma_dT_zprime,
    t_max_MeV,
)
from mcprop.physics.solar import BE7_384, BE7_862
from mcprop.physics.solar_spectra import SOLAR_SOURCES, flux_parameters, spectrum
from mcprop.physics.spectral import SpectralTemplates

REPO = Path(__file__).resolve().parents[2]
SOURCES = {source.name: source for source in SOLAR_SOURCES}
#: B16-GS98 fluxes [cm^-2 s^-1], N. Vinyoles et al., ApJ 835, 202 (2017), Table 6.
B16_GS98 = {"flux_pp_cm2s": 5.98e10, "flux_7be_cm2s": 4.93e9, "flux_pep_cm2s": 1.44e8,
            "flux_n13_cm2s": 2.78e8, "flux_o15_cm2s": 2.05e8, "flux_f17_cm2s": 5.28e6,
            "flux_b8_cm2s": 5.46e6}
#: Electron-seconds per day x 100 t: counts = rate [cpd/100t] x exposure [day x 100 t].
ELECTRON_SECONDS = SECONDS_PER_DAY * ELECTRONS_PER_100T_PSEUDOCUMENE
EXPOSURE = BOREXINO_PHASE2_EXPOSURE_DAY_100T
WIDE_BIN = np.array([-100.0, 1500.0])     # every recoil of 7Be, pep, pp and CNO neutrinos
NO_SHIFT = np.zeros((3, 1))


def adiabatic_pee(energy_MeV, sin2_12=0.304, sin2_13=0.0222, dm2_eV2=7.42e-5, n_e=90.0):
    """Two-flavour adiabatic MSW survival probability for production at electron density
    n_e [N_A cm^-3] (the textbook closed form, independent of mcprop.physics.flavour):
    P_ee = c13^4 (1 + cos 2th12 cos 2th12m)/2 + s13^4."""
    energy = np.asarray(energy_MeV, dtype=float)
    c13sq = 1 - sin2_13
    cos2 = 1 - 2 * sin2_12
    beta = 2 * 7.63e-14 * n_e * energy * 1e6 * c13sq / dm2_eV2
    cos2m = (cos2 - beta) / np.sqrt((cos2 - beta) ** 2 + 1 - cos2**2)
    return c13sq**2 * 0.5 * (1 + cos2 * cos2m) + sin2_13**2


def probabilities(templates, p_ee):
    """(n_nodes, 3, 1): P_ee at every node from ``p_ee(E)``, the rest split 45:55 mu:tau."""
    pee = np.asarray([p_ee(e) for e in templates.node_energies_MeV], dtype=float)
    return np.stack([pee, 0.45 * (1 - pee), 0.55 * (1 - pee)], axis=1)[..., None]


def fluxes(templates, scale=None):
    scale = scale or {}
    return np.array([[B16_GS98[name] * scale.get(name, 1.0)]
                     for name in templates.flux_parameters])


def solar_counts(templates, p, mass_index=0, coupling=0.0, shifts=NO_SHIFT, flux=None,
                 interference=True):
    n_bkg = len(templates.background_names)
    return templates.expected_counts(mass_index, fluxes(templates) if flux is None else flux,
                                     p, np.array([coupling]), np.zeros((n_bkg, 1)), shifts,
                                     interference)[0]


def wide_templates(names, masses=(1.0,), nodes_per_source=4, radiative_corrections=True):
    return SpectralTemplates.compute(list(masses), LMU_LTAU, WIDE_BIN, load_nh_response(),
                                     np.zeros((0, 1)), (), sources=[SOURCES[n] for n in names],
                                     nodes_per_source=nodes_per_source,
                                     radiative_corrections=radiative_corrections)


@pytest.fixture(scope="module")
def window():
    """Templates for N_h 110-950 in unit bins at two masses, with the measurement (tree
    level: the comparisons below integrate the cross section on plain grids, which the QED
    factors' log singularity at T_max would spoil)."""
    measurement = borexino_phase2_spectrum(110, 950)
    with threadpool_limits(1):  # faster on a busy machine, as in ScanPlan.kernels
        templates = SpectralTemplates.compute([0.1, 3.0], LMU_LTAU, measurement.nh_edges,
                                              load_nh_response(),
                                              measurement.background_matrix,
                                              measurement.background_names,
                                              radiative_corrections=False)
    return measurement, templates


# --- package data -----------------------------------------------------------------------------

def test_spectra_are_normalised_and_end_at_the_beta_endpoints():
    """Endpoints E_max = Q_EC - 2 m_e from atomic mass differences (AME2020, M. Wang et al.,
    Chin. Phys. C 45, 030003 (2021)): Q_EC(13N) = 2.2205, Q_EC(15O) = 2.7542,
    Q_EC(17F) = 2.7605 MeV; pp: 2 M(1H) - M(2H) = 1.4422 MeV (= the pep line energy)."""
    q_ec = {"pp": 1.4422, "n13": 2.2205, "o15": 2.7542, "f17": 2.7605}
    for name, q in q_ec.items():
        energy, density = spectrum(name)
        assert np.trapezoid(density, energy) == pytest.approx(1.0, abs=1e-9)
        assert SOURCES[name].max_energy_MeV == pytest.approx(q - 2 * M_ELECTRON_MEV, abs=5e-3)
    assert SOURCES["pep"].line_energy_MeV == pytest.approx(q_ec["pp"], abs=1e-3)
    energy, density = spectrum("b8")
    assert np.trapezoid(density, energy) == pytest.approx(1.0, abs=1e-9)
    # 8B mean energy 6.7-6.8 MeV (W. T. Winter et al., PRC 73, 025503 (2006), Fig. 9)
    assert 6.6 < np.trapezoid(energy * density, energy) < 6.9


def test_spectrum_counts_and_exposure():
    """231,539 events in 859 bins at 582.326 day x 100 t (Nature 562, 505 (2018) Fig. 2a
    source data; shared README)."""
    data = load_borexino_phase2()
    assert data.nh[0] == 92 and data.nh[-1] == 950 and data.counts.size == 859
    assert data.counts.sum() == 231539
    # the background table sums to Borexino's total fit where a background dominates
    total = sum(data.background_rates.values()) + data.solar_rate
    rows = np.searchsorted(data.nh, data.background_nh)
    model = data.best_fit_counts[rows] / data.exposure_day_100t
    dominated = np.isfinite(model) & (data.background_rates["po210"] > 0.5 * model)
    np.testing.assert_allclose(total[dominated], model[dominated], rtol=2e-3)


# --- solar prediction -------------------------------------------------------------------------

def test_total_7be_rate_matches_rate_kernels():
    """Summed over all N_h, the 7Be templates give the total-rate kernels' rate (a second
    integration: mcprop.physics.kernels)."""
    templates = wide_templates(["be7_862", "be7_384"])
    for p in ([1.0, 0.0, 0.0], [0.53, 0.21, 0.26]):
        node_p = np.tile(np.array(p)[None, :, None], (2, 1, 1))
        counts = solar_counts(templates, node_p, flux=np.array([[4.93e9]])).sum()
        kernels = RateKernels.compute([1.0], [BE7_862, BE7_384], LMU_LTAU).at_mass(0)
        rate, _, _ = kernels.rate_cpd100t(4.93e9, np.tile(np.array(p), (2, 1)), 0.0)
        assert counts / EXPOSURE == pytest.approx(rate, rel=2e-5)


def test_total_zprime_terms_match_rate_kernels():
    """The Z' terms (linear and quadratic in C) of the 7Be line over all N_h against the
    total-rate kernels I1, I2, integrated in ln(m^2 + 2 m_e T) there."""
    masses = (0.8, 10.0)
    templates = wide_templates(["be7_862"], masses)
    p = np.array([0.5, 0.2, 0.3])
    kernels = RateKernels.compute(list(masses), [BE7_862], LMU_LTAU)
    for index in range(len(masses)):
        k = kernels.at_mass(index)
        for coupling in (0.05, 0.5):
            for interference in (True, False):
                sm = solar_counts(templates, p[None, :, None]).sum()
                full = solar_counts(templates, p[None, :, None], index, coupling,
                                    interference=interference).sum()
                expected = 4.93e9 * ELECTRON_SECONDS * EXPOSURE * (
                    coupling**2 * np.einsum("la,a->", k.quadratic, p)
                    + interference * coupling * np.einsum("la,a->", k.linear, p))
                assert full - sm == pytest.approx(expected, rel=1e-4)


def test_continuous_spectrum_against_direct_double_integral():
    """pp and 15O over all N_h against a direct trapezoid double integral of
    lambda(E) [P_ee sigma_e + (1 - P_ee) sigma_mu](T, E) on fine grids, with an
    energy-dependent P_ee(E) (eight probability nodes, so that their error is below 1e-5);
    tree level, whose cross section is smooth up to T_max."""
    templates = wide_templates(["pp", "o15"], nodes_per_source=8, radiative_corrections=False)
    for name in ("pp", "o15"):
        p = probabilities(templates, adiabatic_pee)
        p[[s != name for s in templates.node_sources]] = 0.0
        counts = solar_counts(templates, p).sum()
        flux = B16_GS98[SOURCES[name].flux_parameter]
        energy = np.linspace(1e-4, SOURCES[name].max_energy_MeV, 3000)
        pee = adiabatic_pee(energy)
        sigma = np.empty_like(energy)
        for i, e in enumerate(energy):
            T = np.linspace(0.0, t_max_MeV(e), 400)
            c0, _, _ = cross_section_coefficients(T, e, radiative_corrections=False)
            xs = CROSS_SECTION_PREFACTOR_CM2_PER_MEV * c0.T
            sigma[i] = np.trapezoid(pee[i] * xs[0] + (1 - pee[i]) * xs[1], T)
        rate = flux * np.trapezoid(SOURCES[name].density_per_MeV(energy) * sigma, energy)
        assert counts == pytest.approx(rate * ELECTRON_SECONDS * EXPOSURE, rel=2e-5)


def test_total_rates_agree_with_borexino_phase2():
    """B16-GS98 fluxes and adiabatic-MSW P_ee against Borexino Phase II, Nature 562, 505 (2018)
    Table 1 / PRD 100, 082004 (2019): pp 134 +- 10 (+6 -10), 7Be 48.3 +- 1.1 (+0.4 -0.7),
    pep (HZ) 2.43 +- 0.36 (+0.15 -0.22) cpd/100t; allowed: 1.5 x (measurement and B16 flux
    errors in quadrature; tree-level cross sections)."""
    templates = wide_templates(["pp", "be7_862", "be7_384", "pep"])
    measured = {"pp": (134.0, 12.0, 0.006), "be7": (48.3, 1.3, 0.06), "pep": (2.43, 0.42, 0.01)}
    p = probabilities(templates, adiabatic_pee)
    for group, (value, error, flux_error) in measured.items():
        q = p.copy()
        q[[not s.startswith(group) for s in templates.node_sources]] = 0.0
        rate = solar_counts(templates, q).sum() / EXPOSURE
        assert abs(rate - value) < 1.5 * np.hypot(error, flux_error * rate), group


def test_7be_edge_half_height(window):
    """The Compton-like edge of 862 keV 7Be recoils has its half height at N_h 292-293
    (Coloma et al., JHEP 07 (2022) 138, as Borexino's own fit; shared README)."""
    _, templates = window
    p = probabilities(templates, lambda e: 0.53)
    p[[s != "be7_862" for s in templates.node_sources]] = 0.0
    counts = solar_counts(templates, p)
    nh = templates.nh_edges[:-1] + 0.5
    shoulder = counts[(nh >= 230) & (nh <= 250)].mean()
    above = np.flatnonzero((nh > 260) & (counts < 0.5 * shoulder))[0]
    half = np.interp(0.5 * shoulder, counts[[above, above - 1]], nh[[above, above - 1]])
    assert 291.5 < half < 293.5


def test_solar_shape_matches_borexino_solar_curve(window):
    """Scaled to Borexino's fitted rates (pp 134, 7Be 48.3, pep 2.43, CNO 4.92 cpd/100t, Nature
    562, 505 (2018)), the predicted solar counts follow Borexino's own summed solar curve of
    PRD 100, 082004 (2019) Fig. 6a (their
    Monte-Carlo response and radiative corrections against ours): within 4 % in 50-N_h blocks
    of N_h 120-320."""
    measurement, templates = window
    wide = wide_templates(["pp", "be7_862", "be7_384", "pep", "n13", "o15", "f17"])
    fitted = {"pp": 134.0, "be7": 48.3, "pep": 2.43, "n13": 4.92, "o15": 4.92, "f17": 4.92}
    groups = {"pp": ["pp"], "be7": ["be7_862", "be7_384"], "pep": ["pep"],
              "n13": ["n13", "o15", "f17"]}
    total = np.zeros(templates.n_bins)
    for group, names in groups.items():
        def part(t, names=names):
            p = probabilities(t, adiabatic_pee)
            p[[s not in names for s in t.node_sources]] = 0.0
            return solar_counts(t, p)
        rate = part(wide).sum() / EXPOSURE
        total += part(templates) * fitted[group] / rate
    data = load_borexino_phase2()
    borexino = rebin(data.background_nh, data.solar_rate, templates.nh_edges) \
        * data.exposure_day_100t
    nh = templates.nh_edges[:-1] + 0.5
    for low in range(120, 320, 50):
        block = (nh >= low) & (nh < low + 50)
        assert total[block].sum() / borexino[block].sum() == pytest.approx(1.0, abs=0.04)


def test_zprime_spectrum_against_full_cross_section(window):
    """862 keV 7Be counts per bin with a light Z' against the full cross section
    |gL + kappa|^2 ... (scattering.dsigma_dT_zprime) folded with the response on a fine T grid:
    checks the kappa expansion, the propagator, the running and the bin integrals."""
    measurement, templates = window
    response = load_nh_response()
    p = np.array([0.5, 0.22, 0.28])
    node_p = np.zeros((templates.node_energies_MeV.size, 3, 1))
    node_p[templates.node_sources.index("be7_862"), :, 0] = p
    T = np.linspace(0.05, t_max_MeV(BE7_862.energy_MeV), 8001)
    resp = response.bin_probabilities(T, templates.nh_edges)
    scale = 4.93e9 * BE7_862.branching * ELECTRON_SECONDS * EXPOSURE
    for index, mass in enumerate(templates.masses_MeV):
        g = 3e-5 if mass < 1 else 3e-4
        for interference in (True, False):
            xs = dsigma_dT_zprime(T, BE7_862.energy_MeV, mass, g, LMU_LTAU,
                                  interference=interference, radiative_corrections=False)
            direct = scale * np.trapezoid((p @ xs)[:, None] * resp, T, axis=0)
            counts = solar_counts(templates, node_p, index, float(coupling_product_MeV2(g)),
                                  interference=interference)
            assert np.max(np.abs(counts - direct)) < 1e-6 * direct.max()
            change = np.abs(counts - solar_counts(templates, node_p))
            assert change.max() > 0.01 * direct.max()  # the Z' matters at this coupling


def test_probability_nodes_reproduce_energy_dependent_pee():
    """Four nodes per continuous source (the default) against eight (converged) for P_ee(E)
    of adiabatic MSW: the counts differ by less than 2e-3 Poisson sigma in every bin."""
    measurement = borexino_phase2_spectrum(110, 949, 5)
    args = ([1.0], LMU_LTAU, measurement.nh_edges, load_nh_response(),
            measurement.background_matrix, measurement.background_names)
    few, many = (SpectralTemplates.compute(*args, nodes_per_source=k) for k in (4, 8))
    for pee in (adiabatic_pee, lambda e: adiabatic_pee(e, dm2_eV2=5e-5)):
        a, b = solar_counts(few, probabilities(few, pee)), solar_counts(many,
                                                                          probabilities(many, pee))
        assert np.max(np.abs(a - b) / np.sqrt(b + measurement.background_matrix.sum(0))) < 2e-3


def test_compressed_templates_match_the_full_basis():
    """The templates kept in a basis of about 70 spectra (fixed by 12 of 15 grid masses)
    against all N_h bins as the basis: agreement to 1e-4 Poisson sigma at every mass."""
    measurement = borexino_phase2_spectrum(110, 949, 5)
    args = (np.geomspace(0.01, 100.0, 15), LMU_LTAU, measurement.nh_edges, load_nh_response(),
            measurement.background_matrix, measurement.background_names)
    compressed = SpectralTemplates.compute(*args)
    full = SpectralTemplates.compute(*args, basis_tolerance=0.0)
    assert compressed.basis.shape[0] < 0.6 * full.basis.shape[0]
    p = probabilities(full, adiabatic_pee)
    mu0 = solar_counts(full, p) + measurement.background_matrix.sum(0)
    for index, mass in enumerate(full.masses_MeV):
        coupling = 0.3 * (mass**2 + 0.1)   # a few per cent of the counts at every mass
        a = solar_counts(compressed, p, index, coupling, np.array([[0.004], [1.0], [-0.03]]))
        b = solar_counts(full, p, index, coupling, np.array([[0.004], [1.0], [-0.03]]))
        assert np.max(np.abs(a - b) / np.sqrt(mu0)) < 1e-4


@pytest.mark.parametrize("shift_steps", [(0.7, 0.7, 0.7), (-0.7, -0.7, 0.7), (2.5, 0, 0),
                                         (0, -2.5, 0), (0, 0, 2.5), (0, 0, -2.5)])
def test_response_model_against_exact_recomputation(shift_steps):
    """The quadratic response model against templates recomputed with the shifted response,
    between the stencil points (0.7 steps, all three) and beyond them (2.5 steps, one at a
    time; the priors' 1-sigma are 0.5, 0.5 and 0.2 steps): sum over bins of
    (difference)^2 / mu below 1 % of what the shift itself changes (at least 0.2)."""
    measurement = borexino_phase2_spectrum(110, 949, 5)
    response = load_nh_response()
    names = ["pp", "be7_862", "pep", "o15"]
    shift = np.array(shift_steps) * np.array(RESPONSE_STEPS)

    def compute(r):
        return SpectralTemplates.compute([1.0], LMU_LTAU, measurement.nh_edges, r,
                                         measurement.background_matrix,
                                         measurement.background_names,
                                         sources=[SOURCES[n] for n in names])
    model, exact = compute(response), compute(response.shifted(*shift))
    p = probabilities(model, adiabatic_pee)
    approximate = solar_counts(model, p, shifts=shift[:, None])
    recomputed = solar_counts(exact, p)
    nominal = solar_counts(model, p)
    mu = recomputed + measurement.background_matrix.sum(0)
    effect = np.sum((nominal - recomputed) ** 2 / mu)
    assert effect > 0.2
    assert np.sum((approximate - recomputed) ** 2 / mu) < 0.01 * effect


# --- interaction rates and components ---------------------------------------------------------

def tree_level_dsigma_dT_cm2(T, energy, flavour):
    """Textbook tree-level nu_a e cross section [cm^2/MeV] ('t Hooft, PLB 37, 195 (1971);
    PDG review "Neutrino cross section measurements"): (2 G_F^2 m_e / pi) (hbar c)^2
    [gL^2 + gR^2 (1 - T/E)^2 - gL gR m_e T / E^2], gL = +-1/2 + s^2 (nu_e: +, CC included),
    gR = s^2; G_F = 1.1663788e-11 MeV^-2, (hbar c)^2 = 3.893794e-22 MeV^2 cm^2,
    m_e = 0.51099895 MeV (PDG 2024), s^2 = 0.23867 (low-energy MS-bar, PDG 2024)."""
    g_fermi, hbarc2, m_e, s2 = 1.1663788e-11, 3.893794e-22, 0.51099895, 0.23867
    g_left = (0.5 if flavour == "e" else -0.5) + s2
    bracket = g_left**2 + s2**2 * (1 - T / energy) ** 2 - g_left * s2 * m_e * T / energy**2
    return 2 * g_fermi**2 * m_e / np.pi * hbarc2 * bracket


def test_line_interaction_rate_against_tree_level_cross_section():
    """The 862 keV line at tree level: rate per unit flux = sigma_a(E) x electrons x seconds
    per day x branching, with sigma_a the quad integral of the textbook dsigma/dT from 0 to
    T_max = 2E^2/(m_e + 2E) and the electrons of 100 t of pseudocumene C9H12 (66 electrons
    per 120.19 g/mol, N_A = 6.02214076e23 mol^-1, SI 2019)."""
    templates = wide_templates(["be7_862"], radiative_corrections=False)
    energy, m_e = 0.8618, 0.51099895
    t_max = 2 * energy**2 / (m_e + 2 * energy)
    electrons = 1e8 / 120.19 * 66 * 6.02214076e23
    for index, flavour in enumerate(("e", "mu", "tau")):
        sigma, _ = quad(tree_level_dsigma_dT_cm2, 0.0, t_max, args=(energy, flavour),
                        epsabs=0, epsrel=1e-12)
        p = np.zeros((1, 3, 1))
        p[0, index] = 1.0
        rate = templates.interaction_rates_cpd100t(np.array([[1.0]]), p)["7be"]
        assert rate[0] == pytest.approx(sigma * electrons * 86400 * 0.8956, rel=1e-9)
    assert sigma == pytest.approx(1.2243e-45, rel=1e-4)   # docs/physics.md sec. 5 table


def test_interaction_rates_match_templates_over_all_recoils():
    """Total rates of every group against the templates summed over a bin that holds every
    recoil (a second integration: the E integral inside the T integral, with the detector
    response), BKS corrections and an energy-dependent P_ee."""
    names = ["pp", "be7_862", "be7_384", "pep", "n13", "o15", "f17"]
    templates = wide_templates(names)
    p = probabilities(templates, adiabatic_pee)
    rates = templates.interaction_rates_cpd100t(fluxes(templates), p)
    assert set(rates) == {"pp", "7be", "pep", "cno"}
    for group, members in SOURCE_GROUPS.items():
        if group not in rates:
            continue
        q = p.copy()
        q[[s not in members for s in templates.node_sources]] = 0.0
        counts = solar_counts(templates, q).sum()
        assert rates[group][0] == pytest.approx(counts / EXPOSURE, rel=5e-5), group


def test_7be_interaction_rate_near_the_ssm_expectation():
    """B16-GS98 7Be flux, P_ee = 0.53 at both lines, BKS corrections: Borexino's expectation
    for the high-metallicity SSM with MSW-LMA is 47.9 +- 2.8 cpd/100t (Nature 562, 505 (2018),
    Table 1); at tree level the rate would be 3.4 % higher (docs/physics.md sec. 5), so 1 cpd
    tells the two apart. The rates of a batch are those of its samples one by one."""
    templates = wide_templates(["be7_862", "be7_384"])
    p = probabilities(templates, lambda e: 0.53)
    rate = templates.interaction_rates_cpd100t(fluxes(templates), p)["7be"][0]
    assert abs(rate - 47.9) < 1.0
    batch = np.concatenate([p, 0.5 * p], axis=-1)
    flux = np.array([[4.93e9, 2 * 4.93e9]])
    np.testing.assert_allclose(templates.interaction_rates_cpd100t(flux, batch)["7be"],
                               [rate, rate], rtol=1e-12)
    with pytest.raises(ValueError, match="probabilities must have shape"):
        templates.interaction_rates_cpd100t(flux, p)


def test_components_sum_to_the_expected_counts(window):
    """The groups and backgrounds add up to expected_counts (with a Z', interference, moved
    response and background norms); a group alone equals the counts with only its fluxes."""
    _, templates = window
    n_bkg = len(templates.background_names)
    p = np.concatenate([probabilities(templates, adiabatic_pee)] * 2, axis=-1)
    flux = np.concatenate([fluxes(templates), fluxes(templates, {"flux_7be_cm2s": 1.1})],
                          axis=1)
    args = (0, flux, p, np.array([0.0, 0.3]), np.full((n_bkg, 2), 1.2),
            np.array([[0.004, -0.002], [1.0, 0.5], [-0.03, 0.02]]))
    for interference in (True, False):
        components = templates.component_counts(*args, interference=interference)
        assert list(components) == ["pp", "7be", "pep", "cno", "b8",
                                    *templates.background_names]
        total = templates.expected_counts(*args, interference=interference)
        np.testing.assert_allclose(sum(components.values()), total, rtol=1e-10)
    only_7be = flux * np.array([[name == "flux_7be_cm2s"] for name in templates.flux_parameters])
    alone = templates.expected_counts(0, only_7be, p, args[3], np.zeros((n_bkg, 2)), args[5],
                                      interference=False)
    np.testing.assert_allclose(components["7be"], alone, rtol=1e-10)
    assert components["7be"][1].sum() > 1.1 * components["7be"][0].sum()  # flux x 1.1, Z'
    np.testing.assert_allclose(components["po210"][1],
                               1.2 * templates.background_counts[
                                   templates.background_names.index("po210")])


# --- likelihood -------------------------------------------------------------------------------

def test_poisson_log_likelihood_matches_scipy(window):
    measurement, _ = window
    rng = np.random.default_rng(3)
    mu = measurement.counts * rng.uniform(0.8, 1.2, (4, measurement.n_bins)) + 0.5
    ours = measurement.log_likelihood(mu)
    reference = poisson.logpmf(measurement.counts, mu).sum(axis=1)
    np.testing.assert_allclose(ours - ours[0], reference - reference[0], rtol=1e-9, atol=1e-6)
    bad = mu.copy()
    bad[1, 5] = 0.0
    bad[2, 7] = -1.0
    bad[3, 9] = np.nan
    assert np.all(measurement.log_likelihood(bad)[1:] == -np.inf)
    assert np.isfinite(measurement.log_likelihood(bad)[0])


def test_borexino_best_fit_has_chi2_per_bin_near_one():
    """Borexino's best-fit model as expected counts: Poisson deviance per bin 1.00 over
    N_h 110-950 (the bins below 110, where 14C dominates, give about 10 per bin even for it)."""
    data = load_borexino_phase2()
    keep = (data.nh >= 110) & np.isfinite(data.best_fit_counts)
    n, mu = data.counts[keep].astype(float), data.best_fit_counts[keep]
    deviance = 2 * np.sum(mu - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1) / mu), 0))
    assert deviance / keep.sum() == pytest.approx(1.0, abs=0.1)


def test_measurement_validation():
    edges = np.arange(5) + 0.5
    good = dict(name="m", nh_edges=edges, counts=[1, 2, 3, 4], exposure_day_100t=1.0,
                background_counts={"a": np.ones(4)}, source="test")
    SpectrumMeasurement(**good)
    with pytest.raises(ValueError, match="negative"):
        SpectrumMeasurement(**{**good, "background_counts": {"a": [1, -1, 1, 1]}})
    with pytest.raises(ValueError, match="exposure"):
        SpectrumMeasurement(**{**good, "exposure_day_100t": 0.0})
    with pytest.raises(ValueError, match="missing"):
        SpectrumMeasurement(**{**good, "counts": [1, np.nan, 3, 4]})
    with pytest.raises(ValueError, match="3 counts for 4 bins"):
        SpectrumMeasurement(**{**good, "counts": [1, 2, 3]})
    with pytest.raises(ValueError, match="outside"):
        borexino_phase2_spectrum(90, 950)
    with pytest.raises(ValueError, match="outside"):
        borexino_phase2_spectrum(110, 960)
    with pytest.raises(ValueError, match="bin_width"):
        borexino_phase2_spectrum(110, 950, 4)
    with pytest.raises(ValueError, match="bins"):
        SpectrumMeasurement(**good).log_likelihood(np.ones((2, 3)))


def test_prior_files_name_every_parameter(window):
    measurement, templates = window
    backgrounds = tomllib.loads((REPO / "priors/borexino-phase2-backgrounds.toml").read_text())
    names = set(backgrounds["parameters"])
    assert {background_parameter(b) for b in measurement.background_names} \
        | set(RESPONSE_PARAMETERS) | set(LOW_ENERGY_RESPONSE_PARAMETERS) \
        | {background_parameter(THRESHOLD_TILT)} == names
    for composition in ("gs98", "agss09met"):
        entries = {}
        for name in (f"ssm-b16-{composition}", f"ssm-b16-{composition}-pp-pep",
                     f"ssm-b16-{composition}-cno-b8"):
            entries.update(tomllib.loads((REPO / f"priors/{name}.toml").read_text())[
                "parameters"])
        assert set(flux_parameters()) <= set(entries)
        assert all(entry["source"].strip() for entry in entries.values())
    assert set(templates.flux_parameters) == set(flux_parameters())
