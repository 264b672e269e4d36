"""The calibrated N_h response, the response nuisances acting on the background shapes, and
the goodness of fit of Borexino's own model, each against numbers computed here."""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm, poisson

from mcprop.inference.spectrum import borexino_phase2_spectrum
from mcprop.physics.nh_response import RESPONSE_STEPS, BackgroundShapes, load_nh_response
from mcprop.physics.scattering import LMU_LTAU
from mcprop.physics.solar_spectra import SOLAR_SOURCES
from mcprop.physics.spectral import SpectralTemplates

DATA = Path(__file__).resolve().parents[2] / "mcprop" / "physics" / "data"
#: The response of P. Coloma et al., JHEP 07 (2022) 138, arXiv:2204.03011 (their eq. for
#: N_h(T) and sigma(N_h)), and the calibration's result on it (energy scale, offset [N_h],
#: width scale; scripts/calibrate_response.py, docs/physics.md sec. 11).
COLOMA_MEAN = (-8.065244, 493.2560, -64.09629, 4.146102)
COLOMA_SIGMA = (1.21974, 1.31394, -0.0148585)
CALIBRATION = (0.00977, -2.149, 0.0266)


def test_calibrated_response_against_coloma_with_the_calibration_folded_in():
    """Width at N_h 100, 292 and 600 and mean at 0.2, 0.665 (the 7Be edge) and 1.2 MeV of the
    default response: Coloma et al.'s with the calibrated scale, offset and width scale."""
    response = load_nh_response()
    s, o, r = CALIBRATION
    for nh in (100.0, 292.0, 600.0):
        coloma = COLOMA_SIGMA[0] + COLOMA_SIGMA[1] * np.sqrt(nh) + COLOMA_SIGMA[2] * nh
        assert float(response.nominal_width(nh)) == pytest.approx((1 + r) * coloma, rel=2e-4)
    for T in (0.2, 0.665, 1.2):
        coloma = sum(c * T**k for k, c in enumerate(COLOMA_MEAN))
        mean, _ = response.mean_and_width(np.array(T))
        assert float(mean) == pytest.approx((1 + s) * coloma + o, abs=0.02)
    assert load_nh_response("coloma2022").nh_sigma_coefficients == COLOMA_SIGMA


@pytest.fixture(scope="module")
def templates_with_shapes():
    """Templates of the pep line (a cheap solar part) with Borexino's background shapes
    following the response, N_h 100-949 in unit bins."""
    measurement = borexino_phase2_spectrum(100, 949, 1)
    pep = [s for s in SOLAR_SOURCES if s.name == "pep"]
    templates = SpectralTemplates.compute([1.0], LMU_LTAU, measurement.nh_edges,
                                          measurement.response,
                                          measurement.background_shapes,
                                          measurement.background_names, sources=pep)
    return measurement, templates


def direct_smearing(nh, counts, sigma, resolution_scale, nh_out):
    """Counts in the unit bins ``nh_out`` of unit-bin ``counts`` at ``nh``, each spread by a
    Gaussian of variance sigma(N)^2 ((1 + r)^2 - 1), integrated over each output bin."""
    width = sigma(nh) * np.sqrt((1 + resolution_scale) ** 2 - 1)
    out = np.zeros(len(nh_out))
    for j, centre in enumerate(nh_out):
        out[j] = np.sum(counts * (norm.cdf(centre + 0.5, nh, width)
                                  - norm.cdf(centre - 0.5, nh, width)))
    return out


def test_resolution_nuisance_broadens_the_backgrounds_by_the_added_variance(
        templates_with_shapes):
    """At r = +1 step the 210Po and 85Kr shapes of the templates equal a direct Gaussian
    smearing of Borexino's unit-bin shapes by sqrt(sigma'^2 - sigma^2) (1e-6 of the peak,
    from N_h 120 on, away from the shapes' extrapolation below N_h 93);
    smearing by twice that variance (a mutation doubling the nuisance's effect) is off by
    far more."""
    measurement, templates = templates_with_shapes
    shapes = measurement.background_shapes
    r = RESPONSE_STEPS[2]
    smeared = templates.background_shapes(np.array([[0.0], [0.0], [r]]))[0]
    nominal = templates.background_shapes(np.zeros((3, 1)))[0]
    nh_out = np.arange(120, 950)
    smeared, nominal = smeared[:, 20:], nominal[:, 20:]
    sigma = measurement.response.nominal_width
    for name in ("po210", "kr85"):
        k = measurement.background_names.index(name)
        direct = direct_smearing(shapes.nh, shapes.counts[k], sigma, r, nh_out)
        doubled = direct_smearing(shapes.nh, shapes.counts[k], sigma,
                                  np.sqrt(1 + 2 * ((1 + r) ** 2 - 1)) - 1, nh_out)
        scale = direct.max()
        assert np.max(np.abs(smeared[k] - direct)) < 1e-6 * scale
        assert np.max(np.abs(doubled - direct)) > 100 * np.max(np.abs(smeared[k] - direct))
        assert np.max(np.abs(smeared[k] - nominal[k])) > 1e-3 * scale


