"""Plots: limit curves of runs beside the (g-2)_mu bands and the seed's curves; corner plots.

- :func:`limit_figure` / :func:`plot_runs` / :func:`plot_command`: g_90(m) of one or more
  runs (``mcprop plot``, and the ``limit_curve.png`` of every run).
- :func:`corner_figure` / :func:`corner_command`: the posterior of g and the nuisances at
  one grid mass; for a magnetic-moment run (no masses, no curve), the posterior of the
  moments, mu_eff and the nuisances with the credible regions (``mcprop corner``).
- :func:`spectrum_figure`: a binned N_h spectrum against a model and its components, with
  the residuals and the Poisson deviance.

Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state), rendered in
memory and written atomically, so a failed command writes nothing.
"""

import io
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib import cbook
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.mathtext import MathTextParser
from matplotlib.patches import Patch

from mcprop.files import InputFileError, printable, read_text
from mcprop.inference.diagnostics import INTERVAL_68
from mcprop.inference.limits import allowance_limit_g
from mcprop.inference.plan import PROFILE_LEVEL_90
from mcprop.inference.results import EXPECTED_COLUMNS
from mcprop.inference.spectrum import (
    THRESHOLD_TILT,
    SpectrumMeasurement,
    background_parameter,
    poisson_deviance,
)
from mcprop.inference.storage import atomic_write_bytes
from mcprop.interface import formats
from mcprop.interface.errors import UserError
from mcprop.physics.flavour import BOREXINO_PHASE1_P_EE, NUFIT_5_0_NO_CENTRAL, flavour_model
from mcprop.physics.kernels import RateKernels
from mcprop.physics.magnetic_moment import MOMENT_UNIT_MUB
from mcprop.physics.muon_g2 import G2_2021, G2_2025
from mcprop.physics.seed_factors import decoherence_factor, error_treatment_factor
from mcprop.physics.solar import B16_GS98_BE7_FLUX_CM2S, BE7_862
from mcprop.physics.spectral import RESPONSE_PARAMETERS, SOURCE_GROUPS, NhResponse

log = logging.getLogger(__name__)

#: Size [inches] and resolution [dots per inch] of the limit-curve figure (1350 x 1200 px;
#: the legend sits below the axes).
LIMIT_FIGSIZE_IN = (9.0, 8.0)
DPI = 150
#: Output formats by file suffix.
FORMATS = {".png": "png", ".pdf": "pdf"}
#: Masses [MeV] at which the comparison curves and the g-2 bands are evaluated: drawn as
#: straight lines between them on the log-log axes, they stay within 0.2% of the curves
#: over 0.01 MeV - 1 GeV (each mass costs ~1 ms of kernels).
N_CURVE_MASSES = 60
#: Markers on a profile-likelihood curve: at most about this many.
PROFILE_MARKERS = 25

#: Borexino Phase-I 862 keV rate [cpd/100t] (PRL 107, 141302 (2011)) and the fraction of it
#: that earlier work allowed the Z' to add (seed, arXiv:2007.16098).
PHASE1_RATE_CPD100T = 46.0
ALLOWED_FRACTION = 0.08

#: Colours: runs, overlays, and the (g-2)_mu anomalies (hues apart from the runs' and from
#: the green and yellow of the expected-limit band).
RUN_COLOURS = ("tab:blue", "tab:red", "tab:purple", "tab:brown", "tab:cyan", "tab:olive")
OVERLAY_COLOURS = ("black", "tab:pink", "tab:gray", "darkgoldenrod", "teal")
G2_COLOURS = {G2_2021.label: "mediumorchid", G2_2025.label: "darkorange"}
#: Opacity of a run's excluded region (above its limit), divided by the square root of the
#: number of runs: light enough that several runs, the expected band and the (g-2)_mu bands
#: stay readable through it.
EXCLUDED_ALPHA = 0.06

