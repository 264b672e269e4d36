"""Solar 7Be neutrino source: line energies, branchings and SSM fluxes (PHYSICS.md sec. 7)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NeutrinoLine:
    """A monoenergetic neutrino line: energy [MeV] and branching fraction of the total flux."""

    name: str
    energy_MeV: float
    branching: float


#: 7Be electron-capture lines; energies and branchings as in J.N. Bahcall, "Neutrino
#: Astrophysics" (1989) and PHYSICS.md sec. 7: 0.8618 MeV (89.56%) and 0.3843 MeV (10.44%).
#: (Some analyses use 0.897/0.103; the difference is 0.1% of the 862 keV rate.)
BE7_862 = NeutrinoLine("862keV", 0.8618, 0.8956)
BE7_384 = NeutrinoLine("384keV", 0.3843, 0.1044)
BE7_LINES: dict[str, NeutrinoLine] = {line.name: line for line in (BE7_862, BE7_384)}

#: Total 7Be flux [cm^-2 s^-1] of the B16 standard solar models, N. Vinyoles et al.,
#: ApJ 835, 202 (2017), Table 6: GS98 4.93e9 (1 +- 0.06), AGSS09met 4.50e9 (1 +- 0.06).
B16_GS98_BE7_FLUX_CM2S = 4.93e9
B16_AGSS09MET_BE7_FLUX_CM2S = 4.50e9
