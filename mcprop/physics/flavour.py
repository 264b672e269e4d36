"""PMNS matrix and the flavour content of solar neutrinos at the detector.

Solar neutrinos arrive as an incoherent mixture of mass states with weights w_i
(Gninenko & Gorbunov, arXiv:2007.16098, eq. 3), so the detector sees flavour a with
probability P_ea = sum_i w_i |U_ai|^2. Every flavour model maps named parameter arrays
(and a neutrino energy, for energy-dependent models) to an array of shape (3, ...) holding
P_ee, P_emu, P_etau.

Parameter names, shared with the prior files: ``sin2_theta12``, ``sin2_theta13``,
``sin2_theta23``, ``delta_cp_deg``, ``dm2_21_eV2``, ``p_ee`` (and ``dm2_31_eV2`` for
:func:`msw_probabilities`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from mcprop.physics.constants import G_FERMI_PER_MEV2, MATTER_POTENTIAL_EV_PER_NA_CM3
from mcprop.physics.scattering import U1Model
from mcprop.physics.solar import SolarProfile, solar_model
from mcprop.physics.tables import csv_rows

#: NuFIT 5.0 normal-ordering best fit with SK-atm, I. Esteban et al., JHEP 09 (2020) 178,
#: www.nu-fit.org v5.0: the central values used by ``mcprop predict``.
NUFIT_5_0_NO_CENTRAL: dict[str, float] = {
    "sin2_theta12": 0.304,
    "sin2_theta13": 0.02219,
    "sin2_theta23": 0.573,
    "delta_cp_deg": 197.0,
    "dm2_21_eV2": 7.42e-5,
}
#: Borexino Phase-I survival probability of 862 keV 7Be neutrinos, PRL 107, 141302 (2011).
BOREXINO_PHASE1_P_EE = 0.51

Params = Mapping[str, np.ndarray | float]


def pmns_matrix(sin2_theta12, sin2_theta13, sin2_theta23, delta_cp_deg) -> np.ndarray:
    """PMNS matrix U[..., alpha, i] in the standard parametrisation (PDG).

    Inputs broadcast against each other; the result has shape ``(..., 3, 3)``.
    """
    s12, s13, s23 = (np.sqrt(np.asarray(x, dtype=float)) for x in
                     (sin2_theta12, sin2_theta13, sin2_theta23))
    c12, c13, c23 = np.sqrt(1 - s12**2), np.sqrt(1 - s13**2), np.sqrt(1 - s23**2)
    phase = np.exp(1j * np.deg2rad(np.asarray(delta_cp_deg, dtype=float)))
    s12, s13, s23, c12, c13, c23, phase = np.broadcast_arrays(s12, s13, s23, c12, c13, c23, phase)
    u = np.empty(s12.shape + (3, 3), dtype=complex)
    u[..., 0, 0] = c12 * c13
    u[..., 0, 1] = s12 * c13
    u[..., 0, 2] = s13 / phase
    u[..., 1, 0] = -s12 * c23 - c12 * s23 * s13 * phase
    u[..., 1, 1] = c12 * c23 - s12 * s23 * s13 * phase
    u[..., 1, 2] = s23 * c13
    u[..., 2, 0] = s12 * s23 - c12 * c23 * s13 * phase
    u[..., 2, 1] = -c12 * s23 - s12 * c23 * s13 * phase
    u[..., 2, 2] = c23 * c13
    return u


def _mixing_rows(params: Params, flavours: int) -> tuple:
    """Rows e, mu (, tau) of |U_ai|^2 as tuples of arrays, in closed form."""
    s12sq, s13sq, s23sq = (np.asarray(params[k], dtype=float) for k in
                           ("sin2_theta12", "sin2_theta13", "sin2_theta23"))
    c12sq, c13sq, c23sq = 1 - s12sq, 1 - s13sq, 1 - s23sq
    cos_delta = np.cos(np.deg2rad(np.asarray(params["delta_cp_deg"], dtype=float)))
    cross = 2 * np.sqrt(s12sq * c12sq * s23sq * c23sq * s13sq) * cos_delta
    rows = [(c12sq * c13sq, s12sq * c13sq, s13sq),
            (s12sq * c23sq + c12sq * s23sq * s13sq + cross,
             c12sq * c23sq + s12sq * s23sq * s13sq - cross, s23sq * c13sq)]
    if flavours == 3:
        rows.append((s12sq * s23sq + c12sq * c23sq * s13sq - cross,
                     c12sq * s23sq + s12sq * c23sq * s13sq + cross, c23sq * c13sq))
    return tuple(rows)


def mixing_weights(params: Params) -> np.ndarray:
    """|U_ai|^2 with shape (3 flavours, 3 mass states, ...), in closed form.

    Real arithmetic on the standard parametrisation; equal to ``abs(pmns_matrix)**2``.
    """
    return np.array([np.broadcast_arrays(*row) for row in _mixing_rows(params, 3)])


def one_minus_sum_ue4(params: Params) -> np.ndarray:
    """1 - sum_i |U_ei|^4: the nu_mu + nu_tau fraction of decoherent vacuum mass states."""
    return 1.0 - np.sum(mixing_weights(params)[0] ** 2, axis=0)


class FlavourModel(Protocol):
    """Maps parameters (and a neutrino energy) to detector flavour probabilities."""

    name: str
    #: Names of the parameters the model reads.
    parameters: tuple[str, ...]

    def probabilities(self, params: Params, energy_MeV: float) -> np.ndarray:
        """P_ee, P_emu, P_etau stacked on axis 0, shape (3, ...)."""


def _with_tau(p_ee, p_emu) -> np.ndarray:
    """P_ee, P_emu and P_etau = 1 - P_ee - P_emu stacked on axis 0, shape (3, ...)."""
    out = np.empty((3,) + np.broadcast_shapes(np.shape(p_ee), np.shape(p_emu)))
    out[0], out[1] = p_ee, p_emu
    out[2] = 1.0 - out[0] - out[1]
    return out


@dataclass(frozen=True)
class Equipartition:
    """Equal flavour fractions, P_ea = 1/3 (the assumption of seed eq. 2)."""

    name: str = "equipartition"
    parameters: tuple[str, ...] = ()

    def probabilities(self, params: Params, energy_MeV: float) -> np.ndarray:
        shape = np.broadcast(*params.values()).shape if params else ()
        return np.full((3,) + shape, 1.0 / 3.0)


@dataclass(frozen=True)
class DecoherentVacuum:
    """Decoherent mass states with vacuum weights w_i = |U_ei|^2 (seed eqs. 3, 5)."""

    name: str = "decoherent-vacuum"
    parameters: tuple[str, ...] = ("sin2_theta12", "sin2_theta13", "sin2_theta23",
                                   "delta_cp_deg")

    def probabilities(self, params: Params, energy_MeV: float) -> np.ndarray:
        ue2, umu2 = _mixing_rows(params, 2)
        p_ee = ue2[0] ** 2 + ue2[1] ** 2 + ue2[2] ** 2
        p_emu = ue2[0] * umu2[0] + ue2[1] * umu2[1] + ue2[2] * umu2[2]
        return _with_tau(p_ee, p_emu)


@dataclass(frozen=True)
class SurvivalProbability:
    """P_ee is a parameter of its own; 1 - P_ee is split between nu_mu and nu_tau in the
    ratio that decoherent vacuum mass states give."""

    name: str = "pee"
    parameters: tuple[str, ...] = ("p_ee", "sin2_theta12", "sin2_theta13", "sin2_theta23",
                                   "delta_cp_deg")

    def probabilities(self, params: Params, energy_MeV: float) -> np.ndarray:
        _, p_mu, p_tau = DecoherentVacuum().probabilities(params, energy_MeV)
        p_ee = np.asarray(params["p_ee"], dtype=float)
        mu_share = p_mu / (p_mu + p_tau)
        return np.stack(np.broadcast_arrays(p_ee, (1 - p_ee) * mu_share,
                                            (1 - p_ee) * (1 - mu_share)))


COLUMNS = ("r_over_Rsun", "n_e_per_NA_cm3", "production_weight")


def load_solar_profile(path: Path | str) -> SolarProfile:
    """Read a user profile table (CSV, '#' comments, columns r_over_Rsun, n_e_per_NA_cm3,
    production_weight; weights are normalised to sum 1).

    The shipped profiles are the B16 standard solar models: ``solar_model(c).profile(s)``.
    Raises ValueError naming the file, line and problem.
    """
    try:
        text, name = Path(path).read_text(), str(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the solar profile ({exc.strerror})") from None
    reader = iter(csv_rows(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise ValueError(f"{name}: the header must be {','.join(COLUMNS)}")
    values = []
    for number, row in enumerate(reader, start=2):
        try:
            values.append([float(x) for x in row])
        except ValueError:
            raise ValueError(f"{name}: data row {number}: not three numbers: {row}") from None
        if len(row) != 3:
            raise ValueError(f"{name}: data row {number}: expected 3 columns, got {len(row)}")
    table = np.array(values)
    if table.size == 0 or np.any(~np.isfinite(table)) or np.any(table < 0):
        raise ValueError(f"{name}: needs rows of finite, non-negative numbers")
    weight = table[:, 2]
    if weight.sum() <= 0:
        raise ValueError(f"{name}: production weights sum to zero")
    return SolarProfile(table[:, 0], table[:, 1], weight / weight.sum(), name)


def _b16_7be_profile() -> SolarProfile:
    return solar_model("gs98").profile("7Be")


@dataclass(frozen=True)
class DecoherentMSW:
    """Decoherent mass states with weights from adiabatic MSW conversion at production.

    w_1 = c13^2 cos^2 theta12m, w_2 = c13^2 sin^2 theta12m, w_3 = s13^2 with
    cos 2theta12m = (cos 2theta12 - beta)/sqrt((cos 2theta12 - beta)^2 + sin^2 2theta12),
    beta = 2 sqrt2 G_F n_e E c13^2 / Delta m^2_21, averaged over the production region of the
    profile (docs/physics.md secs. 7-8): by default the 7Be production of the B16-GS98 solar
    model, ``DecoherentMSW.from_solar_model(composition, source)`` for another. The average
    uses the Gauss rule in n_e of :attr:`SolarProfile.density_quadrature`.
    """

    profile: SolarProfile = field(default_factory=_b16_7be_profile)
    name: str = "decoherent-msw"
    parameters: tuple[str, ...] = ("sin2_theta12", "sin2_theta13", "sin2_theta23",
                                   "delta_cp_deg", "dm2_21_eV2")

    @classmethod
    def from_solar_model(cls, composition: str = "gs98", source: str = "7Be") -> "DecoherentMSW":
        """The model with the production profile of ``source`` in a B16 composition."""
        return cls(solar_model(composition).profile(source))

    def mean_cos2_theta12_matter(self, params: Params, energy_MeV: float) -> np.ndarray:
        """cos 2theta12m at production, averaged over the profile (the sample shape)."""
        s12sq, s13sq = (np.asarray(params[k], dtype=float) for k in ("sin2_theta12",
                                                                      "sin2_theta13"))
        cos2 = 1 - 2 * s12sq
        density, node_weight = self.profile.density_quadrature
        potential_eV = MATTER_POTENTIAL_EV_PER_NA_CM3 * density
        shape = (-1,) + (1,) * np.ndim(cos2)
        beta = (2 * energy_MeV * 1e6 * potential_eV.reshape(shape)
                * ((1 - s13sq) / np.asarray(params["dm2_21_eV2"], dtype=float)))
        offset = cos2 - beta
        cos2_matter = offset / np.sqrt(offset * offset + (1 - cos2 * cos2))
        return (node_weight @ cos2_matter.reshape(len(node_weight), -1)).reshape(
            cos2_matter.shape[1:])

    def mass_weights(self, params: Params, energy_MeV: float) -> np.ndarray:
        """Production-averaged w_i, shape (3, ...)."""
        s13sq = np.asarray(params["sin2_theta13"], dtype=float)
        c13sq = 1 - s13sq
        cos_sq = 0.5 * (1 + self.mean_cos2_theta12_matter(params, energy_MeV))
        return np.stack(np.broadcast_arrays(c13sq * cos_sq, c13sq * (1 - cos_sq), s13sq))

    def probabilities(self, params: Params, energy_MeV: float) -> np.ndarray:
        """P_ea = sum_i w_i |U_ai|^2 in closed form: with M the averaged cos 2theta12m,
        A = (1 + M) cos 2theta12 / 2 and X = 2 s12 c12 s23 c23 s13 cos delta,
        P_ee = c13^4 (s12^2 + A) + s13^4 and
        P_emu = c13^2 [c23^2 (c12^2 - A) + s13^2 s23^2 (1 + s12^2 + A) + M X]."""
        s12sq, s13sq, s23sq = (np.asarray(params[k], dtype=float) for k in
                               ("sin2_theta12", "sin2_theta13", "sin2_theta23"))
        c12sq, c13sq, c23sq = 1 - s12sq, 1 - s13sq, 1 - s23sq
        mean_cos2 = self.mean_cos2_theta12_matter(params, energy_MeV)
        a = 0.5 * (1 + mean_cos2) * (c12sq - s12sq)
        cos_delta = np.cos(np.deg2rad(np.asarray(params["delta_cp_deg"], dtype=float)))
        cross = 2 * np.sqrt(s12sq * c12sq * s23sq * c23sq * s13sq) * cos_delta
        s12sq_a = s12sq + a
        p_ee = c13sq * c13sq * s12sq_a + s13sq * s13sq
        p_emu = c13sq * (c23sq * (c12sq - a) + s13sq * s23sq * (1 + s12sq_a) + mean_cos2 * cross)
        return _with_tau(p_ee, p_emu)


#: Delta m^2_31 [eV^2] used by :func:`msw_probabilities` when ``params`` has none: NuFIT 5.0
#: normal ordering with SK-atm, JHEP 09 (2020) 178 (best fit 2.517e-3 eV^2).
DM2_31_DEFAULT_EV2 = 2.517e-3


def msw_probabilities(params: Params, energy_MeV: float, profile: SolarProfile,
                      potential_ratios=None, density_nodes=None) -> np.ndarray:
    """P_ee, P_emu, P_etau (axis 0) for decoherent mass states after adiabatic MSW
    conversion, with an optional extra flavour-diagonal matter potential.

    At each production point the flavour Hamiltonian is

        H = U diag(0, Dm^2_21, Dm^2_31) U^dagger / (2E)
            + sqrt2 G_F n_e(r) diag(1 + eps_e, eps_mu, eps_tau),

    eps_a the ratio of the extra potential to the charged-current one (position independent,
    :func:`zprime_potential_ratios`; docs/physics.md sec. 9). A nu_e produced there is the
    superposition sum_k V_ek |k> of the matter eigenstates; each evolves adiabatically into the
    vacuum mass state of the same eigenvalue rank, so w_i = <|V_e k(i)|^2> over production
    and P_ea = sum_i w_i |U_ai|^2. Vectorised: a 3x3 eigh per sample and n_e node.

    Parameters
    ----------
    params : mapping
        sin2_theta12, sin2_theta13, sin2_theta23, delta_cp_deg, dm2_21_eV2 and optionally
        dm2_31_eV2 (default DM2_31_DEFAULT_EV2), arrays broadcasting to the sample shape.
    energy_MeV : float
        Neutrino energy.
    profile : SolarProfile
        Electron density and production weights.
    potential_ratios : array (3, ...) or None
        eps_e, eps_mu, eps_tau; None for the Standard Model.
    density_nodes : (n_e nodes, weights) or None
        The production average; None takes ``profile.density_quadrature``
        (``potential_density_quadrature`` with a potential). Passing
        (profile.electron_density_per_NA_cm3, profile.production_weight) averages over the
        full table.

    Returns
    -------
    array (3, ...)
    """
    u = pmns_matrix(params["sin2_theta12"], params["sin2_theta13"], params["sin2_theta23"],
                    params["delta_cp_deg"])
    dm21 = np.asarray(params["dm2_21_eV2"], dtype=float)
    dm31 = np.asarray(params.get("dm2_31_eV2", DM2_31_DEFAULT_EV2), dtype=float)
    eps = np.zeros(3) if potential_ratios is None else np.asarray(potential_ratios, dtype=float)
    sample_shape = np.broadcast_shapes(u.shape[:-2], dm21.shape, dm31.shape, eps.shape[1:])
    u = np.broadcast_to(u, sample_shape + (3, 3))
    splittings = np.stack(np.broadcast_arrays(np.zeros(sample_shape), dm21, dm31), axis=-1)
    energy_eV = energy_MeV * 1e6
    vacuum = np.einsum("...ai,...i,...bi->...ab", u, splittings / (2 * energy_eV), u.conj())
    flavour_potential = np.moveaxis(np.broadcast_to(eps, (3,) + sample_shape), 0, -1)
    flavour_potential = flavour_potential + np.array([1.0, 0.0, 0.0])
    if density_nodes is None:
        density_nodes = (profile.density_quadrature if potential_ratios is None
                         else profile.potential_density_quadrature)
    density, node_weight = density_nodes
    node_shape = (-1,) + (1,) * len(sample_shape)
    potential_eV = MATTER_POTENTIAL_EV_PER_NA_CM3 * np.asarray(density, float).reshape(node_shape)
    hamiltonian = vacuum + np.einsum("n...,...a,ab->n...ab", potential_eV, flavour_potential,
                                     np.eye(3))
    _, vectors = np.linalg.eigh(hamiltonian)
    matter_weights = np.tensordot(np.asarray(node_weight, dtype=float),
                                  np.abs(vectors[..., 0, :]) ** 2, axes=1)
    # the k-th matter eigenvalue connects to the k-th vacuum eigenvalue
    rank = np.argsort(splittings, axis=-1)
    mass_weights = np.zeros_like(matter_weights)
    np.put_along_axis(mass_weights, rank, matter_weights, axis=-1)
    probabilities = np.einsum("...i,...ai->a...", mass_weights, np.abs(u) ** 2)
    return probabilities


def zprime_potential_ratios(model: U1Model, g, mass_MeV) -> np.ndarray:
    """eps_a = V'_a / (sqrt2 G_F n_e) = x_a q_e g^2 / (sqrt2 G_F m^2) for a = e, mu, tau (axis 0).

    The matter potential of a Z' of coupling g and mass m [MeV] in the Sun: forward
    scattering on electrons through their tree-level charge q_e (docs/physics.md sec. 9).
    Kinetic mixing couples the Z' to the electromagnetic current, which vanishes in neutral
    matter, so it adds nothing; L_mu - L_tau (q_e = 0) has no potential, and B - L (charges
    on neutrons too) has a flavour-universal one, which is dropped. Positive eps_a raises the
    energy of nu_a (repulsion between like charges).
    """
    g, mass = np.broadcast_arrays(np.asarray(g, dtype=float), np.asarray(mass_MeV, dtype=float))
    if np.any(mass <= 0) or np.any(~np.isfinite(mass)):
        raise ValueError("Z' masses must be finite and > 0 MeV")
    charges = np.asarray(model.neutrino_charges, dtype=float)
    if np.ptp(charges) == 0:
        charges = np.zeros(3)  # a universal potential is a common phase
    strength = model.electron_charge * g**2 / (np.sqrt(2.0) * G_FERMI_PER_MEV2 * mass**2)
    return charges.reshape((3,) + (1,) * strength.ndim) * strength


FLAVOUR_MODELS: dict[str, FlavourModel] = {
    m.name: m for m in (Equipartition(), DecoherentVacuum(), SurvivalProbability(),
                        DecoherentMSW())
}
#: The flavour model of configs, ``predict`` and ``mcprop predict`` unless told otherwise:
#: decoherent mass states with adiabatic MSW weights over the B16-GS98 7Be production
#: profile, the physical picture for 7Be neutrinos (docs/physics.md secs. 7-8).
DEFAULT_FLAVOUR_MODEL = DecoherentMSW.name


def flavour_model(name: str) -> FlavourModel:
    """The flavour model called ``name``; ValueError naming the choices otherwise."""
    try:
        return FLAVOUR_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown flavour model {name!r}; choose one of "
                         f"{', '.join(sorted(FLAVOUR_MODELS))}") from None
