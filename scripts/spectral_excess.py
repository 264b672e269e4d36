"""Where a spectral limit comes from: the new-physics change of the counts at the limit, by
solar source and by N_h region.

For each grid mass of a finished spectral Z' run (or the masses given), at the run's credible
limit g_90 and the posterior medians of the nuisances: the Z' change of the expected counts
of each source group (pp, 7Be, pep, CNO, 8B) as a fraction of the total change, and the
sum over bins of (change)^2 / mu in four N_h regions (threshold, under 14C and 210Po; the 7Be
Compton-like edge; the pep / CNO / 11C region; above): where the Z' signal stands out of the
statistical errors before the nuisances (7Be flux, backgrounds) absorb most of it. For a
spectral magnetic-moment run, the same for its first sampled moment at its credible limit
(the other moments at zero).

    python3 scripts/spectral_excess.py runs/output/borexino-phase2-spectral [--mass-MeV 1 10]
    python3 scripts/spectral_excess.py runs/output/magnetic-moment-spectral-universal
"""

import argparse

import numpy as np

import mcprop
from mcprop.inference.spectrum import SpectrumMeasurement

#: N_h regions [first, last] of the table.
REGIONS = {"110-219 (threshold, 14C/210Po)": (110, 219), "220-349 (7Be edge)": (220, 349),
           "350-649 (pep, CNO, 11C)": (350, 649), "650-949": (650, 949)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--mass-MeV", type=float, nargs="*")
    args = parser.parse_args()
    scan = mcprop.load(args.run_dir)
    posterior = scan.posterior()
    index, measurement = next((i, m) for i, m in enumerate(posterior.measurements)
                              if isinstance(m, SpectrumMeasurement))
    templates = posterior.new_physics.kernels[index]
    centres = 0.5 * (measurement.nh_edges[1:] + measurement.nh_edges[:-1])
    groups = list(templates.source_groups)
    label, name = ("m [MeV]", "g_90") if scan.has_masses else ("moment", "limit")
    print(f"{label:>9} {name:>9}  change by source (% of total)"
          f"{'':{max(0, 8 * len(groups) - 29)}}  sum (change)^2/mu by N_h region")
    print(f"{'':>20}" + "".join(f"{g:>8}" for g in groups) + "  "
          + "  ".join(f"{r.split()[0]:>8}" for r in REGIONS))
    for point, tag, limit, coordinates in limit_points(scan, posterior, args.mass_MeV):
        draws = scan.chains(None if point is None else scan.masses_MeV[point]).posterior
        nuisances = [float(np.median(draws[name].values)) for name in posterior.nuisance_names]
        rows = np.column_stack([coordinates, np.tile(nuisances, (2, 1))])
        components = posterior.components(rows, point or 0)[measurement.name]
        change = {g: components[g][1] - components[g][0] for g in groups}
        total = sum(change.values())
        mu = sum(counts[0] for counts in components.values())
        weight = total**2 / mu
        shares = [100 * change[g].sum() / total.sum() for g in groups]
        regions = [weight[(centres >= low) & (centres <= high)].sum()
                   for low, high in REGIONS.values()]
        print(f"{tag:>9} {limit:9.3g}  " + "".join(f"{s:8.1f}" for s in shares) + "  "
              + "  ".join(f"{r:8.2f}" for r in regions))
    print("regions: " + "; ".join(REGIONS))


def limit_points(scan, posterior, masses_MeV):
    """(grid point or None, label, limit, new-physics coordinates (2, k): none, at the
    limit) of each mass of a Z' run, or of the first moment of a magnetic-moment run."""
    new_physics = posterior.new_physics
    if not scan.has_masses:
        first = scan.result_at(None).limits[0]   # the first sampled moment
        return [(None, first.parameter, first.upper_muB,
                 np.stack([new_physics.coordinates({}),
                           new_physics.coordinates({first.parameter: first.upper_muB})]))]
    results = [scan.result_at(m) for m in masses_MeV] if masses_MeV else scan.results
    points = []
    for result in results:
        with np.errstate(divide="ignore"):  # g = 0 is t = -inf for a log-flat prior
            t = new_physics.coupling_prior.coordinate_from_g(
                [0.0, result.g_upper], new_physics.g_max[result.mass_index])
        points.append((result.mass_index, f"{result.m_zprime_MeV:.3g}", result.g_upper,
                       np.asarray(t)[:, None]))
    return points


if __name__ == "__main__":
    main()
