"""The limit-curve figure: g_90(m) of one or more runs (``mcprop plot``, and the
``limit_curve.png`` of every run), with their expected-limit bands, the seed's
fixed-factor curves, the (g-2)_mu bands, context curves and overlays read from CSV files.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import cbook
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.mathtext import MathTextParser
from matplotlib.patches import Patch

from mcprop.errors import ArgumentError
from mcprop.files import InputFileError, printable, read_text
from mcprop.inference.plan import PROFILE_LEVEL_90
from mcprop.inference.results import EXPECTED_COLUMNS
from mcprop.inference.seed_limits import SeedCurves, seed_comparison_curves, seed_decoherence_factor
from mcprop.interface.plots.output import DPI, model_tex, percent
from mcprop.physics.flavour import BOREXINO_PHASE1_P_EE
from mcprop.physics.muon_g2 import G2_2021, G2_2025
from mcprop.physics.seed_factors import SEED_ALLOWED_FRACTION, error_treatment_factor
from mcprop.physics.tables import data_lines

#: Size [inches] of the limit-curve figure at ``DPI`` (1350 x 1200 px;
#: the legend sits below the axes).
LIMIT_FIGSIZE_IN = (9.0, 8.0)
#: Masses [MeV] at which the comparison curves and the g-2 bands are evaluated: drawn as
#: straight lines between them on the log-log axes, they stay within 0.2% of the curves
#: over 0.01 MeV - 1 GeV (each mass costs ~1 ms of kernels).
N_CURVE_MASSES = 60
#: Markers on a profile-likelihood curve: at most about this many.
PROFILE_MARKERS = 25
#: Colours: runs, overlays, and the (g-2)_mu anomalies (hues apart from the runs' and from
#: the green and yellow of the expected-limit band).
RUN_COLOURS = ("tab:blue", "tab:red", "tab:purple", "tab:brown", "tab:cyan", "tab:olive")
OVERLAY_COLOURS = ("black", "tab:pink", "tab:gray", "darkgoldenrod", "teal")
G2_COLOURS = {G2_2021.label: "mediumorchid", G2_2025.label: "darkorange"}
#: Opacity of a run's excluded region (above its limit), divided by the square root of the
#: number of runs: light enough that several runs, the expected band and the (g-2)_mu bands
#: stay readable through it.
EXCLUDED_ALPHA = 0.06


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
    Raises ArgumentError naming the file (and line) when it is missing or unparsable.
    """
    name, _, label = spec.partition(":")
    path = Path(name)
    try:
        # bounded: a regular file, not /dev/zero or a FIFO; a byte-order mark is not data
        text = read_text(path).removeprefix("\ufeff")
    except InputFileError as exc:
        raise ArgumentError(f"overlay file {exc}") from None
    rows, header_allowed = [], True
    for number, line in data_lines(text):
        stripped = line.strip()
        fields = [f for f in re.split(r"\s*,\s*|\s+", stripped) if f]
        values = _floats(fields)
        if len(fields) != 2:
            raise ArgumentError(f"{path}: line {number}: expected two columns (mass [MeV], "
                            f"coupling), got {len(fields)}: {stripped!r}")
        if values is None and header_allowed:
            header_allowed = False
            continue
        if values is None or not all(math.isfinite(v) and v > 0 for v in values):
            raise ArgumentError(f"{path}: line {number}: expected two positive numbers "
                            f"(mass [MeV], coupling), got {stripped!r}")
        rows.append(values)
        header_allowed = False
    if not rows:
        raise ArgumentError(f"{path}: no data rows (expected lines 'mass_MeV,g')")
    masses, g = np.array(rows).T
    return Overlay(legend_label(label or path.stem, f"{path}: overlay label"), path, masses, g)


def legend_label(text: str, what: str) -> str:
    """``text`` if matplotlib can draw it (a label with ``$...$`` is mathtext); ArgumentError
    naming ``what`` otherwise."""
    if not text.isprintable():
        raise ArgumentError(f"{what} {printable(text)}: holds a control character")
    if cbook.is_math_text(text):
        try:
            MathTextParser("path").parse(text)
        except ValueError:
            raise ArgumentError(f"{what} {text}: not valid mathtext (write a literal $ as "
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
        """The curve of a :class:`~mcprop.interface.api.ScanResult`; ArgumentError if it has no
        finished mass or no mass grid (a magnetic-moment run)."""
        if not scan.has_masses:
            kind, figure = (("Standard-Model fit", "the fitted spectrum in spectrum_fit.png, ")
                            if scan.is_fit else ("magnetic-moment run", ""))
            raise ArgumentError(f"{scan.run_dir or scan.name}: a {kind} has no mass grid, so no "
                            f"limit curve to plot; its numbers are in limits.csv, {figure}"
                            f"its posterior in 'mcprop corner {scan.run_dir or 'RUN'}'")
        if not scan.results:
            raise ArgumentError(f"{scan.run_dir or scan.name}: no finished masses to plot")

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
        base.append(f"{model}{data}, {percent(run.credibility)} credible")
    return [f"{text} ({run.name})" if base.count(text) > 1 else text
            for text, run in zip(base, runs, strict=True)]


def profile_label(level: float) -> str:
    """Legend label of a profile-likelihood limit at -2 Delta ln L = ``level``."""
    if math.isclose(level, PROFILE_LEVEL_90, rel_tol=1e-9):
        return "profile likelihood, 90% CL"
    return rf"profile likelihood, $-2\Delta\ln L$ = {level:.4g}"


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
        raise ArgumentError(f"--context: {exc}") from None
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
    credibility = " / ".join(dict.fromkeys(percent(r.credibility) for r in runs))
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
    labels = [f"{SEED_ALLOWED_FRACTION:.0%} allowance, P$_{{ee}}$ = {BOREXINO_PHASE1_P_EE:.2f} "
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
