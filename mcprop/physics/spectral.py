"""The Borexino Phase-II recoil spectrum in N_h bins, with a light Z' or magnetic moments.

Expected solar counts of source s in N_h bin b (exposure X [day x 100 t], N_e electrons per
100 t, flux Phi_s [cm^-2 s^-1], normalised spectrum lambda_s(E)):

    mu_sb = X N_e 86400 Phi_s Int dE lambda_s(E) sum_a P_ea(E) Int dT dsigma_a/dT(T, E) R(T -> b)

with dsigma_a/dT = PREFACTOR [c0_a + kappa_a c1_a + kappa_a^2 c2] and
kappa_a = x_a C r(T) / (m^2 + 2 m_e T) (docs/physics.md sec. 6-6, mcprop.physics.kernels). The
flavour probabilities vary smoothly with E and depend on sampled parameters, so they are
represented on a few energy nodes per continuous source, P_ea(E) = sum_k P_ea(E_k) L_k(E)
(L_k: Lagrange polynomials in ln E on Chebyshev nodes; the E integrals per node are those of
mcprop.physics.source_integrals), and every T and E integral is done once per mass, node
and bin: templates for the SM (c0), the term linear in C (c1) and the term
quadratic in C (c2).

The detector response R(T -> b) and its three nuisances (energy scale, offset, resolution
scale) are those of mcprop.physics.nh_response: every template is stored as the quadratic
model in the nuisances (19 response evaluations), so sampling them needs no integration;
background shapes take the same model. The data and exposure are those of
mcprop.physics.borexino_phase2.

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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
from scipy.special import ndtr

from mcprop.physics.borexino_phase2 import BOREXINO_PHASE2_EXPOSURE_DAY_100T, SOURCE_GROUPS
from mcprop.physics.constants import (
    ELECTRONS_PER_100T_PSEUDOCUMENE,
    M_ELECTRON_MEV,
    SECONDS_PER_DAY,
)
from mcprop.physics.nh_response import (
    RESPONSE_STEPS,
    RESPONSE_TERMS,
    BackgroundShapes,
    NhResponse,
    background_response_model,
    quadratic_response_model,
    response_monomials,
    response_stencil,
)
from mcprop.physics.parameters import LOW_ENERGY_RESPONSE_PARAMETERS, RESPONSE_PARAMETERS
from mcprop.physics.quadrature import gauss_legendre
from mcprop.physics.scattering import (
    U1Model,
    default_sin2_theta_w,
    electron_coupling_running,
    t_max_MeV,
)
from mcprop.physics.solar_spectra import (
    SOLAR_SOURCES,
    SolarSource,
    flux_parameters,
    min_neutrino_energy_MeV,
)
from mcprop.physics.source_integrals import (
    node_cross_sections_cm2,
    probability_nodes_MeV,
    recoil_densities,
)
from mcprop.physics.threshold_backgrounds import low_energy_monomials

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

#: What the new-physics rows of :class:`SpectralTemplates` hold: a Z' (terms quadratic and
#: linear in its coupling, per mass) or flavour-diagonal neutrino magnetic moments (the EM
#: cross section, one grid point).
TemplateKind = Literal["zprime", "magnetic-moment"]


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
        T, w = gauss_legendre(edges[:-1], edges[1:], _T_ORDER)
        nodes.append(T.ravel())
        weights.append(w.ravel())
    return np.concatenate(nodes), np.concatenate(weights)


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
    kind : TemplateKind
        ``"zprime"`` (:meth:`compute`) or ``"magnetic-moment"``
        (:meth:`compute_magnetic_moment`).
    low_energy_log_response : (5, n_bkg, n_bins) or None
        ln of the change of each background with the low-energy response of the 14C light
        (rows 4 and 5 of ``response_shifts``) in its monomials
        (:func:`~mcprop.physics.threshold_backgrounds.low_energy_monomials`), applied as a
        factor on top of the response model; None: the backgrounds do not depend on it.
    """

    masses_MeV: np.ndarray
    model: U1Model | None
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
    kind: TemplateKind = "zprime"
    low_energy_log_response: np.ndarray | None = None

    @classmethod
    def compute(cls, masses_MeV, model: U1Model, nh_edges, response: NhResponse,
                background_counts, background_names: Sequence[str], **options
                ) -> "SpectralTemplates":
        """Integrate the templates of the Standard Model and of a Z' of ``model`` at every
        mass once. Evaluate with :meth:`expected_counts`.

        Parameters
        ----------
        masses_MeV : array (n_m,)
            Z' masses [MeV].
        model : U1Model
            The Z' model.
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
        low_energy_log_response : (5, n_bkg, n_bins) or None
            The backgrounds' dependence on the low-energy response of the 14C light
            (:attr:`mcprop.inference.spectrum.SpectrumMeasurement.low_energy_log_response`).
        """
        return cls._integrate("zprime", masses_MeV, model, nh_edges, response,
                              background_counts, background_names, **options)

    @classmethod
    def _integrate(cls, kind: TemplateKind, masses_MeV, model: U1Model | None, nh_edges,
                   response: NhResponse, background_counts, background_names: Sequence[str],
                   exposure_day_100t: float = BOREXINO_PHASE2_EXPOSURE_DAY_100T,
                   sources: Sequence[SolarSource] = SOLAR_SOURCES, nodes_per_source: int = 4,
                   response_steps=RESPONSE_STEPS, radiative_corrections: bool = True,
                   sin2_theta_w: float | None = None, basis_tolerance: float = 1e-6,
                   low_energy_log_response=None) -> "SpectralTemplates":
        """The templates of ``kind`` (no masses and no model for a magnetic moment); the
        other arguments as in :meth:`compute`."""
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
            background_model = np.zeros((RESPONSE_TERMS,) + fixed.shape)
            background_model[0] = fixed
        backgrounds = background_model[0]
        if backgrounds.shape[0] != len(background_names):
            raise ValueError(f"{len(background_names)} background names for "
                             f"{backgrounds.shape[0]} background templates")
        if low_energy_log_response is not None:
            low_energy_log_response = np.asarray(low_energy_log_response, dtype=float)
            if low_energy_log_response.shape != (5,) + backgrounds.shape:
                raise ValueError(f"the low-energy response model has shape "
                                 f"{low_energy_log_response.shape}, the backgrounds "
                                 f"{backgrounds.shape}")
        if not exposure_day_100t > 0:
            raise ValueError(f"exposure must be > 0 day x 100 t, got {exposure_day_100t}")
        if nodes_per_source < 1:
            raise ValueError(f"nodes_per_source must be >= 1, got {nodes_per_source}")
        stencil = [response.shifted(*shift) for shift in response_stencil(steps)]
        t_max = {source.name: float(t_max_MeV(source.max_energy_MeV)) for source in sources}
        t_low, t_high = _recoil_range_MeV(stencil, edges, max(t_max.values()))
        sources = tuple(source for source in sources if t_max[source.name] > t_low)
        if not sources:
            raise ValueError("no solar source reaches the N_h bins")

        # one recoil grid for all sources, with a panel edge at every source's largest recoil
        inner = [t for t in t_max.values() if t_low < t < t_high]
        T, weights = _recoil_nodes(response, np.unique([t_low, t_high, *inner]))
        # quadratic response model: (n_T, 10 n_bins)
        response_matrix = quadratic_response_model(np.stack(
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
            densities = recoil_densities(source, T, energies, e_low, radiative_corrections,
                                          sin2_theta_w)
            for collected, density in zip((d0, d1, d2, dm), densities, strict=True):
                collected.append(density * weights * scale * source.fraction)
            rates.append(rate_per_cross_section * source.fraction * node_cross_sections_cm2(
                source, energies, e_low, radiative_corrections, sin2_theta_w))
            nodes.extend(energies)
            node_sources.extend([source.name] * len(energies))
            node_flux.extend([fluxes.index(source.flux_parameter)] * len(energies))
        n_nodes = len(nodes)
        sm = np.concatenate(d0).reshape(3 * n_nodes, T.size)
        n_bins = edges.size - 1
        if kind == "magnetic-moment":
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
        response_in_basis = (response_matrix.reshape(T.size, RESPONSE_TERMS, n_bins)
                             @ basis.T)                           # (n_T, 10, n_basis)
        sm_coefficients = np.einsum("jt,tqk->qjk", sm, response_in_basis)
        solar = np.stack([np.concatenate([sm_coefficients,
                                          np.einsum("jt,tqk->qjk", new_physics_densities(i),
                                                    response_in_basis)], axis=1)
                          for i in range(n_points)])
        return cls(masses, model, edges, sources, fluxes, np.array(nodes), tuple(node_sources),
                   np.array(node_flux, dtype=int), steps, tuple(background_names), backgrounds,
                   background_model, basis.copy(), solar, basis_tolerance,
                   np.concatenate(rates), kind, low_energy_log_response)

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
        return cls._integrate("magnetic-moment", np.empty(0), None, nh_edges, response,
                              background_counts, background_names, **options)

    @property
    def n_bins(self) -> int:
        return self.nh_edges.size - 1

    @property
    def response_parameters(self) -> tuple[str, ...]:
        """Names of the ``response_shifts`` rows: the response nuisances, then those of the
        low-energy response of the 14C light where the backgrounds depend on it."""
        low_energy = () if self.low_energy_log_response is None \
            else LOW_ENERGY_RESPONSE_PARAMETERS
        return (*RESPONSE_PARAMETERS, *low_energy)

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
        (len(response_parameters), n)."""
        shifts = self._shifts(response_shifts)
        monomials = response_monomials(shifts[:3], self.response_steps)  # (10, n)
        shapes = np.einsum("qn,qbk->nbk", monomials, self.background_response)
        if self.low_energy_log_response is not None:
            rows = self._low_energy_rows
            shapes[:, rows] *= np.exp(np.einsum(
                "pn,pbk->nbk", low_energy_monomials(shifts[3:]),
                self.low_energy_log_response[:, rows]))
        return shapes

    @functools.cached_property
    def _low_energy_rows(self) -> np.ndarray:
        """The backgrounds that depend on the low-energy response of the 14C light."""
        return np.flatnonzero(np.any(self.low_energy_log_response != 0, axis=(0, 2)))

    def _shifts(self, response_shifts) -> np.ndarray:
        """``response_shifts`` as an array, ValueError unless it has a row per
        :attr:`response_parameters`."""
        shifts = np.asarray(response_shifts, dtype=float)
        if shifts.shape[:1] != (len(self.response_parameters),):
            raise ValueError(f"response_shifts must have {len(self.response_parameters)} rows "
                             f"({', '.join(self.response_parameters)}), got {shifts.shape}")
        return shifts

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
        response_shifts : array (3, n) or (5, n)
            Energy scale (fraction), offset [N_h], resolution scale (fraction); then, where
            the backgrounds depend on it, the low-energy offset [N_h] and width scale of the
            14C light (:attr:`response_parameters`).
        interference : bool
            Keep the SM-Z' interference (terms linear in C).

        Returns
        -------
        array (n, n_bins)
        """
        if self.kind != "zprime":
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
        if self.kind != "magnetic-moment":
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
        shifts = self._shifts(response_shifts)
        monomials = response_monomials(shifts[:3], self.response_steps)      # (10, n)
        combined = (monomials[:, None, :] * solar_weights[live][None]).reshape(-1, n)
        solar = self.solar[point][:, :solar_weights.shape[0]][:, live].reshape(
            -1, self.basis.shape[0])
        counts = (combined.T @ solar) @ self.basis
        norms = np.asarray(background_norms, dtype=float)                      # (n_bkg, n)
        if self.low_energy_log_response is not None:
            return counts + np.einsum("bn,nbk->nk", norms, self.background_shapes(shifts))
        background = (monomials[:, None, :] * norms[None]).reshape(-1, n)
        return counts + background.T @ self.background_response.reshape(-1, self.n_bins)
