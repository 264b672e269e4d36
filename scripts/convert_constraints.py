"""Convert the digitised L_mu - L_tau constraints into mcprop's context-curve CSV files.

Reads ``constraints/`` of the shared data folder (``../shared/data`` relative to the
repository root, or ``--source``), writes into ``mcprop/interface/data/`` (or ``--out``):

- ``constraints_ccfr_trident.csv`` from ``ccfr-trident-lmu-ltau.csv``;
- ``constraints_babar_2016.csv`` from ``babar-2016-lmu-ltau.lmt``;
- ``constraints_borexino_bfj2018.csv`` from ``borexino-bfj2018-darkcast-lmu-ltau.lmt``
  (masses up to 200 MeV only: see ``Conversion.max_mass_GeV``);
- ``constraints.md``: provenance (origin, papers to cite, SHA-256 of the inputs).

Output format: '#' comment lines, then the header ``m_zprime_MeV,g,segment`` and one row per
point. Masses are converted from GeV to MeV exactly (decimal arithmetic); couplings are
copied digit for digit. The excluded region lies above the curve. In the BaBar file, rows
with g = 1e5 close the excluded region at its mass edges (the first and last rows) and open
one gap inside it (at 309.62 MeV): they are not written; instead a gap starts a new
``segment`` number, and a plot shades each segment from its curve up with vertical edges.

Run as ``python3 scripts/convert_constraints.py [--source DIR] [--out DIR]``.
"""

import argparse
import hashlib
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "constraints"
DEFAULT_OUT = REPO / "mcprop" / "interface" / "data"
#: The coupling the Darkcast limit files use to close an excluded region.
CLOSING_G = Decimal("1e5")
HEADER = "m_zprime_MeV,g,segment"


@dataclass(frozen=True)
class Conversion:
    """One source file and what to write from it."""

    source: str
    target: str
    title: str
    origin: str
    comment_lines: int  # header lines of the source before the data
    #: rows above this mass [GeV] are not written (None: all rows); said in the provenance
    max_mass_GeV: Decimal | None = None
    max_mass_reason: str = ""


CONVERSIONS = (
    Conversion(
        "ccfr-trident-lmu-ltau.csv", "constraints_ccfr_trident.csv",
        "CCFR neutrino-trident bound on the L_mu - L_tau Z' (digitised)",
        "W. Altmannshofer, S. Gori, M. Pospelov, I. Yavin, PRL 113, 091801 (2014), from the "
        "CCFR measurement, PRL 66, 3117 (1991). Copied from the public repository "
        "spinjo/SNforMuTau (commit 6bcd5ccedd784626dd3258014821409f39c7495c, "
        "mutau/OtherConstraints/nuTrident/NTPdata.csv), which does not state its origin; an "
        "independent digitisation (SYen-qc/muon_g_minus_2, CCFR.txt) agrees with it to "
        "about 2%.", 0),
    Conversion(
        "babar-2016-lmu-ltau.lmt", "constraints_babar_2016.csv",
        "BaBar e+e- -> mu+mu- Z', Z' -> mu+mu- bound on the L_mu - L_tau Z' (digitised)",
        "J. P. Lees et al. (BaBar), PRD 94, 011102 (2016), fig. 5, 0.214 to 7.7 GeV. "
        "Digitised by the Darkcast project (darkcast/limits/BaBar_TheBABAR2016rlg.lmt, as "
        "vendored in the public repository Noah-Everett/DS-Decay-Scripts, commit "
        "2a86698dee49d66b193c99154c63087c8d798f72); cite also P. Ilten, Y. Soreq, M. Williams, "
        "W. Xue, JHEP 06 (2018) 004 (Darkcast).", 1),
    Conversion(
        "borexino-bfj2018-darkcast-lmu-ltau.lmt", "constraints_borexino_bfj2018.csv",
        "Borexino Phase-I 7Be bound on the L_mu - L_tau Z' of Bauer, Foldenauer and Jaeckel "
        "2018, recast by Darkcast (digitised)",
        "M. Bauer, P. Foldenauer, J. Jaeckel, JHEP 07 (2018) 094, arXiv:1803.05466, fig. 13 "
        "(Borexino Phase-I 862 keV rate, G. Bellini et al., PRL 107, 141302 (2011); total "
        "cross section without a recoil window, equal thirds of nu_e, nu_mu, nu_tau, "
        "|sigma_model - sigma_SM| per flavour), recast into the L_mu - L_tau model with its "
        "loop kinetic mixing by Darkcast (P. Ilten, Y. Soreq, M. Williams, W. Xue, JHEP 06 "
        "(2018) 004). From the Darkcast copy vendored in the public repository "
        "Noah-Everett/DS-Decay-Scripts, commit 2a86698dee49d66b193c99154c63087c8d798f72, "
        "darkcast/recast/limits/Lmu-Ltau_boson/Borexino_Bauer2018onh.lmt.", 1,
        Decimal("0.2"),
        "Darkcast evaluates the kinetic mixing on shell (q^2 = m_Z'^2) where t-channel "
        "scattering needs q^2 ~ 0; the two agree to 3.5% up to 100 MeV and part ways at the "
        "muon-pair threshold (211 MeV), above which the recast curve wiggles; the rows at "
        "100 and 200 GeV are end markers"),
)


