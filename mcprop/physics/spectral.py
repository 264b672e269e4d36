"""The Borexino Phase-II recoil spectrum in N_h bins, with a light Z' or magnetic moments.

Expected solar counts of source s in N_h bin b (exposure X [day x 100 t], N_e electrons per
100 t, flux Phi_s [cm^-2 s^-1], normalised spectrum lambda_s(E)):

    mu_sb = X N_e 86400 Phi_s Int dE lambda_s(E) sum_a P_ea(E) Int dT dsigma_a/dT(T, E) R(T -> b)

with dsigma_a/dT = PREFACTOR [c0_a + kappa_a c1_a + kappa_a^2 c2] and
kappa_a = x_a C r(T) / (m^2 + 2 m_e T) (docs/physics.md sec. 6-6, mcprop.physics.kernels). The
flavour probabilities vary smoothly with E and depend on sampled parameters, so they are
represented on a few energy nodes per continuous source, P_ea(E) = sum_k P_ea(E_k) L_k(E)
(L_k: Lagrange polynomials in ln E on Chebyshev nodes), and every T and E integral is done once
per mass, node and bin: templates for the SM (c0), the term linear in C (c1) and the term
quadratic in C (c2).

The detector response R(T -> b) is Gaussian in N_h (NhResponse) with three nuisances: an
energy scale, an offset and a resolution scale. Their effect on the solar counts is a
quadratic model in the nuisances built from central differences of the response (19 response
evaluations), so sampling them needs no integration. Backgrounds are shapes in N_h with free
normalisations; given in unit bins as the detector saw them (BackgroundShapes), they take the
same relative response change as the solar counts (:meth:`BackgroundShapes.with_response_change`,
docs/physics.md sec. 14), in the same quadratic model.

All templates (about 1600 per mass) are combinations of about 70 spectra in N_h, so they are
stored in that basis: an evaluation costs two small matrix products per batch of samples.

Neutrino magnetic moments take the place of the Z' in the same machinery
(:meth:`SpectralTemplates.compute_magnetic_moment`): one grid point whose new-physics rows
are the EM recoil spectra per probability node, weighted by flux x sum_a P_ea mu_a^2 at run
time (mcprop.physics.magnetic_moment; docs/physics.md sec. 10).

For comparison with published interaction rates, the templates also hold the total rate per
unit flux of every probability node and flavour (all recoil energies, no detector response,
no Z'), in the same node representation: :meth:`SpectralTemplates.interaction_rates_cpd100t`.

The cross-section expansion is the project's one definition,
:func:`mcprop.physics.scattering.cross_section_coefficients` (BKS radiative corrections or
tree level).
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np
import scipy.linalg
from scipy.special import ndtr

from mcprop.physics.constants import (
    ELECTRONS_PER_100T_PSEUDOCUMENE,
    M_ELECTRON_MEV,
    SECONDS_PER_DAY,
)
from mcprop.physics.magnetic_moment import dsigma_dT_magnetic_cm2_per_MeV
from mcprop.physics.scattering import (
    CROSS_SECTION_PREFACTOR_CM2_PER_MEV,
    U1Model,
    cross_section_coefficients,
    default_sin2_theta_w,
    electron_coupling_running,
    t_max_MeV,
)
from mcprop.physics.solar_spectra import (
    SOLAR_SOURCES,
    SolarSource,
    flux_parameters,
    min_neutrino_energy_MeV,
    spectrum,
)

#: Exposure of the TFC-subtracted Borexino Phase-II spectrum [day x 100 t]: 1291.51 days x
#: 71.3 t x 63.25 % (Borexino, Nature 562, 505 (2018); PRD 100, 082004 (2019)); rate x
#: exposure gives integer counts in every bin (data/borexino_phase2.md).
BOREXINO_PHASE2_EXPOSURE_DAY_100T = 582.326

#: Default steps of the quadratic response model (scale, offset [N_h], width scale): about
#: the 1-sigma of the calibrated response's priors (priors/borexino-phase2-backgrounds.toml),
#: where the model is exact.
RESPONSE_STEPS = (0.01, 1.0, 0.01)
#: Quadratic response model: number of terms (1, 3 linear, 3 squares, 3 products).
_RESPONSE_TERMS = 10
#: Response probability below which a recoil energy is left out of the integrals.
_NEGLIGIBLE = 1e-12
#: Response-model entries below this are set to zero.
_DROPPED = 1e-15
#: Recoil integral: Gauss-Legendre panels of this width in mean N_h, with this many nodes.
_T_PANEL_NH, _T_ORDER = 8.0, 6
#: Leading basis spectra tried before all of them (the templates need about 70).
_LEADING_BASIS = 192
#: Largest number of grid masses whose templates define the basis.
_REFERENCE_MASSES = 12
#: Neutrino-energy integral at each recoil energy: Gauss-Legendre nodes.
_E_ORDER = 48
_gl_t, _gl_tw = np.polynomial.legendre.leggauss(_T_ORDER)
_gl_e, _gl_ew = np.polynomial.legendre.leggauss(_E_ORDER)
#: Total cross section: Gauss-Legendre rule on [0, 1] (4 panels of 16 nodes) in v, mapped to
#: T / T_max = 1 - (1 - v)^3, which crowds the nodes toward T_max, where the O(alpha) QED
#: factors have an integrable logarithmic singularity (relative error below 3e-7 against
#: the 1024-node rule of mcprop.physics.kernels; exact at tree level).
_SIGMA_PANELS, _SIGMA_ORDER = 4, 16
_gl_v, _gl_vw = np.polynomial.legendre.leggauss(_SIGMA_ORDER)
_v = ((np.arange(_SIGMA_PANELS)[:, None] + 0.5 * (_gl_v + 1.0)) / _SIGMA_PANELS).ravel()
_RECOIL_FRACTIONS = 1.0 - (1.0 - _v) ** 3
_RECOIL_FRACTION_WEIGHTS = (np.tile(0.5 * _gl_vw / _SIGMA_PANELS, _SIGMA_PANELS)
                            * 3.0 * (1.0 - _v) ** 2)
#: Neutrino-energy integral of the total rate: Gauss-Legendre nodes per interval of the
#: tabulated spectrum (exact for the linear density times a cubic cross section).
_SPECTRUM_PANEL_ORDER = 2
_gl_s, _gl_sw = np.polynomial.legendre.leggauss(_SPECTRUM_PANEL_ORDER)

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
class NhResponse:
    """Gaussian response in the energy estimator N_h to an electron recoil T [MeV].

    mean(T) = N_h(T) + energy_scale (N_h(T) - pivot_nh) + offset_nh,
    N_h(T) = sum_k nh_mean_coefficients[k] T^k; width(T) = (1 + resolution_scale)
    sigma(N_h(T)), sigma(N) = a + b sqrt(N) + c N with (a, b, c) = nh_sigma_coefficients.
    Unit bin N_h = n covers [n - 1/2, n + 1/2). The energy scale turns about ``pivot_nh``, so
    that the offset is the shift at the pivot (0: a plain scale).

    The width uses the unshifted N_h(T), so the three nuisances act independently.
    """

    nh_mean_coefficients: tuple[float, ...]
    nh_sigma_coefficients: tuple[float, float, float]
    source: str
    pivot_nh: float = 0.0
    energy_scale: float = 0.0
    offset_nh: float = 0.0
    resolution_scale: float = 0.0

    def __post_init__(self):
        if len(self.nh_sigma_coefficients) != 3:
            raise ValueError("nh_sigma_coefficients must hold (a, b, c) of a + b sqrt(N) + c N")
        if not self.resolution_scale > -1:
            raise ValueError(f"resolution_scale must be > -1, got {self.resolution_scale}")
        if not self.energy_scale > -1:
            raise ValueError(f"energy_scale must be > -1, got {self.energy_scale}")

    def nominal_nh(self, T_MeV) -> np.ndarray:
        """N_h(T) without nuisances."""
        return np.polynomial.polynomial.polyval(np.asarray(T_MeV, dtype=float),
                                                self.nh_mean_coefficients)

    @property
    def max_nh(self) -> float:
        """Largest N_h at which the width still grows with N_h: the response's range."""
        _, b, c = self.nh_sigma_coefficients
        return (b / (2 * c)) ** 2 if c < 0 else np.inf

    def nominal_width(self, nh) -> np.ndarray:
        """sigma(N) = a + b sqrt(N) + c N at N_h ``nh`` (no resolution nuisance)."""
        a, b, c = self.nh_sigma_coefficients
        clipped = np.clip(np.asarray(nh, dtype=float), 0.0, None)
        return a + b * np.sqrt(clipped) + c * clipped

    def mean_and_width(self, T_MeV) -> tuple[np.ndarray, np.ndarray]:
        """Mean and Gaussian width of N_h for a recoil T [MeV]."""
        nominal = self.nominal_nh(T_MeV)
        width = (1 + self.resolution_scale) * self.nominal_width(nominal)
        return (nominal + self.energy_scale * (nominal - self.pivot_nh) + self.offset_nh,
                width)

    def bin_probabilities(self, T_MeV, nh_edges) -> np.ndarray:
        """P(recoil T seen in bin b), shape T.shape + (n_bins,)."""
        mean, width = self.mean_and_width(T_MeV)
        cdf = ndtr((np.asarray(nh_edges) - mean[..., None]) / width[..., None])
        return np.diff(cdf, axis=-1)

    def shifted(self, energy_scale=0.0, offset_nh=0.0, resolution_scale=0.0) -> "NhResponse":
        """The response with the nuisances moved by the given amounts."""
        return replace(self, energy_scale=self.energy_scale + energy_scale,
                       offset_nh=self.offset_nh + offset_nh,
                       resolution_scale=self.resolution_scale + resolution_scale)


