"""Convert the B16 standard-solar-model tables into mcprop package data.

Reads, from ``--source`` (default: ../shared/data/ssm-b16 relative to the repository root),

- ``nudistr_b16_gs98.dat``, ``nudistr_b16_agss09met.dat``: 1000 radial zones with
  log10(n_e / (N_A cm^-3)) and the production distributions of the eight neutrino sources,
- ``fluxes_b16.dat``: the total fluxes and their relative 1-sigma errors,

of N. Vinyoles, A. M. Serenelli, F. L. Villante et al., ApJ 835, 202 (2017), and writes into
mcprop/physics/data/

- ``ssm_b16_gs98.csv``, ``ssm_b16_agss09met.csv``: r/R_sun, n_e (linear), and the
  production density of each source per unit r/R_sun (the tables' own numbers: each column
  times the zone width 0.0005 sums to 1 within 1e-4),
- ``ssm_b16_fluxes.csv``: source, flux and relative error for both compositions, in cm^-2 s^-1,
- ``ssm_b16.md``: provenance (origin, checksums of the inputs, what was done).

Run from anywhere: ``python3 scripts/convert_ssm_b16.py [--source DIR]``.
"""

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "mcprop" / "physics" / "data"
COMPOSITIONS = {"gs98": "nudistr_b16_gs98.dat", "agss09met": "nudistr_b16_agss09met.dat"}
#: Sources in the column order of the nudistr tables (their header, columns 5-12) and in the
#: row order of fluxes_b16.dat (the order of Vinyoles et al. 2017, Table 6).
SOURCES = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")
#: Units of the rows of fluxes_b16.dat, from its header: 10^10 (pp), 10^8 (pep, 13N, 15O),
#: 10^3 (hep), 10^9 (7Be), 10^6 (8B, 17F) cm^-2 s^-1.
FLUX_UNITS_CM2S = {"pp": 1e10, "pep": 1e8, "hep": 1e3, "7Be": 1e9, "8B": 1e6, "13N": 1e8,
                   "15O": 1e8, "17F": 1e6}
ZONE_WIDTH = 0.0005
PEANUTS_COMMIT = "59e3a2ae102d58f42cc1146eaca2cae68be879ce"
CITATION = ("N. Vinyoles, A. M. Serenelli, F. L. Villante, S. Basu, J. Bergstrom, "
            "M. C. Gonzalez-Garcia, M. Maltoni, C. Pena-Garay, N. Song, "
            "\"A new generation of standard solar models\", ApJ 835, 202 (2017), "
            "arXiv:1611.09867")


def read_profile(path: Path) -> np.ndarray:
    """The 12 numeric columns of a nudistr table, checked for shape and grid."""
    table = np.loadtxt(path, comments="#")
    if table.shape != (1000, 12):
        raise SystemExit(f"{path}: expected 1000 zones x 12 columns, got {table.shape}")
    if not np.allclose(np.diff(table[:, 0]), ZONE_WIDTH, rtol=0, atol=1e-9):
        raise SystemExit(f"{path}: radii are not a uniform grid of step {ZONE_WIDTH}")
    sums = table[:, 4:].sum(axis=0) * ZONE_WIDTH
    if np.any(np.abs(sums - 1) > 2e-4):
        raise SystemExit(f"{path}: production densities do not integrate to 1: {sums}")
    return table


def write_profile(table: np.ndarray, composition: str, source_file: str) -> Path:
    out = OUTPUT / f"ssm_b16_{composition}.csv"
    header = [
        f"# B16-{composition.upper()} standard solar model: electron density and neutrino",
        "# production along the radius. " + CITATION + ".",
        f"# Converted by scripts/convert_ssm_b16.py from {source_file} (see ssm_b16.md).",
        "# r_over_Rsun: zone radius / R_sun (uniform grid, step 0.0005).",
        "# n_e_per_NA_cm3: electron density n_e / (N_A cm^-3) = 10^(table's log10 column);",
        "#   the table gives log10 to 3 decimals, so n_e is known to 0.35%.",
        "# <source>_per_Rsun: fraction of that source's neutrinos produced per unit r/R_sun;",
        "#   sum over zones x 0.0005 = 1 (within 1e-4, as in the table).",
        ",".join(["r_over_Rsun", "n_e_per_NA_cm3"] + [f"{s}_per_Rsun" for s in SOURCES]),
    ]
    rows = [f"{r:.4f},{10.0 ** log_ne:.6g}," + ",".join(f"{x:.8e}" for x in densities)
            for r, log_ne, densities in zip(table[:, 0], table[:, 2], table[:, 4:], strict=True)]
    out.write_text("\n".join(header + rows) + "\n")
    return out


