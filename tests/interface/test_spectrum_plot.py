"""The spectrum figure and the Poisson deviance."""

import math

import matplotlib.image as mpimg
import numpy as np
import pytest
from scipy.stats import poisson

from mcprop.inference.spectrum import borexino_phase2_spectrum, poisson_deviance
from mcprop.interface.plots import DPI, SPECTRUM_FIGSIZE_IN, save_figure, spectrum_figure
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.scattering import LMU_LTAU, coupling_product_MeV2
from mcprop.physics.spectral import SpectralTemplates

#: B16-GS98 fluxes [cm^-2 s^-1], N. Vinyoles et al., ApJ 835, 202 (2017), Table 6.
B16_GS98 = {"flux_pp_cm2s": 5.98e10, "flux_7be_cm2s": 4.93e9, "flux_pep_cm2s": 1.44e8,
            "flux_n13_cm2s": 2.78e8, "flux_o15_cm2s": 2.05e8, "flux_f17_cm2s": 5.28e6,
            "flux_b8_cm2s": 5.46e6}


def test_deviance_by_hand_and_against_scipy():
    """2 sum [mu - n + n ln(n/mu)], written out for three bins (n = 0 adds 2 mu), and as
    -2 ln of the likelihood ratio to the saturated model (scipy's Poisson pmf)."""
    n, mu = [0, 1, 4], [0.5, 2.0, 3.0]
    by_hand = 2 * ((0.5 - 0) + (2.0 - 1 + 1 * math.log(1 / 2.0))
                   + (3.0 - 4 + 4 * math.log(4 / 3.0)))
    assert poisson_deviance(n, mu) == pytest.approx(by_hand, rel=1e-14)
    assert by_hand == pytest.approx(1.9151622, rel=1e-7)
    rng = np.random.default_rng(7)
    counts = rng.poisson(20.0, 50)
    expected = rng.uniform(10.0, 30.0, (3, 50))
    saturated = poisson.logpmf(counts, np.maximum(counts, 1e-300)).sum()
    np.testing.assert_allclose(poisson_deviance(counts, expected),
                               2 * (saturated - poisson.logpmf(counts, expected).sum(axis=1)),
                               rtol=1e-10)
    for bad in ([1.0, 0.0, 1.0], [1.0, np.nan, 1.0], [1.0, 1.0]):
        with pytest.raises(ValueError):
            poisson_deviance([1, 2, 3], bad)


@pytest.fixture(scope="module")
def best_fit():
    """Borexino Phase II at N_h 110-949 in 5-N_h bins: B16-GS98 fluxes, background norms 1
    (Borexino's fitted backgrounds), P_ee = 0.55 at every node (the rest 45:55 mu:tau)."""
    measurement = borexino_phase2_spectrum(110, 949, 5, threshold_tilt=False)
    templates = SpectralTemplates.compute([0.5], LMU_LTAU, measurement.nh_edges,
                                          load_nh_response(), measurement.background_matrix,
                                          measurement.background_names)
    flux = np.array([[B16_GS98[name]] for name in templates.flux_parameters])
    p = np.tile(np.array([0.55, 0.2025, 0.2475])[None, :, None],
                (templates.node_energies_MeV.size, 1, 1))
    n_bkg = len(templates.background_names)

    def components(g):
        return {name: counts[0] for name, counts in templates.component_counts(
            0, flux, p, coupling_product_MeV2(np.array([g])), np.ones((n_bkg, 1)),
            np.zeros((3, 1))).items()}
    return measurement, components(0.0), components(5e-5)