def _data_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a package-data CSV file ('#' lines are comments)."""
    text = (resources.files("mcprop.physics") / "data" / name).read_text()
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
    return rows[0], rows[1:]


#: Package-data files of the two N_h responses and what they are.
NH_RESPONSES = {
    "calibrated": ("borexino_phase2_response_calibrated.csv",
                   "calibrated on Borexino's Phase-II best-fit spectrum (Nature 562, 505 (2018) "
                   "Fig. 2a; scripts/calibrate_response.py)"),
    "coloma2022": ("borexino_phase2_response.csv",
                   "P. Coloma et al., JHEP 07 (2022) 138, arXiv:2204.03011"),
}


def load_nh_response(name: str = "calibrated") -> NhResponse:
    """An N_h response of :data:`NH_RESPONSES` (package data): by default the one calibrated
    on Borexino's best-fit spectrum (data/borexino_phase2_response_calibrated.csv), or
    ``"coloma2022"``, that of P. Coloma et al., JHEP 07 (2022) 138 (on which the calibration
    starts).

    >>> load_nh_response("coloma2022").nh_sigma_coefficients
    (1.21974, 1.31394, -0.0148585)
    """
    if name not in NH_RESPONSES:
        raise ValueError(f"unknown N_h response {name!r} (choose one of "
                         f"{', '.join(NH_RESPONSES)})")
    file, source = NH_RESPONSES[name]
    _, rows = _data_rows(file)
    coefficients = {"nh_mean": {}, "nh_sigma": {}, "nh_pivot": {0: 0.0}}
    for quantity, power, value in rows:
        coefficients[quantity][int(power)] = float(value)
    mean, sigma, pivot = (tuple(c[k] for k in sorted(c)) for c in coefficients.values())
    return NhResponse(mean, sigma, source, pivot[0])


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
    header, rows = _data_rows(name)
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


#: Unit N_h bins added below and above background shapes (log-linear extrapolation of their
#: first and last _EXTRAPOLATION_BINS bins), so that a shift or a broadening of the response
#: brings in events from outside the tabulated range.
_BACKGROUND_PAD_NH, _EXTRAPOLATION_BINS = 40, 6


@dataclass(frozen=True)
class BackgroundShapes:
    """Background components in unit N_h bins as the detector saw them, i.e. already folded
    with its response: ``counts`` (n_bkg, m) at normalisation 1 in the unit bins centred on
    the consecutive integers ``nh`` (m,). (A narrowed shape, :meth:`smeared` with r < 0, is
    an extrapolation and may dip below zero where a shape has a step.)

    >>> shapes = BackgroundShapes(np.arange(93, 951), counts)       # doctest: +SKIP
    >>> shapes.with_response_change(response, 0.0, 1.0, 0.05).rebinned(edges)  # doctest: +SKIP
    """

    nh: np.ndarray
    counts: np.ndarray

    def __post_init__(self):
        nh = np.asarray(self.nh)
        counts = np.atleast_2d(np.asarray(self.counts, dtype=float))
        if nh.ndim != 1 or nh.size < 2 * _EXTRAPOLATION_BINS or np.any(np.diff(nh) != 1):
            raise ValueError("background shapes need consecutive unit N_h bins "
                             f"(at least {2 * _EXTRAPOLATION_BINS})")
        if counts.shape[-1] != nh.size or np.any(~np.isfinite(counts)):
            raise ValueError(f"background shapes must be finite counts in {nh.size} bins")
        object.__setattr__(self, "nh", nh.astype(float))
        object.__setattr__(self, "counts", counts)

    def rebinned(self, nh_edges) -> np.ndarray:
        """Counts (n_bkg, n_bins) in the bins of ``nh_edges``."""
        return rebin(self.nh, self.counts, nh_edges)

    def padded(self) -> "BackgroundShapes":
        """The shapes with _BACKGROUND_PAD_NH bins on each side, each component extrapolated
        exponentially from its outermost _EXTRAPOLATION_BINS bins (zero if any is zero)."""
        steps = np.arange(1, _BACKGROUND_PAD_NH + 1)
        k = _EXTRAPOLATION_BINS
        sides = []
        for edge, sign in ((self.counts[:, :k], -1), (self.counts[:, -k:], 1)):
            positive = np.all(edge > 0, axis=1)
            logs = np.log(np.where(edge > 0, edge, 1.0))
            slope = np.polyfit(np.arange(k), logs.T, 1)[0]
            end = edge[:, -1 if sign > 0 else 0]
            rows = end[:, None] * np.exp(sign * slope[:, None] * steps[None])
            rows = np.where(positive[:, None], rows, 0.0)
            sides.append(rows[:, ::-1] if sign < 0 else rows)
        nh = np.arange(self.nh[0] - _BACKGROUND_PAD_NH, self.nh[-1] + _BACKGROUND_PAD_NH + 1)
        return BackgroundShapes(nh, np.concatenate([sides[0], self.counts, sides[1]], axis=1))

    def smeared(self, response: NhResponse, resolution_scale: float) -> "BackgroundShapes":
        """The counts each unit bin N would give with the response width changed from
        sigma(N) to (1 + r) sigma(N): for r > 0, a Gaussian of variance
        sigma(N)^2 ((1 + r)^2 - 1) (integrated over the unit bins; counts leaving the range
        are lost). A narrower response (r < 0) has no stable deconvolution: it is the
        quadratic extrapolation 3 f(0) - 3 f(|r|) + f(2|r|) of the broader ones."""
        r = float(resolution_scale)
        if r == 0.0:
            return self
        if r < 0:
            once, twice = self.smeared(response, -r), self.smeared(response, -2 * r)
            return BackgroundShapes(self.nh, 3 * self.counts - 3 * once.counts + twice.counts)
        width = response.nominal_width(self.nh) * np.sqrt((1 + r) ** 2 - 1)
        edges = np.append(self.nh - 0.5, self.nh[-1] + 0.5)
        kernel = np.diff(ndtr((edges[:, None] - self.nh[None]) / width[None]), axis=0)
        return BackgroundShapes(self.nh, self.counts @ kernel.T)

    def moved(self, energy_scale: float, offset_nh: float, pivot_nh: float = 0.0
              ) -> "BackgroundShapes":
        """The counts with every N_h moved to N + s (N - pivot) + o (counts conserved;
        uniform within each unit bin)."""
        edges = np.append(self.nh - 0.5, self.nh[-1] + 0.5)
        cumulative = np.concatenate([np.zeros((len(self.counts), 1)),
                                     np.cumsum(self.counts, axis=1)], axis=1)
        origin = (edges - offset_nh + energy_scale * pivot_nh) / (1 + energy_scale)
        moved = np.stack([np.interp(origin, edges, row) for row in cumulative])
        return BackgroundShapes(self.nh, np.diff(moved, axis=1))

    def with_response_change(self, response: NhResponse, energy_scale=0.0, offset_nh=0.0,
                             resolution_scale=0.0) -> "BackgroundShapes":
        """The shapes as seen with the response's nuisances moved by these amounts relative
        to ``response``, the one they were folded with: the same change the solar templates
        take (mean N + s (N - pivot) + o, width (1 + r) sigma(N) of the unshifted N):
        smeared (:meth:`smeared`), then moved (:meth:`moved`)."""
        return self.smeared(response, resolution_scale).moved(energy_scale, offset_nh,
                                                              response.pivot_nh)


def background_response_model(shapes: BackgroundShapes, response: NhResponse, steps,
                              nh_edges) -> np.ndarray:
    """The quadratic response model of background ``shapes`` in the bins of ``nh_edges``:
    shape (10, n_bkg, n_bins), the monomials of :func:`response_monomials`, from the 19
    stencil points of the solar templates' model (the shapes padded first)."""
    padded = shapes.padded()
    smeared = {}
    values = []
    for s, o, r in _response_stencil(np.asarray(steps, dtype=float)):
        if r not in smeared:
            smeared[r] = padded.smeared(response, r)
        values.append(smeared[r].moved(s, o, response.pivot_nh).rebinned(nh_edges))
    return _quadratic_model(np.stack(values))


