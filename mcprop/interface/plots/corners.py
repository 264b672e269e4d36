"""Corner plots: the posterior of g and the nuisances at one grid mass; for a
magnetic-moment run the moments, mu_eff and the nuisances with the credible regions; for
a Standard-Model fit the rates and the backgrounds they trade off against
(``mcprop corner``).
"""

import logging
import math
import re

import numpy as np
from matplotlib.figure import Figure

from mcprop.errors import ArgumentError
from mcprop.inference.diagnostics import INTERVAL_68
from mcprop.inference.spectrum import (
    background_parameter,
)
from mcprop.interface.plots.output import model_tex, percent
from mcprop.interface.plots.spectra import COMPONENT_LABELS
from mcprop.physics.magnetic_moment import MOMENT_UNIT_MUB
from mcprop.physics.parameters import (
    BE7_FLUX,
    LOW_ENERGY_RESPONSE_PARAMETERS,
    PARAMETERS,
    RESPONSE_PARAMETERS,
)

log = logging.getLogger(__name__)


#: Backgrounds whose normalisations a Standard-Model fit's corner plot shows beside the
#: rates: 85Kr (a beta spectrum ending at 687 keV, under the 7Be edge at 665 keV) trades
#: off against 7Be, 210Bi (a beta spectrum ending at 1162 keV) against CNO and pep.
FIT_CORNER_BACKGROUNDS = ("kr85", "bi210")
#: Axis symbols of the sampled parameters; a registry parameter's unit is appended by
#: :func:`axis_label` from :data:`mcprop.physics.parameters.PARAMETERS`.
PARAMETER_SYMBOLS = {
    "g": r"$g_{Z'}$",
    "sin2_theta12": r"$\sin^2\theta_{12}$",
    "sin2_theta13": r"$\sin^2\theta_{13}$",
    "sin2_theta23": r"$\sin^2\theta_{23}$",
    "delta_cp_deg": r"$\delta_{CP}$",
    "dm2_21_eV2": r"$\Delta m^2_{21}$",
    BE7_FLUX: r"$\Phi_{^7Be}$",
    "p_ee": r"$P_{ee}$",
    "nh_energy_scale": r"$N_h$ scale",
    "nh_offset": r"$N_h$ offset",
    "nh_resolution_scale": r"$N_h$ resolution scale",
    "nh_c14_offset": r"$^{14}$C light offset",
    "nh_c14_resolution_scale": r"$^{14}$C light width scale",
    **{background_parameter(name): f"{COMPONENT_LABELS[name]} norm."
       for name in FIT_CORNER_BACKGROUNDS},
}
#: Axis labels of the derived interaction rates of a Standard-Model fit.
RATE_LABELS = {
    "rate_pp_cpd100t": r"$R_{pp}$ [cpd/100t]",
    "rate_7be_cpd100t": r"$R_{^7Be}$ [cpd/100t]",
    "rate_pep_cpd100t": r"$R_{pep}$ [cpd/100t]",
    "rate_cno_cpd100t": r"$R_{CNO}$ [cpd/100t]",
    "rate_b8_cpd100t": r"$R_{^8B}$ [cpd/100t]",
}


def unit_tex(unit: str) -> str:
    """A registry unit as axis text: exponents and subscripts in math mode.

    >>> unit_tex("cm^-2 s^-1"), unit_tex("N_h")
    ('cm$^{-2}$ s$^{-1}$', '$N_h$')
    """
    return re.sub(r"\^(-?\d+)", r"$^{\1}$", re.sub(r"\b(\w)_(\w)\b", r"$\1_\2$", unit))


def axis_label(name: str, symbol: str) -> str:
    """``symbol`` with the unit of the registry parameter ``name`` in brackets (none for a
    pure number or a name outside the registry).

    >>> axis_label("dm2_21_eV2", "x")
    'x [eV$^{2}$]'
    """
    parameter = PARAMETERS.get(name)
    return f"{symbol} [{unit_tex(parameter.unit)}]" if parameter and parameter.unit else symbol


#: Axis labels of the known posterior variables, with units.
PARAMETER_LABELS = {**{name: axis_label(name, symbol)
                       for name, symbol in PARAMETER_SYMBOLS.items()}, **RATE_LABELS}