#: Size [inches] of the spectrum figure (counts above, residuals below, legend at the right).
SPECTRUM_FIGSIZE_IN = (11.0, 8.0)
#: Readable names of the spectral components: the source groups of
#: mcprop.physics.spectral.SOURCE_GROUPS and Borexino's Phase-II backgrounds.
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

#: Backgrounds whose normalisations a Standard-Model fit's corner plot shows beside the
#: rates: 85Kr (a beta spectrum ending at 687 keV, under the 7Be edge at 665 keV) trades
#: off against 7Be, 210Bi (a beta spectrum ending at 1162 keV) against CNO and pep.
FIT_CORNER_BACKGROUNDS = ("kr85", "bi210")
#: Axis labels of the known posterior variables, with units.
PARAMETER_LABELS = {
    "g": r"$g_{Z'}$",
    "sin2_theta12": r"$\sin^2\theta_{12}$",
    "sin2_theta13": r"$\sin^2\theta_{13}$",
    "sin2_theta23": r"$\sin^2\theta_{23}$",
    "delta_cp_deg": r"$\delta_{CP}$ [deg]",
    "dm2_21_eV2": r"$\Delta m^2_{21}$ [eV$^2$]",
    "flux_7be_cm2s": r"$\Phi_{^7Be}$ [cm$^{-2}$ s$^{-1}$]",
    "p_ee": r"$P_{ee}$",
    "rate_pp_cpd100t": r"$R_{pp}$ [cpd/100t]",
    "rate_7be_cpd100t": r"$R_{^7Be}$ [cpd/100t]",
    "rate_pep_cpd100t": r"$R_{pep}$ [cpd/100t]",
    "rate_cno_cpd100t": r"$R_{CNO}$ [cpd/100t]",
    "rate_b8_cpd100t": r"$R_{^8B}$ [cpd/100t]",
    "nh_energy_scale": r"$N_h$ scale",
    "nh_offset": r"$N_h$ offset",
    "nh_resolution_scale": r"$N_h$ resolution scale",
    **{background_parameter(name): f"{COMPONENT_LABELS[name]} norm."
       for name in FIT_CORNER_BACKGROUNDS},
}
#: Axis labels of the moments (in units of MOMENT_UNIT_MUB on the corner plot).
MOMENT_LABELS = {"mu_universal": r"$\mu_\nu$", "mu_e": r"$\mu_{\nu_e}$",
                 "mu_mu": r"$\mu_{\nu_\mu}$", "mu_tau": r"$\mu_{\nu_\tau}$",
                 "mu_eff": r"$\mu_{\rm eff}$"}


# --- inputs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Overlay:
    """An external curve g(m) read from a CSV file."""

    label: str
    path: Path
    masses_MeV: np.ndarray
    g: np.ndarray


def read_overlay(spec: str) -> Overlay:
    """Read ``CSV[:LABEL]``: '#' comment lines, an optional header, rows ``mass_MeV,g``.

    Columns are separated by commas (or whitespace); the label defaults to the file stem.
    Raises UserError naming the file (and line) when it is missing or unparsable.
    """
    name, _, label = spec.partition(":")
    path = Path(name)
    try:
        # bounded: a regular file, not /dev/zero or a FIFO; a byte-order mark is not data
        text = read_text(path).removeprefix("\ufeff")
    except InputFileError as exc:
        raise UserError(f"overlay file {exc}") from None
    rows, header_allowed = [], True
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f for f in re.split(r"\s*,\s*|\s+", stripped) if f]
        values = _floats(fields)
        if len(fields) != 2:
            raise UserError(f"{path}: line {number}: expected two columns (mass [MeV], "
                            f"coupling), got {len(fields)}: {stripped!r}")
        if values is None and header_allowed:
            header_allowed = False
            continue
        if values is None or not all(math.isfinite(v) and v > 0 for v in values):
            raise UserError(f"{path}: line {number}: expected two positive numbers "
                            f"(mass [MeV], coupling), got {stripped!r}")
        rows.append(values)
        header_allowed = False
    if not rows:
        raise UserError(f"{path}: no data rows (expected lines 'mass_MeV,g')")
    masses, g = np.array(rows).T
    return Overlay(legend_label(label or path.stem, f"{path}: overlay label"), path, masses, g)


