"""The threshold backgrounds of Borexino from physics: the 14C beta spectrum and its pile-up.

14C decays (beta-, Q = 156.476 keV) to the 14N ground state. Its kinetic-energy spectrum is
the allowed shape times a measured shape factor,

    dN/dT ~ F(Z = 7, E) p E (Q - T)^2 C(W),   C(W) = 1 + a W,

with E = T + m_e, p = sqrt(E^2 - m_e^2), W = E / m_e and F the Fermi function (point
nucleus, F = 2 pi eta / (1 - exp(-2 pi eta)), eta = alpha Z E / p). Folded with the
project's N_h response to an electron of kinetic energy T (mcprop.physics.spectral.NhResponse:
the same quenched-light mapping N_h(T) and Gaussian width as every recoil), it gives the 14C
counts per unit N_h bin; above N_h ~ 90 these are the 3-5 sigma resolution tail of a
spectrum that ends at N_h(Q) ~ 66.

Pile-up: two decays within the time a cluster cannot separate them, tau, are seen as one
event with the sum of their light. The rate of 14C pairs is R_14C^2 tau (R_14C tau << 1), of
14C with any other event X 2 R_14C R_X tau; the light of a pair is the sum of the mean N_h of
the two (the nominal N_h(T) clipped at 0, where the cubic mapping ends), smeared with the
width at the sum. So the pile-up spectrum is the self-convolution of the 14C light spectrum
plus its convolution with the other components (taken as Borexino's best-fit spectrum,
already smeared), each weighted by its rate. In the spectral fit both shapes are scaled to
Borexino's fitted counts (:func:`physics_threshold_rates`), so the priors on Borexino's
normalisations keep their meaning, or the 14C is taken at its activity. The 14C light lies
below the N_h range the response was calibrated on; a width scale and an offset of it (and of
its pile-up pairs) are the low-energy response there.

Numbers (docs/physics.md sec. 14): Q = 156.476 keV (AME2020; 156.5 keV in Borexino, Nature
512, 383 (2014)); shape factor a = -0.45 per m_e c^2 (V. V. Kuzminov and N. Ja. Osetrova,
Phys. At. Nucl. 63, 1292 (2000); quoted from memory, NOT verified against the paper).

>>> spectrum = C14BetaSpectrum()
>>> round(spectrum.mean_kinetic_energy_MeV() * 1e3, 1)   # keV, shape factor (allowed: 49.4)
47.6
"""

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from mcprop.physics.constants import ALPHA_EM, M_ELECTRON_MEV, SECONDS_PER_DAY

#: 14C beta- decay energy [MeV]: 156.476 keV, AME2020 (M. Wang et al., Chin. Phys. C 45,
#: 030003 (2021)); Borexino quotes 156.5 keV (Nature 512, 383 (2014)). Quoted, not re-read.
C14_Q_MEV = 0.156476
#: Charge of the daughter nucleus, 14N.
C14_DAUGHTER_Z = 7
#: Shape factor C(W) = 1 + a W (W: total electron energy in m_e c^2) of the 14C decay:
#: a = -0.45 +- 0.09, V. V. Kuzminov and N. Ja. Osetrova, Phys. At. Nucl. 63, 1292 (2000).
#: NOT verified against the paper (value from memory); 0 gives the allowed shape.
C14_SHAPE_FACTOR_A = -0.45
#: 14C activity of the Borexino scintillator [Bq / 100 t]: 40.0 +- 2.0 (Borexino, PRD 100,
#: 082004 (2019), as in priors/borexino-phase2-backgrounds.toml; Nature 512, 383 (2014)
#: gives 40 +- 1). Normalisation 1 of the physics 14C template normalised by its activity.
C14_ACTIVITY_BQ_PER_100T = 40.0
#: Total pile-up rate [counts / (day x 100 t)] of Borexino's Phase-II fit, constrained by the
#: synthetic pile-up method: 137.5 +- 2.8 (PRD 100, 082004 (2019), as transcribed by
#: Newtrinos.jl; priors/borexino-phase2-backgrounds.toml). Normalisation 1 of the physics
#: pile-up template.
PILEUP_RATE_CPD100T = 137.5

#: Kinetic-energy integral: Gauss-Legendre panels on [0, Q], nodes per panel.
_PANELS, _ORDER = 200, 8
#: Step [N_h] of the grid of the light spectrum (for the convolutions).
_LIGHT_STEP_NH = 0.05
_gl, _glw = np.polynomial.legendre.leggauss(_ORDER)


