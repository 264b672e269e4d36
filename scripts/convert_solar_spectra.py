"""Convert the shared solar-neutrino energy spectra into mcprop package data.

Reads ``solar-spectra/`` of the shared data folder (default ``../shared/data`` relative to the
repository root, or ``--source``) and writes ``mcprop/physics/data/solar_spectrum_<source>.csv``
(columns energy_MeV, density_per_MeV, normalised to unit integral under the trapezoid rule)
for the continuous sources pp, 13N, 15O, 17F and 8B, with the provenance file
``solar_spectra.md``. The 7Be and pep lines need no table (mcprop.physics.solar_spectra).

Run as ``python3 scripts/convert_solar_spectra.py [--source DIR]``.
"""

import argparse
import hashlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "mcprop" / "physics" / "data"

#: Shared file and reference of each continuous source.
SOURCES = {
    "pp": ("pp_shape.csv", "J. N. Bahcall, PRC 56, 3391 (1997)"),
    "n13": ("n13_shape.csv", "J. N. Bahcall and R. K. Ulrich, RMP 60, 297 (1988)"),
    "o15": ("o15_shape.csv", "J. N. Bahcall and R. K. Ulrich, RMP 60, 297 (1988)"),
    "f17": ("f17_shape.csv", "J. N. Bahcall and R. K. Ulrich, RMP 60, 297 (1988)"),
    "b8": ("8B_shape_Winter_et_al.csv", "W. T. Winter et al., PRC 73, 025503 (2006)"),
}


def read_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Energy [MeV] and spectral density (first two columns; '#' lines are comments)."""
    table = np.genfromtxt(path, delimiter=",", comments="#")
    energy, density = table[:, 0], table[:, 1]
    if np.any(np.diff(energy) <= 0) or np.any(density < 0) or np.any(~np.isfinite(table)):
        raise ValueError(f"{path}: energies must increase and densities be finite and >= 0")
    return energy, density


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data",
                        help="shared data folder holding solar-spectra/")
    args = parser.parse_args(argv)
    folder = args.source / "solar-spectra"
    notes = []
    for name, (filename, reference) in SOURCES.items():
        path = folder / filename
        energy, density = read_table(path)
        if energy[0] > 0:  # every spectrum vanishes at E = 0 (phase space)
            energy, density = np.concatenate([[0.0], energy]), np.concatenate([[0.0], density])
        integral = np.trapezoid(density, energy)
        with (OUTPUT / f"solar_spectrum_{name}.csv").open("w") as out:
            out.write(f"# {name} solar-neutrino energy spectrum, {reference}; "
                      "see solar_spectra.md.\n")
            out.write("energy_MeV,density_per_MeV\n")
            for e, d in zip(energy, density / integral, strict=True):
                out.write(f"{e:.6g},{d:.6g}\n")
        notes.append(f"- `solar_spectrum_{name}.csv`: {reference}; shared file `{filename}`, "
                     f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}; {energy.size} "
                     f"points, E = 0-{energy[-1]:g} MeV; table integral {integral:.6g} before "
                     "normalisation.")
    (OUTPUT / "solar_spectra.md").write_text("""\
# Solar-neutrino energy spectra (package data)

Written by `scripts/convert_solar_spectra.py` from the project's shared data folder
`solar-spectra/`: J. N. Bahcall's public spectra as copied unchanged from the PEANUTS
repository (michelelucente/PEANUTS, commit 59e3a2ae102d58f42cc1146eaca2cae68be879ce,
Data/*.csv), which took them from Bahcall's web tables. Cite the reference of each source.

Columns: neutrino energy [MeV] and the spectral density [MeV^-1]. What the script did: kept
the first two columns (the 8B table's third column, the spectrum's uncertainty, is dropped),
added the point (0, 0) where a table starts above E = 0, and divided the density by its
trapezoid-rule integral so that each spectrum integrates to 1 (the 8B table is given per
1000). The o15 source file's header wrongly names 13N (shared README); its endpoint,
1.732 MeV, is that of 15O.

""" + "\n".join(notes) + """

The 7Be lines (0.8618 and 0.3843 MeV, mcprop.physics.solar) and the pep line (1.442 MeV) are
monoenergetic: their thermal widths, about a keV (J. N. Bahcall, PRD 49, 3923 (1994)), are
negligible against the detector resolution, so no table is shipped for them. The hep
spectrum is not used: with the B16 hep flux, 8e3 cm^-2 s^-1 (N. Vinyoles et al., ApJ 835,
202 (2017)), its rate in the Borexino Phase-II window N_h 93-950 is 2.6e-4 cpd/100t, 0.15
events in the whole Phase-II exposure (mcprop's spectral templates with Bahcall's hep
spectrum, PRC 56, 3391 (1997)).
""")


if __name__ == "__main__":
    main()