#: Axis labels of the moments (in units of MOMENT_UNIT_MUB on the corner plot).
MOMENT_LABELS = {"mu_universal": r"$\mu_\nu$", "mu_e": r"$\mu_{\nu_e}$",
                 "mu_mu": r"$\mu_{\nu_\mu}$", "mu_tau": r"$\mu_{\nu_\tau}$",
                 "mu_eff": r"$\mu_{\rm eff}$"}


def corner_figure(scan, mass_MeV: float | None = None) -> Figure:
    """Corner plot of g and the nuisances of a ScanResult at the grid mass nearest (in
    log m) ``mass_MeV``; of the moments of a run without masses (``mass_MeV`` None)."""
    import corner

    result = scan.result_at(mass_MeV)
    if scan.is_fit:
        return _fit_corner_figure(scan, result)
    if not scan.has_masses:
        return _moment_corner_figure(scan, result)
    names, samples = _posterior_samples(scan.chains(mass_MeV), scan.run_dir, ("g",))
    if not math.isclose(result.m_zprime_MeV, mass_MeV, rel_tol=1e-6):
        log.info("using the grid mass %.6g MeV nearest to the requested %.6g MeV",
                 result.m_zprime_MeV, mass_MeV)

    labels = [PARAMETER_LABELS.get(n, n) for n in names]
    for j in range(1, len(names)):  # a y-axis offset text would overlap the panel above
        exponent = int(np.floor(np.log10(np.median(np.abs(samples[:, j])) or 1.0)))
        if abs(exponent) >= 3:
            samples[:, j] /= 10.0**exponent
            labels[j] = _with_unit_factor(labels[j], exponent)

    fig = Figure(figsize=(2.0 * len(names) + 0.1 * (len(names) - 1) + 1.4,) * 2, dpi=100)
    corner.corner(samples, fig=fig, labels=labels,
                  truths=[result.g_upper] + [None] * (len(names) - 1),
                  truth_color="tab:red", color="tab:blue", bins=30, smooth=0.8,
                  use_math_text=True, label_kwargs={"fontsize": 13}, max_n_ticks=4)
    credibility = percent(float(scan.config["limits"]["credibility"]))
    fig.suptitle(rf"{scan.name}: posterior at $m_{{Z'}}$ = {result.m_zprime_MeV:.4g} MeV"
                 rf" ({model_tex(scan.config['physics']['model'])})", fontsize=16, y=0.99)
    g90 = "n/a" if result.g_upper is None else f"{result.g_upper:.3g}"
    fig.text(0.97, 0.93, f"red line: $g_{{90}}$ = {g90}\n"
                         f"({credibility} credible upper limit)\n{len(samples)} samples",
             ha="right", va="top", fontsize=14, color="tab:red")
    return fig


def _moment_corner_figure(scan, result) -> Figure:
    """The moments (in 1e-11 mu_B), mu_eff and the nuisances of a magnetic-moment run, with
    the credible upper limits (lines) and the 2-D credible regions at the run's credibility
    (contours)."""
    import corner

    upper = {limit.parameter: limit.upper_muB for limit in result.limits}
    names, samples = _posterior_samples(scan.chains(), scan.run_dir, tuple(upper))
    credibility = float(scan.config["limits"]["credibility"])
    unit = rf"$10^{{{round(np.log10(MOMENT_UNIT_MUB))}}}\,\mu_B$"
    labels, truths, ranges = [], [], []
    for j, name in enumerate(names):
        if name in upper:
            samples[:, j] /= MOMENT_UNIT_MUB
            labels.append(f"{MOMENT_LABELS[name]} [{unit}]")
            truths.append(None if upper[name] is None else upper[name] / MOMENT_UNIT_MUB)
            ranges.append((0.0, float(np.quantile(samples[:, j], 0.999))))
            continue
        label = PARAMETER_LABELS.get(name, name)
        exponent = int(np.floor(np.log10(np.median(np.abs(samples[:, j])) or 1.0)))
        if abs(exponent) >= 3:
            samples[:, j] /= 10.0**exponent
            label = _with_unit_factor(label, exponent)
        labels.append(label)
        truths.append(None)
        ranges.append(0.999)
    fig = Figure(figsize=(2.0 * len(names) + 0.1 * (len(names) - 1) + 1.4,) * 2, dpi=100)
    corner.corner(samples, fig=fig, labels=labels, truths=truths, range=ranges,
                  levels=(credibility,), fill_contours=True, plot_datapoints=False,
                  truth_color="tab:red", color="tab:blue", bins=30, smooth=0.8,
                  use_math_text=True, label_kwargs={"fontsize": 13}, max_n_ticks=4)
    share = percent(credibility)
    fig.suptitle(f"{scan.name}: posterior of the neutrino magnetic moments "
                 f"({result.moments})", fontsize=16, y=0.99)
    fig.text(0.97, 0.93, f"red lines: {share} credible upper limits\n"
                         f"contours: {share} credible regions\n{len(samples)} samples",
             ha="right", va="top", fontsize=14, color="tab:red")
    return fig