def test_spectrum_figure_at_borexino_best_fit(best_fit, tmp_path):
    measurement, components, with_zprime = best_fit
    total = sum(components.values())
    zprime = sum(with_zprime.values())
    fig = spectrum_figure(measurement.nh_edges, measurement.counts, components,
                          "Borexino Phase II at the SSM", new_physics_counts=zprime)
    top, bottom = fig.axes
    assert top.get_yscale() == "log"
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    for label in ("data", "total model", "pp", r"$^{7}$Be", "pep", "CNO", r"$^{8}$B",
                  r"$^{14}$C", "pile-up", r"$^{210}$Po", r"$^{85}$Kr", r"$^{210}$Bi",
                  r"$^{11}$C", r"external $\gamma$", "Z' excess over the model"):
        assert label in labels
    lines = {line.get_label(): line for line in top.get_lines()}
    np.testing.assert_allclose(lines["total model"].get_ydata(), total)
    excess = lines["Z' excess over the model"].get_ydata()
    drawn = np.isfinite(excess)
    assert drawn.any()
    np.testing.assert_allclose(excess[drawn], (zprime - total)[drawn])
    residuals, = (line.get_ydata() for line in bottom.get_lines() if line.get_marker() == "o")
    np.testing.assert_allclose(residuals, (measurement.counts - total) / np.sqrt(total))
    # deviance per bin on the figure; Borexino's own best fit gives 1.00 per bin, the SSM
    # with fixed inputs and these templates a little more
    deviance = poisson_deviance(measurement.counts, total) / measurement.n_bins
    assert 1.0 < deviance < 1.5
    texts = [t.get_text() for t in bottom.texts]
    assert any(f"Poisson deviance / bin = {deviance:.3f} (168 bins)" in t for t in texts)
    out = tmp_path / "spectrum.png"
    save_figure(fig, out)
    height, width = mpimg.imread(out).shape[:2]
    assert (width, height) == (round(SPECTRUM_FIGSIZE_IN[0] * DPI),
                               round(SPECTRUM_FIGSIZE_IN[1] * DPI))


def test_spectrum_figure_rejects_bad_input(best_fit):
    measurement, components, _ = best_fit
    edges, counts = measurement.nh_edges, measurement.counts
    with pytest.raises(ValueError, match="observed counts"):
        spectrum_figure(edges, counts[:-1], components, "t")
    with pytest.raises(ValueError, match="component 'pp'"):
        spectrum_figure(edges, counts, {**components, "pp": components["pp"][:-1]}, "t")
    with pytest.raises(ValueError, match="no model components"):
        spectrum_figure(edges, counts, {}, "t")
    with pytest.raises(ValueError, match="increasing"):
        spectrum_figure(edges[::-1], counts, components, "t")
    with pytest.raises(ValueError, match="new_physics_counts"):
        spectrum_figure(edges, counts, components, "t", new_physics_counts=counts[:3])


def _recoil_MeV(coefficients, nh):
    """The T [MeV] in 0-5 MeV at which sum_k c_k T^k = nh: the real root of the cubic."""
    roots = np.roots([*coefficients[:0:-1], coefficients[0] - nh])
    real = roots[np.isclose(roots.imag, 0) & (roots.real >= 0) & (roots.real <= 5)].real
    assert real.size == 1
    return real[0]


def test_spectrum_figure_has_a_kev_axis_from_the_response(best_fit):
    """The top axis reads the electron-equivalent energy of an N_h through the calibrated
    response's mean N_h(T): at the plot's two ends (N_h 109.5 and 949.5) it must show the
    roots of the response's cubic, found here by numpy.roots."""
    measurement, components, _ = best_fit
    response = load_nh_response()
    fig = spectrum_figure(measurement.nh_edges, measurement.counts, components, "t",
                          response=response)
    top = fig.axes[0]
    (kev,) = top.child_axes
    assert "keV" in kev.get_xlabel()
    fig.draw_without_rendering()
    low, high = measurement.nh_edges[[0, -1]]
    expected = [1e3 * _recoil_MeV(response.nh_mean_coefficients, nh) for nh in (low, high)]
    np.testing.assert_allclose(kev.get_xlim(), expected, rtol=1e-6)
    assert not spectrum_figure(measurement.nh_edges, measurement.counts, components,
                               "t").axes[0].child_axes
