"""Magnetic moments with the spectral likelihood: the EM recoil templates against direct
integrals of the EM cross section, and a fit of Asimov data against the half-normal
posterior of a Gaussian likelihood with the Fisher width."""


import numpy as np
import pytest
from conftest import REPO
from test_spectral_run import SPECTRAL_PRIORS, SPECTRUM, fit_asimov
from threadpoolctl import threadpool_limits

from mcprop.inference.spectrum import borexino_phase2_spectrum
from mcprop.interface.config import config_from_dict
from mcprop.physics.borexino_phase2 import BOREXINO_PHASE2_EXPOSURE_DAY_100T
from mcprop.physics.constants import ELECTRONS_PER_100T_PSEUDOCUMENE, SECONDS_PER_DAY
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.solar import BE7_862
from mcprop.physics.solar_spectra import SOLAR_SOURCES
from mcprop.physics.spectral import SpectralTemplates

#: counts per (cm^2 of cross section x cm^-2 s^-1 of flux) over the Phase-II exposure
COUNTS_PER_CM2_FLUX = SECONDS_PER_DAY * ELECTRONS_PER_100T_PSEUDOCUMENE * \
    BOREXINO_PHASE2_EXPOSURE_DAY_100T
FLUX_7BE, FLUX_PP = 4.93e9, 5.98e10   # B16-GS98, Vinyoles et al., ApJ 835, 202 (2017)
#: CODATA 2018 (Tiesinga et al., RMP 93, 025010 (2021)): alpha, m_e [MeV], hbar c [MeV cm]
ALPHA, M_E, HBAR_C = 1 / 137.035999084, 0.51099895000, 197.3269804e-13


def em_cross_section(T_MeV, energy_MeV):
    """dsigma/dT [cm^2/MeV] per (mu/mu_B)^2, written out here from Vogel & Engel, PRD 39,
    3378 (1989), eq. 2: pi alpha^2 / m_e^2 (1/T - 1/E) (hbar c)^2, for T below T_max."""
    t_max = 2 * energy_MeV**2 / (M_E + 2 * energy_MeV)
    shape = np.where(T_MeV <= t_max, 1 / T_MeV - 1 / energy_MeV, 0.0)
    return np.pi * ALPHA**2 / M_E**2 * HBAR_C**2 * shape


@pytest.fixture(scope="module")
def magnetic():
    """Magnetic templates of N_h 110-950 in unit bins, with the measurement."""
    measurement = borexino_phase2_spectrum(110, 950)
    with threadpool_limits(1):
        templates = SpectralTemplates.compute_magnetic_moment(
            measurement.nh_edges, load_nh_response(), measurement.background_matrix,
            measurement.background_names)
    return measurement, templates


def em_counts(templates, p_nodes, mu2_flavour, flux=None):
    """EM counts per bin: magnetic_counts minus the same without moments."""
    n_bkg = len(templates.background_names)
    flux = flux if flux is not None else np.array(
        [[FLUX_7BE if name == "flux_7be_cm2s" else FLUX_PP]
         for name in templates.flux_parameters])

    def counts(mu2):
        return templates.magnetic_counts(flux, p_nodes, np.asarray(mu2, float)[:, None],
                                         np.zeros((n_bkg, 1)), np.zeros((3, 1)))[0]

    return counts(mu2_flavour) - counts([0.0, 0.0, 0.0])


def only_source(templates, name, p):
    """P_ea (n_nodes, 3, 1): ``p`` at the nodes of source ``name``, zero elsewhere."""
    nodes = np.zeros((templates.node_energies_MeV.size, 3, 1))
    nodes[[s == name for s in templates.node_sources], :, 0] = p
    return nodes


def test_862_line_em_spectrum_against_direct_integral(magnetic):
    """862 keV 7Be EM counts per bin, flavour-dependent moments: the templates against the
    cross section folded with the response on a fine T grid, with mu_eff^2 = sum_a P_ea
    mu_a^2 (the decoherent sum, docs/physics.md sec. 10)."""
    _, templates = magnetic
    p = np.array([0.52, 0.21, 0.27])
    mu2 = np.array([4.0, 1.0, 9.0]) * 1e-22           # (mu_a / mu_B)^2
    counts = em_counts(templates, only_source(templates, "be7_862", p), mu2)
    energy = BE7_862.energy_MeV
    T = np.geomspace(0.02, 2 * energy**2 / (M_E + 2 * energy), 40001)
    response = load_nh_response().bin_probabilities(T, templates.nh_edges)
    scale = FLUX_7BE * BE7_862.branching * COUNTS_PER_CM2_FLUX * float(p @ mu2)
    direct = scale * np.trapezoid(em_cross_section(T, energy)[:, None] * response, T, axis=0)
    assert direct.sum() > 100  # a moment of ~3e-11 mu_B adds a visible number of counts
    np.testing.assert_allclose(counts, direct, atol=2e-5 * direct.max())


