"""Cross sections integrated over the solar neutrino spectra, in the node representation of
the flavour probabilities used by the spectral templates (mcprop.physics.spectral).

The flavour probabilities vary smoothly with the neutrino energy E and depend on sampled
parameters, so they are represented on a few energy nodes per continuous source,
P_ea(E) = sum_k P_ea(E_k) L_k(E) (L_k: Lagrange polynomials in ln E on Chebyshev nodes,
:func:`probability_nodes_MeV`). What the templates need per node k is then an integral over
the source's spectrum lambda(E) with L_k(E): of the differential cross-section
coefficients at each recoil energy (:func:`recoil_densities`) and of the total cross
section (:func:`node_cross_sections_cm2`). The cross-section expansion is the project's one
definition, :func:`mcprop.physics.scattering.cross_section_coefficients` (BKS radiative
corrections or tree level); the EM cross section of a magnetic moment is
:func:`mcprop.physics.magnetic_moment.dsigma_dT_magnetic_cm2_per_MeV`.
"""

import numpy as np

from mcprop.physics.magnetic_moment import dsigma_dT_magnetic_cm2_per_MeV
from mcprop.physics.quadrature import endpoint_crowded_rule, gauss_legendre
from mcprop.physics.scattering import (
    CROSS_SECTION_PREFACTOR_CM2_PER_MEV,
    cross_section_coefficients,
    t_max_MeV,
)
from mcprop.physics.solar_spectra import SolarSource, min_neutrino_energy_MeV, spectrum

#: Neutrino-energy integral at each recoil energy: Gauss-Legendre nodes.
_E_ORDER = 48
#: Total cross section: Gauss-Legendre rule on [0, 1] (4 panels of 16 nodes) in v, mapped to
#: T / T_max = 1 - (1 - v)^3, which crowds the nodes toward T_max, where the O(alpha) QED
#: factors have an integrable logarithmic singularity (relative error below 3e-7 against
#: the 1024-node rule of mcprop.physics.kernels; exact at tree level).
_SIGMA_PANELS, _SIGMA_ORDER = 4, 16
_RECOIL_FRACTIONS, _RECOIL_FRACTION_WEIGHTS = endpoint_crowded_rule(_SIGMA_PANELS, _SIGMA_ORDER)
#: Neutrino-energy integral of the total rate: Gauss-Legendre nodes per interval of the
#: tabulated spectrum (exact for the linear density times a cubic cross section).
_SPECTRUM_PANEL_ORDER = 2


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


def recoil_densities(source: SolarSource, T, node_energies, low_MeV, radiative_corrections,
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
    E, weights = gauss_legendre(min_neutrino_energy_MeV(T), source.max_energy_MeV, _E_ORDER)
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


def node_cross_sections_cm2(source: SolarSource, node_energies, low_MeV,
                             radiative_corrections, sin2_theta_w) -> np.ndarray:
    """Int dE lambda(E) L_k(E) sigma_a(E) [cm^2] per probability node k and flavour a,
    shape (n_nodes, 3): the total cross section averaged over the source's spectrum in the
    node representation of the templates (for a line: sigma_a(E_line))."""
    if source.is_line:
        return _total_cross_sections_cm2(source.line_energy_MeV, radiative_corrections,
                                        sin2_theta_w)[None]
    table_energy, _ = spectrum(source.name)
    E, weights = gauss_legendre(table_energy[:-1], table_energy[1:], _SPECTRUM_PANEL_ORDER)
    E, weights = E.ravel(), weights.ravel() * source.density_per_MeV(E.ravel())
    u = np.clip(np.log(E), *_node_range(source, low_MeV))
    basis = _lagrange_basis(u, np.log(node_energies)) * weights
    return basis @ _total_cross_sections_cm2(E, radiative_corrections, sin2_theta_w)
