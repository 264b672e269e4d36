"""The 14C beta spectrum and its pile-up (mcprop.physics.threshold_backgrounds) against
closed forms and a second method, and the ``threshold_backgrounds`` key of a spectrum."""

import numpy as np
import pytest
import tomli_w
from conftest import SPECTRAL_PRIORS, SPECTRUM, one_line_error
from scipy.integrate import quad

from mcprop.inference.spectrum import borexino_phase2_spectrum
from mcprop.physics.borexino_phase2 import load_borexino_phase2
from mcprop.physics.constants import ALPHA_EM, M_ELECTRON_MEV
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.threshold_backgrounds import (
    C14_Q_MEV,
    C14BetaSpectrum,
    c14_light_spectrum,
    c14_rates_cpd100t,
    fermi_function,
    pileup_rate_cpd100t,
    pileup_shape,
)


@pytest.mark.parametrize("q_MeV, mean_fraction, tolerance", [
    # Q << m_e: p E ~ m_e sqrt(2 m_e T), the spectrum sqrt(T) (Q - T)^2, a Beta(3/2, 3)
    # distribution in T/Q of mean 3/2 / (3/2 + 3) = 1/3 (corrections O(Q/m_e))
    (1e-4, 1 / 3, 2e-4),
    # Q >> m_e: p E ~ T^2, the spectrum T^2 (Q - T)^2, symmetric: mean Q/2 (O(m_e/Q))
    (200.0, 1 / 2, 5e-3)])
def test_allowed_shape_without_coulomb_has_the_closed_form_means(q_MeV, mean_fraction,
                                                                  tolerance):
    spectrum = C14BetaSpectrum(q_MeV=q_MeV, shape_factor_a=0.0, daughter_z=0)
    assert spectrum.mean_kinetic_energy_MeV() / q_MeV == pytest.approx(mean_fraction,
                                                                       rel=tolerance)


def test_fermi_function_limits():
    assert fermi_function(0.1, Z=0) == pytest.approx(1.0)
    # slow electron: 2 pi eta / (1 - exp(-2 pi eta)) -> 2 pi eta, eta = alpha Z E / p
    T = 1e-5
    E = T + M_ELECTRON_MEV
    eta = ALPHA_EM * 7 * E / np.sqrt(E**2 - M_ELECTRON_MEV**2)
    assert fermi_function(T) == pytest.approx(2 * np.pi * eta, rel=1e-6)


def test_c14_spectrum_mean_and_endpoint():
    # Allowed shape with the Coulomb correction: mean kinetic energy 49.47 keV, the ENSDF
    # (NNDC) evaluation for 14C (allowed shape; quoted from memory, not re-read). Without the
    # Fermi function the mean is 4% higher, so this tests it.
    allowed = C14BetaSpectrum(shape_factor_a=0.0)
    assert allowed.mean_kinetic_energy_MeV() * 1e3 == pytest.approx(49.47, rel=3e-3)
    assert C14BetaSpectrum(shape_factor_a=0.0, daughter_z=0).mean_kinetic_energy_MeV() \
        * 1e3 > 51.0
    # the density vanishes at and beyond Q like (Q - T)^2, and integrates to 1
    spectrum = C14BetaSpectrum()
    d = 1e-4
    assert spectrum.density_per_MeV(C14_Q_MEV) == 0.0
    assert spectrum.density_per_MeV(C14_Q_MEV + d) == 0.0
    ratio = spectrum.density_per_MeV(C14_Q_MEV - d) / spectrum.density_per_MeV(C14_Q_MEV - 2 * d)
    assert ratio == pytest.approx(0.25, rel=2e-3)
    total, _ = quad(spectrum.density_per_MeV, 0.0, C14_Q_MEV, limit=200)
    assert total == pytest.approx(1.0, rel=1e-8)
    # a negative shape factor moves weight to low energies
    assert spectrum.mean_kinetic_energy_MeV() < allowed.mean_kinetic_energy_MeV()