def fermi_function(T_MeV, Z: int = C14_DAUGHTER_Z) -> np.ndarray:
    """Non-relativistic point-nucleus Fermi function of a beta- electron of kinetic energy T
    [MeV] leaving a daughter of charge Z: 2 pi eta / (1 - exp(-2 pi eta)), eta = alpha Z E/p.

    >>> round(float(fermi_function(0.05)), 4)
    1.4388
    """
    E = np.asarray(T_MeV, dtype=float) + M_ELECTRON_MEV
    p = np.sqrt(E**2 - M_ELECTRON_MEV**2)
    x = 2 * np.pi * ALPHA_EM * Z * E / p
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 1.0, safe / -np.expm1(-safe))


@dataclass(frozen=True)
class C14BetaSpectrum:
    """The 14C beta spectrum in kinetic energy T [MeV], normalised to one decay."""

    q_MeV: float = C14_Q_MEV
    shape_factor_a: float = C14_SHAPE_FACTOR_A
    daughter_z: int = C14_DAUGHTER_Z

    def unnormalised(self, T_MeV) -> np.ndarray:
        """F p E (Q - T)^2 (1 + a W), zero outside 0 < T < Q."""
        T = np.asarray(T_MeV, dtype=float)
        inside = (T > 0) & (T < self.q_MeV)
        T = np.where(inside, T, 0.5 * self.q_MeV)
        E = T + M_ELECTRON_MEV
        p = np.sqrt(E**2 - M_ELECTRON_MEV**2)
        shape = (fermi_function(T, self.daughter_z) * p * E * (self.q_MeV - T) ** 2
                 * (1 + self.shape_factor_a * E / M_ELECTRON_MEV))
        return np.where(inside, shape, 0.0)

    def _quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Legendre nodes T [MeV] and weights on [0, Q]."""
        edges = np.linspace(0.0, self.q_MeV, _PANELS + 1)
        half = 0.5 * np.diff(edges)[:, None]
        return (edges[:-1, None] + half * (_gl + 1)).ravel(), (half * _glw).ravel()

    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """Kinetic energies [MeV] and weights of the quadrature on [0, Q] that integrates the
        normalised spectrum: sum(weights) = 1, sum(weights x f(T)) = <f>."""
        T, w = self._quadrature()
        w = w * self.unnormalised(T)
        return T, w / w.sum()

    def density_per_MeV(self, T_MeV) -> np.ndarray:
        """dN/dT [1/MeV] per decay."""
        T, w = self._quadrature()
        return self.unnormalised(T_MeV) / (w @ self.unnormalised(T))

    def mean_kinetic_energy_MeV(self) -> float:
        T, w = self.nodes()
        return float(T @ w)


def _response_tail(response, mean_nh, nh) -> np.ndarray:
    """Probabilities (len(mean_nh), len(nh)) that light of mean N_h ``mean_nh`` is seen in the
    unit bins centred on ``nh``, Gaussian of the response's width at the mean (with its
    resolution scale)."""
    mean = np.asarray(mean_nh, dtype=float)
    width = (1 + response.resolution_scale) * response.nominal_width(mean)
    edges = np.append(np.asarray(nh, dtype=float) - 0.5, nh[-1] + 0.5)
    # beyond 15 widths the probability is below 1e-50: those bins are 0 without ndtr
    reach = int(np.searchsorted(edges, np.max(mean + 15 * width), side="right")) + 1
    tail = np.zeros((mean.size, edges.size - 1))
    tail[:, :reach - 1] = np.diff(ndtr((edges[None, :reach] - mean[:, None]) / width[:, None]),
                                  axis=1)
    return tail


def c14_rates_cpd100t(response, nh, spectrum: C14BetaSpectrum = C14BetaSpectrum(),
                      activity_Bq_per_100t: float = C14_ACTIVITY_BQ_PER_100T) -> np.ndarray:
    """14C counts / (day x 100 t) in the unit N_h bins centred on the integers ``nh``: the
    beta spectrum folded with ``response`` (an mcprop.physics.spectral.NhResponse) at its
    nominal nuisances, times the activity.

    >>> c14_rates_cpd100t(load_nh_response(), np.arange(93, 951))   # doctest: +SKIP
    """
    T, w = spectrum.nodes()
    probabilities = response.bin_probabilities(T, np.append(np.asarray(nh) - 0.5, nh[-1] + 0.5))
    return activity_Bq_per_100t * SECONDS_PER_DAY * (w @ probabilities)


def c14_light_spectrum(response, spectrum: C14BetaSpectrum = C14BetaSpectrum()
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The mean N_h (light) of one 14C decay before the resolution: grid [N_h] (step
    _LIGHT_STEP_NH from 0) and the probability of each grid cell (sum 1). The mean N_h(T) of
    the response (with its nuisances) is clipped at 0 (the cubic mapping is negative below
    about 20 keV)."""
    T, w = spectrum.nodes()
    light = np.clip(response.mean_and_width(T)[0], 0.0, None)
    n_cells = int(np.ceil(light.max() / _LIGHT_STEP_NH)) + 2
    cells = np.bincount(np.rint(light / _LIGHT_STEP_NH).astype(int), weights=w,
                        minlength=n_cells)
    return np.arange(cells.size) * _LIGHT_STEP_NH, cells


