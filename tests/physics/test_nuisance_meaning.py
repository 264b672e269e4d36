"""What every nuisance parameter of the spectral and rate likelihoods means, pinned against
numbers from outside the code.

Each test sets a nuisance, by its prior-file name, where the likelihood reads it
(:func:`mcprop.inference.spectrum.template_inputs` for the spectrum, the posterior's
predictions for a rate) and compares the effect with a number the code does not produce:

- the N_h response nuisances (``nh_resolution_scale``, ``nh_energy_scale``, ``nh_offset``)
  against a fold of the 7Be 862 keV recoil spectrum written here (tree-level cross section in
  closed form, scipy's adaptive quadrature) with the response of P. Coloma et al., JHEP 07
  (2022) 138, arXiv:2204.03011 (their published N_h(T) and sigma(N_h) coefficients, as quoted
  in /work/shared/data/borexino-phase2/README.md) and the calibration's three numbers
  (docs/physics.md sec. 14); and against the variance and mean that a Gaussian smearing and a
  shift add to Borexino's 210Po peak;
- the threshold tilt (``bkg_threshold_tilt_norm``) against its definition in the prior file,
  with Borexino's 14C and pile-up components read here from the shared Fig. 6a table;
- the background normalisations (``bkg_<name>_norm``) against Borexino's fitted components
  (PRD 100, 082004 (2019) Fig. 6a, the shared digitisation);
- the flux nuisances (``flux_<source>_cm2s``) against the B16 fluxes and errors of
  /work/shared/data/ssm-b16/fluxes_b16.dat (Vinyoles et al., ApJ 835, 202 (2017));
- the oscillation parameters and P_ee of the rate likelihood against the closed-form
  decoherent survival probability and the tree-level cross-section ratio.

A change that doubles what a nuisance does (the mutation of issue 23) fails these tests.
"""

import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, REPO
from scipy.integrate import quad_vec
from scipy.optimize import brentq
from scipy.special import ndtr

from mcprop.inference.spectrum import borexino_phase2_spectrum, template_inputs
from mcprop.interface.config import config_from_dict
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.parameters import background_parameter
from mcprop.physics.scattering import LMU_LTAU
from mcprop.physics.solar_spectra import SOLAR_SOURCES
from mcprop.physics.spectral import SpectralTemplates

#: The project's shared public data (/work/shared/data), beside the checkout or above it.
SHARED = next((folder / "shared" / "data" for folder in REPO.parents
               if (folder / "shared" / "data").is_dir()), REPO / "shared" / "data")
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder not found")

#: P. Coloma et al., JHEP 07 (2022) 138: N_h(T) = sum_k a_k T^k (T in MeV) and
#: sigma(N_h) = b0 + b1 sqrt(N_h) + b2 N_h (shared/data/borexino-phase2/README.md).
COLOMA_MEAN = (-8.065244, 493.2560, -64.09629, 4.146102)
COLOMA_SIGMA = (1.21974, 1.31394, -0.0148585)
#: The calibration on Borexino's best fit folded into the default response: energy scale,
#: offset [N_h], width scale (docs/physics.md sec. 14: s = +0.98 %, o = -2.15, r = +2.66 %).
CALIBRATION = (0.00977, -2.149, 0.0266)
#: The energy scale turns about this N_h (docs/physics.md sec. 14).
PIVOT_NH = 171.0
#: Exposure of the TFC-subtracted Phase-II spectrum [day x 100 t] (shared README: rate x
#: 582.326 gives integer counts).
EXPOSURE = 582.326
#: The tree-level weak mixing angle of the cross section's convention (docs/physics.md sec. 5).
SIN2_THETA_W = 0.23867
M_E = 0.51099895
E_BE7 = 0.8618


def coloma_mean(T):
    return sum(a * np.asarray(T) ** k for k, a in enumerate(COLOMA_MEAN))


def coloma_sigma(nh):
    return COLOMA_SIGMA[0] + COLOMA_SIGMA[1] * np.sqrt(nh) + COLOMA_SIGMA[2] * nh


