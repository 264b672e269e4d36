"""Convert the shared Borexino Phase-II spectrum data into mcprop package data.

Reads ``borexino-phase2/`` of the shared data folder (default ``../shared/data`` relative to
the repository root, or ``--source``) and writes into ``mcprop/physics/data/``:

- ``borexino_phase2_spectrum.csv``: N_h, integer counts, Borexino's best-fit model [counts];
- ``borexino_phase2_backgrounds.csv``: Borexino's fitted background components and the summed
  solar curve [counts / (day x 100 t) per 1-N_h bin];
- ``borexino_phase2_response.csv``: the N_h response of Coloma et al. for any recoil spectrum;
- ``borexino_phase2.md``: provenance (origin, checksums, papers, what this script did).

Run as ``python3 scripts/convert_borexino_phase2.py [--source DIR]``.
"""

import argparse
import hashlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "mcprop" / "physics" / "data"

#: Exposure [day x 100 t] of the TFC-subtracted Phase-II spectrum: rate x exposure gives
#: integer counts (shared data README; 1291.51 d x 71.3 t x 63.25 %, Borexino, Nature 562,
#: 505 (2018) and PRD 100, 082004 (2019)).
EXPOSURE_DAY_100T = 582.326
#: Background columns of the digitised Fig. 6a table, in the order they are written.
BACKGROUNDS = ("C14", "pileup", "Po210", "Kr85", "Bi210", "C11", "ext")
#: N_h response of P. Coloma et al., JHEP 07 (2022) 138, arXiv:2204.03011 (shared README):
#: N_h(T) = sum c_k T^k (T in MeV), sigma(N_h) = a + b sqrt(N_h) + c N_h.
NH_OF_T = (-8.065244, 493.2560, -64.09629, 4.146102)
SIGMA_OF_NH = (1.21974, 1.31394, -0.0148585)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_spectrum(path: Path):
    """N_h, counts and Borexino's best-fit model [counts] of the Nature 2018 Fig. 2a data."""
    table = np.loadtxt(path)
    nh = table[:, 1].astype(int)
    rate, error, residual = table[:, 4], table[:, 5], table[:, 6]
    exact = rate * EXPOSURE_DAY_100T
    counts = np.rint(exact)
    if np.max(np.abs(exact - counts)) > 0.05:
        raise ValueError(f"{path}: rate x {EXPOSURE_DAY_100T} is not integer in every bin")
    if not np.array_equal(nh, np.arange(nh[0], nh[0] + nh.size)):
        raise ValueError(f"{path}: N_h is not a contiguous run of unit bins")
    best_fit = (rate - residual * error) * EXPOSURE_DAY_100T
    # The first row's residual is a placeholder (shared README); in empty bins the error is 0
    # and the residual 0, so the model cannot be recovered there.
    best_fit[0] = np.nan
    best_fit[error == 0] = np.nan
    return nh, counts.astype(int), best_fit


def read_components(path: Path):
    """N_h, the background curves corrected for digitisation, the solar curve, the total fit.

    The drawn curves miss the bin-to-bin structure of the discrete N_h estimator (present in
    the data and in Borexino's total fit) and are clipped at 2e-4: where one background makes
    up more than half of Borexino's total fit, the bin's difference between the total fit and
    the sum of all drawn curves is added to that background.
    """
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    names = [name.strip() for name in lines[0].split(",")]
    values = np.array([[float(x) for x in line.split(",")] for line in lines[1:] if line.strip()])
    table = dict(zip(names, values.T, strict=True))
    nh = table["N_h"].astype(int)
    total = table["total"]
    drawn = np.array([table[name] for name in (*BACKGROUNDS, "solar")])
    missing = total - drawn.sum(axis=0)
    backgrounds = drawn[:-1].copy()
    dominant = backgrounds > 0.5 * total
    backgrounds += np.where(dominant, missing, 0.0)
    if np.any(backgrounds < 0):
        raise ValueError(f"{path}: a corrected background is negative")
    return nh, backgrounds, drawn[-1], total, dominant


