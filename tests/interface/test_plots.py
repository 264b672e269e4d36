"""`mcprop plot` and `mcprop corner`: the figures they write and the errors they report."""

import hashlib
import json
import tomllib
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pytest
import tomli_w
import xarray as xr
from matplotlib.colors import rgb_to_hsv, to_rgb

import mcprop
from mcprop.errors import UserError
from mcprop.inference.results import ParameterSummary
from mcprop.inference.seed_limits import (
    allowance_curve,
    seed_comparison_curves,
    seed_decoherence_factor,
)
from mcprop.interface.cli import corner_command, plot_command
from mcprop.interface.plots import (
    DPI,
    EXPECTED_COLOURS,
    LIMIT_FIGSIZE_IN,
    N_CURVE_MASSES,
    corner_figure,
    limit_figure,
    profile_label,
    read_overlay,
)
from mcprop.physics.seed_factors import error_treatment_factor

LIMIT_PIXELS = (round(LIMIT_FIGSIZE_IN[1] * DPI), round(LIMIT_FIGSIZE_IN[0] * DPI))


def assert_png(path, shape=None):
    """``path`` decodes as a PNG that is not blank; returns its (height, width)."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    if shape is not None:
        assert image.shape[:2] == shape
    assert image.std() > 0
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20
    return image.shape[:2]


def assert_one_line_error(result, needle):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def results_of(run_dir):
    return [json.loads(p.read_text()) for p in sorted((run_dir / "results").glob("m*.json"))]


@pytest.fixture
def overlay_csv(tmp_path):
    path = tmp_path / "digitised.csv"
    path.write_text("# from a figure\n# second comment\nmass_MeV, g\n0.2, 1e-4\n20, 2e-3\n")
    return path


@pytest.fixture
def equipartition_run(tiny_run, copy_run):
    """A copy of the tiny run renamed 'tiny-eq' whose config says equipartition (the
    manifest records the edited config's sha256, as for a run made so)."""
    run = copy_run(tiny_run)
    config = tomllib.loads((run / "config.toml").read_text())
    config["name"] = "tiny-eq"
    config["physics"]["flavour_model"] = "equipartition"
    document = tomli_w.dumps(config).encode()
    (run / "config.toml").write_bytes(document)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config_sha256"] = hashlib.sha256(document).hexdigest()
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


# --- mcprop plot ---------------------------------------------------------------------------

def test_plot_one_run_default_output(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    (run / "limit_curve.png").unlink()
    result = cli("plot", run)
    assert result.returncode == 0, result.stderr
    assert_png(run / "limit_curve.png", LIMIT_PIXELS)


def test_plot_several_runs_with_overlay_in_cwd(cli, tiny_run, equipartition_run, overlay_csv,
                                               tmp_path):
    result = cli("plot", tiny_run, equipartition_run, "--overlay", f"{overlay_csv}:Digitised",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_png(tmp_path / "limit_curves.png", LIMIT_PIXELS)


def test_plot_pdf(tiny_run, tmp_path):
    mcprop.load(tiny_run).plot(tmp_path / "curve.pdf")
    assert (tmp_path / "curve.pdf").read_bytes().startswith(b"%PDF")


def test_limit_figure_legend(tiny_run, equipartition_run, overlay_csv):
    fig = limit_figure([mcprop.load(tiny_run), mcprop.load(equipartition_run)],
                       [f"{overlay_csv}:Digitised", str(overlay_csv)])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # labelled by their data; the two runs share it, so their names tell them apart
    data = "Borexino Phase-I 7Be 862 keV rate, 90% credible"
    assert f"{data} (tiny)" in labels and f"{data} (tiny-eq)" in labels
    assert not any("first run" in label for label in labels)
    assert labels.count("profile likelihood, 90% CL (tiny)") == 1
    assert "Digitised" in labels and "digitised" in labels
    assert sum("(g-2)" in label for label in labels) == 2
    assert any("2021" in label and "251" in label for label in labels)
    assert any("2025" in label and "38" in label for label in labels)
    assert any("8% allowance" in label for label in labels)
    assert any("1.316" in label and "eq. 6" in label for label in labels)
    decoherent = [label for label in labels if "decoherence" in label]
    assert decoherent == [f"{data} (tiny-eq) × 1.10 (seed decoherence factor)"]

    lines = {line.get_label(): line for line in ax.get_lines()}
    g_upper = np.array([r["g_upper"] for r in results_of(equipartition_run)])
    np.testing.assert_allclose(lines[decoherent[0]].get_ydata(),
                               g_upper * seed_decoherence_factor(), rtol=1e-12)
    np.testing.assert_allclose(lines["Digitised"].get_xdata(), [0.2, 20])
    assert "90%" in ax.get_title() and r"L_\mu - L_\tau" in ax.get_title()
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "MeV" in ax.get_xlabel()


def test_one_run_labelled_by_its_data_and_profile_drawn_above(tiny_run):
    ax = limit_figure([mcprop.load(tiny_run)]).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Borexino Phase-I 7Be 862 keV rate, 90% credible" in labels
    assert not any("tiny" in label for label in labels)  # one run: no name needed
    lines = {line.get_label(): line for line in ax.get_lines()}
    credible = lines["Borexino Phase-I 7Be 862 keV rate, 90% credible"]
    profile = lines["profile likelihood, 90% CL"]
    assert profile.get_zorder() > credible.get_zorder()
    assert profile.get_linestyle() != "-" and profile.get_marker() not in (None, "None", "")
    g_profile = [r["g_upper_profile"] for r in results_of(tiny_run)]
    np.testing.assert_allclose(profile.get_ydata(), g_profile)


def test_profile_label_names_its_level():
    """2.7055 = chi2.ppf(0.9, 1) = 1.6449^2 is the 90% CL; any other level is named."""
    assert profile_label(1.6448536269514722**2) == "profile likelihood, 90% CL"
    assert "1.642" in profile_label(1.642) and "90%" not in profile_label(1.642)


def _g2_artists(ax, label):
    return [a for a in (*ax.collections, *ax.get_lines()) if a.get_gid() == f"g-2 {label}"]


def test_g2_bands_never_filled_to_the_axis(tiny_run):
    """Delta a_mu(2025) = (38 +- 63)e-11 includes 0, so its band reaches g = 0: drawn by its
    upper edges g(38 + 63) and g(38 + 126) only, nothing down to the lower axis limit. The
    2021 band (251 +- 59)e-11 is filled between its edges, in a hue other than the expected
    band's green and yellow."""
    ax = limit_figure([mcprop.load(tiny_run)]).axes[0]
    y_low = ax.get_ylim()[0]
    for filled in ax.collections:  # nothing on the plot is filled down to the axis
        assert all(path.vertices[:, 1].min() > 1.01 * y_low for path in filled.get_paths())
    masses_MeV = np.geomspace(0.1, 100.0, N_CURVE_MASSES)
    # one-loop Delta a_mu = g^2/(8 pi^2) f(m), f -> 1 for m << m_mu; written out here
    x = np.linspace(0, 1, 20001)[:, None]
    loop = np.trapezoid(2 * x**2 * (1 - x) / (x**2 + (1 - x) * (masses_MeV / 105.6583755)**2),
                        x, axis=0)
    for label, central, sigma in (("2021", 251e-11, 59e-11), ("2025", 38e-11, 63e-11)):
        artists = _g2_artists(ax, label)
        assert artists
        lowest = min(np.min(a.get_paths()[0].vertices[:, 1]) if hasattr(a, "get_paths")
                     else np.min(a.get_ydata()) for a in artists)
        assert lowest > 1.01 * y_low
        edge = {n: np.sqrt(max(central + n * sigma, 0) * 8 * np.pi**2 / loop) for n in (-2, 1, 2)}
        if label == "2021":
            assert lowest == pytest.approx(edge[-2].min(), rel=1e-3)
            for artist in artists:  # a hue away from the expected band's green and yellow
                hue = rgb_to_hsv(artist.get_facecolor()[0][:3])[0]
                assert all(abs(hue - rgb_to_hsv(to_rgb(c))[0]) > 0.1
                           for c in EXPECTED_COLOURS.values())
        else:
            lines = [a for a in artists if not hasattr(a, "get_paths")]
            edges = sorted(lines, key=lambda line: line.get_ydata()[0])
            np.testing.assert_allclose(edges[0].get_ydata(), edge[1], rtol=1e-4)
            np.testing.assert_allclose(edges[1].get_ydata(), edge[2], rtol=1e-4)
            assert lowest == pytest.approx(edge[1].min(), rel=1e-4)


def test_not_converged_marked(tiny_run, copy_run):
    run = copy_run(tiny_run)
    path = sorted((run / "results").glob("m*.json"))[1]
    result = json.loads(path.read_text())
    result["converged"] = False
    path.write_text(json.dumps(result))
    legend = limit_figure([mcprop.load(run)]).axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert "not converged" in labels


def test_seed_comparison_curves():
    masses = np.geomspace(100.0, 1000.0, 7)
    curves = seed_comparison_curves(masses)
    assert error_treatment_factor() == pytest.approx(1.316, abs=5e-4)
    np.testing.assert_allclose(curves.error_treatment, error_treatment_factor()
                               * curves.allowance, rtol=1e-12)
    per_mass = curves.allowance / masses  # rate ~ g^4/m^4 at high mass: g ~ m
    np.testing.assert_allclose(per_mass, per_mass[0], rtol=1e-3)
    assert seed_decoherence_factor() == pytest.approx(1.10, abs=0.01)


def test_comparison_curves_are_drawn_at_enough_masses():
    # drawn as straight lines between N_CURVE_MASSES points on log-log axes, the curves
    # must stay close to their values between the points (the low-mass bend near 1 MeV)
    coarse = np.geomspace(0.01, 1000.0, N_CURVE_MASSES)
    midpoints = np.sqrt(coarse[1:] * coarse[:-1])  # where the straight line is worst
    drawn = np.sqrt(allowance_curve(coarse)[1:] * allowance_curve(coarse)[:-1])
    np.testing.assert_allclose(drawn, allowance_curve(midpoints), rtol=2e-3)


def test_read_overlay(tmp_path, overlay_csv):
    overlay = read_overlay(str(overlay_csv))
    assert overlay.label == "digitised"
    np.testing.assert_allclose(overlay.g, [1e-4, 2e-3])
    bare = tmp_path / "bare.csv"
    bare.write_text("1,2e-4\n10 3e-4\n")
    overlay = read_overlay(f"{bare}:My label: v2")
    assert overlay.label == "My label: v2"
    np.testing.assert_allclose(overlay.masses_MeV, [1, 10])


@pytest.mark.parametrize("text,needle", [
    ("m,g\n1,2e-4\n10,abc\n", "line 3"),
    ("# only a comment\n", "no data rows"),
    ("1,2e-4,7\n", "line 1"),
    ("1,-2e-4\n", "line 1"),
])
def test_read_overlay_errors(tmp_path, text, needle):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=needle) as error:
        read_overlay(str(path))
    assert str(error.value).startswith(str(path))


# --- mcprop corner -------------------------------------------------------------------------

def test_corner_default_output(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    result = cli("corner", run, "--mass-MeV", 3)
    assert result.returncode == 0, result.stderr
    masses = [r["m_zprime_MeV"] for r in results_of(run)]
    assert f"{masses[1]:.6g} MeV" in result.stderr  # the grid mass used is logged
    assert_png(run / "corner_m001.png")


def test_corner_pdf(tiny_run, tmp_path):
    out = tmp_path / "corner.pdf"
    assert corner_command(tiny_run, 1e5, out) == 0
    assert out.read_bytes().startswith(b"%PDF")


def _fit_scan(means: dict):
    """A stand-in for a loaded Standard-Model fit: Gaussian draws (4 chains x 500) of
    ``means``' parameters, each reported with its mean as median."""
    rng = np.random.default_rng(1)
    draws = {name: xr.DataArray(rng.normal(mean, 0.05 * abs(mean) + 1e-3, (4, 500)),
                                dims=("chain", "draw")) for name, mean in means.items()}
    result = SimpleNamespace(parameters=[ParameterSummary(name, mean, None, None, None, None,
                                                          True) for name, mean in means.items()])
    return SimpleNamespace(is_fit=True, has_masses=False, name="fit", run_dir="fit",
                           result_at=lambda mass: result,
                           chains=lambda: SimpleNamespace(posterior=xr.Dataset(draws)))


def test_fit_corner_shows_the_background_normalisations():
    """The 7Be - 85Kr and CNO/pep - 210Bi trade-offs need the 85Kr and 210Bi normalisations
    beside the rates; other backgrounds, fluxes and mixing angles stay out, and a
    normalisation the run fixed (not sampled) is left out without error."""
    means = {"sin2_theta12": 0.31, "flux_7be_cm2s": 4.9e9, "bkg_c14_norm": 1.0,
             "bkg_po210_norm": 1.0, "bkg_kr85_norm": 1.1, "bkg_bi210_norm": 0.95,
             "nh_energy_scale": 0.0, "rate_7be_cpd100t": 48.0, "rate_pep_cpd100t": 2.7}
    fig = corner_figure(_fit_scan(means))
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    assert labels == [r"$R_{^7Be}$ [cpd/100t]", r"$R_{pep}$ [cpd/100t]",
                      r"$^{85}$Kr norm.", r"$^{210}$Bi norm.", r"$N_h$ scale"]
    kr85 = fig.axes[2 * 5 + 2]  # column of 85Kr in its own row: the 1-D histogram
    assert kr85.get_xlim()[0] < 1.1 < kr85.get_xlim()[1]
    del means["bkg_kr85_norm"]
    labels = [ax.get_xlabel() for ax in corner_figure(_fit_scan(means)).axes
              if ax.get_xlabel()]
    assert r"$^{210}$Bi norm." in labels and not any("Kr" in label for label in labels)


# --- bad inputs ----------------------------------------------------------------------------

@pytest.fixture
def corrupted_chains(tiny_run, copy_run):
    run = copy_run(tiny_run)
    (run / "chains" / "m001.nc").write_bytes(b"not a netCDF file" * 100)
    return run


@pytest.mark.parametrize("case", ["not a run", "mass 0", "jpg", "missing overlay",
                                  "corrupted chains"])
def test_bad_input_cli(cli, tiny_run, corrupted_chains, tmp_path, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    args, needle, unwritten = {
        "not a run": (["plot", empty], str(empty), empty / "limit_curve.png"),
        "mass 0": (["corner", tiny_run, "--mass-MeV", 0, "--out", tmp_path / "c.png"],
                   "mass", tmp_path / "c.png"),
        "jpg": (["plot", tiny_run, "--out", tmp_path / "x.jpg"], "x.jpg: unsupported",
                tmp_path / "x.jpg"),
        "missing overlay": (["plot", tiny_run, "--overlay", tmp_path / "nope.csv:Nope",
                             "--out", tmp_path / "x.png"], "nope.csv: cannot read: no such file",
                            tmp_path / "x.png"),
        "corrupted chains": (["corner", corrupted_chains, "--mass-MeV", 3],
                             "m001.nc: unreadable chain file",
                             corrupted_chains / "corner_m001.png"),
    }[case]
    before = sorted(tmp_path.rglob("*"))
    assert_one_line_error(cli(*args), needle)
    assert not unwritten.exists()
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("mass", [-3.0, 0.0, float("nan"), float("inf")])
def test_corner_bad_mass(tiny_run, tmp_path, mass):
    with pytest.raises(UserError, match="mass"):
        corner_command(tiny_run, mass, tmp_path / "c.png")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["x.jpg", "x", "missing-folder/x.png"])
def test_bad_output(tiny_run, tmp_path, name):
    out = tmp_path / name
    with pytest.raises(UserError, match=str(out)):
        plot_command([tiny_run], out, [])
    with pytest.raises(UserError, match=str(out)):
        corner_command(tiny_run, 1.0, out)
    assert not list(tmp_path.iterdir())


def test_bad_overlay_writes_nothing(tiny_run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("# comment\n1,2e-4\n1;2\n")
    with pytest.raises(UserError, match="bad.csv: line 3"):
        plot_command([tiny_run], tmp_path / "x.png", [str(bad)])
    assert sorted(tmp_path.iterdir()) == [bad]


def test_plot_with_context(cli, tiny_run, tmp_path):
    out = tmp_path / "context.png"
    result = cli("plot", tiny_run, "--out", out, "--context", "ccfr,babar,icecube,g-2")
    assert result.returncode == 0, result.stderr
    assert_png(out, LIMIT_PIXELS)
    fig = mcprop.load(tiny_run).plot(context=["ccfr", "babar", "icecube"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sum("digitised" in label for label in labels) == 2
    assert any("CCFR" in label for label in labels) and any("BaBar" in label for label in labels)
    assert sum("IceCube" in label for label in labels) >= 1
    bad = cli("plot", tiny_run, "--out", tmp_path / "bad.png", "--context", "lep")
    assert_one_line_error(bad, "--context")
    assert not (tmp_path / "bad.png").exists()