def pileup_shape(response, nh, other_rates_cpd100t=None, other_nh=None,
                 c14_rate_cpd100t: float = C14_ACTIVITY_BQ_PER_100T * SECONDS_PER_DAY,
                 spectrum: C14BetaSpectrum = C14BetaSpectrum()) -> np.ndarray:
    """Pile-up counts per unit N_h bin (centred on ``nh``) of a pile-up rate of 1 in all N_h:
    the 14C light spectrum convolved with itself (rate proportional to R_14C^2), smeared with
    the response's width at the summed light, plus, given the other events' unit-bin rates
    ``other_rates_cpd100t`` at ``other_nh`` (already smeared), their convolution with the
    14C light (rate proportional to 2 R_14C R_X). The sum over all N_h is 1 (what leaves
    ``nh`` is lost)."""
    grid, cells = c14_light_spectrum(response, spectrum)
    pair = np.convolve(cells, cells)                      # sum of two lights, on the same step
    pair_grid = np.arange(pair.size) * _LIGHT_STEP_NH
    keep = pair > 1e-14
    shape = pair[keep] @ _response_tail(response, pair_grid[keep], nh)
    weights = {"pair": 1.0}
    if other_rates_cpd100t is not None:
        other = np.asarray(other_rates_cpd100t, dtype=float)
        rate_other = other.sum()
        # X (unit bins) shifted by the 14C light: cumulative interpolation per shift
        edges = np.append(np.asarray(other_nh, dtype=float) - 0.5, other_nh[-1] + 0.5)
        cumulative = np.concatenate([[0.0], np.cumsum(other)]) / rate_other
        out_edges = np.append(np.asarray(nh, dtype=float) - 0.5, nh[-1] + 0.5)
        live = cells > 0
        moved = np.stack([np.interp(out_edges - g, edges, cumulative) for g in grid[live]])
        shifted = cells[live] @ np.diff(moved, axis=1)
        weights["pair"] = c14_rate_cpd100t / (c14_rate_cpd100t + 2 * rate_other)
        shape = weights["pair"] * shape + (1 - weights["pair"]) * shifted
    return shape


def pileup_rate_cpd100t(c14_rate_fiducial_cpd100t: float, c14_rate_total_per_s: float,
                        window_s: float) -> float:
    """Closed-form 14C-14C pile-up rate [counts / (day x 100 t)]: a decay in the fiducial
    mass is followed within ``window_s`` by another decay anywhere in the scintillator (total
    rate ``c14_rate_total_per_s``) with the Poisson probability 1 - exp(-R window), about
    R window.

    >>> round(pileup_rate_cpd100t(40 * 86400, 111.0, 230e-9), 1)
    88.2
    """
    return float(c14_rate_fiducial_cpd100t * -np.expm1(-c14_rate_total_per_s * window_s))


#: Nominal offset [N_h] of the mean light of a 14C decay (a pile-up pair: twice) against the
#: calibrated response extrapolated below its range: the offset at which 40 Bq/100t of 14C,
#: folded with the calibrated response at its width, fits Borexino's fitted 14C component on
#: N_h 93-118 (PRD 100, 082004 (2019) Fig. 6a, digitised): 3.70 +- 0.02 N_h
#: (scripts/calibrate_c14_light.py). A fit of the spectrum itself from N_h 93 gives 3.5 +- 0.3
#: N_h (docs/physics.md sec. 14).
C14_LIGHT_OFFSET_NH = 3.70
#: Steps of the stencil of the low-energy response model: offset [N_h], width scale.
LOW_ENERGY_STEPS = (1.0, 0.03)


def low_energy_stencil() -> list[tuple[float, float]]:
    """The 3 x 3 points (offset [N_h], width scale) on which :func:`low_energy_log_model`
    fits the counts: every combination of -1, 0, +1 steps of :data:`LOW_ENERGY_STEPS`, the
    centre first.

    >>> low_energy_stencil()[:2]
    [(0.0, 0.0), (-1.0, -0.03)]
    """
    points = [(i * LOW_ENERGY_STEPS[0], j * LOW_ENERGY_STEPS[1])
              for i in (-1, 0, 1) for j in (-1, 0, 1)]
    return [(0.0, 0.0)] + [p for p in points if p != (0.0, 0.0)]


def low_energy_monomials(shifts) -> np.ndarray:
    """The five monomials (d, w, d^2, d w, w^2) of the low-energy shifts (d [N_h], w) of
    shape (2, ...): shape (5, ...)."""
    d, w = np.asarray(shifts, dtype=float)
    return np.stack([d, w, d * d, d * w, w * w])