def _gauss_legendre(low, high, nodes, weights):
    """Gauss-Legendre rule on [low, high] (broadcast): nodes and weights, last axis the rule."""
    low, high = np.asarray(low)[..., None], np.asarray(high)[..., None]
    half = 0.5 * (high - low)
    return low + half * (nodes + 1.0), half * weights


def _response_stencil(steps) -> list[tuple[float, float, float]]:
    """Nuisance shifts of the 19-point central-difference stencil: centre, +-step on each
    axis, and the four (+-, +-) corners of each pair of axes."""
    points = [(0.0, 0.0, 0.0)]
    for i in range(3):
        for sign in (1.0, -1.0):
            shift = [0.0, 0.0, 0.0]
            shift[i] = sign * steps[i]
            points.append(tuple(shift))
    for i, j in ((0, 1), (0, 2), (1, 2)):
        for si in (1.0, -1.0):
            for sj in (1.0, -1.0):
                shift = [0.0, 0.0, 0.0]
                shift[i], shift[j] = si * steps[i], sj * steps[j]
                points.append(tuple(shift))
    return points


def _quadratic_model(values: np.ndarray) -> np.ndarray:
    """Coefficients of the quadratic model (axis 0: the 10 monomials of ``response_monomials``)
    from the values at the 19 stencil points (axis 0), in units of the steps."""
    f0, axes, corners = values[0], values[1:7], values[7:]
    plus, minus = axes[0::2], axes[1::2]
    linear = 0.5 * (plus - minus)
    square = 0.5 * (plus + minus) - f0
    cross = 0.25 * (corners[0::4] - corners[1::4] - corners[2::4] + corners[3::4])
    return np.concatenate([f0[None], linear, square, cross])