def published_response(T, scale=0.0, offset=0.0, resolution=0.0):
    """Mean and width of N_h at recoil T [MeV]: Coloma et al.'s response with the calibration
    folded in, moved by the nuisances (mean N + s (N - 171) + o, width (1 + r) sigma(N))."""
    s, o, r = CALIBRATION
    nominal = (1 + s) * coloma_mean(T) + o
    return (nominal + scale * (nominal - PIVOT_NH) + offset,
            (1 + resolution) * (1 + r) * coloma_sigma(nominal))


def table(path: Path) -> dict[str, np.ndarray]:
    """Columns of a CSV table whose '#' lines are comments."""
    lines = [line for line in path.read_text().splitlines() if line and line[0] != "#"]
    rows = np.array([line.split(",") for line in lines[1:]], dtype=float)
    return dict(zip(lines[0].split(","), rows.T, strict=True))


# --- the N_h response --------------------------------------------------------------------

@pytest.mark.parametrize("r", [0.0021, -0.0021, 0.01])
@pytest.mark.parametrize("nh", [150.0, 292.0, 560.0])
def test_resolution_nuisance_is_the_relative_width_of_the_published_response(nh, r):
    """The width at N_h 150, 292 (7Be edge) and 560 (pep edge) with nh_resolution_scale = r
    (its prior's 1-sigma, 0.0021, and one model step): (1 + r) (1 + 0.0266) sigma_Coloma(N_h)."""
    response = load_nh_response()
    T = brentq(lambda t: float(response.nominal_nh(np.array(t))) - nh, 0.01, 3.0)
    _, width = response.shifted(resolution_scale=r).mean_and_width(np.array(T))
    expected = (1 + r) * (1 + CALIBRATION[2]) * coloma_sigma(nh)
    assert float(width) == pytest.approx(expected, rel=2e-4)
    assert abs(float(width) - expected) < 0.1 * abs(r) * expected  # far below r's own effect


def be7_recoil_density(T):
    """nu_e e tree-level dsigma/dT of the 862 keV line, up to a constant (closed form)."""
    g_l, g_r = 0.5 + SIN2_THETA_W, SIN2_THETA_W
    return g_l**2 + g_r**2 * (1 - T / E_BE7) ** 2 - g_l * g_r * M_E * T / E_BE7**2


def folded_be7(edges, **nuisances) -> np.ndarray:
    """The 862 keV nu_e recoil spectrum folded here into the N_h bins ``edges`` with
    :func:`published_response` (up to a constant); recoils below N_h 30 (over 8 widths below
    N_h 100) left out."""
    t_max = 2 * E_BE7**2 / (M_E + 2 * E_BE7)
    t_min = brentq(lambda t: coloma_mean(t) - 30.0, 0.0, t_max)

    def integrand(T):
        mean, width = published_response(T, **nuisances)
        return be7_recoil_density(T) * np.diff(ndtr((edges - mean) / width))

    return quad_vec(integrand, t_min, t_max, epsrel=1e-10, epsabs=0.0)[0]


@pytest.fixture(scope="module")
def be7_spectrum():
    """Templates of the 862 keV line alone (tree level, no Z') over N_h 100-949 in unit bins,
    with Borexino's (digitised) background shapes following the response and the threshold
    tilt."""
    measurement = borexino_phase2_spectrum(100, 949, 1, threshold_backgrounds="digitised",
                                           threshold_tilt=True)
    be7 = [s for s in SOLAR_SOURCES if s.name == "be7_862"]
    templates = SpectralTemplates.compute([1.0], LMU_LTAU, measurement.nh_edges,
                                          measurement.response, measurement.background_shapes,
                                          measurement.background_names, sources=be7,
                                          radiative_corrections=False)
    return measurement, templates


def likelihood_counts(templates, **params) -> np.ndarray:
    """Expected counts of the likelihood for parameters by name: every flux, background
    normalisation and response nuisance 0 unless given; pure nu_e at every node."""
    names = (*templates.flux_parameters,
             *(background_parameter(name) for name in templates.background_names),
             *templates.response_parameters)
    unknown = set(params) - set(names)
    assert not unknown, unknown
    values = {name: params.get(name, 0.0) for name in names}
    inputs = template_inputs(templates, values,
                             lambda energy, source: np.array([[1.0], [0.0], [0.0]]), (1,))
    return inputs.counts(templates, 0, np.zeros(1), False)[0]