def _fit_corner_figure(scan, result) -> Figure:
    """The interaction rates [cpd/100t], the sampled normalisations of
    ``FIT_CORNER_BACKGROUNDS`` and the N_h-response nuisances (those of the 14C light
    included) of a Standard-Model fit, with
    their medians (lines) and 68% credible regions (contours)."""
    import corner

    sampled = [p.parameter for p in result.parameters]
    names = [*(name for name in sampled if name.startswith("rate_")),
             *(name for name in map(background_parameter, FIT_CORNER_BACKGROUNDS)
               if name in sampled),
             *(name for name in sampled
               if name in RESPONSE_PARAMETERS + LOW_ENERGY_RESPONSE_PARAMETERS)]
    chains = scan.chains().posterior
    missing = [name for name in names if name not in chains]
    if missing:
        raise ArgumentError(f"{scan.run_dir}: no posterior variable '{missing[0]}' in the chain "
                        f"file")
    samples = np.column_stack([np.asarray(chains[name].values, dtype=float).ravel()
                               for name in names])
    samples = samples[np.isfinite(samples).all(axis=1)]
    median = {p.parameter: p.median for p in result.parameters}
    labels = [PARAMETER_LABELS.get(name, name) for name in names]
    fig = Figure(figsize=(1.7 * len(names) + 0.1 * (len(names) - 1) + 1.4,) * 2, dpi=100)
    corner.corner(samples, fig=fig, labels=labels, truths=[median[n] for n in names],
                  range=[0.998] * len(names), levels=(INTERVAL_68[1] - INTERVAL_68[0],),
                  fill_contours=True,
                  plot_datapoints=False, truth_color="tab:red", color="tab:blue", bins=30,
                  smooth=0.8, use_math_text=True, label_kwargs={"fontsize": 13},
                  max_n_ticks=4)
    fig.suptitle(f"{scan.name}: Standard-Model fit", fontsize=16, y=0.99)
    fig.text(0.97, 0.93, "red lines: posterior medians\ncontours: 68% credible regions\n"
                         f"{len(samples)} samples", ha="right", va="top", fontsize=14,
             color="tab:red")
    return fig


def _with_unit_factor(label: str, exponent: int) -> str:
    """``label`` with its unit multiplied by 10^exponent: 'x [u]' -> 'x [10^e u]'."""
    power = f"$10^{{{exponent}}}$"
    head, bracket, unit = label.partition(" [")
    return f"{head} [{power} {unit}" if bracket else f"{label} [{power}]"


def _posterior_samples(idata, path, leading: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """Names (``leading`` first: g, or the moments) and samples (n, k) of the varying
    posterior variables."""
    posterior = idata.posterior
    columns = {name: np.asarray(posterior[name].values, dtype=float).ravel()
               for name in posterior.data_vars}
    for name in leading:
        if name not in columns:
            raise ArgumentError(f"{path}: no posterior variable '{name}' in the chain file")
    names = [*leading, *(name for name in columns if name not in leading)]
    samples = np.column_stack([columns[name] for name in names])
    samples = samples[np.isfinite(samples).all(axis=1)]
    if len(samples) < 2:
        raise ArgumentError(f"{path}: fewer than 2 finite posterior samples")
    varying = [j for j in range(len(names)) if np.ptp(samples[:, j]) > 0]
    for j, name in enumerate(leading):
        if j not in varying:
            raise ArgumentError(f"{path}: the {'coupling g' if name == 'g' else name} does not "
                            f"vary in the chains")
    fixed = [names[j] for j in range(len(names)) if j not in varying]
    if fixed:
        log.info("%s: constant in the chains, left out of the corner plot: %s", path,
                 ", ".join(fixed))
    return [names[j] for j in varying], samples[:, varying]
