"""Plots: limit curves of runs beside the (g-2)_mu bands and the seed's curves; corner plots;
spectra.

- :mod:`~mcprop.interface.plots.limit_curve`: :func:`limit_figure`, g_90(m) of one or more
  runs (``mcprop plot``, and the ``limit_curve.png`` of every run), and the overlays.
- :mod:`~mcprop.interface.plots.corners`: :func:`corner_figure`, the posterior of g and the
  nuisances at one grid mass; for a magnetic-moment run (no masses, no curve), the posterior
  of the moments, mu_eff and the nuisances with the credible regions (``mcprop corner``).
- :mod:`~mcprop.interface.plots.spectra`: :func:`spectrum_figure`, a binned N_h spectrum
  against a model and its components, with the residuals and the Poisson deviance.
- :mod:`~mcprop.interface.plots.output`: :func:`save_figure`, :func:`check_output`.

Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state), rendered in
memory and written atomically, so a failed command writes nothing.
"""

from mcprop.interface.plots.corners import corner_figure
from mcprop.interface.plots.limit_curve import (
    EXPECTED_COLOURS,
    LIMIT_FIGSIZE_IN,
    N_CURVE_MASSES,
    limit_figure,
    profile_label,
    read_overlay,
)
from mcprop.interface.plots.output import DPI, check_output, save_figure
from mcprop.interface.plots.spectra import (
    SPECTRUM_FIGSIZE_IN,
    fit_spectrum_figure,
    moment_spectrum_figure,
    spectrum_figure,
)

__all__ = ["DPI", "EXPECTED_COLOURS", "LIMIT_FIGSIZE_IN", "N_CURVE_MASSES",
           "SPECTRUM_FIGSIZE_IN", "check_output", "corner_figure", "fit_spectrum_figure",
           "limit_figure", "moment_spectrum_figure", "profile_label", "read_overlay",
           "save_figure", "spectrum_figure"]
