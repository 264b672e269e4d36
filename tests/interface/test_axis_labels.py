"""Corner-plot axis labels take the units of the parameter registry and are valid mathtext."""

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mcprop.interface.plots.corners import PARAMETER_LABELS, unit_tex
from mcprop.physics.parameters import PARAMETERS


def test_registry_units_appear_on_the_axes():
    assert PARAMETER_LABELS["dm2_21_eV2"].endswith(" [eV$^{2}$]")
    assert PARAMETER_LABELS["flux_7be_cm2s"].endswith(" [cm$^{-2}$ s$^{-1}$]")
    assert PARAMETER_LABELS["delta_cp_deg"].endswith(" [deg]")
    assert PARAMETER_LABELS["nh_offset"].endswith(" [$N_h$]")
    # pure numbers have no brackets
    assert "[" not in PARAMETER_LABELS["sin2_theta12"] + PARAMETER_LABELS["p_ee"]


def test_every_registry_unit_reads_as_its_name_says():
    for name in (n for n in PARAMETER_LABELS if n in PARAMETERS and PARAMETERS[n].unit):
        unit = PARAMETERS[name].unit
        assert PARAMETER_LABELS[name].endswith(f" [{unit_tex(unit)}]"), name
        assert unit_tex(unit).replace("$", "").replace("{", "").replace("}", "") == unit


@pytest.mark.parametrize("name", sorted(PARAMETER_LABELS))
def test_labels_render(name):
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, PARAMETER_LABELS[name])
    figure.canvas.draw()   # ValueError on malformed mathtext