def test_pp_em_spectrum_against_direct_double_integral(magnetic):
    """pp EM counts per bin at constant P_ea (exact in the node representation) against a
    direct double integral over the neutrino and recoil energies on fine grids."""
    _, templates = magnetic
    pp = next(s for s in SOLAR_SOURCES if s.name == "pp")
    p = np.array([0.55, 0.2, 0.25])
    counts = em_counts(templates, only_source(templates, "pp", p), np.full(3, 1e-21))
    E = np.linspace(1e-3, pp.max_energy_MeV, 4001)
    T = np.geomspace(0.02, 2 * E[-1]**2 / (M_E + 2 * E[-1]), 3001)
    density = np.trapezoid(pp.density_per_MeV(E) * em_cross_section(T[:, None], E), E, axis=1)
    response = load_nh_response().bin_probabilities(T, templates.nh_edges)
    direct = FLUX_PP * COUNTS_PER_CM2_FLUX * p.sum() * 1e-21 * np.trapezoid(
        density[:, None] * response, T, axis=0)
    assert direct.sum() > 10
    assert counts.sum() == pytest.approx(direct.sum(), rel=1e-3)
    np.testing.assert_allclose(counts, direct, atol=1e-3 * direct.max())


def test_zprime_and_magnetic_templates_are_told_apart(magnetic):
    _, templates = magnetic
    args = (np.ones((len(templates.flux_parameters), 1)),
            np.zeros((templates.node_energies_MeV.size, 3, 1)))
    with pytest.raises(ValueError, match="magnetic_counts"):
        templates.expected_counts(0, *args, np.zeros(1), np.zeros((7, 1)), np.zeros((3, 1)))


# --- a fit of Asimov data ------------------------------------------------------------------

def test_moment_fit_of_asimov_data_is_half_normal_with_fisher_width(tmp_path, cli):
    """Asimov counts without a moment, every nuisance held at its prior centre: the
    likelihood of mu^2 is Gaussian at 0 with the Fisher width sigma^-2 = sum_b (d mu_b /
    d mu^2)^2 / mu_b, so under the prior flat in mu^2 >= 0 the posterior is half-normal and
    its 90% quantile is mu^2 = 1.645 sigma, where the profile likelihood crosses 2.7055."""
    doc = {"schema_version": 1, "name": "moment-fit",
           "physics": {"model": "magnetic-moment", "moments": "universal",
                       "flavour_model": "decoherent-msw"},
           "priors": {"files": SPECTRAL_PRIORS},
           "measurements": [SPECTRUM],
           "sampler": {"seed": 5, "n_walkers": 56},
           "output": {"directory": str(tmp_path / "out")}}
    plan = config_from_dict(doc, REPO).plan
    posterior = plan.posterior()
    centres = posterior.priors.centres()

    def counts(mu2_1e22):
        row = np.array([mu2_1e22] + [centres[n] for n in posterior.nuisance_names])
        return posterior.expected_counts(row, 0)["Phase-II spectrum"][0]

    doc["priors"]["fixed"] = list(posterior.nuisance_names)
    rows = fit_asimov(cli, tmp_path, doc, counts(0.0),
                      {"seed": 5, "n_walkers": 8, "n_ensembles": 2, "max_steps": 6000,
                       "min_ess": 3000, "min_kept_tau": 10, "checkpoint_interval_s": 0.0})
    assert rows["mu_universal"]["converged"]

    mu = counts(0.0)
    slope = counts(1.0) - mu        # the counts are linear in mu^2 [(1e-11 mu_B)^2]
    sigma = 1 / np.sqrt(np.sum(slope**2 / mu))
    expected_muB = np.sqrt(1.6449 * sigma) * 1e-11
    assert rows["mu_universal"]["upper_muB"] == pytest.approx(expected_muB, rel=0.03)
    assert rows["mu_eff"]["upper_muB"] == pytest.approx(rows["mu_universal"]["upper_muB"],
                                                        rel=1e-6)
    # the profile of -2 ln L in mu^2 (nothing else free) crosses 2.7055 = 1.6449^2 at
    # 1.6449 sigma of the Fisher width (Poisson: quadratic to O(added / expected counts));
    # no MC error
    for name in ("mu_universal", "mu_eff"):
        assert rows[name]["upper_profile_muB"] == pytest.approx(expected_muB, rel=0.005)
    # the run draws its spectrum with the counts the moment adds at the limit
    assert (tmp_path / "run" / "spectrum_fit.png").stat().st_size > 10_000
    np.testing.assert_allclose(posterior.new_physics.coordinates({"mu_universal": 3e-11}),
                               [9.0], rtol=1e-12)   # (3e-11 mu_B / 1e-11 mu_B)^2