def response_monomials(response_shifts, steps) -> np.ndarray:
    """The 10 monomials (1, x_i, x_i^2, x_0 x_1, x_0 x_2, x_1 x_2) of x = shifts / steps,
    shape (10,) + shifts.shape[1:]."""
    x = np.asarray(response_shifts, dtype=float) / np.asarray(steps, dtype=float).reshape(
        (3,) + (1,) * (np.ndim(response_shifts) - 1))
    return np.stack([np.ones_like(x[0]), x[0], x[1], x[2], x[0] ** 2, x[1] ** 2, x[2] ** 2,
                     x[0] * x[1], x[0] * x[2], x[1] * x[2]])


def _recoil_range_MeV(responses, nh_edges, max_recoil_MeV: float) -> tuple[float, float]:
    """Recoil energies [MeV], at most ``max_recoil_MeV``, outside which every response puts
    less than 1e-12 of a recoil into the bins."""
    nominal = responses[0]
    T = np.concatenate([[0.0], np.geomspace(1e-6, max_recoil_MeV, 6000)])
    in_range = nominal.nominal_nh(T) < nominal.max_nh
    seen = np.zeros(T.shape, dtype=bool)
    for response in responses:
        mean, width = response.mean_and_width(T)
        inside = ndtr((nh_edges[-1] - mean) / width) - ndtr((nh_edges[0] - mean) / width)
        seen |= inside > _NEGLIGIBLE
    if not seen.any():
        raise ValueError("no recoil energy reaches the N_h bins")
    if np.any(seen & ~in_range):
        raise ValueError(f"N_h bins up to {nh_edges[-1]} need the response beyond its range "
                         f"(N_h < {nominal.max_nh:.0f})")
    first, last = np.flatnonzero(seen)[[0, -1]]
    return float(T[max(first - 1, 0)]), float(T[min(last + 1, T.size - 1)])


def _recoil_nodes(response: NhResponse, breakpoints_MeV):
    """Gauss-Legendre nodes and weights in T [MeV] between sorted breakpoints, on panels of
    about equal width in N_h(T) that end at every breakpoint."""
    nodes, weights = [], []
    for low, high in zip(breakpoints_MeV[:-1], breakpoints_MeV[1:], strict=True):
        grid = np.linspace(low, high, 2001)
        nh = response.nominal_nh(grid)
        panels = max(1, int(np.ceil((nh[-1] - nh[0]) / _T_PANEL_NH)))
        edges = np.interp(np.linspace(nh[0], nh[-1], panels + 1), nh, grid)
        edges[0], edges[-1] = low, high
        T, w = _gauss_legendre(edges[:-1], edges[1:], _gl_t, _gl_tw)
        nodes.append(T.ravel())
        weights.append(w.ravel())
    return np.concatenate(nodes), np.concatenate(weights)


def _lagrange_basis(x, nodes) -> np.ndarray:
    """Lagrange polynomials L_k(x) on ``nodes``, shape (n_nodes,) + x.shape."""
    x = np.asarray(x, dtype=float)
    basis = np.ones((len(nodes),) + x.shape)
    for k, xk in enumerate(nodes):
        for j, xj in enumerate(nodes):
            if j != k:
                basis[k] *= (x - xj) / (xk - xj)
    return basis


def _node_range(source: SolarSource, low_MeV: float) -> tuple[float, float]:
    """ln E range [ln MeV] of a continuous source's probability nodes: from the lowest energy
    that reaches the bins (at least a tenth of the endpoint) to the endpoint."""
    high = source.max_energy_MeV
    return float(np.log(max(low_MeV, 0.1 * high))), float(np.log(high))


def probability_nodes_MeV(source: SolarSource, low_MeV: float, count: int) -> np.ndarray:
    """Energies [MeV] at which the flavour probabilities of ``source`` are needed: its line
    energy, or ``count`` Chebyshev nodes in ln E between ``low_MeV`` (the lowest energy that
    reaches the bins, at least a tenth of the endpoint) and the source's endpoint. Below the
    lowest node the probabilities are held at their value at the range's lower end."""
    if source.is_line:
        return np.array([source.line_energy_MeV])
    u_low, u_high = _node_range(source, low_MeV)
    k = np.arange(count)
    return np.exp(0.5 * (u_low + u_high)
                  - 0.5 * (u_high - u_low) * np.cos((2 * k + 1) * np.pi / (2 * count)))


def _recoil_densities(source: SolarSource, T, node_energies, low_MeV, radiative_corrections,
                      sin2_theta_w):
    """Cross-section densities on the recoil nodes per probability node [cm^2/MeV]:
    d0 (n_nodes, 3, n_T), d1 (n_nodes, 3, n_T), d2 (n_nodes, n_T), the E integral of
    lambda(E) L_k(E) c_i(T, E) times the prefactor (for a line: c_i(T, E_line)), and the
    magnetic density dm (n_nodes, n_T) [cm^2/MeV per (mu/mu_B)^2], the same integral of the
    EM cross section (:func:`~mcprop.physics.magnetic_moment.dsigma_dT_magnetic_cm2_per_MeV`);
    zero above the source's largest recoil."""
    below = T < t_max_MeV(source.max_energy_MeV)
    T = np.where(below, T, 0.0)
    densities = _unmasked_recoil_densities(source, T, node_energies, low_MeV,
                                           radiative_corrections, sin2_theta_w)
    return tuple(density * below for density in densities)