def low_energy_log_model(stencil_counts) -> np.ndarray:
    """Coefficients (5, ...) of ln(counts(d, w) / counts(0, 0)) as a quadratic without
    constant in the low-energy shifts (:func:`low_energy_monomials`), least squares over the
    counts ``stencil_counts`` (9, ...) at the points of :func:`low_energy_stencil`. Bins
    where any stencil count is 0 get coefficients 0 (they stay at the centre's counts).

    In a Gaussian tail ln(counts) is nearly quadratic in the mean and the width: on the
    Borexino bins of 5 N_h the model is within 0.1 % of recomputed counts at 1.5 steps and
    within 1 % at 2 steps of both (tests/physics/test_nuisance_meaning.py checks 1 % in unit
    bins up to 1.5 steps).
    """
    counts = np.asarray(stencil_counts, dtype=float)
    design = low_energy_monomials(np.array(low_energy_stencil()).T).T       # (9, 5)
    positive = np.all(counts > 0, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(positive, np.log(counts / counts[0]), 0.0)
    coefficients = np.linalg.lstsq(design, logs.reshape(len(design), -1), rcond=None)[0]
    return coefficients.reshape((5,) + counts.shape[1:])


#: Threshold-background models: Borexino's digitised curves, or this module's physics.
THRESHOLD_MODELS = ("digitised", "physics")
#: What normalisation 1 of the physics 14C shape means: Borexino's fitted 14C counts over the
#: shapes' N_h range, or the absolute activity :data:`C14_ACTIVITY_BQ_PER_100T`.
C14_NORMALISATIONS = ("borexino-fit", "activity")


@functools.lru_cache(maxsize=64)
def _unit_bin_shapes(response, nh: tuple, other: tuple | None) -> dict[str, np.ndarray]:
    """The 14C rates at 40 Bq/100t and the pile-up shape in the unit bins ``nh`` seen with
    ``response``, the other events ``other`` = (their N_h, their rates) or None; kept for
    the next call with the same arguments (a run's configs and its stencil repeat them)."""
    nh = np.array(nh)
    other_nh, other_rates = (None, None) if other is None else map(np.array, other)
    shapes = {"c14": c14_rates_cpd100t(response, nh),
              "pileup": pileup_shape(response, nh, other_rates, other_nh)}
    for shape in shapes.values():
        shape.flags.writeable = False
    return shapes


def physics_threshold_rates(response, nh, reference_rates, other_nh=None,
                            other_rates_cpd100t=None, width_scale: float = 0.0,
                            offset_nh: float = 0.0,
                            c14_normalisation: str = "borexino-fit") -> dict[str, np.ndarray]:
    """The 14C and pile-up rates [counts / (day x 100 t)] in the unit N_h bins ``nh`` from
    physics (:func:`c14_rates_cpd100t`, :func:`pileup_shape` with the other events
    ``other_rates_cpd100t`` at ``other_nh``), for those of the two that ``reference_rates``
    (``c14``, ``pileup``: Borexino's fitted components) holds.

    ``width_scale`` w is the low-energy width of the response: the 14C light (T < Q = 156 keV,
    below the N_h range the response was calibrated on) and its pile-up pairs are smeared with
    (1 + w) times the response's width, and ``offset_nh`` moves the mean light of a 14C
    decay (a pair: twice). The pile-up is scaled to the sum over ``nh`` of
    Borexino's fitted counts, and so is the 14C with ``c14_normalisation = "borexino-fit"``;
    with ``"activity"`` the 14C is the absolute rate of :data:`C14_ACTIVITY_BQ_PER_100T`.

    At w = 0 and the nominal activity and pile-up rate, the calibrated Gaussian response
    gives less above N_h 93 than Borexino's fit: a factor 3.2-3.5 for 14C, 6.7 for pile-up
    (docs/physics.md sec. 14); w = 0.12 gives Borexino's 14C counts over N_h 93-950 from
    40 Bq/100t, while the pile-up stays about 6 times below Borexino's.
    """
    if c14_normalisation not in C14_NORMALISATIONS:
        raise ValueError(f"unknown 14C normalisation {c14_normalisation!r} (choose one of "
                         f"{', '.join(C14_NORMALISATIONS)})")
    low = response.shifted(resolution_scale=width_scale, offset_nh=offset_nh)
    other = None if other_rates_cpd100t is None else (
        tuple(np.asarray(other_nh, dtype=float).tolist()),
        tuple(np.asarray(other_rates_cpd100t, dtype=float).tolist()))
    shapes = _unit_bin_shapes(low, tuple(np.asarray(nh).tolist()), other)
    rates = {}
    for name in set(shapes) & set(reference_rates):
        shape = shapes[name]
        absolute = name == "c14" and c14_normalisation == "activity"
        rates[name] = shape if absolute else \
            shape * float(np.sum(reference_rates[name])) / float(np.sum(shape))
    return rates
