"""Other experiments' bounds on the L_mu - L_tau Z', drawn as context on limit plots.

Each name of :data:`CONTEXT_CURVES` is one item ``mcprop plot --context`` can add:

- ``ccfr``: the CCFR neutrino-trident bound (W. Altmannshofer et al., PRL 113, 091801 (2014));
- ``babar``: the BaBar e+e- -> mu+mu- Z' search (J. P. Lees et al., PRD 94, 011102 (2016));
- ``borexino-bfj``: the Borexino Phase-I 7Be bound of Bauer, Foldenauer and Jaeckel (JHEP 07
  (2018) 094), recast into L_mu - L_tau by Darkcast, up to 200 MeV;
- ``amaral``: Amaral, Cerdeno, Foldenauer and Reid (arXiv:2006.11225) publish no curve file;
  their abstract states that Borexino excludes the (g-2)_mu explanation for masses below
  2e-2 GeV, drawn as a marker at 20 MeV on the centre of the 2021 (g-2)_mu band;
- ``icecube``: the two (m, g) points of Gninenko & Gorbunov (arXiv:2007.16098), Fig. 1,
  at which a Z' explains features of the IceCube cosmic-neutrino spectrum (their Ref. [16]);
- ``g-2``: the (g-2)_mu bands, drawn by :mod:`mcprop.interface.plots` (nothing here).

The curves are third-party digitisations (package data written by
``scripts/convert_constraints.py``; provenance in ``data/constraints.md``): every legend
label names the origin and says "digitised". The excluded region (above each curve) is
shaded lightly; the shading does not enter the axes' data limits, so it never widens an
autoscaled plot.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from matplotlib.collections import PolyCollection

from mcprop.physics.muon_g2 import G2_2021, delta_a_mu
from mcprop.physics.tables import package_csv

#: Columns of the digitised-curve files.
COLUMNS = ("m_zprime_MeV", "g", "segment")
#: Coupling up to which an excluded region is shaded: far above any plotted coupling.
_SHADE_TOP_G = 1e3
_SHADE_ALPHA = 0.07


@dataclass(frozen=True)
class DigitisedCurve:
    """A digitised exclusion curve g(m) from the package data; excluded above it."""

    label: str
    filename: str
    colour: str

    def segments(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(masses [MeV], g) of each connected piece of the curve."""
        return _read_segments(self.filename)

    def draw(self, ax) -> list:
        """The curve (one legend entry) and its lightly shaded excluded side."""
        handles = []
        polygons = []
        for k, (masses, g) in enumerate(self.segments()):
            handles += ax.plot(masses, g, color=self.colour, lw=1.3, zorder=3,
                               label=self.label if k == 0 else "_nolegend_")
            top = np.full_like(g, _SHADE_TOP_G)
            polygons.append(np.column_stack([np.concatenate([masses, masses[::-1]]),
                                             np.concatenate([g, top[::-1]])]))
        ax.add_collection(PolyCollection(polygons, facecolors=self.colour, alpha=_SHADE_ALPHA,
                                         linewidths=0, zorder=0.5, label="_nolegend_"),
                          autolim=False)
        return handles[:1]


@dataclass(frozen=True)
class ReferencePoint:
    """A marked (m, g) point."""

    mass_MeV: float
    g: float
    marker: str
    label: str


@dataclass(frozen=True)
class ReferencePoints:
    """Points drawn as markers, one legend entry each."""

    points: tuple[ReferencePoint, ...]
    colour: str

    def draw(self, ax) -> list:
        handles = []
        for point in self.points:
            handles += ax.plot([point.mass_MeV], [point.g], ls="none", marker=point.marker,
                               ms=9, mew=2, color=self.colour, zorder=7, label=point.label)
        return handles


@dataclass(frozen=True)
class DrawnByPlots:
    """A context item that :mod:`mcprop.interface.plots` draws itself."""

    description: str

    def draw(self, ax) -> list:
        return []


#: Amaral et al. (arXiv:2006.11225, abstract): Borexino excludes the (g-2)_mu explanation
#: "with mediator masses smaller than 2x10^-2 GeV"; the marker sits at that mass on the
#: centre of the 2021 (g-2)_mu band (their own band is not public as numbers).
AMARAL_EDGE_MASS_MEV = 20.0
_AMARAL_G = float(np.sqrt(G2_2021.central / delta_a_mu(1.0, AMARAL_EDGE_MASS_MEV)))

_ICECUBE_ORIGIN = "Z' for IceCube ν-spectrum features (Gninenko & Gorbunov 2020, Ref. [16])"

#: The context items ``mcprop plot --context`` accepts, by name.
CONTEXT_CURVES: dict[str, DigitisedCurve | ReferencePoints | DrawnByPlots] = {
    "ccfr": DigitisedCurve(
        "CCFR ν trident (Altmannshofer et al. 2014; digitised)",
        "constraints_ccfr_trident.csv", "saddlebrown"),
    "babar": DigitisedCurve(
        r"BaBar $e^+e^-\to\mu^+\mu^-Z'$ (Lees et al. 2016; digitised by Darkcast)",
        "constraints_babar_2016.csv", "darkviolet"),
    "borexino-bfj": DigitisedCurve(
        "Borexino Phase I, 7Be rate (Bauer, Foldenauer, Jaeckel 2018; Darkcast recast; "
        "digitised)", "constraints_borexino_bfj2018.csv", "black"),
    "amaral": ReferencePoints((
        ReferencePoint(AMARAL_EDGE_MASS_MEV, _AMARAL_G, "<",
                       r"Borexino excludes the $(g-2)_\mu$ band below 20 MeV (Amaral et al. "
                       "2020, abstract; no curve public)"),
    ), "crimson"),
    "icecube": ReferencePoints((
        ReferencePoint(11.0, 5e-4, "+", f"(11 MeV, 5e-4): {_ICECUBE_ORIGIN}"),
        ReferencePoint(9.0, 4e-4, "x", f"(9 MeV, 4e-4): {_ICECUBE_ORIGIN}"),
    ), "navy"),
    "g-2": DrawnByPlots("(g-2)_mu bands of mcprop.physics.muon_g2, drawn by the plot itself"),
}


def check_context_names(names: Sequence[str]) -> list[str]:
    """The names without repeats, in order (one name may be given as a string);
    ValueError naming the unknown and known ones.

    >>> check_context_names("ccfr")
    ['ccfr']
    """
    if isinstance(names, str):  # one name, not a sequence of letters
        names = [names]
    unknown = [name for name in names if name not in CONTEXT_CURVES]
    if unknown:
        raise ValueError(f"unknown context curve(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(CONTEXT_CURVES)}")
    return list(dict.fromkeys(names))


def draw_context(ax, names: Sequence[str]) -> list:
    """Draw the context items ``names`` on ``ax`` (log-log axes of m_Z' [MeV] and g).

    Returns
    -------
    list
        One legend handle per entry (labels via ``handle.get_label()``); ``g-2`` adds none.
    """
    handles = []
    for name in check_context_names(names):
        handles += CONTEXT_CURVES[name].draw(ax)
    return handles


@cache
def _read_segments(filename: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Segments of a package-data curve file ('#' comments, header ``COLUMNS``)."""
    rows = iter(package_csv(filename, "mcprop.interface"))
    header = next(rows)
    if tuple(header) != COLUMNS:
        raise ValueError(f"{filename}: header must be {','.join(COLUMNS)}, got {header}")
    table = np.array([[float(x) for x in row] for row in rows])
    table.setflags(write=False)
    segment = table[:, 2].astype(int)
    return [(table[segment == s, 0], table[segment == s, 1]) for s in np.unique(segment)]