#: Shifts of the response nuisances: one step of the quadratic model (where it is exact)
#: either way, and the prior's 1-sigma.
RESPONSE_SHIFTS = [("nh_resolution_scale", 0.01), ("nh_resolution_scale", -0.01),
                   ("nh_resolution_scale", 0.0021), ("nh_energy_scale", 0.01),
                   ("nh_energy_scale", -0.0052), ("nh_offset", 1.0), ("nh_offset", -0.53)]
KEYWORD = {"nh_resolution_scale": "resolution", "nh_energy_scale": "scale",
           "nh_offset": "offset"}


@pytest.mark.parametrize(("name", "value"), RESPONSE_SHIFTS)
def test_response_nuisance_moves_the_7be_edge_as_the_published_response(be7_spectrum, name,
                                                                         value):
    """The change of the 7Be spectrum (N_h 100-949, its edge at ~292) when one response
    nuisance is set, against the same change of the fold written here: equal to 2 % of the
    change. The nominal spectra agree to 0.2 % of their peak."""
    measurement, templates = be7_spectrum
    flux = {"flux_7be_cm2s": 4.93e9}
    nominal = likelihood_counts(templates, **flux)
    shifted = likelihood_counts(templates, **flux, **{name: value})
    mine = folded_be7(measurement.nh_edges)
    mine_shifted = folded_be7(measurement.nh_edges, **{KEYWORD[name]: value})
    scale = nominal.sum() / mine.sum()
    assert np.max(np.abs(nominal - scale * mine)) < 2e-3 * nominal.max()
    change, expected = shifted - nominal, scale * (mine_shifted - mine)
    assert np.max(np.abs(expected)) > 1e-4 * nominal.max()
    assert np.max(np.abs(change - expected)) < 0.02 * np.max(np.abs(expected))


def peak_moments(counts, nh) -> tuple[float, float]:
    mean = np.sum(counts * nh) / counts.sum()
    return mean, np.sum(counts * (nh - mean) ** 2) / counts.sum()


@pytest.mark.parametrize("r", [0.01, -0.01, 0.0021])
def test_resolution_nuisance_adds_the_published_variance_to_the_po210_peak(be7_spectrum, r):
    """Borexino's 210Po peak (N_h ~190, Fig. 6a) with nh_resolution_scale = r: its mean stays,
    its variance grows by the mean over the peak of sigma(N)^2 ((1 + r)^2 - 1), sigma the
    published width with the calibration (a Gaussian of that variance added to each unit
    bin): 5.8 N_h^2 for r = 0.01, to 0.25 N_h^2 (each unit bin is smeared as a point at its
    centre, which adds about 1/12 N_h^2 to each smeared term of the quadratic model)."""
    measurement, templates = be7_spectrum
    nh = 0.5 * (measurement.nh_edges[1:] + measurement.nh_edges[:-1])
    nominal = likelihood_counts(templates, bkg_po210_norm=1.0)
    smeared = likelihood_counts(templates, bkg_po210_norm=1.0, nh_resolution_scale=r)
    mean0, var0 = peak_moments(nominal, nh)
    mean1, var1 = peak_moments(smeared, nh)
    sigma = (1 + CALIBRATION[2]) * coloma_sigma(nh)
    added = np.sum(nominal * sigma**2) / nominal.sum() * ((1 + r) ** 2 - 1)
    assert mean1 == pytest.approx(mean0, abs=0.01)
    assert var1 - var0 == pytest.approx(added, abs=0.25)


@pytest.mark.parametrize(("scale", "offset"), [(0.01, 0.0), (0.0, 1.0), (-0.0052, 0.53)])
def test_scale_and_offset_nuisances_move_the_po210_peak(be7_spectrum, scale, offset):
    """The 210Po peak's mean moves by s (N - 171) + o and its width by the factor (1 + s)
    (to 1e-3)."""
    measurement, templates = be7_spectrum
    nh = 0.5 * (measurement.nh_edges[1:] + measurement.nh_edges[:-1])
    nominal = likelihood_counts(templates, bkg_po210_norm=1.0)
    moved = likelihood_counts(templates, bkg_po210_norm=1.0, nh_energy_scale=scale,
                              nh_offset=offset)
    mean0, var0 = peak_moments(nominal, nh)
    mean1, var1 = peak_moments(moved, nh)
    assert mean1 - mean0 == pytest.approx(scale * (mean0 - PIVOT_NH) + offset, abs=0.01)
    assert np.sqrt(var1 / var0) == pytest.approx(1 + scale, abs=1e-3)