def test_offset_nuisance_moves_the_backgrounds(templates_with_shapes):
    """An offset of one step (1 N_h) moves every background shape by exactly one unit bin."""
    measurement, templates = templates_with_shapes
    shapes = measurement.background_shapes
    moved = templates.background_shapes(np.array([[0.0], [RESPONSE_STEPS[1]], [0.0]]))[0]
    assert RESPONSE_STEPS[1] == 1.0
    nh = shapes.nh.astype(int)
    expected = shapes.counts[:, np.searchsorted(nh, np.arange(99, 949))]  # N - 1 -> N
    np.testing.assert_allclose(moved, expected, rtol=0, atol=1e-8 * expected.max())


def test_response_nuisances_act_alike_on_solar_and_background_shapes():
    """A background shape that is a solar template (the pep counts folded with the response)
    follows the response nuisances as the pep template itself does: at an offset and width
    change within the priors the two agree to 2 % of the change."""
    edges = np.arange(300, 701) - 0.5  # around the pep edge (N_h ~ 560)
    pep = [s for s in SOLAR_SOURCES if s.name == "pep"]
    response = load_nh_response()
    fine = np.arange(260, 741)
    fine_edges = np.append(fine - 0.5, fine[-1] + 0.5)
    as_solar = SpectralTemplates.compute([1.0], LMU_LTAU, fine_edges, response,
                                         np.zeros((0, fine.size)), (), sources=pep)
    p = np.full((as_solar.node_energies_MeV.size, 3, 1), 0.0)
    p[:, 0] = 1.0
    flux = np.array([[1.4e8]])

    def solar(templates, shifts):
        return templates.expected_counts(0, flux, p, np.zeros(1), np.zeros((0, 1)),
                                         np.array(shifts, dtype=float)[:, None], False)[0]

    shapes = BackgroundShapes(fine, solar(as_solar, (0, 0, 0))[None])
    templates = SpectralTemplates.compute([1.0], LMU_LTAU, edges, response, shapes, ("pep",),
                                          sources=pep)
    shift = (0.0, 0.5, 0.004)
    background = templates.background_shapes(np.array(shift)[:, None])[0, 0]
    nominal = templates.background_counts[0]
    solar_shifted = solar(as_solar, shift)[40:-41]
    change = np.abs(solar_shifted - nominal).max()
    assert change > 1e-3 * nominal.max()
    assert np.abs(background - solar_shifted).max() < 0.02 * change


def test_borexino_deviance_on_the_bins_against_a_direct_computation():
    """Poisson deviance of Borexino's best-fit model (the package's spectrum table, the Fig. 6a
    total where the table has none) on N_h 100-949 in bins of 5, as -2 ln of the Poisson
    likelihood ratio to the saturated model (scipy)."""
    def table(name):
        lines = [line for line in (DATA / name).read_text().splitlines()
                 if line and not line.startswith("#")]
        header = lines[0].split(",")
        return dict(zip(header, np.array([line.split(",") for line in lines[1:]],
                                         dtype=float).T, strict=True))

    spectrum = table("borexino_phase2_spectrum.csv")
    components = table("borexino_phase2_backgrounds.csv")
    exposure = 582.326
    total = dict(zip(components["nh"].astype(int),
                     exposure * sum(v for k, v in components.items() if k != "nh"),
                     strict=True))
    nh, counts, model = spectrum["nh"].astype(int), spectrum["counts"], spectrum["best_fit_counts"]
    model = np.array([m if np.isfinite(m) else total.get(n, np.nan)
                      for n, m in zip(nh, model, strict=True)])
    keep = (nh >= 100) & (nh <= 949)
    n = counts[keep].reshape(-1, 5).sum(axis=1)
    mu = model[keep].reshape(-1, 5).sum(axis=1)
    direct = 2 * np.sum(poisson.logpmf(n, n) - poisson.logpmf(n, mu))
    measurement = borexino_phase2_spectrum(100, 949, 5)
    assert measurement.n_bins == 170
    assert measurement.reference_deviance == pytest.approx(direct, rel=1e-9)
    assert 150 < direct < 250
