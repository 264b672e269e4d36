"""The low-energy response of the physics threshold backgrounds (width scale and offset of the
14C light, mcprop.physics.threshold_backgrounds) and the 14C normalised by its activity,
against closed forms and direct integrals."""

import numpy as np
import pytest
import tomli_w
from conftest import SPECTRAL_PRIORS, SPECTRUM, one_line_error
from scipy.integrate import quad
from scipy.special import ndtr

from mcprop.inference.spectrum import borexino_phase2_spectrum
from mcprop.physics.constants import SECONDS_PER_DAY
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.threshold_backgrounds import (
    C14_ACTIVITY_BQ_PER_100T,
    C14_Q_MEV,
    C14BetaSpectrum,
    physics_threshold_rates,
    pileup_shape,
)


class _Line:
    """A mono-energetic 'spectrum' at T [MeV], with the nodes() interface of C14BetaSpectrum."""

    def __init__(self, T_MeV):
        self.T_MeV = T_MeV

    def nodes(self):
        return np.array([self.T_MeV]), np.array([1.0])


@pytest.mark.parametrize("width_scale", [0.0, 0.1, 0.3])
def test_pileup_of_a_line_is_a_gaussian_of_the_scaled_width_at_twice_its_light(width_scale):
    response = load_nh_response()
    T = 0.12
    light = float(response.nominal_nh(T))
    nh = np.arange(-100, 300)
    shape = pileup_shape(response.shifted(resolution_scale=width_scale), nh,
                         spectrum=_Line(T))
    # sum of two lights on the 0.05 N_h grid (rounding: +-0.05), Gaussian of width
    # (1 + w) sigma(2 L), integrated over unit bins (variance + 1/12)
    sigma = (1 + width_scale) * float(response.nominal_width(2 * light))
    assert shape.sum() == pytest.approx(1.0, rel=1e-9)
    mean = nh @ shape
    assert mean == pytest.approx(2 * light, abs=0.06)
    assert ((nh - mean) ** 2) @ shape == pytest.approx(sigma**2 + 1 / 12, rel=2e-3)


@pytest.mark.parametrize("width_scale, offset_nh", [(0.0, 0.0), (0.1, 0.0), (0.0, 3.5),
                                                     (-0.05, 5.0)])
def test_c14_counts_above_a_threshold_at_the_activity_are_the_direct_integral(width_scale,
                                                                              offset_nh):
    response = load_nh_response()
    nh = np.arange(93, 951)
    rates = physics_threshold_rates(response, nh, {"c14": np.ones(nh.size)},
                                    width_scale=width_scale, offset_nh=offset_nh,
                                    c14_normalisation="activity")["c14"]
    spectrum = C14BetaSpectrum()
    a, b, c = response.nh_sigma_coefficients

    def above(T):       # P(N_h >= 92.5) for an electron T: Gaussian, width at the nominal N_h
        n = float(response.nominal_nh(T))
        width = (1 + width_scale) * (a + b * np.sqrt(max(n, 0.0)) + c * max(n, 0.0))
        return 1.0 - ndtr((92.5 - n - offset_nh) / width)

    fraction, _ = quad(lambda T: spectrum.density_per_MeV(T) * above(T), 0.0, C14_Q_MEV,
                       limit=400, epsabs=0, epsrel=1e-10)
    # the tail above N_h 950 is nil
    assert rates.sum() == pytest.approx(C14_ACTIVITY_BQ_PER_100T * SECONDS_PER_DAY * fraction,
                                        rel=1e-5)


def test_c14_tail_grows_with_the_low_energy_width_and_offset_and_pileup_keeps_its_counts():
    response = load_nh_response()
    nh = np.arange(93, 951)
    reference = {"c14": np.full(nh.size, 2.0), "pileup": np.full(nh.size, 3.0)}
    at = {(w, o): physics_threshold_rates(response, nh, reference, width_scale=w, offset_nh=o,
                                          c14_normalisation="activity")
          for w, o in ((0.0, 0.0), (0.1, 0.0), (0.0, 3.5))}
    # a 3-5 sigma tail: 10% more width or 3.5 N_h more light raise it by a factor 2-4
    for changed in ((0.1, 0.0), (0.0, 3.5)):
        assert 1.8 < at[changed]["c14"].sum() / at[0.0, 0.0]["c14"].sum() < 5
    for rates in at.values():     # the pile-up is scaled to the reference's counts
        assert rates["pileup"].sum() == pytest.approx(3.0 * nh.size)
    borexino_fit = physics_threshold_rates(response, nh, reference)
    assert borexino_fit["c14"].sum() == pytest.approx(2.0 * nh.size)
    with pytest.raises(ValueError, match="14C normalisation 'absolute'"):
        physics_threshold_rates(response, nh, reference, c14_normalisation="absolute")


def test_activity_normalisation_reaches_the_measurement():
    kwargs = dict(threshold_tilt=False, threshold_backgrounds="physics")
    activity = borexino_phase2_spectrum(93, 947, 5, c14_normalisation="activity",
                                        threshold_offset_nh=3.5, **kwargs)
    direct = physics_threshold_rates(load_nh_response(), np.arange(93, 951),
                                     {"c14": np.ones(858)}, offset_nh=3.5,
                                     c14_normalisation="activity")["c14"]
    row = activity.background_names.index("c14")
    assert activity.background_shapes.counts[row].sum() == pytest.approx(
        direct.sum() * activity.exposure_day_100t)


@pytest.mark.parametrize("keys, needle", [
    ({"threshold_offset_nh": 50.0}, "threshold_offset_nh"),
    ({"c14_normalisation": "bq"}, "c14_normalisation"),
    ({"threshold_backgrounds": "digitised", "threshold_width_scale": 0.1},
     "threshold_width_scale: needs threshold_backgrounds"),
    ({"threshold_backgrounds": "digitised", "threshold_offset_nh": 3.5},
     "threshold_offset_nh: needs threshold_backgrounds")])
def test_bad_low_energy_keys_are_one_line(cli, tmp_path, keys, needle):
    doc = {"schema_version": 1, "name": "bad-low-energy",
           "physics": {"model": "standard-model", "flavour_model": "decoherent-vacuum"},
           "priors": {"files": SPECTRAL_PRIORS},
           "measurements": [{**SPECTRUM, **keys}]}
    config = tmp_path / "bad.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    result = cli("run", config, "--out", tmp_path / "run", "--quiet")
    one_line_error(result, str(config), needle)
    assert not (tmp_path / "run").exists()
