"""Context curves on limit plots: converted package data and the drawing."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import assert_one_line_error  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.integrate import quad  # noqa: E402

from mcprop.interface.context import CONTEXT_CURVES, draw_context  # noqa: E402
from mcprop.physics.constants import M_MUON_MEV  # noqa: E402


def _log_interp(mass_MeV, masses, g):
    return float(np.exp(np.interp(np.log(mass_MeV), np.log(masses), np.log(g))))


@pytest.mark.parametrize("mass_MeV, expected", [(10.0, 8.2e-4), (100.0, 1.1e-3),
                                                (1000.0, 2.7e-3)])
def test_ccfr_values_in_MeV(mass_MeV, expected):
    """CCFR trident values quoted in shared/data/constraints/README.md (Altmannshofer et al.,
    PRL 113, 091801 (2014)): g ~ 8.2e-4 at 10 MeV, 1.1e-3 at 100 MeV, 2.7e-3 at 1 GeV."""
    (masses, g), = CONTEXT_CURVES["ccfr"].segments()
    assert _log_interp(mass_MeV, masses, g) == pytest.approx(expected, rel=0.05)


def test_ccfr_mass_range_in_MeV():
    (masses, _), = CONTEXT_CURVES["ccfr"].segments()
    assert masses[0] == pytest.approx(1.0)          # 0.001 GeV in the source
    assert masses[-1] == pytest.approx(3.16228e6)   # 3162.28 GeV
    assert np.all(np.diff(masses) > 0)


def test_babar_range_gap_and_no_closing_rows():
    """BaBar, PRD 94, 011102 (2016): 0.214 to 7.7 GeV; the Darkcast g = 1e5 rows close the
    region at both ends and open one gap at 309.62 MeV."""
    segments = CONTEXT_CURVES["babar"].segments()
    assert len(segments) == 2
    (m1, g1), (m2, g2) = segments
    assert m1[0] == pytest.approx(213.71) and m2[-1] == pytest.approx(7681.8)
    assert m1[-1] < 309.62 < m2[0]
    g = np.concatenate([g1, g2])
    assert g.max() < 1.0 and g.min() > 5e-4
    # at 1 GeV BaBar excludes g above ~1e-3 to 2e-3 (Lees et al. 2016, fig. 5)
    assert 7e-4 < _log_interp(1000.0, m2, g2) < 3e-3


@pytest.mark.parametrize("mass_MeV, expected", [
    (0.22756, 5.2844e-05),   # first row of the source: " 2.2756e-04  5.2844e-05"
    (10.21, 6.0442e-04),     # " 1.0210e-02  6.0442e-04"
    (19.08, 1.1367e-03),     # " 1.9080e-02  1.1367e-03"
    (107.9, 6.4399e-03),     # " 1.0790e-01  6.4399e-03"
])
def test_borexino_bfj_points_in_MeV(mass_MeV, expected):
    """Rows of shared/data/constraints/borexino-bfj2018-darkcast-lmu-ltau.lmt (m [GeV], g),
    read from that file by eye: the package curve has them in MeV with g unchanged."""
    (masses, g), = CONTEXT_CURVES["borexino-bfj"].segments()
    k = np.flatnonzero(np.isclose(masses, mass_MeV, rtol=1e-9))
    assert k.size == 1
    assert g[k[0]] == expected


SHARED_LMT = (Path(__file__).resolve().parents[3] / "shared" / "data" / "constraints"
              / "borexino-bfj2018-darkcast-lmu-ltau.lmt")


@pytest.mark.skipif(not SHARED_LMT.exists(), reason="shared data folder not beside the repo")
def test_borexino_bfj_matches_every_source_row_up_to_200_MeV():
    """Every row of the source file up to 0.2 GeV, read here with numpy, is in the package
    curve (x 1000 in mass, g unchanged); none above it is."""
    source = np.loadtxt(SHARED_LMT, comments="#")
    kept = source[source[:, 0] <= 0.2]
    (masses, g), = CONTEXT_CURVES["borexino-bfj"].segments()
    np.testing.assert_allclose(masses, kept[:, 0] * 1000, rtol=1e-12)
    np.testing.assert_allclose(g, kept[:, 1], rtol=1e-12)
    assert len(source) - len(kept) == 15


def test_borexino_bfj_ends_below_the_muon_pair_threshold():
    """The recast is used up to 200 MeV (199.18 MeV is the last source row below it); the
    rows at 100 and 200 GeV of the source (g = 1.3979e3, 6.6653e3) are end markers."""
    (masses, g), = CONTEXT_CURVES["borexino-bfj"].segments()
    assert masses[0] == pytest.approx(0.22756) and masses[-1] == pytest.approx(199.18)
    assert np.all(np.diff(masses) > 0) and g.max() == pytest.approx(1.1215e-2)


def test_amaral_marker_on_the_2021_band_centre():
    """Amaral et al., arXiv:2006.11225 (abstract): Borexino excludes the (g-2)_mu explanation
    below 2e-2 GeV. The marker's g gives Delta a_mu = 251e-11 at 20 MeV, checked here by
    adaptive quadrature of the one-loop vector integral (docs/physics.md sec. 11) instead of
    the package's Gauss-Legendre rule."""
    (point,) = CONTEXT_CURVES["amaral"].points
    assert point.mass_MeV == 20.0
    r2 = (point.mass_MeV / M_MUON_MEV) ** 2
    integral = quad(lambda x: x**2 * (1 - x) / (x**2 + (1 - x) * r2), 0, 1)[0]
    assert point.g**2 / (4 * np.pi**2) * integral == pytest.approx(251e-11, rel=1e-6)
    assert "Amaral" in point.label and "no curve" in point.label


