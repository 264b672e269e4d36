"""The Borexino Phase-II detector response in the energy estimator N_h, and how its
nuisances change expected spectra.

The response R(T -> b) to an electron recoil T is Gaussian in N_h (:class:`NhResponse`) with
three nuisances: an energy scale, an offset and a resolution scale
(:data:`mcprop.physics.parameters.RESPONSE_PARAMETERS`). Their effect on expected counts is
a quadratic model in the
nuisances built from central differences on a 19-point stencil (:func:`response_stencil`,
:func:`quadratic_response_model`), evaluated through :func:`response_monomials`, so
sampling them needs no integration. Backgrounds are shapes in N_h with free normalisations;
given in unit bins as the detector saw them (:class:`BackgroundShapes`), they take the same
relative response change as the solar counts (:meth:`BackgroundShapes.with_response_change`,
docs/physics.md sec. 14), in the same quadratic model (:func:`background_response_model`).
"""

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtr

from mcprop.physics.borexino_phase2 import rebin
from mcprop.physics.tables import package_csv

#: Default steps of the quadratic response model (scale, offset [N_h], width scale): about
#: the 1-sigma of the calibrated response's priors (priors/borexino-phase2-backgrounds.toml),
#: where the model is exact.
RESPONSE_STEPS = (0.01, 1.0, 0.01)
#: Quadratic response model: number of terms (1, 3 linear, 3 squares, 3 products).
RESPONSE_TERMS = 10


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
    _, *rows = package_csv(file)
    coefficients = {"nh_mean": {}, "nh_sigma": {}, "nh_pivot": {0: 0.0}}
    for quantity, power, value in rows:
        coefficients[quantity][int(power)] = float(value)
    mean, sigma, pivot = (tuple(c[k] for k in sorted(c)) for c in coefficients.values())
    return NhResponse(mean, sigma, source, pivot[0])


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
    for s, o, r in response_stencil(np.asarray(steps, dtype=float)):
        if r not in smeared:
            smeared[r] = padded.smeared(response, r)
        values.append(smeared[r].moved(s, o, response.pivot_nh).rebinned(nh_edges))
    return quadratic_response_model(np.stack(values))


def response_stencil(steps) -> list[tuple[float, float, float]]:
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


def quadratic_response_model(values: np.ndarray) -> np.ndarray:
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
