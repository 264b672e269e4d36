"""A binned spectrum measurement and its Poisson likelihood.

The measurement holds the observed counts in N_h bins, the exposure and the background
templates (expected counts per bin at normalisation 1) that belong to the data set; the
expected counts come from mcprop.physics.spectral.SpectralTemplates.
"""

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from mcprop.physics.borexino_phase2 import BorexinoPhase2Data, load_borexino_phase2, rebin
from mcprop.physics.nh_response import (
    BackgroundShapes,
    NhResponse,
    load_nh_response,
)
from mcprop.physics.parameters import (
    LOW_ENERGY_RESPONSE_PARAMETERS,
    RESPONSE_PARAMETERS,
    THRESHOLD_TILT,
    background_parameter,
)
from mcprop.physics.solar_spectra import SOLAR_SOURCES, flux_parameters
from mcprop.physics.spectral import SpectralTemplates
from mcprop.physics.threshold_backgrounds import (
    C14_LIGHT_OFFSET_NH,
    THRESHOLD_MODELS,
    low_energy_log_model,
    low_energy_stencil,
    physics_threshold_rates,
)

#: Citation of the Borexino Phase-II spectrum and its fit components.
BOREXINO_PHASE2_SOURCE = (
    "Borexino Phase-II TFC-subtracted N_h spectrum, Nature 562, 505 (2018) Fig. 2a; "
    "background shapes from PRD 100, 082004 (2019) Fig. 6a (digitised, Newtrinos.jl)")


#: Largest rate of one unit N_h bin [counts / (day x 100 t)]: the whole 14C activity of the
#: Borexino scintillator, about 40 Bq per 100 t = 3.5e6 per day x 100 t (Borexino, Nature
#: 512, 383 (2014)), rounded up. A unit bin above it is not a measurement of this detector.
MAX_UNIT_BIN_RATE_CPD100T = 1e7


@dataclass(frozen=True)
class TemplateInputs:
    """What the spectral templates read for a batch of n samples (shapes as
    :meth:`~mcprop.physics.spectral.SpectralTemplates.expected_counts` takes them): fluxes
    (n_flux, n) [cm^-2 s^-1], P_ea at the probability nodes (n_nodes, 3, n), background
    normalisations (n_bkg, n) and response shifts (3, n; 5 with the low-energy response of
    the 14C light, :attr:`SpectralTemplates.response_parameters`)."""

    fluxes_cm2s: np.ndarray
    probabilities: np.ndarray
    background_norms: np.ndarray
    response_shifts: np.ndarray

    def counts(self, templates: SpectralTemplates, mass_index: int, coupling_MeV2,
               interference: bool, rows=slice(None)) -> np.ndarray:
        """Expected counts (n_rows, n_bins) of the samples ``rows`` at grid mass
        ``mass_index`` for couplings ``coupling_MeV2`` (of those rows)."""
        return templates.expected_counts(mass_index, self.fluxes_cm2s[:, rows],
                                         self.probabilities[..., rows], coupling_MeV2,
                                         self.background_norms[:, rows],
                                         self.response_shifts[:, rows], interference)


def template_inputs(templates: SpectralTemplates, params: Mapping[str, np.ndarray],
                    probability: Callable[[float, str], np.ndarray],
                    shape: tuple[int, ...]) -> TemplateInputs:
    """The template inputs of samples of ``shape`` (n,) from the parameters by name and
    ``probability(energy_MeV, source) -> (3, n)``, P_ea of a source at a node energy."""

    def rows(names):
        return np.stack([np.broadcast_to(np.asarray(params[name], dtype=float), shape)
                         for name in names]).reshape(len(names), *shape)

    nodes = zip(templates.node_energies_MeV, templates.node_sources, strict=True)
    return TemplateInputs(
        rows(templates.flux_parameters),
        np.stack([np.broadcast_to(np.reshape(probability(float(energy), source), (3, -1)),
                                  (3, *shape)) for energy, source in nodes]),
        rows([background_parameter(name) for name in templates.background_names]),
        rows(templates.response_parameters))