def test_cli_accepts_the_borexino_context_names(cli, tiny_run, tmp_path):
    out = tmp_path / "bounds.png"
    result = cli("plot", tiny_run, "--out", out, "--context", "borexino-bfj,amaral")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


def test_cli_refuses_a_near_miss_context_name(cli, tiny_run, tmp_path):
    bad = cli("plot", tiny_run, "--out", tmp_path / "bad.png", "--context", "borexino")
    assert_one_line_error(bad, "--context")
    assert "'borexino'" in bad.stderr and "borexino-bfj" in bad.stderr
    assert not (tmp_path / "bad.png").exists()


def _axes():
    ax = Figure().add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    return ax


def test_draw_context_labels_and_artists():
    ax = _axes()
    handles = draw_context(ax, ["ccfr", "babar", "icecube", "g-2"])
    labels = [h.get_label() for h in handles]
    assert len(handles) == 4
    assert "Altmannshofer" in labels[0] and "digitised" in labels[0]
    assert "Lees" in labels[1] and "digitised" in labels[1]
    assert all("IceCube" in label for label in labels[2:])
    points = {(tuple(h.get_xdata()), tuple(h.get_ydata())) for h in handles[2:]}
    assert points == {((11.0,), (5e-4,)), ((9.0,), (4e-4,))}
    assert {h.get_marker() for h in handles[2:]} == {"+", "x"}
    # one curve line per segment (1 CCFR + 2 BaBar) and two markers; two shaded regions
    assert len(ax.lines) == 5
    assert len(ax.collections) == 2
    legend = ax.legend(handles=handles)
    assert [t.get_text() for t in legend.get_texts()] == labels


def test_shading_does_not_widen_the_data_limits():
    ax = _axes()
    draw_context(ax, ["ccfr"])
    ax.autoscale_view()
    assert ax.get_ylim()[1] < 100  # CCFR reaches g = 5.9; the shading goes to 1e3


def test_g2_only_draws_nothing_and_repeats_are_drawn_once():
    ax = _axes()
    assert draw_context(ax, ["g-2"]) == []
    assert len(draw_context(ax, ["ccfr", "ccfr"])) == 1


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError,
                       match="'lhcb'.*known: ccfr, babar, borexino-bfj, amaral, icecube, g-2"):
        draw_context(_axes(), ["ccfr", "lhcb"])