def write_csv(path: Path, header_lines, columns, rows, formats):
    with path.open("w") as out:
        for line in header_lines:
            out.write(f"# {line}\n")
        out.write(",".join(columns) + "\n")
        for row in zip(*rows, strict=True):
            out.write(",".join(fmt.format(value) for fmt, value in zip(formats, row,
                                                                      strict=True)) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data",
                        help="shared data folder holding borexino-phase2/")
    args = parser.parse_args(argv)
    folder = args.source / "borexino-phase2"
    spectrum_file = folder / "nature2018-fig2a-spectrum.txt"
    components_file = folder / "prd2019-fig6a-components.csv"

    nh, counts, best_fit = read_spectrum(spectrum_file)
    nh_c, backgrounds, solar, total, dominant = read_components(components_file)
    rows = np.searchsorted(nh, nh_c)
    if not np.array_equal(nh[rows], nh_c):
        raise ValueError("component N_h values are not in the spectrum")
    agreement = np.nanmax(np.abs(total * EXPOSURE_DAY_100T - best_fit[rows])
                          / best_fit[rows])

    write_csv(OUTPUT / "borexino_phase2_spectrum.csv",
              ["Borexino Phase-II TFC-subtracted spectrum, Nature 562, 505 (2018) Fig. 2a "
               "source data; see borexino_phase2.md.",
               f"counts = rate x {EXPOSURE_DAY_100T} day x 100 t; best_fit_counts = Borexino's "
               "best-fit model (rate - residual x error) x exposure, nan where not given."],
              ["nh", "counts", "best_fit_counts"], [nh, counts, best_fit],
              ["{:d}", "{:d}", "{:.4f}"])
    write_csv(OUTPUT / "borexino_phase2_backgrounds.csv",
              ["Borexino Phase-II fit components, PRD 100, 082004 (2019) Fig. 6a (digitised), "
               "counts / (day x 100 t) per 1-N_h bin at Borexino's best fit;",
               "digitisation shortfall added to the dominant background (borexino_phase2.md). "
               "solar: Borexino's summed solar curve, for checks only."],
              ["nh", *(name.lower() for name in BACKGROUNDS), "solar"],
              [nh_c, *backgrounds, solar], ["{:d}"] + ["{:.6g}"] * (len(BACKGROUNDS) + 1))
    write_csv(OUTPUT / "borexino_phase2_response.csv",
              ["N_h response to an electron recoil of kinetic energy T [MeV]: "
               "mean N_h(T) = sum_k coefficient T^k (quantity nh_mean),",
               "Gaussian width sigma(N_h) = sum_k coefficient N_h^(k/2) (quantity nh_sigma); "
               "P. Coloma et al., JHEP 07 (2022) 138, arXiv:2204.03011."],
              ["quantity", "power", "coefficient"],
              [["nh_mean"] * 4 + ["nh_sigma"] * 3, [0, 1, 2, 3, 0, 1, 2],
               [*NH_OF_T, *SIGMA_OF_NH]],
              ["{}", "{:d}", "{!r}"])

    corrected = ", ".join(f"{name} {int(dominant[k].sum())}" for k, name in enumerate(BACKGROUNDS))
    (OUTPUT / "borexino_phase2.md").write_text(f"""\
# Borexino Phase-II spectrum, fit components and N_h response (package data)

Written by `scripts/convert_borexino_phase2.py` from the project's shared data folder
`borexino-phase2/` (read its README). Cite the papers below wherever these numbers are used.

## `borexino_phase2_spectrum.csv`

Borexino collaboration, "Comprehensive measurement of pp-chain solar neutrinos", Nature 562,
505 (2018), source data of Fig. 2a: Phase II (Dec 2011 - May 2016), pep fiducial volume,
TFC-subtracted spectrum in the energy estimator N_h, {nh.size} unit bins N_h = {nh[0]}-{nh[-1]}.
Taken by the shared folder unchanged from athompson-tamu/pyCEvNS (branch nsi, commit
7a0a00ca278ef55012c197267ed68f9abd8c052c, pyCEvNS/data/Nature2018_Fig2a_DATA.txt).
Source file `nature2018-fig2a-spectrum.txt`, sha256 {sha256(spectrum_file)}.

- `counts`: rate [counts/(day 100 t N_h)] x {EXPOSURE_DAY_100T} day x 100 t, rounded (every bin is
  within 0.05 of an integer; {counts.sum()} events in all). Exposure 1291.51 d x 71.3 t x 63.25 %
  TFC-subtracted fraction (Borexino, PRD 100, 082004 (2019)).
- `best_fit_counts`: Borexino's best-fit model, (rate - residual x error) x exposure; nan for
  N_h = {nh[0]}, whose residual is a placeholder, and in the {int(np.sum(counts == 0))} empty bins
  (N_h = {", ".join(str(n) for n in nh[counts == 0])}), where the file's error and residual are 0.

## `borexino_phase2_backgrounds.csv`

Components of Borexino's Phase-II fit (Monte-Carlo method, N_h estimator), Fig. 6a of
M. Agostini et al. (Borexino), PRD 100, 082004 (2019), arXiv:1707.09279, digitised from the
figure's vector graphics by Newtrinos.jl (MIT licence; Newtrinos-org/Newtrinos.jl, commit
6ae80a1a72cd32fe077fff5a3d7a6a19fca6274b, phase2_fig6a_components.csv). Source file
`prd2019-fig6a-components.csv`, sha256 {sha256(components_file)}.
Units: counts / (day x 100 t) per 1-N_h bin, N_h = {nh_c[0]}-{nh_c[-1]}, each curve at Borexino's
best-fit normalisation (normalisation factor 1). Columns: 14C, pile-up, 210Po, 85Kr, 210Bi, 11C
(TFC-subtracted), external gammas, and `solar` (Borexino's summed solar curve, for checks only).

What this script changed: the drawn curves are smooth and clipped at 2e-4, so they miss the
bin-to-bin structure of the discrete N_h estimator that Borexino's total fit has, and sum to
about 97.5 % of it above N_h 350. In every bin where one background makes up more than half of
the total fit, the difference (total fit - sum of all drawn curves) is added to that
background (bins changed: {corrected}). The total fit recomputed from the
Fig. 6a table agrees with `best_fit_counts` to {agreement:.1e} (relative, max).

## `borexino_phase2_response.csv`

Detector response for an electron recoil of kinetic energy T [MeV] of any origin, from
P. Coloma, M. C. Gonzalez-Garcia, M. Maltoni, J. P. Pinheiro, S. Urrea, "Constraining new
physics with Borexino Phase-II spectral data", JHEP 07 (2022) 138, arXiv:2204.03011:
N_h(T) = -8.065244 + 493.2560 T - 64.09629 T^2 + 4.146102 T^3, Gaussian in N_h with
sigma(N_h) = 1.21974 + 1.31394 sqrt(N_h) - 0.0148585 N_h.

Borexino's own Monte-Carlo spectral templates are not used or redistributed here.
""")


if __name__ == "__main__":
    main()