def parse_rows(text: str, name: str, skip: int) -> list[tuple[Decimal, Decimal]]:
    """(mass [GeV], g) rows of a two-column file (comma or whitespace separated)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number <= skip or not line.strip():
            continue
        fields = line.replace(",", " ").split()
        try:
            mass, g = (Decimal(f) for f in fields)
        except (ValueError, InvalidOperation):
            raise ValueError(f"{name}: line {number}: expected two numbers, got {line!r}") \
                from None
        if not (mass > 0 and g > 0):
            raise ValueError(f"{name}: line {number}: mass and coupling must be > 0")
        if rows and mass <= rows[-1][0]:
            raise ValueError(f"{name}: line {number}: masses must increase")
        rows.append((mass, g))
    if not rows:
        raise ValueError(f"{name}: no data rows")
    return rows


def segments_MeV(rows: list[tuple[Decimal, Decimal]]) -> list[tuple[str, str, int]]:
    """(mass [MeV], g, segment) with the g = 1e5 closing rows turned into segment breaks."""
    out, segment, open_segment = [], 0, False
    for mass, g in rows:
        if g == CLOSING_G:
            if open_segment:
                segment += 1
            open_segment = False
            continue
        out.append((_plain(mass * 1000), _plain(g), segment))
        open_segment = True
    return out


def _plain(value: Decimal) -> str:
    """A decimal without exponent noise: 2.1371e-01 GeV x 1000 -> '213.71'."""
    return format(value.normalize(), "f")


def convert(source_dir: Path, out_dir: Path) -> list[Path]:
    """Write the CSV files and the provenance file; return the paths written."""
    written, provenance = [], []
    for item in CONVERSIONS:
        path = source_dir / item.source
        data = path.read_bytes()
        parsed = parse_rows(data.decode(), item.source, item.comment_lines)
        n_source = len(parsed)
        if item.max_mass_GeV is not None:
            parsed = [(m, g) for m, g in parsed if m <= item.max_mass_GeV]
        gaps = [_plain(m * 1000) for m, g in parsed[1:-1] if g == CLOSING_G]
        rows = segments_MeV(parsed)
        target = out_dir / item.target
        lines = [f"# {item.title}.",
                 "# Context for plots only, not a result of mcprop. Excluded: g above the curve.",
                 f"# Converted by scripts/convert_constraints.py from {item.source} (GeV -> MeV);",
                 "# origin and papers to cite: constraints.md beside this file.",
                 HEADER]
        lines += [f"{m},{g},{s}" for m, g, s in rows]
        target.write_text("\n".join(lines) + "\n")
        written.append(target)
        n_segments = rows[-1][2] + 1
        provenance.append(
            f"## {item.target}\n\n{item.title}.\n\n- Source: `{item.source}` of the shared "
            f"constraints data (SHA-256 `{hashlib.sha256(data).hexdigest()}`).\n"
            f"- Origin: {item.origin}\n- Conversion: masses GeV -> MeV (x 1000, exact), "
            f"couplings copied unchanged; {len(rows)} points in {n_segments} segment(s)"
            + ("; the g = 1e5 rows that close the excluded region are dropped"
               if len(gaps) < len(parsed) - len(rows) else "")
            + (f"; the {n_source - len(parsed)} rows above {_plain(item.max_mass_GeV * 1000)} "
               f"MeV are not written ({item.max_mass_reason})"
               if len(parsed) < n_source else "")
            + "".join(f"; the g = 1e5 row at {m} MeV opens a gap in it and starts a new segment"
                      for m in gaps) + ".\n")
    md = out_dir / "constraints.md"
    md.write_text(
        "# Digitised L_mu - L_tau constraints (context for limit plots)\n\n"
        "Third-party digitisations of published exclusion curves, drawn by "
        "`mcprop.interface.context` beside mcprop's own limits. They are not results of "
        "mcprop: label them with their origin and as digitised. Columns: `m_zprime_MeV` "
        "(Z' mass [MeV]), `g` (the L_mu - L_tau gauge coupling; excluded above the curve), "
        "`segment` (points of one segment form one connected curve; the region is shaded "
        "from each segment's curve upwards with vertical edges at its first and last mass).\n\n"
        "Written by `python3 scripts/convert_constraints.py`; do not edit by hand.\n\n"
        + "\n".join(provenance))
    written.append(md)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder with the shared constraint files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder to write the package data into")
    args = parser.parse_args(argv)
    try:
        for path in convert(args.source, args.out):
            print(path)
    except (OSError, ValueError) as exc:
        print(f"convert_constraints: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