def test_folded_c14_keeps_the_activity_and_falls_like_a_gaussian_tail():
    response = load_nh_response()
    nh = np.arange(-60, 200)
    rates = c14_rates_cpd100t(response, nh, activity_Bq_per_100t=40.0)
    assert rates.sum() == pytest.approx(40.0 * 86400, rel=1e-6)
    # far above the endpoint N_h(Q) ~ 66, the tail of the Gaussian of the endpoint region:
    # d ln(rate) / dN ~ -(N - N_end) / sigma^2, within the spread of the endpoint region
    n = 110
    slope = np.log(rates[nh == n + 1] / rates[nh == n - 1])[0] / 2
    end = float(response.nominal_nh(C14_Q_MEV))
    sigma = float(response.nominal_width(end))
    assert -slope == pytest.approx((n - end) / sigma**2, rel=0.3)


def test_pileup_shape_is_the_self_convolution_of_the_light():
    response = load_nh_response()
    nh = np.arange(-60, 400)
    shape = pileup_shape(response, nh)
    assert shape.sum() == pytest.approx(1.0, rel=1e-6)
    # means add under a convolution: the pair's mean light is twice one decay's
    spectrum = C14BetaSpectrum()
    one, _ = quad(lambda T: max(float(response.nominal_nh(T)), 0.0)
                  * spectrum.density_per_MeV(T), 0.0, C14_Q_MEV, limit=200)
    assert nh @ shape == pytest.approx(2 * one, abs=0.05)
    grid, cells = c14_light_spectrum(response)
    assert grid @ cells == pytest.approx(one, abs=0.03)
    # with other events, they enter with their share 2 R_X / (R_14C + 2 R_X)
    other = np.zeros(nh.size)
    other[nh == 300] = 1000.0
    mixed = pileup_shape(response, nh, other, nh, c14_rate_cpd100t=1e6)
    share = 2e3 / (1e6 + 2e3)
    assert mixed[nh > 280].sum() == pytest.approx(share, rel=1e-3)
    assert nh[nh > 280] @ mixed[nh > 280] / share == pytest.approx(300 + one, abs=0.1)


def test_pileup_rate_against_a_simulated_poisson_process():
    rng = np.random.default_rng(7)
    rate, window = 1000.0, 1e-4                           # R window = 0.1
    times = np.cumsum(rng.exponential(1 / rate, 400_000))
    followed = np.mean(np.diff(times) < window)           # fraction followed within window
    expected = pileup_rate_cpd100t(1.0, rate, window)
    assert followed == pytest.approx(expected, abs=4 * np.sqrt(expected / 400_000))
    assert pileup_rate_cpd100t(3.0e6, 100.0, 1e-9) == pytest.approx(3.0e6 * 100.0 * 1e-9,
                                                                     rel=1e-6)


def test_physics_model_in_the_measurement_keeps_borexinos_rates_and_changes_the_shapes():
    data = load_borexino_phase2()
    digitised = borexino_phase2_spectrum(93, 947, 5, threshold_backgrounds="digitised")
    physics = borexino_phase2_spectrum(93, 947, 5, threshold_backgrounds="physics",
                                       c14_normalisation="borexino-fit")
    for name in ("c14", "pileup"):
        # normalisation 1 is Borexino's fitted rate over the table's N_h 93-950
        assert physics.background_shapes.counts[physics.background_names.index(name)].sum() \
            == pytest.approx(data.background_rates[name].sum() * data.exposure_day_100t)
        assert not np.allclose(physics.background_counts[name],
                               digitised.background_counts[name], rtol=0.05)
    for name in ("po210", "kr85", "bi210"):
        np.testing.assert_array_equal(physics.background_counts[name],
                                      digitised.background_counts[name])
    with pytest.raises(ValueError, match="threshold-background model 'fitted'"):
        borexino_phase2_spectrum(100, 949, 5, threshold_backgrounds="fitted")


def test_bad_threshold_model_is_one_line(cli, tmp_path):
    doc = {"schema_version": 1, "name": "bad-threshold",
           "physics": {"model": "standard-model", "flavour_model": "decoherent-vacuum"},
           "priors": {"files": SPECTRAL_PRIORS},
           "measurements": [{**SPECTRUM, "threshold_backgrounds": "analytic"}]}
    config = tmp_path / "bad.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    result = cli("run", config, "--out", tmp_path / "run", "--quiet")
    one_line_error(result, str(config), "measurements[0].threshold_backgrounds", "analytic",
                   "physics")
    assert not (tmp_path / "run").exists()