def legend_label(text: str, what: str) -> str:
    """``text`` if matplotlib can draw it (a label with ``$...$`` is mathtext); UserError
    naming ``what`` otherwise."""
    if not text.isprintable():
        raise UserError(f"{what} {printable(text)}: holds a control character")
    if cbook.is_math_text(text):
        try:
            MathTextParser("path").parse(text)
        except ValueError:
            raise UserError(f"{what} {text}: not valid mathtext (write a literal $ as "
                            f"\\$)") from None
    return text


def _floats(fields: list[str]) -> list[float] | None:
    """The fields as floats, or None if any is not a number."""
    try:
        return [float(f) for f in fields]
    except ValueError:
        return None


@dataclass(frozen=True)
class RunCurve:
    """The per-mass limits of one run, as arrays over its finished masses."""

    name: str
    credibility: float
    flavour_model: str
    masses_MeV: np.ndarray
    g_upper: np.ndarray
    g_upper_mcse: np.ndarray
    g_upper_profile: np.ndarray  # NaN where no profile-likelihood limit was computed
    converged: np.ndarray

    model: str = "Lmu-Ltau"
    #: Expected limits by EXPECTED_COLUMNS name (NaN where missing); None without toys.
    expected: dict[str, np.ndarray] | None = None
    #: What the run measured: the names of its measurements, joined by " + ".
    data: str = ""
    #: -2 Delta ln L of the profile-likelihood limit.
    profile_level: float = PROFILE_LEVEL_90
    #: The limit whose expected band ``expected`` holds: "credible" or "profile" (a spectrum).
    expected_statistic: str | None = None

    @classmethod
    def from_result(cls, scan) -> "RunCurve":
        """The curve of a :class:`~mcprop.interface.api.ScanResult`; UserError if it has no
        finished mass or no mass grid (a magnetic-moment run)."""
        if not scan.has_masses:
            kind, figure = (("Standard-Model fit", "the fitted spectrum in spectrum_fit.png, ")
                            if scan.is_fit else ("magnetic-moment run", ""))
            raise UserError(f"{scan.run_dir or scan.name}: a {kind} has no mass grid, so no "
                            f"limit curve to plot; its numbers are in limits.csv, {figure}"
                            f"its posterior in 'mcprop corner {scan.run_dir or 'RUN'}'")
        if not scan.results:
            raise UserError(f"{scan.run_dir or scan.name}: no finished masses to plot")

        def column(key):
            return np.array([np.nan if getattr(r, key) is None else getattr(r, key)
                             for r in scan.results], dtype=float)

        return cls(scan.name, float(scan.config["limits"]["credibility"]),
                   scan.config["physics"]["flavour_model"], column("m_zprime_MeV"),
                   column("g_upper"), column("g_upper_mcse"), column("g_upper_profile"),
                   np.array([r.converged for r in scan.results]),
                   scan.config["physics"]["model"],
                   {key: column(key) for key in EXPECTED_COLUMNS} if scan.has_expected
                   else None,
                   " + ".join(m["name"] for m in scan.config["measurements"]),
                   float(scan.config["limits"].get("profile_delta_chi2", PROFILE_LEVEL_90)),
                   scan.expected_statistic)