def solar_count_terms(templates: SpectralTemplates, point_indices, params: Mapping[str, float],
                      probability: Callable[[float, str], np.ndarray]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The solar counts summed over the bins at one parameter point, by power of the coupling
    product C: (SM, linear L, quadratic Q) per grid mass, counts = SM + C L + C^2 Q."""
    inputs = template_inputs(templates, params, probability, (1,))
    inputs = replace(inputs, background_norms=np.zeros_like(inputs.background_norms))
    terms = []
    for mass in point_indices:
        at = {c: float(inputs.counts(templates, int(mass), np.array([c]), True).sum())
              for c in (0.0, 1.0, -1.0)}
        terms.append((at[0.0], 0.5 * (at[1.0] - at[-1.0]),
                      0.5 * (at[1.0] + at[-1.0]) - at[0.0]))
    sm, linear, quadratic = np.array(terms).reshape(-1, 3).T
    return sm, linear, quadratic


def poisson_log_likelihood(expected_counts, observed_counts) -> np.ndarray:
    """sum_b [n_b ln mu_b - mu_b] over the last axis (the constant -ln n_b! is dropped);
    -inf where any mu_b <= 0 or is not finite."""
    mu = np.asarray(expected_counts, dtype=float)
    valid = np.all(np.isfinite(mu) & (mu > 0), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.log(mu) @ np.asarray(observed_counts, dtype=float) - mu.sum(axis=-1)
    return np.where(valid, value, -np.inf)


def poisson_deviance(observed_counts, expected_counts) -> np.ndarray:
    """Poisson deviance 2 sum_b [mu_b - n_b + n_b ln(n_b / mu_b)] over the last axis (a bin
    with n_b = 0 adds 2 mu_b): -2 ln of the likelihood ratio to the saturated model, about
    one per bin for a good fit (S. Baker and R. D. Cousins, NIM 221, 437 (1984)).

    Raises ValueError unless the counts are >= 0 and the expected counts finite and > 0.
    """
    n = np.asarray(observed_counts, dtype=float)
    mu = np.asarray(expected_counts, dtype=float)
    if n.shape[-1:] != mu.shape[-1:]:
        raise ValueError(f"{n.shape[-1]} observed bins for {mu.shape[-1]} expected bins")
    if np.any(~np.isfinite(n)) or np.any(n < 0):
        raise ValueError("observed counts must be finite and >= 0")
    if np.any(~np.isfinite(mu)) or np.any(mu <= 0):
        raise ValueError("expected counts must be finite and > 0 in every bin")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where(n > 0, n * np.log(n / mu), 0.0)
    return 2.0 * np.sum(mu - n + log_ratio, axis=-1)


@dataclass(frozen=True)
class SpectrumMeasurement:
    """Observed counts in N_h bins with the background templates of the data set.

    Attributes
    ----------
    name : str
    nh_edges : (n_bins + 1,)
        Increasing N_h bin edges.
    counts : (n_bins,)
        Observed counts (non-negative integers).
    exposure_day_100t : float
        Exposure [day x 100 t], > 0.
    background_counts : dict of str -> (n_bins,)
        Expected counts of each background at normalisation 1 (non-negative).
    source : str
        Citation of the data.
    response : NhResponse
        The detector's N_h response to an electron recoil (default: the one calibrated on
        Borexino's best-fit spectrum, :func:`~mcprop.physics.nh_response.load_nh_response`).
    background_shapes : BackgroundShapes or None
        The backgrounds in unit N_h bins as the detector saw them (rows in the order of
        ``background_counts``): given, they take the response nuisances as the solar counts
        do; None keeps ``background_counts`` fixed.
    reference_counts : (n_bins,) or None
        The experiment's own best-fit model in these bins, for the goodness of fit.
    low_energy_log_response : (5, n_bkg, n_bins) or None
        How the backgrounds change with the low-energy response of the 14C light (the
        physics threshold model): coefficients of ln(counts / nominal counts) in the
        monomials of (``nh_c14_offset``, ``nh_c14_resolution_scale``)
        (:func:`~mcprop.physics.threshold_backgrounds.low_energy_log_model`); None: the
        backgrounds do not depend on it.
    """

    name: str
    nh_edges: np.ndarray
    counts: np.ndarray
    exposure_day_100t: float
    background_counts: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    response: NhResponse = field(default_factory=load_nh_response)
    background_shapes: BackgroundShapes | None = None
    reference_counts: np.ndarray | None = None
    low_energy_log_response: np.ndarray | None = None

    def __post_init__(self):
        edges = np.asarray(self.nh_edges, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(~np.isfinite(edges)) \
                or np.any(np.diff(edges) <= 0):
            raise ValueError(f"{self.name}: nh_edges must be at least two increasing finite "
                             "N_h values")
        counts = np.asarray(self.counts, dtype=float)
        n_bins = edges.size - 1
        if counts.shape != (n_bins,):
            raise ValueError(f"{self.name}: {counts.size} counts for {n_bins} bins")
        if np.any(~np.isfinite(counts)):
            raise ValueError(f"{self.name}: counts missing (not finite) in "
                             f"{int(np.sum(~np.isfinite(counts)))} bins")
        if np.any(counts < 0) or np.any(counts != np.round(counts)):
            raise ValueError(f"{self.name}: counts must be non-negative integers")
        if not (np.isfinite(self.exposure_day_100t) and self.exposure_day_100t > 0):
            raise ValueError(f"{self.name}: exposure must be finite and > 0 day x 100 t")
        if np.any(counts > MAX_UNIT_BIN_RATE_CPD100T * self.exposure_day_100t
                  * np.diff(edges)):
            raise ValueError(f"{self.name}: counts above {MAX_UNIT_BIN_RATE_CPD100T:g} per "
                             f"day x 100 t per unit N_h bin: not a measurement")
        if not self.source.strip():
            raise ValueError(f"{self.name}: a measurement needs a source citation")
        templates = {}
        for key, values in self.background_counts.items():
            values = np.asarray(values, dtype=float)
            if values.shape != (n_bins,):
                raise ValueError(f"{self.name}: background {key!r} has {values.size} entries "
                                 f"for {n_bins} bins")
            if np.any(~np.isfinite(values)):
                raise ValueError(f"{self.name}: background {key!r} is missing (not finite) "
                                 "in some bins")
            if np.any(values < 0):
                raise ValueError(f"{self.name}: background {key!r} has negative entries "
                                 f"(bins {np.flatnonzero(values < 0)[:5].tolist()} ...)")
            values.flags.writeable = False
            templates[key] = values
        if self.background_shapes is not None and \
                len(self.background_shapes.counts) != len(templates):
            raise ValueError(f"{self.name}: {len(self.background_shapes.counts)} background "
                             f"shapes for {len(templates)} backgrounds")
        if self.reference_counts is not None:
            reference = np.asarray(self.reference_counts, dtype=float)
            if reference.shape != (n_bins,) or np.any(~(reference > 0)):
                raise ValueError(f"{self.name}: the reference model needs counts > 0 in "
                                 f"all {n_bins} bins")
            object.__setattr__(self, "reference_counts", reference)
        if self.low_energy_log_response is not None:
            model = np.asarray(self.low_energy_log_response, dtype=float)
            if model.shape != (5, len(templates), n_bins) or np.any(~np.isfinite(model)):
                raise ValueError(f"{self.name}: the low-energy response model needs finite "
                                 f"coefficients of shape (5, {len(templates)}, {n_bins})")
            object.__setattr__(self, "low_energy_log_response", model)
        edges.flags.writeable = False
        counts.flags.writeable = False
        object.__setattr__(self, "nh_edges", edges)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "background_counts", templates)

    @property
    def n_bins(self) -> int:
        return self.counts.size

    @property
    def background_names(self) -> tuple[str, ...]:
        return tuple(self.background_counts)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the parameters the expected counts read: the solar fluxes, the background
        normalisations and the response nuisances (with the low-energy ones of the 14C light
        where the backgrounds depend on them)."""
        low_energy = () if self.low_energy_log_response is None \
            else LOW_ENERGY_RESPONSE_PARAMETERS
        return (*flux_parameters(SOLAR_SOURCES),
                *(background_parameter(name) for name in self.background_names),
                *RESPONSE_PARAMETERS, *low_energy)

    @property
    def background_matrix(self) -> np.ndarray:
        """Background templates stacked, shape (n_bkg, n_bins)."""
        return np.array([self.background_counts[k] for k in self.background_names]).reshape(
            -1, self.n_bins)

    @property
    def background_templates(self) -> BackgroundShapes | np.ndarray:
        """What the spectral templates take as backgrounds: the unit-bin shapes that follow
        the response nuisances, or the fixed :attr:`background_matrix`."""
        return self.background_matrix if self.background_shapes is None \
            else self.background_shapes

    @property
    def reference_deviance(self) -> float | None:
        """Poisson deviance of the experiment's own best-fit model on these bins."""
        if self.reference_counts is None:
            return None
        return float(poisson_deviance(self.counts, self.reference_counts))

    def log_likelihood(self, expected_counts) -> np.ndarray:
        """Poisson log-likelihood of the counts for expected counts (n, n_bins) -> (n,)."""
        mu = np.asarray(expected_counts, dtype=float)
        if mu.shape[-1] != self.n_bins:
            raise ValueError(f"{self.name}: expected counts have {mu.shape[-1]} bins, the "
                             f"measurement {self.n_bins}")
        return poisson_log_likelihood(mu, self.counts)


def unit_bins(nh, values, nh_min: int, nh_max: int, what: str,
              integers: bool = False, max_value: float = np.inf) -> np.ndarray:
    """The unit-bin ``values`` (indexed like the integers ``nh``) of every N_h from ``nh_min``
    to ``nh_max``, checked before any rebinning: each unit bin present once, finite, >= 0 and
    at most ``max_value`` (integers if ``integers``). ValueError naming ``what`` and the first
    offending N_h.

    >>> unit_bins([1, 2, 3], [5, 6, 7], 2, 3, "counts").tolist()
    [6.0, 7.0]
    """
    nh = np.asarray(nh)
    values = np.asarray(values, dtype=float)
    wanted = np.arange(nh_min, nh_max + 1)
    missing = np.setdiff1d(wanted, nh)
    if missing.size:
        raise ValueError(f"{what}: no unit bin N_h = {missing[0]} (the table has "
                         f"{wanted.size - missing.size} of the {wanted.size} unit bins of N_h "
                         f"{nh_min}-{nh_max}; each must be given, a missing bin is not 0)")
    inside = (nh >= nh_min) & (nh <= nh_max)
    if np.count_nonzero(inside) != wanted.size:
        raise ValueError(f"{what}: a unit bin of N_h {nh_min}-{nh_max} appears twice")
    values = values[inside][np.argsort(nh[inside])]
    problems = {"is not finite": ~np.isfinite(values), "is negative": values < 0,
                f"is above the plausible {max_value:.3g}": values > max_value}
    if integers:
        problems["is not an integer"] = values != np.round(values)
    for problem, bad in problems.items():
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            value = f" ({values[first]:.6g})" if np.isfinite(values[first]) else ""
            raise ValueError(f"{what}: the unit bin N_h = {nh_min + first}{value} {problem}")
    return values


#: Default lowest N_h of the Borexino Phase-II spectrum: the first bin of the published
#: spectrum and of Borexino's components. With the 14C and pile-up from physics the fit is
#: good from there (deviance 0.3 for the four bins of N_h 93-112, where Borexino's own
#: best-fit model gives 101.9; docs/physics.md sec. 14).
BOREXINO_PHASE2_NH_FLOOR = 93


#: The threshold backgrounds, whose shape near the threshold is uncertain beyond their
#: normalisations (the 14C resolution tail and the pile-up), and the name of the template
#: that tilts them: (14C + pile-up) x (N_h - N_0) / THRESHOLD_TILT_NH, N_0 the first N_h of
#: the shapes (93), so that an amplitude t changes them by a fraction t every
#: THRESHOLD_TILT_NH above N_0 (docs/physics.md sec. 14).
THRESHOLD_BACKGROUNDS = ("c14", "pileup")
THRESHOLD_TILT_NH = 10.0


def borexino_phase2_spectrum(nh_min: int = BOREXINO_PHASE2_NH_FLOOR, nh_max: int = 950,
                             bin_width: int = 1, data: BorexinoPhase2Data | None = None,
                             name: str | None = None, response: NhResponse | None = None,
                             threshold_tilt: bool = False,
                             threshold_backgrounds: str = "physics",
                             threshold_width_scale: float = 0.0,
                             threshold_offset_nh: float = C14_LIGHT_OFFSET_NH,
                             c14_normalisation: str = "activity") -> SpectrumMeasurement:
    """The Borexino Phase-II spectrum from N_h = ``nh_min`` to ``nh_max`` (inclusive) in bins
    of ``bin_width`` unit bins, with Borexino's background shapes (PRD 100, 082004 (2019)
    Fig. 6a) as templates that follow the response nuisances, and Borexino's best-fit model
    (Nature 562, 505 (2018) Fig. 2a; the Fig. 6a total where the file gives none) as the
    reference for the goodness of fit. ``response``: the default calibrated one if None.
    ``threshold_tilt`` adds the template :data:`THRESHOLD_TILT` (amplitude
    ``bkg_threshold_tilt_norm``) when the 14C or pile-up shape is among the backgrounds.
    ``threshold_backgrounds = "physics"`` (the default) takes the 14C and pile-up shapes
    from the 14C beta spectrum and its pile-up folded with ``response``
    (:func:`~mcprop.physics.threshold_backgrounds.physics_threshold_rates`, with the nominal
    low-energy width scale ``threshold_width_scale`` and offset ``threshold_offset_nh`` of
    the 14C light and the 14C normalisation ``c14_normalisation``), and the backgrounds then
    depend on the nuisances ``nh_c14_offset`` and ``nh_c14_resolution_scale`` around that
    nominal (:attr:`SpectrumMeasurement.low_energy_log_response`); ``"digitised"`` keeps
    Borexino's curves and ignores these three arguments.

    The shapes cover N_h 93-950, the largest range. The default starts at
    :data:`BOREXINO_PHASE2_NH_FLOOR`.

    Every unit bin of the range must be in both tables (:func:`unit_bins`): counts are
    non-negative integers of at most :data:`MAX_UNIT_BIN_RATE_CPD100T` times the exposure,
    background rates finite and >= 0, and each background non-zero somewhere in the range
    (its normalisation is otherwise not constrained by the data).
    """
    data = load_borexino_phase2() if data is None else data
    low = max(int(np.min(data.nh)), int(np.min(data.background_nh)))
    high = min(int(np.max(data.nh)), int(np.max(data.background_nh)))
    if not (low <= nh_min < nh_max <= high):
        raise ValueError(f"N_h range {nh_min}-{nh_max} is outside the spectrum's {low}-{high} "
                         "(where both the counts and the background shapes are known)")
    if bin_width < 1 or (nh_max - nh_min + 1) % bin_width:
        raise ValueError(f"bin_width {bin_width} must be >= 1 and divide the "
                         f"{nh_max - nh_min + 1} unit bins of N_h {nh_min}-{nh_max}")
    counts = unit_bins(data.nh, data.counts, nh_min, nh_max, "spectrum counts", integers=True,
                       max_value=MAX_UNIT_BIN_RATE_CPD100T * data.exposure_day_100t)
    for key, rate in data.background_rates.items():
        rate = unit_bins(data.background_nh, rate, nh_min, nh_max, f"background {key!r}",
                         max_value=MAX_UNIT_BIN_RATE_CPD100T)
        if not np.any(rate > 0):
            raise ValueError(f"background {key!r} is 0 in every unit bin of N_h "
                             f"{nh_min}-{nh_max}: the data cannot constrain its normalisation "
                             f"(leave it out of the backgrounds)")
    edges = np.arange(nh_min, nh_max + 2, bin_width) - 0.5
    reference = _reference(data, edges)
    response = load_nh_response() if response is None else response
    if threshold_backgrounds not in THRESHOLD_MODELS:
        raise ValueError(f"unknown threshold-background model {threshold_backgrounds!r} "
                         f"(choose one of {', '.join(THRESHOLD_MODELS)})")
    physics = threshold_backgrounds == "physics"

    def background_rates(offset_nh: float, width_scale: float) -> dict[str, np.ndarray]:
        """The unit-bin background rates with the 14C light moved by ``offset_nh`` and its
        width scaled by ``width_scale`` (physics model), the tilt template added."""
        rates = dict(data.background_rates)
        if physics:
            rates = _physics_threshold(data, response, width_scale, offset_nh,
                                       c14_normalisation)
        threshold = [rates[k] for k in THRESHOLD_BACKGROUNDS if k in rates]
        if threshold_tilt and threshold:
            rates[THRESHOLD_TILT] = (sum(threshold) * (data.background_nh - data.background_nh[0])
                                     / THRESHOLD_TILT_NH)
        return rates

    rates = background_rates(threshold_offset_nh, threshold_width_scale)
    low_energy = None
    if physics and any(k in rates for k in THRESHOLD_BACKGROUNDS):
        stencil = [rates] + [background_rates(threshold_offset_nh + d, threshold_width_scale + w)
                             for d, w in low_energy_stencil()[1:]]
        low_energy = low_energy_log_model(
            [[rebin(data.background_nh, r[name], edges) for name in rates] for r in stencil])
    backgrounds = {name: rebin(data.background_nh, rate, edges) * data.exposure_day_100t
                   for name, rate in rates.items()}
    shapes = BackgroundShapes(data.background_nh, np.array(
        [rate * data.exposure_day_100t for rate in rates.values()]))
    return SpectrumMeasurement(
        name=name or f"borexino-phase2-nh{nh_min}-{nh_max}", nh_edges=edges,
        counts=rebin(np.arange(nh_min, nh_max + 1), counts, edges),
        exposure_day_100t=data.exposure_day_100t,
        background_counts=backgrounds, source=BOREXINO_PHASE2_SOURCE,
        response=response, background_shapes=shapes, reference_counts=reference,
        low_energy_log_response=low_energy)


def _physics_threshold(data: BorexinoPhase2Data, response: NhResponse, width_scale: float,
                       offset_nh: float, c14_normalisation: str) -> dict[str, np.ndarray]:
    """The unit-bin background rates of ``data`` with its 14C and pile-up shapes (those
    present) from physics, with the other events of :func:`_pileup_partners`."""
    physics = physics_threshold_rates(response, data.background_nh, data.background_rates,
                                      *_pileup_partners(), width_scale=width_scale,
                                      offset_nh=offset_nh, c14_normalisation=c14_normalisation)
    return {name: physics.get(name, rate) for name, rate in data.background_rates.items()}


@functools.lru_cache(maxsize=1)
def _pileup_partners() -> tuple[np.ndarray, np.ndarray]:
    """The other events a 14C decay piles up with: N_h and rate [counts / (day x 100 t)] of
    Borexino's Phase-II best-fit model (package data), whatever spectrum is fitted: a
    property of the detector's event rate, like the response, not of the counts fitted."""
    phase2 = load_borexino_phase2()
    best_fit = borexino_best_fit(phase2)
    known = np.isfinite(best_fit)
    return phase2.nh[known], best_fit[known] / phase2.exposure_day_100t


def _reference(data: BorexinoPhase2Data, edges) -> np.ndarray | None:
    """Borexino's best-fit model in the bins ``edges``, None where it is not known in all."""
    best_fit = borexino_best_fit(data)
    if best_fit is None:
        return None
    reference = rebin(data.nh, best_fit, edges)
    return reference if np.all(reference > 0) else None


def borexino_best_fit(data: BorexinoPhase2Data) -> np.ndarray | None:
    """Borexino's best-fit model [counts] in the unit bins ``data.nh``: the Nature Fig. 2a
    curve (rate - residual x error), where it is not given (N_h 92 and the 5 empty bins) the
    total of the Fig. 6a components (which agrees with it to 1.4e-4 elsewhere); None for a
    spectrum without it."""
    given = np.isfinite(data.best_fit_counts)
    if not given.any():
        return None
    total = (sum(data.background_rates.values()) + data.solar_rate) * data.exposure_day_100t
    fallback = np.interp(data.nh, data.background_nh, total, left=np.nan, right=np.nan)
    return np.where(given, data.best_fit_counts, fallback)