# --- backgrounds ---------------------------------------------------------------------------

@needs_shared
@pytest.mark.parametrize("t", [0.1, -0.25])
def test_threshold_tilt_changes_14c_and_pileup_by_t_per_10_nh(be7_spectrum, t):
    """bkg_threshold_tilt_norm = t adds t (14C + pile-up) (N_h - 93) / 10 (its prior's
    source): counts of Borexino's 14C and pile-up components (shared Fig. 6a table) times
    the exposure times t (N_h - 93) / 10, from N_h 110 on (below, the package adds the
    digitisation shortfall to the 14C)."""
    _, templates = be7_spectrum
    fig6a = table(SHARED / "borexino-phase2" / "prd2019-fig6a-components.csv")
    nh = np.arange(100, 950)
    tilt = likelihood_counts(templates, bkg_threshold_tilt_norm=t)
    rows = np.searchsorted(fig6a["N_h"], nh)
    expected = (EXPOSURE * (fig6a["C14"][rows] + fig6a["pileup"][rows])
                * t * (nh - 93) / 10.0)
    keep = nh >= 110
    np.testing.assert_allclose(tilt[keep], expected[keep], rtol=1e-6,
                               atol=1e-9 * np.abs(expected).max())
    both = likelihood_counts(templates, bkg_c14_norm=1.0, bkg_pileup_norm=1.0,
                             bkg_threshold_tilt_norm=t)
    alone = likelihood_counts(templates, bkg_c14_norm=1.0, bkg_pileup_norm=1.0)
    seen = alone > 1e-6 * alone.max()
    assert seen.sum() > 100
    np.testing.assert_allclose(both[seen] / alone[seen], 1 + t * (nh[seen] - 93) / 10.0,
                               rtol=1e-6, atol=1e-9)


@needs_shared
@pytest.mark.parametrize("name, column", [("pileup", "pileup"), ("kr85", "Kr85"),
                                          ("bi210", "Bi210"), ("po210", "Po210"),
                                          ("c14", "C14"), ("c11", "C11"), ("ext", "ext")])
def test_background_normalisation_one_is_borexinos_fitted_component(be7_spectrum, name, column):
    """bkg_<name>_norm = 1 gives Borexino's fitted component (Fig. 6a, shared table) times
    the exposure: to 1e-6 in every unit bin of N_h 100-949 where another background
    dominates (where it dominates, the package adds the digitisation shortfall to it), to
    5 % in total; and the normalisation scales it (a 1-sigma prior step of 14C, 5 %, gives
    5 % more)."""
    _, templates = be7_spectrum
    fig6a = table(SHARED / "borexino-phase2" / "prd2019-fig6a-components.csv")
    nh = np.arange(100, 950)
    rows = np.searchsorted(fig6a["N_h"], nh)
    backgrounds = ["C14", "pileup", "Po210", "Kr85", "Bi210", "C11", "ext"]
    dominant = np.array(backgrounds)[np.argmax([fig6a[c][rows] for c in backgrounds], axis=0)]
    expected = EXPOSURE * fig6a[column][rows]
    counts = likelihood_counts(templates, **{f"bkg_{name}_norm": 1.0})
    beside = (expected > 0) & (dominant != column)
    assert beside.sum() >= 10
    np.testing.assert_allclose(counts[beside], expected[beside], rtol=1e-6,
                               atol=1e-6 * expected.max())  # the templates' compression
    assert counts.sum() == pytest.approx(expected.sum(), rel=0.05)
    scaled = likelihood_counts(templates, **{f"bkg_{name}_norm": 1.05})
    np.testing.assert_allclose(scaled, 1.05 * counts, rtol=1e-9, atol=1e-12 * counts.max())


# --- fluxes --------------------------------------------------------------------------------