def curve_labels(runs: Sequence[RunCurve]) -> list[str]:
    """Legend labels of the runs' limits by what they are: the data and the credibility
    (the model too where the runs' models differ), the run name added only where two runs
    would otherwise read alike.

    >>> run = RunCurve("p1", 0.9, "decoherent-msw", *[np.ones(1)] * 5, data="Phase-I rate")
    >>> curve_labels([run])
    ['Phase-I rate, 90% credible']
    """
    several_models = len({r.model for r in runs}) > 1
    base = []
    for run in runs:
        data = (run.data or run.name).replace("$", r"\$")  # a literal $, not mathtext
        model = f"{model_tex(run.model)} Z', " if several_models else ""
        base.append(f"{model}{data}, {_percent(run.credibility)} credible")
    return [f"{text} ({run.name})" if base.count(text) > 1 else text
            for text, run in zip(base, runs, strict=True)]


def profile_label(level: float) -> str:
    """Legend label of a profile-likelihood limit at -2 Delta ln L = ``level``."""
    if math.isclose(level, PROFILE_LEVEL_90, rel_tol=1e-9):
        return "profile likelihood, 90% CL"
    return rf"profile likelihood, $-2\Delta\ln L$ = {level:.4g}"


# --- comparison curves ------------------------------------------------------------------

class SeedCurves(NamedTuple):
    """Fixed-factor limits of the seed paper (Gninenko & Gorbunov, arXiv:2007.16098).

    Attributes
    ----------
    allowance : array
        g at which the Z' adds 8% of the Phase-I rate, P_ee = 0.51, no interference.
    error_treatment : array
        ``allowance`` times the seed's eq.-6 factor (1.316).
    """

    allowance: np.ndarray
    error_treatment: np.ndarray


def allowance_curve(masses_MeV) -> np.ndarray:
    """g(m) at which the Z' adds 8% of the Borexino Phase-I rate at fixed inputs.

    Total 862 keV rate (no window), NuFIT 5.0 central mixing with P_ee = 0.51, the B16-GS98
    flux and no SM-Z' interference: the way earlier work turned an allowance into a limit.
    """
    masses = np.atleast_1d(np.asarray(masses_MeV, dtype=float))
    kernels = RateKernels.compute(masses, [BE7_862], radiative_corrections=False)
    params = {**NUFIT_5_0_NO_CENTRAL, "p_ee": BOREXINO_PHASE1_P_EE}
    probabilities = flavour_model("pee").probabilities(params, BE7_862.energy_MeV)[None]
    allowed = ALLOWED_FRACTION * PHASE1_RATE_CPD100T
    return np.array([allowance_limit_g(kernels.at_mass(i), probabilities,
                                       B16_GS98_BE7_FLUX_CM2S, allowed, interference=False)
                     for i in range(masses.size)])


def seed_comparison_curves(masses_MeV) -> SeedCurves:
    """The 8%-allowance curve and the same times the seed's error-treatment factor."""
    allowance = allowance_curve(masses_MeV)
    return SeedCurves(allowance, allowance * error_treatment_factor())


def seed_decoherence_factor() -> float:
    """The seed's factor (~1.10) turning an equipartition limit into a decoherent one."""
    return float(decoherence_factor(NUFIT_5_0_NO_CENTRAL))


def _percent(credibility: float) -> str:
    return f"{100 * credibility:.4g}%"


# --- limit curves -----------------------------------------------------------------------

Legend = tuple[list, list[str]]