def _unmasked_recoil_densities(source, T, node_energies, low_MeV, radiative_corrections,
                               sin2_theta_w):
    if source.is_line:
        c0, c1, c2 = cross_section_coefficients(T, source.line_energy_MeV,
                                                 radiative_corrections, sin2_theta_w)
        prefactor = CROSS_SECTION_PREFACTOR_CM2_PER_MEV
        magnetic = dsigma_dT_magnetic_cm2_per_MeV(T, source.line_energy_MeV, 1.0)
        return (prefactor * c0.T[None], prefactor * c1.T[None], prefactor * c2[None],
                magnetic[None])
    E, weights = _gauss_legendre(min_neutrino_energy_MeV(T), source.max_energy_MeV,
                                 _gl_e, _gl_ew)
    weights = weights * source.density_per_MeV(E)
    u = np.clip(np.log(E), *_node_range(source, low_MeV))
    basis = _lagrange_basis(u, np.log(node_energies)) * weights
    c0, c1, c2 = cross_section_coefficients(T[:, None], E, radiative_corrections, sin2_theta_w)
    d0 = np.einsum("ktl,tla->kat", basis, c0)
    d1 = np.einsum("ktl,tla->kat", basis, c1)
    d2 = np.einsum("ktl,tl->kt", basis, c2)
    dm = np.einsum("ktl,tl->kt", basis, dsigma_dT_magnetic_cm2_per_MeV(T[:, None], E, 1.0))
    return (CROSS_SECTION_PREFACTOR_CM2_PER_MEV * d0, CROSS_SECTION_PREFACTOR_CM2_PER_MEV * d1,
            CROSS_SECTION_PREFACTOR_CM2_PER_MEV * d2, dm)


def _total_cross_sections_cm2(energy_MeV, radiative_corrections: bool = True,
                             sin2_theta_w: float | None = None) -> np.ndarray:
    """SM total cross sections sigma_a(E) = Int_0^T_max dsigma_a/dT dT [cm^2] of nu_e, nu_mu,
    nu_tau on an electron, shape E.shape + (3,); the corrections as in
    :func:`mcprop.physics.scattering.cross_section_coefficients`."""
    energy = np.asarray(energy_MeV, dtype=float)[..., None]
    t_max = t_max_MeV(energy)
    c0, _, _ = cross_section_coefficients(t_max * _RECOIL_FRACTIONS, energy,
                                          radiative_corrections, sin2_theta_w)
    return CROSS_SECTION_PREFACTOR_CM2_PER_MEV * np.einsum(
        "...t,...ta->...a", t_max * _RECOIL_FRACTION_WEIGHTS, c0)


def _node_cross_sections_cm2(source: SolarSource, node_energies, low_MeV,
                             radiative_corrections, sin2_theta_w) -> np.ndarray:
    """Int dE lambda(E) L_k(E) sigma_a(E) [cm^2] per probability node k and flavour a,
    shape (n_nodes, 3): the total cross section averaged over the source's spectrum in the
    node representation of the templates (for a line: sigma_a(E_line))."""
    if source.is_line:
        return _total_cross_sections_cm2(source.line_energy_MeV, radiative_corrections,
                                        sin2_theta_w)[None]
    table_energy, _ = spectrum(source.name)
    E, weights = _gauss_legendre(table_energy[:-1], table_energy[1:], _gl_s, _gl_sw)
    E, weights = E.ravel(), weights.ravel() * source.density_per_MeV(E.ravel())
    u = np.clip(np.log(E), *_node_range(source, low_MeV))
    basis = _lagrange_basis(u, np.log(node_energies)) * weights
    return basis @ _total_cross_sections_cm2(E, radiative_corrections, sin2_theta_w)


def _orthonormal_basis(gram: np.ndarray) -> np.ndarray:
    """Eigenvectors of a Gram matrix, largest eigenvalue first, as rows (n_bins, n_bins)."""
    values, vectors = scipy.linalg.eigh(gram, driver="evd")
    return vectors[:, np.argsort(values)[::-1]].T


