"""Z' contribution to the muon anomalous magnetic moment and the (g-2)_mu coupling bands."""

from dataclasses import dataclass

import numpy as np

from mcprop.physics.constants import M_MUON_MEV
from mcprop.physics.quadrature import composite_unit_rule

#: Gauss-Legendre rule on [0, 1] for the Feynman-parameter integral.
_X_NODES, _X_WEIGHTS = composite_unit_rule(1, 200)


def delta_a_mu(g, mass_MeV) -> np.ndarray:
    """Delta a_mu = (g^2/4 pi^2) Int_0^1 dx x^2 (1-x) / (x^2 + (1-x) m^2/m_mu^2).

    One-loop vector exchange (docs/physics.md sec. 11); tends to g^2/(8 pi^2) for m << m_mu.
    """
    ratio2 = (np.asarray(mass_MeV, dtype=float) / M_MUON_MEV) ** 2
    x = _X_NODES
    integrand = x**2 * (1 - x) / (x**2 + (1 - x) * ratio2[..., None])
    return np.asarray(g, dtype=float) ** 2 / (4 * np.pi**2) * (integrand @ _X_WEIGHTS)


@dataclass(frozen=True)
class G2Anomaly:
    """A measured Delta a_mu = central +- sigma and its reference."""

    label: str
    central: float
    sigma: float
    reference: str

    def coupling_band(self, mass_MeV, n_sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Couplings (g_low, g_high) giving Delta a_mu within central +- n_sigma x sigma.

        A negative lower edge of Delta a_mu is clipped to g = 0.
        """
        per_g2 = delta_a_mu(1.0, mass_MeV)
        low = max(self.central - n_sigma * self.sigma, 0.0)
        high = self.central + n_sigma * self.sigma
        return np.sqrt(low / per_g2), np.sqrt(high / per_g2)


#: 2021: FNAL Run-1 + BNL vs the 2020 Theory Initiative white paper (B. Abi et al.,
#: PRL 126, 141801 (2021); T. Aoyama et al., Phys. Rept. 887 (2020) 1).
G2_2021 = G2Anomaly("2021", 251e-11, 59e-11, "PRL 126, 141801 (2021)")
#: 2025: final FNAL world average 116592071.5(14.5)e-11 vs WP25 116592033(62)e-11
#: (D.P. Aguillard et al., arXiv:2506.03069; R. Aliberti et al., arXiv:2505.21476).
G2_2025 = G2Anomaly("2025", 38e-11, 63e-11, "arXiv:2506.03069, arXiv:2505.21476")