def limit_figure(scans: Sequence, overlays: Sequence[str] = (),
                 context: Sequence[str] = ()) -> Figure:
    """The limit-curve figure of runs, with overlays; for L_mu - L_tau runs also the
    (g-2)_mu bands and the seed's fixed-factor curves.

    Parameters
    ----------
    scans : sequence of ScanResult
        The runs; the first one also contributes its profile-likelihood limit.
    overlays : sequence of str
        ``CSV[:LABEL]`` specifications of extra curves (mass [MeV], g).
    context : sequence of str
        Other experiments' constraints to draw (names of ``CONTEXT_CURVES``).

    Returns
    -------
    Figure
        A log-log plot of g versus m_Z' [MeV], ``LIMIT_FIGSIZE_IN`` at ``DPI``.
    """
    from mcprop.interface.context import check_context_names, draw_context

    try:
        context = check_context_names(context)
    except ValueError as exc:
        raise UserError(f"--context: {exc}") from None
    runs = [RunCurve.from_result(scan) for scan in scans]
    extra = [read_overlay(spec) for spec in ([overlays] if isinstance(overlays, str)
                                             else overlays)]
    lmu_ltau = all(r.model == "Lmu-Ltau" for r in runs)
    low = min(r.masses_MeV.min() for r in runs)
    high = max(r.masses_MeV.max() for r in runs)
    masses = np.geomspace(low, high, N_CURVE_MASSES) if high > low else np.array([low])
    seed = seed_comparison_curves(masses) if lmu_ltau else None
    bands = ({a: {n: a.coupling_band(masses, n) for n in (1, 2)} for a in (G2_2021, G2_2025)}
             if lmu_ltau else {})

    shown = [r.g_upper for r in runs] + list(seed or ()) + [
        edge for band in bands.values() for edge in band[2]]
    shown += [o.g[(o.masses_MeV >= low * (1 - 1e-9)) & (o.masses_MeV <= high * (1 + 1e-9))]
              for o in extra]
    shown = np.concatenate(shown)
    shown = shown[np.isfinite(shown) & (shown > 0)]
    y_range = (10 ** np.floor(np.log10(shown.min() / 1.5)),
               10 ** np.ceil(np.log10(shown.max() * 1.5)))

    fig = Figure(figsize=LIMIT_FIGSIZE_IN, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim((low, high) if high > low else (low / 2, high * 2))
    ax.set_ylim(*y_range)
    handles, labels = [], []
    parts = [_draw_expected_band(ax, runs[0], f", {runs[0].name}" if len(runs) > 1 else ""),
             _draw_runs(ax, runs, y_range[1]),
             _draw_overlays(ax, extra)]
    if lmu_ltau:
        parts[:0] = [_draw_g2_bands(ax, masses, bands),
                     _draw_seed_curves(ax, masses, seed)]
    for part in parts:
        handles += part[0]
        labels += part[1]
    drawn = draw_context(ax, context)
    handles += drawn
    labels += [h.get_label() for h in drawn]
    for ncol in (2, 1):  # one column if two do not fit in the figure's width
        legend = ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.09),
                           ncol=ncol, fontsize=7.5, frameon=False, handlelength=2.6,
                           handler_map={tuple: HandlerTuple(ndivide=None, pad=0)})
        if legend.get_window_extent().width <= fig.bbox.width:
            break
    credibility = " / ".join(dict.fromkeys(_percent(r.credibility) for r in runs))
    models = " / ".join(dict.fromkeys(model_tex(r.model) for r in runs))
    ax.set_title(rf"{models} $Z'$: {credibility} credible upper limits on $g_{{Z'}}$"
                 "\n(shaded: excluded; thin band around a limit: its MC standard error)",
                 fontsize=10)
    ax.set_xlabel(r"$m_{Z'}$ [MeV]")
    ax.set_ylabel(r"$g_{Z'}$")
    ax.grid(which="major", alpha=0.25)
    return fig