def read_fluxes(path: Path) -> dict[str, tuple[float, float, float, float]]:
    """{source: (GS98 flux, its relative error, AGSS09met flux, its relative error)}."""
    rows = [line.split() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    if len(rows) != len(SOURCES) or any(len(row) != 4 for row in rows):
        raise SystemExit(f"{path}: expected {len(SOURCES)} rows of 4 numbers")
    fluxes = {}
    for source, row in zip(SOURCES, rows, strict=True):
        gs98, gs98_err, agss, agss_err = (float(x) for x in row)
        unit = FLUX_UNITS_CM2S[source]
        fluxes[source] = (gs98 * unit, gs98_err, agss * unit, agss_err)
    # The row order is not labelled in the file: check it against B16 Table 6.
    for source, expected in (("7Be", 4.93e9), ("8B", 5.46e6), ("pp", 5.98e10)):
        if abs(fluxes[source][0] / expected - 1) > 1e-6:
            raise SystemExit(f"{path}: row order unexpected ({source} GS98 flux "
                             f"{fluxes[source][0]:.3g}, B16 Table 6 gives {expected:.3g})")
    return fluxes


def write_fluxes(fluxes) -> Path:
    out = OUTPUT / "ssm_b16_fluxes.csv"
    lines = [
        "# Total solar neutrino fluxes of the B16 standard solar models. " + CITATION + ",",
        "# Table 6. Converted by scripts/convert_ssm_b16.py from fluxes_b16.dat (ssm_b16.md).",
        "# flux_*_cm2s: flux at Earth [cm^-2 s^-1]; rel_error_*: relative 1-sigma error.",
        "source,flux_gs98_cm2s,rel_error_gs98,flux_agss09met_cm2s,rel_error_agss09met",
    ]
    lines += [f"{s},{a:.4g},{b:g},{c:.4g},{d:g}" for s, (a, b, c, d) in fluxes.items()]
    out.write_text("\n".join(lines) + "\n")
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_provenance(source: Path, inputs: list[Path]) -> Path:
    out = OUTPUT / "ssm_b16.md"
    checksums = "\n".join(f"- `{p.name}`: sha256 `{sha256(p)}`" for p in inputs)
    out.write_text(f"""# B16 standard solar models (package data)

Files: `ssm_b16_gs98.csv`, `ssm_b16_agss09met.csv`, `ssm_b16_fluxes.csv`.

Cite: {CITATION}.

Origin: the B16 tables as redistributed in the data folder of the public PEANUTS repository
(michelelucente/PEANUTS, commit {PEANUTS_COMMIT}: Data/nudistr_b16_gs98.dat,
Data/nudistr_b16_agss09.dat, Data/fluxes_b16.dat), copied unchanged into the project's shared
data folder (`ssm-b16/`). Inputs converted:

{checksums}

What `scripts/convert_ssm_b16.py` did:

- profiles: kept the radius (r/R_sun, 1000 zones of 0.0005 from 0.0005 to 0.5), replaced the
  log10 electron density by n_e / (N_A cm^-3) = 10^log10, and kept the eight production
  distributions (pp, pep, hep, 7Be, 8B, 13N, 15O, 17F) unchanged. They are densities per unit
  r/R_sun (the table header calls them "fractions produced in the zone"; their sums times the
  zone width are 1 within 1e-4, checked by the script). Temperature and mass columns dropped.
- fluxes: labelled the eight unlabelled rows with their sources in the order of Vinyoles et
  al. Table 6 (pp, pep, hep, 7Be, 8B, 13N, 15O, 17F; checked on the 7Be, 8B and pp values),
  multiplied by the unit of each row given in the file header, kept the relative errors.
- source folder used (relative to the repository root): `{source}`.
""")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "ssm-b16",
                        help="folder holding the B16 tables (default: ../shared/data/ssm-b16)")
    args = parser.parse_args(argv)
    inputs = []
    for composition, name in COMPOSITIONS.items():
        path = args.source / name
        print(f"wrote {write_profile(read_profile(path), composition, name)}")
        inputs.append(path)
    fluxes_path = args.source / "fluxes_b16.dat"
    print(f"wrote {write_fluxes(read_fluxes(fluxes_path))}")
    inputs.append(fluxes_path)
    source = args.source.resolve()
    shown = Path(os.path.relpath(source, REPO)) if source.is_relative_to(REPO.parent) else source
    print(f"wrote {write_provenance(shown, inputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
