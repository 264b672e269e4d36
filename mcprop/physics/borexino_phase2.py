"""The Borexino Phase-II data: the TFC-subtracted spectrum in unit N_h bins, Borexino's
best-fit model and background components (package data, data/borexino_phase2.md), the
exposure, and the source groups in which Borexino quotes rates.

>>> data = load_borexino_phase2()
>>> int(data.nh[0]), int(data.nh[-1])
(92, 950)
"""

from dataclasses import dataclass

import numpy as np

from mcprop.physics.tables import package_csv

#: Exposure of the TFC-subtracted Borexino Phase-II spectrum [day x 100 t]: 1291.51 days x
#: 71.3 t x 63.25 % (Borexino, Nature 562, 505 (2018); PRD 100, 082004 (2019)); rate x
#: exposure gives integer counts in every bin (data/borexino_phase2.md).
BOREXINO_PHASE2_EXPOSURE_DAY_100T = 582.326

#: Source groups in which rates and spectral components are reported, as Borexino quotes
#: them (Nature 562, 505 (2018), Table 1): 7Be both lines together, CNO the sum of 13N,
#: 15O and 17F.
SOURCE_GROUPS: dict[str, tuple[str, ...]] = {
    "pp": ("pp",),
    "7be": ("be7_862", "be7_384"),
    "pep": ("pep",),
    "cno": ("n13", "o15", "f17"),
    "b8": ("b8",),
}


@dataclass(frozen=True)
class BorexinoPhase2Data:
    """The Borexino Phase-II spectrum in unit N_h bins (package data, borexino_phase2.md).

    Attributes
    ----------
    nh : (n,) int
        N_h of each unit bin (92-950).
    counts : (n,) int
        Observed counts.
    best_fit_counts : (n,)
        Borexino's best-fit model [counts]; nan where the source does not give it.
    background_nh : (m,) int
        N_h of the background table's unit bins (93-950).
    background_rates : dict of str -> (m,)
        Borexino's fitted background components [counts / (day x 100 t) per unit bin].
    solar_rate : (m,)
        Borexino's summed solar curve [counts / (day x 100 t) per unit bin], for checks.
    exposure_day_100t : float
    """

    nh: np.ndarray
    counts: np.ndarray
    best_fit_counts: np.ndarray
    background_nh: np.ndarray
    background_rates: dict
    solar_rate: np.ndarray
    exposure_day_100t: float = BOREXINO_PHASE2_EXPOSURE_DAY_100T


def _numeric_table(name: str) -> tuple[list[str], np.ndarray]:
    """Header and numbers of a package-data table."""
    header, *rows = package_csv(name)
    return header, np.array(rows, dtype=float)


def load_borexino_phase2() -> BorexinoPhase2Data:
    """Borexino Phase-II spectrum, best-fit model and background components (package data)."""
    _, spectrum = _numeric_table("borexino_phase2_spectrum.csv")
    header, components = _numeric_table("borexino_phase2_backgrounds.csv")
    columns = dict(zip(header, components.T, strict=True))
    backgrounds = {name: columns[name] for name in header[1:] if name != "solar"}
    return BorexinoPhase2Data(spectrum[:, 0].astype(int), spectrum[:, 1].astype(int),
                              spectrum[:, 2], columns["nh"].astype(int), backgrounds,
                              columns["solar"])


def rebin(nh, values, nh_edges) -> np.ndarray:
    """Sum unit-bin ``values`` (last axis, unit bins centred on the integers ``nh``) into the
    bins of ``nh_edges`` (half-integers); unit bins outside the edges are dropped."""
    index = np.searchsorted(np.asarray(nh_edges), np.asarray(nh)) - 1
    inside = (index >= 0) & (index < len(nh_edges) - 1)
    values = np.asarray(values, dtype=float)
    out = np.zeros(values.shape[:-1] + (len(nh_edges) - 1,))
    np.add.at(out, (..., index[inside]), values[..., inside])
    return out