def _draw_g2_bands(ax, masses: np.ndarray, bands: dict) -> Legend:
    """1 and 2 sigma (g-2)_mu bands; one legend entry per anomaly.

    A band whose Delta a_mu range includes 0 reaches g = 0: it is drawn by its upper edges
    (1 sigma solid, 2 sigma dashed) with the strip between them hatched, never as a fill down
    to the axis, which would read as an exclusion. The artists carry the gid ``g-2 LABEL``.
    """
    handles, labels = [], []
    for anomaly, band in bands.items():
        colour, gid = G2_COLOURS[anomaly.label], f"g-2 {anomaly.label}"
        (lo1, hi1), (lo2, hi2) = band[1], band[2]
        if np.any(lo2 > 0):
            ax.fill_between(masses, lo2, hi2, color=colour, alpha=0.18, lw=0, zorder=1,
                            gid=gid)
            ax.fill_between(masses, lo1, hi1, color=colour, alpha=0.35, lw=0, zorder=1,
                            gid=gid)
            handles.append((Patch(facecolor=to_rgba(colour, 0.35)),
                            Patch(facecolor=to_rgba(colour, 0.18))))
            extra = ""
        else:
            ax.fill_between(masses, hi1, hi2, facecolor="none", edgecolor=to_rgba(colour, 0.7),
                            hatch="////", lw=0, zorder=1, gid=gid)
            ax.plot(masses, hi2, color=colour, lw=1.2, ls="--", zorder=2, gid=gid)
            if np.any(lo1 > 0):
                ax.fill_between(masses, lo1, hi1, color=colour, alpha=0.35, lw=0, zorder=1,
                                gid=gid)
                first = Patch(facecolor=to_rgba(colour, 0.35))
            else:
                ax.plot(masses, hi1, color=colour, lw=1.4, zorder=2, gid=gid)
                first = Line2D([], [], color=colour, lw=1.4)
            handles.append((first, Patch(facecolor="none", edgecolor=colour, hatch="////",
                                         lw=1.2, ls="--")))
            extra = " upper edges (band reaches g = 0)"
        labels.append(rf"$(g-2)_\mu$ {anomaly.label}: $\Delta a_\mu = ("
                      rf"{anomaly.central / 1e-11:.0f} \pm {anomaly.sigma / 1e-11:.0f})"
                      rf"\times 10^{{-11}}$, $1\sigma$ / $2\sigma${extra}")
    return handles, labels


def _draw_seed_curves(ax, masses: np.ndarray, seed: SeedCurves) -> Legend:
    """The 8%-allowance curve and its rescaling by the seed's eq.-6 factor."""
    labels = [f"{ALLOWED_FRACTION:.0%} allowance, P$_{{ee}}$ = {BOREXINO_PHASE1_P_EE:.2f} "
              "(earlier work)", f"allowance × {error_treatment_factor():.3f} (seed eq. 6)"]
    handles = [*ax.plot(masses, seed.allowance, color="dimgray", ls=":", lw=1.4, zorder=3,
                        label=labels[0]),
               *ax.plot(masses, seed.error_treatment, color="dimgray", ls="--", lw=1.4,
                        zorder=3, label=labels[1])]
    return handles, labels


