"""Spectrum figures: a binned N_h spectrum against a model and its components (solar
source groups and backgrounds), with the residuals, the Poisson deviance and a recoil
energy axis; the fitted spectrum of a Standard-Model fit and the spectrum of a
magnetic-moment run with the counts a moment adds at its limit.
"""

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from mcprop.errors import ArgumentError
from mcprop.inference.spectrum import (
    THRESHOLD_TILT,
    SpectrumMeasurement,
    poisson_deviance,
)
from mcprop.interface.plots.output import DPI, percent
from mcprop.physics.borexino_phase2 import SOURCE_GROUPS
from mcprop.physics.nh_response import NhResponse

#: Size [inches] of the spectrum figure (counts above, residuals below, legend at the right).
SPECTRUM_FIGSIZE_IN = (11.0, 8.0)
#: Readable names of the spectral components: the source groups of
#: mcprop.physics.borexino_phase2.SOURCE_GROUPS and Borexino's Phase-II backgrounds.
COMPONENT_LABELS = {
    "pp": "pp", "7be": r"$^{7}$Be", "pep": "pep", "cno": "CNO", "b8": r"$^{8}$B",
    "c14": r"$^{14}$C", "pileup": "pile-up", "po210": r"$^{210}$Po", "kr85": r"$^{85}$Kr",
    "bi210": r"$^{210}$Bi", "c11": r"$^{11}$C", "ext": r"external $\gamma$",
    THRESHOLD_TILT: r"threshold tilt ($^{14}$C + pile-up)",
}
#: Colours of the components: solar groups (warm, solid lines) and backgrounds (cool,
#: dash-dotted).
SOLAR_COLOURS = ("tab:red", "darkorange", "magenta", "saddlebrown", "gold")
BACKGROUND_COLOURS = ("tab:blue", "tab:cyan", "tab:green", "slateblue", "darkseagreen",
                      "tab:gray", "navy", "teal")
#: The new physics' change of the counts is drawn where it exceeds this fraction of the
#: model's Poisson sigma.
EXCESS_DRAWN_SIGMA = 1e-4
#: Recoil energies [MeV] over which the keV axis of a spectrum inverts the response's mean
#: N_h(T): beyond Borexino's N_h range (N_h 92-950 is T ~ 0.2-2.6 MeV).
RECOIL_AXIS_MEV = np.linspace(0.0, 5.0, 20001)


