"""Physical constants, in MeV, cm and s.

Values are from the Review of Particle Physics, R.L. Workman et al. (Particle Data Group),
PTEP 2022, 083C01, and its 2024 update (S. Navas et al., PRD 110, 030001 (2024)), as listed
in docs/physics.md sec. 2.
"""

import math

#: Fermi constant G_F/(hbar c)^3 [MeV^-2] (PDG 2024, physical constants table).
G_FERMI_PER_MEV2 = 1.1663788e-11
#: Electron mass [MeV] (PDG 2024).
M_ELECTRON_MEV = 0.51099895
#: Muon mass [MeV] (PDG 2024).
M_MUON_MEV = 105.6583755
#: Tau mass [MeV] (PDG 2024).
M_TAU_MEV = 1776.86
#: Fine-structure constant at q^2 = 0 (PDG 2024); |q^2| = 2 m_e T < 0.7 MeV^2 here.
ALPHA_EM = 1.0 / 137.035999
#: Elementary charge in natural Heaviside-Lorentz units, e = sqrt(4 pi alpha).
E_CHARGE = math.sqrt(4.0 * math.pi * ALPHA_EM)
#: (hbar c)^2 [MeV^2 cm^2] (PDG 2024), converts MeV^-2 to cm^2.
HBARC2_MEV2_CM2 = 3.893794e-22
#: Seconds per day.
SECONDS_PER_DAY = 86400.0
#: Avogadro constant [mol^-1] (SI 2019 exact value).
AVOGADRO_PER_MOL = 6.02214076e23

#: Weak mixing angle sin^2 theta_W, low-energy MS-bar value (running to q^2 -> 0):
#: 0.23867 +- 0.00016, J. Erler, M. J. Ramsey-Musolf, PRD 72, 073003 (2005), abstract (the
#: Thomson-limit update 0.23868(5)(2), J. Erler, R. Ferro-Hernandez, JHEP 03 (2018) 196,
#: agrees); the tree-level convention for neutrino-electron scattering at MeV energies.
SIN2_THETA_W_LOW_ENERGY = 0.23867
#: Weak mixing angle sin^2 theta_W(M_Z), MS-bar (PDG 2024); selectable alternative.
SIN2_THETA_W_MZ = 0.23121

#: Electrons per 100 t of pseudocumene C9H12 (66 electrons per 120.19 g/mol), the Borexino
#: scintillator: 1e8 g / 120.19 g/mol x 66 x N_A = 3.307e31.
ELECTRONS_PER_100T_PSEUDOCUMENE = 1.0e8 / 120.19 * 66.0 * AVOGADRO_PER_MOL

#: sqrt2 G_F n_e for n_e = N_A cm^-3 [eV], the MSW potential per unit electron density:
#: sqrt2 G_F N_A (hbar c)^3 = 7.63e-14 eV (docs/physics.md sec. 8).
MATTER_POTENTIAL_EV_PER_NA_CM3 = (math.sqrt(2.0) * G_FERMI_PER_MEV2 * AVOGADRO_PER_MOL
                                  * HBARC2_MEV2_CM2**1.5 * 1e6)