def _draw_runs(ax, runs: list[RunCurve], y_high: float) -> Legend:
    """Each run's limit with its excluded region, MC error band and non-converged masses;
    the first run's profile-likelihood limit (dashed, with open markers, above the credible
    limit it often overlies); equipartition runs times the seed's decoherence factor."""
    handles, labels = [], []
    decoherence = seed_decoherence_factor()
    names = curve_labels(runs)
    for k, (run, name) in enumerate(zip(runs, names, strict=True)):
        colour = RUN_COLOURS[k % len(RUN_COLOURS)]
        m, g = run.masses_MeV, run.g_upper
        ax.fill_between(m, g, y_high, color=colour, alpha=EXCLUDED_ALPHA / np.sqrt(len(runs)),
                        lw=0, zorder=0)
        ax.fill_between(m, g - run.g_upper_mcse, g + run.g_upper_mcse, color=colour,
                        alpha=0.4, lw=0, zorder=4)
        labels.append(name)
        handles += ax.plot(m, g, color=colour, lw=2, marker="o" if m.size == 1 else None,
                           zorder=5, label=name)
        bad = ~run.converged
        ax.plot(m[bad], g[bad], ls="none", marker="o", ms=6, mfc="white", mec=colour,
                mew=1.5, zorder=6)
        if k == 0 and np.isfinite(run.g_upper_profile).any():
            labels.append(profile_label(run.profile_level)
                          + (f" ({run.name})" if len(runs) > 1 else ""))
            handles += ax.plot(m, run.g_upper_profile, color=colour, ls=(0, (4, 2)), lw=1.0,
                               marker="v", ms=5, mfc="white", mec="black", mew=0.9,
                               markevery=max(1, m.size // PROFILE_MARKERS), zorder=7,
                               label=labels[-1])
        if run.flavour_model == "equipartition":
            labels.append(f"{name} × {decoherence:.2f} (seed decoherence factor)")
            handles += ax.plot(m, g * decoherence, color=colour, ls="-.", lw=1.2, zorder=5,
                               label=labels[-1])
    if any((~r.converged).any() for r in runs):
        handles.append(Line2D([], [], ls="none", marker="o", ms=6, mfc="white", mec="black"))
        labels.append("not converged")
    return handles, labels


#: Colours of the expected-limit bands: green 68%, yellow 95%, as experiments draw them.
EXPECTED_COLOURS = {68: "#00cc00", 95: "#ffdd00"}


def _draw_expected_band(ax, run: RunCurve, of: str = "") -> Legend:
    """The run's expected limits under the Standard Model: the 95% (yellow) and 68%
    (green) ranges of the pseudo-experiments' limits and their median (dashed); nothing for
    a run without pseudo-experiments. ``of`` names the run in the legend where several are
    drawn."""
    if run.expected is None:
        return [], []
    m, e = run.masses_MeV, run.expected
    patches = []
    for level in (95, 68):
        ax.fill_between(m, e[f"g_expected_lo{level}"], e[f"g_expected_hi{level}"],
                        color=EXPECTED_COLOURS[level], lw=0, zorder=1)
        patches.append(Patch(facecolor=EXPECTED_COLOURS[level]))
    median = ax.plot(m, e["g_expected_median"], color="black", ls="--", lw=1, zorder=2)
    return ([median[0], *reversed(patches)],
            [f"expected {run.expected_statistic or ''} limit under the SM "
             f"(pseudo-experiments{of}): median",
             "expected ± 1σ (68%)", "expected ± 2σ (95%)"])


def _draw_overlays(ax, overlays: list[Overlay]) -> Legend:
    """External curves from CSV files."""
    handles = []
    for k, overlay in enumerate(overlays):
        handles += ax.plot(overlay.masses_MeV, overlay.g, lw=1.4, zorder=5,
                           color=OVERLAY_COLOURS[k % len(OVERLAY_COLOURS)], label=overlay.label)
    return handles, [o.label for o in overlays]


def model_tex(model: str) -> str:
    """A U(1)' model name in TeX: 'Lmu-Ltau' -> '$L_\\mu - L_\\tau$'."""
    names = {"e": "e", "mu": r"\mu", "tau": r"\tau"}
    parts = [f"L_{names[p[1:]]}" if p[1:] in names and p[0] == "L" else p
             for p in model.split("-")]
    return "$" + " - ".join(parts) + "$"


# --- corner plots -----------------------------------------------------------------------

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
    credibility = _percent(float(scan.config["limits"]["credibility"]))
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
    percent = _percent(credibility)
    fig.suptitle(f"{scan.name}: posterior of the neutrino magnetic moments "
                 f"({result.moments})", fontsize=16, y=0.99)
    fig.text(0.97, 0.93, f"red lines: {percent} credible upper limits\n"
                         f"contours: {percent} credible regions\n{len(samples)} samples",
             ha="right", va="top", fontsize=14, color="tab:red")
    return fig


def _fit_corner_figure(scan, result) -> Figure:
    """The interaction rates [cpd/100t], the sampled normalisations of
    ``FIT_CORNER_BACKGROUNDS`` and the N_h-response nuisances of a Standard-Model fit, with
    their medians (lines) and 68% credible regions (contours)."""
    import corner

    sampled = [p.parameter for p in result.parameters]
    names = [*(name for name in sampled if name.startswith("rate_")),
             *(name for name in map(background_parameter, FIT_CORNER_BACKGROUNDS)
               if name in sampled),
             *(name for name in sampled if name in RESPONSE_PARAMETERS)]
    chains = scan.chains().posterior
    missing = [name for name in names if name not in chains]
    if missing:
        raise UserError(f"{scan.run_dir}: no posterior variable '{missing[0]}' in the chain "
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
            raise UserError(f"{path}: no posterior variable '{name}' in the chain file")
    names = [*leading, *(name for name in columns if name not in leading)]
    samples = np.column_stack([columns[name] for name in names])
    samples = samples[np.isfinite(samples).all(axis=1)]
    if len(samples) < 2:
        raise UserError(f"{path}: fewer than 2 finite posterior samples")
    varying = [j for j in range(len(names)) if np.ptp(samples[:, j]) > 0]
    for j, name in enumerate(leading):
        if j not in varying:
            raise UserError(f"{path}: the {'coupling g' if name == 'g' else name} does not "
                            f"vary in the chains")
    fixed = [names[j] for j in range(len(names)) if j not in varying]
    if fixed:
        log.info("%s: constant in the chains, left out of the corner plot: %s", path,
                 ", ".join(fixed))
    return [names[j] for j in varying], samples[:, varying]


# --- spectra ----------------------------------------------------------------------------

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
        ``mcprop.physics.spectral.SOURCE_GROUPS`` and backgrounds, by name); their sum is
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
        raise UserError(f"{scan.run_dir or scan.name}: not a Standard-Model fit (the fitted "
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
        raise UserError(f"{scan.run_dir or scan.name}: not a magnetic-moment run (a spectrum "
                        f"is drawn for a Standard-Model fit or a magnetic-moment run)")
    posterior = scan.posterior()
    measurement = next((m for m in posterior.measurements
                        if isinstance(m, SpectrumMeasurement)), None)
    if measurement is None:
        raise UserError(f"{scan.run_dir or scan.name}: the run has no spectrum measurement")
    first = scan.result_at(None).limits[0]
    draws = scan.chains(None).posterior
    nuisances = [float(np.median(draws[name].values)) for name in posterior.nuisance_names]
    moments = posterior.new_physics
    rows = np.array([[*moments.coordinates({}), *nuisances],
                     [*moments.coordinates({first.parameter: first.upper_muB}), *nuisances]])
    counts = posterior.expected_counts(rows, 0)[measurement.name]
    components = posterior.components(rows[:1], 0)[measurement.name]
    label = rf"$\mu_{{{first.parameter.removeprefix('mu_')}}}$ = {first.upper_muB:.3g} $\mu_B$"
    credibility = _percent(scan.config["limits"]["credibility"])
    return spectrum_figure(measurement.nh_edges, measurement.counts,
                           {name: values[0] for name, values in components.items()},
                           f"{scan.name} ({measurement.name})\nmodel without a moment, "
                           f"nuisances at their posterior medians; dashed: {label} (its "
                           f"{credibility} limit)", counts[1], label, measurement.response)


# --- output -----------------------------------------------------------------------------

def check_output(out: Path) -> None:
    """UserError unless ``out`` has a known suffix, its folder exists and it is not a
    symlink or a device (see :func:`mcprop.interface.formats.check_output`)."""
    formats.check_output(out, default="the default file")
    if out.suffix.lower() not in FORMATS:
        raise UserError(f"{out}: unsupported output format {out.suffix or '(none)'!r}; "
                        f"use {' or '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")


def save_figure(fig: Figure, out: Path) -> None:
    """Render ``fig`` in memory in the format of ``out``'s suffix and write it atomically."""
    check_output(out)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=FORMATS[out.suffix.lower()], dpi=fig.dpi)
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:
        raise UserError(f"{out}: cannot write ({exc.strerror or exc})") from None