@dataclass(frozen=True)
class SpectralTemplates:
    """Expected counts per N_h bin of every solar source and background, per Z' mass.

    Build with :meth:`compute`; evaluate with :meth:`expected_counts`, split into source
    groups and backgrounds with :meth:`component_counts`; total interaction rates (all
    recoils, for comparison with published rates) with :meth:`interaction_rates_cpd100t`.

    The solar templates are kept in a compressed form: every template (per response term,
    probability node, flavour and mass) is a combination of the ``basis`` spectra, which span
    them all to a relative accuracy of ``basis_tolerance`` (L2 norm per template).

    Attributes
    ----------
    masses_MeV : (n_m,)
        The Z' masses (empty for a magnetic moment).
    model : U1Model or None
        The Z' model (None for a magnetic moment).
    nh_edges : (n_bins + 1,)
        Bin edges in N_h.
    sources : tuple of SolarSource
        The sources that reach the bins.
    flux_parameters : tuple of str
        Flux parameter names, in the order of the ``fluxes_cm2s`` rows.
    node_energies_MeV : (n_nodes,)
        Energies at which ``expected_counts`` needs the flavour probabilities.
    node_sources : tuple of str
        Source of each node.
    node_flux_index : (n_nodes,) int
        Row of ``fluxes_cm2s`` that scales each node.
    response_steps : (3,)
        Steps of the quadratic response model (energy scale, offset [N_h], resolution scale).
    background_names : tuple of str
    background_counts : (n_bkg, n_bins)
        Background counts at normalisation 1 and the nominal response.
    background_response : (10, n_bkg, n_bins)
        Their quadratic response model (terms of ``response_monomials``; only the first is
        non-zero for fixed shapes).
    basis : (n_basis, n_bins)
        Orthonormal spectra spanning the solar templates.
    solar : (n_m, 10, n_nodes * 7, n_basis)
        Solar templates in the basis, per response term (``response_monomials``). Rows per
        node: 3 SM rows (P_ea, counts per unit flux [cm^2 s]), 1 quadratic row (weighted by
        C^2 sum_a x_a^2 P_ea [cm^2 s MeV^-4]), 3 linear rows (weighted by C P_ea, charge x_a
        included [cm^2 s MeV^-2]), in blocks: all SM rows, then quadratic, then linear. For
        a magnetic moment (one point, n_nodes * 4 rows) the quadratic row is the EM one,
        weighted by sum_a (mu_a/mu_B)^2 P_ea [cm^2 s], and there are no linear rows.
    basis_tolerance : float
    interaction_rates_per_flux : (n_nodes, 3)
        Total SM interaction rate of each node and flavour per unit flux [cpd/100t per
        cm^-2 s^-1]: all recoil energies, no detector response, no Z'; the rate of source s
        is sum over its nodes of flux x sum_a P_ea(node) x this.
    magnetic_moment : bool
        Whether the new physics is a magnetic moment (:meth:`compute_magnetic_moment`).
    """

    masses_MeV: np.ndarray
    model: U1Model
    nh_edges: np.ndarray
    sources: tuple[SolarSource, ...]
    flux_parameters: tuple[str, ...]
    node_energies_MeV: np.ndarray
    node_sources: tuple[str, ...]
    node_flux_index: np.ndarray
    response_steps: np.ndarray
    background_names: tuple[str, ...]
    background_counts: np.ndarray
    background_response: np.ndarray
    basis: np.ndarray
    solar: np.ndarray
    basis_tolerance: float
    interaction_rates_per_flux: np.ndarray
    magnetic_moment: bool = False

    @classmethod
    def compute(cls, masses_MeV, model: U1Model, nh_edges, response: NhResponse,
                background_counts, background_names: Sequence[str],
                exposure_day_100t: float = BOREXINO_PHASE2_EXPOSURE_DAY_100T,
                sources: Sequence[SolarSource] = SOLAR_SOURCES, nodes_per_source: int = 4,
                response_steps=RESPONSE_STEPS, radiative_corrections: bool = True,
                sin2_theta_w: float | None = None,
                basis_tolerance: float = 1e-6,
                magnetic_moment: bool = False) -> "SpectralTemplates":
        """Integrate every template once.

        Parameters
        ----------
        masses_MeV : array (n_m,)
            Z' masses [MeV] (empty with ``magnetic_moment``).
        model : U1Model or None
            The Z' model (None with ``magnetic_moment``).
        nh_edges : array (n_bins + 1,)
            Increasing N_h bin edges.
        response : NhResponse
            Nominal detector response.
        background_counts : array (n_bkg, n_bins) or BackgroundShapes
            Background counts per bin at normalisation 1: fixed shapes, or unit-bin shapes
            seen with ``response``, which then take the response nuisances as the solar
            templates do (:func:`background_response_model`).
        background_names : sequence of str
        exposure_day_100t : float
            Exposure [day x 100 t].
        sources : sequence of SolarSource
        nodes_per_source : int
            Flavour-probability nodes per continuous source (lines have one).
        response_steps : (3,) floats
            Steps of the response stencil: energy scale (fraction), offset [N_h], resolution
            scale (fraction). The quadratic model is exact at the stencil points.
        radiative_corrections : bool
            BKS radiative corrections (default) or tree level.
        sin2_theta_w : float or None
            None takes the convention of the cross section (docs/physics.md sec. 5).
        basis_tolerance : float
            Largest relative L2 error of any template in the compressed form.
        magnetic_moment : bool
            Templates of a neutrino magnetic moment instead of a Z': one grid point, whose
            new-physics rows are the EM recoil spectra (:meth:`compute_magnetic_moment`).
        """
        if sin2_theta_w is None:
            sin2_theta_w = default_sin2_theta_w(radiative_corrections)
        masses = np.atleast_1d(np.asarray(masses_MeV, dtype=float))
        if masses.ndim != 1 or np.any(~np.isfinite(masses)) or np.any(masses <= 0):
            raise ValueError("Z' masses must be finite and > 0 MeV")
        edges = np.asarray(nh_edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("nh_edges must be at least two increasing N_h values")
        steps = np.asarray(response_steps, dtype=float)
        if steps.shape != (3,) or np.any(steps <= 0):
            raise ValueError("response_steps must be three numbers > 0")
        if isinstance(background_counts, BackgroundShapes):
            background_model = background_response_model(background_counts, response, steps,
                                                          edges)
        else:
            fixed = np.asarray(background_counts, dtype=float).reshape(-1, edges.size - 1)
            background_model = np.zeros((_RESPONSE_TERMS,) + fixed.shape)
            background_model[0] = fixed
        backgrounds = background_model[0]
        if backgrounds.shape[0] != len(background_names):
            raise ValueError(f"{len(background_names)} background names for "
                             f"{backgrounds.shape[0]} background templates")
        if not exposure_day_100t > 0:
            raise ValueError(f"exposure must be > 0 day x 100 t, got {exposure_day_100t}")
        if nodes_per_source < 1:
            raise ValueError(f"nodes_per_source must be >= 1, got {nodes_per_source}")
        stencil = [response.shifted(*shift) for shift in _response_stencil(steps)]
        t_max = {source.name: float(t_max_MeV(source.max_energy_MeV)) for source in sources}
        t_low, t_high = _recoil_range_MeV(stencil, edges, max(t_max.values()))
        sources = tuple(source for source in sources if t_max[source.name] > t_low)
        if not sources:
            raise ValueError("no solar source reaches the N_h bins")

        # one recoil grid for all sources, with a panel edge at every source's largest recoil
        inner = [t for t in t_max.values() if t_low < t < t_high]
        T, weights = _recoil_nodes(response, np.unique([t_low, t_high, *inner]))
        # quadratic response model: (n_T, 10 n_bins)
        response_matrix = _quadratic_model(np.stack(
            [r.bin_probabilities(T, edges) for r in stencil])).transpose(1, 0, 2).reshape(
            T.size, -1)
        # entries below 1e-15 are dropped: their products reach subnormal numbers, which
        # make the linear algebra below very slow
        response_matrix[np.abs(response_matrix) < _DROPPED] = 0.0

        fluxes = flux_parameters(sources)
        # counts per day x 100 t per cm^2 of cross section and cm^-2 s^-1 of flux
        rate_per_cross_section = SECONDS_PER_DAY * ELECTRONS_PER_100T_PSEUDOCUMENE
        scale = exposure_day_100t * rate_per_cross_section
        e_low = float(min_neutrino_energy_MeV(t_low))
        nodes, node_sources, node_flux, d0, d1, d2, dm, rates = [], [], [], [], [], [], [], []
        for source in sources:
            energies = probability_nodes_MeV(source, e_low, nodes_per_source)
            densities = _recoil_densities(source, T, energies, e_low, radiative_corrections,
                                          sin2_theta_w)
            for collected, density in zip((d0, d1, d2, dm), densities, strict=True):
                collected.append(density * weights * scale * source.fraction)
            rates.append(rate_per_cross_section * source.fraction * _node_cross_sections_cm2(
                source, energies, e_low, radiative_corrections, sin2_theta_w))
            nodes.extend(energies)
            node_sources.extend([source.name] * len(energies))
            node_flux.extend([fluxes.index(source.flux_parameter)] * len(energies))
        n_nodes = len(nodes)
        sm = np.concatenate(d0).reshape(3 * n_nodes, T.size)
        n_bins = edges.size - 1
        if magnetic_moment:
            magnetic = np.concatenate(dm)                                 # (n_nodes, n_T)
            n_points = 1

            def new_physics_densities(index):
                return magnetic
        else:
            linear = (np.concatenate(d1) * np.asarray(model.neutrino_charges)[:, None]).reshape(
                3 * n_nodes, T.size)
            quadratic = np.concatenate(d2)
            propagator = (electron_coupling_running(T, model)
                          / (masses[:, None] ** 2 + 2 * M_ELECTRON_MEV * T))   # (n_m, n_T)
            n_points = masses.size

            def new_physics_densities(index):
                p = propagator[index]
                return np.concatenate([quadratic * p**2, linear * p])   # (4 n_nodes, n_T)

        def unit_rows(rows):
            rows = rows.reshape(-1, n_bins)
            norms = np.linalg.norm(rows, axis=1)
            return rows[norms > 0] / norms[norms > 0, None]

        # A basis of the span of the templates: eigenvectors of the Gram matrix of the
        # templates (normalised to unit length) at up to 12 reference masses spread over the
        # grid, as many as represent each of them to the tolerance.
        order = np.argsort(masses) if masses.size else np.arange(n_points)
        reference = order[np.unique(np.linspace(0, n_points - 1,
                                                min(n_points, _REFERENCE_MASSES)).round()
                                    .astype(int))]
        rows = [sm @ response_matrix] + [new_physics_densities(i) @ response_matrix
                                         for i in reference]
        gram = sum(unit.T @ unit for unit in map(unit_rows, rows))
        eigenbasis = _orthonormal_basis(gram)
        for leading in (eigenbasis[:_LEADING_BASIS], eigenbasis):
            needed = 1
            for block in rows:
                block = block.reshape(-1, n_bins)
                projected = block @ leading.T
                norm2 = np.sum(block**2, axis=-1, keepdims=True)
                residual2 = norm2 - np.cumsum(projected**2, axis=-1)
                enough = np.all(residual2 <= basis_tolerance**2 * norm2, axis=0)
                needed = max(needed, int(np.argmax(enough)) + 1 if enough.any() else n_bins + 1)
            if needed <= leading.shape[0]:
                break
        basis = eigenbasis[:min(needed, n_bins)]
        # templates in the basis: (densities @ response) @ basis = densities @ (response @ basis)
        response_in_basis = (response_matrix.reshape(T.size, _RESPONSE_TERMS, n_bins)
                             @ basis.T)                           # (n_T, 10, n_basis)
        sm_coefficients = np.einsum("jt,tqk->qjk", sm, response_in_basis)
        solar = np.stack([np.concatenate([sm_coefficients,
                                          np.einsum("jt,tqk->qjk", new_physics_densities(i),
                                                    response_in_basis)], axis=1)
                          for i in range(n_points)])
        return cls(masses, model, edges, sources, fluxes, np.array(nodes), tuple(node_sources),
                   np.array(node_flux, dtype=int), steps, tuple(background_names), backgrounds,
                   background_model, basis.copy(), solar, basis_tolerance,
                   np.concatenate(rates), magnetic_moment)

    @classmethod
    def compute_magnetic_moment(cls, nh_edges, response: NhResponse, background_counts,
                                background_names: Sequence[str], **options
                                ) -> "SpectralTemplates":
        """Templates of the Standard Model and of flavour-diagonal neutrino magnetic moments:
        one grid point whose new-physics rows are, per probability node, the counts of the
        EM cross section per (mu/mu_B)^2 (flavour independent; weighted by
        flux x sum_a P_ea mu_a^2). Evaluate with :meth:`magnetic_counts`; ``options`` as in
        :meth:`compute`.

        >>> templates = SpectralTemplates.compute_magnetic_moment(
        ...     edges, response, backgrounds, names)          # doctest: +SKIP
        >>> counts = templates.magnetic_counts(fluxes, p, mu2_flavour, norms, shifts)
        ...                                                   # doctest: +SKIP
        """
        return cls.compute(np.empty(0), None, nh_edges, response, background_counts,
                           background_names, magnetic_moment=True, **options)

    @property
    def n_bins(self) -> int:
        return self.nh_edges.size - 1

    @property
    def source_groups(self) -> dict[str, np.ndarray]:
        """Nodes of each group of ``SOURCE_GROUPS`` that has sources in the templates, as
        boolean masks (n_nodes,)."""
        names = np.array(self.node_sources)
        masks = {group: np.isin(names, members) for group, members in SOURCE_GROUPS.items()}
        return {group: mask for group, mask in masks.items() if mask.any()}

    def _node_weights(self, fluxes_cm2s, probabilities) -> np.ndarray:
        """flux x P_ea at every node, shape (n_nodes, 3, n); ValueError on wrong shapes."""
        flux = np.asarray(fluxes_cm2s, dtype=float)
        p = np.asarray(probabilities, dtype=float)
        n_nodes = self.node_energies_MeV.size
        if flux.ndim != 2 or flux.shape[0] != len(self.flux_parameters):
            raise ValueError(f"fluxes_cm2s must have shape ({len(self.flux_parameters)}, n) "
                             f"(rows {', '.join(self.flux_parameters)}), got {flux.shape}")
        if p.shape != (n_nodes, 3, flux.shape[1]):
            raise ValueError(f"probabilities must have shape ({n_nodes}, 3, {flux.shape[1]}) "
                             f"(nodes, flavours, samples), got {p.shape}")
        return flux[self.node_flux_index][:, None] * p

    def interaction_rates_cpd100t(self, fluxes_cm2s, probabilities) -> dict[str, np.ndarray]:
        """Total SM interaction rates [counts / (day x 100 t)] of each source group (all
        recoil energies, no detector response, no Z'), as Borexino quotes them.

        Parameters
        ----------
        fluxes_cm2s : array (n_flux, n)
            Fluxes [cm^-2 s^-1] in the order of ``flux_parameters``.
        probabilities : array (n_nodes, 3, n)
            P_ee, P_emu, P_etau at ``node_energies_MeV``.

        Returns
        -------
        dict of str -> array (n,)
            Rate of every group of ``SOURCE_GROUPS`` with sources in the templates: ``pp``,
            ``7be`` (both lines), ``pep``, ``cno`` (13N + 15O + 17F), ``b8``.
        """
        weights = self._node_weights(fluxes_cm2s, probabilities)
        rates = np.einsum("ka,kan->kn", self.interaction_rates_per_flux, weights)
        return {group: rates[mask].sum(axis=0) for group, mask in self.source_groups.items()}

    def component_counts(self, mass_index: int, fluxes_cm2s, probabilities, coupling_MeV2,
                         background_norms, response_shifts, interference: bool = True
                         ) -> dict[str, np.ndarray]:
        """Expected counts per bin of every source group (with its Z' terms) and every
        background, for the arguments of :meth:`expected_counts`, whose sum they are.

        Returns
        -------
        dict of str -> array (n, n_bins)
            The groups of :attr:`source_groups` (``pp``, ``7be``, ``pep``, ``cno``, ``b8``),
            then the backgrounds by their names.
        """
        def solar(p):
            return self.expected_counts(mass_index, fluxes_cm2s, p, coupling_MeV2,
                                        np.zeros_like(background_norms, dtype=float),
                                        response_shifts, interference)

        return self._components(solar, probabilities, background_norms, response_shifts)

    def magnetic_component_counts(self, fluxes_cm2s, probabilities, mu2_flavour,
                                  background_norms, response_shifts) -> dict[str, np.ndarray]:
        """:meth:`component_counts` for magnetic moments: the arguments of
        :meth:`magnetic_counts`."""
        def solar(p):
            return self.magnetic_counts(fluxes_cm2s, p, mu2_flavour,
                                        np.zeros_like(background_norms, dtype=float),
                                        response_shifts)

        return self._components(solar, probabilities, background_norms, response_shifts)

    def _components(self, solar_counts, probabilities, background_norms, response_shifts
                    ) -> dict[str, np.ndarray]:
        """Each source group's counts (``solar_counts(P_ea with the other nodes zeroed)``),
        then each background's."""
        p = np.asarray(probabilities, dtype=float)
        components = {group: solar_counts(p * mask[:, None, None])
                      for group, mask in self.source_groups.items()}
        norms = np.asarray(background_norms, dtype=float)
        shapes = self.background_shapes(response_shifts)                # (n, n_bkg, n_bins)
        for k, (name, norm) in enumerate(zip(self.background_names, norms, strict=True)):
            components[name] = norm[:, None] * shapes[:, k]
        return components

    def background_shapes(self, response_shifts) -> np.ndarray:
        """Background counts at normalisation 1 (n, n_bkg, n_bins) for response shifts
        (3, n)."""
        monomials = response_monomials(response_shifts, self.response_steps)  # (10, n)
        return np.einsum("qn,qbk->nbk", monomials, self.background_response)

    def expected_counts(self, mass_index: int, fluxes_cm2s, probabilities, coupling_MeV2,
                        background_norms, response_shifts, interference: bool = True
                        ) -> np.ndarray:
        """Expected counts per bin for a batch of n samples at grid mass ``mass_index``.

        Parameters
        ----------
        mass_index : int
        fluxes_cm2s : array (n_flux, n)
            Fluxes [cm^-2 s^-1] in the order of ``flux_parameters``.
        probabilities : array (n_nodes, 3, n)
            P_ee, P_emu, P_etau at ``node_energies_MeV``.
        coupling_MeV2 : array (n,)
            C = g g_e(0) / (2 sqrt2 G_F) [MeV^2] (scattering.coupling_product_MeV2).
        background_norms : array (n_bkg, n)
            Background normalisations (1 = the template).
        response_shifts : array (3, n)
            Energy scale (fraction), offset [N_h], resolution scale (fraction).
        interference : bool
            Keep the SM-Z' interference (terms linear in C).

        Returns
        -------
        array (n, n_bins)
        """
        if self.magnetic_moment:
            raise ValueError("these templates hold a magnetic moment, not a Z': "
                             "use magnetic_counts")
        weights = self._node_weights(fluxes_cm2s, probabilities)              # (n_nodes, 3, n)
        coupling = np.asarray(coupling_MeV2, dtype=float)
        charges2 = np.asarray(self.model.neutrino_charges, dtype=float) ** 2
        quadratic = coupling**2 * np.einsum("a,kan->kn", charges2, weights)
        linear = coupling if interference else None
        return self._counts(mass_index, weights, quadratic, linear, background_norms,
                            response_shifts)

    def magnetic_counts(self, fluxes_cm2s, probabilities, mu2_flavour, background_norms,
                        response_shifts) -> np.ndarray:
        """Expected counts per bin (n, n_bins) with flavour-diagonal magnetic moments:
        ``mu2_flavour`` (3, n) is (mu_a/mu_B)^2 for a = e, mu, tau; the other arguments as
        in :meth:`expected_counts`. The EM counts are linear in each mu_a^2 and add to the
        weak ones (no interference, docs/physics.md sec. 10)."""
        if not self.magnetic_moment:
            raise ValueError("these templates hold a Z', not a magnetic moment: "
                             "use expected_counts")
        weights = self._node_weights(fluxes_cm2s, probabilities)              # (n_nodes, 3, n)
        quadratic = np.einsum("an,kan->kn", np.asarray(mu2_flavour, dtype=float), weights)
        return self._counts(0, weights, quadratic, None, background_norms, response_shifts)

    @functools.cached_property
    def _live_rows(self) -> np.ndarray:
        """(n_m, J): the template rows that are not exactly zero at each mass (a flavour
        without charge, x_e = 0 for L_mu - L_tau, has zero linear rows: 23 of 161)."""
        return np.any(self.solar != 0, axis=(1, 3))

    def _counts(self, point: int, weights, quadratic, linear, background_norms,
                response_shifts) -> np.ndarray:
        """Counts (n, n_bins) from the node weights flux x P_ea (n_nodes, 3, n), the weights
        of the quadratic rows (n_nodes, n), the factor of the linear rows (n,) or None."""
        n_nodes, n = weights.shape[0], weights.shape[-1]
        parts = [weights.reshape(3 * n_nodes, n), quadratic]
        if linear is not None:
            parts.append(linear * weights.reshape(3 * n_nodes, n))
        solar_weights = np.concatenate(parts)                                  # (J, n)
        live = self._live_rows[point, :solar_weights.shape[0]]   # rows not zero by structure
        monomials = response_monomials(response_shifts, self.response_steps)  # (10, n)
        combined = (monomials[:, None, :] * solar_weights[live][None]).reshape(-1, n)
        solar = self.solar[point][:, :solar_weights.shape[0]][:, live].reshape(
            -1, self.basis.shape[0])
        counts = (combined.T @ solar) @ self.basis
        norms = np.asarray(background_norms, dtype=float)                      # (n_bkg, n)
        background = (monomials[:, None, :] * norms[None]).reshape(-1, n)
        return counts + background.T @ self.background_response.reshape(-1, self.n_bins)