#: Rows of fluxes_b16.dat (its header: units 1e10 pp, 1e9 7Be, 1e8 pep, 13N, 15O, 1e6 8B,
#: 17F, 1e3 hep) and the parameter of each.
B16_ROWS = (("flux_pp_cm2s", 1e10), ("flux_pep_cm2s", 1e8), (None, 1e3),
            ("flux_7be_cm2s", 1e9), ("flux_b8_cm2s", 1e6), ("flux_n13_cm2s", 1e8),
            ("flux_o15_cm2s", 1e8), ("flux_f17_cm2s", 1e6))


def b16_fluxes() -> dict[str, dict[str, tuple[float, float]]]:
    """Flux [cm^-2 s^-1] and relative 1-sigma error of each parameter, by composition."""
    rows = [line.split() for line in (SHARED / "ssm-b16" / "fluxes_b16.dat").read_text()
            .splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(rows) == len(B16_ROWS)
    out = {"gs98": {}, "agss09met": {}}
    for (name, unit), row in zip(B16_ROWS, rows, strict=True):
        if name:
            out["gs98"][name] = (float(row[0]) * unit, float(row[1]))
            out["agss09met"][name] = (float(row[2]) * unit, float(row[3]))
    return out


@needs_shared
@pytest.mark.parametrize("composition", ["gs98", "agss09met"])
def test_flux_priors_are_the_b16_fluxes_and_errors(composition):
    """Every flux nuisance of the B16 prior files: its mean is the B16 flux and its 1-sigma the
    B16 error (fluxes_b16.dat), to the 3-4 digits the paper gives."""
    b16 = b16_fluxes()[composition]
    seen = set()
    for path in sorted((REPO / "priors").glob(f"ssm-b16-{composition}*.toml")):
        for name, prior in tomllib.loads(path.read_text())["parameters"].items():
            flux, error = b16[name]
            assert prior["family"] == "normal", (path.name, name)
            assert prior["mean"] == pytest.approx(flux, rel=1e-9), (path.name, name)
            assert prior["sigma"] == pytest.approx(error * flux, rel=1e-9), (path.name, name)
            seen.add(name)
    assert seen == set(b16)


@pytest.fixture(scope="module")
def all_sources():
    """Templates of every solar source over N_h 100-949 in bins of 50, backgrounds fixed."""
    measurement = borexino_phase2_spectrum(100, 949, 50)
    return SpectralTemplates.compute([1.0], LMU_LTAU, measurement.nh_edges,
                                     measurement.response, measurement.background_matrix,
                                     measurement.background_names)


#: Source group of each flux parameter (SpectralTemplates.interaction_rates_cpd100t).
GROUP = {"flux_pp_cm2s": "pp", "flux_7be_cm2s": "7be", "flux_pep_cm2s": "pep",
         "flux_n13_cm2s": "cno", "flux_o15_cm2s": "cno", "flux_f17_cm2s": "cno",
         "flux_b8_cm2s": "b8"}


@needs_shared
@pytest.mark.parametrize("name", list(GROUP))
def test_one_sigma_flux_nuisance_raises_its_source_by_the_b16_error(all_sources, name):
    """At the B16-GS98 fluxes, flux_<source> one B16 1-sigma up raises the expected counts by
    exactly the B16 relative error times that source's own counts, and the interaction rate
    of that source's group alone."""
    b16 = b16_fluxes()["gs98"]
    central = {n: flux for n, (flux, _) in b16.items()}
    flux, error = b16[name]
    counts = likelihood_counts(all_sources, **central)
    up = likelihood_counts(all_sources, **{**central, name: flux * (1 + error)})
    own = likelihood_counts(all_sources, **{name: flux})
    assert own.sum() > 0
    np.testing.assert_allclose(up - counts, error * own, rtol=1e-6, atol=1e-9 * counts.max())
    p = np.zeros((all_sources.node_energies_MeV.size, 3, 1))
    p[:, 0] = 1.0
    rates = all_sources.interaction_rates_cpd100t(
        np.array([[flux if n == name else 0.0] for n in all_sources.flux_parameters]), p)
    assert {group for group, rate in rates.items() if np.any(rate > 0)} == {GROUP[name]}


# --- the rate likelihood -------------------------------------------------------------------

def rate_posterior(flavour_model="decoherent-vacuum", priors=("nufit-5.0-no.toml",
                                                              "ssm-b16-gs98.toml")):
    """The posterior of tests/data/tiny.toml (Borexino Phase-I 7Be rate) at tree level."""
    doc = tomllib.loads((DATA / "tiny.toml").read_text())
    doc["physics"].update(flavour_model=flavour_model, radiative_corrections=False)
    doc["priors"]["files"] = [str(REPO / "priors" / name) for name in priors]
    return config_from_dict(doc, REPO).plan.posterior()


def predicted_rate(posterior, **params) -> np.ndarray:
    """Predicted 7Be rates [cpd/100t] of the Standard Model (g = 0) at the prior centres with
    ``params`` (arrays) put in."""
    n = np.size(next(iter(params.values())))
    centres = posterior.priors.centres()
    nuisances = {name: np.full(n, centres[name], dtype=float)
                 for name in posterior.nuisance_names}
    nuisances.update({k: np.asarray(v, dtype=float) for k, v in params.items()})
    (rate_sm, rate), = posterior.predictions(np.zeros(n), nuisances, np.zeros(n, dtype=int))
    np.testing.assert_allclose(rate, rate_sm)
    return np.asarray(rate)


@needs_shared
def test_flux_nuisance_scales_the_7be_rate_by_the_b16_error():
    """flux_7be_cm2s at B16-GS98 + 1 sigma raises the 7Be rate by the B16 error, 6 %."""
    flux, error = b16_fluxes()["gs98"]["flux_7be_cm2s"]
    rate = predicted_rate(rate_posterior(), flux_7be_cm2s=[flux, flux * (1 + error)])
    assert rate[1] / rate[0] == pytest.approx(1 + error, rel=1e-12)
    assert error == 0.06


def decoherent_p_ee(s12, s13):
    """sum_i |U_ei|^4 = c13^4 (1 - sin^2(2 theta12) / 2) + s13^4."""
    return (1 - s13) ** 2 * (1 - 2 * s12 * (1 - s12)) + s13**2


@pytest.mark.parametrize(("name", "steps"), [("sin2_theta12", (0.012, -0.012)),
                                             ("sin2_theta13", (0.00062, -0.00063))])
def test_oscillation_parameters_change_the_rate_through_the_closed_form_p_ee(name, steps):
    """The rate is linear in P_ee (nu_mu and nu_tau scatter alike), so two 1-sigma steps of
    sin^2 theta12 (or theta13) change it in the ratio of the closed-form P_ee changes; the
    other oscillation parameters do not change a decoherent rate."""
    posterior = rate_posterior()
    centres = posterior.priors.centres()
    values = [centres[name], *(centres[name] + step for step in steps)]
    rate = predicted_rate(posterior, **{name: values})
    s12 = np.array(values) if name == "sin2_theta12" else centres["sin2_theta12"]
    s13 = np.array(values) if name == "sin2_theta13" else centres["sin2_theta13"]
    p = decoherent_p_ee(s12, s13)
    assert (rate[1] - rate[0]) / (rate[2] - rate[0]) == pytest.approx(
        (p[1] - p[0]) / (p[2] - p[0]), rel=1e-6)
    assert abs(rate[1] - rate[0]) > 1e-4 * rate[0]
    for other in ("sin2_theta23", "delta_cp_deg", "dm2_21_eV2"):
        if other in posterior.nuisance_names:
            moved = predicted_rate(posterior, **{other: [centres[other], centres[other] * 1.1]})
            assert moved[1] == pytest.approx(moved[0], rel=1e-12), other


def total_cross_section(g_l, g_r, energy=E_BE7):
    """Tree-level int_0^T_max dsigma/dT dT, up to the common constant (closed form)."""
    t_max = 2 * energy**2 / (M_E + 2 * energy)
    return (g_l**2 * t_max + g_r**2 * energy / 3 * (1 - (1 - t_max / energy) ** 3)
            - g_l * g_r * M_E * t_max**2 / (2 * energy**2))


def test_p_ee_nuisance_weighs_nu_e_against_nu_mu_by_the_cross_sections():
    """With the P_ee flavour model, the rate at p_ee = 1 over that at p_ee = 0 is
    sigma(nu_e e) / sigma(nu_mu e) of the 862 keV line (tree level, closed form), and the
    rate is linear in between."""
    posterior = rate_posterior("pee", ("nufit-5.0-no.toml", "ssm-b16-gs98.toml",
                                       "borexino-pee-phase1.toml"))
    rate = predicted_rate(posterior, p_ee=[0.0, 0.5, 1.0])
    ratio = (total_cross_section(0.5 + SIN2_THETA_W, SIN2_THETA_W)
             / total_cross_section(-0.5 + SIN2_THETA_W, SIN2_THETA_W))
    assert rate[2] / rate[0] == pytest.approx(ratio, rel=1e-6)
    assert rate[1] == pytest.approx(0.5 * (rate[0] + rate[2]), rel=1e-12)


# --- the 14C light of the physics threshold model ------------------------------------------

@pytest.fixture(scope="module")
def physics_threshold():
    """The default (physics) threshold model over N_h 93-947 in bins of 1 and its templates
    (the 862 keV line alone, tree level)."""
    measurement = borexino_phase2_spectrum(93, 947, 1)
    be7 = [s for s in SOLAR_SOURCES if s.name == "be7_862"]
    templates = SpectralTemplates.compute(
        [1.0], LMU_LTAU, measurement.nh_edges, measurement.response,
        measurement.background_shapes, measurement.background_names, sources=be7,
        radiative_corrections=False, low_energy_log_response=measurement.low_energy_log_response)
    return measurement, templates


@needs_shared
def test_c14_at_its_activity_and_nominal_light_gives_borexinos_14c_component(
        physics_threshold):
    """bkg_c14_norm = 1 and nh_c14_offset = 0 (physics model): 40 Bq/100t with the light at
    its nominal offset gives Borexino's fitted 14C component (Fig. 6a, shared table) over
    N_h 93-118 within 6 % (the calibration's 0.945), and each bin with more than 100 counts
    within a factor 2 (the shapes differ: a Gaussian tail against Borexino's Monte-Carlo
    one)."""
    _, templates = physics_threshold
    fig6a = table(SHARED / "borexino-phase2" / "prd2019-fig6a-components.csv")
    nh = np.arange(93, 119)
    expected = EXPOSURE * fig6a["C14"][np.searchsorted(fig6a["N_h"], nh)]
    counts = likelihood_counts(templates, bkg_c14_norm=1.0)[:nh.size]
    assert counts.sum() / expected.sum() == pytest.approx(1.0, abs=0.06)
    many = expected > 100
    assert many.sum() >= 10
    np.testing.assert_array_less(np.abs(np.log(counts[many] / expected[many])), np.log(2.0))


@pytest.mark.parametrize("offset, width", [(0.5, 0.0), (-1.0, 0.0), (0.0, 0.03),
                                           (0.0, -0.045), (0.7, 0.02)])
def test_c14_light_nuisances_are_the_light_recomputed_with_the_shifted_offset_and_width(
        physics_threshold, offset, width):
    """nh_c14_offset d and nh_c14_resolution_scale w in the likelihood give the 14C and
    pile-up of the threshold model recomputed with the light moved by 3.70 + d N_h and its
    width scaled by 1 + w: within 1 % in every bin with more than one count, while the change
    itself reaches at least 5 % (the pile-up keeps Borexino's total, so it changes least)."""
    measurement, templates = physics_threshold
    shifted = borexino_phase2_spectrum(93, 947, 1, threshold_offset_nh=3.70 + offset,
                                       threshold_width_scale=width)
    for name in ("c14", "pileup"):
        norms = {"bkg_c14_norm": 0.0, "bkg_pileup_norm": 0.0, f"bkg_{name}_norm": 1.0}
        nominal = likelihood_counts(templates, **norms)
        moved = likelihood_counts(templates, **norms, nh_c14_offset=offset,
                                  nh_c14_resolution_scale=width)
        exact = shifted.background_counts[name]
        seen = exact > 1.0
        np.testing.assert_allclose(moved[seen], exact[seen], rtol=0.01)
        assert np.max(np.abs(exact[seen] / nominal[seen] - 1)) > 0.05


def test_templates_refuse_response_shifts_without_the_14c_light(physics_threshold):
    _, templates = physics_threshold
    assert templates.response_parameters[-2:] == ("nh_c14_offset", "nh_c14_resolution_scale")
    with pytest.raises(ValueError, match="response_shifts must have 5 rows"):
        templates.background_shapes(np.zeros((3, 1)))