def spectrum_figure(nh_edges, observed_counts, components: Mapping[str, np.ndarray],
                    title: str, new_physics_counts=None, new_physics: str = "Z'",
                    response: NhResponse | None = None) -> Figure:
    """Observed counts per N_h bin against a model and its components, with the residuals.

    Parameters
    ----------
    nh_edges : array (n_bins + 1,)
        Increasing N_h bin edges.
    observed_counts : array (n_bins,)
        Observed counts per bin.
    components : mapping of str -> array (n_bins,)
        Expected counts per bin of each component (source groups of
        ``mcprop.physics.borexino_phase2.SOURCE_GROUPS`` and backgrounds, by name); their sum is
        the model.
    title : str
    new_physics_counts : array (n_bins,) or None
        Total expected counts with new physics; its difference to the model is drawn dashed
        (dotted where it is a deficit).
    new_physics : str
        The new physics in the legend ("Z'", "mu_e = 4.5e-11 mu_B", ...).
    response : NhResponse or None
        The detector response; given, a top axis shows the electron-equivalent energy
        [keV] of each N_h through its mean N_h(T) (see :func:`recoil_keV_axis`).

    Returns
    -------
    Figure
        Top: counts per bin (log scale), the data with sqrt(n) errors, the model and its
        components, the keV axis above. Bottom: (n - mu) / sqrt(mu) against N_h, with the
        Poisson deviance per bin. ``SPECTRUM_FIGSIZE_IN`` at ``DPI``.
    """
    edges = np.asarray(nh_edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("nh_edges must be at least two increasing N_h values")
    n_bins = edges.size - 1
    observed = np.asarray(observed_counts, dtype=float)
    if observed.shape != (n_bins,):
        raise ValueError(f"{observed.size} observed counts for {n_bins} bins")
    if not components:
        raise ValueError("no model components to draw")
    parts = {name: np.asarray(values, dtype=float) for name, values in components.items()}
    for name, values in parts.items():
        if values.shape != (n_bins,):
            raise ValueError(f"component {name!r} has {values.size} entries for {n_bins} bins")
    total = sum(parts.values())
    deviance = float(poisson_deviance(observed, total)) / n_bins
    changed = None
    if new_physics_counts is not None:
        changed = np.asarray(new_physics_counts, dtype=float)
        if changed.shape != (n_bins,):
            raise ValueError(f"new_physics_counts has {changed.size} entries for {n_bins} "
                             f"bins")

    fig = Figure(figsize=SPECTRUM_FIGSIZE_IN, dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    centres = 0.5 * (edges[:-1] + edges[1:])
    seen = observed > 0
    handles = [top.errorbar(centres[seen], observed[seen], yerr=np.sqrt(observed[seen]),
                            fmt="o", ms=1.8, color="black", elinewidth=0.6, zorder=5,
                            label="data"),
               *top.plot(centres, total, color="black", lw=1.4, drawstyle="steps-mid",
                         zorder=4, label="total model")]
    solar = [name for name in parts if name in SOURCE_GROUPS]
    backgrounds = [name for name in parts if name not in SOURCE_GROUPS]
    for names, colours, style in ((solar, SOLAR_COLOURS, "-"),
                                  (backgrounds, BACKGROUND_COLOURS, "-.")):
        for k, name in enumerate(names):
            values = np.where(parts[name] > 0, parts[name], np.nan)
            handles += top.plot(centres, values, color=colours[k % len(colours)], ls=style,
                                lw=1.3 if style == "-" else 1.1, drawstyle="steps-mid",
                                zorder=3, label=COMPONENT_LABELS.get(name, name))
    if changed is not None:
        handles += _draw_excess(top, bottom, centres, changed - total, total, new_physics)
    shown = np.concatenate([observed[seen], total[total > 0]])
    top.set_yscale("log")
    top.set_ylim(0.03 * shown.min(), 3.0 * shown.max())
    top.set_ylabel(f"counts per bin ({_bin_width_text(edges)} N$_h$)")
    top.set_title(title, fontsize=10)
    top.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5,
               frameon=False)
    top.grid(which="major", alpha=0.25)
    if response is not None:
        recoil_keV_axis(top, response)

    bottom.plot(centres, (observed - total) / np.sqrt(total), "o", ms=1.8, color="black")
    bottom.axhline(0.0, color="gray", lw=0.8)
    bottom.set_xlim(edges[0], edges[-1])
    bottom.set_xlabel(r"N$_h$")
    bottom.set_ylabel(r"$(n - \mu)/\sqrt{\mu}$")
    bottom.grid(which="major", alpha=0.25)
    text = f"Poisson deviance / bin = {deviance:.3f} ({n_bins} bins)"
    if changed is not None:
        text += (f"; with {new_physics}: "
                 f"{float(poisson_deviance(observed, changed)) / n_bins:.3f}")
    bottom.text(0.01, 0.95, text, transform=bottom.transAxes, ha="left", va="top",
                fontsize=8, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    return fig


def recoil_keV_axis(ax, response: NhResponse):
    """A top x axis on ``ax`` (whose x is N_h) in electron-equivalent energy [keV]: the
    electron recoil T whose mean N_h(T) under ``response`` (without nuisances) is that N_h.
    Returns the secondary axis."""
    nh = response.nominal_nh(RECOIL_AXIS_MEV)
    if np.any(np.diff(nh) <= 0):
        raise ValueError("the response's mean N_h(T) does not grow with T over "
                         f"{RECOIL_AXIS_MEV[0]:g}-{RECOIL_AXIS_MEV[-1]:g} MeV")
    axis = ax.secondary_xaxis("top", functions=(
        lambda n: 1e3 * np.interp(n, nh, RECOIL_AXIS_MEV),
        lambda t_keV: response.nominal_nh(np.asarray(t_keV) / 1e3)))
    axis.set_xlabel(r"electron-equivalent energy [keV] (mean N$_h$ of the response)",
                    fontsize=9)
    return axis


def _draw_excess(top, bottom, centres, excess, total, new_physics: str) -> list:
    """The new physics' change of the counts: dashed where it adds counts, dotted (its size)
    where it removes them (where above ``EXCESS_DRAWN_SIGMA`` of the model's sigma), on the
    counts; dashed on the residual scale, in sigma of the model. Returns the legend
    handles."""
    in_sigma = excess / np.sqrt(total)
    handles = top.plot(centres, np.where(in_sigma > EXCESS_DRAWN_SIGMA, excess, np.nan),
                       color="black", ls="--", lw=1.2, drawstyle="steps-mid", zorder=4,
                       label=f"{new_physics} excess over the model")
    if np.any(in_sigma < -EXCESS_DRAWN_SIGMA):
        handles += top.plot(centres, np.where(in_sigma < -EXCESS_DRAWN_SIGMA, -excess, np.nan),
                            color="black", ls=":", lw=1.2, drawstyle="steps-mid", zorder=4,
                            label=f"{new_physics} deficit (size)")
    bottom.plot(centres, in_sigma, color="black", ls="--", lw=1.0, drawstyle="steps-mid",
                label=f"{new_physics} change")
    bottom.legend(loc="upper right", fontsize=7.5, frameon=False)
    return handles


def _bin_width_text(edges: np.ndarray) -> str:
    """'5' for bins of equal width 5, 'variable' otherwise."""
    widths = np.diff(edges)
    return f"{widths[0]:g}" if np.allclose(widths, widths[0]) else "variable"


def fit_spectrum_figure(scan) -> Figure:
    """The first spectrum measurement of a Standard-Model fit at its best fit (the
    highest-posterior walker): data, model and components, residuals."""
    if not scan.is_fit:
        raise ArgumentError(f"{scan.run_dir or scan.name}: not a Standard-Model fit (the fitted "
                        f"spectrum is drawn for physics.model = 'standard-model')")
    result = scan.result_at(None)
    posterior = scan.posterior()
    measurement = next(m for m in posterior.measurements
                       if isinstance(m, SpectrumMeasurement))
    best = np.array([result.best_fit[name] for name in posterior.names])
    components = posterior.components(best[None], 0)[measurement.name]
    return spectrum_figure(measurement.nh_edges, measurement.counts,
                           {name: counts[0] for name, counts in components.items()},
                           f"{scan.name}: best fit ({measurement.name})",
                           response=measurement.response)


def moment_spectrum_figure(scan) -> Figure:
    """The first spectrum measurement of a magnetic-moment run: the data against the model
    without a moment at the posterior medians of the nuisances, its components and the
    residuals, and the counts the first sampled moment adds at its credible limit."""
    if scan.has_masses or scan.is_fit:
        raise ArgumentError(f"{scan.run_dir or scan.name}: not a magnetic-moment run (a spectrum "
                        f"is drawn for a Standard-Model fit or a magnetic-moment run)")
    posterior = scan.posterior()
    measurement = next((m for m in posterior.measurements
                        if isinstance(m, SpectrumMeasurement)), None)
    if measurement is None:
        raise ArgumentError(f"{scan.run_dir or scan.name}: the run has no spectrum measurement")
    first = scan.result_at(None).limits[0]
    draws = scan.chains(None).posterior
    nuisances = [float(np.median(draws[name].values)) for name in posterior.nuisance_names]
    moments = posterior.new_physics
    rows = np.array([[*moments.coordinates({}), *nuisances],
                     [*moments.coordinates({first.parameter: first.upper_muB}), *nuisances]])
    counts = posterior.expected_counts(rows, 0)[measurement.name]
    components = posterior.components(rows[:1], 0)[measurement.name]
    label = rf"$\mu_{{{first.parameter.removeprefix('mu_')}}}$ = {first.upper_muB:.3g} $\mu_B$"
    credibility = percent(scan.config["limits"]["credibility"])
    return spectrum_figure(measurement.nh_edges, measurement.counts,
                           {name: values[0] for name, values in components.items()},
                           f"{scan.name} ({measurement.name})\nmodel without a moment, "
                           f"nuisances at their posterior medians; dashed: {label} (its "
                           f"{credibility} limit)", counts[1], label, measurement.response)
